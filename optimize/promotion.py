"""Marketing budget per channel and period that respects what the warehouses can ship.

Each channel c buys extra orders per day with the simulator's own Hill curve
(``sim.model.demand.hill_response``), concave for shapes h <= 1, times its
``event_multiplier`` on promotion-event days. The LP replaces it by a
concave piecewise-linear curve through ``segments`` breakpoints spaced evenly in
orders (so the steep start is covered densely); the largest gap between curve and
chords is reported as the approximation error. Spending x on a period of n days
means x/n per day; a period's extra orders are sum_d g_d x curve(x/n), g_d the day's multiplier.

    maximize   sum_{c,p,k} seg[c,p,k] (slope_k x margin_p) - sum spend
    subject to seg[c,p,k] <= width_k x n_p                 (segment sizes)
               sum spend <= budget                          budget:all
               revenue - target_roas x spend >= 0           roas:all (instead of, or with, a budget)
               min_c <= sum_p spend[c,p] <= max_c           channel_min:c / channel_max:c
               sum_c spend[c,p] <= period cap               period_cap:p
               base orders_d + extra orders_d <= capacity_d capacity:DAY  (picking, per day)
               extra units over the horizon <= stock        stock:all

margin_p = expected gross margin of an order on those days (prices after the event
discount, at unit cost) minus the variable costs an extra order brings: fulfilment under
the scenario's own routing rules (``fulfilment_cost_per_order``: carrier by rule, lane
price by weight, plus handling), replenishment (``replenishment_cost_per_unit``: more
orders to suppliers and more stock under the scenario's reorder rules) and late
delivery (``late_delivery_cost_per_order`` x the share of orders late in a pilot run). Picking capacity of a day is
the scheduled picker-seconds / seconds per order x ``max_utilization`` (default 1: a
day's expected orders within what that day's pickers can pick; a lower value keeps
headroom for the queueing within the day); each
warehouse serves its regions' share of the orders, so the shop's capacity on a day
is the order rate at which the first warehouse is full (min over w of cap_w / share_w). Duals: the value of one more unit of budget, and of one more order of
picking capacity on a day (also per picker-shift).

>>> from sim.scenario.loader import load_scenario
>>> plan = solve(load_scenario("scenarios/baseline.yaml", ["horizon_days=56"]), budget=50_000, period="week")
>>> plan.status, round(plan.spend.spend.sum()) <= 50_000
('optimal', True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pulp

from optimize.promotion_inputs import (
    Inputs,
    fulfilment_cost_per_order,
    inputs_from,
    pilot_late_share,
    replenishment_cost_per_unit,
    shop_capacity,
)
from optimize.solver import Infeasible, Solution
from optimize.solver import solve as run_solver
from sim.model.demand import channel_ceiling, hill_inverse, hill_response
from sim.scenario.schema import Scenario

__all__ = [
    "Curve",
    "Inputs",
    "PromotionPlan",
    "fulfilment_cost_per_order",
    "inputs_from",
    "pilot_late_share",
    "pwl_curve",
    "replenishment_cost_per_unit",
    "shop_capacity",
    "solve",
]


@dataclass(frozen=True)
class Curve:
    """Concave piecewise-linear approximation of one channel's daily response."""

    breakpoints: np.ndarray  # spend per day
    orders: np.ndarray  # extra orders per day at the breakpoints
    max_error: float  # largest gap (orders/day) between curve and chords

    @property
    def widths(self) -> np.ndarray:
        """Spend per day of each segment."""
        return np.diff(self.breakpoints)

    @property
    def slopes(self) -> np.ndarray:
        """Extra orders per unit of spend on each segment (decreasing: the curve is concave)."""
        return np.diff(self.orders) / np.maximum(np.diff(self.breakpoints), 1e-12)


def pwl_curve(channel, segments: int = 24, demand_scale: float = 1.0) -> Curve:
    """``demand_scale``: the scenario's ``demand.scale`` (it multiplies the response ceiling)."""
    top = channel.max_spend_per_day if channel.max_spend_per_day is not None else 20 * channel.half_saturation_spend
    args = (channel_ceiling(channel, demand_scale), channel.half_saturation_spend, channel.hill_shape)
    y_top = hill_response(top, *args)
    ys = np.linspace(0.0, y_top, segments + 1)
    xs = hill_inverse(ys, *args)
    xs[-1] = top
    ys = hill_response(xs, *args)
    # the error is measured inside every segment: a grid over [0, top] misses the first
    # segment, which is short in spend but carries the largest gap for shapes h < 1
    t = np.linspace(0.0, 1.0, 257)
    fine = xs[:-1, None] + np.diff(xs)[:, None] * t
    chords = ys[:-1, None] + np.diff(ys)[:, None] * t
    return Curve(breakpoints=xs, orders=ys, max_error=float(np.max(np.abs(hill_response(fine, *args) - chords))))


@dataclass
class PromotionPlan:
    """The best spend plan: spend per channel and period, its predicted orders and profit, duals."""

    spend: pd.DataFrame  # channel, period, start, end, days, spend, extra_orders, revenue, profit
    channels: pd.DataFrame  # channel, spend, extra_orders, revenue, roas, marginal_return
    objective: float  # expected profit from marketing (after spend)
    status: str
    seconds: float
    capacity_aware: bool
    approx_error: dict[str, float]
    duals: dict[str, float] = field(default_factory=dict)
    binding: list[str] = field(default_factory=list)
    capacity_days: pd.DataFrame | None = None  # day, value per order, value per picker-shift
    channel_specs: list = field(default_factory=list)
    solve_seconds: float = 0.0  # of ``seconds``, the time inside the solver (the rest builds the model)
    costs_per_order: dict = field(default_factory=dict)  # variable costs of an extra order in the margin

    def to_overlay(self) -> dict:
        """The channels with a spend schedule per period (lists replace the scenario's channels)."""
        out = []
        for ch in self.channel_specs:
            spec = ch.model_dump(mode="json", exclude_none=True)
            spec.update({"spend_per_day": 0.0, "event_spend_per_day": 0.0, "schedule": self._schedule(ch.name)})
            out.append(spec)
        return {
            "plan_info": {
                "kind": "promotion",
                "status": self.status,
                "capacity_aware": self.capacity_aware,
                "expected_profit": round(self.objective, 2),
                "duals": {k: round(v, 6) for k, v in self.duals.items()},
            },
            "demand": {"channels": out},
        }

    def _schedule(self, channel: str) -> list[dict]:
        """Spend per day of one channel as periods (start, end, spend_per_day); equal neighbours merged."""
        rows = self.spend[self.spend.channel == channel].sort_values("start")
        schedule: list[dict] = []
        for r in rows.itertuples():
            per_day = round(float(r.spend) / r.days, 2)
            if schedule and schedule[-1]["spend_per_day"] == per_day:
                schedule[-1]["end"] = r.end.isoformat()
            else:
                schedule.append({"start": r.start.isoformat(), "end": r.end.isoformat(), "spend_per_day": per_day})
        return schedule


def _period_values(inp: Inputs, channel, a: int, b: int) -> tuple[float, float, float, np.ndarray]:
    """Mean response gain of days a..b-1 and the margin and revenue of one of the channel's extra orders there.

    Spend is spread evenly over the period, so day d gets the share g_d / sum(g) of the
    period's extra orders (g_d: the channel's event multiplier on event days, else 1);
    margin and revenue per order are averaged with those shares. Returns (mean gain,
    margin, revenue, shares).
    """
    g = np.where(inp.event[a:b], channel.event_multiplier, 1.0)
    share = g / g.sum() if g.sum() > 0 else np.full(b - a, 1.0 / (b - a))
    return (
        float(g.mean()),
        float(np.dot(share, inp.margin[a:b])),
        float(np.dot(share, inp.revenue_per_order[a:b])),
        share,
    )


def _periods(inputs: Inputs, period: str) -> list[tuple[int, int]]:
    """(first day, last day + 1) of each planning period: single days, or weeks from day 0."""
    if period == "day":
        return [(d, d + 1) for d in range(inputs.days)]
    return [(d, min(d + 7, inputs.days)) for d in range(0, inputs.days, 7)]


Segments = dict[tuple[int, int, int], tuple[pulp.LpVariable, float, float]]
"""(channel, period, segment) -> (spend variable, extra orders per unit of spend, margin per order)."""


@dataclass
class _Model:
    """The promotion LP with what is needed to add rows and to read the plan back."""

    prob: pulp.LpProblem
    seg: Segments
    rev_order: dict[tuple[int, int], float]  # (channel, period) -> revenue of one extra order
    day_share: dict[tuple[int, int], np.ndarray]  # (channel, period) -> share of the extra orders on each day

    orders: dict[tuple[int, int], list[tuple[pulp.LpVariable, float]]]  # (channel, period) -> (spend, orders/spend)

    def spend_vars(self, ci: int, pi: int) -> list[pulp.LpVariable]:
        """The segment spend variables of channel ``ci`` in period ``pi``, steepest first."""
        return [v for v, _ in self.orders[ci, pi]]


def _segments(inp: Inputs, channels, curves: dict[str, Curve], periods) -> _Model:
    """One bounded spend variable per segment of each channel's curve in each period (size = width x days)."""
    seg: Segments = {}
    rev_order, day_share, orders = {}, {}, {}
    for ci, ch in enumerate(channels):
        cv = curves[ch.name]
        for pi, (a, b) in enumerate(periods):
            n = b - a
            gain, m, r, share = _period_values(inp, ch, a, b)
            rev_order[ci, pi], day_share[ci, pi] = r, share
            for k, (w, sl) in enumerate(zip(cv.widths, cv.slopes)):
                v = pulp.LpVariable(f"s_{ci}_{pi}_{k}", 0, float(w * n))
                seg[ci, pi, k] = (v, float(sl) * gain, m)
            orders[ci, pi] = [(seg[ci, pi, k][0], seg[ci, pi, k][1]) for k in range(len(cv.widths))]
    return _Model(pulp.LpProblem("promotion", pulp.LpMaximize), seg, rev_order, day_share, orders)


def _add_spend_rows(model: _Model, channels, n_periods: int, budget, target_roas, period_cap) -> None:
    """budget:all, roas:all, channel_min:c / channel_max:c and period_cap:p rows."""
    prob, seg = model.prob, model.seg
    if budget is not None:
        prob += pulp.LpAffineExpression([(v, 1.0) for v, _, _ in seg.values()]) <= budget, "budget:all"
    if target_roas is not None:
        rev = [(v, sl * model.rev_order[ci, pi] - target_roas) for (ci, pi, k), (v, sl, m) in seg.items()]
        prob += pulp.LpAffineExpression(rev) >= 0, "roas:all"
    for ci, ch in enumerate(channels):
        total = pulp.LpAffineExpression([(v, 1.0) for pi in range(n_periods) for v in model.spend_vars(ci, pi)])
        if ch.min_budget > 0:
            prob += total >= ch.min_budget, f"channel_min:{ch.name}"
        if ch.max_budget is not None:
            prob += total <= ch.max_budget, f"channel_max:{ch.name}"
    if period_cap is not None:
        for pi in range(n_periods):
            spend = pulp.LpAffineExpression([(v, 1.0) for ci in range(len(channels)) for v in model.spend_vars(ci, pi)])
            prob += spend <= period_cap, f"period_cap:{pi}"


def _add_capacity_rows(model: _Model, inp: Inputs, periods, n_channels: int) -> None:
    """capacity:DAY rows: base orders + extra orders of the day within what the warehouses can pick."""
    for pi, (a, b) in enumerate(periods):
        for d in range(a, b):
            room = inp.capacity[d] - inp.base_orders[d]
            if not np.isfinite(room):
                continue
            expr = pulp.LpAffineExpression(
                [(v, sl * model.day_share[ci, pi][d - a]) for ci in range(n_channels) for v, sl in model.orders[ci, pi]]
            )
            model.prob += expr <= max(room, 0.0), f"capacity:{d}"  # day index (PuLP rewrites '-' in names)


def _build_model(
    scenario: Scenario,
    inp: Inputs,
    curves: dict[str, Curve],
    periods,
    budget: float | None,
    target_roas: float | None,
    period_cap: float | None,
    capacity_aware: bool,
    stock_units: float | None,
) -> _Model:
    """The LP of the module docstring: objective, spend rows, capacity rows, stock row."""
    channels = scenario.demand.channels
    model = _segments(inp, channels, curves, periods)
    prob, seg = model.prob, model.seg
    prob += pulp.LpAffineExpression([(v, sl * m - 1.0) for v, sl, m in seg.values()])
    _add_spend_rows(model, channels, len(periods), budget, target_roas, period_cap)
    if capacity_aware:
        _add_capacity_rows(model, inp, periods, len(channels))
    if stock_units is not None:
        units = pulp.LpAffineExpression([(v, sl * inp.units_per_order) for v, sl, m in seg.values()])
        prob += units <= stock_units, "stock:all"
    return model


def _check_request(scenario: Scenario, budget: float | None, target_roas: float | None) -> None:
    """Refuse requests that cannot make a plan before any model is built."""
    channels = scenario.demand.channels
    if not channels:
        raise ValueError("the scenario has no marketing channels (demand.channels)")
    if budget is None and target_roas is None:
        raise ValueError("give a budget or a target ROAS")
    mins = sum(c.min_budget for c in channels)
    if budget is not None and mins > budget + 1e-9:
        raise Infeasible(f"channel minimum spends add up to {mins:,.0f}, above the budget {budget:,.0f}", "budget")


def solve(
    scenario: Scenario,
    budget: float | None = None,
    target_roas: float | None = None,
    period: str = "day",
    capacity_aware: bool = True,
    period_cap: float | None = None,
    stock_units: float | None = None,
    segments: int = 24,
    max_utilization: float = 1.0,
    time_limit: float = 120.0,
    late_share: float | None = None,
) -> PromotionPlan:
    """Best spend plan; raises Infeasible (e.g. channel minimums above the budget).

    Build (:func:`_build_model`) -> solve with segments filled in order (:func:`_solve_in_order`)
    -> read back (:func:`_plan`).
    """
    _check_request(scenario, budget, target_roas)
    channels = scenario.demand.channels
    inp = inputs_from(scenario, max_utilization, late_share=late_share)
    curves = {c.name: pwl_curve(c, segments, scenario.demand.scale) for c in channels}
    periods = _periods(inp, period)
    t0 = time.perf_counter()
    model = _build_model(scenario, inp, curves, periods, budget, target_roas, period_cap, capacity_aware, stock_units)

    def explain() -> str:
        return _explain(scenario, budget, target_roas, inp, curves, periods, period_cap)

    sol = _solve_in_order(model, channels, curves, periods, time_limit, t0, explain)
    return _plan(scenario, inp, curves, periods, model.seg, sol, capacity_aware, time.perf_counter() - t0)


def _solve_in_order(model: _Model, channels, curves, periods, time_limit: float, t0: float, explain) -> Solution:
    """Solve the LP; where a channel minimum makes it use segments out of order, force the order and solve again.

    A channel minimum can force spend where capacity or stock binds: the LP then buys flat
    segments and skips steep ones, which no real spend level does (the simulator would see
    curve(spend), many more orders). Where that happens, segments are made to fill in order
    (binary z = 1 when segment k is full; only then may segment k+1 be used) and the model
    is solved again, until every (channel, period) fills in order: the answer is then
    optimal for the exact piecewise-linear curves. ``explain()`` words an infeasible model.
    """
    sol = run_solver(model.prob, time_limit)
    if sol.status == "infeasible":
        raise Infeasible(explain())
    ordered: set[tuple[int, int]] = set()
    while bad := [cp for cp in _out_of_order(model.seg, curves, channels, periods) if cp not in ordered]:
        ordered.update(bad)
        _fill_in_order(model, channels, curves, periods, bad)
        sol = run_solver(model.prob, max(time_limit - (time.perf_counter() - t0), 1.0))
        if sol.status == "infeasible":
            raise Infeasible(explain())
        if sol.status not in ("optimal", "time_limit"):
            raise Infeasible(
                f"channel minimums force spend where the warehouses or the stock are full, and the "
                f"exact model was not solved within {time_limit:g} s ({sol.status}); lower the "
                f"channel minimums or shorten the horizon",
                "time_limit",
            )
    return sol


def _fill_in_order(model: _Model, channels, curves, periods, pairs: list[tuple[int, int]]) -> None:
    """Binaries making the segments of each (channel, period) in ``pairs`` fill steepest first."""
    prob, seg = model.prob, model.seg
    for ci, pi in pairs:
        w, n = curves[channels[ci].name].widths, periods[pi][1] - periods[pi][0]
        for k in range(len(w) - 1):
            z = pulp.LpVariable(f"z_{ci}_{pi}_{k}", cat=pulp.LpBinary)
            prob += seg[ci, pi, k][0] >= float(w[k] * n) * z, f"order:full_{ci}_{pi}_{k}"
            prob += seg[ci, pi, k + 1][0] <= float(w[k + 1] * n) * z, f"order:next_{ci}_{pi}_{k}"


def _out_of_order(seg, curves, channels, periods) -> list[tuple[int, int]]:
    """(channel, period) pairs that use a segment while an earlier, steeper one is not full."""
    out = []
    for ci, ch in enumerate(channels):
        w = curves[ch.name].widths
        for pi, (a, b) in enumerate(periods):
            used = np.array([seg[ci, pi, k][0].value() or 0.0 for k in range(len(w))])
            cap = w * (b - a)
            short = used < cap - 1e-6 * np.maximum(cap, 1.0)
            first = int(np.argmax(short))
            if short.any() and np.any(used[first + 1 :] > 1e-6 * np.maximum(cap[first + 1 :], 1.0)):
                out.append((ci, pi))
    return out


# ------------------------------------------------------------------ reading the plan back
def _spend_table(channels, inp: Inputs, curves, periods, seg: Segments) -> pd.DataFrame:
    """One row per (channel, period): spend, extra orders, revenue and profit of the solved plan."""
    rows = []
    for ci, ch in enumerate(channels):
        cv = curves[ch.name]
        for pi, (a, b) in enumerate(periods):
            amounts = np.array([seg[ci, pi, k][0].value() or 0.0 for k in range(len(cv.widths))])
            spend = float(amounts.sum())
            extra = float(np.dot(amounts, [seg[ci, pi, k][1] for k in range(len(cv.widths))]))
            _, margin, rev_order, _ = _period_values(inp, ch, a, b)
            rows.append(
                {
                    "channel": ch.name,
                    "period": pi,
                    "start": inp.dates[a],
                    "end": inp.dates[b - 1],
                    "days": b - a,
                    "spend": spend,
                    "extra_orders": extra,
                    "revenue": extra * rev_order,
                    "profit": extra * margin - spend,
                }
            )
    return pd.DataFrame(rows)


def _marginal_return(ci: int, cv: Curve, periods, seg: Segments, sol: Solution) -> float:
    """Profit of the next unit of spend where it is best used in channel ``ci`` (0 if nowhere)."""
    best = 0.0
    for pi, (a, b) in enumerate(periods):
        if any(abs(sol.slacks.get(f"capacity:{d}", 1.0)) < 1e-7 for d in range(a, b)):
            continue  # the warehouses are full on these days: no spend can be added there
        used = [seg[ci, pi, k][0].value() or 0.0 for k in range(len(cv.widths))]
        free = [k for k in range(len(cv.widths)) if used[k] < cv.widths[k] * (b - a) - 1e-9]
        if free:
            best = max(best, seg[ci, pi, free[0]][1] * seg[ci, pi, free[0]][2] - 1.0)
    return best


def _channel_table(channels, spend: pd.DataFrame, curves, periods, seg: Segments, sol: Solution) -> pd.DataFrame:
    """One row per channel: totals, ROAS, marginal return and the curve's approximation error."""
    per_channel = []
    for ci, ch in enumerate(channels):
        part = spend[spend.channel == ch.name]
        cv = curves[ch.name]
        per_channel.append(
            {
                "channel": ch.name,
                "spend": part.spend.sum(),
                "extra_orders": part.extra_orders.sum(),
                "revenue": part.revenue.sum(),
                "roas": part.revenue.sum() / part.spend.sum() if part.spend.sum() > 0 else np.nan,
                "marginal_return": _marginal_return(ci, cv, periods, seg, sol),
                "approx_error_orders_per_day": cv.max_error,
            }
        )
    return pd.DataFrame(per_channel)


def _capacity_table(inp: Inputs, sol: Solution) -> pd.DataFrame:
    """Days whose picking capacity binds: the value of one more order (and picker-shift) of capacity."""
    cap_rows = []
    for name, dual in sol.duals.items():
        if name.startswith("capacity:") and abs(dual) > 1e-9:
            day = inp.dates[int(name.split(":", 1)[1])]
            d = int(name.split(":", 1)[1])
            cap_rows.append(
                {
                    "day": day,
                    "value_per_order": dual,
                    "value_per_picker_shift": dual * inp.orders_per_picker_shift,
                    # base orders alone already over capacity: that much capacity serves them first
                    "base_over_capacity": max(float(inp.base_orders[d] - inp.capacity[d]), 0.0),
                }
            )
    return pd.DataFrame(cap_rows)


def _plan(scenario, inp, curves, periods, seg, sol, capacity_aware, seconds) -> PromotionPlan:
    """The solved LP as a :class:`PromotionPlan`."""
    channels = scenario.demand.channels
    spend = _spend_table(channels, inp, curves, periods, seg)
    duals = {"budget_unit": sol.duals.get("budget:all", 0.0)}
    if "roas:all" in sol.duals:
        duals["roas"] = sol.duals["roas:all"]
    return PromotionPlan(
        spend=spend,
        channels=_channel_table(channels, spend, curves, periods, seg, sol),
        objective=float(spend.profit.sum()),
        status=sol.status,
        seconds=seconds,
        capacity_aware=capacity_aware,
        approx_error={c: curves[c].max_error for c in curves},
        duals=duals,
        binding=[n for n in sol.binding() if not n.startswith(("capacity:", "order:"))][:20],
        capacity_days=_capacity_table(inp, sol),
        channel_specs=list(channels),
        solve_seconds=sol.seconds,
        costs_per_order=dict(inp.costs_per_order),
    )


def _explain(scenario, budget, target_roas, inp, curves, periods, period_cap=None) -> str:
    channels = scenario.demand.channels
    mins = sum(c.min_budget for c in channels)
    for ch in channels:
        if ch.max_budget is not None and ch.min_budget > ch.max_budget:
            return f"channel {ch.name}: min_budget {ch.min_budget:,.0f} is above max_budget {ch.max_budget:,.0f}"
        top = float(curves[ch.name].breakpoints[-1])
        if ch.min_budget > top * inp.days + 1e-9:
            return (
                f"channel {ch.name}: min_budget {ch.min_budget:,.0f} is more than it can spend in "
                f"{inp.days} days at {top:,.0f} a day (max_spend_per_day, default 20 x half_saturation_spend)"
            )
    if period_cap is not None and mins > period_cap * len(periods) + 1e-9:
        return (
            f"the channel minimums (total {mins:,.0f}) are above what the period caps allow "
            f"({len(periods)} periods x {period_cap:,.0f})"
        )
    if target_roas is not None:
        return (
            f"target ROAS {target_roas:g} cannot be met together with the channel minimums "
            f"(total {mins:,.0f}): the curves' average return is too low"
        )
    return "the channel minimums need more extra orders than the warehouses can pick on the days available"
