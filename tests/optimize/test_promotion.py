"""Promotion budget optimizer (issue 6): plans checked against independent calculations.

* The piecewise-linear curve is checked against the simulator's own Hill curve on a
  dense grid (concave, exact at the breakpoints, error honestly reported and small).
* Without capacity limits the LP is a separable concave maximization under one budget
  row, so filling the steepest segments first (greedy) is optimal; the greedy below uses
  only ``pwl_curve`` and the per-day margins of ``inputs_from`` — no PuLP, no HiGHS.
* Capacity: on a Double-11 window the capacity-aware plan keeps expected orders within
  picking capacity and moves spend off the capacity-bound event days.
* The overlay is applied by the simulator's own loader and demand plan; verification by
  simulation (common random numbers) checks extra orders against the prediction.

Small scenarios are written to ``tmp_path`` as files that extend ``baseline.yaml``
(one warehouse without a picking model: no capacity limit, no carriers).
"""

from __future__ import annotations

import functools
import itertools
import operator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import ROOT, run_cli

from experiments.stats import mean_ci
from optimize import promotion
from optimize.promotion import inputs_from, pwl_curve, replenishment_cost_per_unit
from optimize.solver import Infeasible
from sim.model.demand import demand_plan, hill_response
from sim.model.economics import picker_days as scheduled_picker_days
from sim.model.shop import simulate
from sim.model.streams import replication_seed
from sim.scenario.loader import load_scenario
from sim.scenario.schema import Channel

# These tests check the LP on the exact piecewise-linear curves (no refinement) and the hard
# capacity wall; tests/optimize/test_promotion_priced.py checks the priced mode and the refined duals.
solve = functools.partial(promotion.solve, refine=False, capacity="hard")

BASELINE = "scenarios/baseline.yaml"
DOUBLE11 = "scenarios/double11.yaml"
# Nov 1-20: the pre-event dip, Double-11 on the 11th-12th (base orders near or above
# the picking capacity), the hangover week.
D11_WINDOW = ["start_date=2026-11-01", "horizon_days=20", "warmup_days=0"]

SEARCH = {
    "name": "search",
    "max_extra_orders_per_day": 60,
    "half_saturation_spend": 4000,
    "hill_shape": 0.9,
    "event_multiplier": 2.0,
}
SOCIAL = {
    "name": "social",
    "max_extra_orders_per_day": 150,
    "half_saturation_spend": 9000,
    "hill_shape": 0.75,
    "event_multiplier": 1.5,
    "max_spend_per_day": 60000,
}
SALE = {"name": "flash_sale", "date": "2026-03-04", "days": 1, "uplift": 2.0, "discount": 0.25}


def tiny(tmp_path: Path, channels=(SEARCH, SOCIAL), days: int = 5, promotions=(SALE,), name: str = "tiny") -> Path:
    """A few-day scenario on the baseline shop (no picking model: no capacity limit)."""
    data = {
        "extends": str(ROOT / BASELINE),
        "name": name,
        "start_date": "2026-03-02",
        "horizon_days": days,
        "warmup_days": 0,
        "demand": {"channels": [dict(c) for c in channels], "promotions": list(promotions)},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def greedy(scenario, budget: float | None, segments: int = 24, period_days: int = 1):
    """Fill the segments in order of decreasing value (slope x gain x margin - 1) while it is positive.

    Optimal for separable concave curves under one budget row. Periods of ``period_days``
    days (with equal margins and no event inside, so a period is ``n`` copies of a day).
    Returns (objective, spend per channel, value of the last segment used, value of the
    first one left out).
    """
    inp = inputs_from(scenario)
    items = []
    for ch in scenario.demand.channels:
        c = pwl_curve(ch, segments)
        for a in range(0, inp.days, period_days):
            n = min(period_days, inp.days - a)
            gain = ch.event_multiplier if inp.event[a] else 1.0
            for w, sl in zip(c.widths, c.slopes):
                items.append((sl * gain * inp.margin[a] - 1.0, w * n, ch.name))
    items.sort(key=lambda t: -t[0])
    left = np.inf if budget is None else budget
    obj, spend, last, nxt = 0.0, {ch.name: 0.0 for ch in scenario.demand.channels}, None, 0.0
    for value, width, name in items:
        if value <= 0 or left <= 0:
            nxt = max(value, 0.0)
            break
        x = min(width, left)
        obj += x * value
        spend[name] += x
        left -= x
        last = value
    return obj, spend, last, nxt


def per_day(plan, days: int) -> pd.DataFrame:
    """Spend and predicted extra orders per (channel, day), periods spread evenly over their days."""
    rows = []
    for r in plan.spend.itertuples():
        first = (r.start - plan.spend.start.min()).days
        for d in range(first, first + r.days):
            rows.append({"channel": r.channel, "day": d, "spend": r.spend / r.days})
    return pd.DataFrame(rows)


def run_promotion(*args, cwd=ROOT):
    """``python run.py optimize promotion ARGS`` in a subprocess (helpers.run_cli)."""
    return run_cli("optimize", "promotion", *args, cwd=cwd)


# --------------------------------------------------------------------------- 1. the curve
CHANNELS = [Channel(**SEARCH), Channel(**SOCIAL), *list(load_scenario(DOUBLE11, D11_WINDOW).demand.channels)]


def dense_error(channel, curve) -> float:
    """Largest gap between the Hill curve and the chords, on a grid dense near zero (where h < 1 is steep)."""
    top = curve.breakpoints[-1]
    x = np.unique(np.concatenate([np.geomspace(top * 1e-7, top, 40001), np.linspace(0.0, top, 40001)]))
    args = (channel.max_extra_orders_per_day, channel.half_saturation_spend, channel.hill_shape)
    gap = hill_response(x, *args) - np.interp(x, curve.breakpoints, curve.orders)
    assert gap.min() >= -1e-9 * channel.max_extra_orders_per_day, "a chord lies above a concave curve"
    return float(gap.max())


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: c.name)
def test_pwl_curve_is_concave_exact_at_breakpoints_and_reports_its_error(channel):
    c = pwl_curve(channel, 24)
    args = (channel.max_extra_orders_per_day, channel.half_saturation_spend, channel.hill_shape)
    top = channel.max_spend_per_day if channel.max_spend_per_day is not None else 20 * channel.half_saturation_spend
    assert c.breakpoints[0] == 0.0 and c.orders[0] == 0.0
    assert c.breakpoints[-1] == pytest.approx(top)
    assert np.all(np.diff(c.breakpoints) > 0) and len(c.widths) == 24
    np.testing.assert_allclose(c.orders, hill_response(c.breakpoints, *args), rtol=1e-12, atol=1e-12)
    assert np.all(c.slopes > 0)
    assert np.all(np.diff(c.slopes) <= 1e-12 * c.slopes[0]), "slopes must not increase (concave)"
    true = dense_error(channel, c)
    assert c.max_error == pytest.approx(true, rel=0.01), "the reported error is the real largest gap"
    assert c.max_error < 0.01 * channel.max_extra_orders_per_day


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: c.name)
def test_pwl_error_shrinks_with_more_segments(channel):
    errors = [pwl_curve(channel, n).max_error for n in (6, 12, 24, 48, 96)]
    for coarse, fine in itertools.pairwise(errors):
        assert fine < 0.6 * coarse  # doubling the segments at least nearly halves the error
    assert errors[-1] == pytest.approx(dense_error(channel, pwl_curve(channel, 96)), rel=0.01)


def test_plan_reports_the_approximation_error(tmp_path):
    sc = load_scenario(tiny(tmp_path))
    plan = solve(sc, budget=5000)
    for ch in sc.demand.channels:
        err = pwl_curve(ch, 24).max_error
        assert plan.approx_error[ch.name] == pytest.approx(err)
        row = plan.channels.set_index("channel").loc[ch.name]
        assert row.approx_error_orders_per_day == pytest.approx(err)


# --------------------------------------------------------------------------- 2. greedy = LP
@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.7, 0.97, 2.0])
def test_lp_optimum_equals_greedy_filling_of_steepest_segments(tmp_path, fraction):
    """Two channels, five days with a discounted event day (lower margin, higher response)."""
    sc = load_scenario(tiny(tmp_path))
    inp = inputs_from(sc)
    assert np.all(np.isinf(inp.capacity)) and inp.event.sum() == 1
    assert inp.margin[inp.event][0] < inp.margin[~inp.event][0]  # the discount lowers the margin
    _, free_spend, _, _ = greedy(sc, None)
    budget = fraction * sum(free_spend.values())
    obj, spend, last, nxt = greedy(sc, budget)
    plan = solve(sc, budget=budget)
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(obj, rel=1e-7, abs=1e-4)
    got = plan.channels.set_index("channel").spend
    for name, value in spend.items():
        assert got[name] == pytest.approx(value, rel=1e-6, abs=1e-3)
    assert plan.spend.spend.sum() <= budget + 1e-6
    dual = plan.duals["budget_unit"]
    if fraction < 1:  # the budget binds: one more unit buys the value of the segment at the cut
        assert nxt - 1e-7 <= dual <= last + 1e-7
        assert "budget:all" in plan.binding
        marginal = plan.channels.marginal_return
        assert marginal.max() <= dual + 1e-7 and marginal.max() == pytest.approx(dual, rel=1e-6, abs=1e-9)
    else:
        assert dual == pytest.approx(0.0, abs=1e-9)
        assert np.all(plan.channels.marginal_return <= 1e-9)  # every profitable segment is bought


def test_weekly_periods_match_greedy_and_daily_plan_without_events(tmp_path):
    """No event, equal margins: a week is seven copies of a day, so week and day plans are worth the same."""
    sc = load_scenario(tiny(tmp_path, days=10, promotions=()))
    _, free_spend, _, _ = greedy(sc, None)
    for budget in (0.4 * sum(free_spend.values()), None):
        obj, spend, _, _ = greedy(sc, budget, period_days=7)
        week = solve(sc, budget=budget if budget is not None else 1e9, period="week")
        day = solve(sc, budget=budget if budget is not None else 1e9, period="day")
        assert list(week.spend.days.unique()) == [7, 3]
        assert week.objective == pytest.approx(obj, rel=1e-7, abs=1e-4)
        assert day.objective == pytest.approx(obj, rel=1e-7, abs=1e-4)
        for name, value in spend.items():
            assert week.channels.set_index("channel").spend[name] == pytest.approx(value, rel=1e-6, abs=1e-3)


def test_weekly_period_with_event_day_predicts_day_by_day(tmp_path):
    """A week holding an event: each day's orders carry that day's event multiplier and margin."""
    sc = load_scenario(tiny(tmp_path, days=10))
    inp = inputs_from(sc)
    plan = solve(sc, budget=8000, period="week")
    curves = {ch.name: pwl_curve(ch, 24) for ch in sc.demand.channels}
    chans = {ch.name: ch for ch in sc.demand.channels}
    for r in plan.spend.itertuples():
        a = (r.start - sc.start_date).days
        days = np.arange(a, a + r.days)
        g = np.where(inp.event[days], chans[r.channel].event_multiplier, 1.0)
        orders = g * np.interp(r.spend / r.days, curves[r.channel].breakpoints, curves[r.channel].orders)
        assert r.extra_orders == pytest.approx(orders.sum(), rel=1e-6, abs=1e-6)
        assert r.revenue == pytest.approx(np.dot(orders, inp.revenue_per_order[days]), rel=1e-6, abs=1e-4)
        assert r.profit == pytest.approx(np.dot(orders, inp.margin[days]) - r.spend, rel=1e-6, abs=1e-4)
    assert plan.objective == pytest.approx(plan.spend.profit.sum())


# --------------------------------------------------------------------------- 3. budgets and ROAS
@pytest.mark.parametrize("source", ["tiny", "double11"])
def test_more_budget_never_lowers_expected_profit(tmp_path, source):
    sc = load_scenario(tiny(tmp_path)) if source == "tiny" else load_scenario(DOUBLE11, D11_WINDOW)
    budgets = [0, 500, 2000, 5000, 10_000, 20_000, 40_000, 80_000, 160_000]
    plans = [solve(sc, budget=b) for b in budgets]
    profits = [p.objective for p in plans]
    duals = [p.duals["budget_unit"] for p in plans]
    assert profits[0] == pytest.approx(0.0, abs=1e-6) and profits[-1] > profits[1] > 0
    for lo, hi in itertools.pairwise(profits):
        assert hi >= lo - 1e-6
    for b, p in zip(budgets, plans):
        assert p.spend.spend.sum() <= b + 1e-6
    assert all(d >= -1e-9 for d in duals)
    for lo, hi in itertools.pairwise(duals):  # the value of budget is concave: its dual never rises
        assert hi <= lo + 1e-7
    assert duals[-1] == pytest.approx(0.0, abs=1e-9)  # the last budget is more than is worth spending


def test_budget_dual_is_the_profit_of_one_more_unit(tmp_path):
    sc = load_scenario(DOUBLE11, D11_WINDOW)
    a, b = solve(sc, budget=20_000), solve(sc, budget=20_010)
    assert a.duals["budget_unit"] > 0
    assert (b.objective - a.objective) / 10 == pytest.approx(a.duals["budget_unit"], rel=1e-4)


@pytest.mark.parametrize("source", ["tiny", "double11"])
@pytest.mark.parametrize("target", [1.5, 3.0, 4.5])
def test_target_roas_is_met(tmp_path, source, target):
    sc = load_scenario(tiny(tmp_path)) if source == "tiny" else load_scenario(DOUBLE11, D11_WINDOW)
    plan = solve(sc, target_roas=target)
    spend, revenue = plan.spend.spend.sum(), plan.spend.revenue.sum()
    assert spend > 0
    assert revenue / spend >= target - 1e-6
    assert plan.channels.revenue.sum() == pytest.approx(revenue)
    free = solve(sc, budget=1e9)
    assert plan.objective <= free.objective + 1e-6
    if free.spend.revenue.sum() / free.spend.spend.sum() < target:  # the target binds: ROAS exactly the target
        assert revenue / spend == pytest.approx(target, rel=1e-6)
        assert "roas" in plan.duals
    both = solve(sc, budget=0.5 * spend, target_roas=target)
    assert both.spend.spend.sum() <= 0.5 * spend + 1e-6
    assert both.spend.revenue.sum() / both.spend.spend.sum() >= target - 1e-6


def test_unreachable_target_roas_spends_nothing(tmp_path):
    """No segment returns 30 x its cost: the only plan with ROAS >= 30 is not to spend."""
    sc = load_scenario(tiny(tmp_path))
    inp = inputs_from(sc)
    best = max(pwl_curve(ch, 24).slopes[0] * max(ch.event_multiplier, 1.0) for ch in sc.demand.channels)
    assert best * inp.revenue_per_order.max() < 30
    plan = solve(sc, target_roas=30)
    assert plan.spend.spend.sum() == pytest.approx(0.0, abs=1e-6) and plan.objective == pytest.approx(0.0, abs=1e-6)


def test_low_target_roas_gives_the_unconstrained_optimum(tmp_path):
    sc = load_scenario(tiny(tmp_path))
    obj, spend, _, _ = greedy(sc, None)
    plan = solve(sc, target_roas=0.01)
    assert plan.objective == pytest.approx(obj, rel=1e-7)
    assert plan.spend.spend.sum() == pytest.approx(sum(spend.values()), rel=1e-6)


# --------------------------------------------------------------------------- 4. capacity
def day_totals(plan) -> pd.DataFrame:
    return plan.spend.groupby("period")[["spend", "extra_orders"]].sum()


def test_capacity_aware_plan_moves_spend_off_capacity_bound_days():
    sc = load_scenario(DOUBLE11, D11_WINDOW)
    inp = inputs_from(sc)
    assert np.all(np.isfinite(inp.capacity))
    free_aware = solve(sc, budget=1e9)
    budget = 0.5 * free_aware.spend.spend.sum()  # binds for both plans
    aware, blind = solve(sc, budget=budget), solve(sc, budget=budget, capacity="blind")
    assert aware.capacity_aware and not blind.capacity_aware
    a, b = day_totals(aware), day_totals(blind)
    assert a.spend.sum() == pytest.approx(budget) and b.spend.sum() == pytest.approx(budget)

    bound = inp.base_orders + b.extra_orders.to_numpy() > inp.capacity + 1e-6  # blind plan overfills these
    dates = np.array(inp.dates)
    assert {dt.isoformat() for dt in dates[bound]} >= {"2026-11-11", "2026-11-12"}
    assert a.extra_orders[bound].sum() < b.extra_orders[bound].sum() - 1
    assert a.spend[bound].sum() < b.spend[bound].sum() - 1
    assert a.spend[~bound].sum() > b.spend[~bound].sum() + 1  # ... and spends it on the other days
    assert blind.objective >= aware.objective - 1e-6  # the blind LP has fewer constraints

    # every day within capacity; where base orders alone exceed it, no extra orders are bought
    limit = np.maximum(inp.capacity, inp.base_orders)
    assert np.all(inp.base_orders + a.extra_orders.to_numpy() <= limit + 1e-6)
    assert np.all(a.extra_orders.to_numpy()[inp.base_orders >= inp.capacity] <= 1e-6)

    cap = aware.capacity_days
    assert len(cap) and set(cap.day) <= set(dates[bound])
    assert np.all(cap.value_per_order > 0)
    wc = inp.warehouses  # one more picker on the day's longest shift where the shop fills first
    for r in cap.itertuples():
        w, d = wc.names.index(r.warehouse), inp.dates.index(r.day)
        assert w == int(np.argmin(wc.capacity[:, d] / wc.share))
        hours = max(s.end_hour - s.start_hour for s in sc.warehouses[w].picking.shifts if r.day.weekday() in s.weekdays)
        assert r.shift_hours == hours
        assert r.value_per_picker_shift == pytest.approx(
            r.value_per_order * wc.orders_per_picker_shift[w, d] / wc.share[w]
        )
        assert wc.orders_per_picker_shift[w, d] == pytest.approx(
            wc.capacity[w, d] * hours / (24 * scheduled_picker_days(sc, sc.warehouses[w], inp.event)[d])
        )
    assert blind.capacity_days.empty


def test_capacity_dual_is_the_value_of_more_picking_capacity():
    """At 95% utilization Nov 11-12 have room left but bind; more capacity is worth the duals."""
    sc = load_scenario(DOUBLE11, D11_WINDOW)
    u, du = 0.95, 0.0005
    lo, hi = inputs_from(sc, u), inputs_from(sc, u + du)
    plan, more = solve(sc, budget=1e9, max_utilization=u), solve(sc, budget=1e9, max_utilization=u + du)
    cap = plan.capacity_days
    assert {d.isoformat() for d in cap.day} >= {"2026-11-11", "2026-11-12"}
    index = {d: i for i, d in enumerate(lo.dates)}

    def room(inp, i):
        return max(inp.capacity[i] - inp.base_orders[i], 0.0)

    predicted = sum(r.value_per_order * (room(hi, index[r.day]) - room(lo, index[r.day])) for r in cap.itertuples())
    assert predicted > 0
    assert more.objective - plan.objective == pytest.approx(predicted, rel=0.02)


def test_weekly_capacity_counts_event_multipliers_per_day():
    """A week with the event: the event days get more of the week's orders (multiplier), and must fit."""
    ov = ["start_date=2026-11-02", "horizon_days=21", "warmup_days=0"]
    sc = load_scenario(DOUBLE11, ov)
    inp = inputs_from(sc, 0.95)
    plan = solve(sc, budget=300_000, period="week", max_utilization=0.95)
    curves = {ch.name: pwl_curve(ch, 24) for ch in sc.demand.channels}
    extra = np.zeros(inp.days)
    for ch in sc.demand.channels:
        rows = per_day(plan, inp.days)
        x = rows[rows.channel == ch.name].set_index("day").spend.reindex(range(inp.days)).to_numpy()
        extra += np.where(inp.event, ch.event_multiplier, 1.0) * np.interp(
            x, curves[ch.name].breakpoints, curves[ch.name].orders
        )
    assert extra[inp.event].sum() > 1  # the event week is used
    assert np.all(inp.base_orders + extra <= np.maximum(inp.capacity, inp.base_orders) + 1e-6)
    assert extra.sum() == pytest.approx(plan.spend.extra_orders.sum(), rel=1e-6)


# --------------------------------------------------------------------------- 5. limits, infeasible
def test_channel_min_and_max_budgets_hold(tmp_path):
    sc0 = load_scenario(tiny(tmp_path))
    _, free, _, _ = greedy(sc0, None)
    lo, hi = float(round(2.0 * free["search"], 2)), float(round(0.5 * free["social"], 2))
    sc = load_scenario(
        tiny(tmp_path, channels=(dict(SEARCH, min_budget=lo), dict(SOCIAL, max_budget=hi)), name="limits")
    )
    plan = solve(sc, budget=1e9)
    got = plan.channels.set_index("channel").spend
    assert got["search"] == pytest.approx(lo, rel=1e-7)
    assert got["social"] == pytest.approx(hi, rel=1e-7)
    assert {"channel_min:search", "channel_max:social"} <= set(plan.binding)
    assert plan.objective < solve(sc0, budget=1e9).objective
    # a minimum paid out of a binding budget still holds
    tight = solve(sc, budget=lo + 0.1 * hi)
    assert tight.channels.set_index("channel").spend["search"] >= lo - 1e-6
    assert tight.spend.spend.sum() <= lo + 0.1 * hi + 1e-6


def test_period_caps_hold(tmp_path):
    sc = load_scenario(tiny(tmp_path))
    free = solve(sc, budget=1e9)
    cap = 0.5 * day_totals(free).spend.max()
    plan = solve(sc, budget=1e9, period_cap=cap)
    assert np.all(day_totals(plan).spend <= cap + 1e-6)
    assert any(n.startswith("period_cap:") for n in plan.binding)
    assert plan.objective < free.objective
    week = solve(load_scenario(DOUBLE11, D11_WINDOW), budget=1e9, period="week", period_cap=10_000)
    assert np.all(day_totals(week).spend <= 10_000 + 1e-6)


def test_stock_limit_holds(tmp_path):
    sc = load_scenario(tiny(tmp_path))
    inp = inputs_from(sc)
    free = solve(sc, budget=1e9)
    stock = 0.5 * free.spend.extra_orders.sum() * inp.units_per_order
    plan = solve(sc, budget=1e9, stock_units=stock)
    assert plan.spend.extra_orders.sum() * inp.units_per_order <= stock + 1e-6
    assert "stock:all" in plan.binding


def test_minimums_above_budget_are_infeasible_with_a_clear_message(tmp_path):
    sc = load_scenario(tiny(tmp_path, channels=(dict(SEARCH, min_budget=6000), dict(SOCIAL, min_budget=5000))))
    with pytest.raises(Infeasible, match=r"minimum spends add up to 11,000, above the budget 10,000"):
        solve(sc, budget=10_000)
    assert solve(sc, budget=11_000).spend.spend.sum() == pytest.approx(11_000, rel=1e-7)


@pytest.mark.parametrize(
    "case,kwargs,message",
    [
        (
            "min_above_max",
            dict(channels=(dict(SEARCH, min_budget=5000, max_budget=4000), SOCIAL)),
            r"channel search: min_budget 5,000 is above max_budget 4,000",
        ),
        (
            "min_above_spendable",
            dict(channels=(SEARCH, dict(SOCIAL, max_spend_per_day=100, min_budget=1000))),
            r"channel social: min_budget 1,000 is more than it can spend in 5 days at 100 a day",
        ),
    ],
)
def test_infeasible_lp_says_which_limit_is_at_fault(tmp_path, case, kwargs, message):
    sc = load_scenario(tiny(tmp_path, name=case, **kwargs))
    with pytest.raises(Infeasible, match=message):
        solve(sc, budget=1e6)


def test_infeasible_roas_period_cap_and_capacity_messages(tmp_path):
    sc = load_scenario(tiny(tmp_path, channels=(dict(SEARCH, min_budget=20_000), SOCIAL)))
    with pytest.raises(Infeasible, match=r"target ROAS 50 cannot be met"):
        solve(sc, target_roas=50)
    with pytest.raises(Infeasible, match=r"period caps allow \(5 periods x 1,000\)"):
        solve(sc, budget=1e6, period_cap=1000)
    d11 = load_scenario(DOUBLE11, [*D11_WINDOW, "demand.channels[1].min_budget=6000000"])
    with pytest.raises(Infeasible, match=r"more extra orders than the warehouses can pick"):
        solve(d11, budget=7e6)
    assert solve(d11, budget=7e6, capacity="blind").channels.set_index("channel").spend["livestream"] >= 6e6 - 1e-3


def test_minimums_under_binding_capacity_still_give_a_real_spend_plan():
    """Channel minimums force spend where capacity binds. An LP over segments could meet them by
    'buying' flat segments while skipping steep ones, predicting far fewer orders than the
    simulator's curve gives for that spend; the plan must fill every curve in order."""
    ov = [*D11_WINDOW, "demand.channels[0].min_budget=100000", "demand.channels[1].min_budget=1000000"]
    sc = load_scenario(DOUBLE11, ov)
    inp = inputs_from(sc)
    plan = solve(sc, budget=5e6)
    got = plan.channels.set_index("channel").spend
    assert got["search_ads"] >= 100_000 - 1e-3 and got["livestream"] >= 1_000_000 - 1e-3
    for ch in sc.demand.channels:  # predicted orders are the curve at the planned spend
        c = pwl_curve(ch, 24)
        for r in plan.spend[plan.spend.channel == ch.name].itertuples():
            g = ch.event_multiplier if inp.event[r.period] else 1.0
            assert r.extra_orders == pytest.approx(g * np.interp(r.spend, c.breakpoints, c.orders), rel=1e-5, abs=1e-3)
    applied = load_scenario(DOUBLE11, ov, overlays=[plan.to_overlay()])
    check_overlay(sc, applied, plan)
    slack = sum(max(ch.event_multiplier, 1.0) * pwl_curve(ch, 24).max_error for ch in sc.demand.channels)
    dp = demand_plan(applied)
    assert np.all(dp.rate <= np.maximum(inp.capacity, inp.base_orders) + slack + 0.01)


def test_cli_infeasible_exits_3_writes_nothing(tmp_path):
    out = tmp_path / "plan.yaml"
    r = run_promotion(
        BASELINE,
        "--set",
        "horizon_days=28",
        "--set",
        "warmup_days=0",
        "--set",
        "demand.channels[0].min_budget=100000",
        "--budget",
        50000,
        "--out",
        out,
    )
    assert r.returncode == 3, r.stderr
    assert "infeasible" in r.stderr and "minimum spends add up to 100,000, above the budget 50,000" in r.stderr
    assert "nothing was written" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert not out.exists() and not out.with_suffix(".csv").exists()
    assert list(tmp_path.iterdir()) == []
    # found by the LP (capacity), not by the up-front check
    r = run_promotion(
        DOUBLE11,
        *functools.reduce(operator.iadd, (["--set", s] for s in D11_WINDOW), []),
        "--set",
        "demand.channels[1].min_budget=6000000",
        "--budget",
        7e6,
        "--capacity",
        "hard",
        "--out",
        out,
    )
    assert r.returncode == 3, r.stderr
    assert "warehouses can pick" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "args",
    [["--budget", "1000", "--target-roas", "3"], ["--budget", "-5"], ["--period", "month"], ["--target-roas", "abc"]],
)
def test_cli_bad_arguments_exit_2(tmp_path, args):
    out = tmp_path / "plan.yaml"
    r = run_promotion(BASELINE, *args, "--out", out)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.strip()
    assert not out.exists()


# --------------------------------------------------------------------------- 6. the overlay
@pytest.mark.parametrize("period", ["day", "week"])
def test_overlay_reproduces_the_plan_in_the_simulator(tmp_path, period):
    path = tiny(tmp_path, days=12)
    sc = load_scenario(path)
    plan = solve(sc, budget=6000, period=period)
    overlay = plan.to_overlay()
    assert overlay["plan_info"]["kind"] == "promotion"
    yaml.safe_load(yaml.safe_dump(overlay))  # plain data
    applied = load_scenario(path, overlays=[overlay])
    check_overlay(sc, applied, plan)


def check_overlay(sc, applied, plan):
    """The simulator's spend equals the plan per channel and day; its Hill orders match the prediction."""
    inp = inputs_from(sc)
    dp = demand_plan(applied)
    rows = per_day(plan, inp.days)
    pred_extra = np.zeros(inp.days)
    slack = 0.0
    for ci, ch in enumerate(sc.demand.channels):
        want = rows[rows.channel == ch.name].set_index("day").spend.reindex(range(inp.days)).to_numpy()
        np.testing.assert_allclose(dp.spend[ci], want, atol=0.0051)  # rounded to cents per day
        c = pwl_curve(ch, 24)
        gain = np.where(inp.event, ch.event_multiplier, 1.0)
        pred_extra += gain * np.interp(want, c.breakpoints, c.orders)
        slack += gain.max() * c.max_error
    assert pred_extra.sum() == pytest.approx(plan.spend.extra_orders.sum(), rel=1e-6, abs=1e-6)
    diff = dp.marketing_orders - pred_extra  # Hill above its chords, by at most the reported error
    assert np.all(diff >= -0.01) and np.all(diff <= slack + 0.01)
    np.testing.assert_allclose(dp.base_rate, inp.base_orders)


def test_overlay_on_double11_replaces_event_spend_and_schedules():
    sc = load_scenario(DOUBLE11, D11_WINDOW)
    assert demand_plan(sc).spend.sum() > 0
    plan = solve(sc, budget=40_000)
    applied = load_scenario(DOUBLE11, D11_WINDOW, overlays=[plan.to_overlay()])
    check_overlay(sc, applied, plan)
    for ch in applied.demand.channels:
        assert ch.spend_per_day == 0 and ch.event_spend_per_day == 0
    res = simulate(applied, 1)  # the simulator itself spends the plan
    np.testing.assert_allclose(res.daily["marketing_spend"].to_numpy(), day_totals(plan).spend.to_numpy(), atol=0.011)


def test_cli_writes_overlay_that_simulate_accepts(tmp_path):
    out = tmp_path / "plan.yaml"
    r = run_promotion(
        DOUBLE11,
        *functools.reduce(operator.iadd, (["--set", s] for s in D11_WINDOW), []),
        "--budget",
        40000,
        "--out",
        out,
    )
    assert r.returncode == 0, r.stderr
    assert "priced-capacity promotion plan" in r.stdout
    assert "on 2026-11-11 at east_dc: one more picker on its 8-hour shift is worth" in r.stdout
    csv = pd.read_csv(out.with_suffix(".csv"))
    assert csv.spend.sum() == pytest.approx(40_000, rel=1e-6)
    applied = load_scenario(DOUBLE11, D11_WINDOW, [out])
    np.testing.assert_allclose(
        demand_plan(applied).spend.sum(axis=0), csv.groupby("period").spend.sum().to_numpy(), atol=0.011
    )
    info = yaml.safe_load(out.read_text())["plan_info"]
    assert info["capacity"] == "priced" and info["capacity_aware"] is True


# --------------------------------------------------------------------------- 7. verification
def extra_orders_predicted(plan, scenario) -> float:
    first = scenario.start_date + pd.Timedelta(days=scenario.warmup_days)
    return float(plan.spend[plan.spend.start >= first].extra_orders.sum())


def test_deterministic_arrivals_give_the_predicted_extra_orders():
    """With deterministic arrivals the order count is the integral of the rate: no noise at all."""
    ov = ["horizon_days=120", "demand.arrivals=deterministic", "demand.channels[0].min_budget=360000"]
    sc = load_scenario(BASELINE, ov)
    plan = solve(sc, budget=360_000)
    none = {
        "demand": {
            "channels": [dict(sc.demand.channels[0].model_dump(mode="json", exclude_none=True), spend_per_day=0.0)]
        }
    }
    with_plan = simulate(load_scenario(BASELINE, ov, overlays=[plan.to_overlay()]), 1).kpis["orders"]
    without = simulate(load_scenario(BASELINE, ov, overlays=[none]), 1).kpis["orders"]
    predicted = extra_orders_predicted(plan, sc)
    err = pwl_curve(sc.demand.channels[0], 24).max_error * (sc.horizon_days - sc.warmup_days)
    assert predicted > 1000
    assert predicted - 2 <= with_plan - without <= predicted + err + 2


@pytest.mark.slow
def test_simulated_extra_orders_within_5_percent_of_predicted():
    """baseline, 120 days, a budget of 3,000 a day that must be spent (min_budget), no capacity limit.

    Base orders are lowered to 100 a day: the noise of the difference comes from the base
    orders (Poisson), so this sharpens the test without touching the marketing response.
    """
    ov = ["horizon_days=120", "demand.base_orders_per_day=100", "demand.channels[0].min_budget=360000"]
    sc = load_scenario(BASELINE, ov)
    plan = solve(sc, budget=360_000)
    none = {
        "demand": {
            "channels": [dict(sc.demand.channels[0].model_dump(mode="json", exclude_none=True), spend_per_day=0.0)]
        }
    }
    planned, zero = (
        load_scenario(BASELINE, ov, overlays=[plan.to_overlay()]),
        load_scenario(BASELINE, ov, overlays=[none]),
    )
    extra = []
    for r in range(10):
        seed = replication_seed(sc.seed, r)
        extra.append(simulate(planned, seed).kpis["orders"] - simulate(zero, seed).kpis["orders"])
    predicted = extra_orders_predicted(plan, sc)
    ci = mean_ci(extra)
    lo, hi = ci.mean - ci.half_width, ci.mean + ci.half_width
    assert predicted > 2000
    assert hi >= 0.95 * predicted and lo <= 1.05 * predicted, (predicted, ci)
    assert ci.half_width < 0.1 * predicted  # the test has the power to see a 5% error


@pytest.mark.slow
def test_cli_verify_compares_the_three_plans_at_each_late_price(tmp_path):
    r = run_promotion(
        DOUBLE11,
        "--set",
        "start_date=2026-10-25",
        "--set",
        "horizon_days=28",
        "--set",
        "warmup_days=5",
        "--budget",
        60000,
        "--verify",
        2,
        "--late-price",
        "30,10",
        "--results",
        tmp_path,
        "--quiet",
    )
    assert r.returncode == 0, r.stderr
    assert "late price 10 per late order:" in r.stdout and "late price 30 per late order:" in r.stdout
    for label in (
        "predicted profit, marketing",
        "profit from marketing",
        "late orders",
        "priced - blind",
        "priced - hard",
    ):
        assert label in r.stdout
    (folder,) = (tmp_path / "double11").iterdir()
    table = pd.read_csv(folder / "late_price.csv")
    assert sorted(set(table.late_price)) == [10, 30] and set(table.plan) == {"priced", "hard", "blind"}
    runs = pd.read_csv(folder / "runs.csv")
    # each distinct plan is simulated once per replication (plus no marketing), priced at every late price
    assert len(runs) == 2 * runs.variant.nunique() and runs.variant.nunique() <= 3 * 2 + 1
    blind = table[table.plan == "blind"].set_index("late_price")
    assert (folder / "late_price.png").stat().st_size > 10_000
    diffs = pd.read_csv(folder / "differences.csv")
    assert set(diffs.versus) == {"blind", "hard"} and len(diffs) == 4
    assert np.all(blind.late_orders >= 0)


# ---------------------------------------------------------------- the variable costs of an extra order
def test_replenishment_cost_of_one_more_unit_is_the_eoq_slope():
    """classroom_eoq: D = 36,500 a year, K = 100, h = 7.3: EOQ cost sqrt(2 K D h) has slope sqrt(K h / 2D) = 0.1."""
    sc = load_scenario("scenarios/classroom_eoq.yaml")
    assert replenishment_cost_per_unit(sc) == pytest.approx(np.sqrt(100 * 7.3 / (2 * 36_500)), rel=0.02)
    # a fixed order quantity: one more unit costs its share of an order, K / Q, and no more stock
    fixed = load_scenario("scenarios/classroom_eoq.yaml", ["inventory.policy.order_quantity=500"])
    assert replenishment_cost_per_unit(fixed) == pytest.approx(100 / 500, rel=1e-9)


@pytest.mark.slow
def test_predicted_profit_from_marketing_matches_the_simulation():
    """multi_warehouse with carriers, stock and a price on late orders, no capacity binding: the LP's
    profit from marketing (gross margin - fulfilment - replenishment - late deliveries - spend)
    agrees with the simulated difference to a run without marketing, within 10%."""
    ov = [
        "horizon_days=150",
        "inventory.costs.late_delivery_cost_per_order=10",
        "demand.channels[0].max_extra_orders_per_day=200",
    ]
    sc = load_scenario("scenarios/multi_warehouse.yaml", ov)
    plan = solve(sc, budget=450_000)
    assert set(plan.costs_per_order) == {"fulfilment", "replenishment", "late_delivery"}
    assert plan.costs_per_order["replenishment"] > 0 and plan.costs_per_order["late_delivery"] > 0
    none = {
        "demand": {
            "channels": [dict(sc.demand.channels[0].model_dump(mode="json", exclude_none=True), spend_per_day=0.0)]
        }
    }
    planned = load_scenario("scenarios/multi_warehouse.yaml", ov, overlays=[plan.to_overlay()])
    zero = load_scenario("scenarios/multi_warehouse.yaml", ov, overlays=[none])
    diffs = [
        simulate(planned, replication_seed(sc.seed, r)).kpis["profit"]
        - simulate(zero, replication_seed(sc.seed, r)).kpis["profit"]
        for r in range(6)
    ]
    first = sc.start_date + pd.Timedelta(days=sc.warmup_days)
    predicted = float(plan.spend[plan.spend.start >= first].profit.sum())
    ci = mean_ci(diffs)
    assert predicted > 20_000
    assert ci.half_width < 0.1 * predicted  # sharp enough to see a 10% error
    assert abs(ci.mean - predicted) <= 0.1 * predicted, (predicted, ci)
