"""Wire demand, inventory and fulfilment into one SimPy environment: ``simulate(scenario, seed)``.

Time is measured in days since ``start_date``. One process walks through the
days: at each day boundary it runs the periodic review (if due), draws the
day's orders in one numpy batch and then handles them at their arrival times.
Replenishment receipts are scheduled events; nothing runs per SKU.

>>> from sim.scenario.loader import load_scenario
>>> r = simulate(load_scenario("scenarios/classroom_sq.yaml", ["horizon_days=200"]), seed=3)
>>> r.kpis["orders"] > 0 and 0 <= r.kpis["unit_fill_rate"] <= 1
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

import numpy as np
import pandas as pd
import simpy

from sim.metrics import DAILY_EXTRA, STAGES, compute_kpis, daily_fulfilment, event_windows, order_table
from sim.model.catalog import catalog_for
from sim.model.demand import DayOrders, DemandGenerator, demand_plan, planning_plan
from sim.model.fulfilment import Fulfilment
from sim.model.inventory import DAY_CLOSE_PRIORITY, DayCounters, InventorySystem, call_at
from sim.model.policy import resolve_policy
from sim.model.streams import Streams, day_rng
from sim.model.suppliers import SupplierModel
from sim.scenario.loader import day_date
from sim.scenario.schema import Scenario


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
    """

    seed: int
    kpis: dict[str, float]
    daily: pd.DataFrame
    state: dict[str, np.ndarray]
    order_status: dict[str, int]
    orders: pd.DataFrame | None = None
    info: dict = field(default_factory=dict)
    event_kpis: dict[str, dict[str, float]] = field(default_factory=dict)


class _DayLists(NamedTuple):
    """One day's orders as Python lists (cheap scalar access in the per-order loop); order i has lines
    ``starts[i]:starts[i + 1]`` of ``skus``/``qtys``; ``units``/``weight``/``value`` are its totals."""

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
        self.fulfilment = Fulfilment(self.env, scenario, self.streams, self.plan.event)
        self.inv = InventorySystem(self.env, scenario, self.catalog, self.policy, suppliers, self.fulfilment.release)
        self.generator = DemandGenerator(scenario, self.catalog, self.plan, seed)
        H = scenario.horizon_days
        self.daily = {f: np.zeros(H) for f in DayCounters.FIELDS}
        for f in DAILY_EXTRA:
            self.daily[f] = np.zeros(H)
        self._area_prev = (0.0, 0.0, 0.0)
        self._overflow_prev = np.zeros(len(scenario.warehouses))
        self._overflow_rate = np.array([w.overflow_cost_per_unit_day for w in scenario.warehouses])
        self._station_prev = [(0.0, 0, 0.0) for _ in scenario.warehouses]
        self.o_arrival: list[float] = []
        self.o_region: list[int] = []
        self.o_value: list[float] = []
        self.o_lost: list[bool] = []
        self._price = self.catalog.price.tolist()  # per SKU, as Python floats for the per-line work
        self._weight = self.catalog.weight_kg.tolist()
        router = self.fulfilment.router
        self._simple_routing = router.mode == "own_region" and not router.any_down  # every order to its own DC
        self._own = [pref[0] for pref in router.pref]

    # ------------------------------------------------------------------ processes
    def days(self):
        """The day process: each day begins (``_start_day``), then its orders are served one by one at
        their arrival times: routed to warehouse(s), their lines allocated (``InventorySystem.demand_line``),
        their shipments opened, the order counted."""
        env, inv, ful = self.env, self.inv, self.fulfilment
        n_sku = self.catalog.n
        price, weight = self._price, self._weight  # Python floats: fast scalar access
        simple, own, route = self._simple_routing, self._own, ful.router.route
        groups: Sequence[tuple[int, Sequence[int]]]
        for d in range(self.scenario.horizon_days):
            n, times, regions, starts, skus_l, qtys_l, u_route, o_units, o_weight, o_value = self._start_day(d)
            pf = self.plan.price_factor[d]
            for i in range(n):
                yield env.timeout(times[i] - env.now)
                oid = len(self.o_arrival)
                r = regions[i]
                a, b = starts[i], starts[i + 1]
                skus, qtys = skus_l[a:b], qtys_l[a:b]
                if simple:
                    groups, carrier = ((own[r], range(b - a)),), -1
                else:
                    groups, carrier = route(r, u_route[i], env.now, skus, qtys, inv.on_hand, n_sku)
                value = o_value[i]
                all_now, any_kept = True, False
                whole = len(groups) == 1
                for w, positions in groups:
                    base = w * n_sku
                    if whole:
                        units, wt = o_units[i], o_weight[i]
                    else:
                        units = sum(qtys[j] for j in positions)
                        wt = sum(qtys[j] * weight[skus[j]] for j in positions)
                    sid = ful.new_shipment(oid, w, r, len(positions), units, wt, value, carrier, d, i)
                    took = backordered = 0.0
                    for j in positions:
                        k, q = skus[j], qtys[j]
                        t, bo = inv.demand_line(sid, base + k, q, price[k] * pf)
                        if t < q:
                            all_now = False
                        took += t
                        backordered += bo
                    if backordered > 0:
                        inv.outstanding[sid] = backordered  # released when its stock arrives
                        any_kept = True
                    elif took > 0:
                        any_kept = True
                        ful.release(sid)  # all allocated (any rest was lost): into the warehouse
                self.o_arrival.append(env.now)  # the clock, exactly as the later stages see it
                self.o_region.append(r)
                self.o_value.append(value)
                self.o_lost.append(not any_kept)
                day = inv.day
                day.orders += 1
                day.lines += b - a
                if all_now:
                    day.orders_filled_now += 1
                if not any_kept:
                    day.orders_lost += 1
            yield env.timeout(d + 1 - env.now)

    def _start_day(self, d: int) -> _DayLists:
        """Day d begins: schedule its close, run the periodic review when due (after this instant's
        receipts, before the day's demand), draw its orders."""
        call_at(self.env, 1.0, DAY_CLOSE_PRIORITY, partial(self.close_day, d))
        policy = self.policy
        if policy.periodic and d % policy.review_period_days == 0:
            self.inv.review_all()
        batch = self.generator.draw_day(d)
        o_units, o_weight, o_value = self._order_totals(batch, self.plan.price_factor[d])
        return _DayLists(
            batch.n,
            batch.times.tolist(),
            batch.region.tolist(),
            batch.line_start.tolist(),
            batch.line_sku.tolist(),
            batch.line_qty.tolist(),
            self._routing_draws(d, batch.n),
            o_units,
            o_weight,
            o_value,
        )

    def _order_totals(self, batch: DayOrders, price_factor: float) -> tuple[list, list, list]:
        """Units, weight and value (at the day's price factor) of each of a day's orders, in one numpy pass."""
        if not batch.n:
            return [], [], []
        price_a, weight_a = self.catalog.price, self.catalog.weight_kg
        heads = batch.line_start[:-1]
        o_units = np.add.reduceat(batch.line_qty, heads).tolist()
        o_weight = np.add.reduceat(batch.line_qty * weight_a[batch.line_sku], heads).tolist()
        o_value = (price_factor * np.add.reduceat(batch.line_qty * price_a[batch.line_sku], heads)).tolist()
        return o_units, o_weight, o_value

    def _routing_draws(self, d: int, n: int) -> list[float]:
        """The uniform draws that pick day d's lanes under ``lane_plan`` routing (zeros otherwise: unused)."""
        if self.fulfilment.router.mode == "lane_plan":
            return day_rng(self.seed, "routing", d).random(n).tolist()
        return [0.0] * n

    def close_day(self, d: int) -> None:
        """Record day d at time d+1, before anything else happens at that instant."""
        inv = self.inv
        inv.flush_areas()
        oh = float(inv.area_on_hand.sum())
        val = float(np.dot(inv.area_on_hand, inv.unit_cost))
        bo = float(inv.area_backorders.sum())
        p_oh, p_val, p_bo = self._area_prev
        self._area_prev = (oh, val, bo)
        daily = self.daily
        daily["on_hand_units"][d] = oh - p_oh
        daily["inventory_value"][d] = val - p_val
        daily["backorder_unit_days"][d] = bo - p_bo
        daily["backorder_units_end"][d] = float(inv.backorders.sum())
        daily["on_order_units_end"][d] = float(inv.on_order.sum())
        if inv.capped:
            inv.flush_overflow()
            area = inv.overflow_area - self._overflow_prev
            self._overflow_prev = inv.overflow_area.copy()
            daily["overflow_unit_days"][d] = float(area.sum())
            daily["overflow_cost"][d] = float(area @ self._overflow_rate)
            daily["overflow_units_max"][d] = max(inv.overflow_peak)
            inv.overflow_peak = inv.overflow_units().tolist()
        for f in DayCounters.FIELDS:
            daily[f][d] = getattr(inv.day, f)
        inv.day = DayCounters()
        if d == self.scenario.warmup_days - 1:
            inv.at_warmup = (inv.demanded.copy(), inv.filled_now.copy())
        q_area = q_max = busy = picks = 0.0
        for i, st in enumerate(self.fulfilment.stations):
            if st is None:
                continue
            st.flush()
            pool = st.pickers
            pa, pp, pb = self._station_prev[i]
            self._station_prev[i] = (pool.queue_area, st.lines_picked, pool.busy_days)
            q_area += pool.queue_area - pa
            picks += st.lines_picked - pp
            busy += pool.busy_days - pb
            q_max = max(q_max, pool.queue_max_today)
            pool.queue_max_today = len(pool.queue)
        daily["pick_queue_mean"][d] = q_area
        daily["pick_queue_max"][d] = q_max
        daily["picks"][d] = picks
        daily["picker_busy_days"][d] = busy

    def _end_state(self) -> dict[str, np.ndarray]:
        """End-of-run arrays per (warehouse, SKU) and per warehouse, for the accounting checks."""
        inv = self.inv
        return {
            "initial": inv.initial,
            "received": inv.received,
            "shipped": inv.shipped,
            "on_hand": inv.on_hand,
            "lost": inv.lost,
            "demanded": inv.demanded,
            "backorders": inv.backorders,
            "on_order": inv.on_order,
            "overflow_units": inv.overflow_units(),
            "overflow_units_max": np.array(inv.overflow_max),
            "overflow_unit_days": inv.overflow_area.copy(),
            "demanded_after_warmup": inv.demanded - inv.at_warmup[0],
            "filled_now_after_warmup": inv.filled_now - inv.at_warmup[1],
            "lines_picked": np.array([st.lines_picked if st else 0 for st in self.fulfilment.stations]),
        }

    # ------------------------------------------------------------------ result
    def run(self, record_orders: bool = False) -> SimulationResult:
        """Run the whole horizon; the KPIs, the daily table, the end state and (optionally) the per-order table."""
        s = self.scenario
        self.env.process(self.days())
        self.env.run(until=s.horizon_days)
        H = s.horizon_days
        shp = self.fulfilment.arrays()
        orders = order_table(self, shp)
        fulfil_daily = daily_fulfilment(self, shp, orders)
        daily = pd.DataFrame(
            {
                "day": np.arange(H),
                "date": pd.to_datetime([day_date(s, d) for d in range(H)]),
                "warmup": np.arange(H) < s.warmup_days,
                "expected_orders": self.plan.rate,
                "marketing_spend": self.plan.spend.sum(axis=0),
                **self.daily,
                **fulfil_daily,
            }
        )
        status = {
            "orders": len(orders["arrival"]),
            **{name: int(np.count_nonzero(orders["stage"] == code)) for code, name in enumerate(STAGES)},
        }
        state = self._end_state()
        kpis = compute_kpis(s, daily, orders, shp, self.fulfilment)
        events = {
            label: compute_kpis(s, daily, orders, shp, self.fulfilment, span=(a, b)) for label, a, b in event_windows(s)
        }
        table = None
        if record_orders:
            table = pd.DataFrame({k: v for k, v in orders.items()})
            table["stage"] = [STAGES[c] for c in orders["stage"]]
        return SimulationResult(
            seed=self.seed,
            kpis=kpis,
            daily=daily,
            state=state,
            order_status=status,
            orders=table,
            info={"policy": self.policy, "shipments": shp, "order_arrival": orders["arrival"]},
            event_kpis=events,
        )


def simulate(scenario: Scenario, seed: int | None = None, record_orders: bool = False) -> SimulationResult:
    """Simulate one replication of ``scenario`` with master ``seed`` (default: the scenario's seed)."""
    return ShopModel(scenario, scenario.seed if seed is None else seed).run(record_orders=record_orders)
