"""Wire demand, inventory and fulfilment into one SimPy environment: ``simulate(scenario, seed)``.

Time is measured in days since ``start_date``. One process walks through the
days: at each day boundary it runs the periodic review (if due), draws the
day's orders in one numpy batch and then handles them at their arrival times.
Replenishment receipts are scheduled events; nothing runs per SKU.

>>> from sim.scenario import load_scenario
>>> r = simulate(load_scenario("scenarios/classroom_sq.yaml", ["horizon_days=200"]), seed=3)
>>> r.kpis["orders"] > 0 and 0 <= r.kpis["unit_fill_rate"] <= 1
True
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import simpy

from sim.catalog import catalog_for
from sim.demand import DemandGenerator, demand_plan
from sim.inventory import DAY_CLOSE_PRIORITY, DayCounters, InventorySystem, SupplierModel, call_at
from sim.metrics import compute_kpis
from sim.policy import region_warehouse, resolve_policy
from sim.scenario import day_date
from sim.schema import Scenario
from sim.streams import Streams


@dataclass(frozen=True)
class SimulationResult:
    """What one replication produced.

    ``kpis``: KPI name -> value over the days after warm-up.
    ``daily``: one row per simulated day (warm-up included, flagged).
    ``state``: end-of-run arrays per (warehouse, SKU) for accounting checks.
    ``order_status``: how every order ended (shipped / backordered / lost).
    ``orders``: one row per order when ``record_orders=True``.
    """

    seed: int
    kpis: dict[str, float]
    daily: pd.DataFrame
    state: dict[str, np.ndarray]
    order_status: dict[str, int]
    orders: pd.DataFrame | None = None
    info: dict = field(default_factory=dict)


class ImmediateShipping:
    """Issue-2 fulfilment: an order ships the moment all its stock is allocated.

    The warehouse model replaces this one object (same ``release`` method).
    """

    def __init__(self, model: "ShopModel"):
        self.model = model

    def release(self, order_id: int) -> None:
        m = self.model
        m.ship_time[order_id] = m.env.now
        m.inv.day.orders_shipped += 1


class ShopModel:
    def __init__(self, scenario: Scenario, seed: int):
        self.scenario = scenario
        self.seed = seed
        self.env = simpy.Environment()
        self.streams = Streams(seed)
        self.catalog = catalog_for(scenario)
        self.plan = demand_plan(scenario)
        self.policy = resolve_policy(scenario, self.catalog, self.plan)
        suppliers = SupplierModel(scenario, self.streams.lead_time, self.streams.disruption)
        self.inv = InventorySystem(self.env, scenario, self.catalog, self.policy, suppliers, self._completed)
        self.generator = DemandGenerator(scenario, self.catalog, self.plan)
        rw = region_warehouse(scenario)
        self.region_wh = np.array([rw[r.name] for r in scenario.demand.regions])
        self.fulfilment = ImmediateShipping(self)
        H = scenario.horizon_days
        self.daily = {f: np.zeros(H) for f in DayCounters.FIELDS}
        for f in ("on_hand_units", "inventory_value", "backorder_unit_days", "backorder_units_end",
                  "on_order_units_end"):
            self.daily[f] = np.zeros(H)
        self._area_prev = (0.0, 0.0, 0.0)
        cap = max(1024, int(self.plan.rate.sum() * 1.2) + 1024)
        self.arrival = np.full(cap, np.nan)
        self.ship_time = np.full(cap, np.nan)
        self.order_wh = np.zeros(cap, dtype=np.int16)
        self.order_units = np.zeros(cap)
        self.n_orders = 0
        self.orders_lost = 0

    # ------------------------------------------------------------------ processes
    def _grow(self, need: int) -> None:
        if need <= len(self.arrival):
            return
        cap = max(need, 2 * len(self.arrival))
        for name, fill in (("arrival", np.nan), ("ship_time", np.nan), ("order_units", 0.0)):
            old = getattr(self, name)
            new = np.full(cap, fill)
            new[: len(old)] = old
            setattr(self, name, new)
        wh = np.zeros(cap, dtype=np.int16)
        wh[: len(self.order_wh)] = self.order_wh
        self.order_wh = wh

    def days(self):
        env, inv, rng = self.env, self.inv, self.streams.demand
        policy = self.policy
        n_sku = self.catalog.n
        price = self.catalog.price
        for d in range(self.scenario.horizon_days):
            call_at(env, 1.0, DAY_CLOSE_PRIORITY, lambda d=d: self.close_day(d))
            if policy.periodic and d % policy.review_period_days == 0:
                inv.review_all()  # after this instant's receipts, before the day's demand
            batch = self.generator.draw_day(d, rng)
            pf = self.plan.price_factor[d]
            wh = self.region_wh[batch.region]
            first = self.n_orders
            self._grow(first + batch.n)
            self.arrival[first:first + batch.n] = batch.times
            self.order_wh[first:first + batch.n] = wh
            starts, skus, qtys = batch.line_start, batch.line_sku, batch.line_qty
            times = batch.times.tolist()
            whs = wh.tolist()
            starts_l, skus_l, qtys_l = starts.tolist(), skus.tolist(), qtys.tolist()
            for i in range(batch.n):
                yield env.timeout(times[i] - env.now)
                oid = first + i
                self.n_orders = oid + 1
                base = whs[i] * n_sku
                took = backordered = 0.0
                units = 0
                all_now = True
                for j in range(starts_l[i], starts_l[i + 1]):
                    q = qtys_l[j]
                    units += q
                    t, b = inv.demand_line(oid, base + skus_l[j], q, price[skus_l[j]] * pf)
                    took += t
                    backordered += b
                    if t < q:
                        all_now = False
                self.order_units[oid] = units
                day = inv.day
                day.orders += 1
                day.lines += starts_l[i + 1] - starts_l[i]
                if all_now:
                    day.orders_filled_now += 1
                    self.fulfilment.release(oid)
                elif backordered > 0:
                    inv.outstanding[oid] = backordered
                elif took > 0:
                    self.fulfilment.release(oid)  # the rest is lost; ship what we have
                else:
                    day.orders_lost += 1
                    self.orders_lost += 1
            self.n_orders = first + batch.n
            yield env.timeout(d + 1 - env.now)

    def _completed(self, order_id: int) -> None:
        self.fulfilment.release(order_id)

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
        for f in DayCounters.FIELDS:
            daily[f][d] = getattr(inv.day, f)
        inv.day = DayCounters()

    # ------------------------------------------------------------------ result
    def run(self, record_orders: bool = False) -> SimulationResult:
        s = self.scenario
        self.env.process(self.days())
        self.env.run(until=s.horizon_days)
        H = s.horizon_days
        daily = pd.DataFrame({"day": np.arange(H),
                              "date": pd.to_datetime([day_date(s, d) for d in range(H)]),
                              "warmup": np.arange(H) < s.warmup_days,
                              "expected_orders": self.plan.rate,
                              "marketing_spend": self.plan.spend.sum(axis=0),
                              **self.daily})
        inv = self.inv
        n = self.n_orders
        waiting = len(inv.outstanding)
        status = {"orders": n, "shipped": int(np.count_nonzero(~np.isnan(self.ship_time[:n]))),
                  "backordered": waiting, "lost": self.orders_lost}
        state = {"initial": inv.initial, "received": inv.received, "shipped": inv.shipped,
                 "on_hand": inv.on_hand, "lost": inv.lost, "demanded": inv.demanded,
                 "backorders": inv.backorders, "on_order": inv.on_order}
        order_delay = self.ship_time[:n] - self.arrival[:n]
        post = self.arrival[:n] >= s.warmup_days
        kpis = compute_kpis(s, daily, order_delay[post])
        orders = None
        if record_orders:
            orders = pd.DataFrame({"arrival_day": self.arrival[:n], "ship_day": self.ship_time[:n],
                                   "warehouse": [s.warehouses[w].name for w in self.order_wh[:n]],
                                   "units": self.order_units[:n]})
        return SimulationResult(seed=self.seed, kpis=kpis, daily=daily, state=state, order_status=status,
                                orders=orders, info={"policy": self.policy})


def simulate(scenario: Scenario, seed: int | None = None, record_orders: bool = False) -> SimulationResult:
    """Simulate one replication of ``scenario`` with master ``seed`` (default: the scenario's seed)."""
    return ShopModel(scenario, scenario.seed if seed is None else seed).run(record_orders=record_orders)
