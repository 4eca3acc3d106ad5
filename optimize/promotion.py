"""Marketing budget per channel and period that prices what the warehouses cannot pick in time.

Each channel c buys extra orders per day with the simulator's own Hill curve
(``sim.model.demand.hill_response``), concave for shapes h <= 1, times its
``event_multiplier`` on promotion-event days. The LP replaces it by a concave
piecewise-linear curve through ``segments`` breakpoints spaced evenly in orders (so the
steep start is covered densely), then (``refine``) solves again, ``REFINE_PASSES`` times, with the
segment around each period's spend split into ``REFINE_PIECES``, so the marginal segment's slope — and with
it the duals — is within a fraction of a percent of the curve's own derivative. The largest
gap between curve and chords is reported as the approximation error. Spending x on a
period of n days means x/n per day; a period's extra orders are sum_d g_d x curve(x/n), g_d
the day's multiplier.

    maximize   sum_{c,p,k} seg[c,p,k] (slope_k x margin_p) - sum spend  [- late price x q x sum_{w,d} b[w,d]]
    subject to seg[c,p,k] <= width_k x n_p                 (segment sizes)
               sum spend <= budget (or = budget)            budget:all
               revenue - target_roas x spend >= 0           roas:all (instead of, or with, a budget)
               min_c <= sum_p spend[c,p] <= max_c           channel_min:c / channel_max:c
               sum_c spend[c,p] <= period cap               period_cap:p
               priced: b[w,d] >= b[w,d-1] + s_w (base_d + extra_d) - cap[w,d], b >= 0   backlog:w:d
               hard:   base orders_d + extra orders_d <= capacity_d                    capacity:DAY
               extra units over the horizon <= stock        stock:all

Capacity modes (``capacity``):

* ``priced`` (the default): orders beyond what a warehouse can pick are not impossible, they
  wait. b[w,d] is warehouse w's pick backlog at the end of day d (it serves the share s_w of
  the orders); every order-day in it makes q orders late, q the share of orders delivered on
  time with less than a day to spare (``Lateness.per_backlog_day``, a pilot run), and each
  late order costs the late price (``late_delivery_cost_per_order``, the voucher). Only the
  backlog that marketing adds to what base orders alone cause is charged to the plan.
* ``hard``: a day's expected orders never exceed what the shop can pick that day (the wall).
* ``blind``: capacity is ignored.

margin_p = expected gross margin of an order on those days (prices after the event
discount, at unit cost) minus the variable costs an extra order brings: fulfilment under
the scenario's own routing rules (``fulfilment_cost_per_order``: carrier by rule, lane
price by weight, plus handling), replenishment (``replenishment_cost_per_unit``: more
orders to suppliers and more stock under the scenario's reorder rules) and late delivery
(``late_delivery_cost_per_order`` x the late share of a pilot run: on calm days for the
priced mode, whose backlog carries the rest; overall for ``hard`` and ``blind``). Picking
capacity of a day is the scheduled picker-seconds / seconds per order x
``max_utilization`` (default 1); the hard wall is the order rate at which the first
warehouse is full (min over w of cap_w / share_w). Duals: the value of one more unit of
budget, and of one more order of picking capacity on a day (and per picker-shift: one
more picker in the longest shift the warehouse runs that day, the scenario's own shifts).

``objective="revenue"`` maximizes the revenue of the extra orders (less, priced, the late
orders' vouchers) instead of profit; :func:`dual_check` measures the duals against finite
differences of the optimum; :func:`wall_price` finds the late price above which the priced
plan keeps every marketing order within capacity.

>>> from sim.scenario.loader import load_scenario
>>> plan = solve(load_scenario("scenarios/baseline.yaml", ["horizon_days=56"]), budget=50_000, period="week")
>>> plan.status, round(plan.spend.spend.sum()) <= 50_000
('optimal', True)
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd
import pulp

from optimize.promotion_inputs import (
    Inputs,
    Lateness,
    fulfilment_cost_per_order,
    inputs_from,
    pilot_late_share,
    pilot_lateness,
    replenishment_cost_per_unit,
    shop_capacity,
)
from optimize.promotion_plan import (
    Curve,
    Model,
    PromotionPlan,
    backlog_order_days,
    even_ties,
    period_values,
    read_plan,
)
from optimize.solver import Infeasible, Solution
from optimize.solver import solve as run_solver
from sim.model.demand import channel_ceiling, hill_inverse, hill_response
from sim.scenario.schema import Scenario

__all__ = [
    "MODES",
    "REFINE_PASSES",
    "REFINE_PIECES",
    "Curve",
    "Inputs",
    "Lateness",
    "PromotionPlan",
    "backlog_order_days",
    "curve_value",
    "dual_check",
    "fulfilment_cost_per_order",
    "inputs_from",
    "pilot_late_share",
    "pilot_lateness",
    "pwl_curve",
    "refine_curve",
    "replenishment_cost_per_unit",
    "shop_capacity",
    "solve",
    "wall_price",
    "with_late_price",
]

#: Capacity modes: charge the late orders a backlog causes, keep within capacity, or ignore it.
MODES = ("priced", "hard", "blind")
#: Pieces each refined segment is split into (evenly in orders).
REFINE_PIECES = 8
#: Refinement passes after the coarse solve.
REFINE_PASSES = 3


def _hill_args(channel, demand_scale: float) -> tuple[float, float, float]:
    return channel_ceiling(channel, demand_scale), channel.half_saturation_spend, channel.hill_shape


def _curve_through(channel, demand_scale: float, xs: np.ndarray) -> Curve:
    """The chords of the channel's Hill curve through spend levels ``xs``, with their largest gap."""
    args = _hill_args(channel, demand_scale)
    ys = hill_response(xs, *args)
    # the error is measured inside every segment: a grid over [0, top] misses the first
    # segment, which is short in spend but carries the largest gap for shapes h < 1
    t = np.linspace(0.0, 1.0, 257)
    fine = xs[:-1, None] + np.diff(xs)[:, None] * t
    chords = ys[:-1, None] + np.diff(ys)[:, None] * t
    return Curve(breakpoints=xs, orders=ys, max_error=float(np.max(np.abs(hill_response(fine, *args) - chords))))


def _top_spend(channel) -> float:
    return channel.max_spend_per_day if channel.max_spend_per_day is not None else 20 * channel.half_saturation_spend


def pwl_curve(channel, segments: int = 24, demand_scale: float = 1.0) -> Curve:
    """``demand_scale``: the scenario's ``demand.scale`` (it multiplies the response ceiling)."""
    top = _top_spend(channel)
    args = _hill_args(channel, demand_scale)
    xs = hill_inverse(np.linspace(0.0, hill_response(top, *args), segments + 1), *args)
    xs[-1] = top
    return _curve_through(channel, demand_scale, xs)


def refine_curve(curve: Curve, channel, level: float, demand_scale: float = 1.0, pieces: int | None = None) -> Curve:
    """``curve`` with the segment(s) around spend per day ``level`` split into ``pieces`` each (evenly in orders).

    The segment holding ``level`` is split, and near a breakpoint both segments meeting there:
    the LP's marginal segment then has nearly the curve's own slope at ``level``.
    """
    pieces = REFINE_PIECES if pieces is None else pieces
    xs = curve.breakpoints
    k = int(np.clip(np.searchsorted(xs, level, side="right") - 1, 0, len(xs) - 2))
    near = 0.02 * (xs[k + 1] - xs[k])  # within 2% of a breakpoint: the optimum may lie on either side of it
    lo = k - 1 if k > 0 and level - xs[k] <= near else k
    hi = k + 2 if k + 2 < len(xs) and xs[k + 1] - level <= near else k + 1
    args = _hill_args(channel, demand_scale)
    ys = np.linspace(curve.orders[lo], curve.orders[hi], pieces * (hi - lo) + 1)[1:-1]
    inner = hill_inverse(ys, *args)
    new = np.concatenate([xs[: lo + 1], inner[(inner > xs[lo]) & (inner < xs[hi])], xs[hi:]])
    keep = np.concatenate([[True], np.diff(new) > 1e-9 * max(float(xs[-1]), 1.0)])
    return _curve_through(channel, demand_scale, new[keep])


def _periods(inputs: Inputs, period: str) -> list[tuple[int, int]]:
    """(first day, last day + 1) of each planning period: single days, or weeks from day 0."""
    if period == "day":
        return [(d, d + 1) for d in range(inputs.days)]
    return [(d, min(d + 7, inputs.days)) for d in range(0, inputs.days, 7)]


def _segments(inp: Inputs, channels, curve: dict, periods) -> Model:
    """One bounded spend variable per segment of each channel's curve in each period (size = width x days)."""
    seg = {}
    rev_order, day_share = {}, {}
    for ci, ch in enumerate(channels):
        for pi, (a, b) in enumerate(periods):
            n = b - a
            gain, m, r, share = period_values(inp, ch, a, b)
            rev_order[ci, pi], day_share[ci, pi] = r, share
            cv = curve[ci, pi]
            for k, (w, sl) in enumerate(zip(cv.widths, cv.slopes)):
                v = pulp.LpVariable(f"s_{ci}_{pi}_{k}", 0, float(w * n))
                seg[ci, pi, k] = (v, float(sl) * gain, m)
    return Model(pulp.LpProblem("promotion", pulp.LpMaximize), seg, dict(curve), rev_order, day_share, list(periods))


def _add_spend_rows(model: Model, channels, budget, target_roas, period_cap, budget_use: str) -> None:
    """budget:all, roas:all, channel_min:c / channel_max:c and period_cap:p rows."""
    prob, seg, n_periods = model.prob, model.seg, len(model.periods)
    if budget is not None:
        total = pulp.LpAffineExpression([(v, 1.0) for v, _, _ in seg.values()])
        prob += (total == budget) if budget_use == "exactly" else (total <= budget), "budget:all"
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


def _add_capacity_rows(model: Model, inp: Inputs, n_channels: int) -> None:
    """capacity:DAY rows (hard mode): base orders + extra orders of the day within what the shop can pick."""
    for pi, (a, b) in enumerate(model.periods):
        for d in range(a, b):
            room = inp.capacity[d] - inp.base_orders[d]
            if not np.isfinite(room):
                continue
            expr = pulp.LpAffineExpression(model.day_terms(pi, d - a, n_channels))
            model.prob += expr <= max(room, 0.0), f"capacity:{d}"  # day index (PuLP rewrites '-' in names)


def _add_backlog_rows(model: Model, inp: Inputs, n_channels: int, cost_per_order_day: float) -> list:
    """backlog:w:d rows (priced mode); returns the objective terms charging each backlog order-day."""
    wc = inp.warehouses
    model.share_w = wc.share
    terms = []
    for pi, (a, b) in enumerate(model.periods):
        for d in range(a, b):
            extra = model.day_terms(pi, d - a, n_channels)
            for w in range(len(wc.names)):
                var = pulp.LpVariable(f"b_{w}_{d}", 0)
                model.backlog[w, d] = var
                expr = [(var, 1.0), *[(v, -wc.share[w] * c) for v, c in extra]]
                if d > 0:
                    expr.append((model.backlog[w, d - 1], -1.0))
                rhs = float(wc.share[w] * inp.base_orders[d] - wc.capacity[w, d])
                model.prob += pulp.LpAffineExpression(expr) >= rhs, f"backlog:{w}:{d}"
                terms.append((var, -cost_per_order_day))
    return terms


@dataclasses.dataclass(frozen=True)
class _Request:
    """What the LP is asked for, besides the curves."""

    budget: float | None
    target_roas: float | None
    period_cap: float | None
    stock_units: float | None
    capacity: str
    objective: str
    budget_use: str
    late_cost_per_order_day: float  # priced: late price x late orders per backlog order-day


def _build_model(scenario: Scenario, inp: Inputs, curve: dict, periods, req: _Request) -> Model:
    """The LP of the module docstring: objective, spend rows, capacity (or backlog) rows, stock row."""
    channels = scenario.demand.channels
    model = _segments(inp, channels, curve, periods)
    if req.objective == "revenue":
        terms = [(v, sl * model.rev_order[ci, pi]) for (ci, pi, k), (v, sl, m) in model.seg.items()]
    else:
        terms = [(v, sl * m - 1.0) for v, sl, m in model.seg.values()]
    _add_spend_rows(model, channels, req.budget, req.target_roas, req.period_cap, req.budget_use)
    if req.capacity == "hard":
        _add_capacity_rows(model, inp, len(channels))
    elif req.capacity == "priced" and req.late_cost_per_order_day > 0:
        terms += _add_backlog_rows(model, inp, len(channels), req.late_cost_per_order_day)
    if req.stock_units is not None:
        units = pulp.LpAffineExpression([(v, sl * inp.units_per_order) for v, sl, m in model.seg.values()])
        model.prob += units <= req.stock_units, "stock:all"
    model.prob += pulp.LpAffineExpression(terms)
    return model


def _check_request(scenario: Scenario, budget, target_roas, capacity: str, objective: str, budget_use: str) -> None:
    """Refuse requests that cannot make a plan before any model is built."""
    channels = scenario.demand.channels
    if not channels:
        raise ValueError("the scenario has no marketing channels (demand.channels)")
    if capacity not in MODES:
        raise ValueError(f"capacity must be one of {', '.join(MODES)}, got {capacity!r}")
    if objective not in ("profit", "revenue") or budget_use not in ("at_most", "exactly"):
        raise ValueError("objective is profit or revenue, and the budget is spent at_most or exactly")
    if budget is None and target_roas is None:
        raise ValueError("give a budget or a target ROAS")
    if objective == "revenue" and budget is None:
        raise ValueError("maximizing revenue needs a budget (without one, more spend always buys more revenue)")
    mins = sum(c.min_budget for c in channels)
    if budget is not None and mins > budget + 1e-9:
        raise Infeasible(f"channel minimum spends add up to {mins:,.0f}, above the budget {budget:,.0f}", "budget")


def _lateness(scenario: Scenario, capacity: str, lateness: Lateness | None, late_share: float | None):
    """(share of late orders in the margin, late orders per backlog order-day, lateness used)."""
    late_cost = scenario.inventory.costs.late_delivery_cost_per_order
    if lateness is None and late_cost > 0 and scenario.carriers and (late_share is None or capacity == "priced"):
        lateness = pilot_lateness(scenario)
    if lateness is None:
        return (late_share or 0.0), 0.0, None
    if late_share is None:
        late_share = lateness.calm_share if capacity == "priced" else lateness.overall_share
    return late_share, lateness.per_backlog_day, lateness


def solve(
    scenario: Scenario,
    budget: float | None = None,
    target_roas: float | None = None,
    period: str = "day",
    capacity: str = "priced",
    period_cap: float | None = None,
    stock_units: float | None = None,
    segments: int = 24,
    max_utilization: float = 1.0,
    time_limit: float = 120.0,
    late_share: float | None = None,
    lateness: Lateness | None = None,
    objective: str = "profit",
    budget_use: str = "at_most",
    refine: bool = True,
    inputs: Inputs | None = None,
) -> PromotionPlan:
    """Best spend plan; raises Infeasible (e.g. channel minimums above the budget).

    ``lateness``: the pilot run's :class:`Lateness` (measured here when late deliveries cost
    something and it is not given); ``late_share`` overrides the late share in the margin.
    ``inputs``: precomputed (or perturbed, see :func:`dual_check`) :class:`Inputs`.
    Build -> solve with segments filled in order -> refine around the solution -> even ties -> read back.
    """
    _check_request(scenario, budget, target_roas, capacity, objective, budget_use)
    t0 = time.perf_counter()
    channels = scenario.demand.channels
    share, per_day, used = _lateness(scenario, capacity, lateness, late_share)
    inp = inputs if inputs is not None else inputs_from(scenario, max_utilization, late_share=share)
    price = scenario.inventory.costs.late_delivery_cost_per_order
    req = _Request(budget, target_roas, period_cap, stock_units, capacity, objective, budget_use, price * per_day)
    coarse = {c.name: pwl_curve(c, segments, scenario.demand.scale) for c in channels}
    periods = _periods(inp, period)

    def explain() -> str:
        return _explain(scenario, budget, target_roas, inp, coarse, periods, period_cap)

    model, sol = _solve_refined(
        scenario, inp, coarse, periods, req, REFINE_PASSES if refine else 0, time_limit, t0, explain
    )
    even_ties(model, inp, len(channels))
    late = {"price": price, "per_backlog_day": per_day}
    if used is not None:
        late.update(calm_share=used.calm_share, overall_share=used.overall_share, source=used.source)
    plan = read_plan(scenario, inp, model, sol, capacity, {c: coarse[c].max_error for c in coarse}, late)
    plan.seconds = time.perf_counter() - t0
    return plan


def _solve_refined(scenario, inp, coarse: dict, periods, req: _Request, passes: int, time_limit, t0, explain):
    """Solve on the coarse curves, then ``passes`` times on curves refined around the last solution's spend.

    Each pass splits the segment(s) at a period's spend level into ``REFINE_PIECES``: after
    three passes of 8 the marginal piece is 1/512 of a coarse segment, with a few dozen
    segments per period.
    """
    channels = scenario.demand.channels
    curve = {(ci, pi): coarse[ch.name] for ci, ch in enumerate(channels) for pi in range(len(periods))}
    model = _build_model(scenario, inp, curve, periods, req)
    sol = _solve_in_order(model, channels, time_limit, t0, explain)
    for _ in range(passes):
        last, curve = curve, {}
        for ci, ch in enumerate(channels):
            for pi, (a, b) in enumerate(periods):
                level = model.used(ci, pi).sum() / (b - a)
                curve[ci, pi] = refine_curve(last[ci, pi], ch, level, scenario.demand.scale)
        model = _build_model(scenario, inp, curve, periods, req)
        sol = _solve_in_order(model, channels, time_limit, t0, explain)
    return model, sol


def _solve_in_order(model: Model, channels, time_limit: float, t0: float, explain) -> Solution:
    """Solve the LP; where a channel minimum makes it use segments out of order, force the order and solve again.

    A channel minimum (or a spend-it-all budget) can force spend where capacity or stock
    binds: the LP then buys flat segments and skips steep ones, which no real spend level
    does (the simulator would see curve(spend), many more orders). Where that happens,
    segments are made to fill in order (binary z = 1 when segment k is full; only then may
    segment k+1 be used) and the model is solved again, until every (channel, period) fills
    in order: the answer is then optimal for the exact piecewise-linear curves.
    ``explain()`` words an infeasible model.
    """
    sol = run_solver(model.prob, time_limit)
    if sol.status == "infeasible":
        raise Infeasible(explain())
    ordered: set[tuple[int, int]] = set()
    while bad := [cp for cp in _out_of_order(model, len(channels)) if cp not in ordered]:
        ordered.update(bad)
        _fill_in_order(model, bad)
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


def _fill_in_order(model: Model, pairs: list[tuple[int, int]]) -> None:
    """Binaries making the segments of each (channel, period) in ``pairs`` fill steepest first."""
    prob, seg = model.prob, model.seg
    for ci, pi in pairs:
        w, n = model.curve[ci, pi].widths, model.periods[pi][1] - model.periods[pi][0]
        for k in range(len(w) - 1):
            z = pulp.LpVariable(f"z_{ci}_{pi}_{k}", cat=pulp.LpBinary)
            prob += seg[ci, pi, k][0] >= float(w[k] * n) * z, f"order:full_{ci}_{pi}_{k}"
            prob += seg[ci, pi, k + 1][0] <= float(w[k + 1] * n) * z, f"order:next_{ci}_{pi}_{k}"


def _out_of_order(model: Model, n_channels: int) -> list[tuple[int, int]]:
    """(channel, period) pairs that use a segment while an earlier, steeper one is not full."""
    out = []
    for ci in range(n_channels):
        for pi, (a, b) in enumerate(model.periods):
            used = model.used(ci, pi)
            cap = model.curve[ci, pi].widths * (b - a)
            short = used < cap - 1e-6 * np.maximum(cap, 1.0)
            first = int(np.argmax(short))
            if short.any() and np.any(used[first + 1 :] > 1e-6 * np.maximum(cap[first + 1 :], 1.0)):
                out.append((ci, pi))
    return out


# ------------------------------------------------------------------ checks of the duals and the wall
def _perturbed(inp: Inputs, name: str, delta: float) -> Inputs:
    """``inp`` with the capacity behind row ``name`` (``capacity:d`` or ``backlog:w:d``) raised by ``delta`` orders."""
    parts = name.split(":")
    wc = inp.warehouses
    if parts[0] == "capacity":
        d = int(parts[1])
        cap = inp.capacity.copy()
        cap[d] += delta
        return dataclasses.replace(inp, capacity=cap)
    w, d = int(parts[1]), int(parts[2])
    wcap = wc.capacity.copy()
    wcap[w, d] += delta
    return dataclasses.replace(inp, warehouses=dataclasses.replace(wc, capacity=wcap))


def curve_value(scenario: Scenario, inp: Inputs, plan: PromotionPlan, objective: str = "profit") -> float:
    """The plan's objective on the channels' own Hill curves rather than the LP's chords.

    Each day's extra orders are g_d hill(spend per day); priced plans are charged the late
    orders of the backlog those orders add. Near the optimum this is the true optimum up to
    second-order terms in the plan's error, which is what finite differences of it need.
    """
    extra, value = np.zeros(inp.days), 0.0
    per_order = inp.revenue_per_order if objective == "revenue" else inp.margin
    for ch in scenario.demand.channels:
        args = _hill_args(ch, scenario.demand.scale)
        for r in plan.spend[plan.spend.channel == ch.name].itertuples():
            a = inp.dates.index(r.start)
            orders = np.where(inp.event[a : a + r.days], ch.event_multiplier, 1.0) * hill_response(
                r.spend / r.days, *args
            )
            extra[a : a + r.days] += orders
            value += float(orders @ per_order[a : a + r.days]) - (0.0 if objective == "revenue" else float(r.spend))
    if plan.capacity == "priced" and plan.late.get("per_backlog_day"):
        added = max(backlog_order_days(inp, extra) - backlog_order_days(inp), 0.0)
        value -= plan.late["price"] * plan.late["per_backlog_day"] * added
    return value


def _one_sided(value_at, h: float) -> tuple[float, float]:
    """(right, left) difference quotients of the optimum ``value_at(delta)`` at steps of +-h."""
    mid = value_at(0.0)
    return (value_at(h) - mid) / h, (mid - value_at(-h)) / h


def dual_check(
    scenario: Scenario, plan: PromotionPlan, kwargs: dict, top: int = 3, step: float = 0.002
) -> pd.DataFrame:
    """The plan's duals against one-sided finite differences of the optimum (re-solved and refined each time).

    ``kwargs``: the :func:`solve` arguments that made ``plan``. Checked: the budget (steps of
    ``step`` x budget) and the ``top`` most valuable capacity rows (steps of ``step`` x the
    capacity behind the row). The optimum is concave in each of them, so a dual lies between
    the right and the left difference quotient; where the two differ the optimum has a kink
    there (a day filled exactly to capacity). Returns name, dual, right, left and the
    relative error: the dual's distance from [right, left] over its size (0 inside).
    """
    kw = {k: v for k, v in kwargs.items() if k != "inputs"}
    share, _, _ = _lateness(scenario, kw.get("capacity", "priced"), kw.get("lateness"), kw.get("late_share"))
    inp = inputs_from(scenario, kw.get("max_utilization", 1.0), late_share=share)
    objective = kw.get("objective", "profit")
    rows = []
    budget = kw.get("budget")
    if budget is not None and abs(plan.duals.get("budget_unit", 0.0)) > 1e-9:
        right, left = _one_sided(
            lambda x: curve_value(scenario, inp, solve(scenario, **{**kw, "budget": budget + x}), objective),
            step * budget,
        )
        rows.append(("budget:all", plan.duals["budget_unit"], right, left))
    cap = plan.capacity_days if plan.capacity_days is not None else pd.DataFrame()
    for r in cap.sort_values("value_per_order", ascending=False).head(top).itertuples() if len(cap) else []:
        d, w = inp.dates.index(r.day), inp.warehouses.names.index(r.warehouse)
        name = f"backlog:{w}:{d}" if plan.capacity == "priced" else f"capacity:{d}"
        h = step * float(inp.warehouses.capacity[w, d] if plan.capacity == "priced" else inp.capacity[d])
        right, left = _one_sided(lambda x, row=name: solve(scenario, **kw, inputs=_perturbed(inp, row, x)).objective, h)
        rows.append((f"{name} ({r.day}, {r.warehouse})", r.value_per_order, right, left))
    out = pd.DataFrame(rows, columns=["dual", "value", "right", "left"])
    lo, hi = np.minimum(out.right, out.left), np.maximum(out.right, out.left)
    gap = np.maximum(lo - out.value, 0.0) + np.maximum(out.value - hi, 0.0)
    out["relative_error"] = gap / np.maximum(np.abs(out.value), 1e-12)
    return out


def with_late_price(scenario: Scenario, price: float) -> Scenario:
    """``scenario`` with ``inventory.costs.late_delivery_cost_per_order = price`` (nothing else changed)."""
    inv = scenario.inventory
    costs = inv.costs.model_copy(update={"late_delivery_cost_per_order": float(price)})
    return scenario.model_copy(update={"inventory": inv.model_copy(update={"costs": costs})})


def wall_price(scenario: Scenario, kwargs: dict, high: float = 1000.0, tol: float = 0.5) -> float | None:
    """The late price above which the priced plan adds no backlog (keeps every marketing order within capacity).

    Bisection on ``late_delivery_cost_per_order`` (``kwargs``: the :func:`solve` arguments;
    curves unrefined, plans only). None when even ``high`` leaves marketing backlog.
    """
    kw = {**kwargs, "capacity": "priced", "refine": False}

    def added(price: float) -> float:
        return solve(with_late_price(scenario, price), **kw).late.get("added_backlog_order_days", 0.0)

    if added(high) > 1e-6:
        return None
    lo, hi = 0.0, high
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if added(mid) > 1e-6 else (lo, mid)
    return hi


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
