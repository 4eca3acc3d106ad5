"""Suppliers: lead times of purchase orders and the periods a supplier ships nothing.

A supplier ships nothing while disrupted: an order placed during a disruption leaves
when it ends, then takes its lead time. Disruptions are the scheduled ones of the
scenario plus, with ``random_disruptions``, an alternating renewal process (exponential
gaps of mean ``mean_days_between``, exponential lengths of mean ``mean_duration_days``)
drawn once per run from the ``disruption`` stream; overlapping spans are merged.

>>> merge_spans([(5.0, 8.0), (1.0, 2.0), (7.0, 9.0)]).tolist()
[[1.0, 2.0], [5.0, 9.0]]
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np

from sim.model.streams import DayArrayDraws
from sim.scenario.schema import Scenario, Supplier


def merge_spans(spans: list[tuple[float, float]]) -> np.ndarray:
    """(n, 2) array of the union of the half-open spans [a, b), sorted, overlapping ones merged."""
    merged: list[list[float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return np.array(merged, dtype=float).reshape(-1, 2)


def down_spans(supplier: Supplier, horizon_days: int, rng_disrupt: np.random.Generator) -> np.ndarray:
    """The periods ``supplier`` ships nothing, scheduled and random ones merged (see the module docstring)."""
    spans: list[tuple[float, float]] = [(d.start_day, d.start_day + d.days) for d in supplier.disruptions]
    rd = supplier.random_disruptions
    if rd is not None:
        t = 0.0
        while True:
            t += rng_disrupt.exponential(rd.mean_days_between)
            if t >= horizon_days:
                break
            length = rng_disrupt.exponential(rd.mean_duration_days)
            spans.append((t, t + length))
            t += length
    return merge_spans(spans)


class SupplierModel:
    """Lead times and down periods of each supplier.

    The lead time of the n-th purchase order of pair k = (warehouse, SKU) is element k of
    its supplier's n-th lead-time array (``DayArrayDraws`` with the order count in place
    of the day; an array is drawn when first needed, as long as the highest pair asking). A variant
    that orders earlier or later keeps the pair's lead times, and a variant that orders
    one more time shifts only that pair's later ones (common random numbers).
    """

    def __init__(self, scenario: Scenario, seed: int, rng_disrupt: np.random.Generator, n_pairs: int):
        self.suppliers = scenario.suppliers
        self.n_pairs = int(n_pairs)
        self._draws = [
            None
            if getattr(sp.lead_time_days, "dist", "") == "constant"
            else DayArrayDraws(
                seed,
                "lead_time",
                lambda rng, n, d=sp.lead_time_days: np.maximum(d.sample(rng, n), 0.0),
                64,
                (j,),
                cache=None,
            )  # an array grows to the highest pair that needs it
            for j, sp in enumerate(scenario.suppliers)
        ]
        self._constant = [max(float(sp.lead_time_days.mean), 0.0) for sp in scenario.suppliers]
        self._count = [0] * self.n_pairs  # purchase orders each pair has placed
        self.last_deviation = 0.0  # the last purchase order's lead time minus its supplier's mean (a control variate)
        self.down: list[np.ndarray] = [down_spans(sp, scenario.horizon_days, rng_disrupt) for sp in scenario.suppliers]
        self._starts = [spans[:, 0].tolist() for spans in self.down]  # the scalar path's copies
        self._ends = [spans[:, 1].tolist() for spans in self.down]

    def arrival(self, j: int, k: int, now: float) -> float:
        """When a purchase order for pair k placed at ``now`` with supplier j arrives (its ship time + lead time)."""
        t = now
        starts = self._starts[j]
        if starts:
            i = bisect_right(starts, t) - 1
            if i >= 0 and t < self._ends[j][i]:
                t = self._ends[j][i]
        draws = self._draws[j]
        if draws is None:
            self.last_deviation = 0.0
            return t + self._constant[j]
        n = self._count[k]
        self._count[k] = n + 1
        lead = draws.take_one(n, k)
        self.last_deviation = lead - self._constant[j]
        return t + lead

    def ship_times(self, j: int, t: np.ndarray) -> np.ndarray:
        """When orders placed at times ``t`` leave supplier j (delayed to the end of a disruption)."""
        spans = self.down[j]
        if len(spans) == 0:
            return t
        i = np.searchsorted(spans[:, 0], t, side="right") - 1
        inside = (i >= 0) & (t < spans[np.maximum(i, 0), 1])
        return np.where(inside, spans[np.maximum(i, 0), 1], t)

    def lead_times(self, j: int, ks: np.ndarray, now: float) -> np.ndarray:
        """Lead times of purchase orders for pairs ``ks`` (distinct) placed at ``now`` with supplier j."""
        draws = self._draws[j]
        if draws is None:
            return np.full(len(ks), self._constant[j])
        n = np.array([self._count[k] for k in ks.tolist()], dtype=np.int64)
        for k in ks.tolist():
            self._count[k] += 1
        if len(ks) == 1:
            return draws.take(int(n[0]), ks)
        out = np.empty(len(ks))
        for level in np.unique(n):
            m = n == level
            out[m] = draws.take(int(level), ks[m])
        return out
