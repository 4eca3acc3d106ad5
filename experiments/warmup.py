"""Warm-up detection by MSER-5, and ``warmup_days: auto`` resolved by pilot replications.

A run that starts empty (no stock, no queue) spends its first days in a transient that biases
every KPI. MSER-5 (White 1997; White, Cobb & Spratt 2000; Hoad, Robinson & Davies 2010) picks
the truncation that minimises the squared standard error of what is left:

    batch the daily series y_1..y_N into n = N // 5 means b_1..b_n (the last N mod 5 days dropped);
    Z(d) = sum_{j > d} (b_j - mean(b_{d+1..n}))^2 / (n - d)^2,    d = 0 .. n // 2;
    d* = argmin Z(d),   warm-up = 5 d* days.

When the minimum lies at the end of the search (d* close to n / 2) the series has not settled
within the run: the result says so (``settled=False``) instead of offering a number.

>>> import numpy as np
>>> y = 10 * np.exp(-np.arange(300) / 10) + np.random.default_rng(1).normal(0, 1, 300)
>>> r = mser(y)
>>> r.warmup_days, r.settled
(35, True)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from experiments.runner import Task, run_outputs
from experiments.spec import Point
from sim.scenario.loader import scenario_hash

__all__ = [
    "PILOT_REPLICATIONS",
    "WARMUP_SERIES",
    "MserResult",
    "WarmupChoice",
    "WarmupUnresolved",
    "choose_warmup",
    "mser",
    "pilot_tasks",
    "resolve_warmup",
]

#: The daily series that show a transient: stock on hand, units on backorder, shipments waiting to
#: leave, pick jobs waiting (``sim.kpis.DAILY_COLUMNS_INFO``). A constant one (no stock-outs, no
#: backlog) carries no information and is skipped.
WARMUP_SERIES = ("on_hand_units", "backorder_units_end", "backlog_end", "pick_queue_mean")
#: Pilot replications (warm-up 0) averaged before MSER-5 looks at a series.
PILOT_REPLICATIONS = 5
#: The search stops at n / 2 batches; a minimum in its last tenth (at least the last batch) means "not settled".
EDGE_FRACTION = 0.1
MIN_BATCHES = 10


@dataclass(frozen=True)
class MserResult:
    """MSER on one series: the warm-up in days (``batch * d*``), the statistic Z(d) for d = 0..n//2,
    the batch size, the number of batches n and whether the minimum lies clear of the search's end."""

    warmup_days: int
    statistic: tuple[float, ...]
    batch: int
    batches: int
    settled: bool

    @property
    def truncated_batches(self) -> int:
        """d*, the number of batches cut."""
        return self.warmup_days // self.batch


def mser(series: Iterable[float], batch: int = 5) -> MserResult:
    """MSER-``batch`` of a daily series (MSER-5 by default; White, Cobb & Spratt 2000).

    Z(d) = sum_{j>d} (b_j - bbar_d)^2 / (n - d)^2 over the batch means b_j, for d = 0..n//2;
    the warm-up is ``batch * argmin Z``. ``settled`` is False when the series is too short to tell
    (fewer than 10 batches) or the minimum lies in the last tenth of the search (the transient may
    go on past the middle of the run): then run longer. NaN days are not allowed.

    >>> r = mser([0.0] * 20 + [5.0, 4.0, 6.0, 5.0] * 20)
    >>> r.warmup_days, r.settled, len(r.statistic)
    (20, True, 11)
    >>> mser(range(100)).settled  # a trend never settles
    False
    """
    y = np.asarray(list(series), dtype=float)
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    if not np.isfinite(y).all():
        raise ValueError("the series has NaN or infinite values")
    n = len(y) // batch
    if n < 2:
        return MserResult(0, (), batch, n, False)
    b = y[: n * batch].reshape(n, batch).mean(axis=1)
    d_max = n // 2
    z = np.empty(d_max + 1)
    for d in range(d_max + 1):
        rest = b[d:]
        z[d] = float(((rest - rest.mean()) ** 2).sum()) / (n - d) ** 2
    best = int(np.argmin(z)) if np.ptp(z) > 1e-12 * max(1.0, float(np.abs(z).max())) else 0
    edge = d_max - max(1, round(EDGE_FRACTION * d_max))
    settled = n >= MIN_BATCHES and best < edge
    return MserResult(best * batch, tuple(float(v) for v in z), batch, n, settled)


@dataclass(frozen=True)
class WarmupChoice:
    """The warm-up chosen over several daily series: the largest MSER-5 truncation among those that
    settled, per series its result, the series that did not settle and the constant ones skipped."""

    warmup_days: int
    results: dict[str, MserResult]
    unsettled: tuple[str, ...]
    constant: tuple[str, ...]
    pilots: int  # pilot replications per point
    points: int = 1  # the points (variants) whose pilots were averaged

    @property
    def used(self) -> tuple[str, ...]:
        """The series that decided (settled ones)."""
        return tuple(k for k, r in self.results.items() if r.settled)

    def manifest(self) -> dict:
        """The choice as plain data (``manifest.json``'s ``warmup``): days, method, series, pilots."""
        return {
            "days": self.warmup_days,
            "method": "MSER-5",
            "series": list(self.used),
            "not_settled": list(self.unsettled),
            "pilot_replications": self.pilots,
            "variants": self.points,
            "per_series_days": {k: r.warmup_days for k, r in self.results.items()},
        }

    def describe(self) -> str:
        """``35 days (MSER-5 on backlog_end, pick_queue_mean over 5 pilot replications)``."""
        on = ", ".join(self.used) or "no series"
        each = f" of each of {self.points} variants" if self.points > 1 else ""
        runs = f"{self.pilots} pilot replication{'s' * (self.pilots != 1)}{each}"
        return f"{self.warmup_days} days (MSER-5 on {on} over {runs})"


def choose_warmup(
    dailies: Sequence[dict[str, Sequence[float]]], series: Sequence[str] = WARMUP_SERIES, batch: int = 5
) -> WarmupChoice:
    """Average each of ``series`` across the pilot replications' daily tables (``dailies``: one mapping
    column -> daily values each, same length), run MSER on every non-constant average and take the
    largest truncation of those that settled (the KPIs are cut at one day, so the slowest series rules).

    >>> import numpy as np
    >>> t = np.arange(200)
    >>> day = {"on_hand_units": list(50 - 50 * np.exp(-t / 8) + np.sin(t)), "backlog_end": [0.0] * 200}
    >>> c = choose_warmup([day], ("on_hand_units", "backlog_end"))
    >>> c.used, c.constant, c.warmup_days > 0
    (('on_hand_units',), ('backlog_end',), True)
    """
    results: dict[str, MserResult] = {}
    constant = []
    for name in series:
        mean = np.mean([np.asarray(d[name], dtype=float) for d in dailies], axis=0)
        if np.ptp(mean) <= 1e-9 * max(1.0, float(np.abs(mean).max())):
            constant.append(name)
            continue
        results[name] = mser(mean, batch)
    unsettled = tuple(k for k, r in results.items() if not r.settled)
    settled = [r.warmup_days for r in results.values() if r.settled]
    return WarmupChoice(max(settled, default=0), results, unsettled, tuple(constant), len(dailies))


#: Added to the master seed's sequence so that pilots never share streams with the replications.
PILOT_STREAM = 0x5741524D


class WarmupUnresolved(ValueError):
    """MSER-5 found no warm-up: every series that moves was still moving at the middle of the run."""


def pilot_tasks(points: Sequence[Point], master_seed: int, pilots: int = PILOT_REPLICATIONS) -> list[Task]:
    """Pilot replications of every point with ``warmup_days: 0`` (its own scenario hash, so its cache
    entries never mix with the real ones); replication r has the same seed in every point (common
    random numbers) and a seed no real replication has (``PILOT_STREAM`` in its seed sequence)."""
    seeds = [
        int(np.random.SeedSequence([int(master_seed), r, PILOT_STREAM]).generate_state(1)[0]) for r in range(pilots)
    ]
    out: list[Task] = []
    for p in points:
        sc = p.scenario.model_copy(update={"warmup_days": 0})
        pilot = Point(f"{p.name} (pilot)", sc, p.params, scenario_hash(sc))
        out.extend(Task(pilot, r, seeds[r]) for r in range(pilots))
    return out


def resolve_warmup(
    points: Sequence[Point],
    master_seed: int,
    pilots: int = PILOT_REPLICATIONS,
    series: Sequence[str] = WARMUP_SERIES,
    **run_kwargs,
) -> tuple[list[Point], WarmupChoice | None]:
    """Replace ``warmup_days: auto`` by one common number of days on every point that has it.

    Runs ``pilots`` replications of each such point with warm-up 0 through the batch runner
    (``run_kwargs``: ``cache_dir``, ``executor``, ``workers``, ``quiet``, ... of
    :func:`experiments.runner.run_outputs`; with a cache, interrupted pilots are not lost), averages
    each daily series over all of them (every variant's pilots: one warm-up for all, so pairing
    holds) and applies :func:`choose_warmup`. Returns the points (unchanged when none says ``auto``)
    and the choice (None then). Raises :class:`WarmupUnresolved` when no series settled although
    some moved, and ``RuntimeError`` when a pilot replication fails.
    """
    auto = [p for p in points if p.scenario.warmup_days == "auto"]
    if not auto:
        return list(points), None
    tasks = pilot_tasks(auto, master_seed, pilots)
    outputs, _ = run_outputs(tasks, daily_columns=tuple(series), desc="warm-up pilots", **run_kwargs)
    for task, out in zip(tasks, outputs):
        if out["status"] != "ok":
            raise RuntimeError(f"warm-up pilot {task.point.name} #{task.replication} failed: {out['error']}")
    choice = replace(choose_warmup([out["daily"] for out in outputs], series), pilots=pilots, points=len(auto))
    if choice.unsettled and not choice.used:
        horizon = auto[0].scenario.horizon_days
        raise WarmupUnresolved(
            f"warmup_days: auto: MSER-5 found no warm-up within the first half of the {horizon} days "
            f"({', '.join(choice.unsettled)} still moving); the run is too short: lengthen horizon_days "
            "or give warmup_days as a number"
        )
    resolved = []
    for p in points:
        if p.scenario.warmup_days == "auto":
            sc = p.scenario.model_copy(update={"warmup_days": choice.warmup_days})  # <= horizon / 2
            p = Point(p.name, sc, p.params, scenario_hash(sc))
        resolved.append(p)
    return resolved, choice
