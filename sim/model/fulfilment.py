"""From allocated stock to the customer's door: picking, cut-off, carrier, transit.

Which warehouse serves an order is ``sim.model.routing``'s decision (``Router``).

``Fulfilment`` keeps one record per shipment (a ``sim.model.logs.ShipmentLog``)
and moves a shipment on when its stock is allocated:
picking (if the warehouse has a picking model), packing, cut-off, carrier.
Departure and delivery times are computed, not simulated event by event, since
nothing after packing competes for a resource other than carrier capacity,
which is booked in packing order.
"""

from __future__ import annotations

import heapq

import numpy as np

from sim.model.delivery import Carriers, after_down, next_cutoff
from sim.model.economics import carrier_rule, carrier_rule_block
from sim.model.logs import ShipmentLog
from sim.model.routing import Router
from sim.model.streams import POS_BITS, POS_MASK
from sim.model.warehouse import PickingStation
from sim.scenario.schema import Scenario

BOOK_CHUNK = 1 << 20  # shipments booked per vectorized pass (bounds the temporaries of a long run)


class Fulfilment:
    """Shipment records (a ``ShipmentLog``) and their way through the warehouse and the carrier network."""

    def __init__(self, env, scenario: Scenario, streams, event_days: np.ndarray, expected_shipments: int = 1024):
        self.env = env
        self.s = scenario
        self.carriers = Carriers(scenario, streams.seed)
        self.router = Router(scenario, self.carriers)
        self.choose_carrier = carrier_rule(scenario, self.carriers)  # (w, r, weight, value) -> carrier
        self.choose_carriers = carrier_rule_block(scenario, self.carriers)  # the same over arrays
        self.log = ShipmentLog(expected_shipments)
        self.horizon = float(scenario.horizon_days)
        self._packed: list[tuple[float, int, int]] = []  # (packed at, sequence, shipment): see ``packed``
        self._seq = 0
        self.stations = [
            PickingStation(env, scenario, i, streams.seed, event_days, self.packed, self.log.pick_start, self.log.key)
            if w.picking is not None
            else None
            for i, w in enumerate(scenario.warehouses)
        ]

    def add_whole_orders(
        self,
        first_order: int,
        day: int,
        region: np.ndarray,
        lines: np.ndarray,
        units: np.ndarray,
        weight: np.ndarray,
        value: np.ndarray,
    ) -> int:
        """Record one shipment per order of a day, each from its region's own warehouse (``Router.whole_orders``),
        in one block, and plan their pick jobs (``PickingStation.plan_day``); returns the id of the first
        (order i's shipment is first + i)."""
        log, n = self.log, len(region)
        first = log.n
        log.reserve(n)
        pos = np.arange(n, dtype=np.int64)
        wh = np.asarray(self.router.own, dtype=np.int64)[region]
        log.write_block(
            first,
            order=first_order + pos,
            wh=wh,
            region=region,
            lines=lines,
            units=units,
            weight=weight,
            value=value,
            key=(int(day) << POS_BITS) | pos,
        )
        log.n = first + n
        for wi, station in enumerate(self.stations):
            if station is not None:
                at = np.flatnonzero(wh == wi)
                station.plan_day(int(day), n, at, lines[at])
        return first

    # ------------------------------------------------------------ flow
    def release(self, sid: int, now: float) -> None:
        """All stock of the shipment is allocated (at ``now``): it enters its warehouse."""
        log = self.log
        log.release[sid] = now
        station = self.stations[log.wh[sid]]
        if station is None:
            log.pick_start[sid] = now
            if self.carriers.unconstrained:
                log.ready[sid] = now  # booked after the run (``book_ready``)
            else:
                self.ready(sid, now)
        else:
            station.release(sid, log.lines[sid], now)

    def packed(self, sid: int, when: float) -> None:
        """The shipment is packed at ``when`` (now, or later once its packing ends): hand it to the carrier.

        With unlimited carriers that are never down, handing over is a function of the shipment
        and ``when`` alone and nothing reads it during the run: only the time is recorded, and
        ``book_ready`` books every such shipment in one vectorized pass at the end. Otherwise carrier capacity is booked in packing
        order: the shipment waits in a heap that ``flush_packed`` empties in order of ``when``
        (ties: first packed first) at every day's close; nothing else reads the carriers' books.
        """
        if when >= self.horizon:
            return  # still packing when the run ends
        if self.carriers.unconstrained:
            self.log.ready[sid] = when  # booked with the others after the run (``book_ready``)
        else:
            self._seq += 1
            heapq.heappush(self._packed, (when, self._seq, sid))

    def flush_packed(self, before: float) -> None:
        """Hand to the carriers, in packing order, every waiting shipment packed before ``before``.

        Called at a day's close with ``before`` = that instant: any shipment packed later is
        packed at or after it (packing ends after it starts), so the order is exact.
        """
        heap = self._packed
        while heap and heap[0][0] < before:
            when, _, sid = heapq.heappop(heap)
            self.ready(sid, when)

    def ready(self, sid: int, now: float) -> None:
        """Picked and packed at ``now``: choose the carrier and book the departure (capacity is booked
        in this order); the transit draw and the charge depend on nothing else and are filled in
        for every shipment at once after the run (``book_ready``)."""
        log, car = self.log, self.carriers
        log.ready[sid] = now
        w = log.wh[sid]
        if not car.names:
            log.ship[sid] = log.deliver[sid] = self._leave_without_carrier(w, now)
            return
        c = log.carrier[sid]
        if c < 0:
            c = self.choose_carrier(w, log.region[sid], log.weight[sid], log.value[sid])
        c, t = car.ship(c, w, log.region[sid], now, log.weight[sid])
        log.carrier[sid] = c
        log.ship[sid] = t

    def book_ready(self) -> None:
        """What ``ready`` leaves for the end of the run, for every shipment at once (vectorized).

        With carriers that are never limited or down (``Carriers.unconstrained``), booking depends on
        nothing but the shipment and when it was packed, so ``packed`` only records the time and the
        whole booking is done here: carrier by the rule unless a plan named one, departure at the
        next cut-off. In every case the transit time (the parcel's own keyed draw) and the charge
        of each booked shipment are filled in here, the same values ``ready`` would compute."""
        cols = self.log.arrays()
        car = self.carriers
        if car.unconstrained:
            self._book_block(cols, np.flatnonzero(~np.isnan(cols["ready"]) & np.isnan(cols["ship"])))
        if car.names:
            self._deliver_block(cols, np.flatnonzero(~np.isnan(cols["ship"]) & np.isnan(cols["deliver"])))

    def _book_block(self, cols: dict[str, np.ndarray], todo: np.ndarray) -> None:
        """Carrier and departure of the shipments ``todo`` (unconstrained carriers), in bounded chunks."""
        car = self.carriers
        for part in np.array_split(todo, max(1, len(todo) // BOOK_CHUNK)):
            if not len(part):
                continue
            w, ready = cols["wh"][part], cols["ready"][part]
            ship = car.next_cutoff_block(ready, w)
            cols["ship"][part] = ship
            if not car.names:
                cols["deliver"][part] = ship
                continue
            c = cols["carrier"][part]
            unset = c < 0
            if unset.any():
                pick = cols["region"][part][unset], cols["weight"][part][unset], cols["value"][part][unset]
                c[unset] = self.choose_carriers(w[unset], *pick)
            cols["carrier"][part] = c

    def _deliver_block(self, cols: dict[str, np.ndarray], todo: np.ndarray) -> None:
        """Delivery time (departure + transit draw) and charge of the booked shipments ``todo``."""
        car = self.carriers
        for part in np.array_split(todo, max(1, len(todo) // BOOK_CHUNK)):
            if not len(part):
                continue
            c, w, r, key = cols["carrier"][part], cols["wh"][part], cols["region"][part], cols["key"][part]
            transit = car.transit_block(c, w, r, key >> POS_BITS, key & POS_MASK)
            cols["deliver"][part] = cols["ship"][part] + transit
            cols["cost"][part] = car.cost_block(c, w, r, cols["weight"][part])

    def _leave_without_carrier(self, w: int, now: float) -> float:
        return after_down(next_cutoff(now, self.carriers.cutoffs[w]), self.carriers.wh_down[w])

    def arrays(self) -> dict[str, np.ndarray]:
        """The shipment records as numpy arrays, one per column of ``ShipmentLog.SCHEMA``, as of the
        horizon (a pick job starting at or after it, known in advance, is not yet started: NaN)."""
        self.book_ready()
        out = self.log.arrays()
        out["pick_start"][out["pick_start"] >= self.horizon] = np.nan
        return out
