"""Wire demand, inventory and fulfilment into one SimPy environment: ``simulate(scenario, seed)``.

Time is measured in days since ``start_date``. One process walks through the
days: at each day boundary it runs the periodic review (if due), draws the
day's orders in one numpy batch, records them in the ``OrderLog`` in one block and
then serves them at their arrival times, waking the SimPy clock only when an
event (a wave, the day's close) is due first.
Routing (``Router.route``) decides the shipments, the inventory allocates their
lines (``InventorySystem.allocate``), fulfilment moves them on. Replenishment
receipts are taken in time order by whatever reads the stock next
(``InventorySystem.receive_due``); nothing runs per SKU.

>>> from sim.scenario.loader import load_scenario
>>> r = simulate(load_scenario("scenarios/classroom_sq.yaml", ["horizon_days=200"]), seed=3)
>>> r.kpis["orders"] > 0 and 0 <= r.kpis["unit_fill_rate"] <= 1
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

import numpy as np
import pandas as pd
import simpy

from sim.metrics import (
    DAILY_EXTRA,
    STAGES,
    channel_kpis,
    compute_kpis,
    daily_fulfilment,
    event_windows,
    order_table,
)
from sim.model.catalog import catalog_for
from sim.model.demand import DayOrders, DemandGenerator, demand_plan, planning_plan
from sim.model.forecast import DemandForecaster
from sim.model.fulfilment import Fulfilment
from sim.model.inventory import DAY_CLOSE_PRIORITY, DayCounters, InventorySystem, call_at
from sim.model.logs import OrderLog, RunRecords
from sim.model.policy import PolicyArrays, derived_levels, resolve_policy
from sim.model.streams import DayStream, Streams, order_key
from sim.model.suppliers import SupplierModel
from sim.scenario.loader import day_date
from sim.scenario.schema import Scenario, warmup_days_of


@dataclass(frozen=True)
class SimulationResult:
    """What one replication produced.

    ``kpis``: KPI name -> value over the days after warm-up (or over the ``kpi_window``).
    ``daily``: one row per simulated day (warm-up included, flagged).
    ``state``: end-of-run arrays per (warehouse, SKU) for accounting checks.
    ``order_status``: how every order ended (delivered / in_transit / in_warehouse / backordered / lost).
    ``orders``: one row per order when ``record_orders=True``.
    ``event_kpis``: event label (``double11 2026-11-11``) -> the same KPIs over that promotion's
    days plus ``event_kpis.margin_days`` on each side (see ``sim.metrics.event_windows``).
    ``policy``: the replenishment levels the run used (``sim.model.policy.PolicyArrays``).
    ``shipments``: the shipment columns (``sim.model.logs.ShipmentLog.SCHEMA``) as arrays.
    ``order_arrival``: every order's arrival time (days since ``start_date``).
    ``channel_kpis``: marketing channel name -> its spend, incremental orders, their revenue, ROAS and
    CAC over the KPI span (``sim.metrics.channel_kpis``); empty without channels.
    """

    seed: int
    kpis: dict[str, float]
    daily: pd.DataFrame
    state: dict[str, np.ndarray]
    order_status: dict[str, int]
    policy: PolicyArrays
    shipments: dict[str, np.ndarray]
    order_arrival: np.ndarray
    orders: pd.DataFrame | None = None
    event_kpis: dict[str, dict[str, float]] = field(default_factory=dict)
    channel_kpis: dict[str, dict[str, float]] = field(default_factory=dict)


class _Day(NamedTuple):
    """One day's orders as Python lists (cheap scalar access in the per-order loop); order i has lines
    ``starts[i]:starts[i + 1]`` of ``skus``/``qtys``; ``units``/``weight``/``value`` are its totals;
    its id is ``first_order + i``, and (when every order ships whole from its own warehouse) its
    shipment is ``first_shipment + i``."""

    d: int
    n: int
    times: list[float]
    regions: list[int]
    starts: list[int]
    skus: list[int]
    qtys: list[int]
    u_route: list[float]
    units: list[float]
    weight: list[float]
    value: list[float]
    sources: list[int]
    price_factor: float
    first_order: int
    first_shipment: int


class ShopModel:
    """One replication of a scenario: the SimPy environment and the parts it wires together.

    ``days()`` is the one process of the day loop; ``run()`` plays the horizon and returns the result.
    """

    def __init__(self, scenario: Scenario, seed: int):
        self.scenario = scenario
        self.seed = seed
        self.env = simpy.Environment()
        self.streams = Streams(seed)
        self.catalog = catalog_for(scenario)
        self.plan = demand_plan(scenario)
        self.policy = resolve_policy(scenario, self.catalog, planning_plan(scenario, self.plan))
        suppliers = SupplierModel(scenario, seed, self.streams.disruption, len(scenario.warehouses) * self.catalog.n)
        expected = float(self.plan.rate.sum())
        capacity = int(expected + 6 * expected**0.5 + 64)  # the logs rarely grow
        self.fulfilment = Fulfilment(self.env, scenario, self.streams, self.plan.event, capacity)
        self.inv = InventorySystem(self.env, scenario, self.catalog, self.policy, suppliers, self.fulfilment.release)
        for station in self.fulfilment.stations:
            if station is not None:
                station.before_wave = self.inv.receive_due  # a wave takes the shipments released by then
        self.generator = DemandGenerator(scenario, self.catalog, self.plan, seed)
        self.orders = OrderLog(capacity)
        H = scenario.horizon_days
        self.daily = {f: np.zeros(H) for f in DayCounters.FIELDS}
        for f in DAILY_EXTRA:
            self.daily[f] = np.zeros(H)
        C = len(scenario.demand.channels)
        self.channel_orders = np.zeros((C, H))  # incremental orders placed per channel and day
        self.channel_revenue = np.zeros((C, H))  # their revenue per channel and day (by day shipped)
        self._area_prev = (0.0, 0.0, 0.0)
        self._overflow_prev = np.zeros(len(scenario.warehouses))
        self._overflow_rate = np.array([w.overflow_cost_per_unit_day for w in scenario.warehouses])
        self._price = self.catalog.price.tolist()  # per SKU, as Python floats for the per-line work
        self._weight = self.catalog.weight_kg.tolist()
        router = self.fulfilment.router
        self._whole = router.whole_orders  # every order ships whole from its region's own warehouse
        self._own_base = [w * self.catalog.n for w in router.own]
        self._routing = DayStream(seed, "routing") if router.mode == "lane_plan" else None
        self.forecaster = DemandForecaster(scenario, self.catalog) if scenario.inventory.forecast else None

    # ------------------------------------------------------------------ processes
    def days(self):
        """The day process: each day begins (``_start_day``), then its orders are served at their arrival times.

        The clock is woken only when an event is due before the next order (a wave, the day's
        close): otherwise the order is served at its own time straight away, as every part of the
        order path takes its time as an argument; receipts due by then are taken first.
        """
        env, inv = self.env, self.inv
        peek = env.peek
        serve = self._serve_whole if self._whole else self._serve_routed
        for d in range(self.scenario.horizon_days):
            day = self._start_day(d)
            times = day.times
            for i in range(day.n):
                t = times[i]
                if t >= peek():  # something happens first (at a tie, the earlier-scheduled event)
                    yield env.timeout(t - env.now)
                if t >= inv.next_due:  # receipts due by now come first
                    inv.receive_due(t)
                serve(day, i, t)
            yield env.timeout(d + 1 - env.now)

    def _serve_whole(self, day: _Day, i: int, t: float) -> None:
        """Order i of the day, to its region's own warehouse as one shipment (created at the day's start)."""
        sid = day.first_shipment + i
        a, b = day.starts[i], day.starts[i + 1]
        all_now, took, backordered = self.inv.allocate(
            sid,
            self._own_base[day.regions[i]],
            day.skus,
            day.qtys,
            range(a, b),
            self._price,
            day.price_factor,
            t,
            day.sources[i],
        )
        counters = self.inv.day
        if backordered <= 0:
            if took > 0:
                self.fulfilment.release(sid, t)  # all allocated (any rest was lost): into the warehouse
            else:
                counters.orders_lost += 1
        if all_now:
            counters.orders_filled_now += 1

    def _serve_routed(self, day: _Day, i: int, t: float) -> None:
        """Order i of the day, routed by ``Router.route``: one shipment per warehouse it sends lines to."""
        inv, ful = self.inv, self.fulfilment
        r = day.regions[i]
        a, b = day.starts[i], day.starts[i + 1]
        skus, qtys = day.skus[a:b], day.qtys[a:b]
        groups, carrier = ful.router.route(r, day.u_route[i], t, skus, qtys, inv.on_hand, self.catalog.n)
        whole = len(groups) == 1
        all_now, any_kept = True, False
        for w, positions in groups:
            if whole:
                units, wt = day.units[i], day.weight[i]
            else:
                units = sum(qtys[j] for j in positions)
                wt = sum(qtys[j] * self._weight[skus[j]] for j in positions)
            key = order_key(day.d, i)
            sid = ful.log.add(day.first_order + i, w, r, len(positions), units, wt, day.value[i], carrier, key)
            now, took, backordered = inv.allocate(
                sid, w * self.catalog.n, skus, qtys, positions, self._price, day.price_factor, t, day.sources[i]
            )
            all_now = all_now and now
            if backordered > 0:
                any_kept = True
            elif took > 0:
                any_kept = True
                ful.release(sid, t)
        counters = inv.day
        if all_now:
            counters.orders_filled_now += 1
        if not any_kept:
            counters.orders_lost += 1

    def _start_day(self, d: int) -> _Day:
        """Day d begins: schedule its close, run the periodic review when due (after this instant's
        receipts, before the day's demand), draw and record its orders."""
        call_at(self.env, 1.0, DAY_CLOSE_PRIORITY, partial(self.close_day, d))
        policy = self.policy
        self.inv.receive_due(float(d))  # this instant's receipts come before its review and its orders
        fc = self.forecaster
        if fc is not None and fc.due(d):  # a forecast refit: new levels before the review and the orders
            self.inv.set_levels(*derived_levels(self.scenario, self.catalog, *fc.refit(d)), self.env.now)
        if policy.periodic and d % policy.review_period_days == 0:
            self.inv.review_all(self.env.now)
        batch = self.generator.draw_day(d)
        pf = float(self.plan.price_factor[d])
        units, weight, value = self._order_totals(batch, pf)
        first = self.orders.add_day(batch.times, batch.region, value, batch.source)
        if len(self.channel_orders):
            paid = batch.source[batch.source >= 0]
            self.channel_orders[:, d] = np.bincount(paid, minlength=len(self.channel_orders))
        first_shipment = self.fulfilment.log.n
        if self._whole and batch.n:
            self.fulfilment.add_whole_orders(first, d, batch.region, np.diff(batch.line_start), units, weight, value)
        counters = self.inv.day
        counters.orders += batch.n
        counters.lines += len(batch.line_sku)
        return _Day(
            d,
            batch.n,
            batch.times.tolist(),
            batch.region.tolist(),
            batch.line_start.tolist(),
            batch.line_sku.tolist(),
            batch.line_qty.tolist(),
            self._routing.at(d).random(batch.n).tolist() if self._routing is not None else [0.0] * batch.n,
            units.tolist(),
            weight.tolist(),
            value.tolist(),
            batch.source.tolist(),
            pf,
            first,
            first_shipment,
        )

    def _order_totals(self, batch: DayOrders, price_factor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Units, weight and value (at the day's price factor) of each of a day's orders, in one numpy pass."""
        if not batch.n:
            return np.zeros(0), np.zeros(0), np.zeros(0)
        price_a, weight_a = self.catalog.price, self.catalog.weight_kg
        heads = batch.line_start[:-1]
        units = np.add.reduceat(batch.line_qty, heads).astype(float)
        weight = np.add.reduceat(batch.line_qty * weight_a[batch.line_sku], heads)
        value = price_factor * np.add.reduceat(batch.line_qty * price_a[batch.line_sku], heads)
        return units, weight, value

    def close_day(self, d: int) -> None:
        """Record day d at time d+1, before anything else happens at that instant."""
        self.inv.receive_due(d + 1.0, inclusive=False)  # the day's last receipts (they may release orders)
        self._close_picking(d)  # pick jobs that ended during the day are handed on ...
        self.fulfilment.flush_packed(d + 1.0)  # ... and the day's packed shipments to the carriers
        inv = self.inv
        inv.accrue(self.env.now)
        oh, val, bo = inv.area_on_hand, inv.area_value, inv.area_backorders
        p_oh, p_val, p_bo = self._area_prev
        self._area_prev = (oh, val, bo)
        daily = self.daily
        daily["on_hand_units"][d] = oh - p_oh
        daily["inventory_value"][d] = val - p_val
        daily["backorder_unit_days"][d] = bo - p_bo
        daily["backorder_units_end"][d] = inv.units_backordered
        daily["on_hand_units_end"][d] = inv.units_on_hand
        daily["inventory_value_end"][d] = inv.value_on_hand
        daily["on_order_units_end"][d] = inv.units_on_order
        if inv.capped:
            self._close_storage(d)
        for f in DayCounters.FIELDS:
            daily[f][d] = getattr(inv.day, f)
        inv.day = DayCounters()
        if inv.channel_revenue:
            self.channel_revenue[:, d] = inv.channel_revenue
            inv.channel_revenue = [0.0] * len(inv.channel_revenue)
        if self.forecaster is not None:
            self.forecaster.observe(inv.demanded)
        if d == warmup_days_of(self.scenario) - 1:
            inv.mark_warmup_end()

    def _close_storage(self, d: int) -> None:
        inv, daily = self.inv, self.daily
        inv.flush_overflow()
        area = inv.overflow_area - self._overflow_prev
        self._overflow_prev = inv.overflow_area.copy()
        daily["overflow_unit_days"][d] = float(area.sum())
        daily["overflow_cost"][d] = float(area @ self._overflow_rate)
        daily["overflow_units_max"][d] = max(inv.overflow_peak)
        inv.overflow_peak = inv.overflow_units().tolist()

    def _close_picking(self, d: int) -> None:
        q_area = q_max = busy = picks = 0.0
        for st in self.fulfilment.stations:
            if st is None:
                continue
            pool = st.pickers
            pool.close_day(d)
            q_area += pool.queue_area[d]
            q_max = max(q_max, pool.queue_max[d])
            busy += pool.busy_days[d]
            picks += pool.lines_picked[d]
        daily = self.daily
        daily["pick_queue_mean"][d] = q_area
        daily["pick_queue_max"][d] = q_max
        daily["picks"][d] = picks
        daily["picker_busy_days"][d] = busy

    def _end_state(self) -> dict[str, np.ndarray]:
        """End-of-run arrays per (warehouse, SKU) and per warehouse, for the accounting checks."""
        inv = self.inv
        return {
            **inv.arrays(),
            "overflow_units": inv.overflow_units(),
            "overflow_units_max": np.array(inv.overflow_max),
            "overflow_unit_days": inv.overflow_area.copy(),
            "lines_picked": np.array([st.lines_picked if st else 0 for st in self.fulfilment.stations]),
        }

    def records(self) -> RunRecords:
        """What the KPIs read: the order and shipment columns and the facts they need beside them."""
        ful = self.fulfilment
        car = ful.carriers
        promise = np.array(
            [[car.promise(c, r) for r in range(len(self.scenario.demand.regions))] for c in [*range(car.n), -1]],
            dtype=float,
        ).reshape(car.n + 1, len(self.scenario.demand.regions))
        return RunRecords(
            orders=self.orders.arrays(),
            shipments=ful.arrays(),
            outstanding=np.array(sorted(self.inv.outstanding), dtype=np.int64),
            promise=promise,
            pickers=[(st.times, st.caps, st.p.labour_cost_per_picker_hour) for st in ful.stations if st is not None],
        )

    # ------------------------------------------------------------------ result
    def run(self, record_orders: bool = False) -> SimulationResult:
        """Run the whole horizon; the KPIs, the daily table, the end state and (optionally) the per-order table."""
        s = self.scenario
        self.env.process(self.days())
        self.env.run(until=s.horizon_days)
        H = s.horizon_days
        rec = self.records()
        shp = rec.shipments
        orders = order_table(rec, H)
        daily = pd.DataFrame(
            {
                "day": np.arange(H),
                "date": pd.to_datetime([day_date(s, d) for d in range(H)]),
                "warmup": np.arange(H) < warmup_days_of(s),
                "expected_orders": self.plan.rate,
                "marketing_spend": self.plan.spend.sum(axis=0),
                "marketing_orders": self.channel_orders.sum(axis=0),
                "marketing_revenue": self.channel_revenue.sum(axis=0),
                **self.daily,
                **daily_fulfilment(s, rec, orders),
            }
        )
        status = {
            "orders": len(orders["arrival"]),
            **{name: int(np.count_nonzero(orders["stage"] == code)) for code, name in enumerate(STAGES)},
        }
        table = None
        errors = self.forecaster.errors if self.forecaster is not None else None
        if record_orders:
            table = pd.DataFrame({k: v for k, v in orders.items()})
            table["stage"] = [STAGES[c] for c in orders["stage"]]
        return SimulationResult(
            seed=self.seed,
            kpis=compute_kpis(s, daily, orders, shp, forecast=errors),
            daily=daily,
            state=self._end_state(),
            order_status=status,
            policy=self.policy,
            shipments=shp,
            order_arrival=orders["arrival"],
            orders=table,
            event_kpis={
                label: compute_kpis(s, daily, orders, shp, span=(a, b), forecast=errors)
                for label, a, b in event_windows(s)
            },
            channel_kpis=channel_kpis(s, self.plan.spend, self.channel_orders, self.channel_revenue),
        )


def simulate(scenario: Scenario, seed: int | None = None, record_orders: bool = False) -> SimulationResult:
    """Simulate one replication of ``scenario`` with master ``seed`` (default: the scenario's seed).

    ``warmup_days: auto`` must be resolved first (``InputError`` otherwise; see ``experiments.warmup``).
    """
    warmup_days_of(scenario)
    return ShopModel(scenario, scenario.seed if seed is None else seed).run(record_orders=record_orders)
