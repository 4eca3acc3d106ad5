"""Carriers, cut-offs and delivery promises.

A packed shipment leaves at the warehouse's next carrier cut-off (the first
pick-up the same day at or after it is packed, else the first one the next
day; no cut-offs means it leaves at once). It does not leave while its
warehouse or carrier is down, nor when the carrier's daily capacity at that
warehouse is used up: then it waits for the next day, or spills to the
cheapest other carrier with room (``routing.capacity_overflow``).

Cost of a shipment = (base + per_kg x weight) x lane multiplier. Transit time
is drawn from the lane's distribution (else the carrier's). An order is on time
when delivered by the end of day ``floor(order time) + promise_days``; the
promise comes from the carrier when it has one, else from the region.

>>> next_cutoff(3.40, [0.5, 0.75])   # 09:36 on day 3 -> 12:00 the same day
3.5
>>> next_cutoff(3.80, [0.5, 0.75])   # after the last pick-up -> 12:00 next day
4.5
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sim.model.streams import keyed_draws
from sim.scenario.schema import Scenario


def next_cutoff(t: float, cutoffs_day_fraction) -> float:
    """The first cut-off at or after time ``t`` (days); cut-offs are fractions of a day."""
    if not cutoffs_day_fraction:
        return t
    day = math.floor(t)
    frac = t - day
    for c in cutoffs_day_fraction:
        if c >= frac:
            return day + c
    return day + 1 + cutoffs_day_fraction[0]


def period_spans(periods) -> list[tuple[float, float]]:
    """(start, end) in days of each down period (``start_day``, ``days``) of a warehouse or carrier."""
    return [(float(p.start_day), float(p.start_day + p.days)) for p in periods]


def after_down(t: float, spans) -> float:
    """The first time at or after ``t`` outside every span (a span ending inside another moves on again).

    >>> after_down(2.5, [(2.0, 3.0), (3.0, 4.5)]), after_down(1.0, [(2.0, 3.0)])
    (4.5, 1.0)
    """
    moved = True
    while moved:
        moved = False
        for a, b in spans:
            if a <= t < b:
                t, moved = b, True
    return t


class Carriers:
    """Lane costs, transit draws and the ship-time rules for all carriers."""

    def __init__(self, scenario: Scenario, seed: int = 0):
        self.s = scenario
        self.seed = int(seed)
        self.names = [c.name for c in scenario.carriers]
        W, R = len(scenario.warehouses), len(scenario.demand.regions)
        wi = {w.name: i for i, w in enumerate(scenario.warehouses)}
        ri = {r.name: i for i, r in enumerate(scenario.demand.regions)}
        C = len(scenario.carriers)
        self.mult = np.ones((C, W, R))
        self.transit = [[[c.transit_days] * R for _ in range(W)] for c in scenario.carriers]
        for ci, c in enumerate(scenario.carriers):
            for lane in c.lanes:
                w, r = wi[lane.warehouse], ri[lane.region]
                self.mult[ci, w, r] = lane.cost_multiplier
                if lane.transit_days is not None:
                    self.transit[ci][w][r] = lane.transit_days
        self.mean_transit = np.array([[[d.mean for d in row] for row in per_c] for per_c in self.transit]).reshape(
            C, W, R
        )
        self.base = np.array([c.base_cost for c in scenario.carriers])
        self.per_kg = np.array([c.cost_per_kg for c in scenario.carriers])
        self.capacity = [c.daily_capacity for c in scenario.carriers]
        self.down = [period_spans(c.down) for c in scenario.carriers]
        self.wh_down = [period_spans(w.down) for w in scenario.warehouses]
        self.cutoffs = [[h / 24.0 for h in w.cutoff_hours] for w in scenario.warehouses]
        self.promise_region = [r.promise_days for r in scenario.demand.regions]
        self.promise_carrier = [c.promise_days for c in scenario.carriers]
        self.used: dict[tuple[int, int, int], int] = {}  # (carrier, warehouse, day) -> shipments
        self._draws: dict[tuple[int, int, int], Callable[[int, int], float]] = {}  # lane -> keyed_draws
        self.spill = scenario.routing.capacity_overflow == "spill"
        # no capacity limits and nothing ever down: a shipment simply leaves at the next cut-off
        self.unconstrained = all(c is None for c in self.capacity) and not any(self.down) and not any(self.wh_down)
        # fastest carrier per (warehouse, region); no carriers: never asked (zeros keep the type)
        self.fastest: np.ndarray = np.argmin(self.mean_transit, axis=0) if C else np.zeros((W, R), dtype=np.intp)
        # (fixed, per kg) price of each carrier on each lane, as plain floats for the hot path
        self._lane_price = [
            [
                [
                    (float(self.base[c] * self.mult[c, w, r]), float(self.per_kg[c] * self.mult[c, w, r]))
                    for c in range(C)
                ]
                for r in range(R)
            ]
            for w in range(W)
        ]

    @property
    def n(self) -> int:
        """Number of carriers."""
        return len(self.names)

    def cost(self, c: int, w: int, r: int, weight: float) -> float:
        """Charge of carrier c for a shipment of ``weight`` kg from warehouse w to region r."""
        a, b = self._lane_price[w][r][c]
        return a + b * weight

    def cheapest(self, w: int, r: int, weight: float) -> int:
        """The carrier with the lowest charge for this lane and weight (the first on ties)."""
        best, best_cost = 0, float("inf")
        for c, (a, b) in enumerate(self._lane_price[w][r]):
            cost = a + b * weight
            if cost < best_cost:
                best, best_cost = c, cost
        return best

    def cost_block(self, c: np.ndarray, w: np.ndarray, r: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """``cost`` of many shipments at once (the same floating-point operations)."""
        a = self.base[c] * self.mult[c, w, r]
        b = self.per_kg[c] * self.mult[c, w, r]
        return a + b * weight

    def cheapest_block(self, w: np.ndarray, r: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """``cheapest`` of many shipments at once (the first carrier on ties, as ``np.argmin``)."""
        a = (self.base[:, None] * self.mult[:, w, r]).T  # (shipments, carriers)
        b = (self.per_kg[:, None] * self.mult[:, w, r]).T
        return np.argmin(a + b * weight[:, None], axis=1)

    def next_cutoff_block(self, t: np.ndarray, w: np.ndarray) -> np.ndarray:
        """``next_cutoff(t[i], cutoffs[w[i]])`` for every shipment i (one pass per warehouse)."""
        out = t.copy()
        for wi, cuts in enumerate(self.cutoffs):
            if not cuts:
                continue
            at = np.flatnonzero(w == wi)
            if not len(at):
                continue
            tt = t[at]
            day = np.floor(tt)
            c = np.asarray(cuts, dtype=float)
            i = np.searchsorted(c, tt - day, side="left")  # the first cut-off at or after the time of day
            later = i < len(c)
            out[at] = np.where(later, day + c[np.minimum(i, len(c) - 1)], (day + 1.0) + c[0])
        return out

    def transit_block(
        self, c: np.ndarray, w: np.ndarray, r: np.ndarray, day: np.ndarray, pos: np.ndarray
    ) -> np.ndarray:
        """``draw_transit`` of many parcels at once: for each lane and order day, that day's stream is drawn
        once, as long as its last position needs (the draws are prefix-consistent: the same values)."""
        out = np.empty(len(c))
        W, R = len(self.wh_down), len(self.promise_region)
        lane = (c * W + w) * R + r
        group = lane * (int(day.max()) + 1 if len(day) else 1) + day
        order = np.argsort(group, kind="stable")
        g = group[order]
        cuts = np.flatnonzero(np.diff(g)) + 1
        for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), len(g)]):
            rows = order[a:b]
            i = int(rows[0])
            ci, wi, ri = int(c[i]), int(w[i]), int(r[i])
            draws, p = self._lane_draws(ci, wi, ri), pos[rows]
            take = getattr(draws, "take", None)  # a constant transit time is no stream
            out[rows] = take(int(day[i]), p) if take is not None else draws(0, 0)
        return out

    def promise(self, c: int, r: int) -> int:
        """Promised days to deliver: carrier c's promise when it has one, else region r's."""
        p = self.promise_carrier[c] if c >= 0 else None
        return self.promise_region[r] if p is None else p

    def draw_transit(self, c: int, w: int, r: int, day: int, pos: int) -> float:
        """Transit time on lane (c, w, r) of a parcel of order ``pos`` of day ``day``.

        Each lane has its own stream per order day and the parcel takes element ``pos``
        of it, so an order's transit time does not depend on the other orders (common
        random numbers across variants).
        """
        return self._lane_draws(c, w, r)(day, pos)

    def _lane_draws(self, c: int, w: int, r: int) -> Callable[[int, int], float]:
        draws = self._draws.get((c, w, r))
        if draws is None:
            draws = self._draws[c, w, r] = keyed_draws(self.seed, "transit", self.transit[c][w][r], (c, w, r), low=0.0)
        return draws

    def ship(self, c: int, w: int, r: int, ready: float, weight: float) -> tuple[int, float]:
        """Carrier and departure time of a shipment packed at ``ready``; books capacity."""
        if self.unconstrained:
            return c, next_cutoff(ready, self.cutoffs[w])
        t = ready
        wh_down, cutoffs = self.wh_down[w], self.cutoffs[w]
        for _ in range(10_000):
            t = next_cutoff(t, cutoffs)
            if wh_down:
                t = after_down(t, wh_down)
            if c >= 0:
                t_up = after_down(t, self.down[c]) if self.down[c] else t
                if t_up != t:
                    alt = self._spill_to(c, w, r, t, weight) if self.spill else -1
                    if alt < 0:
                        t = t_up
                        continue
                    c = alt
                cap = self.capacity[c]
                day = math.floor(t)
                if cap is not None and self.used.get((c, w, day), 0) >= cap:
                    alt = self._spill_to(c, w, r, t, weight) if self.spill else -1
                    if alt < 0:
                        t = day + 1.0
                        continue
                    c = alt
                    day_key = (c, w, day)
                    self.used[day_key] = self.used.get(day_key, 0) + 1
                    return c, t
                self.used[(c, w, day)] = self.used.get((c, w, day), 0) + 1
            return c, t
        return c, float("inf")  # no carrier ever has room: stays in the warehouse

    def _spill_to(self, c: int, w: int, r: int, t: float, weight: float) -> int:
        day = math.floor(t)
        best, best_cost = -1, float("inf")
        for alt in range(self.n):
            if alt == c or after_down(t, self.down[alt]) != t:
                continue
            cap = self.capacity[alt]
            if cap is not None and self.used.get((alt, w, day), 0) >= cap:
                continue
            cost = self.cost(alt, w, r, weight)
            if cost < best_cost:
                best, best_cost = alt, cost
        return best
