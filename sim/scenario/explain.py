"""Plain-words descriptions of a scenario (for ``validate`` and ``explain``)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sim.model.catalog import CatalogArrays, catalog_for
from sim.model.demand import DemandPlan, demand_plan, promotion_days
from sim.scenario.schema import Carrier, Picking, Promotion, Scenario, Supplier, Warehouse


def summary_line(s: Scenario) -> str:
    """One line: what the scenario sets up.

    >>> from sim.scenario.loader import load_scenario
    >>> summary_line(load_scenario("scenarios/classroom_sq.yaml"))[:30]
    "scenario 'classroom_sq': 1 SKU"
    """
    cat = catalog_for(s)
    abc = Counter(cat.abc.tolist())
    plan = demand_plan(s)
    p = s.inventory.policy
    review = f"periodic every {p.review_period_days} d" if p.periodic else "continuous"
    return (
        f"scenario '{s.name}': {cat.n} SKU{'s' if cat.n != 1 else ''} "
        f"(A {abc['A']} / B {abc['B']} / C {abc['C']}), {len(s.warehouses)} warehouse(s), "
        f"{len(s.suppliers)} supplier(s), {s.horizon_days} days ({s.warmup_days} warm-up), "
        f"{plan.rate.mean():.1f} orders/day expected (peak {plan.rate.max():.1f}), "
        f"policy {p.type} {review}, unmet demand {s.inventory.unmet_demand}"
    )


def explain(s: Scenario) -> str:
    """What a scenario sets up, in plain words (``run.py explain``).

    >>> from sim.scenario.loader import load_scenario
    >>> "Poisson" in explain(load_scenario("scenarios/classroom_sq.yaml"))
    True
    """
    plan = demand_plan(s)
    out = [
        *_time_catalogue_demand_lines(s, catalog_for(s), plan),
        *_promotion_lines(s),
        *_channel_lines(s, plan),
        _inventory_line(s),
        *(_supplier_line(sp) for sp in s.suppliers),
        *(_warehouse_line(w) for w in s.warehouses),
        *(_carrier_line(c) for c in s.carriers),
        *_routing_lines(s),
        *_optimizer_only_lines(s),
    ]
    return "\n".join(out)


def _warmup_text(s: Scenario) -> str:
    """``the first 5 are warm-up`` or, for ``auto``, how the warm-up will be found."""
    if s.warmup_days == "auto":
        return "the warm-up days found by MSER-5 on pilot replications when simulated"
    return f"the first {s.warmup_days} are warm-up"


def _time_catalogue_demand_lines(s: Scenario, cat: CatalogArrays, plan: DemandPlan) -> list[str]:
    """The title, the time line, the catalogue, the demand (and its scale) and the regions."""
    d = s.demand
    abc = Counter(cat.abc.tolist())
    return [
        f"{s.name}: {s.description}".rstrip(": "),
        f"- Time: {s.horizon_days} days from {s.start_date} ({_warmup_text(s)}, left out of "
        f"the KPIs); master seed {s.seed}.",
        f"- Catalogue: {cat.n} SKU(s), A/B/C {abc['A']}/{abc['B']}/{abc['C']} by revenue share; prices "
        f"{cat.price.min():,.2f}-{cat.price.max():,.2f} (popularity-weighted mean "
        f"{float(cat.popularity @ cat.price):,.2f}).",
        f"- Demand: {'Poisson' if d.arrivals == 'poisson' else 'evenly spaced'} order arrivals, "
        f"{d.base_orders_per_day:g} orders/day before factors; expected {plan.rate.mean():,.1f}/day on average, "
        f"{plan.rate.min():,.1f} on the quietest day, {plan.rate.max():,.1f} on the busiest; "
        f"{d.lines_per_order.mean:.2f} lines per order, {d.units_per_line.mean:.2f} units per line.",
        *demand_scale_lines(s),
        "- Regions: " + ", ".join(f"{r.name} {r.share:.0%} (promise {r.promise_days} d)" for r in d.regions) + ".",
    ]


def _promotion_lines(s: Scenario) -> list[str]:
    """One line per promotion occurrence in the horizon: date, length, uplift, discount, dip and hangover."""
    out = []
    for first, _end, promo in promotion_days(s):
        assert isinstance(promo, Promotion)  # for the type checker: promotion_days yields the scenario's promotions
        date = s.start_date + dt.timedelta(days=first)
        out.append(
            f"- Promotion {promo.name} on {date} for {promo.days} day(s): orders x{promo.uplift:g}, "
            f"{promo.discount:.0%} off"
            + (f", {promo.pre_days} days of x{promo.pre_factor:g} before" if promo.pre_days else "")
            + (f", {promo.post_days} days of x{promo.post_factor:g} after" if promo.post_days else "")
            + "."
        )
    return out


def _channel_lines(s: Scenario, plan: DemandPlan) -> list[str]:
    """One line per marketing channel: spend over the horizon and its response curve."""
    return [
        f"- Marketing {ch.name}: {spend.sum():,.0f} spent over the horizon, up to "
        f"{ch.max_extra_orders_per_day:g} extra orders/day (half of it at {ch.half_saturation_spend:,.0f}"
        f"/day)."
        for ch, spend in zip(s.demand.channels, plan.spend)
    ]


def _inventory_line(s: Scenario) -> str:
    """The policy, how it reviews, the levels given or derived, unmet demand and plan rows."""
    p = s.inventory.policy
    review = f"reviewed every {p.review_period_days} days" if p.periodic else "reviewed after every demand"
    given = [
        f"{k.replace('_', ' ')} {v:g}" if isinstance(v, float) else f"{k.replace('_', ' ')} {v}"
        for k, v in (
            ("reorder_point", p.reorder_point),
            ("order_quantity", p.order_quantity),
            ("order_up_to", p.order_up_to),
        )
        if v is not None
    ]
    levels = "order-up-to levels" if p.type in ("RS", "base_stock") else "reorder points"
    if len(given) < (2 if p.type in ("sQ", "sS", "RsS") else 1):
        given.append(f"omitted {levels} set for a {p.service_level:.0%} cycle service level")
    return (
        f"- Inventory: policy {p.type}, {review}; {', '.join(given)}; unmet demand is "
        f"{s.inventory.unmet_demand.replace('_', ' ')}"
        + (f"; {len(s.inventory.per_sku)} per-SKU rows (a plan)" if s.inventory.per_sku else "")
        + "."
    )


def _supplier_line(sp: Supplier) -> str:
    """A supplier's lead time and disruptions."""
    return (
        f"- Supplier {sp.name}: lead time mean {sp.lead_time_days.mean:g} d (sd "
        f"{sp.lead_time_days.std:.2g})"
        + (f", {len(sp.disruptions)} planned disruption(s)" if sp.disruptions else "")
        + (", random disruptions" if sp.random_disruptions else "")
        + "."
    )


def _picking_text(pk: Picking | None) -> str:
    """How a warehouse picks: instantly, in shifts or around the clock, extra event pickers, packing."""
    if pk is None:
        return "; picking is instant"
    if pk.shifts:
        text = f"; {len(pk.shifts)} picking shift(s), up to {max(x.pickers for x in pk.shifts)} pickers"
    else:
        text = f"; {pk.pickers} picker(s) around the clock"
    if pk.promo_extra_pickers:
        text += f" (+{pk.promo_extra_pickers} per shift on event days)"
    if pk.packing_stations:
        text += f"; {pk.packing_stations} packing station(s)"
    return text


def _warehouse_line(w: Warehouse) -> str:
    """A warehouse: regions, picking, cut-offs, storage and its costs."""
    text = f"- Warehouse {w.name}: serves {', '.join(w.regions) or 'the first region'}" + _picking_text(w.picking)
    if w.cutoff_hours:
        text += f"; carrier pick-ups at {', '.join(f'{h:g}:00' for h in w.cutoff_hours)}"
    if w.storage_units is not None:
        text += (
            f"; storage for {w.storage_units:,} units, more sits in overflow space at "
            f"{w.overflow_cost_per_unit_day:g} per unit-day"
        )
    if w.handling_cost_per_order:
        text += f"; handling {w.handling_cost_per_order:g} per shipment"
    if w.fixed_cost_per_day:
        text += f"; fixed cost {w.fixed_cost_per_day:g} per day while open"
    return text + "."


def _carrier_line(c: Carrier) -> str:
    """A carrier's price, transit, promise and capacity."""
    return (
        f"- Carrier {c.name}: {c.base_cost:g} per parcel + {c.cost_per_kg:g}/kg, transit mean "
        f"{c.transit_days.mean:g} d"
        + (f", promise {c.promise_days} d" if c.promise_days is not None else "")
        + (f", {c.daily_capacity} parcels/day per warehouse" if c.daily_capacity is not None else "")
        + "."
    )


def _routing_lines(s: Scenario) -> list[str]:
    """The routing rules, when there is more than one warehouse or any carrier to choose."""
    r = s.routing
    if not (s.carriers or len(s.warehouses) > 1):
        return []
    return [
        f"- Routing: warehouse by {r.warehouse.replace('_', ' ')}, carrier by {r.carrier}"
        + (f" ({r.express_carrier} from {r.express_min_order_value:g})" if r.carrier == "rule" else "")
        + (", split shipments allowed" if r.split_shipments else "")
        + "."
    ]


def _optimizer_only_lines(s: Scenario) -> list[str]:
    """The optimizer-only keys the scenario sets (the simulation ignores them), if any."""
    ignored = optimizer_only_settings(s)
    if not ignored:
        return []
    return [
        "- Optimizer-only keys (the simulation ignores them): "
        + ", ".join(
            f"{path} = {value:g} ({who})" if isinstance(value, float) else f"{path} = {value} ({who})"
            for path, value, who in ignored
        )
        + "."
    ]


def demand_scale_lines(s: Scenario) -> list[str]:
    """One line on ``demand.scale`` and ``inventory.plan_demand`` (none when demand is not scaled).

    >>> from sim.scenario.loader import load_scenario
    >>> demand_scale_lines(load_scenario("scenarios/baseline.yaml", ["demand.scale=3"]))
    ["- Demand scaled x3; reorder points and EOQ order quantities planned for today's demand (unscaled)."]
    >>> demand_scale_lines(load_scenario("scenarios/classroom_sq.yaml", ["demand.scale=3"]))
    ['- Demand scaled x3; reorder point and order quantity are given in the scenario and stay as written.']
    >>> demand_scale_lines(load_scenario("scenarios/classroom_sq.yaml"))
    []
    """
    scale = s.demand.scale
    if scale == 1 and "plan_demand" not in s.inventory.model_fields_set:
        return []
    derived = derived_levels(s)
    head = f"- Demand scaled x{scale:g}; "
    if not derived:
        return [head + "reorder point and order quantity are given in the scenario and stay as written."]
    if scale == 1:
        where = "planned for today's demand (scale 1)"
    elif s.inventory.plan_demand == "as_scaled":
        where = "planned for the scaled demand (as_scaled)"
    else:
        where = "planned for today's demand (unscaled)"
    return [head + f"{' and '.join(derived)} {where}."]


def derived_levels(s: Scenario) -> list[str]:
    """The replenishment parameters set from demand because the scenario omits them.

    >>> from sim.scenario.loader import load_scenario
    >>> derived_levels(load_scenario("scenarios/baseline.yaml"))
    ['reorder points', 'EOQ order quantities']
    """
    p = s.inventory.policy
    out = []
    if p.type in ("sQ", "sS", "RsS") and p.reorder_point is None:
        out.append("reorder points")
    if p.type in ("RS", "base_stock", "sS", "RsS") and p.order_up_to is None:
        out.append("order-up-to levels")
    if p.type == "sQ" and p.order_quantity in (None, "eoq"):
        out.append("EOQ order quantities")
    return out


def optimizer_only_settings(s: Scenario) -> list[tuple[str, object, str]]:
    """(key path, value, optimizer) of every key of ``OPTIMIZER_ONLY`` the scenario sets explicitly.

    >>> from sim.scenario.loader import load_scenario
    >>> optimizer_only_settings(load_scenario("scenarios/classroom_sq.yaml"))
    []
    """
    from sim.scenario.reference import OPTIMIZER_ONLY

    found = []
    for key, who in OPTIMIZER_ONLY.items():
        nodes = [("", s)]
        *parents, leaf = key.split(".")
        for part in parents:
            name, is_list = part.removesuffix("[]"), part.endswith("[]")
            step = []
            for path, node in nodes:
                child = getattr(node, name)
                if is_list:
                    step += [
                        (f"{path}{name}[{getattr(item, 'name', None) or i}].", item) for i, item in enumerate(child)
                    ]
                elif child is not None:
                    step.append((f"{path}{name}.", child))
            nodes = step
        found += [(f"{path}{leaf}", getattr(node, leaf), who) for path, node in nodes if leaf in node.model_fields_set]
    return found
