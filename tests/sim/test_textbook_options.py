"""Textbook conventions as scenario options: reorder_trigger, order_cost_per_unit, cost_basis.

Each option moves results in its documented direction on a small one-SKU case and leaves
everything else alone; with the book's own convention the simulator reproduces the book's
exact cost: periodic (s, S) with cost_basis: period_end against Zheng-Federgruen's
ss_poisson_cost (Snyder & Shen, Example 4.7), continuous (r, Q) with the default trigger and
time averages against rq_poisson_cost (Snyder & Shen, Example 5.8). Each interval check is
a 99.9% Student-t interval over replications with fixed seeds and also excludes the nearby
wrong answer (the other convention), so the check has teeth.
"""

from __future__ import annotations

import math

import pytest

from experiments.stats import mean_ci
from sim.model.shop import simulate
from sim.model.streams import replication_seed
from sim.scenario.schema import Scenario
from sim.theory import rq_poisson_cost, ss_poisson_cost

LEVEL = 0.999


def one_sku(policy: dict, costs: dict | None = None, **extra) -> Scenario:
    """One SKU, Poisson demand of single units, constant lead time, full backordering."""
    data = {
        "name": "textbook",
        "horizon_days": extra.pop("horizon_days", 400),
        "warmup_days": extra.pop("warmup_days", 20),
        "catalog": {"skus": [{"id": "W", "price": 100, "unit_cost": extra.pop("unit_cost", 10)}]},
        "demand": {"base_orders_per_day": extra.pop("rate", 1.0), "arrivals": "poisson"},
        "suppliers": [{"name": "acme", "lead_time_days": extra.pop("lead_time_days", 3)}],
        "inventory": {
            "policy": policy,
            "unmet_demand": "backorder",
            "costs": costs or {},
            "initial_on_hand": extra.pop("initial_on_hand", "order_up_to"),
        },
    }
    assert not extra
    return Scenario.model_validate(data)


def replicate(scenario: Scenario, n: int, seed: int) -> list[dict]:
    return [simulate(scenario, replication_seed(seed, r)).kpis for r in range(n)]


def differing(a: dict, b: dict) -> set[str]:
    return {k for k in a if not (a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])))}


SQ = {"type": "sQ", "review": "continuous", "reorder_point": 3, "order_quantity": 5}
SS_PERIODIC = {"type": "sS", "review": "periodic", "review_period_days": 7, "reorder_point": 4, "order_up_to": 10}


# ---------------------------------------------------------------- reorder_trigger
@pytest.mark.parametrize("policy", [SQ, SS_PERIODIC], ids=["sQ", "sS-periodic"])
def test_below_with_s_plus_one_is_at_or_below_with_s(policy):
    """With whole-unit demand, 'order when IP < s + 1' is 'order when IP <= s': identical runs."""
    at = one_sku(policy, initial_on_hand=8)  # the same start stock (s + Q would differ)
    below = one_sku(
        {**policy, "reorder_point": policy["reorder_point"] + 1, "reorder_trigger": "below"}, initial_on_hand=8
    )
    assert not differing(simulate(at, 5).kpis, simulate(below, 5).kpis)


def test_below_orders_later_so_less_stock_and_lower_fill():
    at, below = (replicate(one_sku({**SQ, "reorder_trigger": t}), n=8, seed=11) for t in ("at_or_below", "below"))
    for name in ("avg_on_hand_units", "unit_fill_rate"):
        diff = mean_ci([b[name] - a[name] for a, b in zip(at, below)], LEVEL)
        assert diff.high < 0, (name, diff)
    diff = mean_ci([b["avg_backorder_units"] - a["avg_backorder_units"] for a, b in zip(at, below)], LEVEL)
    assert diff.low > 0


@pytest.mark.parametrize("kind", ["RS", "base_stock"])
def test_trigger_does_not_touch_order_up_to_policies(kind):
    policy = {"type": kind, "order_up_to": 8, "review_period_days": 3}
    if kind == "base_stock":
        policy["review"] = "continuous"
    a = simulate(one_sku(policy), 2).kpis
    assert not differing(a, simulate(one_sku({**policy, "reorder_trigger": "below"}), 2).kpis)


def test_below_sq_orders_whole_multiples_of_q_up_to_at_least_s():
    """s = 3, Q = 2, trigger below: IP lands on s or above, never below, in steps of Q; at s nothing."""
    from sim.model.inventory import InventorySystem

    inv = InventorySystem.__new__(InventorySystem)  # only the quantity rule is exercised
    inv.kind, inv.trigger_below = "sQ", True
    inv.on_order, inv.backorders = [0.0], [0.0]
    inv.s, inv.Q = [3.0], [2.0]
    rule = inv._quantity_rule()
    got = []
    for on_hand in (3.0, 2.0, 1.0, -2.0):
        inv.on_hand = [on_hand]
        got.append(rule(0))
    assert got == [0.0, 2.0, 2.0, 6.0]  # IP 3: none; 2 -> 4; 1 -> 3; -2 -> 4
    inv.trigger_below = False  # at_or_below: IP 3 orders (to 5), 1 -> 5
    rule = inv._quantity_rule()
    inv.on_hand = [3.0]
    assert rule(0) == 2.0
    inv.on_hand = [1.0]
    assert rule(0) == 4.0


# ---------------------------------------------------------------- order_cost_per_unit
def test_per_unit_order_cost_adds_exactly_c_times_units_ordered():
    c = 2.5
    base = simulate(one_sku(SQ), 3)
    priced = simulate(one_sku(SQ, {"order_cost_per_unit": c}), 3)
    a, b = base.kpis, priced.kpis
    span = base.daily[base.daily["day"] >= 20]
    units = float(span["units_ordered"].sum())
    assert units == a["replenishment_orders"] * 5  # every order is one Q here
    assert b["ordering_cost"] - a["ordering_cost"] == pytest.approx(c * units, rel=1e-12)
    assert b["total_cost"] - a["total_cost"] == pytest.approx(c * units, rel=1e-12)
    assert b["profit"] - a["profit"] == pytest.approx(-c * units, rel=1e-12)
    assert differing(a, b) <= {"ordering_cost", "total_cost", "profit", "cost_per_day", "total_cost_per_order"}


# ---------------------------------------------------------------- cost_basis
def test_period_end_changes_only_the_stock_kpis_and_their_costs():
    costs = {"backorder_cost_per_unit_day": 1.0}
    avg = simulate(one_sku(SS_PERIODIC, costs), 4).kpis
    end = simulate(one_sku(SS_PERIODIC, {**costs, "cost_basis": "period_end"}), 4).kpis
    stock = {"avg_on_hand_units", "avg_inventory_value", "avg_backorder_units", "inventory_turnover", "days_of_supply"}
    costs_moved = {"holding_cost", "shortage_cost", "total_cost", "cost_per_day", "profit", "total_cost_per_order"}
    assert differing(avg, end) <= stock | costs_moved
    # end-of-period stock is after the period's demand: below the period's time average
    assert end["avg_on_hand_units"] < avg["avg_on_hand_units"]
    assert end["holding_cost"] < avg["holding_cost"]
    assert end["holding_cost"] / end["avg_inventory_value"] == pytest.approx(
        avg["holding_cost"] / avg["avg_inventory_value"], rel=1e-12
    )


def test_period_end_with_continuous_review_charges_end_of_day_stock():
    result = simulate(one_sku(SQ, {"cost_basis": "period_end"}), 6)
    span = result.daily[result.daily["day"] >= 20]
    assert result.kpis["avg_on_hand_units"] == pytest.approx(span["on_hand_units_end"].mean(), rel=1e-12)
    assert result.kpis["avg_backorder_units"] == pytest.approx(span["backorder_units_end"].mean(), rel=1e-12)


def test_period_end_with_weekly_review_charges_each_week_its_end_stock():
    costs = {"backorder_cost_per_unit_day": 1.0, "cost_basis": "period_end"}
    result = simulate(one_sku(SS_PERIODIC, costs, warmup_days=14, horizon_days=7 * 30, rate=2.0), 8)
    ends = result.daily[(result.daily["day"] >= 14) & (result.daily["day"] % 7 == 6)]  # reviews open days 0, 7, ..
    assert len(ends) == 28
    assert result.kpis["avg_on_hand_units"] == pytest.approx(ends["on_hand_units_end"].mean(), rel=1e-12)
    assert result.kpis["avg_backorder_units"] == pytest.approx(ends["backorder_units_end"].mean(), rel=1e-12)
    assert result.kpis["shortage_cost"] == pytest.approx(7 * ends["backorder_units_end"].sum(), rel=1e-12)


def test_periodic_ss_period_end_cost_matches_zheng_federgruen():
    """Snyder & Shen Example 4.7: Poisson(6) per period, h = 1, p = 4, K = 5, no lead time: c(4, 10) = 8.0341.

    A period is a day (review_period_days 1): holding 1 per unit-day is unit cost 3.65 at
    rate 100/year. The time-average basis (which also charges the stock before the period's
    demand) is far off; so is the neighbouring policy (3, 10).
    """
    policy = {**SS_PERIODIC, "review_period_days": 1}
    costs = {"holding_rate_per_year": 100.0, "order_cost": 5.0, "backorder_cost_per_unit_day": 4.0}
    common = {"rate": 6.0, "unit_cost": 3.65, "lead_time_days": 0, "horizon_days": 1500}
    book = ss_poisson_cost(4, 10, 6.0, 1.0, 4.0, 5.0)
    runs = replicate(one_sku(policy, {**costs, "cost_basis": "period_end"}, **common), n=10, seed=47)
    ci = mean_ci([k["cost_per_day"] for k in runs], LEVEL)
    assert ci.contains(book), (ci, book)
    assert not ci.contains(ss_poisson_cost(3, 10, 6.0, 1.0, 4.0, 5.0)), ci
    time_average = replicate(one_sku(policy, costs, **common), n=3, seed=47)
    assert min(k["cost_per_day"] for k in time_average) > ci.high


def test_rq_time_average_cost_matches_federgruen_zheng_example():
    """Snyder & Shen Example 5.8: lambda = 1.5/day, L = 2, h = 20, p = 150, K = 100: C(3, 5) = 107.9236."""
    costs = {"holding_rate_per_year": 100.0, "order_cost": 100.0, "backorder_cost_per_unit_day": 150.0}
    scenario = one_sku(SQ, costs, rate=1.5, unit_cost=73.0, lead_time_days=2, horizon_days=2000)
    ci = mean_ci([k["cost_per_day"] for k in replicate(scenario, n=12, seed=58)], LEVEL)
    assert ci.contains(rq_poisson_cost(3, 5, 1.5, 2.0, 20.0, 150.0, 100.0)), ci
    assert not ci.contains(rq_poisson_cost(2, 5, 1.5, 2.0, 20.0, 150.0, 100.0))  # the 'below' reading
