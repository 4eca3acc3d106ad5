"""``demand.scale`` and ``inventory.plan_demand``: "what if demand triples, plan unchanged?"

* the scale multiplies every source of demand (base, promotion uplift, marketing ceilings);
* by default (``plan_demand: unscaled``) the omitted reorder points and EOQs stay where
  today's demand puts them, so the fill rate falls; ``as_scaled`` plans for the tripled
  demand exactly as if base and channels had been tripled by hand;
* scale 1 is the scenario without the key, KPI for KPI.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from experiments.stats import mean_ci, paired_differences
from optimize.promotion import pwl_curve
from sim.model.catalog import catalog_for
from sim.model.demand import demand_plan, planning_plan
from sim.model.policy import resolve_policy
from sim.model.shop import simulate
from sim.model.streams import replication_seed
from sim.scenario.explain import explain
from sim.scenario.loader import load_scenario

BASE = "scenarios/baseline.yaml"
SHORT = ["horizon_days=90", "warmup_days=14"]
REPS = 4


def _scenario(*extra, short=SHORT):
    return load_scenario(BASE, [*short, *extra])


def _policy(s):
    return resolve_policy(s, catalog_for(s), planning_plan(s))


def _tripled_by_hand(short=SHORT):
    s = _scenario()
    ch = s.demand.channels[0]
    return _scenario(
        f"demand.base_orders_per_day={3 * s.demand.base_orders_per_day}",
        f"demand.channels[0].max_extra_orders_per_day={3 * ch.max_extra_orders_per_day}",
        short=short,
    )


def test_scale_multiplies_base_promotion_and_marketing_orders():
    one, three = demand_plan(_scenario()), demand_plan(_scenario("demand.scale=3"))
    assert one.marketing_orders.max() > 0  # the channel buys orders: its ceiling is scaled too
    np.testing.assert_allclose(three.base_rate, 3 * one.base_rate)
    np.testing.assert_allclose(three.marketing_orders, 3 * one.marketing_orders)
    np.testing.assert_allclose(three.rate, 3 * one.rate)
    np.testing.assert_array_equal(three.spend, one.spend)  # the spend itself does not change
    # promotion days (618, uplift 1.8) scale with the base as well
    full = load_scenario(BASE, ["demand.scale=3"])
    event = demand_plan(full).event
    assert event.any()
    np.testing.assert_allclose(demand_plan(full).rate[event], 3 * demand_plan(load_scenario(BASE)).rate[event])


def test_scale_zero_and_bounds():
    assert demand_plan(_scenario("demand.scale=0")).rate.sum() == 0
    from sim.scenario.errors import InputError

    for bad in ("-1", "1001"):
        with pytest.raises(InputError, match=r"demand\.scale"):
            _scenario(f"demand.scale={bad}")
    with pytest.raises(InputError, match="plan_demand"):
        _scenario("inventory.plan_demand=guess")


def test_unscaled_plan_keeps_todays_reorder_points_and_eoq():
    today, tripled = _policy(_scenario()), _policy(_scenario("demand.scale=3"))
    np.testing.assert_array_equal(tripled.reorder_point, today.reorder_point)
    np.testing.assert_array_equal(tripled.order_quantity, today.order_quantity)
    by_hand = _policy(_tripled_by_hand())
    assert (by_hand.reorder_point > today.reorder_point).mean() > 0.9  # a nearby wrong answer differs


def test_as_scaled_plan_equals_demand_tripled_by_hand():
    as_scaled = _policy(_scenario("demand.scale=3", "inventory.plan_demand=as_scaled"))
    by_hand = _policy(_tripled_by_hand())
    np.testing.assert_allclose(as_scaled.reorder_point, by_hand.reorder_point)
    np.testing.assert_allclose(as_scaled.order_quantity, by_hand.order_quantity)  # EOQ follows too
    np.testing.assert_allclose(as_scaled.order_up_to, by_hand.order_up_to)
    # and the simulator uses them (not only resolve_policy); a 3-day run to keep it cheap
    tiny = ["horizon_days=3", "warmup_days=0"]
    used = simulate(_scenario("demand.scale=3", "inventory.plan_demand=as_scaled", short=tiny), seed=1)
    np.testing.assert_allclose(used.policy.reorder_point, _policy(_tripled_by_hand(tiny)).reorder_point)
    used = simulate(_scenario("demand.scale=3", short=tiny), seed=1)
    np.testing.assert_allclose(used.policy.reorder_point, _policy(_scenario(short=tiny)).reorder_point)


def test_scale_one_is_the_scenario_without_the_key():
    a = simulate(_scenario(), seed=5).kpis
    b = simulate(_scenario("demand.scale=1"), seed=5).kpis
    c = simulate(_scenario("demand.scale=1", "inventory.plan_demand=as_scaled"), seed=5).kpis
    for k in a:
        assert (math.isnan(a[k]) and math.isnan(b[k]) and math.isnan(c[k])) or a[k] == b[k] == c[k], k


@pytest.fixture(scope="module")
def runs():
    """REPS replications of today's demand and of triple demand (plan unchanged), common seeds."""
    rows = []
    for name, extra in (("today", []), ("triple", ["demand.scale=3"])):
        s = _scenario(*extra)
        for r in range(REPS):
            k = simulate(s, seed=replication_seed(11, r)).kpis
            rows.append({"variant": name, "replication": r, "status": "ok", **k})
    return pd.DataFrame(rows)


def test_simulated_orders_triple(runs):
    s = _scenario("demand.scale=3")
    expected = float(demand_plan(s).rate[s.warmup_days :].sum())
    triple = runs[runs.variant == "triple"]["orders"]
    ci = mean_ci(triple, level=0.99)
    assert ci.contains(expected)
    assert not ci.contains(expected / 3 * 2.9)  # a nearby wrong answer is excluded
    today = runs[runs.variant == "today"]["orders"].to_numpy()
    ratio = mean_ci(triple.to_numpy() / today, level=0.99)
    assert ratio.contains(3.0)


def test_fill_rate_falls_when_demand_triples_and_the_plan_does_not(runs):
    d = paired_differences(runs, ["unit_fill_rate", "on_time_rate"], baseline="today")
    fill = d[d.metric == "unit_fill_rate"].iloc[0]
    assert fill.excludes_zero and fill.ci_high < -0.1, fill.to_dict()
    today = runs[runs.variant == "today"]["unit_fill_rate"].mean()
    triple = runs[runs.variant == "triple"]["unit_fill_rate"].mean()
    assert today > 0.95 and triple < 0.85


def test_promotion_optimizer_curves_follow_the_scale():
    ch = _scenario().demand.channels[0]
    one, three = pwl_curve(ch, 24), pwl_curve(ch, 24, demand_scale=3)
    np.testing.assert_allclose(three.orders, 3 * one.orders)
    np.testing.assert_allclose(three.breakpoints, one.breakpoints)


def test_explain_says_how_the_plan_treats_the_scale():
    assert "Demand scaled x3; reorder points and EOQ order quantities planned for today's demand (unscaled)" in explain(
        _scenario("demand.scale=3")
    )
    assert "planned for the scaled demand (as_scaled)" in explain(
        _scenario("demand.scale=3", "inventory.plan_demand=as_scaled")
    )
    assert "Demand scaled" not in explain(_scenario())
