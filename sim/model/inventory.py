"""Stock per (warehouse, SKU) in flat numpy arrays, replenished by (s,Q), (s,S), (R,S), (R,s,S) or base-stock.

State per pair k = warehouse * n_sku + sku: on hand, on order, backorders, in
Python lists (one order line touches one pair: list items are several times
cheaper to read and write than numpy scalars). Decisions use the inventory
position IP = on hand + on order - backorders (never the level). Continuous
review checks a pair right after each demand on it; periodic review every R
days checks the pairs whose IP changed since the last review (only demand
lowers an IP; receipts move stock from on order to on hand), all pairs at the
first review. Stock and backorder unit-days are integrated as running totals
(the KPIs need no per-pair areas), so a day's close costs the same for 100 or
100,000 SKUs.

Every change takes its time ``now`` as an argument: the order loop of
``sim.model.shop`` serves an order at its arrival time without waking the
SimPy clock when no event is due before it.

Order of same-time events (pinned by tests): at one instant, receipts are
processed first, then customer demand, then the periodic review. Receipts are
not SimPy events: every reader of the stock (an order, a wave, the review, the
day's close) first takes the receipts due by its own time (``receive_due``), so
a receipt at an order's or a review's instant comes first; the day's close
(priority -1, before anything else at its instant) takes those strictly before
it. Order arrivals are never exactly on a day boundary.

Unmet demand is backordered (filled first-come first-served from the next
receipts) or lost. Purchase orders leave and arrive as ``sim.model.suppliers`` says
(lead times, disruptions).

Storage capacity follows ``STORAGE_RULE`` (below; the scenario reference quotes it):
per-warehouse on-hand totals are tracked only where ``storage_units`` is set, updated
at each change, so the overflow unit-days are exact.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np
import simpy
from simpy.events import EventPriority

from sim.model.catalog import CatalogArrays
from sim.model.economics import order_cost_per_unit, supplier_order_costs
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

INF = float("inf")
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
    lead_time_deviation_days: float = 0.0
    units_ordered: float = 0.0
    units_received: float = 0.0
    cycles: float = 0.0
    stockout_cycles: float = 0.0
    orders_shipped: float = 0.0

    FIELDS: ClassVar[tuple[str, ...]] = ()


DayCounters.FIELDS = tuple(f.name for f in fields(DayCounters))


class InventorySystem:
    """Stock, purchase orders and backorders of every (warehouse, SKU) pair, and their time-weighted totals."""

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
        W = len(scenario.warehouses)
        K = W * catalog.n
        self.backorder_mode = scenario.inventory.unmet_demand == "backorder"
        self.initial = policy.initial_on_hand.astype(float).copy()
        self.on_hand: list[float] = self.initial.tolist()
        self.on_order = [0.0] * K
        self.backorders = [0.0] * K
        self.received = [0.0] * K
        self.shipped = [0.0] * K
        self.lost = [0.0] * K
        self.demanded = [0.0] * K
        self.filled_now = [0.0] * K  # units met from stock at once
        self.at_warmup = ([0.0] * K, [0.0] * K)  # (demanded, filled_now) when the warm-up ended
        self.stockout = bytearray(K)  # pair ran out since its last receipt
        self.queues: dict[int, deque] = {}  # k -> deque of [shipment_id, units_left, unit_price, source]
        # sales value shipped today per marketing channel (the orders' sources, sim.model.demand): the
        # day's close moves it into the daily table; ``_source`` is that of the order being allocated
        self.channel_revenue = [0.0] * len(scenario.demand.channels)
        self._source = -1
        self.outstanding: dict[int, float] = {}  # shipment id -> units still backordered
        unit_cost = np.tile(catalog.unit_cost, W)
        self.unit_cost: list[float] = unit_cost.tolist()
        self.supplier_of: list[int] = np.tile(catalog.supplier, W).tolist()
        self.order_cost: list[float] = supplier_order_costs(scenario).tolist()
        self.suppliers = suppliers
        self.on_complete = on_complete  # callback(shipment_id, now) when a backordered shipment is complete
        self.day = DayCounters()
        self._init_policy(scenario, policy)
        self._dirty: list[int] = list(range(K))  # pairs the next periodic review checks (all at the first)
        self._is_dirty = bytearray(b"\x01" * K)
        self._due: dict[float, list[tuple[int, float]]] = {}  # receipt instant -> purchase orders arriving then
        self._due_at: list[float] = []  # heap of those instants
        self.next_due = INF  # the earliest of them
        # running totals and their integrals (unit-days, value-days) since time 0
        self.units_on_hand = float(self.initial.sum())
        self.value_on_hand = float(self.initial @ unit_cost)
        self.units_backordered = 0.0
        self.units_on_order = 0.0
        self.area_on_hand = self.area_value = self.area_backorders = 0.0
        self._t_area = 0.0
        self._init_storage(scenario)

    def _init_policy(self, scenario: Scenario, policy: PolicyArrays) -> None:
        """Levels, review, trigger and the quantity rule (chosen once: no per-call test of the policy kind)."""
        self.kind = policy.kind
        self.s: list[float] = policy.reorder_point.astype(float).tolist()
        self.Q: list[float] = policy.order_quantity.astype(float).tolist()
        self.S: list[float] = policy.order_up_to.astype(float).tolist()
        self.continuous = not policy.periodic
        self.trigger_below = scenario.inventory.policy.reorder_trigger == "below"
        self.order_quantity: Callable[[int], float] = self._quantity_rule()
        self.cost_per_unit_ordered = order_cost_per_unit(scenario)

    def _init_storage(self, scenario: Scenario) -> None:
        """Per-warehouse on-hand totals, tracked only where a storage capacity is set."""
        W = len(scenario.warehouses)
        self.capacity = [
            float(w.storage_units) if w.storage_units is not None else float("inf") for w in scenario.warehouses
        ]
        self.capped = any(w.storage_units is not None for w in scenario.warehouses)
        self.wh_units = self.initial.reshape(W, self.n_sku).sum(axis=1).tolist()
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

    # ------------------------------------------------------------ time-weighted totals
    def accrue(self, now: float) -> None:
        """Integrate the on-hand units, their value and the backorders up to ``now``."""
        dt = now - self._t_area
        if dt:
            self.area_on_hand += self.units_on_hand * dt
            self.area_value += self.value_on_hand * dt
            self.area_backorders += self.units_backordered * dt
            self._t_area = now

    def mark_warmup_end(self) -> None:
        """Remember demand and immediate fills at the end of the warm-up (the fill-rate KPIs start there)."""
        self.at_warmup = (list(self.demanded), list(self.filled_now))

    # ------------------------------------------------------------ demand
    def allocate(
        self, sid: int, base: int, skus, qtys, positions, prices, price_factor: float, now: float, source: int = -1
    ):
        """Allocate the lines ``positions`` of one order to shipment ``sid`` at warehouse offset ``base``.

        ``source``: the order's source (-1 organic, c channel c), whose revenue it adds to.
        Returns (every line met from stock now, units taken now, units backordered).
        """
        self._source = source
        all_now = True
        took = backordered = 0.0
        line = self.demand_line
        for j in positions:
            k, q = skus[j], qtys[j]
            t, bo = line(sid, base + k, q, prices[k] * price_factor, now)
            if t < q:
                all_now = False
            took += t
            backordered += bo
        if backordered > 0:
            self.outstanding[sid] = backordered  # released when its stock arrives
        return all_now, took, backordered

    def demand_line(self, shipment_id: int, k: int, qty: int, unit_price: float, now: float) -> tuple[float, float]:
        """Allocate one order line of pair ``k`` at ``now``; returns (units allocated now, units backordered)."""
        dt = now - self._t_area
        if dt:  # self.accrue(now), inlined: once per order line
            self.area_on_hand += self.units_on_hand * dt
            self.area_value += self.value_on_hand * dt
            self.area_backorders += self.units_backordered * dt
            self._t_area = now
        on_hand = self.on_hand
        oh = on_hand[k]
        self.demanded[k] += qty
        day = self.day
        day.units_demanded += qty
        take = qty if oh >= qty else oh
        short = qty - take
        if take > 0:
            self.filled_now[k] += take
            day.units_filled_now += take
            on_hand[k] = oh - take
            cost = self.unit_cost[k]
            self.units_on_hand -= take
            self.value_on_hand -= take * cost
            if self.capped:
                self._wh_move(k // self.n_sku, -take, now)
            self.shipped[k] += take
            day.units_shipped += take
            day.revenue += take * unit_price
            day.cogs += take * cost
            if self._source >= 0:
                self.channel_revenue[self._source] += take * unit_price
        backordered = 0.0
        if short > 0:
            self.stockout[k] = 1
            if self.backorder_mode:
                self.backorders[k] += short
                self.units_backordered += short
                day.units_backordered += short
                q = self.queues.get(k)
                if q is None:
                    q = self.queues[k] = deque()
                q.append([shipment_id, short, unit_price, self._source])
                backordered = short
            else:
                self.lost[k] += short
                day.units_lost += short
                day.lost_value += short * unit_price
        else:
            day.lines_filled_now += 1
        if self.continuous:
            po = self.order_quantity(k)
            if po > 0:
                self.place_order(k, po, now)
        elif not self._is_dirty[k]:
            self._is_dirty[k] = 1
            self._dirty.append(k)
        return take, backordered

    # ------------------------------------------------------------ replenishment
    def _quantity_rule(self) -> Callable[[int], float]:
        """``order_quantity(k)``: units pair k orders now under its policy (0: none).

        The trigger is ``inventory.policy.reorder_trigger``: at_or_below orders when IP <= s, below
        when IP < s; (s, Q) then orders the fewest multiples of Q that lift IP above s (at_or_below)
        or to at least s (below); (s, S) and (R, s, S) order up to S. RS and base-stock order up to S
        whenever IP < S, whatever the trigger.
        """
        if self.kind in ("RS", "base_stock"):
            return self._up_to_level
        if self.kind == "sQ":
            return self._sq_below if self.trigger_below else self._sq_at_or_below
        return self._ss_below if self.trigger_below else self._ss_at_or_below

    def _sq_at_or_below(self, k: int) -> float:
        ip = self.on_hand[k] + self.on_order[k] - self.backorders[k]
        s = self.s[k]
        return self.Q[k] * math.ceil((s - ip + 1) / self.Q[k]) if ip <= s else 0.0

    def _sq_below(self, k: int) -> float:
        ip = self.on_hand[k] + self.on_order[k] - self.backorders[k]
        s = self.s[k]
        return self.Q[k] * math.ceil((s - ip) / self.Q[k]) if ip < s else 0.0

    def _ss_at_or_below(self, k: int) -> float:
        ip = self.on_hand[k] + self.on_order[k] - self.backorders[k]
        return self.S[k] - ip if ip <= self.s[k] else 0.0

    def _ss_below(self, k: int) -> float:
        ip = self.on_hand[k] + self.on_order[k] - self.backorders[k]
        return self.S[k] - ip if ip < self.s[k] else 0.0

    def _up_to_level(self, k: int) -> float:
        ip = self.on_hand[k] + self.on_order[k] - self.backorders[k]
        return self.S[k] - ip if ip < self.S[k] else 0.0

    def review_all(self, now: float) -> None:
        """Periodic review: every pair whose inventory position changed since the last review (pair order).

        A pair that orders ends off its trigger (at S, or at or above s by whole Qs), so it is not
        reviewed again until demand lowers its position.
        """
        dirty, self._dirty = sorted(self._dirty), []
        flags = self._is_dirty
        quantity, place = self.order_quantity, self.place_order
        for k in dirty:
            flags[k] = 0
            q = quantity(k)
            if q > 0:
                place(k, q, now)

    def set_levels(self, s: np.ndarray, Q: np.ndarray, S: np.ndarray, now: float) -> None:
        """New (s, Q, S) for every pair at ``now`` (a forecast refit, ``sim.model.forecast``).

        Periodic review: the next review checks every pair. Continuous review: the pairs whose
        position is now at their trigger order at once (found in one numpy pass).
        """
        self.s, self.Q, self.S = s.astype(float).tolist(), Q.astype(float).tolist(), S.astype(float).tolist()
        if not self.continuous:
            self._dirty = list(range(len(self.s)))
            self._is_dirty = bytearray(b"\x01" * len(self.s))
            return
        ip = self.inventory_position
        up_to = self.kind in ("RS", "base_stock")
        level = S if up_to else s
        below = ip < level if up_to or self.trigger_below else ip <= level
        for k in np.flatnonzero(below).tolist():
            q = self.order_quantity(k)
            if q > 0:
                self.place_order(k, q, now)

    def place_order(self, k: int, qty: float, now: float) -> None:
        """Place a purchase order of ``qty`` units for pair k at ``now``; it is received by ``receive_due``."""
        self.on_order[k] += qty
        self.units_on_order += qty
        j = self.supplier_of[k]
        arrive = self.suppliers.arrival(j, k, now)
        day = self.day
        day.replenishment_orders += 1
        day.ordering_cost += self.order_cost[j] + self.cost_per_unit_ordered * qty  # economics.ORDERING_COST_RULE
        day.lead_time_deviation_days += self.suppliers.last_deviation
        day.units_ordered += qty
        batch = self._due.get(arrive)
        if batch is None:
            self._due[arrive] = [(k, qty)]
            heapq.heappush(self._due_at, arrive)
            if arrive < self.next_due:
                self.next_due = arrive
        else:
            batch.append((k, qty))

    def receive_due(self, until: float, inclusive: bool = True) -> None:
        """Process, in time order, the receipts due by ``until`` (at or before it; strictly before it
        when not ``inclusive``: at a day's close, which comes before that instant's receipts).

        Receipts are not SimPy events: nothing but the inventory reads what a receipt changes, so
        every reader (an order, a wave, the review, the day's close) first takes the receipts due
        by its own time, each at its own instant, in order (same instant: in the order placed).
        """
        heap, due = self._due_at, self._due
        while heap and (heap[0] <= until if inclusive else heap[0] < until):
            when = heapq.heappop(heap)
            for k, q in due.pop(when):
                self.receive(k, q, when)
        self.next_due = heap[0] if heap else INF

    def receive(self, k: int, q: float, now: float) -> None:
        """A delivery of ``q`` units for pair k: count the cycle, add stock, fill backorders first-come first-served."""
        self.accrue(now)
        oh, bo = self.on_hand[k], self.backorders[k]
        day = self.day
        day.cycles += 1
        if self.stockout[k] or oh - bo < 0:
            day.stockout_cycles += 1
        self.stockout[k] = 0
        self.on_hand[k] = oh + q
        self.units_on_hand += q
        self.value_on_hand += q * self.unit_cost[k]
        self.on_order[k] -= q
        self.units_on_order -= q
        self.received[k] += q
        day.units_received += q
        filled = self._fill_backorders(k, now) if self.backorder_mode and bo > 0 else 0.0
        if self.capped and q > filled:
            self._wh_move(k // self.n_sku, q - filled, now)

    def _fill_backorders(self, k: int, now: float) -> float:
        """Ship pair k's backorders first-come first-served from its stock; returns the units shipped."""
        q = self.queues[k]
        day = self.day
        cost = self.unit_cost[k]
        oh = before = self.on_hand[k]
        while q and oh > 0:
            entry = q[0]
            take = min(entry[1], oh)
            oh -= take
            self.backorders[k] -= take
            self.units_backordered -= take
            self.shipped[k] += take
            day.units_shipped += take
            day.revenue += take * entry[2]
            day.cogs += take * cost
            if entry[3] >= 0:
                self.channel_revenue[entry[3]] += take * entry[2]
            entry[1] -= take
            left = self.outstanding[entry[0]] - take
            if entry[1] <= 0:
                q.popleft()
            if left <= 0:
                del self.outstanding[entry[0]]
                self.on_hand[k] = oh
                self.on_complete(entry[0], now)
            else:
                self.outstanding[entry[0]] = left
        self.on_hand[k] = oh
        filled = before - oh
        self.units_on_hand -= filled
        self.value_on_hand -= filled * cost
        return float(filled)

    # ------------------------------------------------------------ end of run
    def arrays(self) -> dict[str, np.ndarray]:
        """The per-pair state as numpy arrays (initial, received, shipped, on hand, lost, demanded, ...)."""
        return {
            "initial": self.initial,
            "received": np.array(self.received),
            "shipped": np.array(self.shipped),
            "on_hand": np.array(self.on_hand),
            "lost": np.array(self.lost),
            "demanded": np.array(self.demanded),
            "backorders": np.array(self.backorders),
            "on_order": np.array(self.on_order),
            "demanded_after_warmup": np.array(self.demanded) - np.array(self.at_warmup[0]),
            "filled_now_after_warmup": np.array(self.filled_now) - np.array(self.at_warmup[1]),
        }

    @property
    def inventory_position(self) -> np.ndarray:
        """On hand + on order - backorders of every pair."""
        return np.array(self.on_hand) + np.array(self.on_order) - np.array(self.backorders)
