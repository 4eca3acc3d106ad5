"""Closed-form textbook formulas that the simulator is checked against.

Pure functions: no simulator imports, only ``math`` and ``numpy``. Inventory
time is in days; queueing formulas work in any time unit as long as rates and
times use the same one. Sections: standard normal, Poisson, EOQ, (r, Q) with
Poisson demand, (R, S) with normal demand, M/M/c and M/G/1 queues.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


# --------------------------------------------------------------------------- checks
def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _require_int(value, name: str) -> int:
    _require(float(value) == int(value), f"{name} must be an integer, got {value!r}")
    return int(value)


def _nonnegative(**values: float) -> None:
    for name, value in values.items():
        _require(math.isfinite(value) and value >= 0, f"{name} must be finite and >= 0, got {value!r}")


def _positive(**values: float) -> None:
    for name, value in values.items():
        _require(math.isfinite(value) and value > 0, f"{name} must be finite and > 0, got {value!r}")


# --------------------------------------------------------------------------- normal
def normal_pdf(z: float) -> float:
    """Standard normal density phi(z) = exp(-z^2 / 2) / sqrt(2 pi).

    >>> round(normal_pdf(0.0), 6)
    0.398942
    """
    return math.exp(-0.5 * z * z) / _SQRT2PI


def normal_cdf(z: float) -> float:
    """Standard normal distribution function Phi(z) = erfc(-z / sqrt 2) / 2.

    Written with ``math.erfc`` (equal to (1 + erf(z / sqrt 2)) / 2) so that the
    lower tail keeps full relative precision.

    >>> round(normal_cdf(1.96), 6)
    0.975002
    """
    return 0.5 * math.erfc(-z / _SQRT2)


# Coefficients of Acklam's rational approximation (relative error < 1.15e-9),
# highest power first; the denominators have an implicit trailing 1.
_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
      1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
      6.680131188771972e01, -1.328068155288572e01, 1.0)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
      -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
      3.754408661907416e00, 1.0)


def _horner(coefficients: tuple[float, ...], x: float) -> float:
    total = 0.0
    for c in coefficients:
        total = total * x + c
    return total


def normal_ppf(p: float) -> float:
    """Standard normal quantile z = Phi^-1(p) for 0 < p < 1.

    Acklam's rational approximation followed by one Halley refinement step,
    which brings the error well below 1e-9 (P. J. Acklam, "An algorithm for
    computing the inverse normal cumulative distribution function", 2003).

    >>> round(normal_ppf(0.975), 6)
    1.959964
    """
    _require(0.0 < p < 1.0, f"probability must lie strictly between 0 and 1, got {p!r}")
    p_low = 0.02425
    if p < p_low:  # lower tail
        q = math.sqrt(-2.0 * math.log(p))
        z = _horner(_C, q) / _horner(_D, q)
    elif p <= 1.0 - p_low:  # central region
        q = p - 0.5
        z = q * _horner(_A, q * q) / _horner(_B, q * q)
    else:  # upper tail
        q = math.sqrt(-2.0 * math.log1p(-p))
        z = -_horner(_C, q) / _horner(_D, q)
    # Halley step on f(z) = Phi(z) - p; work in the smaller tail for precision.
    error = normal_cdf(z) - p if p <= 0.5 else (1.0 - p) - normal_cdf(-z)
    u = error * _SQRT2PI * math.exp(0.5 * z * z)
    return z - u / (1.0 + 0.5 * z * u)


def normal_loss(z: float) -> float:
    """Standard normal first-order loss G(z) = E[(Z - z)^+] = phi(z) - z (1 - Phi(z)).

    Source: Silver, Pyke & Thomas, Inventory and Production Management, app. B.
    The expected shortage of X ~ N(mu, sigma^2) beyond a level x is sigma G((x - mu) / sigma).

    >>> round(normal_loss(0.0), 6)
    0.398942
    >>> round(normal_loss(1.0), 6)
    0.083315
    """
    return normal_pdf(z) - z * normal_cdf(-z)


def _normal_excess(mean: float, sd: float, level: float) -> float:
    """E[(X - level)^+] for X ~ N(mean, sd^2); sd = 0 means X = mean exactly."""
    if sd == 0.0:
        return max(mean - level, 0.0)
    return sd * normal_loss((level - mean) / sd)


# --------------------------------------------------------------------------- Poisson
def _poisson_pmf_table(k_max: int, mean: float) -> np.ndarray:
    """P(D = k) for k = 0..k_max, computed in log space.

    log P(D = k) = k log m - m - log k!. For k >= 15 this is rewritten, as in
    Loader (2000), "Fast and accurate computation of binomial probabilities", as
    -log(2 pi k)/2 - stirling_error(k) - [k log(k/m) - (k - m)], which avoids
    subtracting numbers of size k log k and keeps ~1e-13 relative accuracy
    even for means of 10^5 and more.
    """
    _nonnegative(mean=mean)
    k = np.arange(k_max + 1, dtype=float)
    if mean == 0.0:
        return (k == 0).astype(float)
    log_pmf = np.empty_like(k)
    small = k < 15
    log_factorial = np.array([math.lgamma(x + 1) for x in k[small]])
    log_pmf[small] = k[small] * math.log(mean) - mean - log_factorial
    kb = k[~small]
    stirling_error = (1 / 12 - (1 / 360 - (1 / 1260 - 1 / (1680 * kb ** 2)) / kb ** 2) / kb ** 2) / kb
    deviance = kb * np.log1p((kb - mean) / mean) - (kb - mean)
    log_pmf[~small] = -0.5 * np.log(2 * math.pi * kb) - stirling_error - deviance
    return np.exp(log_pmf)


def _poisson_lookup(k, mean: float, cumulative: bool):
    """Look up the pmf (or cdf) at integer k, scalar or array; 0 for k < 0."""
    ks = np.asarray(k)
    _require(np.issubdtype(ks.dtype, np.integer), f"k must be an integer or integer array, got {k!r}")
    table = _poisson_pmf_table(max(int(ks.max(initial=0)), 0), mean)
    if cumulative:
        table = np.minimum(np.cumsum(table), 1.0)
    result = np.where(ks >= 0, table[np.clip(ks, 0, None)], 0.0)
    return float(result) if result.ndim == 0 else result


def poisson_pmf(k, mean: float):
    """Poisson probability P(D = k) = e^-m m^k / k!, evaluated in log space.

    ``k`` may be an integer or an integer array; negative k give 0.

    >>> round(poisson_pmf(2, 3.0), 6)
    0.224042
    >>> round(poisson_pmf(1000, 1000.0), 6)
    0.012615
    """
    return _poisson_lookup(k, mean, cumulative=False)


def poisson_cdf(k, mean: float):
    """Poisson distribution function P(D <= k) = sum_{j=0}^{k} P(D = j).

    The probabilities are computed in log space and summed from j = 0.
    ``k`` may be an integer or an integer array; negative k give 0.

    >>> round(poisson_cdf(3, 3.0), 6)
    0.647232
    """
    return _poisson_lookup(k, mean, cumulative=True)


# --------------------------------------------------------------------------- EOQ
def eoq(demand_per_day: float, order_cost: float, holding_cost_per_unit_day: float) -> float:
    """Economic order quantity Q* = sqrt(2 K D / h), in units.

    D: demand (units/day), K: fixed cost per order (money), h: holding cost
    (money per unit per day). Harris (1913); Silver, Pyke & Thomas, ch. 5.

    >>> round(eoq(100.0, 50.0, 0.1), 3)
    316.228
    """
    _nonnegative(demand_per_day=demand_per_day, order_cost=order_cost)
    _positive(holding_cost_per_unit_day=holding_cost_per_unit_day)
    return math.sqrt(2.0 * order_cost * demand_per_day / holding_cost_per_unit_day)


def eoq_cost_per_day(order_quantity: float, demand_per_day: float, order_cost: float,
                     holding_cost_per_unit_day: float) -> float:
    """Ordering plus holding cost per day, K D / Q + h Q / 2 (money/day).

    Source: Silver, Pyke & Thomas, ch. 5. At Q = EOQ both terms are equal.

    >>> round(eoq_cost_per_day(316.228, 100.0, 50.0, 0.1), 3)
    31.623
    """
    _positive(order_quantity=order_quantity)
    _nonnegative(demand_per_day=demand_per_day, order_cost=order_cost,
                 holding_cost_per_unit_day=holding_cost_per_unit_day)
    return (order_cost * demand_per_day / order_quantity
            + holding_cost_per_unit_day * order_quantity / 2.0)


# --------------------------------------------------------------------------- (r, Q)
@dataclass(frozen=True)
class RQPoissonResult:
    """Steady state of a continuous-review (r, Q) policy with Poisson demand (units)."""

    fill_rate: float                    # fraction of unit demands met from stock
    expected_on_hand: float             # E[(NI)^+], units
    expected_backorders: float          # E[(NI)^-], units
    expected_inventory_position: float  # r + (Q + 1) / 2, units
    order_frequency_per_day: float      # lambda / Q, orders per day


def _rq_poisson_core(r: int, q: int, lead_time_demand: float) -> tuple[float, float, float]:
    """(fill rate, E on hand, E backorders) averaged over y uniform on r+1..r+Q."""
    theta = lead_time_demand
    positions = np.arange(r + 1, r + q + 1)
    # F[j] = P(D <= j) for j = 0..r+Q-1 (only needed when r + Q >= 1).
    cdf = np.cumsum(_poisson_pmf_table(max(r + q - 1, 0), theta))
    cdf = np.minimum(cdf, 1.0)
    # E[(y - D)^+] = sum_{j=0}^{y-1} P(D <= j) for y >= 1, and 0 for y <= 0.
    cum_cdf = np.concatenate(([0.0], np.cumsum(cdf)))
    on_hand = np.where(positions >= 1, cum_cdf[np.clip(positions, 0, None)], 0.0)
    # E[(D - y)^+] = E[D - y] + E[(y - D)^+]: exact, no tail truncation.
    backorders = theta - positions + on_hand
    # A unit demand is filled iff NI >= 1, i.e. D <= y - 1 (PASTA).
    in_stock = np.where(positions >= 1, cdf[np.clip(positions - 1, 0, None)], 0.0)
    return float(in_stock.mean()), float(on_hand.mean()), float(backorders.mean())


def rq_poisson(reorder_point: int, order_quantity: int, demand_rate_per_day: float,
               lead_time_days: float) -> RQPoissonResult:
    """Exact (r, Q) results for unit Poisson demand, full backordering, fixed lead time.

    An order of Q is placed when the inventory position drops to r, so in steady
    state the inventory position y is uniform on {r+1, ..., r+Q}. With lead-time
    demand D ~ Poisson(theta = lambda L), net inventory is NI = y - D and

        expected_backorders = (1/Q) sum_y E[(D - y)^+]
        expected_on_hand    = (1/Q) sum_y E[(y - D)^+]
        fill_rate           = (1/Q) sum_y P(D <= y - 1)     (= P(NI >= 1), by PASTA)

    Identity: on_hand - backorders = r + (Q + 1)/2 - theta.
    Source: Hadley & Whitin, Analysis of Inventory Systems (1963), ch. 4;
    Zipkin, Foundations of Inventory Management (2000), ch. 6.

    >>> res = rq_poisson(reorder_point=3, order_quantity=5, demand_rate_per_day=1.0,
    ...                  lead_time_days=3.0)
    >>> round(res.fill_rate, 4), round(res.expected_on_hand, 4), round(res.expected_backorders, 4)
    (0.8666, 3.1054, 0.1054)
    """
    r = _require_int(reorder_point, "reorder_point")
    q = _require_int(order_quantity, "order_quantity")
    _require(q >= 1, f"order_quantity must be >= 1, got {order_quantity!r}")
    _positive(demand_rate_per_day=demand_rate_per_day)
    _nonnegative(lead_time_days=lead_time_days)
    fill, on_hand, backorders = _rq_poisson_core(r, q, demand_rate_per_day * lead_time_days)
    return RQPoissonResult(
        fill_rate=fill,
        expected_on_hand=on_hand,
        expected_backorders=backorders,
        expected_inventory_position=r + (q + 1) / 2.0,
        order_frequency_per_day=demand_rate_per_day / q,
    )


def rq_poisson_fill_rate(r: int, q: int, lead_time_demand: float) -> float:
    """Unit fill rate of an (r, Q) policy when lead-time demand is Poisson(lead_time_demand).

    Same formula as ``rq_poisson`` (Hadley & Whitin 1963): (1/Q) sum_{y=r+1}^{r+Q} P(D <= y-1).

    >>> round(rq_poisson_fill_rate(r=3, q=5, lead_time_demand=3.0), 4)
    0.8666
    """
    r = _require_int(r, "r")
    q = _require_int(q, "q")
    _require(q >= 1, f"q must be >= 1, got {q!r}")
    _nonnegative(lead_time_demand=lead_time_demand)
    return _rq_poisson_core(r, q, lead_time_demand)[0]


# --------------------------------------------------------------------------- (R, S)
@dataclass(frozen=True)
class RSNormalResult:
    """Periodic-review order-up-to (R, S) policy with normal demand."""

    fill_rate: float                    # fraction of demand met from stock
    cycle_service_level: float          # P(no stockout in a cycle)
    expected_shortage_per_cycle: float  # units newly backordered per review cycle
    safety_stock: float                 # S - m (R + L), units


def _check_rs(review_period_days, lead_time_days, mean_daily_demand, sd_daily_demand) -> None:
    _positive(review_period_days=review_period_days, mean_daily_demand=mean_daily_demand)
    _nonnegative(lead_time_days=lead_time_days, sd_daily_demand=sd_daily_demand)


def rs_normal(order_up_to: float, review_period_days: float, lead_time_days: float,
              mean_daily_demand: float, sd_daily_demand: float) -> RSNormalResult:
    """Service measures of an (R, S) policy, i.i.d. N(m, s^2) daily demand, backorders.

    Protection interval R + L: mu = m (R + L), sigma = s sqrt(R + L), z = (S - mu) / sigma.

        cycle_service_level         = Phi(z)
        expected_shortage_per_cycle = sigma G(z) - sigma_L G((S - m L) / sigma_L),
                                      sigma_L = s sqrt(L)   (second term 0 if L = 0, S >= 0)
        fill_rate                   = 1 - expected_shortage_per_cycle / (m R)
        safety_stock                = S - mu

    The shortage is the backorder level just before the next delivery minus the
    one just after this delivery (exact for backorders). With s = 0 the losses
    become (mu - S)^+. The fill rate is clipped to [0, 1] because normal demand
    can be negative. Source: Silver, Pyke & Thomas, Inventory and Production
    Management in Supply Chains (4th ed.), ch. 8.

    >>> res = rs_normal(order_up_to=120.0, review_period_days=7, lead_time_days=3,
    ...                 mean_daily_demand=10.0, sd_daily_demand=3.0)
    >>> round(res.cycle_service_level, 4), round(res.fill_rate, 4), res.safety_stock
    (0.9825, 0.9991, 20.0)
    """
    _check_rs(review_period_days, lead_time_days, mean_daily_demand, sd_daily_demand)
    horizon = review_period_days + lead_time_days
    mu = mean_daily_demand * horizon
    sigma = sd_daily_demand * math.sqrt(horizon)
    if sigma > 0:
        csl = normal_cdf((order_up_to - mu) / sigma)
    else:
        csl = 1.0 if order_up_to >= mu else 0.0
    shortage = (_normal_excess(mu, sigma, order_up_to)
                - _normal_excess(mean_daily_demand * lead_time_days,
                                 sd_daily_demand * math.sqrt(lead_time_days), order_up_to))
    fill = 1.0 - shortage / (mean_daily_demand * review_period_days)
    return RSNormalResult(
        fill_rate=min(max(fill, 0.0), 1.0),
        cycle_service_level=csl,
        expected_shortage_per_cycle=shortage,
        safety_stock=order_up_to - mu,
    )


def order_up_to_for_service(cycle_service_level: float, review_period_days: float,
                            lead_time_days: float, mean_daily_demand: float,
                            sd_daily_demand: float) -> float:
    """Order-up-to level S = m (R + L) + z s sqrt(R + L) with z = Phi^-1(CSL), in units.

    Inverse of ``rs_normal(...).cycle_service_level``. Silver, Pyke & Thomas, ch. 8.

    >>> round(order_up_to_for_service(0.95, 7, 3, 10.0, 3.0), 3)
    115.604
    """
    _check_rs(review_period_days, lead_time_days, mean_daily_demand, sd_daily_demand)
    z = normal_ppf(cycle_service_level)
    horizon = review_period_days + lead_time_days
    return mean_daily_demand * horizon + z * sd_daily_demand * math.sqrt(horizon)


# --------------------------------------------------------------------------- queues
@dataclass(frozen=True)
class MMcResult:
    """Steady state of an M/M/c queue (times in the unit of 1 / rate)."""

    utilization: float          # rho = lambda / (c mu)
    prob_wait: float            # Erlang C, P(an arrival waits)
    mean_wait: float            # Wq, time in queue
    mean_in_queue: float        # Lq = lambda Wq
    mean_in_system: float       # L = lambda W
    mean_time_in_system: float  # W = Wq + 1 / mu


@dataclass(frozen=True)
class MG1Result:
    """Steady state of an M/G/1 queue (times in the unit of 1 / rate)."""

    utilization: float          # rho = lambda E[S]
    mean_wait: float            # Wq (Pollaczek-Khinchine)
    mean_in_queue: float        # Lq = lambda Wq
    mean_time_in_system: float  # W = Wq + E[S]
    mean_in_system: float       # L = lambda W


def erlang_c(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Probability that an arrival waits in an M/M/c queue (Erlang C).

    With offered load a = lambda / mu, the Erlang B recursion
    B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)) gives, stably for large c,
    C(c, a) = c B(c) / (c - a (1 - B(c))). Requires rho = a / c < 1.
    Source: Gross, Shortle, Thompson & Harris, Fundamentals of Queueing Theory, ch. 2.

    >>> round(erlang_c(2, 1.0, 1.0), 6)
    0.333333
    """
    c = _require_int(servers, "servers")
    _require(c >= 1, f"servers must be >= 1, got {servers!r}")
    _nonnegative(arrival_rate=arrival_rate)
    _positive(service_rate=service_rate)
    a = arrival_rate / service_rate
    _require(a / c < 1, f"utilization lambda/(c mu) = {a / c:.4g} must be < 1 for a steady state")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return c * b / (c - a * (1.0 - b))


def mmc(servers: int, arrival_rate: float, service_rate: float) -> MMcResult:
    """M/M/c steady-state measures: Wq = C / (c mu - lambda), then Little's law.

    Lq = lambda Wq, W = Wq + 1/mu, L = lambda W.
    Source: Gross et al., Fundamentals of Queueing Theory, ch. 2.

    >>> res = mmc(2, 1.0, 1.0)
    >>> round(res.mean_wait, 6), round(res.mean_in_system, 6)
    (0.333333, 1.333333)
    """
    prob_wait = erlang_c(servers, arrival_rate, service_rate)
    mean_wait = prob_wait / (servers * service_rate - arrival_rate)
    time_in_system = mean_wait + 1.0 / service_rate
    return MMcResult(
        utilization=arrival_rate / (servers * service_rate),
        prob_wait=prob_wait,
        mean_wait=mean_wait,
        mean_in_queue=arrival_rate * mean_wait,
        mean_in_system=arrival_rate * time_in_system,
        mean_time_in_system=time_in_system,
    )


def mg1(arrival_rate: float, mean_service: float, var_service: float) -> MG1Result:
    """M/G/1 via Pollaczek-Khinchine: Wq = lambda E[S^2] / (2 (1 - rho)).

    E[S^2] = var_service + mean_service^2, rho = lambda E[S] < 1; then Little's law.
    Source: Gross et al., Fundamentals of Queueing Theory, ch. 6.

    >>> round(mg1(0.5, 1.0, 1.0).mean_wait, 6)   # exponential service: M/M/1
    1.0
    """
    _nonnegative(arrival_rate=arrival_rate, var_service=var_service)
    _positive(mean_service=mean_service)
    rho = arrival_rate * mean_service
    _require(rho < 1, f"utilization lambda E[S] = {rho:.4g} must be < 1 for a steady state")
    mean_wait = arrival_rate * (var_service + mean_service ** 2) / (2.0 * (1.0 - rho))
    time_in_system = mean_wait + mean_service
    return MG1Result(
        utilization=rho,
        mean_wait=mean_wait,
        mean_in_queue=arrival_rate * mean_wait,
        mean_time_in_system=time_in_system,
        mean_in_system=arrival_rate * time_in_system,
    )


def md1(arrival_rate: float, service_time: float) -> MG1Result:
    """M/D/1 (constant service time): Wq = rho / (2 mu (1 - rho)), half the M/M/1 wait.

    Pollaczek-Khinchine with zero service variance; Gross et al., ch. 6.

    >>> round(md1(0.5, 1.0).mean_wait, 6)
    0.5
    """
    return mg1(arrival_rate, service_time, 0.0)
