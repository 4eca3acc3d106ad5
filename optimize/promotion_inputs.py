"""What one extra order of a promotion is worth and what the warehouses can pick: the promotion LP's inputs.

All of it comes from the scenario through the simulator's own rules (``sim.model.economics``):
the margin of an order at the day's prices (``gross_margin_per_order``) less

* fulfilment (:func:`fulfilment_cost_per_order`: carrier by ``carrier_rule``, lane price by
  weight, plus handling),
* replenishment (:func:`replenishment_cost_per_unit`: more orders to suppliers and more stock
  under the scenario's reorder rules, with the simulator's order cost K and holding cost h),
* late delivery (``late_delivery_cost_per_order`` x the share of orders late in a pilot run,
  :func:`pilot_late_share`);

and the orders per day the shop can pick (:func:`shop_capacity`, from
``picking_capacity_per_day``). :func:`inputs_from` gathers them per day in :class:`Inputs`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np

from sim.model.catalog import CatalogArrays, catalog_for
from sim.model.delivery import Carriers
from sim.model.demand import DemandPlan, demand_plan, draw_counts
from sim.model.economics import (
    carrier_rule,
    gross_margin_per_order,
    holding_cost_per_unit_year,
    job_seconds_per_order,
    pair_order_costs,
    picking_capacity_per_day,
    units_per_order,
)
from sim.model.policy import PolicyArrays, region_warehouse, resolve_policy, warehouse_shares
from sim.scenario.schema import Scenario


def _sample_orders(scenario: Scenario, orders: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``orders`` orders drawn like the simulator draws them: (value, weight kg, region, warehouse) of each.

    Lines per order, SKUs by popularity, units per line and the region, in that order from one
    generator seeded with ``seed``; the warehouse is the region's own (``region_warehouse``).
    """
    s = scenario
    d = s.demand
    cat = catalog_for(s)
    rng = np.random.default_rng(seed)
    lines = draw_counts(d.lines_per_order, rng, orders)
    starts = np.concatenate([[0], np.cumsum(lines)[:-1]])
    cum = np.cumsum(cat.popularity)
    cum[-1] = 1.0
    sku = np.searchsorted(cum, rng.random(int(lines.sum())), side="right")
    qty = draw_counts(d.units_per_line, rng, len(sku))
    value = np.add.reduceat(qty * cat.price[sku], starts)
    weight = np.add.reduceat(qty * cat.weight_kg[sku], starts)
    region = rng.choice(len(d.regions), size=orders, p=[r.share for r in d.regions])
    rw = region_warehouse(s)
    wh = np.array([rw[r.name] for r in d.regions])[region]
    return value, weight, region, wh


def fulfilment_cost_per_order(scenario: Scenario, orders: int = 20_000, seed: int = 0) -> float:
    """Expected carrier + handling cost of one order under the scenario's own routing rules.

    A Monte Carlo of ``orders`` orders drawn like the simulator draws them (lines, SKUs by
    popularity, units, region); each goes to its region's warehouse and to the carrier the
    simulator's rule picks (``sim.model.economics.carrier_rule``: cheapest, fastest, or express
    from ``express_min_order_value``), priced on its lane by weight. Carrier capacity and
    disruptions are ignored.
    """
    s = scenario
    car = Carriers(s)
    value, weight, region, wh = _sample_orders(s, orders, seed)
    choose = carrier_rule(s, car)
    handling = [w.handling_cost_per_order for w in s.warehouses]
    total = 0.0
    for i in range(orders):
        w, r, kg = int(wh[i]), int(region[i]), float(weight[i])
        c = choose(w, r, kg, value[i])
        total += car.cost(c, w, r, kg) + handling[w]
    return total / orders


def _cycle_and_level(pol: PolicyArrays) -> tuple[np.ndarray, np.ndarray]:
    """(order quantity, reorder level) of every pair under the resolved policy, as the yearly cost uses them."""
    mu = pol.mean_daily_demand
    R = pol.review_period_days if pol.periodic else 0
    if pol.kind == "sQ":
        return pol.order_quantity, pol.reorder_point
    if pol.kind in ("sS", "RsS"):
        return np.maximum(pol.order_up_to - pol.reorder_point, 1.0), pol.reorder_point
    # RS / base stock: an order each review (or each unit), up to S
    return np.maximum(mu * max(R, 1), 1.0), pol.order_up_to - mu * R


def _yearly_replenishment(
    scenario: Scenario, catalog: CatalogArrays, plan: DemandPlan, scale: float
) -> tuple[float, float]:
    """(yearly ordering + holding cost, yearly units) of all pairs with every demand scaled by ``scale``.

    Orders per year x order cost K (``pair_order_costs``) + holding cost h
    (``holding_cost_per_unit_year``) x (half an order quantity + safety stock above the
    lead-time demand).
    """
    s = scenario
    sup = [s.suppliers[j] for j in catalog.supplier]
    K = pair_order_costs(s, catalog)
    h = holding_cost_per_unit_year(s, catalog)
    T = np.tile([x.lead_time_days.mean for x in sup], len(s.warehouses))
    scaled = dataclasses.replace(plan, base_rate=plan.base_rate * scale, marketing_orders=plan.marketing_orders * scale)
    pol = resolve_policy(s, catalog, scaled)
    mu = pol.mean_daily_demand
    R = pol.review_period_days if pol.periodic else 0
    q, level = _cycle_and_level(pol)
    orders = mu * 365.0 / q
    safety = np.maximum(level - mu * (T + R), 0.0)
    return float(np.sum(orders * K + h * (q / 2.0 + safety))), float(mu.sum() * 365.0)


def replenishment_cost_per_unit(scenario: Scenario, step: float = 0.01) -> float:
    """Holding + ordering cost of one more unit sold, under the scenario's own replenishment rules.

    The yearly cost of every (warehouse, SKU) is approximated the textbook way: orders per
    year x order cost + holding cost x (half an order quantity of cycle stock + safety stock
    above the lead-time demand). Reorder points and EOQ quantities that the scenario derives
    from demand (``service_level``, ``order_quantity: eoq``) grow with it, so the cost of one
    more unit is the derivative of that total: a finite difference with all demand scaled
    by 1 + ``step``. For EOQ alone it is sqrt(K h / 2D) per unit, the slope of sqrt(2 K D h).
    """
    cat = catalog_for(scenario)
    plan = demand_plan(scenario)
    c0, u0 = _yearly_replenishment(scenario, cat, plan, 1.0)
    c1, u1 = _yearly_replenishment(scenario, cat, plan, 1.0 + step)
    return (c1 - c0) / (u1 - u0) if u1 > u0 else 0.0


def pilot_late_share(scenario: Scenario, seed: int | None = None) -> float:
    """Share of orders delivered late in one simulated run of the scenario as it is."""
    from sim.model.shop import simulate

    rate = simulate(scenario, seed).kpis["on_time_rate"]
    return 0.0 if not np.isfinite(rate) else 1.0 - float(rate)


@dataclass
class Inputs:
    """Per-day inputs of the promotion LP, all derived from the scenario (see :func:`inputs_from`)."""

    days: int
    dates: list[dt.date]
    base_orders: np.ndarray  # expected orders/day without marketing
    margin: np.ndarray  # profit per extra order, per day (before spend)
    costs_per_order: dict  # the variable costs in the margin: fulfilment, replenishment, late delivery
    revenue_per_order: np.ndarray
    units_per_order: float
    capacity: np.ndarray  # orders/day the warehouses can pick (inf: no limit)
    orders_per_picker_shift: float
    event: np.ndarray  # bool per day: a promotion event runs (channel event multipliers apply)


def shop_capacity(
    scenario: Scenario, event_days: np.ndarray, max_utilization: float = 1.0
) -> tuple[np.ndarray, list[float]]:
    """(orders/day the shop can pick on each day, seconds of a one-order job per picking warehouse).

    Each warehouse picks ``sim.model.economics.picking_capacity_per_day`` and serves its
    regions' share of the orders, so the shop is full at the order rate where the first
    warehouse is: min over w of capacity_w / share_w (inf when no warehouse has a picking model).
    """
    s = scenario
    capacity = np.full(s.horizon_days, np.inf)
    job_seconds = []
    share_w = warehouse_shares(s)
    for wi, wh in enumerate(s.warehouses):
        if wh.picking is None:
            continue
        job_seconds.append(job_seconds_per_order(s, wh))
        day_cap = picking_capacity_per_day(s, wh, event_days, max_utilization)
        if share_w[wi] > 0:  # total orders/day at which this warehouse (serving its share) is full
            capacity = np.minimum(capacity, day_cap / share_w[wi])
    return capacity, job_seconds


def inputs_from(
    scenario: Scenario, max_utilization: float = 1.0, shift_hours: float = 8.0, late_share: float | None = None
) -> Inputs:
    """Per-day inputs of the LP; ``late_share`` = share of orders delivered late (a pilot run if
    omitted and late deliveries cost something).

    The margin of an extra order is ``sim.model.economics.gross_margin_per_order`` at the day's
    prices less fulfilment, replenishment and late-delivery costs; capacity is :func:`shop_capacity`.
    """
    s = scenario
    cat = catalog_for(s)
    plan = demand_plan(s)
    units = units_per_order(s)
    fulfil = fulfilment_cost_per_order(s) if s.carriers else 0.0
    replenish = units * replenishment_cost_per_unit(s)
    late_cost = s.inventory.costs.late_delivery_cost_per_order
    if late_share is None:
        late_share = pilot_late_share(s) if late_cost > 0 and s.carriers else 0.0
    revenue, gross = gross_margin_per_order(s, cat, plan.price_factor)
    margin = gross - fulfil - replenish - late_share * late_cost
    capacity, job_seconds = shop_capacity(s, plan.event, max_utilization)
    # a picker-shift adds orders at the same utilization the capacity assumes
    per_shift = shift_hours * 3600.0 / float(np.mean(job_seconds)) * max_utilization if job_seconds else float("inf")
    return Inputs(
        days=s.horizon_days,
        dates=[s.start_date + dt.timedelta(days=i) for i in range(s.horizon_days)],
        base_orders=plan.base_rate,
        margin=np.asarray(margin),
        costs_per_order={"fulfilment": fulfil, "replenishment": replenish, "late_delivery": late_share * late_cost},
        revenue_per_order=np.asarray(revenue),
        units_per_order=units,
        capacity=capacity,
        orders_per_picker_shift=per_shift,
        event=plan.event,
    )
