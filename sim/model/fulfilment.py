"""From allocated stock to the customer's door: routing, picking, cut-off, carrier, transit.

``Router`` decides which warehouse serves an order (``routing.warehouse``):

* ``own_region``: the region's own warehouse (the first listing the region); if it is
  down and ``on_warehouse_down: reroute``, the next warehouse in the region's
  preference order (own first, then by fastest mean transit);
* ``nearest_with_stock``: the first warehouse in preference order that has every line
  in stock (and is up, with ``on_warehouse_down: reroute``; with ``wait`` a down
  warehouse keeps its orders); with ``split_shipments`` lines that no single warehouse
  can serve go to the first warehouse holding each line (one shipment per warehouse);
  otherwise the order waits (backorder) at its own warehouse;
* ``lane_plan``: warehouse and carrier drawn from the plan's shares for the region
  (the logistics optimizer writes such plans); if the drawn warehouse is down and
  ``on_warehouse_down: reroute``, the first warehouse up in preference order serves
  the order, with the carrier chosen by ``routing.carrier``.

``Fulfilment`` keeps one record per shipment (Python lists while running,
numpy arrays at the end) and moves a shipment on when its stock is allocated:
picking (if the warehouse has a picking model), packing, cut-off, carrier.
Departure and delivery times are computed, not simulated event by event, since
nothing after packing competes for a resource other than carrier capacity,
which is booked in packing order.
"""

from __future__ import annotations

import numpy as np

from sim.model.delivery import Carriers, _after_down, _spans, next_cutoff
from sim.model.economics import carrier_rule
from sim.model.streams import POS_BITS, POS_MASK
from sim.model.warehouse import PickingStation
from sim.scenario.schema import Scenario


def open_warehouses(scenario: Scenario) -> list[bool]:
    """Which warehouses are open (and pay ``fixed_cost_per_day``): all of them, except that under
    ``lane_plan`` routing a warehouse that no lane with a positive share names is closed (the
    logistics optimizer closes a warehouse by giving it no lanes).

    >>> from sim.scenario.loader import load_scenario
    >>> open_warehouses(load_scenario("scenarios/multi_warehouse.yaml"))
    [True, True, True]
    """
    if scenario.routing.warehouse != "lane_plan":
        return [True] * len(scenario.warehouses)
    used = {row.warehouse for row in scenario.routing.lane_plan if row.share > 0}
    return [w.name in used for w in scenario.warehouses]


class Router:
    def __init__(self, scenario: Scenario, carriers: Carriers):
        s = scenario
        self.mode = s.routing.warehouse
        self.split = s.routing.split_shipments
        self.reroute = s.routing.on_warehouse_down == "reroute"
        W = len(s.warehouses)
        self.down = [_spans(w.down) for w in s.warehouses]
        self.any_down = any(self.down)
        self.pref: list[list[int]] = []
        for r, region in enumerate(s.demand.regions):
            own = [i for i, w in enumerate(s.warehouses) if region.name in w.regions] or [0]
            speed = carriers.mean_transit[:, :, r].min(axis=0) if carriers.n else np.zeros(W)
            rest = sorted((i for i in range(W) if i not in own), key=lambda i: (speed[i], i))
            self.pref.append(own + rest)
        self.plan_cum, self.plan_lanes = [], []
        wi = {w.name: i for i, w in enumerate(s.warehouses)}
        ci = {c.name: i for i, c in enumerate(s.carriers)}
        for region in s.demand.regions:
            rows = [row for row in s.routing.lane_plan if row.region == region.name]
            shares = np.array([row.share for row in rows], dtype=float)
            self.plan_cum.append(np.cumsum(shares) / shares.sum() if len(rows) else np.array([]))
            self.plan_lanes.append([(wi[row.warehouse], ci[row.carrier]) for row in rows])

    def is_up(self, w: int, t: float) -> bool:
        return _after_down(t, self.down[w]) == t

    def primary(self, r: int, t: float) -> int:
        pref = self.pref[r]
        if not self.any_down or not self.reroute:
            return pref[0]
        for w in pref:
            if self.is_up(w, t):
                return w
        return pref[0]

    def lane(self, r: int, u: float, t: float) -> tuple[int, int]:
        """(warehouse, carrier) of the plan lane drawn by uniform ``u``; carrier -1 = by rule."""
        i = int(np.searchsorted(self.plan_cum[r], u, side="right"))
        w, c = self.plan_lanes[r][min(i, len(self.plan_lanes[r]) - 1)]
        if self.reroute and self.any_down and not self.is_up(w, t):
            alt = next((x for x in self.pref[r] if self.is_up(x, t)), None)
            if alt is not None:
                return alt, -1
        return w, c

    def with_stock(self, r: int, t: float, skus, qtys, on_hand, n_sku: int) -> list[tuple[int, list[int]]]:
        """Warehouse(s) for the lines of one order: [(warehouse, [line positions]), ...]."""
        candidates = [w for w in self.pref[r] if not self.reroute or self.is_up(w, t)] or self.pref[r][:1]
        for w in candidates:
            base = w * n_sku
            if all(on_hand[base + k] >= q for k, q in zip(skus, qtys)):
                return [(w, list(range(len(skus))))]
        if not self.split or len(skus) == 1:
            return [(candidates[0], list(range(len(skus))))]
        groups: dict[int, list[int]] = {}
        for j, (k, q) in enumerate(zip(skus, qtys)):
            w = next((w for w in candidates if on_hand[w * n_sku + k] >= q), candidates[0])
            groups.setdefault(w, []).append(j)
        return list(groups.items())


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
        self.rec = {f: [] for f in self.FIELDS}
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
        return _after_down(next_cutoff(now, self.carriers.cutoffs[w]), self.carriers.wh_down[w])

    def arrays(self) -> dict[str, np.ndarray]:
        return {f: np.asarray(v, dtype=float) for f, v in self.rec.items()}
