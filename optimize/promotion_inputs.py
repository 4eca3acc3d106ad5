"""What one extra order of a promotion is worth and what the warehouses can pick: the promotion LP's inputs.

All of it comes from the scenario through the simulator's own rules (``sim.model.economics``):
the margin of an order at the day's prices (``gross_margin_per_order``) less

* fulfilment (:func:`fulfilment_cost_per_order`: carrier by ``carrier_rule``, lane price by
  weight, plus handling),
* replenishment (:func:`replenishment_cost_per_unit`: more orders to suppliers and more stock
  under the scenario's reorder rules, with the simulator's order cost K and holding cost h),
* late delivery (``late_delivery_cost_per_order`` x the share of orders late in a pilot run,
  :func:`pilot_lateness`);

and the orders per day the shop and each warehouse can pick (:func:`shop_capacity`, from
``picking_capacity_per_day``). :func:`inputs_from` gathers them per day in :class:`Inputs`.

The priced capacity mode of the LP also needs what one more day in the pick backlog does to
an order's promise: :func:`pilot_lateness` measures it in the same pilot run, on the days the
pickers keep up (expected orders within ``CALM_UTILIZATION`` of capacity on the day and the
three before): the late share there (lateness the backlog does not cause), and the share of
orders delivered on time with less than a day to spare (those an extra day of waiting makes late).
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
from sim.scenario.schema import Scenario, warmup_days_of


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


def pilot_late_share(scenario: Scenario) -> float:
    """Share of orders delivered late in pilot runs of the scenario as it is."""
    return pilot_lateness(scenario).overall_share


#: A day is calm when its expected orders (and those of the three days before) are within this share of capacity.
CALM_UTILIZATION = 0.8


@dataclass(frozen=True)
class Lateness:
    """Lateness of the scenario as it is, from pilot runs (:func:`pilot_lateness`)."""

    overall_share: float  # late / due orders after the warm-up, as the on_time_rate KPI counts them
    calm_share: float  # late / due orders placed on calm days: lateness a pick backlog does not cause
    per_backlog_day: float  # late orders per backlog order-day (the priced LP's q)
    tight_share: float  # on-time orders of calm days with < 1 day to spare / due: made late by a day's wait
    source: str  # where per_backlog_day comes from: "backlog" (measured) or "promises" (tight_share)
    calm_orders: int  # due orders of the calm days the calm figures come from


def calm_days(scenario: Scenario) -> np.ndarray:
    """(horizon,) True where the day's and the three previous days' expected orders are within
    ``CALM_UTILIZATION`` of the shop's picking capacity (every day when nothing is picked)."""
    plan = demand_plan(scenario)
    capacity, _ = shop_capacity(scenario, plan.event)
    ok = plan.rate <= CALM_UTILIZATION * capacity
    calm = ok.copy()
    for lag in (1, 2, 3):
        calm[lag:] &= ok[:-lag]
    return calm


def fluid_backlog(scenario: Scenario) -> np.ndarray:
    """(days,) pick backlog (orders, summed over warehouses) at each day's end of the scenario as it is:
    b_w,d = max(b_w,d-1 + s_w x expected orders_d - capacity_w,d, 0)."""
    plan = demand_plan(scenario)
    wc = warehouse_capacity(scenario, plan.event)
    b, out = np.zeros(len(wc.names)), np.zeros(scenario.horizon_days)
    for d in range(scenario.horizon_days):
        b = np.maximum(b + wc.share * plan.rate[d] - wc.capacity[:, d], 0.0)
        out[d] = b.sum()
    return out


#: Backlog order-days the scenario as it is must have for q to be measured rather than taken from the promises.
MEASURED_BACKLOG = 50.0


def _backlog_window(backlog: np.ndarray) -> np.ndarray:
    """Days whose orders a backlog delays: from the day before each backlog day to three days after."""
    win = np.zeros(len(backlog), dtype=bool)
    for d in np.flatnonzero(backlog > 1e-9):
        win[max(d - 1, 0) : d + 4] = True
    return win


def pilot_lateness(scenario: Scenario, runs: int = 2) -> Lateness:
    """:class:`Lateness` measured in ``runs`` simulated runs of the scenario as it is (orders after the warm-up).

    The priced LP's q, late orders per order-day of pick backlog: when the scenario as it is
    has a backlog (at least ``MEASURED_BACKLOG`` order-days of :func:`fluid_backlog`), the late
    orders placed around it beyond the calm late share, per backlog order-day; this counts
    the queueing near capacity that the day-level backlog misses. Otherwise the promises'
    ``tight_share``: an order-day of waiting makes late the orders with less than a day to spare.
    """
    from sim.model.shop import simulate
    from sim.model.streams import replication_seed

    H = scenario.horizon_days
    calm_day, backlog = calm_days(scenario), fluid_backlog(scenario)
    window = _backlog_window(backlog) & (np.arange(H) >= warmup_days_of(scenario))
    n = {"due": 0, "on_time": 0, "calm": 0, "calm_on_time": 0, "tight": 0, "win": 0, "win_late": 0}
    for r in range(runs):
        o = simulate(scenario, replication_seed(scenario.seed, r), record_orders=True).orders
        assert o is not None  # record_orders=True
        arrival, deliver, deadline = (o[c].to_numpy(float) for c in ("arrival", "deliver", "deadline"))
        day = np.minimum(np.floor(arrival).astype(np.int64), H - 1)
        due = (o["stage"].to_numpy() != "lost") & (deadline <= H) & (arrival >= warmup_days_of(scenario))
        on_time = due & (deliver <= deadline)  # NaN (not delivered) compares False
        calm = due & calm_day[day]
        for key, mask in (("due", due), ("on_time", on_time), ("calm", calm), ("calm_on_time", calm & on_time)):
            n[key] += int(mask.sum())
        n["tight"] += int((calm & on_time & (deadline - deliver < 1.0)).sum())
        n["win"] += int((due & window[day]).sum())
        n["win_late"] += int((due & ~on_time & window[day]).sum())
    calm_share = 1.0 - n["calm_on_time"] / n["calm"] if n["calm"] else 0.0
    tight = n["tight"] / n["calm"] if n["calm"] else 0.0
    measured = backlog[window].sum() >= MEASURED_BACKLOG
    excess = (n["win_late"] - calm_share * n["win"]) / runs
    return Lateness(
        overall_share=1.0 - n["on_time"] / n["due"] if n["due"] else 0.0,
        calm_share=calm_share,
        per_backlog_day=max(excess / backlog[window].sum(), 0.0) if measured else tight,
        tight_share=tight,
        source="backlog" if measured else "promises",
        calm_orders=n["calm"] // runs,
    )


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
    event: np.ndarray  # bool per day: a promotion event runs (channel event multipliers apply)
    warehouses: WarehouseCapacity  # per picking warehouse (the priced mode's backlogs)


@dataclass(frozen=True)
class WarehouseCapacity:
    """Per picking warehouse: orders/day it can pick, its share of the orders, and one more picker's worth."""

    names: list[str]
    capacity: np.ndarray  # (W, days) orders/day it can pick
    share: np.ndarray  # (W,) share of all orders it serves
    shift_hours: np.ndarray  # (W, days) length of the day's longest shift there (8 h when pickers work all day)
    orders_per_picker_shift: np.ndarray  # (W, days) orders one more picker adds over that shift


def _shift_hours(wh, dates: list[dt.date]) -> np.ndarray:
    """Length of the longest shift of each day at ``wh`` (8 h for all-day pickers or a day without shifts)."""
    shifts = wh.picking.shifts
    out = np.full(len(dates), 8.0)
    for i, day in enumerate(dates):
        hours = [sh.end_hour - sh.start_hour for sh in shifts if day.weekday() in sh.weekdays]
        if hours:
            out[i] = max(hours)
    return out


def warehouse_capacity(scenario: Scenario, event_days: np.ndarray, max_utilization: float = 1.0) -> WarehouseCapacity:
    """:class:`WarehouseCapacity` of the warehouses with a picking model that serve some orders."""
    s = scenario
    dates = [s.start_date + dt.timedelta(days=i) for i in range(s.horizon_days)]
    share_w = warehouse_shares(s)
    keep = [i for i, w in enumerate(s.warehouses) if w.picking is not None and share_w[i] > 0]
    hours = np.array([_shift_hours(s.warehouses[i], dates) for i in keep]).reshape(len(keep), len(dates))
    job = np.array([job_seconds_per_order(s, s.warehouses[i]) for i in keep])
    return WarehouseCapacity(
        names=[s.warehouses[i].name for i in keep],
        capacity=np.array(
            [picking_capacity_per_day(s, s.warehouses[i], event_days, max_utilization) for i in keep]
        ).reshape(len(keep), len(dates)),
        share=share_w[keep],
        shift_hours=hours,
        orders_per_picker_shift=hours * 3600.0 / job[:, None] * max_utilization if len(keep) else hours,
    )


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


def inputs_from(scenario: Scenario, max_utilization: float = 1.0, late_share: float | None = None) -> Inputs:
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
    capacity, _ = shop_capacity(s, plan.event, max_utilization)
    return Inputs(
        days=s.horizon_days,
        dates=[s.start_date + dt.timedelta(days=i) for i in range(s.horizon_days)],
        base_orders=plan.base_rate,
        margin=np.asarray(margin),
        costs_per_order={"fulfilment": fulfil, "replenishment": replenish, "late_delivery": late_share * late_cost},
        revenue_per_order=np.asarray(revenue),
        units_per_order=units,
        capacity=capacity,
        event=plan.event,
        warehouses=warehouse_capacity(s, plan.event, max_utilization),
    )
