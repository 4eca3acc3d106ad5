"""From allocated stock to the customer's door: picking, cut-off, carrier, transit.

Which warehouse serves an order is ``sim.model.routing``'s decision (``Router``).

``Fulfilment`` keeps one record per shipment (Python lists while running,
numpy arrays at the end) and moves a shipment on when its stock is allocated:
picking (if the warehouse has a picking model), packing, cut-off, carrier.
Departure and delivery times are computed, not simulated event by event, since
nothing after packing competes for a resource other than carrier capacity,
which is booked in packing order.
"""

from __future__ import annotations

import numpy as np

from sim.model.delivery import Carriers, after_down, next_cutoff
from sim.model.economics import carrier_rule
from sim.model.routing import Router
from sim.model.streams import POS_BITS, POS_MASK
from sim.model.warehouse import PickingStation
from sim.scenario.schema import Scenario


class Fulfilment:
    """Shipment records and their way through the warehouse and the carrier network."""

    FIELDS = (
        "order",
        "wh",
        "region",
        "lines",
        "units",
        "weight",
        "value",
        "carrier",
        "release",
        "pick_start",
        "ready",
        "ship",
        "deliver",
        "cost",
    )

    def __init__(self, env, scenario: Scenario, streams, event_days: np.ndarray):
        self.env = env
        self.s = scenario
        self.carriers = Carriers(scenario, streams.seed)
        self.router = Router(scenario, self.carriers)
        self.choose_carrier = carrier_rule(scenario, self.carriers)  # (w, r, weight, value) -> carrier
        self.rec: dict[str, list] = {f: [] for f in self.FIELDS}
        self._append = tuple(self.rec[f].append for f in self.FIELDS)  # new_shipment's hot path
        self.key: list[int] = []  # order_key(order day, position in the day) per shipment: its random numbers
        self.stations = [
            PickingStation(env, scenario, i, streams.seed, event_days, self.ready, self._pick_started, self.key)
            if w.picking is not None
            else None
            for i, w in enumerate(scenario.warehouses)
        ]

    # ------------------------------------------------------------ records
    def new_shipment(
        self,
        order: int,
        wh: int,
        region: int,
        lines: int,
        units: float,
        weight: float,
        value: float,
        carrier: int = -1,
        day: int = 0,
        pos: int = 0,
    ) -> int:
        """Record a shipment of order ``order`` (order ``pos`` of day ``day``); returns its id."""
        sid = len(self.key)
        self.key.append((day << POS_BITS) | pos)  # sim.model.streams.order_key
        nan = float("nan")
        (
            a_order,
            a_wh,
            a_region,
            a_lines,
            a_units,
            a_weight,
            a_value,
            a_carrier,
            a_release,
            a_pick_start,
            a_ready,
            a_ship,
            a_deliver,
            a_cost,
        ) = self._append
        a_order(order)
        a_wh(wh)
        a_region(region)
        a_lines(lines)
        a_units(units)
        a_weight(weight)
        a_value(value)
        a_carrier(carrier)
        a_release(nan)
        a_pick_start(nan)
        a_ready(nan)
        a_ship(nan)
        a_deliver(nan)
        a_cost(0.0)
        return sid

    def _pick_started(self, sid: int) -> None:
        self.rec["pick_start"][sid] = self.env.now

    # ------------------------------------------------------------ flow
    def release(self, sid: int) -> None:
        """All stock of the shipment is allocated: it enters its warehouse."""
        rec = self.rec
        rec["release"][sid] = self.env.now
        station = self.stations[rec["wh"][sid]]
        if station is None:
            rec["pick_start"][sid] = self.env.now
            self.ready(sid)
        else:
            station.release(sid, rec["lines"][sid])

    def ready(self, sid: int) -> None:
        """Picked and packed: choose the carrier, book the departure, draw the transit time."""
        rec, car = self.rec, self.carriers
        now = self.env.now
        rec["ready"][sid] = now
        w, r, weight = rec["wh"][sid], rec["region"][sid], rec["weight"][sid]
        if car.n == 0:
            rec["ship"][sid] = rec["deliver"][sid] = self._leave_without_carrier(w, now)
            return
        c = rec["carrier"][sid]
        if c < 0:
            c = self.choose_carrier(w, r, weight, rec["value"][sid])
        c, t = car.ship(c, w, r, now, weight)
        rec["carrier"][sid] = c
        rec["ship"][sid] = t
        k = self.key[sid]
        rec["deliver"][sid] = t + car.draw_transit(c, w, r, k >> POS_BITS, k & POS_MASK)
        rec["cost"][sid] = car.cost(c, w, r, weight)

    def _leave_without_carrier(self, w: int, now: float) -> float:
        return after_down(next_cutoff(now, self.carriers.cutoffs[w]), self.carriers.wh_down[w])

    def arrays(self) -> dict[str, np.ndarray]:
        """The shipment records as float arrays, one per field of ``FIELDS``."""
        return {f: np.asarray(v, dtype=float) for f, v in self.rec.items()}
