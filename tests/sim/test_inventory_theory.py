"""The simulator agrees with inventory theory on the classroom scenarios.

Each classroom scenario states in its comments which textbook formula it
illustrates; here the simulated KPIs are checked against sim.theory:

* classroom_sq — continuous (r, Q), Poisson demand, constant lead time:
  fill rate, average on hand and average backorders vs Hadley & Whitin;
* classroom_rs — periodic (R, S), normal demand: fill rate and cycle service level;
* classroom_eoq — deterministic demand: cost per day of an order quantity vs the EOQ cost curve.

Stochastic checks use a 99.9% Student-t confidence interval over independent
replications with fixed seeds, and also show that the interval is narrow
enough to tell the right answer from a nearby wrong one (a neighbouring
reorder level), so the check has teeth. Why 99.9%: this file and
test_warehouse_theory.py hold about twenty interval checks; at 99% each, one of
them would fail by bad luck about one time in five whenever the random numbers
are remapped (a new stream layout). 99.9% per check (Bonferroni) keeps that near
2%. Large runs back the formulas up independently: 300 replications of
classroom_sq give fill 0.8665 +- 0.0013 vs 0.8666 (99% CI).
"""

from __future__ import annotations

import pytest
from helpers import SCENARIOS  # absolute: module fixtures run before the chdir

from experiments.stats import mean_ci
from sim.model.catalog import catalog_for
from sim.model.demand import demand_plan
from sim.model.policy import resolve_policy
from sim.model.shop import simulate
from sim.model.streams import replication_seed
from sim.scenario.distributions import Normal
from sim.scenario.loader import load_scenario
from sim.theory import eoq, eoq_cost_per_day, rq_poisson, rs_normal

LEVEL = 0.999  # per check; see the module docstring


def replicate(scenario, n: int, master_seed: int) -> list[dict]:
    return [simulate(scenario, replication_seed(master_seed, r)).kpis for r in range(n)]


# ---------------------------------------------------------------- (r, Q), Poisson demand
@pytest.fixture(scope="module")
def sq_runs():
    scenario = load_scenario(SCENARIOS / "classroom_sq.yaml")
    p = scenario.inventory.policy
    assert (p.type, p.reorder_point, p.order_quantity, scenario.inventory.unmet_demand) == ("sQ", 3, 5, "backorder")
    assert scenario.suppliers[0].lead_time_days.mean == 3 and scenario.suppliers[0].lead_time_days.variance == 0
    assert scenario.demand.base_orders_per_day == 1 and scenario.demand.arrivals == "poisson"
    return replicate(scenario, n=36, master_seed=20260101)


SQ_KPIS = [
    ("unit_fill_rate", "fill_rate"),
    ("avg_on_hand_units", "expected_on_hand"),
    ("avg_backorder_units", "expected_backorders"),
]


@pytest.mark.slow
@pytest.mark.parametrize("kpi, field", SQ_KPIS)
def test_rq_poisson_matches_hadley_whitin(sq_runs, kpi, field):
    exact = getattr(rq_poisson(3, 5, 1.0, 3.0), field)
    ci = mean_ci([k[kpi] for k in sq_runs], level=LEVEL)
    assert ci.contains(exact), f"{kpi}: exact {exact:.4f} outside {ci}"
    # the interval separates r = 3 from r = 2 and r = 4: a wrong reorder logic would be caught
    for wrong_r in (2, 4):
        assert not ci.contains(getattr(rq_poisson(wrong_r, 5, 1.0, 3.0), field))


@pytest.mark.slow
def test_rq_poisson_order_frequency(sq_runs):
    """lambda / Q orders a day: one order per five units sold."""
    days = 3650 - 50
    ci = mean_ci([k["replenishment_orders"] / days for k in sq_runs], level=LEVEL)
    assert ci.contains(rq_poisson(3, 5, 1.0, 3.0).order_frequency_per_day)


# ---------------------------------------------------------------- (R, S), normal demand
@pytest.fixture(scope="module")
def rs_runs():
    scenario = load_scenario(SCENARIOS / "classroom_rs.yaml")
    p = scenario.inventory.policy
    assert (p.type, p.review_period_days, p.order_up_to) == ("RS", 7, 2200)
    assert scenario.suppliers[0].lead_time_days.mean == 3
    return replicate(scenario, n=30, master_seed=777)


@pytest.mark.slow
@pytest.mark.parametrize(
    "kpi, field", [("unit_fill_rate", "fill_rate"), ("cycle_service_level", "cycle_service_level")]
)
def test_rs_normal_matches_the_formulas(rs_runs, kpi, field):
    exact = getattr(rs_normal(2200, 7, 3, 200, 60), field)
    ci = mean_ci([k[kpi] for k in rs_runs], level=LEVEL)
    assert ci.contains(exact), f"{kpi}: exact {exact:.4f} outside {ci}"
    # S = 2150 or 2250 would be told apart
    for wrong_S in (2150, 2250):
        assert not ci.contains(getattr(rs_normal(wrong_S, 7, 3, 200, 60), field))


def test_rs_truncation_at_zero_is_negligible():
    """The scenario draws N(200, 60) truncated at 0; the formula uses the untruncated law."""
    d = Normal(dist="normal", mean=200, sd=60)
    exact = rs_normal(2200, 7, 3, 200, 60)
    truncated = rs_normal(2200, 7, 3, d.mean, d.std)
    assert truncated.fill_rate == pytest.approx(exact.fill_rate, abs=1e-4)
    assert truncated.cycle_service_level == pytest.approx(exact.cycle_service_level, abs=1e-3)


# ---------------------------------------------------------------- EOQ, deterministic demand
H_PER_UNIT_DAY = 0.20 * 36.5 / 365  # holding_rate_per_year x unit_cost / 365 = 0.02


def eoq_scenario(order_quantity):
    return load_scenario("scenarios/classroom_eoq.yaml", [f"inventory.policy.order_quantity={order_quantity}"])


def test_classroom_eoq_resolves_to_the_eoq():
    s = load_scenario("scenarios/classroom_eoq.yaml")
    policy = resolve_policy(s, catalog_for(s), demand_plan(s))
    assert policy.order_quantity[0] == pytest.approx(eoq(100, 100, H_PER_UNIT_DAY)) == 1000


@pytest.mark.parametrize("q", ["eoq", 1000, 500, 2000])
def test_eoq_cost_per_day_matches_the_formula_within_one_percent(q):
    q_units = 1000 if q == "eoq" else q
    k = simulate(eoq_scenario(q), seed=1).kpis
    exact = eoq_cost_per_day(q_units, 100, 100, H_PER_UNIT_DAY)
    assert k["cost_per_day"] == pytest.approx(exact, rel=0.01)
    assert k["unit_fill_rate"] == 1.0  # deterministic demand, s = D L - 1: never short
    assert k["shortage_cost"] == 0
    assert k["avg_on_hand_units"] == pytest.approx(q_units / 2, rel=0.01)


def test_eoq_is_the_cheapest_order_quantity():
    cost = {q: simulate(eoq_scenario(q), seed=1).kpis["cost_per_day"] for q in (800, 1000, 1250)}
    assert cost[1000] < cost[800] and cost[1000] < cost[1250]
