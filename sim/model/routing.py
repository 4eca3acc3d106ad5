"""Routing: which warehouse (and, under a lane plan, which carrier) an order goes to.

``Router`` decides by ``routing.warehouse``:

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

The carrier of an order not sent by a lane plan is chosen when it is packed
(``sim.model.fulfilment``).

>>> from sim.scenario.loader import load_scenario
>>> from sim.model.delivery import Carriers
>>> s = load_scenario("scenarios/multi_warehouse.yaml")
>>> Router(s, Carriers(s)).pref
[[0, 1, 2], [1, 0, 2], [2, 0, 1]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sim.model.delivery import Carriers, after_down, period_spans
from sim.scenario.schema import Scenario

#: The warehouse(s) of an order's lines: ((warehouse, line positions), ...) and its carrier (-1: by rule).
Route = tuple[Sequence[tuple[int, Sequence[int]]], int]


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
    """The routing rule of a scenario: ``route(...)`` sends one order's lines to warehouses.

    ``pref[r]`` is region r's preference order of warehouses (own first, then by the
    fastest mean transit to r); ``route`` is the method of the scenario's
    ``routing.warehouse`` mode, chosen once here, so the event loop makes one call per order.
    """

    def __init__(self, scenario: Scenario, carriers: Carriers):
        s = scenario
        self.mode = s.routing.warehouse
        self.split = s.routing.split_shipments
        self.reroute = s.routing.on_warehouse_down == "reroute"
        W = len(s.warehouses)
        self.down = [period_spans(w.down) for w in s.warehouses]
        self.any_down = any(self.down)
        self.pref: list[list[int]] = []
        for r, region in enumerate(s.demand.regions):
            own = [i for i, w in enumerate(s.warehouses) if region.name in w.regions] or [0]
            speed = carriers.mean_transit[:, :, r].min(axis=0) if carriers.n else np.zeros(W)
            rest = sorted((i for i in range(W) if i not in own), key=lambda i: (speed[i], i))
            self.pref.append(own + rest)
        self.plan_cum: list[np.ndarray] = []
        self.plan_lanes: list[list[tuple[int, int]]] = []
        wi = {w.name: i for i, w in enumerate(s.warehouses)}
        ci = {c.name: i for i, c in enumerate(s.carriers)}
        for region in s.demand.regions:
            rows = [row for row in s.routing.lane_plan if row.region == region.name]
            shares = np.array([row.share for row in rows], dtype=float)
            self.plan_cum.append(np.cumsum(shares) / shares.sum() if len(rows) else np.array([]))
            self.plan_lanes.append([(wi[row.warehouse], ci[row.carrier]) for row in rows])
        self.own = [pref[0] for pref in self.pref]  # each region's own warehouse
        #: every order ships whole from its region's own warehouse (no choice to make per order)
        self.whole_orders = self.mode == "own_region" and not self.any_down
        modes = {"lane_plan": self.route_lane, "nearest_with_stock": self.route_with_stock}
        self.route = modes.get(self.mode, self.route_primary)

    def is_up(self, w: int, t: float) -> bool:
        """True when warehouse w is not down at time t."""
        return after_down(t, self.down[w]) == t

    def primary(self, r: int, t: float) -> int:
        """Region r's warehouse at time t: its own, or with ``reroute`` the first up in preference order."""
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

    # one signature per mode: (region, uniform draw, time, line SKUs, line units, stock, SKUs) -> Route
    def route_primary(self, r: int, u: float, t: float, skus, qtys, on_hand, n_sku: int) -> Route:
        """``own_region``: the whole order to ``primary(r, t)``, carrier by rule."""
        return ((self.primary(r, t), range(len(skus))),), -1

    def route_lane(self, r: int, u: float, t: float, skus, qtys, on_hand, n_sku: int) -> Route:
        """``lane_plan``: the whole order to the lane drawn by ``u``."""
        w, carrier = self.lane(r, u, t)
        return ((w, range(len(skus))),), carrier

    def route_with_stock(self, r: int, u: float, t: float, skus, qtys, on_hand, n_sku: int) -> Route:
        """``nearest_with_stock``: see ``with_stock``; carrier by rule."""
        return self.with_stock(r, t, skus, qtys, on_hand, n_sku), -1
