"""Cross-field rules of a scenario, each reported at its own key path.

``semantic_problems(scenario)`` returns ``[(key_path, message), ...]``; an empty
list means the scenario is consistent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sim.scenario.distributions import nonnegative
from sim.scenario.schema import Carrier, Picking, Routing, Scenario, Warehouse
from sim.scenario.yamlio import suggest

Found = list[tuple[tuple, str]]  # (key path, message) of each problem found


def _unique(items: Sequence[Any], path: tuple, out: Found) -> None:
    """A problem at every item whose ``name`` an earlier item already has."""
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.name in seen:
            out.append(((*path, i, "name"), f"duplicate name {item.name!r} (also at index {seen[item.name]})"))
        seen.setdefault(item.name, i)


def _check_demand(s: Scenario, out: Found) -> None:
    """Unique names, region shares that sum to 1, non-negative order sizes, spend periods, the peak rate."""
    d = s.demand
    _unique(d.regions, ("demand", "regions"), out)
    _unique(d.channels, ("demand", "channels"), out)
    _unique(d.promotions, ("demand", "promotions"), out)
    total = sum(r.share for r in d.regions)
    if abs(total - 1) > 1e-6:
        out.append((("demand", "regions"), f"region shares must sum to 1 (they sum to {total:.6g})"))
    for key in ("lines_per_order", "units_per_line"):
        if not nonnegative(getattr(d, key)):
            out.append((("demand", key), "must not produce negative values"))
    for i, ch in enumerate(d.channels):
        for j, period in enumerate(ch.schedule):
            if period.end < period.start:
                out.append(
                    (
                        ("demand", "channels", i, "schedule", j, "end"),
                        f"end {period.end} is before start {period.start}",
                    )
                )
    if not out:
        from sim.model.demand import demand_plan
        from sim.model.streams import POS_MASK

        peak = float(demand_plan(s).rate.max())
        if peak > POS_MASK / 2:  # every order of a day gets a position in its day's random streams
            out.append(
                (
                    ("demand", "base_orders_per_day"),
                    f"the expected orders peak at {peak:,.0f} a day; the simulator handles at most "
                    f"{POS_MASK // 2:,} a day",
                )
            )


def _check_network(s: Scenario, out: Found) -> None:
    """Warehouse regions that exist, supplier names, shares and lead times, disruptions in the horizon."""
    region_names = [r.name for r in s.demand.regions]
    _unique(s.warehouses, ("warehouses",), out)
    _unique(s.suppliers, ("suppliers",), out)
    for i, w in enumerate(s.warehouses):
        for j, r in enumerate(w.regions):
            if r not in region_names:
                out.append((("warehouses", i, "regions", j), f"unknown region {r!r}{suggest(r, region_names)}"))
    shares = [sp.share for sp in s.suppliers if sp.share is not None]
    if sum(shares) > 1 + 1e-6:
        out.append((("suppliers",), f"supplier shares sum to {sum(shares):.6g}, more than 1"))
    for i, sp in enumerate(s.suppliers):
        if not nonnegative(sp.lead_time_days):
            out.append((("suppliers", i, "lead_time_days"), "lead times must not be negative"))
        for j, dis in enumerate(sp.disruptions):
            if dis.start_day >= s.horizon_days:
                out.append(
                    (
                        ("suppliers", i, "disruptions", j, "start_day"),
                        f"day {dis.start_day} is beyond the horizon ({s.horizon_days} days)",
                    )
                )


def _check_catalog(s: Scenario, out: Found) -> None:
    """Exactly one of skus or generate, ABC thresholds in order, SKU ids and suppliers, non-negative draws."""
    c = s.catalog
    if (c.skus is None) == (c.generate is None):
        out.append((("catalog",), "give exactly one of 'skus' (a list) or 'generate' (a generator)"))
        return
    if c.abc_thresholds[0] > c.abc_thresholds[1]:
        out.append((("catalog", "abc_thresholds"), "the A threshold must not exceed the B threshold"))
    supplier_names = [sp.name for sp in s.suppliers]
    if c.skus is not None:
        if len(c.skus) == 0:
            out.append((("catalog", "skus"), "the catalogue needs at least one SKU"))
        seen: dict[str, int] = {}
        for i, sku in enumerate(c.skus):
            if sku.id in seen:
                out.append((("catalog", "skus", i, "id"), f"duplicate SKU id {sku.id!r}"))
            seen.setdefault(sku.id, i)
            if sku.supplier is not None and sku.supplier not in supplier_names:
                out.append(
                    (
                        ("catalog", "skus", i, "supplier"),
                        f"unknown supplier {sku.supplier!r}{suggest(sku.supplier, supplier_names)}",
                    )
                )
        if c.skus and sum(sku.popularity for sku in c.skus) <= 0:
            out.append((("catalog", "skus"), "at least one SKU needs popularity > 0"))
    else:
        g = c.generate
        for key in ("price", "cost_ratio", "weight_kg"):
            if not nonnegative(getattr(g, key)):
                out.append((("catalog", "generate", key), "must not produce negative values"))


def _check_inventory(s: Scenario, out: Found) -> None:
    """The policy's keys fit its type (s < S, Q or S), per-SKU rows name SKUs and warehouses that exist."""
    p = s.inventory.policy
    base = ("inventory", "policy")
    if p.type in ("RS", "RsS") and p.review == "continuous":
        out.append(((*base, "review"), f"policy {p.type} reviews periodically; remove review or use sS/base_stock"))
    if (
        p.type in ("sS", "RsS")
        and p.reorder_point is not None
        and p.order_up_to is not None
        and p.reorder_point >= p.order_up_to
    ):
        out.append(
            ((*base, "reorder_point"), f"s ({p.reorder_point:g}) must be below S (order_up_to = {p.order_up_to:g})")
        )
    if p.type == "sQ" and p.order_up_to is not None:
        out.append(((*base, "order_up_to"), "an sQ policy orders a fixed quantity; set order_quantity instead"))
    if p.type in ("sS", "RS", "RsS", "base_stock") and p.order_quantity is not None:
        out.append(((*base, "order_quantity"), f"a {p.type} policy orders up to S; set order_up_to instead"))
    sku_ids = [sku.id for sku in s.catalog.skus] if s.catalog.skus is not None else None
    wh_names = [w.name for w in s.warehouses]
    for i, row in enumerate(s.inventory.per_sku):
        at = ("inventory", "per_sku", i)
        if sku_ids is not None and row.sku not in sku_ids:
            out.append(((*at, "sku"), f"unknown SKU {row.sku!r}{suggest(row.sku, sku_ids)}"))
        if row.warehouse is not None and row.warehouse not in wh_names:
            out.append(((*at, "warehouse"), f"unknown warehouse {row.warehouse!r}{suggest(row.warehouse, wh_names)}"))
        if (
            row.reorder_point is not None
            and row.order_up_to is not None
            and row.reorder_point >= row.order_up_to
            and p.type in ("sS", "RsS")
        ):
            out.append(((*at, "reorder_point"), f"s ({row.reorder_point:g}) must be below S ({row.order_up_to:g})"))


def _known(value: str, names: list[str], path: tuple, what: str, out: Found) -> None:
    """A problem at ``path`` unless ``value`` is one of ``names`` (with a 'did you mean')."""
    if value not in names:
        out.append((path, f"unknown {what} {value!r}{suggest(value, names)}"))


def _check_picking(p: Picking, at: tuple, out: Found) -> None:
    """Pickers or shifts (not both), shifts that end after they start, non-negative work times."""
    if p.pickers is None and not p.shifts:
        out.append(((*at, "picking"), "give 'pickers' (all day) or a 'shifts' schedule"))
    if p.pickers is not None and p.shifts:
        out.append(((*at, "picking", "pickers"), "give either 'pickers' or 'shifts', not both"))
    for j, sh in enumerate(p.shifts):
        if sh.end_hour <= sh.start_hour:
            out.append(
                (
                    (*at, "picking", "shifts", j, "end_hour"),
                    f"shift ends ({sh.end_hour:g}) before it starts ({sh.start_hour:g})",
                )
            )
    for key in ("setup_seconds", "seconds_per_line", "packing_seconds", "pick_time_seconds"):
        d = getattr(p, key)
        if d is not None and not nonnegative(d):
            out.append(((*at, "picking", key), "times must not be negative"))


def _check_warehouses(warehouses: list[Warehouse], out: Found) -> None:
    """Cut-off hours in increasing order and each warehouse's picking."""
    for i, w in enumerate(warehouses):
        at = ("warehouses", i)
        if list(w.cutoff_hours) != sorted(set(w.cutoff_hours)):
            out.append(((*at, "cutoff_hours"), "cut-off hours must be increasing and distinct"))
        if w.picking is not None:
            _check_picking(w.picking, at, out)


def _check_carriers(carriers: list[Carrier], whs: list[str], regions: list[str], out: Found) -> None:
    """Non-negative transit times; lanes between warehouses and regions that exist."""
    for i, c in enumerate(carriers):
        if not nonnegative(c.transit_days):
            out.append((("carriers", i, "transit_days"), "transit times must not be negative"))
        for j, lane in enumerate(c.lanes):
            at = ("carriers", i, "lanes", j)
            _known(lane.warehouse, whs, (*at, "warehouse"), "warehouse", out)
            _known(lane.region, regions, (*at, "region"), "region", out)
            if lane.transit_days is not None and not nonnegative(lane.transit_days):
                out.append(((*at, "transit_days"), "transit times must not be negative"))


def _check_lane_plan(r: Routing, whs: list[str], regions: list[str], carriers: list[str], out: Found) -> None:
    """lane_plan rows naming what exists, shares that sum to 1 per region, every region with a lane."""
    if r.warehouse == "lane_plan" and not r.lane_plan:
        out.append((("routing", "lane_plan"), "routing by lane_plan needs lane_plan rows"))
    totals: dict[str, float] = {}
    for j, row in enumerate(r.lane_plan):
        at = ("routing", "lane_plan", j)
        _known(row.region, regions, (*at, "region"), "region", out)
        _known(row.warehouse, whs, (*at, "warehouse"), "warehouse", out)
        _known(row.carrier, carriers, (*at, "carrier"), "carrier", out)
        totals[row.region] = totals.get(row.region, 0.0) + row.share
    for region, total in totals.items():
        if abs(total - 1) > 1e-6:
            out.append((("routing", "lane_plan"), f"shares of region {region!r} sum to {total:.6g}, not 1"))
    if r.warehouse == "lane_plan":
        for name in regions:
            if name not in totals:
                out.append((("routing", "lane_plan"), f"region {name!r} has no lane"))


def _check_fulfilment(s: Scenario, out: Found) -> None:
    """Warehouses (cut-offs, picking), carriers (transit, lanes) and routing (express carrier, lane plan)."""
    regions = [r.name for r in s.demand.regions]
    whs = [w.name for w in s.warehouses]
    carriers = [c.name for c in s.carriers]
    _unique(s.carriers, ("carriers",), out)
    _check_warehouses(s.warehouses, out)
    _check_carriers(s.carriers, whs, regions, out)
    r = s.routing
    if r.carrier == "rule":
        if r.express_carrier is None:
            out.append((("routing", "express_carrier"), "carrier rule 'rule' needs an express_carrier"))
        else:
            _known(r.express_carrier, carriers, ("routing", "express_carrier"), "carrier", out)
    _check_lane_plan(r, whs, regions, carriers, out)


def _check_window(s: Scenario, out: Found) -> None:
    """A KPI window that ends after it starts and lies within the horizon."""
    w = s.kpi_window
    if w is None:
        return
    first, last = s.start_date, s.start_date + dt.timedelta(days=s.horizon_days - 1)
    horizon = f"the horizon {first}..{last} (start_date + horizon_days)"
    if w.end < w.start:
        out.append((("kpi_window", "end"), f"end {w.end} is before start {w.start}"))
    for key, day in (("start", w.start), ("end", w.end)):
        if not first <= day <= last:
            out.append((("kpi_window", key), f"{day} is outside {horizon}; the window must lie within it"))


def _check_plan_skus(s: Scenario, out: Found) -> None:
    """Per-SKU rows of a generated catalogue name generated SKUs (builds the catalogue only if there are rows)."""
    if s.catalog.generate is not None and any(True for _ in s.inventory.per_sku):
        from sim.model.catalog import catalog_for

        ids = set(catalog_for(s).ids)
        for i, row in enumerate(s.inventory.per_sku):
            if row.sku not in ids:
                out.append((("inventory", "per_sku", i, "sku"), f"unknown SKU {row.sku!r}"))


def semantic_problems(s: Scenario) -> Found:
    """Every cross-field problem of a scenario as (key path, message), in a fixed order; [] when consistent.

    >>> from sim.scenario.loader import load_scenario
    >>> semantic_problems(load_scenario("scenarios/classroom_sq.yaml"))
    []
    """
    out: Found = []
    if s.warmup_days != "auto" and s.warmup_days >= s.horizon_days:
        out.append((("warmup_days",), f"must be shorter than horizon_days ({s.horizon_days})"))
    _check_window(s, out)
    _check_catalog(s, out)
    _check_demand(s, out)
    _check_network(s, out)
    _check_inventory(s, out)
    _check_fulfilment(s, out)
    _check_plan_skus(s, out)
    return out
