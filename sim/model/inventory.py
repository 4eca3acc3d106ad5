"""Stock per (warehouse, SKU) in flat numpy arrays, replenished by (s,Q), (s,S), (R,S), (R,s,S) or base-stock.

State per pair k = warehouse * n_sku + sku: on hand, on order, backorders.
Decisions use the inventory position IP = on hand + on order - backorders
(never the level). Continuous review checks a pair right after each demand on
it; periodic review is ONE vectorized pass over all pairs every R days.

Order of same-time events (pinned by tests): at one instant, receipts are
processed first, then customer demand, then the periodic review. The model
implements this with event priorities: day close (-1) < receipts (0) <
customer orders and the daily process (1); order arrivals are never exactly on
a day boundary, and the review runs at the day boundary after all receipts.

Unmet demand is backordered (filled first-come first-served from the next
receipts) or lost. Purchase orders leave and arrive as ``sim.model.suppliers`` says
(lead times, disruptions).

Storage capacity follows ``STORAGE_RULE`` (below; the scenario reference quotes it):
per-warehouse on-hand totals are tracked only where ``storage_units`` is set, updated
at each change, so the overflow unit-days are exact.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import partial
from typing import ClassVar

import numpy as np
import simpy
from simpy.events import EventPriority

from sim.model.catalog import CatalogArrays
from sim.model.economics import supplier_order_costs
from sim.model.policy import PolicyArrays
from sim.model.suppliers import SupplierModel
from sim.scenario.schema import Scenario

STORAGE_RULE = (
    "A warehouse's regular space holds at most `storage_units` units (all SKUs together; none = unlimited). "
    "Units on hand above it, from a receipt that does not fit or from the initial stock, sit in overflow space: "
    "they are still on hand and ship like any other unit (nothing is refused or lost), and the warehouse ships "
    "from overflow first, so at every instant overflow = max(0, units on hand at the warehouse - storage_units). "
    "Overflow costs `overflow_cost_per_unit_day` per unit per day (KPIs `overflow_cost`, `avg_overflow_units`, "
    "`max_overflow_units`). Units received and shipped at once to waiting backorders never occupy space."
)

RECEIPT_PRIORITY = EventPriority(0)
DAY_CLOSE_PRIORITY = EventPriority(-1)  # before anything else at the same instant (simpy's URGENT is 0)


def call_at(env: simpy.Environment, delay: float, priority: EventPriority, callback: Callable[[], None]) -> None:
    """Run ``callback()`` after ``delay`` with an explicit same-time ``priority`` (lower first)."""
    ev = simpy.Event(env)
    ev._ok = True
    ev._value = None
    ev.callbacks.append(lambda _ev: callback())
    env.schedule(ev, priority, delay)


@dataclass(slots=True)
class DayCounters:
    """Totals of the current day (plain Python floats: cheap to increment); ``FIELDS`` names them in order."""

    orders: float = 0.0
    lines: float = 0.0
    units_demanded: float = 0.0
    units_filled_now: float = 0.0
    lines_filled_now: float = 0.0
    orders_filled_now: float = 0.0
    units_shipped: float = 0.0
    units_lost: float = 0.0
    units_backordered: float = 0.0
    orders_lost: float = 0.0
    revenue: float = 0.0
    cogs: float = 0.0
    lost_value: float = 0.0
    replenishment_orders: float = 0.0
    ordering_cost: float = 0.0
    units_received: float = 0.0
    cycles: float = 0.0
    stockout_cycles: float = 0.0
    orders_shipped: float = 0.0

    FIELDS: ClassVar[tuple[str, ...]] = ()


DayCounters.FIELDS = tuple(f.name for f in fields(DayCounters))


class InventorySystem:
    """Stock, purchase orders and backorders of every (warehouse, SKU) pair, and their time-weighted areas."""

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        catalog: CatalogArrays,
        policy: PolicyArrays,
        suppliers: SupplierModel,
        on_complete,
    ):
        self.env = env
        self.policy = policy
        self.n_sku = catalog.n
        K = len(scenario.warehouses) * catalog.n
        self.backorder_mode = scenario.inventory.unmet_demand == "backorder"
        self.on_hand = policy.initial_on_hand.astype(float).copy()
        self.initial = self.on_hand.copy()
        self.on_order = np.zeros(K)
        self.backorders = np.zeros(K)
        self.received = np.zeros(K)
        self.shipped = np.zeros(K)
        self.lost = np.zeros(K)
        self.demanded = np.zeros(K)
        self.filled_now = np.zeros(K)  # units met from stock at once
        self.at_warmup = (np.zeros(K), np.zeros(K))  # (demanded, filled_now) when the warm-up ended
        self.area_on_hand = np.zeros(K)  # unit-days
        self.area_backorders = np.zeros(K)  # unit-days
        self.last_t = np.zeros(K)
        self.stockout_flag = np.zeros(K, dtype=bool)
        self.queues: dict[int, deque] = {}  # k -> deque of [shipment_id, units_left, unit_price]
        self.outstanding: dict[int, float] = {}  # shipment id -> units still backordered
        self.unit_cost = np.tile(catalog.unit_cost, len(scenario.warehouses))
        self.price = np.tile(catalog.price, len(scenario.warehouses))
        self.supplier_of = np.tile(catalog.supplier, len(scenario.warehouses))
        self.order_cost = supplier_order_costs(scenario)
        self.suppliers = suppliers
        self.on_complete = on_complete  # callback(shipment_id) when a backordered shipment is complete
        self.day = DayCounters()
        self.s = policy.reorder_point
        self.Q = policy.order_quantity
        self.S = policy.order_up_to
        self.continuous = not policy.periodic
        # storage capacity: per-warehouse on-hand totals, tracked only where a capacity is set
        W = len(scenario.warehouses)
        self.capacity = [
            float(w.storage_units) if w.storage_units is not None else float("inf") for w in scenario.warehouses
        ]
        self.capped = any(w.storage_units is not None for w in scenario.warehouses)
        self.wh_units = self.on_hand.reshape(W, self.n_sku).sum(axis=1).tolist()
        self.wh_last_t = [0.0] * W
        self.overflow_area = np.zeros(W)  # overflow unit-days per warehouse
        self.overflow_peak = [max(u - c, 0.0) for u, c in zip(self.wh_units, self.capacity)]  # since the last reset
        self.overflow_max = list(self.overflow_peak)  # whole run

    # ------------------------------------------------------------ storage capacity
    def _wh_move(self, w: int, delta: float, now: float) -> None:
        """Warehouse w's on-hand total changes by ``delta`` at ``now``: accrue its overflow first."""
        units, cap = self.wh_units[w], self.capacity[w]
        if units > cap:
            self.overflow_area[w] += (units - cap) * (now - self.wh_last_t[w])
        self.wh_last_t[w] = now
        units += delta
        self.wh_units[w] = units
        if units - cap > self.overflow_peak[w]:
            self.overflow_peak[w] = units - cap
            if units - cap > self.overflow_max[w]:
                self.overflow_max[w] = units - cap

    def flush_overflow(self) -> None:
        """Accrue every warehouse's overflow up to now (at day close)."""
        if self.capped:
            now = self.env.now
            for w in range(len(self.capacity)):
                self._wh_move(w, 0.0, now)

    def overflow_units(self) -> np.ndarray:
        """Units in overflow space per warehouse now."""
        return np.maximum(np.array(self.wh_units) - np.array(self.capacity), 0.0)

    # ------------------------------------------------------------ time-weighted areas
    def flush_areas(self) -> None:
        """Accrue every pair's on-hand and backorder unit-days up to now."""
        now = self.env.now
        dt = now - self.last_t
        self.area_on_hand += self.on_hand * dt
        self.area_backorders += self.backorders * dt
        self.last_t[:] = now

    # ------------------------------------------------------------ demand
    def demand_line(self, shipment_id: int, k: int, qty: int, unit_price: float) -> tuple[float, float]:
        """Allocate one order line; returns (units allocated now, units backordered)."""
        now = self.env.now
        on_hand, backorders = self.on_hand, self.backorders
        dt = now - self.last_t[k]
        oh = on_hand[k]
        self.area_on_hand[k] += oh * dt
        self.area_backorders[k] += backorders[k] * dt
        self.last_t[k] = now
        self.demanded[k] += qty
        day = self.day
        day.units_demanded += qty
        take = qty if oh >= qty else oh
        short = qty - take
        day.units_filled_now += take
        self.filled_now[k] += take
        if take > 0:
            on_hand[k] = oh - take
            if self.capped:
                self._wh_move(k // self.n_sku, -take, now)
            self.shipped[k] += take
            day.units_shipped += take
            day.revenue += take * unit_price
            day.cogs += take * self.unit_cost[k]
        backordered = 0.0
        if short > 0:
            self.stockout_flag[k] = True
            if self.backorder_mode:
                backorders[k] += short
                day.units_backordered += short
                q = self.queues.get(k)
                if q is None:
                    q = self.queues[k] = deque()
                q.append([shipment_id, short, unit_price])
                backordered = short
            else:
                self.lost[k] += short
                day.units_lost += short
                day.lost_value += short * unit_price
        else:
            day.lines_filled_now += 1
        if self.continuous:
            self._review_one(k)
        return take, backordered

    # ------------------------------------------------------------ replenishment
    def _review_one(self, k: int) -> None:
        ip = self.on_hand[k] + self.on_order[k] - self.backorders[k]
        kind = self.policy.kind
        if kind == "sQ":
            if ip > self.s[k]:
                return
            q = self.Q[k] * np.ceil((self.s[k] - ip + 1) / self.Q[k])
        elif kind == "base_stock":
            if ip >= self.S[k]:
                return
            q = self.S[k] - ip
        else:  # sS
            if ip > self.s[k]:
                return
            q = self.S[k] - ip
        if q > 0:
            self.place_orders(np.array([k]), np.array([q]))

    def review_all(self) -> None:
        """Periodic review of every pair in one vectorized pass."""
        ip = self.on_hand + self.on_order - self.backorders
        kind = self.policy.kind
        if kind in ("RS", "base_stock"):
            qty = np.where(ip < self.S, self.S - ip, 0.0)
        elif kind == "sQ":
            qty = np.where(ip <= self.s, self.Q * np.ceil((self.s - ip + 1) / self.Q), 0.0)
        else:  # sS, RsS
            qty = np.where(ip <= self.s, self.S - ip, 0.0)
        ks = np.flatnonzero(qty > 0)
        if len(ks):
            self.place_orders(ks, qty[ks])

    def place_orders(self, ks: np.ndarray, qty: np.ndarray) -> None:
        """Place purchase orders of ``qty`` units for pairs ``ks`` now; their receipts are scheduled events."""
        now = self.env.now
        np.add.at(self.on_order, ks, qty)
        sup = self.supplier_of[ks]
        arrive = np.empty(len(ks))
        for j in np.unique(sup):
            m = sup == j
            ship = self.suppliers.ship_times(int(j), np.full(int(m.sum()), now))
            arrive[m] = ship + self.suppliers.lead_times(int(j), ks[m], now)
        day = self.day
        day.replenishment_orders += len(ks)
        day.ordering_cost += float(self.order_cost[sup].sum())
        for t in np.unique(arrive):
            m = arrive == t
            batch_k, batch_q = ks[m], qty[m]
            call_at(self.env, float(t - now), RECEIPT_PRIORITY, partial(self.receive, batch_k, batch_q))

    def receive(self, ks: np.ndarray, qty: np.ndarray) -> None:
        """A delivery from a supplier: count the cycle, add stock, fill backorders first-come first-served."""
        now = self.env.now
        if len(ks) == 1:  # the common case (one purchase order): plain scalar updates
            self._receive_one(int(ks[0]), float(qty[0]), now)
            return
        uk = np.unique(ks)
        dt = now - self.last_t[uk]
        self.area_on_hand[uk] += self.on_hand[uk] * dt
        self.area_backorders[uk] += self.backorders[uk] * dt
        self.last_t[uk] = now
        day = self.day
        stocked_out = self.stockout_flag[uk] | (self.on_hand[uk] - self.backorders[uk] < 0)
        day.cycles += len(uk)
        day.stockout_cycles += int(stocked_out.sum())
        self.stockout_flag[uk] = False
        np.add.at(self.on_hand, ks, qty)
        np.add.at(self.on_order, ks, -qty)
        np.add.at(self.received, ks, qty)
        day.units_received += float(qty.sum())
        into = np.bincount(ks // self.n_sku, weights=qty, minlength=len(self.capacity)) if self.capped else None
        if self.backorder_mode:
            for k in uk[self.backorders[uk] > 0]:
                filled = self._fill_backorders(int(k))
                if into is not None:
                    into[int(k) // self.n_sku] -= filled
        if into is not None:
            for w in np.flatnonzero(into):
                self._wh_move(int(w), float(into[w]), now)

    def _receive_one(self, k: int, q: float, now: float) -> None:
        oh, bo = float(self.on_hand[k]), float(self.backorders[k])
        dt = now - self.last_t[k]
        self.area_on_hand[k] += oh * dt
        self.area_backorders[k] += bo * dt
        self.last_t[k] = now
        day = self.day
        day.cycles += 1
        if self.stockout_flag[k] or oh - bo < 0:
            day.stockout_cycles += 1
        self.stockout_flag[k] = False
        self.on_hand[k] = oh + q
        self.on_order[k] -= q
        self.received[k] += q
        day.units_received += q
        filled = self._fill_backorders(k) if self.backorder_mode and bo > 0 else 0.0
        if self.capped and q > filled:
            self._wh_move(k // self.n_sku, q - filled, now)

    def _fill_backorders(self, k: int) -> float:
        """Ship pair k's backorders first-come first-served from its stock; returns the units shipped."""
        q = self.queues[k]
        day = self.day
        before = self.on_hand[k]
        while q and self.on_hand[k] > 0:
            entry = q[0]
            take = min(entry[1], self.on_hand[k])
            self.on_hand[k] -= take
            self.backorders[k] -= take
            self.shipped[k] += take
            day.units_shipped += take
            day.revenue += take * entry[2]
            day.cogs += take * self.unit_cost[k]
            entry[1] -= take
            left = self.outstanding[entry[0]] - take
            if entry[1] <= 0:
                q.popleft()
            if left <= 0:
                del self.outstanding[entry[0]]
                self.on_complete(entry[0])
            else:
                self.outstanding[entry[0]] = left
        return float(before - self.on_hand[k])

    @property
    def inventory_position(self) -> np.ndarray:
        """On hand + on order - backorders of every pair."""
        return self.on_hand + self.on_order - self.backorders
