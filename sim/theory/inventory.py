"""Inventory formulas: EOQ, (r, Q) with Poisson demand (Hadley-Whitin), (R, S) with normal demand.

Inventory time is in days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.theory._args import nonnegative, positive, require, require_int
from sim.theory.normal import normal_cdf, normal_excess, normal_ppf, poisson_cdf


# --------------------------------------------------------------------------- EOQ
def eoq(demand_per_day: float, order_cost: float, holding_cost_per_unit_day: float) -> float:
    """Economic order quantity Q* = sqrt(2 K D / h), in units.

    D: demand (units/day), K: fixed cost per order (money), h: holding cost
    (money per unit per day). Harris (1913); Silver, Pyke & Thomas, ch. 5.

    >>> round(eoq(100.0, 50.0, 0.1), 3)
    316.228
    """
    nonnegative(demand_per_day=demand_per_day, order_cost=order_cost)
    positive(holding_cost_per_unit_day=holding_cost_per_unit_day)
    return math.sqrt(2.0 * order_cost * demand_per_day / holding_cost_per_unit_day)


def eoq_cost_per_day(
    order_quantity: float, demand_per_day: float, order_cost: float, holding_cost_per_unit_day: float
) -> float:
    """Ordering plus holding cost per day, K D / Q + h Q / 2 (money/day).

    Source: Silver, Pyke & Thomas, ch. 5. At Q = EOQ both terms are equal.

    >>> round(eoq_cost_per_day(316.228, 100.0, 50.0, 0.1), 3)
    31.623
    """
    positive(order_quantity=order_quantity)
    nonnegative(
        demand_per_day=demand_per_day, order_cost=order_cost, holding_cost_per_unit_day=holding_cost_per_unit_day
    )
    return order_cost * demand_per_day / order_quantity + holding_cost_per_unit_day * order_quantity / 2.0


# --------------------------------------------------------------------------- (r, Q)
@dataclass(frozen=True)
class RQPoissonResult:
    """Steady state of a continuous-review (r, Q) policy with Poisson demand (units)."""

    fill_rate: float  # fraction of unit demands met from stock
    expected_on_hand: float  # E[(NI)^+], units
    expected_backorders: float  # E[(NI)^-], units
    expected_inventory_position: float  # r + (Q + 1) / 2, units
    order_frequency_per_day: float  # lambda / Q, orders per day


def _rq_poisson_core(r: int, q: int, lead_time_demand: float) -> tuple[float, float, float]:
    """(fill rate, E on hand, E backorders) averaged over y uniform on r+1..r+Q."""
    theta = lead_time_demand
    positions = np.arange(r + 1, r + q + 1)
    # F[j] = P(D <= j) for j = 0..r+Q-1 (only needed when r + Q >= 1).
    cdf = np.asarray(poisson_cdf(np.arange(max(r + q - 1, 0) + 1), theta))
    # E[(y - D)^+] = sum_{j=0}^{y-1} P(D <= j) for y >= 1, and 0 for y <= 0.
    cum_cdf = np.concatenate(([0.0], np.cumsum(cdf)))
    on_hand = np.where(positions >= 1, cum_cdf[np.clip(positions, 0, None)], 0.0)
    # E[(D - y)^+] = E[D - y] + E[(y - D)^+]: exact, no tail truncation.
    backorders = theta - positions + on_hand
    # A unit demand is filled iff NI >= 1, i.e. D <= y - 1 (PASTA).
    in_stock = np.where(positions >= 1, cdf[np.clip(positions - 1, 0, None)], 0.0)
    return float(in_stock.mean()), float(on_hand.mean()), float(backorders.mean())


def rq_poisson(
    reorder_point: int, order_quantity: int, demand_rate_per_day: float, lead_time_days: float
) -> RQPoissonResult:
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
    r = require_int(reorder_point, "reorder_point")
    q = require_int(order_quantity, "order_quantity")
    require(q >= 1, f"order_quantity must be >= 1, got {order_quantity!r}")
    positive(demand_rate_per_day=demand_rate_per_day)
    nonnegative(lead_time_days=lead_time_days)
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
    r = require_int(r, "r")
    q = require_int(q, "q")
    require(q >= 1, f"q must be >= 1, got {q!r}")
    nonnegative(lead_time_demand=lead_time_demand)
    return _rq_poisson_core(r, q, lead_time_demand)[0]


# --------------------------------------------------------------------------- (R, S)
@dataclass(frozen=True)
class RSNormalResult:
    """Periodic-review order-up-to (R, S) policy with normal demand."""

    fill_rate: float  # fraction of demand met from stock
    cycle_service_level: float  # P(no stockout in a cycle)
    expected_shortage_per_cycle: float  # units newly backordered per review cycle
    safety_stock: float  # S - m (R + L), units


def _check_rs(
    review_period_days: float, lead_time_days: float, mean_daily_demand: float, sd_daily_demand: float
) -> None:
    """ValueError unless the (R, S) inputs are finite, R and m positive, L and s non-negative."""
    positive(review_period_days=review_period_days, mean_daily_demand=mean_daily_demand)
    nonnegative(lead_time_days=lead_time_days, sd_daily_demand=sd_daily_demand)


def rs_normal(
    order_up_to: float,
    review_period_days: float,
    lead_time_days: float,
    mean_daily_demand: float,
    sd_daily_demand: float,
) -> RSNormalResult:
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
    csl = normal_cdf((order_up_to - mu) / sigma) if sigma > 0 else float(order_up_to >= mu)
    shortage = normal_excess(mu, sigma, order_up_to) - normal_excess(
        mean_daily_demand * lead_time_days, sd_daily_demand * math.sqrt(lead_time_days), order_up_to
    )
    fill = 1.0 - shortage / (mean_daily_demand * review_period_days)
    return RSNormalResult(
        fill_rate=min(max(fill, 0.0), 1.0),
        cycle_service_level=csl,
        expected_shortage_per_cycle=shortage,
        safety_stock=order_up_to - mu,
    )


def order_up_to_for_service(
    cycle_service_level: float,
    review_period_days: float,
    lead_time_days: float,
    mean_daily_demand: float,
    sd_daily_demand: float,
) -> float:
    """Order-up-to level S = m (R + L) + z s sqrt(R + L) with z = Phi^-1(CSL), in units.

    Inverse of ``rs_normal(...).cycle_service_level``. Silver, Pyke & Thomas, ch. 8.

    >>> round(order_up_to_for_service(0.95, 7, 3, 10.0, 3.0), 3)
    115.604
    """
    _check_rs(review_period_days, lead_time_days, mean_daily_demand, sd_daily_demand)
    z = normal_ppf(cycle_service_level)
    horizon = review_period_days + lead_time_days
    return mean_daily_demand * horizon + z * sd_daily_demand * math.sqrt(horizon)
