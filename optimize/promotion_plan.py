"""Reading a solved promotion LP back: the plan, its tables and duals, with ties broken evenly.

:class:`PromotionPlan` is what :func:`optimize.promotion.solve` returns: spend per channel and
period, per-channel totals with ROAS and marginal return, the duals of budget and of picking
capacity (per order and per picker-shift of the scenario's own shift on that day), and the
overlay that ``--plan`` applies.

Identical periods (same days, response, margin, base orders and capacity, no pick backlog
carried in or out) are exchangeable in the LP, which is then free to put the last, partly
bought segment on any one of them: :func:`even_ties` gives each the group's average spend,
filled along its own curve steepest segment first (the same total, and the same profit up to
the curves' chord error).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pulp

from optimize.promotion_inputs import Inputs

__all__ = ["Curve", "Model", "PromotionPlan", "backlog_order_days", "even_ties", "period_values", "read_plan"]


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


Segments = dict[tuple[int, int, int], tuple[pulp.LpVariable, float, float]]
"""(channel, period, segment) -> (spend variable, extra orders per unit of spend, margin per order)."""


@dataclass
class Model:
    """The promotion LP with what is needed to add rows and to read the plan back."""

    prob: pulp.LpProblem
    seg: Segments
    curve: dict[tuple[int, int], Curve]  # (channel, period) -> the curve its segments follow
    rev_order: dict[tuple[int, int], float]  # (channel, period) -> revenue of one extra order
    day_share: dict[tuple[int, int], np.ndarray]  # (channel, period) -> share of the extra orders on each day
    periods: list[tuple[int, int]]
    backlog: dict[tuple[int, int], pulp.LpVariable] = field(default_factory=dict)  # (warehouse, day) -> orders
    share_w: np.ndarray = field(default_factory=lambda: np.zeros(0))  # share of the orders of each backlog warehouse

    def n_segments(self, ci: int, pi: int) -> int:
        """Segments of the curve of channel ``ci`` in period ``pi``."""
        return len(self.curve[ci, pi].widths)

    def spend_vars(self, ci: int, pi: int) -> list[pulp.LpVariable]:
        """The segment spend variables of channel ``ci`` in period ``pi``, steepest first."""
        return [self.seg[ci, pi, k][0] for k in range(self.n_segments(ci, pi))]

    def used(self, ci: int, pi: int) -> np.ndarray:
        """Spend on each segment of channel ``ci`` in period ``pi`` in the solved model."""
        return np.array([v.value() or 0.0 for v in self.spend_vars(ci, pi)])

    def day_terms(self, pi: int, offset: int, n_channels: int) -> list[tuple[pulp.LpVariable, float]]:
        """(spend variable, extra orders per unit) of every segment on day ``offset`` of period ``pi``."""
        return [
            (self.seg[ci, pi, k][0], self.seg[ci, pi, k][1] * self.day_share[ci, pi][offset])
            for ci in range(n_channels)
            for k in range(self.n_segments(ci, pi))
        ]


@dataclass
class PromotionPlan:
    """The best spend plan: spend per channel and period, its predicted orders and profit, duals."""

    spend: pd.DataFrame  # channel, period, start, end, days, spend, extra_orders, revenue, profit
    channels: pd.DataFrame  # channel, spend, extra_orders, revenue, roas, marginal_return
    objective: float  # expected profit from marketing (after spend; priced: after the late orders its backlog causes)
    status: str
    seconds: float
    capacity: str  # priced, hard or blind
    approx_error: dict[str, float]
    duals: dict[str, float] = field(default_factory=dict)
    binding: list[str] = field(default_factory=list)
    capacity_days: pd.DataFrame | None = None  # day, warehouse, value per order, per picker-shift, shift hours
    channel_specs: list = field(default_factory=list)
    solve_seconds: float = 0.0  # of ``seconds``, the time inside the solver (the rest builds the model)
    costs_per_order: dict = field(default_factory=dict)  # variable costs of an extra order in the margin
    late: dict = field(default_factory=dict)  # late price, late orders per backlog order-day, marketing's backlog
    extra_per_day: np.ndarray = field(default_factory=lambda: np.zeros(0))  # predicted extra orders per day

    @property
    def capacity_aware(self) -> bool:
        """True unless the plan ignores picking capacity (``blind``)."""
        return self.capacity != "blind"

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
                "capacity": self.capacity,
                "capacity_aware": self.capacity_aware,
                "expected_profit": round(float(self.objective), 2),
                "duals": {k: round(float(v), 6) for k, v in self.duals.items()},
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


# ------------------------------------------------------------------ ties between identical periods
def _period_key(model: Model, inp: Inputs, pi: int, n_channels: int) -> tuple:
    """What makes two periods exchangeable in the LP (rounded), or () when a backlog touches the period."""
    a, b = model.periods[pi]
    wc = inp.warehouses
    if model.backlog and any(
        (model.backlog[w, d].value() or 0.0) > 1e-9
        for w in range(len(wc.names))
        for d in range(max(a - 1, 0), b)
        if (w, d) in model.backlog
    ):
        return ()
    coeffs = tuple(  # the response gain (not a segment's slope: refined curves differ by period), margin, revenue
        (
            round(model.seg[ci, pi, 0][1] / max(float(model.curve[ci, pi].slopes[0]), 1e-300), 9),
            round(model.seg[ci, pi, 0][2], 9),
            round(model.rev_order[ci, pi], 9),
        )
        for ci in range(n_channels)
    )
    days = tuple(
        (round(float(inp.base_orders[d]), 9), round(float(inp.capacity[d]), 6), bool(inp.event[d])) for d in range(a, b)
    )
    return (b - a, coeffs, days, tuple(round(float(c), 6) for c in wc.capacity[:, a:b].ravel()))


def _fill(curve: Curve, spend_per_day: float, days: int) -> np.ndarray:
    """Segment spends of ``spend_per_day`` over ``days`` days filled steepest first."""
    cap = curve.widths * days
    before = np.concatenate([[0.0], np.cumsum(cap)[:-1]])
    return np.clip(spend_per_day * days - before, 0.0, cap)


def _room_kept(model: Model, inp: Inputs, members: list[int], n_channels: int, slack: dict[int, float]) -> bool:
    """True when no day of ``members`` gets more extra orders than its picking room allows after evening."""
    for pi in members:
        a, b = model.periods[pi]
        for d in range(a, b):
            terms = model.day_terms(pi, d - a, n_channels)
            orders = sum(c * (v.value() or 0.0) for v, c in terms)
            if orders > slack.get(d, np.inf) + 1e-6:
                return False
    return True


def even_ties(model: Model, inp: Inputs, n_channels: int) -> int:
    """Give identical periods the same spend per channel (see the module docstring); returns periods evened.

    Sets the solved variables' values; a group whose evened orders would exceed a day's
    picking room (orders the warehouses can still pick there) is left as the LP had it.
    """
    groups: dict[tuple, list[int]] = {}
    for pi in range(len(model.periods)):
        key = _period_key(model, inp, pi, n_channels)
        if key:
            groups.setdefault(key, []).append(pi)
    room = _picking_room(model, inp, n_channels)
    evened = 0
    for members in groups.values():
        if len(members) < 2:
            continue
        before = {(ci, pi): model.used(ci, pi) for ci in range(n_channels) for pi in members}
        for ci in range(n_channels):
            total = sum(before[ci, pi].sum() for pi in members)
            for pi in members:
                days = model.periods[pi][1] - model.periods[pi][0]
                share = total / len(members) / days
                for v, x in zip(model.spend_vars(ci, pi), _fill(model.curve[ci, pi], share, days)):
                    v.varValue = float(x)
        if _room_kept(model, inp, members, n_channels, room):
            evened += len(members)
            continue
        for (ci, pi), values in before.items():  # undo
            for v, x in zip(model.spend_vars(ci, pi), values):
                v.varValue = float(x)
    return evened


def _picking_room(model: Model, inp: Inputs, n_channels: int) -> dict[int, float]:
    """Extra orders each day can take before a warehouse (or the shop, hard mode) is full."""
    room: dict[int, float] = {}
    for d in range(inp.days):
        total = inp.capacity[d] - inp.base_orders[d]
        if model.backlog:
            wc = inp.warehouses
            per_w = (wc.capacity[:, d] - wc.share * inp.base_orders[d]) / np.maximum(wc.share, 1e-12)
            total = float(per_w.min()) if len(per_w) else np.inf
        room[d] = float(total) if np.isfinite(total) else np.inf
    return room


# ------------------------------------------------------------------ tables
def period_values(inp: Inputs, channel, a: int, b: int) -> tuple[float, float, float, np.ndarray]:
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


def _spend_table(channels, inp: Inputs, model: Model) -> pd.DataFrame:
    """One row per (channel, period): spend, extra orders, revenue and profit of the solved plan."""
    rows = []
    for ci, ch in enumerate(channels):
        for pi, (a, b) in enumerate(model.periods):
            amounts = model.used(ci, pi)
            extra = float(np.dot(amounts, [model.seg[ci, pi, k][1] for k in range(len(amounts))]))
            _, margin, rev_order, _ = period_values(inp, ch, a, b)
            rows.append(
                {
                    "channel": ch.name,
                    "period": pi,
                    "start": inp.dates[a],
                    "end": inp.dates[b - 1],
                    "days": b - a,
                    "spend": float(amounts.sum()),
                    "extra_orders": extra,
                    "revenue": extra * rev_order,
                    "profit": extra * margin - float(amounts.sum()),
                }
            )
    return pd.DataFrame(rows)


def _row_cost(model: Model, duals: dict[str, float], ci: int, pi: int, k: int, n_warehouses: int) -> float:
    """What picking capacity charges one unit of spend on segment k (capacity and backlog rows' duals)."""
    a, b = model.periods[pi]
    sl = model.seg[ci, pi, k][1]
    cost = 0.0
    for d in range(a, b):
        per_unit = sl * model.day_share[ci, pi][d - a]
        cost += duals.get(f"capacity:{d}", 0.0) * per_unit
        for w in range(n_warehouses):  # backlog rows: -share_w x orders on the left of a >= row
            cost -= duals.get(f"backlog:{w}:{d}", 0.0) * model.share_w[w] * per_unit if model.backlog else 0.0
    return cost


def _marginal_return(model: Model, ci: int, duals: dict[str, float], n_warehouses: int) -> float:
    """Profit of the next unit of spend where it is best used in channel ``ci``, net of capacity (0 if none)."""
    best = 0.0
    for pi, (a, b) in enumerate(model.periods):
        cv, used = model.curve[ci, pi], model.used(ci, pi)
        free = [k for k in range(len(cv.widths)) if used[k] < cv.widths[k] * (b - a) - 1e-9]
        if free:
            k = free[0]
            _, sl, m = model.seg[ci, pi, k]
            best = max(best, sl * m - 1.0 - _row_cost(model, duals, ci, pi, k, n_warehouses))
    return best


def _channel_table(channels, spend: pd.DataFrame, model: Model, duals, n_warehouses: int, errors) -> pd.DataFrame:
    """One row per channel: totals, ROAS, marginal return and the curve's approximation error."""
    rows = []
    for ci, ch in enumerate(channels):
        part = spend[spend.channel == ch.name]
        rows.append(
            {
                "channel": ch.name,
                "spend": part.spend.sum(),
                "extra_orders": part.extra_orders.sum(),
                "revenue": part.revenue.sum(),
                "roas": part.revenue.sum() / part.spend.sum() if part.spend.sum() > 0 else np.nan,
                "marginal_return": _marginal_return(model, ci, duals, n_warehouses),
                "approx_error_orders_per_day": errors[ch.name],
            }
        )
    return pd.DataFrame(rows)


def _hard_capacity_rows(inp: Inputs, duals: dict[str, float]) -> list[dict]:
    """Hard mode: the shop's capacity rows; a picker-shift is added where the shop fills first."""
    wc, rows = inp.warehouses, []
    for name, dual in duals.items():
        if not name.startswith("capacity:") or abs(dual) <= 1e-9:
            continue
        d = int(name.split(":", 1)[1])
        w = int(np.argmin(wc.capacity[:, d] / np.maximum(wc.share, 1e-12)))
        rows.append(
            {
                "day": inp.dates[d],
                "warehouse": wc.names[w],
                "value_per_order": dual,
                # one more picker there raises the shop's capacity by its orders / the warehouse's share
                "value_per_picker_shift": dual * wc.orders_per_picker_shift[w, d] / wc.share[w],
                "shift_hours": float(wc.shift_hours[w, d]),
                "base_over_capacity": max(float(inp.base_orders[d] - inp.capacity[d]), 0.0),
            }
        )
    return rows


def _priced_capacity_rows(inp: Inputs, model: Model, duals: dict[str, float]) -> list[dict]:
    """Priced mode: one row per (warehouse, day) whose capacity is worth something (its backlog row's dual)."""
    wc, rows = inp.warehouses, []
    for (w, d), var in model.backlog.items():
        value = -duals.get(f"backlog:{w}:{d}", 0.0)
        if value <= 1e-9:
            continue
        rows.append(
            {
                "day": inp.dates[d],
                "warehouse": wc.names[w],
                "value_per_order": value,
                "value_per_picker_shift": value * wc.orders_per_picker_shift[w, d],
                "shift_hours": float(wc.shift_hours[w, d]),
                "base_over_capacity": max(float(wc.share[w] * inp.base_orders[d] - wc.capacity[w, d]), 0.0),
                "backlog_end": float(var.value() or 0.0),
            }
        )
    return rows


def _capacity_table(inp: Inputs, model: Model, duals: dict[str, float], capacity: str) -> pd.DataFrame:
    """Days (and warehouses) where picking capacity is worth something: per order and per picker-shift."""
    if capacity == "blind":
        return pd.DataFrame()
    rows = _priced_capacity_rows(inp, model, duals) if capacity == "priced" else _hard_capacity_rows(inp, duals)
    return pd.DataFrame(rows)


def read_plan(scenario, inp: Inputs, model: Model, sol, capacity: str, errors: dict, late: dict) -> PromotionPlan:
    """The solved LP as a :class:`PromotionPlan` (``sol``: ``optimize.solver.Solution``).

    ``late`` (priced mode): the late price, late orders per backlog order-day and the
    backlog order-days base orders alone cause; the plan's objective is charged only for
    the late orders its marketing adds.
    """
    channels = scenario.demand.channels
    spend = _spend_table(channels, inp, model)
    duals = {"budget_unit": sol.duals.get("budget:all", 0.0)}
    if "roas:all" in sol.duals:
        duals["roas"] = sol.duals["roas:all"]
    n_w = len(inp.warehouses.names)
    extra = _extra_per_day(model, inp, len(channels))
    # the backlog that marketing adds to what base orders alone leave, and the late orders it makes
    added = max(backlog_order_days(inp, extra) - backlog_order_days(inp), 0.0)
    late_orders = late.get("per_backlog_day", 0.0) * added
    late_cost = late.get("price", 0.0) * late_orders if capacity == "priced" else 0.0
    return PromotionPlan(
        spend=spend,
        channels=_channel_table(channels, spend, model, sol.duals, n_w, errors),
        objective=float(spend.profit.sum()) - late_cost,
        status=sol.status,
        seconds=0.0,
        capacity=capacity,
        approx_error=dict(errors),
        duals=duals,
        binding=[n for n in sol.binding() if not n.startswith(("capacity:", "order:", "backlog:"))][:20],
        capacity_days=_capacity_table(inp, model, sol.duals, capacity),
        channel_specs=list(channels),
        solve_seconds=sol.seconds,
        costs_per_order=dict(inp.costs_per_order),
        late={**late, "added_backlog_order_days": added, "late_orders": late_orders},
        extra_per_day=extra,
    )


def _extra_per_day(model: Model, inp: Inputs, n_channels: int) -> np.ndarray:
    """(days,) extra orders the solved plan buys on each day."""
    out = np.zeros(inp.days)
    for pi, (a, b) in enumerate(model.periods):
        for d in range(a, b):
            out[d] = sum(c * (v.value() or 0.0) for v, c in model.day_terms(pi, d - a, n_channels))
    return out


def backlog_order_days(inp: Inputs, extra: np.ndarray | None = None) -> float:
    """Pick-backlog order-days (summed over warehouses and days) of base orders plus ``extra`` per day.

    Warehouse w's backlog carries over: b_d = max(b_(d-1) + s_w x orders_d - cap_(w,d), 0).
    """
    if not len(inp.warehouses.names):
        return 0.0
    wc, total = inp.warehouses, 0.0
    orders = inp.base_orders + (0.0 if extra is None else extra)
    b = np.zeros(len(wc.names))
    for d in range(inp.days):
        b = np.maximum(b + wc.share * orders[d] - wc.capacity[:, d], 0.0)
        total += float(b.sum())
    return total
