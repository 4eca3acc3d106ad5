"""KPIs from the recorded daily arrays and the per-order table, over a span of days.

Every KPI is defined once (``KPIS`` in :mod:`sim.kpis`), and the accounting
identities hold by construction and are asserted in tests:

    total_cost   = holding_cost + ordering_cost + shortage_cost + overflow_cost + marketing_cost
                   + shipping_cost + handling_cost + labour_cost + warehouse_fixed_cost
                   + late_delivery_cost
    gross_margin = revenue - cost_of_goods_sold
    profit       = gross_margin - total_cost
    roas         = marketing_revenue / marketing_cost        (NaN without spend)
    cac          = marketing_cost / marketing_orders         (NaN without incremental orders)

Marketing KPIs follow each order's source (``sim.model.demand``: organic, or the channel whose
share of the day's rate it fell in): ``marketing_orders`` are the incremental orders placed in
the span, ``marketing_revenue`` the revenue (as ``revenue``: sales value of the units shipped,
by the day they ship) of those orders. There is no customer model, so CAC is spend per
incremental order. ``channel_kpis`` gives the same per channel.

The span is the days after the warm-up, or the scenario's ``kpi_window`` when it has
one, or a promotion event's days (``event_windows``). Order KPIs (cycle time,
click-to-door, on-time, late orders) count the orders placed in the span; the
on-time rate is taken over those whose promised day ends within the horizon, so
orders still under way at the end do not bias it. Per-day KPIs (stock, costs,
picking) sum or average the span's days. In a window (``kpi_window`` or an event)
shipping and handling costs are those of the shipments of the orders placed in it
(attributable per order); after a plain warm-up cut they are those of the days.
``PER_ORDER`` names the KPIs that follow the orders placed in the span.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sim.kpis import FORECAST_KPIS, KPI_INFO
from sim.model.demand import promotion_days
from sim.model.forecast import ERROR_GROUPS, ForecastErrors
from sim.model.logs import RunRecords
from sim.model.routing import open_warehouses
from sim.model.warehouse import picker_days_per_day
from sim.scenario.schema import Costs, Scenario, warmup_days_of

WAREHOUSE_COST_RULE = (
    "Every shipment that leaves a warehouse pays its `handling_cost_per_order` on the day it leaves "
    "(an order split over two warehouses pays both; KPI `handling_cost`). Every open warehouse pays "
    "`fixed_cost_per_day` for every day the KPIs cover (after the warm-up, or in the kpi_window; KPI "
    "`warehouse_fixed_cost`); all warehouses are "
    "open, except that under `routing.warehouse: lane_plan` a warehouse that no lane with a positive share "
    "names is closed (that is how the logistics optimizer closes one). Both are part of `total_cost` and "
    "`profit`, and they are the costs the logistics optimizer minimizes."
)


STAGES = ("backordered", "in_warehouse", "in_transit", "delivered", "lost")

DAILY_EXTRA = (
    "on_hand_units",
    "inventory_value",
    "backorder_unit_days",
    "backorder_units_end",
    "on_hand_units_end",
    "inventory_value_end",
    "on_order_units_end",
    "overflow_unit_days",
    "overflow_cost",
    "overflow_units_max",
    "pick_queue_mean",
    "pick_queue_max",
    "picks",
    "picker_busy_days",
)


def order_table(rec: RunRecords, H: int) -> dict[str, np.ndarray]:
    """Per-order arrays from the records: arrival, region, value, shipments, release/ship/deliver times,
    promise deadline, stage (index into ``STAGES``)."""
    shp = rec.shipments
    arrival = rec.orders["arrival"]
    n = len(arrival)
    order = shp["order"]
    sid = np.arange(len(order))
    outstanding = np.zeros(len(order), dtype=bool)
    outstanding[rec.outstanding] = True
    released = ~np.isnan(shp["release"])
    lost_shipment = ~released & ~outstanding
    ship, deliver = shp["ship"], shp["deliver"]
    stage = np.where(outstanding, 0, np.where(~released, 4, np.where(~(ship <= H), 1, np.where(~(deliver <= H), 2, 3))))
    o_stage = np.full(n, 9)
    np.minimum.at(o_stage, order, np.where(stage == 4, 9, stage))
    o_stage[o_stage == 9] = 4
    kept = ~lost_shipment
    n_ship = np.bincount(order[kept], minlength=n)

    def latest(x):
        out = np.full(n, -np.inf)
        np.maximum.at(out, order[kept], np.nan_to_num(x[kept], nan=np.inf))
        out[n_ship == 0] = np.nan
        return out

    first = np.full(n, len(order))
    np.minimum.at(first, order, sid)
    carrier = shp["carrier"][np.minimum(first, len(order) - 1)] if len(order) else np.zeros(0, dtype=np.int64)
    region = rec.orders["region"]
    promise = rec.promise[carrier, region].astype(float)  # carrier -1: the last row, the regions' promises
    return {
        "arrival": arrival,
        "region": region,
        "value": rec.orders["value"],
        "shipments": n_ship,
        "release": latest(shp["release"]),
        "ship": latest(ship),
        "deliver": latest(deliver),
        "deadline": np.floor(arrival) + promise + 1,
        "stage": o_stage,
        "source": rec.orders["source"],
    }


def daily_fulfilment(s: Scenario, rec: RunRecords, orders: dict) -> dict[str, np.ndarray]:
    """Per-day fulfilment columns of the daily table: shipping, handling, labour and fixed costs,
    picker-days, backlog, late and delivered orders."""
    H = s.horizon_days
    shp = rec.shipments
    days = np.arange(H)
    ends = days + 1.0
    shipping = np.zeros(H)
    handling = np.zeros(H)
    ship = shp["ship"]
    ok = ship < H
    ship_day = np.floor(ship[ok]).astype(int)
    np.add.at(shipping, ship_day, shp["cost"][ok])
    per_shipment = np.array([w.handling_cost_per_order for w in s.warehouses], dtype=float)
    np.add.at(handling, ship_day, per_shipment[shp["wh"][ok].astype(int)])
    fixed = sum(w.fixed_cost_per_day for w, is_open in zip(s.warehouses, open_warehouses(s)) if is_open)
    picker_days = np.zeros(H)
    labour = np.zeros(H)
    for times, caps, hourly in rec.pickers:
        per_day = picker_days_per_day(times, caps, H)
        picker_days += per_day
        labour += per_day * 24.0 * hourly
    release = np.sort(shp["release"][~np.isnan(shp["release"])])
    left = np.sort(np.where(np.isnan(ship), np.inf, ship)[~np.isnan(shp["release"])])
    backlog = np.searchsorted(release, ends, side="right") - np.searchsorted(left, ends, side="right")
    shipped_day = np.bincount(np.floor(ship[ok]).astype(int), minlength=H)[:H]
    kept = orders["stage"] != 4
    due = kept & (orders["deadline"] <= H)
    in_time = due & (orders["deliver"] <= orders["deadline"])
    due_day = (orders["deadline"] - 1).astype(int)
    due_by_day = np.bincount(due_day[due], minlength=H)[:H]
    on_time_by_day = np.bincount(due_day[in_time], minlength=H)[:H]
    late_by_day = due_by_day - on_time_by_day
    got = kept & (orders["deliver"] < H)
    delivered_by_day = np.bincount(np.floor(orders["deliver"][got]).astype(int), minlength=H)[:H]
    return {
        "shipping_cost": shipping,
        "handling_cost": handling,
        "labour_cost": labour,
        "warehouse_fixed_cost": np.full(H, float(fixed)),
        "scheduled_picker_days": picker_days,
        "backlog_end": backlog.astype(float),
        "shipments_shipped": shipped_day.astype(float),
        "late_orders": late_by_day.astype(float),
        "orders_due": due_by_day.astype(float),
        "delivered_on_time": on_time_by_day.astype(float),
        "delivered": delivered_by_day.astype(float),
    }


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else float("nan")


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if len(x) else float("nan")


def _pct(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q)) if len(x) else float("nan")


#: KPIs that follow the orders placed in the span (the others sum or average the span's days).
#: Fill rates, lost and backordered units count at the moment an order is placed, so their daily
#: sums over the span are those of the span's orders.
PER_ORDER = (
    "orders",
    "marketing_orders",
    "units_demanded",
    "unit_fill_rate",
    "line_fill_rate",
    "order_fill_rate",
    "lost_units",
    "lost_sales_value",
    "backordered_units",
    "mean_order_delay_days",
    "order_cycle_time_days",
    "click_to_door_days",
    "click_to_door_p50",
    "click_to_door_p90",
    "click_to_door_p95",
    "on_time_rate",
    "late_orders",
    "late_delivery_cost",
    "split_shipment_rate",
)
#: Per order only in a window (kpi_window or an event); per day after a plain warm-up cut.
PER_ORDER_IN_WINDOW = ("shipping_cost", "handling_cost", "shipping_cost_per_order")


def kpi_span(scenario: Scenario) -> tuple[int, int]:
    """(first day, last day + 1) the KPIs cover: the kpi_window, or the days after the warm-up."""
    w = scenario.kpi_window
    if w is None:
        return warmup_days_of(scenario), scenario.horizon_days
    return (w.start - scenario.start_date).days, (w.end - scenario.start_date).days + 1


def event_windows(scenario: Scenario) -> list[tuple[str, int, int]]:
    """(label, first day, last day + 1) per promotion event in the horizon, margin included.

    The label is the promotion's name and its first date, e.g. ``double11 2026-11-11``; the
    span is the event days plus ``event_kpis.margin_days`` on each side, cut to the horizon.
    """
    cfg, H = scenario.event_kpis, scenario.horizon_days
    if not cfg.enabled:
        return []
    out = []
    for first, end, promo in promotion_days(scenario):
        if end <= 0 or first >= H:
            continue  # only its dip or hangover lies in the horizon
        label = f"{promo.name} {scenario.start_date + dt.timedelta(days=first)}"
        out.append((label, max(first - cfg.margin_days, 0), min(end + cfg.margin_days, H)))
    return out


def _span_sums(d: pd.DataFrame) -> dict[str, float]:
    """Sum over the span's days of every daily column (the day number, date and warm-up flag excepted)."""
    return {c: float(d[c].sum()) for c in d.columns if c not in ("date", "warmup", "day")}


def _window_shipping(scenario: Scenario, orders: dict, shp: dict, a: int, b: int) -> dict[str, float]:
    """Shipping and handling costs of the shipments (left by the horizon) of the orders placed in [a, b)."""
    placed_at = orders["arrival"][shp["order"].astype(np.int64)]
    mine = (placed_at >= a) & (placed_at < b) & (shp["ship"] < scenario.horizon_days)
    per_shipment = np.array([w.handling_cost_per_order for w in scenario.warehouses], dtype=float)
    return {
        "shipping_cost": float(shp["cost"][mine].sum()),
        "handling_cost": float(per_shipment[shp["wh"][mine].astype(int)].sum()),
    }


#: daily end-of-day column -> the time-integral column it replaces under ``costs.cost_basis: period_end``
PERIOD_END_COLUMNS = {
    "on_hand_units": "on_hand_units_end",
    "inventory_value": "inventory_value_end",
    "backorder_unit_days": "backorder_units_end",
}


def period_end_day(scenario: Scenario, days: np.ndarray) -> np.ndarray:
    """The day whose end-of-day stock ``cost_basis: period_end`` charges for each of ``days``.

    Periodic review (every R days, reviews at the start of days 0, R, 2R, ...): the last day of
    the review period holding the day, R floor(d / R) + R - 1 (at most the horizon's last day), so
    each period is charged R times its end-of-period stock, as periodic-review textbooks do.
    Continuous review: the day itself (its end-of-day stock).
    """
    policy = scenario.inventory.policy
    if not policy.periodic:
        return days
    R = policy.review_period_days
    return np.minimum((days // R) * R + R - 1, scenario.horizon_days - 1)


def _period_end_sums(scenario: Scenario, daily: pd.DataFrame, d: pd.DataFrame) -> dict[str, float]:
    """The span's stock and backorder unit-days (and value-days) on the period-end basis (``PERIOD_END_COLUMNS``)."""
    ends = period_end_day(scenario, d["day"].to_numpy())
    by_day = daily.set_index("day")
    return {col: float(by_day[end_col].reindex(ends).sum()) for col, end_col in PERIOD_END_COLUMNS.items()}


def _stock_kpis(S: dict[str, float], d: pd.DataFrame) -> dict[str, float]:
    """Sales, fill rates and stock KPIs from the span's daily sums ``S`` (``d``: the span's daily rows)."""
    days = len(d)
    avg_value = S["inventory_value"] / days
    return {
        "orders": S["orders"],
        "expected_orders": S["expected_orders"],
        "units_demanded": S["units_demanded"],
        "units_shipped": S["units_shipped"],
        "revenue": S["revenue"],
        "cost_of_goods_sold": S["cogs"],
        "gross_margin": S["revenue"] - S["cogs"],
        "unit_fill_rate": _ratio(S["units_filled_now"], S["units_demanded"]),
        "line_fill_rate": _ratio(S["lines_filled_now"], S["lines"]),
        "order_fill_rate": _ratio(S["orders_filled_now"], S["orders"]),
        "cycle_service_level": 1.0 - _ratio(S["stockout_cycles"], S["cycles"]),
        "lost_units": S["units_lost"],
        "lost_sales_value": S["lost_value"],
        "backordered_units": S["units_backordered"],
        "avg_backorder_units": S["backorder_unit_days"] / days,
        "avg_on_hand_units": S["on_hand_units"] / days,
        "avg_inventory_value": avg_value,
        "avg_overflow_units": S["overflow_unit_days"] / days,
        "max_overflow_units": float(d["overflow_units_max"].max()),
        "inventory_turnover": _ratio(S["cogs"] / days * 365.0, avg_value),
        "days_of_supply": _ratio(S["on_hand_units"] / days, S["units_shipped"] / days),
        "replenishment_orders": S["replenishment_orders"],
        "lead_time_deviation_days": S["lead_time_deviation_days"],
    }


def _cost_kpis(costs: Costs, S: dict[str, float], days: int, late: float) -> dict[str, float]:
    """The cost KPIs, their total and profit (see the identities in the module docstring)."""
    holding = S["inventory_value"] * costs.holding_rate_per_year / 365.0
    shortage = (
        S["backorder_unit_days"] * costs.backorder_cost_per_unit_day + S["units_lost"] * costs.lost_sale_cost_per_unit
    )
    late_cost = late * costs.late_delivery_cost_per_order
    total = (
        holding
        + S["ordering_cost"]
        + shortage
        + S["overflow_cost"]
        + S["marketing_spend"]
        + S["shipping_cost"]
        + S["handling_cost"]
        + S["labour_cost"]
        + S["warehouse_fixed_cost"]
        + late_cost
    )
    return {
        "holding_cost": holding,
        "ordering_cost": S["ordering_cost"],
        "shortage_cost": shortage,
        "overflow_cost": S["overflow_cost"],
        "marketing_cost": S["marketing_spend"],
        "shipping_cost": S["shipping_cost"],
        "handling_cost": S["handling_cost"],
        "labour_cost": S["labour_cost"],
        "warehouse_fixed_cost": S["warehouse_fixed_cost"],
        "late_delivery_cost": late_cost,
        "total_cost": total,
        "cost_per_day": total / days,
        "profit": (S["revenue"] - S["cogs"]) - total,
        "shipping_cost_per_order": _ratio(S["shipping_cost"], S["orders"]),
        "total_cost_per_order": _ratio(total, S["orders"]),
    }


def _marketing_kpis(S: dict[str, float]) -> dict[str, float]:
    """Incremental orders, their revenue, ROAS and CAC from the span's daily sums ``S``."""
    spend, orders, revenue = S["marketing_spend"], S["marketing_orders"], S["marketing_revenue"]
    return {
        "marketing_orders": orders,
        "marketing_revenue": revenue,
        "roas": _ratio(revenue, spend),
        "cac": _ratio(spend, orders),
    }


#: The per-channel table's columns (``channel_kpis``, ``channels.csv``) -> the KPI each is measured as.
CHANNEL_COLUMNS = {
    "spend": "marketing_cost",
    "orders": "marketing_orders",
    "revenue": "marketing_revenue",
    "roas": "roas",
    "cac": "cac",
}


def channel_kpis(
    scenario: Scenario,
    spend: np.ndarray,
    orders: np.ndarray,
    revenue: np.ndarray,
    span: tuple[int, int] | None = None,
) -> dict[str, dict[str, float]]:
    """Per marketing channel, over ``span`` (default ``kpi_span``): spend, incremental orders placed,
    their revenue (by day shipped), ROAS = revenue / spend and CAC = spend / orders (NaN for 0 / 0).

    ``spend``, ``orders``, ``revenue``: (channels, days) arrays; the channels' sums are the
    ``marketing_cost``, ``marketing_orders`` and ``marketing_revenue`` KPIs.
    """
    a, b = kpi_span(scenario) if span is None else span
    out = {}
    for c, ch in enumerate(scenario.demand.channels):
        sp, n, rev = (float(x[c, a:b].sum()) for x in (spend, orders, revenue))
        out[ch.name] = {"spend": sp, "orders": n, "revenue": rev, "roas": _ratio(rev, sp), "cac": _ratio(sp, n)}
    return out


def _picking_kpis(S: dict[str, float], d: pd.DataFrame, shp: dict, a: int, b: int, H: int) -> dict[str, float]:
    """Picking KPIs: lines, utilization, queue, and the waits of the shipments released in [a, b)."""
    s_post = (shp["release"] >= a) & (shp["release"] < b) & (shp["pick_start"] <= H)
    wait = shp["pick_start"][s_post] - shp["release"][s_post]
    return {
        "picks": S["picks"],
        "picker_utilization": _ratio(S["picker_busy_days"], S["scheduled_picker_days"]),
        "pick_queue_mean": S["pick_queue_mean"] / len(d),
        "pick_queue_max": float(d["pick_queue_max"].max()),
        "mean_pick_wait_minutes": _mean(wait) * 1440.0,
        "prob_pick_wait": _mean((wait > 1e-12).astype(float)),
    }


def _order_kpis(orders: dict, a: int, b: int, H: int) -> dict[str, float]:
    """Delay, cycle time, click-to-door, on-time and split KPIs of the orders placed in [a, b)."""
    placed = (orders["arrival"] >= a) & (orders["arrival"] < b)
    kept = placed & (orders["stage"] != 4)
    delay = orders["release"][kept] - orders["arrival"][kept]
    shipped = kept & (orders["ship"] <= H)
    delivered = kept & (orders["deliver"] <= H)
    c2d = orders["deliver"][delivered] - orders["arrival"][delivered]
    due = kept & (orders["deadline"] <= H)
    on_time = due & (orders["deliver"] <= orders["deadline"])
    return {
        "mean_order_delay_days": _mean(delay[np.isfinite(delay)]),
        "order_cycle_time_days": _mean(orders["ship"][shipped] - orders["arrival"][shipped]),
        "click_to_door_days": _mean(c2d),
        "click_to_door_p50": _pct(c2d, 50),
        "click_to_door_p90": _pct(c2d, 90),
        "click_to_door_p95": _pct(c2d, 95),
        "on_time_rate": _ratio(float(on_time.sum()), float(due.sum())),
        "late_orders": float(due.sum() - on_time.sum()),
        "split_shipment_rate": _ratio(float((orders["shipments"][kept] > 1).sum()), float(kept.sum())),
    }


def forecast_kpis(errors: ForecastErrors, a: int, b: int) -> dict[str, float]:
    """MAPE and bias, overall and per ABC class, pooled over the refit intervals ending in [a, b).

    MAPE = sum |F - A| / A / (pairs x intervals with A > 0); bias = sum (F - A) / sum A
    (see ``sim.model.forecast``); NaN when no interval ends in the span.
    """
    sums = errors.over(a, b)
    out = {}
    for g, name in enumerate(ERROR_GROUPS):
        suffix = "" if name == "all" else f"_{name.lower()}"
        ape, pairs, err, actual = sums[g]
        out[f"forecast_mape{suffix}"] = _ratio(ape, pairs)
        out[f"forecast_bias{suffix}"] = _ratio(err, actual)
    return out


def compute_kpis(
    scenario: Scenario,
    daily: pd.DataFrame,
    orders: dict,
    shp: dict,
    span: tuple[int, int] | None = None,
    forecast: ForecastErrors | None = None,
) -> dict[str, float]:
    """Every KPI over ``span`` = (first day, last day + 1); default ``kpi_span(scenario)``.

    Returns KPI name -> value, in the order of ``KPI_INFO``; they come from the records only:
    the daily table, the per-order arrays (``order_table``), the shipment columns and, with
    ``inventory.forecast``, the ``forecast`` error records (the ``FORECAST_KPIS`` exist only then).
    """
    H = scenario.horizon_days
    a, b = kpi_span(scenario) if span is None else span
    d = daily[(daily["day"] >= a) & (daily["day"] < b)]
    S = _span_sums(d)
    if scenario.inventory.costs.cost_basis == "period_end":
        S.update(_period_end_sums(scenario, daily, d))
    if span is not None or scenario.kpi_window is not None:  # the shipments of the orders placed in the window
        S.update(_window_shipping(scenario, orders, shp, a, b))
    flow = _order_kpis(orders, a, b, H)
    k = {
        **_stock_kpis(S, d),
        **_cost_kpis(scenario.inventory.costs, S, len(d), flow["late_orders"]),
        **_marketing_kpis(S),
        **_picking_kpis(S, d, shp, a, b, H),
        **flow,
    }
    if forecast is not None:
        k.update(forecast_kpis(forecast, a, b))
    expected = [name for name in KPI_INFO if forecast is not None or name not in FORECAST_KPIS]
    assert set(k) == set(expected), "KPI_INFO and compute_kpis must list the same KPIs"
    return {name: k[name] for name in expected}
