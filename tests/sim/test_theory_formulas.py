"""The closed-form formulas in sim.theory, checked independently of the simulator.

Each formula is compared with a second, independent computation: a brute-force
sum, a sample-path simulation, or a Monte Carlo estimate whose tolerance comes
from its own standard error (fixed seeds, so the tests are deterministic, but the
tolerances are honest: a 5-standard-error band).
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np
import pytest

from sim.theory import (
    MDcResult,
    MG1Result,
    MMcResult,
    RQPoissonResult,
    RSNormalResult,
    eoq,
    eoq_cost_per_day,
    erlang_c,
    md1,
    mdc,
    mdc_roots,
    mg1,
    mg1_cv,
    mmc,
    normal_cdf,
    normal_loss,
    normal_pdf,
    normal_ppf,
    order_up_to_for_service,
    poisson_cdf,
    poisson_pmf,
    rq_poisson,
    rq_poisson_fill_rate,
    rs_normal,
)

Z_BAND = 5.0  # Monte Carlo tolerance in standard errors


def batch_mean_and_se(values: np.ndarray, batches: int = 50) -> tuple[float, float]:
    """Mean and standard error by batch means (for autocorrelated sample paths)."""
    usable = len(values) - len(values) % batches
    means = values[:usable].reshape(batches, -1).mean(axis=1)
    return float(means.mean()), float(means.std(ddof=1) / math.sqrt(batches))


# ----------------------------------------------------------------------------- normal
@pytest.mark.parametrize("z", np.linspace(-30.0, 5.0, 141))
def test_normal_ppf_inverts_cdf(z):
    assert normal_ppf(normal_cdf(z)) == pytest.approx(z, abs=1e-9)


@pytest.mark.parametrize(
    "p", [1e-300, 1e-12, 1e-6, 0.001, 0.02424, 0.02426, 0.3, 0.5, 0.7, 0.97574, 0.97576, 0.999, 1 - 1e-9]
)
def test_normal_cdf_of_ppf_returns_p(p):
    assert normal_cdf(normal_ppf(p)) == pytest.approx(p, rel=1e-12)


def test_normal_ppf_published_quantiles():
    assert normal_ppf(0.5) == pytest.approx(0.0, abs=1e-15)
    assert normal_ppf(0.95) == pytest.approx(1.6448536269514722, abs=1e-12)
    assert normal_ppf(0.975) == pytest.approx(1.959963984540054, abs=1e-12)
    assert normal_ppf(0.99) == pytest.approx(2.3263478740408408, abs=1e-12)
    assert normal_ppf(0.01) == pytest.approx(-2.3263478740408408, abs=1e-12)


def test_normal_cdf_matches_erf_and_pdf_integrates_to_one():
    for z in (-3.0, -1.0, 0.0, 0.5, 2.0):
        assert normal_cdf(z) == pytest.approx(0.5 * (1 + math.erf(z / math.sqrt(2))), abs=1e-15)
    grid = np.linspace(-10, 10, 20001)
    density = np.array([normal_pdf(x) for x in grid])
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-10)


@pytest.mark.parametrize("z", [-2.0, -0.5, 0.0, 0.7, 1.5, 3.0])
def test_normal_loss_equals_integral_of_excess(z):
    grid = np.linspace(z, z + 20, 200001)
    integrand = (grid - z) * np.exp(-0.5 * grid**2) / math.sqrt(2 * math.pi)
    assert normal_loss(z) == pytest.approx(np.trapezoid(integrand, grid), abs=1e-9)
    # G(-z) = z + G(z), because (Z - z)^+ - (z - Z)^+ = Z - z.
    assert normal_loss(-z) == pytest.approx(z + normal_loss(z), abs=1e-12)


# ----------------------------------------------------------------------------- Poisson
@pytest.mark.parametrize("mean", [0.3, 3.0, 42.0, 1000.0, 1e5])
def test_poisson_pmf_sums_to_one_and_matches_direct_formula(mean):
    k_max = int(mean + 15 * math.sqrt(mean) + 30)
    pmf = poisson_pmf(np.arange(k_max + 1), mean)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.isfinite(pmf)) and np.all(pmf >= 0)
    for k in {0, 1, int(mean), k_max}:
        direct = math.exp(k * math.log(mean) - mean - math.lgamma(k + 1))
        assert poisson_pmf(k, mean) == pytest.approx(direct, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    "k, mean",
    [
        (0, 0.3),
        (4, 3.0),
        (14, 14.5),
        (15, 14.5),
        (16, 15.5),
        (40, 42.0),
        (1000, 1000.0),
        (1100, 1000.0),
        (1900, 1500.0),
    ],
)
def test_poisson_pmf_against_60_digit_decimal_arithmetic(k, mean):
    with localcontext() as ctx:
        ctx.prec = 60
        m = Decimal(repr(mean))
        log_factorial = sum((Decimal(i).ln() for i in range(1, k + 1)), Decimal(0))
        exact = float((k * m.ln() - m - log_factorial).exp())
    assert poisson_pmf(k, mean) == pytest.approx(exact, rel=1e-12)


def test_poisson_pmf_recursion_holds_for_large_mean():
    mean, ks = 1e5, np.arange(98_000, 102_000)
    pmf = poisson_pmf(ks, mean)
    assert np.allclose(pmf[1:] / pmf[:-1], mean / ks[1:], rtol=1e-12, atol=0)


def test_poisson_small_values_by_hand():
    assert poisson_pmf(0, 2.0) == pytest.approx(math.exp(-2.0), rel=1e-14)
    assert poisson_pmf(3, 2.0) == pytest.approx(math.exp(-2.0) * 8 / 6, rel=1e-13)
    assert poisson_cdf(2, 2.0) == pytest.approx(math.exp(-2.0) * (1 + 2 + 2), rel=1e-13)
    assert poisson_pmf(-1, 2.0) == 0.0 and poisson_cdf(-1, 2.0) == 0.0
    assert poisson_pmf(0, 0.0) == 1.0 and poisson_pmf(2, 0.0) == 0.0
    assert poisson_cdf(0, 0.0) == 1.0


def test_poisson_cdf_is_cumulative_pmf_and_accepts_arrays():
    ks = np.arange(-2, 60)
    cdf = poisson_cdf(ks, 17.5)
    assert isinstance(cdf, np.ndarray) and cdf.shape == ks.shape
    assert np.allclose(cdf, np.cumsum(poisson_pmf(ks, 17.5)), rtol=1e-13, atol=0)
    assert np.all(np.diff(cdf) >= 0) and cdf[-1] <= 1.0
    assert isinstance(poisson_cdf(3, 17.5), float)


# ----------------------------------------------------------------------------- EOQ
def test_eoq_textbook_value_and_equal_cost_terms():
    q_star = eoq(demand_per_day=100.0, order_cost=50.0, holding_cost_per_unit_day=0.1)
    assert q_star == pytest.approx(math.sqrt(100_000.0), rel=1e-14)
    # At the optimum ordering cost K D / Q equals holding cost h Q / 2.
    assert 50.0 * 100.0 / q_star == pytest.approx(0.1 * q_star / 2, rel=1e-12)
    assert eoq_cost_per_day(q_star, 100.0, 50.0, 0.1) == pytest.approx(math.sqrt(2 * 50 * 100 * 0.1))


@pytest.mark.parametrize("demand, order_cost, holding", [(100.0, 50.0, 0.1), (3.2, 800.0, 0.02), (5000.0, 1.5, 2.0)])
def test_eoq_minimizes_cost_per_day(demand, order_cost, holding):
    q_star = eoq(demand, order_cost, holding)
    best = eoq_cost_per_day(q_star, demand, order_cost, holding)
    for factor in (0.5, 0.9, 0.99, 0.999, 1.001, 1.01, 1.1, 2.0):
        assert eoq_cost_per_day(q_star * factor, demand, order_cost, holding) > best
    grid = np.linspace(0.05 * q_star, 5 * q_star, 10001)
    costs = [eoq_cost_per_day(q, demand, order_cost, holding) for q in grid]
    assert grid[int(np.argmin(costs))] == pytest.approx(q_star, rel=1e-3)


# ----------------------------------------------------------------------------- (r, Q)
def brute_force_rq(r: int, q: int, theta: float) -> tuple[float, float, float]:
    """Direct sums over a wide Poisson range, with a pure-Python pmf recursion."""
    d_max = int(theta + 20 * math.sqrt(theta) + 60)
    pmf = [math.exp(-theta)]
    for d in range(1, d_max + 1):
        pmf.append(pmf[-1] * theta / d)
    fill = on_hand = backorders = 0.0
    for y in range(r + 1, r + q + 1):
        fill += sum(p for d, p in enumerate(pmf) if d <= y - 1)
        on_hand += sum((y - d) * p for d, p in enumerate(pmf) if d < y)
        backorders += sum((d - y) * p for d, p in enumerate(pmf) if d > y)
    return fill / q, on_hand / q, backorders / q


RQ_CASES = [  # (r, Q, lambda per day, L days)
    (3, 5, 1.0, 3.0),
    (0, 1, 2.0, 1.5),
    (-2, 4, 0.5, 4.0),
    (-6, 4, 1.0, 2.0),
    (10, 20, 4.0, 2.5),
    (5, 3, 2.0, 0.0),
    (180, 40, 20.0, 10.0),
]


@pytest.mark.parametrize("r, q, lam, lead", RQ_CASES)
def test_rq_poisson_matches_brute_force_sums(r, q, lam, lead):
    res = rq_poisson(r, q, lam, lead)
    fill, on_hand, backorders = brute_force_rq(r, q, lam * lead)
    assert res.fill_rate == pytest.approx(fill, abs=1e-10)
    assert res.expected_on_hand == pytest.approx(on_hand, abs=1e-9)
    assert res.expected_backorders == pytest.approx(backorders, abs=1e-9)


@pytest.mark.parametrize("r, q, lam, lead", RQ_CASES)
def test_rq_poisson_accounting_identities(r, q, lam, lead):
    res = rq_poisson(r, q, lam, lead)
    assert isinstance(res, RQPoissonResult)
    # E[NI] = E[y] - E[D]: on hand minus backorders.
    assert res.expected_on_hand - res.expected_backorders == pytest.approx(r + (q + 1) / 2 - lam * lead, abs=1e-9)
    assert res.expected_inventory_position == pytest.approx(r + (q + 1) / 2)
    assert res.order_frequency_per_day == pytest.approx(lam / q)
    assert 0.0 <= res.fill_rate <= 1.0
    assert res.expected_on_hand >= 0 and res.expected_backorders >= 0
    assert rq_poisson_fill_rate(r, q, lam * lead) == res.fill_rate


def test_rq_poisson_monte_carlo_of_uniform_position_and_poisson_demand():
    rng = np.random.default_rng(20240611)
    r, q, theta, n = 3, 5, 3.0, 1_000_000
    y = rng.integers(r + 1, r + q + 1, size=n)
    net = y - rng.poisson(theta, size=n)
    res = rq_poisson(r, q, 1.0, theta)
    for sample, exact in [
        ((net >= 1).astype(float), res.fill_rate),
        (np.maximum(net, 0), res.expected_on_hand),
        (np.maximum(-net, 0), res.expected_backorders),
    ]:
        se = sample.std(ddof=1) / math.sqrt(n)
        assert abs(sample.mean() - exact) < Z_BAND * se


def test_rq_poisson_sample_path_simulation():
    """Simulate the policy itself: Poisson arrivals, orders of Q at IP = r, lead time L.

    Demand n (0-based) arrives at time t_n. Inventory position after m demands is
    r + Q - (m mod Q). Net inventory seen by demand n is IP(t_n - L) minus the
    demands in (t_n - L, t_n): with m = N(t_n - L), NI = r + Q - (m mod Q) - (n - m).
    """
    rng = np.random.default_rng(7)
    r, q, lam, lead, n = 3, 5, 1.0, 3.0, 2_000_000
    times = np.cumsum(rng.exponential(1 / lam, size=n))
    idx = np.arange(n)
    m = np.searchsorted(times, times - lead, side="right")
    net_seen = r + q - (m % q) - (idx - m)
    keep = times > 10 * lead  # warm-up
    fill, fill_se = batch_mean_and_se((net_seen[keep] >= 1).astype(float))
    # Time averages: inspect the system at uniform random times.
    u = np.sort(rng.uniform(10 * lead, times[-1], size=200_000))
    m_u = np.searchsorted(times, u - lead, side="right")
    net_u = r + q - (m_u % q) - (np.searchsorted(times, u, side="right") - m_u)
    on_hand, on_hand_se = batch_mean_and_se(np.maximum(net_u, 0).astype(float))
    back, back_se = batch_mean_and_se(np.maximum(-net_u, 0).astype(float))
    exact = rq_poisson(r, q, lam, lead)
    assert abs(fill - exact.fill_rate) < Z_BAND * fill_se
    assert abs(on_hand - exact.expected_on_hand) < Z_BAND * on_hand_se
    assert abs(back - exact.expected_backorders) < Z_BAND * back_se


def test_rq_poisson_special_cases():
    # Q = 1 is a base-stock policy with S = r + 1: fill rate P(D <= r).
    for r in range(0, 8):
        assert rq_poisson(r, 1, 2.0, 1.5).fill_rate == pytest.approx(poisson_cdf(r, 3.0), abs=1e-14)
    # Zero lead time: every demand is filled when r >= 0, none when r + Q <= 0.
    assert rq_poisson(0, 4, 1.0, 0.0).fill_rate == 1.0
    assert rq_poisson(-4, 4, 1.0, 0.0).fill_rate == 0.0
    # Fill rate increases with r towards 1.
    fills = [rq_poisson(r, 5, 1.0, 3.0).fill_rate for r in range(-5, 20)]
    assert np.all(np.diff(fills) > 0) and fills[-1] > 1 - 1e-9


# ----------------------------------------------------------------------------- (R, S)
def test_rs_normal_order_up_to_at_mean_gives_half_service():
    res = rs_normal(
        order_up_to=100.0, review_period_days=7, lead_time_days=3, mean_daily_demand=10.0, sd_daily_demand=3.0
    )
    assert isinstance(res, RSNormalResult)
    assert res.cycle_service_level == pytest.approx(0.5, abs=1e-15)
    assert res.safety_stock == pytest.approx(0.0, abs=1e-12)


def test_rs_normal_service_increases_with_order_up_to():
    levels = np.linspace(60, 160, 51)
    results = [rs_normal(s, 7, 3, 10.0, 3.0) for s in levels]
    fills = np.array([x.fill_rate for x in results])
    csls = np.array([x.cycle_service_level for x in results])
    shortages = np.array([x.expected_shortage_per_cycle for x in results])
    assert np.all(np.diff(fills) >= 0) and np.all(np.diff(fills[:30]) > 0)
    assert np.all(np.diff(csls) > 0) and np.all(np.diff(shortages) <= 0)
    assert fills[-1] == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("lead", [0, 3])
def test_rs_normal_shortage_monte_carlo(lead):
    """Shortage per cycle = backorders before the next delivery minus after this one."""
    rng = np.random.default_rng(11 + lead)
    review, m, s, n = 7, 10.0, 4.0, 1_000_000
    demand_l = rng.normal(m, s, size=(n, lead)).sum(axis=1) if lead else np.zeros(n)
    demand_rl = demand_l + rng.normal(m, s, size=(n, review)).sum(axis=1)
    mu, sigma = m * (review + lead), s * math.sqrt(review + lead)
    for order_up_to in (mu - sigma, mu, mu + sigma, mu + 2 * sigma):
        res = rs_normal(order_up_to, review, lead, m, s)
        short = np.maximum(demand_rl - order_up_to, 0) - np.maximum(demand_l - order_up_to, 0)
        se = short.std(ddof=1) / math.sqrt(n)
        assert abs(short.mean() - res.expected_shortage_per_cycle) < Z_BAND * se
        no_stockout = demand_rl <= order_up_to
        csl_se = no_stockout.std(ddof=1) / math.sqrt(n)
        assert abs(no_stockout.mean() - res.cycle_service_level) < Z_BAND * csl_se


def test_rs_normal_fill_rate_day_by_day_simulation():
    """Explicit stock, pipeline and backorders, day by day; order at review, receive L days later."""
    rng = np.random.default_rng(3)
    review, lead, m, s, days = 5, 2, 20.0, 5.0, 250_000
    order_up_to = m * (review + lead) + 0.5 * s * math.sqrt(review + lead)
    demand = np.maximum(rng.normal(m, s, size=days), 0.0)  # P(negative) ~ 3e-5, negligible
    net, pipeline = order_up_to, {}
    short = np.zeros(days)
    for day, d in enumerate(demand.tolist()):
        net += pipeline.pop(day, 0.0)  # deliveries arrive at the start of the day
        if day % review == 0:  # review before the day's demand: order up to S
            position = net + sum(pipeline.values())
            pipeline[day + lead] = pipeline.get(day + lead, 0.0) + order_up_to - position
            net += pipeline.pop(day, 0.0)  # lead == 0 would arrive at once
        short[day] = d - min(d, max(net, 0.0))
        net -= d
    warm = 10 * review
    ratio_num, num_se = batch_mean_and_se(short[warm:])
    ratio_den = demand[warm:].mean()
    exact = rs_normal(order_up_to, review, lead, m, s)
    assert abs((1 - ratio_num / ratio_den) - exact.fill_rate) < Z_BAND * num_se / ratio_den


def test_rs_normal_degenerate_cases():
    # No variability: no shortage when S covers the protection interval.
    assert rs_normal(100.0, 7, 3, 10.0, 0.0).fill_rate == 1.0
    res = rs_normal(60.0, 7, 0, 10.0, 0.0)  # 70 demanded per cycle, 60 available
    assert res.expected_shortage_per_cycle == pytest.approx(10.0)
    assert res.fill_rate == pytest.approx(60 / 70)
    assert res.cycle_service_level == 0.0


@pytest.mark.parametrize("csl", [0.5, 0.8, 0.95, 0.999])
def test_order_up_to_for_service_inverts_rs_normal(csl):
    s_level = order_up_to_for_service(csl, 7, 3, 10.0, 3.0)
    assert rs_normal(s_level, 7, 3, 10.0, 3.0).cycle_service_level == pytest.approx(csl, abs=1e-12)
    if csl == 0.5:
        assert s_level == pytest.approx(100.0, abs=1e-9)


# ----------------------------------------------------------------------------- queues
@pytest.mark.parametrize("lam, mu", [(0.1, 1.0), (0.5, 1.0), (3.0, 4.0), (0.99, 1.0)])
def test_erlang_c_single_server_equals_utilization(lam, mu):
    assert erlang_c(1, lam, mu) == pytest.approx(lam / mu, rel=1e-12)
    res = mmc(1, lam, mu)
    assert res.mean_wait == pytest.approx(lam / (mu * (mu - lam)), rel=1e-12)  # M/M/1


def erlang_c_direct(c: int, a: float) -> float:
    """Textbook sum formula, in log space to survive large c."""
    terms = [k * math.log(a) - math.lgamma(k + 1) for k in range(c)]
    top = c * math.log(a) - math.lgamma(c + 1) - math.log(1 - a / c)
    big = max([*terms, top])
    return math.exp(top - big) / (sum(math.exp(t - big) for t in terms) + math.exp(top - big))


@pytest.mark.parametrize("c, a", [(2, 1.0), (3, 2.0), (5, 4.0), (20, 15.5), (500, 480.0)])
def test_erlang_c_matches_sum_formula(c, a):
    assert erlang_c(c, a * 2.5, 2.5) == pytest.approx(erlang_c_direct(c, a), rel=1e-10)


def test_mmc_textbook_values():
    res = mmc(2, 1.0, 1.0)  # Gross et al.: c = 2, rho = 1/2
    assert isinstance(res, MMcResult)
    assert res.prob_wait == pytest.approx(1 / 3)
    assert res.mean_wait == pytest.approx(1 / 3)
    assert res.mean_in_queue == pytest.approx(1 / 3)
    assert res.mean_time_in_system == pytest.approx(4 / 3)
    assert res.mean_in_system == pytest.approx(4 / 3)
    assert res.utilization == pytest.approx(0.5)
    res = mmc(3, 2.0, 1.0)  # P0 = 1/9, C = 4/9, Lq = 8/9
    assert res.prob_wait == pytest.approx(4 / 9)
    assert res.mean_in_queue == pytest.approx(8 / 9)


def test_md1_waits_half_as_long_as_mm1():
    for lam, service in [(0.2, 1.0), (0.5, 1.0), (4.0, 0.2), (0.9, 1.0)]:
        res = md1(lam, service)
        assert isinstance(res, MG1Result)
        assert res.mean_wait == pytest.approx(mmc(1, lam, 1 / service).mean_wait / 2, rel=1e-12)
        assert res.mean_in_queue == pytest.approx(lam * res.mean_wait)
        assert res.mean_time_in_system == pytest.approx(res.mean_wait + service)
        assert res.mean_in_system == pytest.approx(lam * res.mean_time_in_system)


def test_mg1_with_exponential_service_equals_mm1():
    res, ref = mg1(0.6, 1.0, 1.0), mmc(1, 0.6, 1.0)
    assert res.utilization == pytest.approx(ref.utilization)
    assert res.mean_wait == pytest.approx(ref.mean_wait)
    assert res.mean_in_system == pytest.approx(ref.mean_in_system)


def test_md1_lindley_recursion_simulation():
    """Waiting times from Lindley's recursion W' = max(0, W + S - A) with constant S."""
    rng = np.random.default_rng(5)
    lam, service, n = 0.5, 1.0, 400_000
    gaps = rng.exponential(1 / lam, size=n).tolist()
    waits = np.empty(n)
    w = 0.0
    for i, gap in enumerate(gaps):
        waits[i] = w
        w = max(0.0, w + service - gap)
    mean, se = batch_mean_and_se(waits[1000:])
    assert abs(mean - md1(lam, service).mean_wait) < Z_BAND * se


def test_mg1_cv_is_pollaczek_khinchine_with_variance_from_the_cv():
    """cv 0 is M/D/1, cv 1 is M/M/1 (exponential), and cv 0.5 waits (1 + 0.25) / 2 of M/M/1."""
    lam, mean = 0.8 / 300, 300.0
    assert mg1_cv(lam, mean, 0.0) == md1(lam, mean)
    assert mg1_cv(lam, mean, 1.0).mean_wait == pytest.approx(mmc(1, lam, 1 / mean).mean_wait, rel=1e-12)
    assert mg1_cv(lam, mean, 0.5).mean_wait == pytest.approx(0.8 * 300 * 1.25 / (2 * 0.2), rel=1e-12)  # 750 s


def test_mg1_lognormal_lindley_recursion_simulation():
    """Lindley's recursion with lognormal service (cv 0.5, log-sd sqrt(log 1.25)) waits as P-K says."""
    rng = np.random.default_rng(11)
    lam, mean, cv, n = 0.7, 1.0, 0.5, 400_000
    sigma2 = math.log1p(cv**2)
    service = rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), n)
    steps = (service - rng.exponential(1 / lam, n)).tolist()
    waits = np.empty(n)
    w = 0.0
    for i, step in enumerate(steps):
        waits[i] = w
        w = max(0.0, w + step)
    got, se = batch_mean_and_se(waits[1000:])
    assert abs(got - mg1_cv(lam, mean, cv).mean_wait) < Z_BAND * se
    assert abs(got - mg1_cv(lam, mean, 0.6).mean_wait) > Z_BAND * se  # and tells cv 0.5 from cv 0.6


def embedded_chain(c: int, a: float, states: int) -> np.ndarray:
    """Stationary law of X' = max(X - c, 0) + Poisson(a), truncated at ``states``, by a dense linear solve."""
    arrivals = poisson_pmf(np.arange(states), a)
    p = np.zeros((states, states))
    for i in range(states):
        base = max(i - c, 0)
        p[i, base:] = arrivals[: states - base]
        p[i, -1] += 1.0 - p[i].sum()  # the truncated tail lumps into the last state
    lhs = p.T - np.eye(states)
    lhs[-1] = 1.0  # replace one balance equation by sum(pi) = 1
    rhs = np.zeros(states)
    rhs[-1] = 1.0
    return np.linalg.solve(lhs, rhs)


@pytest.mark.parametrize("c, a", [(2, 1.6), (3, 2.4), (5, 2.0), (10, 9.0), (20, 12.0), (40, 36.0)])
def test_mdc_matches_the_embedded_markov_chain_solved_numerically(c, a):
    """Crommelin's roots against the chain at multiples of D solved as a linear system (Tijms's route)."""
    pi = embedded_chain(c, a, 1200)
    n = np.arange(len(pi))
    res = mdc(c, a, 1.0)
    assert isinstance(res, MDcResult)
    # the dense solve itself carries ~1e-10 of rounding: agreement to 7-8 digits
    assert res.prob_wait == pytest.approx(1.0 - pi[:c].sum(), rel=1e-8)
    assert res.mean_in_queue == pytest.approx(pi @ np.maximum(n - c, 0), rel=1e-7)
    assert res.mean_in_system == pytest.approx(pi @ n, rel=1e-8)
    assert res.mean_wait == pytest.approx(res.mean_in_queue / a, rel=1e-12)  # D = 1: lambda = a
    assert res.mean_time_in_system == pytest.approx(res.mean_wait + 1.0)
    assert res.utilization == pytest.approx(a / c)


@pytest.mark.parametrize("lam, service", [(0.2, 1.0), (0.5, 1.0), (4.0, 0.2), (0.9, 1.0), (0.8 * 288, 1 / 288)])
def test_mdc_single_server_is_md1(lam, service):
    res, ref = mdc(1, lam, service), md1(lam, service)
    assert res.prob_wait == pytest.approx(lam * service, rel=1e-12)  # P(wait) = rho for one server
    assert res.mean_wait == pytest.approx(ref.mean_wait, rel=1e-12)
    assert res.mean_in_queue == pytest.approx(ref.mean_in_queue, rel=1e-12)
    assert res.mean_in_system == pytest.approx(ref.mean_in_system, rel=1e-12)
    assert mdc_roots(1, lam * service).size == 0


def test_mdc_roots_solve_the_characteristic_equation_inside_the_unit_disk():
    for c, a in [(2, 1.6), (7, 3.0), (50, 49.0), (300, 240.0)]:
        z = mdc_roots(c, a)
        assert len(z) == c - 1 and np.all(np.abs(z) < 1)
        assert np.allclose(z**c, np.exp(a * (z - 1)), atol=1e-12)
        assert len(np.unique(np.round(z, 9))) == c - 1  # distinct
    assert np.allclose(mdc_roots(4, 0.0), np.exp(2j * np.pi * np.arange(1, 4) / 4))  # no load: unit roots


@pytest.mark.parametrize("c", [2, 3, 5, 10, 50, 200, 1000])
@pytest.mark.parametrize("rho", [0.5, 0.8, 0.95, 0.99])
def test_mdc_waits_between_half_and_all_of_mmc(c, rho):
    """Constant service waits less than exponential, but at least half as long (Cosmetatos's ratio is
    1/2 (1 + correction >= 0)); P(wait) is at most Erlang C's. Cases with P(wait) < 1e-9 are rounding."""
    res, ref = mdc(c, rho * c, 1.0), mmc(c, rho * c, 1.0)
    if ref.prob_wait < 1e-9:
        assert res.prob_wait < 1e-9 and res.mean_wait < 1e-9
        return
    assert 0.5 * ref.mean_wait < res.mean_wait < ref.mean_wait
    assert 0 < res.prob_wait <= ref.prob_wait


@pytest.mark.parametrize("c", [2, 3, 10, 50])
def test_mdc_heavy_traffic_waits_half_of_mmc(c):
    """As rho -> 1 the wait of M/G/c over M/M/c tends to (1 + cv^2) / 2 = 1/2 (Kingman's heavy-traffic limit)."""
    ratio = mdc(c, 0.999 * c, 1.0).mean_wait / mmc(c, 0.999 * c, 1.0).mean_wait
    assert ratio == pytest.approx(0.5, abs=5e-4)


def test_mdc_fifo_recursion_simulation():
    """Sample path of FCFS M/D/c: customer n starts at max(arrival n, start of customer n - c + D)."""
    rng = np.random.default_rng(17)
    c, lam, service, n = 3, 1.8, 1.0, 300_000  # rho = 0.6
    arrivals = np.cumsum(rng.exponential(1 / lam, n)).tolist()
    starts = [0.0] * n
    for i, t in enumerate(arrivals):
        starts[i] = max(t, starts[i - c] + service) if i >= c else t
    waits = (np.array(starts) - np.array(arrivals))[1000:]
    exact = mdc(c, lam, service)
    got, se = batch_mean_and_se(waits)
    assert abs(got - exact.mean_wait) < Z_BAND * se
    # half the M/M/3 wait (Cosmetatos's first term, 7% below the exact value) is told apart
    assert abs(got - mmc(c, lam, 1 / service).mean_wait / 2) > Z_BAND * se
    share, se_share = batch_mean_and_se((waits > 0).astype(float))
    assert abs(share - exact.prob_wait) < Z_BAND * se_share


# ----------------------------------------------------------------------------- invalid input
@pytest.mark.parametrize(
    "call",
    [
        lambda: normal_ppf(0.0),
        lambda: normal_ppf(1.0),
        lambda: normal_ppf(-0.2),
        lambda: poisson_pmf(2, -1.0),
        lambda: poisson_cdf(2, float("nan")),
        lambda: eoq(-1.0, 10.0, 0.1),
        lambda: eoq(10.0, 10.0, 0.0),
        lambda: eoq_cost_per_day(0.0, 10.0, 10.0, 0.1),
        lambda: rq_poisson(3, 0, 1.0, 2.0),
        lambda: rq_poisson(3, 5, -1.0, 2.0),
        lambda: rq_poisson(3, 5, 1.0, -2.0),
        lambda: rq_poisson(2.5, 5, 1.0, 2.0),
        lambda: rq_poisson_fill_rate(3, 0, 2.0),
        lambda: rq_poisson_fill_rate(3, 2, -2.0),
        lambda: rs_normal(100.0, 0, 3, 10.0, 3.0),
        lambda: rs_normal(100.0, 7, -1, 10.0, 3.0),
        lambda: rs_normal(100.0, 7, 3, 10.0, -3.0),
        lambda: order_up_to_for_service(1.0, 7, 3, 10.0, 3.0),
        lambda: order_up_to_for_service(0.0, 7, 3, 10.0, 3.0),
        lambda: erlang_c(2, 2.0, 1.0),
        lambda: erlang_c(0, 0.5, 1.0),
        lambda: erlang_c(2, -1.0, 1.0),
        lambda: mmc(1, 1.5, 1.0),
        lambda: mg1(1.0, 1.0, 0.5),
        lambda: mg1(0.5, 1.0, -0.5),
        lambda: md1(0.5, 0.0),
        lambda: mg1_cv(0.5, 1.0, -0.5),
        lambda: mdc(2, 2.0, 1.0),
        lambda: mdc(0, 0.5, 1.0),
        lambda: mdc(1.5, 0.5, 1.0),
        lambda: mdc(2, -1.0, 1.0),
        lambda: mdc(2, 1.0, 0.0),
    ],
)
def test_invalid_parameters_raise_value_error(call):
    with pytest.raises(ValueError):
        call()
