"""Experiments that decide their own replications: sequential stopping and selection of the best.

A plain experiment runs ``replications`` of every variant at once. With ``stop_when`` it runs
them, then adds batches (the same replications, hence the same seeds, on every variant, so the
pairing of common random numbers holds) until every named KPI's confidence interval is as narrow
as asked or ``max_replications`` is reached. With ``select`` a ranking-and-selection procedure
(:mod:`experiments.selection`) asks for the replications it needs, variant by variant.

Every replication still goes through the batch runner and its cache, so an interrupted
sequential run resumes where it stopped, and the run folder holds every replication used.

>>> rule = StopWhen(half_width={"total_cost": 5.0})
>>> runs = pd.DataFrame({"variant": ["a"] * 4, "status": ["ok"] * 4, "total_cost": [100.0, 102, 98, 100]})
>>> stop_table(runs, rule)[["variant", "metric", "n", "target", "met"]].to_dict("records")
[{'variant': 'a', 'metric': 'total_cost', 'n': 4, 'target': 5.0, 'met': True}]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from experiments.runner import Task, run_tasks
from experiments.selection import SelectConfig, Selection, select
from experiments.spec import Point, Select, StopWhen
from experiments.stats import mean_ci
from sim.model.streams import replication_seed

__all__ = [
    "Batches",
    "SelectionFailed",
    "StopOutcome",
    "run_selection",
    "run_until",
    "select_config",
    "stop_table",
    "tasks_between",
]


class SelectionFailed(RuntimeError):
    """A replication the selection procedure needed failed, so no guarantee can be given."""


def tasks_between(points: list[Point], first: int, last: int, master_seed: int) -> list[Task]:
    """Replications ``first .. last - 1`` of every point, replication r seeded as in :func:`runner.tasks_for`."""
    seeds = {r: replication_seed(master_seed, r) for r in range(first, last)}
    return [Task(p, r, seeds[r]) for p in points for r in range(first, last)]


@dataclass
class Batches:
    """Runs lists of tasks through the batch runner and keeps every table they produced, in order.

    ``run_kwargs`` are passed to :func:`experiments.runner.run_tasks` (cache, executor, daily
    columns, progress); ``orders`` keeps the per-order tables when it is a list.
    """

    run_kwargs: dict
    orders: list | None = None
    runs: list[pd.DataFrame] = field(default_factory=list)
    daily: list[pd.DataFrame] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    channels: list[dict] = field(default_factory=list)
    cached: int = 0
    rounds: int = 0

    def run(self, tasks: list[Task]) -> pd.DataFrame:
        """Run ``tasks`` (what is cached is read back); return their runs table and keep it."""
        if not tasks:
            return pd.DataFrame()
        runs, daily = run_tasks(
            tasks, events=self.events, orders=self.orders, channels=self.channels, **self.run_kwargs
        )
        self.cached += int(runs.attrs.get("from_cache", 0))
        self.rounds += 1
        self.runs.append(runs)
        if len(daily):
            self.daily.append(daily)
        return runs

    def tables(self, order: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Every run and daily row so far, sorted by variant (in ``order``) and replication."""
        runs = pd.concat(self.runs, ignore_index=True) if self.runs else pd.DataFrame()
        rank = {name: i for i, name in enumerate(order)}
        if len(runs):
            runs = runs.sort_values(["variant", "replication"], key=_by_rank(rank), kind="stable")
            runs = runs.reset_index(drop=True)
        daily = pd.concat(self.daily, ignore_index=True) if self.daily else pd.DataFrame()
        if len(daily):
            daily = daily.sort_values(["variant", "replication", "day"], key=_by_rank(rank), kind="stable")
            daily = daily.reset_index(drop=True)
        runs.attrs["from_cache"] = self.cached
        return runs, daily


def _by_rank(rank: dict[str, int]) -> Callable[[pd.Series], pd.Series]:
    """A sort key putting the ``variant`` column in the points' order and other columns as they are."""
    return lambda col: col.map(rank) if col.name == "variant" else col


def stop_table(runs: pd.DataFrame, rule: StopWhen, level: float = 0.95) -> pd.DataFrame:
    """Per variant and target: n, mean, CI half-width, the target (absolute) and whether it is met."""
    ok = runs[runs["status"] == "ok"]
    targets = [(m, t, False) for m, t in rule.half_width.items()]
    targets += [(m, t, True) for m, t in rule.relative_half_width.items()]
    rows = []
    for variant, grp in ok.groupby("variant", sort=False):
        for metric, target, relative in targets:
            ci = mean_ci(grp[metric], level) if metric in grp else None
            mean = ci.mean if ci else math.nan
            hw = ci.half_width if ci else math.nan
            absolute = target * abs(mean) if relative else target
            rows.append(
                {
                    "variant": variant,
                    "metric": metric,
                    "n": int(grp[metric].notna().sum()) if metric in grp else 0,
                    "mean": mean,
                    "half_width": hw,
                    "target": absolute,
                    "relative_target": target if relative else math.nan,
                    "met": bool(np.isfinite(hw) and hw <= absolute),
                }
            )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class StopOutcome:
    """How a ``stop_when`` run ended: the replications run, whether every target was met, the final table."""

    replications: int
    met: bool
    table: pd.DataFrame
    rounds: list[dict]  # per round: replications so far and the targets not yet met

    def sentence(self) -> str:
        """One line for the report and the screen."""
        if self.met:
            return f"every CI target was met after {self.replications} replications per variant ({len(self.rounds)} rounds)."
        missing = self.table[~self.table["met"]]
        names = ", ".join(sorted({f"{r.metric} ({r.variant})" for r in missing.itertuples()}))
        return (
            f"stopped at max_replications = {self.replications} per variant with targets not met: {names}; "
            "the intervals are wider than asked."
        )


def run_until(batches: Batches, points: list[Point], master_seed: int, first: int, rule: StopWhen) -> StopOutcome:
    """Run ``first`` replications, then batches of ``rule.batch`` (default ``first``) until every target is met."""
    n, step = 0, rule.batch or first
    target_n = first
    rounds = []
    while True:
        batches.run(tasks_between(points, n, target_n, master_seed))
        n = target_n
        runs, _ = batches.tables([p.name for p in points])
        table = stop_table(runs, rule)
        missing = sorted({f"{r.metric} ({r.variant})" for r in table[~table["met"]].itertuples()})
        rounds.append({"replications": n, "targets_not_met": "; ".join(missing)})
        if not missing or n >= rule.max_replications:
            return StopOutcome(n, not missing, table, rounds)
        target_n = min(n + step, rule.max_replications)


def select_config(spec_select: Select, replications: int) -> SelectConfig:
    """The :class:`experiments.selection.SelectConfig` of a spec's ``select`` key."""
    return SelectConfig(
        metric=spec_select.metric,
        goal=spec_select.goal,
        procedure=spec_select.procedure,
        indifference=spec_select.indifference,
        confidence=spec_select.confidence,
        first_stage=spec_select.first_stage or replications,
        max_replications=spec_select.max_replications,
        budget=spec_select.budget,
        increment=spec_select.increment,
    )


def run_selection(batches: Batches, points: list[Point], master_seed: int, config: SelectConfig) -> Selection:
    """Run the selection procedure, every replication it asks for through ``batches`` (cached, CRN seeds)."""
    seen: dict[tuple[int, int], float] = {}

    def sample(variants, first: int, count: int) -> np.ndarray:
        wanted = [(v, r) for v in variants for r in range(first, first + count)]
        todo = [(v, r) for v, r in wanted if (v, r) not in seen]
        if todo:
            tasks = [Task(points[v], r, replication_seed(master_seed, r)) for v, r in todo]
            runs = batches.run(tasks)
            for (v, r), row in zip(todo, runs.to_dict("records")):
                if row["status"] != "ok" or not np.isfinite(row.get(config.metric, math.nan)):
                    raise SelectionFailed(
                        f"replication {r} of {points[v].name!r} (seed {row['seed']}) failed or has no "
                        f"{config.metric}: {row.get('error') or 'not a number'}; the selection needs every replication"
                    )
                seen[(v, r)] = float(row[config.metric])
        return np.array([[seen[(v, r)] for r in range(first, first + count)] for v in variants], dtype=float)

    return select(sample, [p.name for p in points], config)
