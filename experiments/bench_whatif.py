"""The ``whatif`` group of ``run.py bench``: what the what-if page's Run button costs.

The page's Run calls :func:`experiments.whatif.run_whatif` and draws the cards from its result,
so these cases time that call (wall clock: the planner waits on the wall, and the replications
run on the process pool's 2 workers). The page's own drawing adds about a second on top (it is
measured in a browser, not here). Three cases on ``double11.yaml`` with East DC's extra pickers
at 6, 4 replications (8 runs: the what-if and its baseline): a 40-day KPI window around
Double-11 and the whole year, each with an empty cache, then the same what-if again (every
replication from the cache; the run folder and report are still written).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from experiments.bench import ROOT, Sample, Spec, Target

__all__ = ["WHATIF_WINDOW", "whatif_specs"]

DOUBLE11 = str(ROOT / "scenarios" / "double11.yaml")
#: 40 days around Double-11 (KPIs over these days; the year is still simulated up to its end)
WHATIF_WINDOW = ("2026-10-15", "2026-11-23")
REPLICATIONS = 4


def _whatif(window: tuple[str, str] | None):
    from experiments.whatif import WhatIf

    return WhatIf(
        DOUBLE11,
        ("warehouses[east_dc].picking.promo_extra_pickers=6",),
        replications=REPLICATIONS,
        window=window,
        seed=7,
        name="bench",
    )


def first_run(window: tuple[str, str] | None) -> Callable[[], Sample]:
    """One what-if with an empty cache (a fresh results folder each repetition)."""

    def work() -> Sample:
        from experiments.whatif import run_whatif

        with tempfile.TemporaryDirectory() as tmp:
            cpu, wall = time.process_time(), time.perf_counter()
            result = run_whatif(_whatif(window), Path(tmp), workers=2)
            return Sample(time.process_time() - cpu, time.perf_counter() - wall, 1, {"cached": result.from_cache})

    return work


class Repeat:
    """The same what-if again: its results folder is filled once, untimed, on the first call."""

    def __init__(self, window: tuple[str, str] | None):
        self.window = window
        self.folder: tempfile.TemporaryDirectory | None = None

    def __call__(self) -> Sample:
        """One timed repeat (every replication from the cache)."""
        from experiments.whatif import run_whatif

        if self.folder is None:
            self.folder = tempfile.TemporaryDirectory()
            run_whatif(_whatif(self.window), Path(self.folder.name), workers=2)
        cpu, wall = time.process_time(), time.perf_counter()
        result = run_whatif(_whatif(self.window), Path(self.folder.name), workers=2)
        return Sample(time.process_time() - cpu, time.perf_counter() - wall, 1, {"cached": result.from_cache})


def whatif_specs(quick: bool, reps: int) -> list[Spec]:
    """The three Run-button cases; wall seconds, with the issue-17 expectation of an instant repeat."""
    n = 1 if quick else min(reps, 3)

    def wall(s: Sample) -> float:
        return s.wall

    label = f"double11, East DC extra pickers 6, {REPLICATIONS} replications + baseline"
    return [
        Spec("whatif/window40", "whatif", f"what-if Run, {label}, 40-day window, empty cache", "s (wall)",
             first_run(WHATIF_WINDOW), n, wall),
        Spec("whatif/year", "whatif", f"what-if Run, {label}, whole year, empty cache", "s (wall)",
             first_run(None), n, wall),
        Spec("whatif/repeat", "whatif", f"what-if Run again, {label}, 40-day window, all cached", "s (wall)",
             Repeat(WHATIF_WINDOW), n, wall, (Target("value", "<", 3.0, "< 3 s: instant for a planner"),)),
    ]  # fmt: skip
