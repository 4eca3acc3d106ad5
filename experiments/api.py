"""The Python API for notebooks and scripts: replications and experiments as DataFrames.

Everything runs through the batch runner (:mod:`experiments.runner`), so results are
the same numbers the command line prints, whatever the executor.

>>> from experiments import replicate
>>> runs = replicate("scenarios/classroom_sq.yaml", n=2, seed=7)
>>> list(runs.columns[:2]), len(runs)
(['replication', 'seed'], 2)
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from experiments.channels import channel_tables
from experiments.control_variates import cv_summary
from experiments.events import event_tables
from experiments.experiment_folder import Outcome, Plan, write_folder
from experiments.output import inside
from experiments.runner import Interrupted, run_outputs, tasks_for
from experiments.selection import Selection
from experiments.sequential import Batches, StopOutcome, run_selection, run_until, select_config
from experiments.spec import Point, Spec, baseline_name, load_spec
from experiments.stats import paired_differences, summarize
from experiments.warmup import WarmupUnresolved, resolve_warmup
from sim.scenario.errors import InputError, Problem
from sim.scenario.estimate import check_work, estimate_work
from sim.scenario.loader import load_scenario, scenario_hash, window_override

__all__ = ["ExperimentInterrupted", "ExperimentResult", "WorkRefused", "plot", "replicate", "run_experiment"]


class WorkRefused(ValueError):
    """The work estimate says the run would take over an hour or not fit in memory (``allow_large=False``)."""


class ExperimentInterrupted(KeyboardInterrupt):
    """Ctrl-C during an experiment; the finished replications are kept in ``cache``."""

    def __init__(self, cache: Path):
        super().__init__()
        self.cache = cache


@dataclass(frozen=True, eq=False)
class ExperimentResult:
    """What ``run_experiment`` produced, as DataFrames, and where it wrote it.

    ``runs``: one row per (variant, replication) with seed, status, grid values and KPIs;
    ``summary``: mean, std, 95% CI per variant and metric; ``paired``: differences against
    the baseline variant (None with a single variant); ``daily``: the spec's daily metrics
    per variant, replication and day; ``failures``: the failed replications (usually empty);
    ``folder``: the run folder; ``report_path``: its ``report.html``; ``events_summary``: the
    KPIs over each promotion event's days (None without events).
    """

    name: str
    spec: Spec
    baseline: str
    runs: pd.DataFrame
    summary: pd.DataFrame
    paired: pd.DataFrame | None
    daily: pd.DataFrame
    failures: pd.DataFrame
    folder: Path
    report_path: Path
    root: Path
    wall_seconds: float
    events_summary: pd.DataFrame | None = None  # per promotion event: mean and CI of every KPI
    currency: str | None = None
    from_cache: int = 0  # replications taken from the cache instead of simulated
    selection: Selection | None = None  # spec ``select``: the chosen variant, its guarantee, replications
    stopping: StopOutcome | None = None  # spec ``stop_when``: replications run and whether every target was met
    control_variates: pd.DataFrame | None = None  # spec ``control_variates``: plain and controlled estimates


def replicate(scenario, n: int, seed: int | None = None, workers: int = 1) -> pd.DataFrame:
    """Simulate ``n`` replications of one scenario; one row per replication.

    ``scenario`` is a :class:`sim.scenario.schema.Scenario` (from ``sim.load_scenario``) or a path
    to a scenario YAML. Replication r uses ``replication_seed(seed, r)`` (``seed`` defaults
    to the scenario's own), the same seeds ``run.py simulate`` uses, so the rows equal its
    ``kpis.csv``. Columns: ``replication``, ``seed``, then every KPI. ``workers`` > 1 runs
    the replications on that many processes (same numbers). A replication that fails
    raises ``RuntimeError`` naming it.

    >>> from sim import load_scenario
    >>> sc = load_scenario("scenarios/classroom_sq.yaml", ["horizon_days=400"])
    >>> runs = replicate(sc, n=3, seed=1)
    >>> runs["replication"].tolist(), bool(runs["unit_fill_rate"].between(0, 1).all())
    ([0, 1, 2], True)
    """
    if not hasattr(scenario, "horizon_days"):
        scenario = load_scenario(scenario)
    master = scenario.seed if seed is None else seed
    tasks = tasks_for([Point(scenario.name, scenario, {}, scenario_hash(scenario))], n, master)
    executor = "serial" if workers == 1 else "process"
    outputs, _ = run_outputs(tasks, None, executor, workers, quiet=True)
    rows = []
    for task, out in zip(tasks, outputs):
        if out["status"] != "ok":
            raise RuntimeError(f"replication {task.replication} (seed {task.seed}) failed: {out['error']}")
        rows.append({"replication": task.replication, "seed": task.seed, **out["kpis"]})
    return pd.DataFrame(rows)


def run_experiment(
    spec_or_path,
    replications: int | None = None,
    executor: str | None = None,
    results=None,
    quiet: bool = True,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    out=None,
    fresh: bool = False,
    allow_large: bool = False,
    window: tuple | None = None,
    orders: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> ExperimentResult:
    """Run an experiment spec and write its run folder (tables, plots, report); return the tables.

    ``spec_or_path``: the spec YAML's path. ``replications``, ``executor`` (``serial``,
    ``process``, ``dask``), ``workers`` and ``scheduler`` override the spec's. The run folder
    goes under ``results/<spec name>/`` (``results`` defaults to ``./results``; ``out``
    names the spec's folder directly) with ``latest`` pointing to it, exactly as
    ``run.py experiment`` writes it; finished replications are cached there, so running
    again only does what is missing (``fresh=True`` starts over). ``quiet=False`` prints
    the work estimate and progress on stderr. Raises ``sim.InputError`` for a bad spec
    (nothing written), :class:`WorkRefused` for a run the work estimate refuses and
    :class:`ExperimentInterrupted` on Ctrl-C. ``window`` (start, end dates) restricts every
    KPI to that window (``kpi_window``), as ``--window START:END`` does. ``orders=True``
    also writes ``orders.csv``/``.parquet``, one row per order of every variant and
    replication (``--orders``; every replication is then simulated, the cache only keeps KPIs).
    ``on_progress(done, total)`` is called once before anything runs (cached replications
    counted as done) and after each finished replication; ``cancel`` (a ``threading.Event``)
    set from another thread stops the run as Ctrl-C does (:class:`ExperimentInterrupted`,
    the finished replications stay cached).

    >>> import tempfile
    >>> res = run_experiment("experiments/demo.yaml", replications=2, results=tempfile.mkdtemp())  # doctest: +SKIP
    >>> res.summary.columns[:3].tolist()  # doctest: +SKIP
    ['variant', 'metric', 'n']
    """
    plan = _plan(
        Path(spec_or_path), replications, executor, workers, scheduler, results, out, window, allow_large, quiet, fresh
    )
    got = _simulate(plan, quiet, fresh, orders, on_progress, cancel)
    return _result(plan, got, write_folder(plan, got))


def _result(plan: Plan, got: Outcome, folder: Path) -> ExperimentResult:
    """The :class:`ExperimentResult` of a finished plan whose run folder is ``folder``."""
    return ExperimentResult(
        plan.spec.name,
        plan.spec,
        plan.baseline,
        got.runs,
        got.summary,
        got.paired,
        got.daily,
        got.failures,
        folder,
        folder / "report.html",
        plan.root,
        got.wall_seconds,
        events_summary=got.events_summary,
        currency=getattr(plan.base_scenario, "currency", None),
        from_cache=int(got.runs.attrs.get("from_cache", 0)),
        selection=got.selection,
        stopping=got.stopping,
        control_variates=got.control_variates,
    )


def _plan(
    spec_path: Path,
    replications,
    executor,
    workers,
    scheduler,
    results,
    out,
    window,
    allow_large: bool,
    quiet: bool,
    fresh: bool = False,
) -> Plan:
    """Load the spec (``InputError``: nothing written), apply the overrides, check the work estimate
    (:class:`WorkRefused` before the output folder exists) and print it unless ``quiet``."""
    # window (start, end): the override kpi_window={start, end} of every variant
    spec, points = load_spec(spec_path, [window_override(*window)] if window else ())
    executor = executor or spec.executor.type
    workers = workers or spec.executor.workers
    reps = replications or spec.replications
    results = Path("results") if results is None else Path(results)
    root = Path(out) if out else inside(results, results / spec.name)
    inside(root, root / "cache")
    inside(root, root / "latest")
    baseline = baseline_name(spec, points)
    n_workers = 1 if executor == "serial" else (workers or os.cpu_count() or 1)
    most = reps if replications else spec.most_replications  # sequential specs: bound the work by their cap
    work, refused = check_work(
        str(spec_path), [estimate_work(p.scenario) for p in points], max(most, reps), n_workers, allow_large
    )
    if refused:  # before the output folder exists: nothing is written
        raise WorkRefused(refused)
    if not quiet:
        print(work, file=sys.stderr)
    scheduler = scheduler or spec.executor.scheduler
    run_kwargs = dict(cache_dir=root / "cache", executor=executor, workers=workers, scheduler=scheduler, fresh=fresh)
    points, warmup = _resolve_warmup(spec_path, spec, points, run_kwargs, quiet)
    tasks = tasks_for(points, reps, spec.seed)
    if not quiet:
        print(
            f"experiment {spec.name}: {len(points)} variant(s) x {reps} replications = {len(tasks)} runs"
            + (f" (then up to {most} per variant as the {_sequential(spec)} needs)" if most > reps else "")
            + f", executor {executor}",
            file=sys.stderr,
        )
    return Plan(spec, spec_path, points, tasks, reps, baseline, executor, workers, scheduler, root, window, warmup)


def _resolve_warmup(spec_path: Path, spec: Spec, points, run_kwargs: dict, quiet: bool):
    """(points, the warm-up's manifest entry or None): ``warmup_days: auto`` replaced on every point by
    one MSER-5 warm-up from pilot replications run through the runner (``run_kwargs``) into the
    experiment's cache (so Ctrl-C loses none of them; ``fresh`` reruns them). A run too short for
    MSER-5 is an ``InputError`` (one line, exit 2)."""
    try:
        resolved, choice = resolve_warmup(points, spec.seed, quiet=quiet, **run_kwargs)
    except (Interrupted, KeyboardInterrupt):
        raise ExperimentInterrupted(run_kwargs["cache_dir"]) from None
    except WarmupUnresolved as exc:
        raise InputError([Problem(str(spec_path), None, "", str(exc))]) from None
    if choice is None:
        return resolved, None
    if not quiet:
        print(f"warm-up: {choice.describe()}", file=sys.stderr)
    return resolved, choice.manifest()


def _sequential(spec: Spec) -> str:
    """What decides the replications of a sequential spec, in words."""
    return f"{spec.select.procedure} selection" if spec.select is not None else "stop_when targets"


def _simulate(
    plan: Plan,
    quiet: bool,
    fresh: bool,
    orders: bool,
    on_progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> Outcome:
    """Run the plan's replications through the batch runner (cached) and compute the summary tables.

    A plain spec runs its tasks at once; ``stop_when`` adds batches until its targets are met and
    ``select`` lets the selection procedure ask for what it needs (:mod:`experiments.sequential`)."""
    spec = plan.spec
    started = time.perf_counter()
    run_kwargs = dict(
        cache_dir=plan.cache,
        executor=plan.executor,
        workers=plan.workers,
        scheduler=plan.scheduler,
        daily_columns=tuple(spec.daily_metrics),
        quiet=quiet,
        fresh=fresh,
        on_progress=on_progress,
        cancel=cancel,
    )
    batches = Batches(run_kwargs, orders=[] if orders else None)
    selection, stopping = None, None
    try:
        if spec.select is not None:
            selection = run_selection(batches, plan.points, spec.seed, select_config(spec.select, plan.replications))
        elif spec.stop_when is not None:
            stopping = run_until(batches, plan.points, spec.seed, plan.replications, spec.stop_when)
        else:
            batches.run(plan.tasks)
    except (Interrupted, KeyboardInterrupt):
        raise ExperimentInterrupted(plan.cache) from None
    runs, daily = batches.tables([p.name for p in plan.points])
    return _outcome(plan, batches, runs, daily, time.perf_counter() - started, selection, stopping)


def _outcome(plan: Plan, batches: Batches, runs, daily, wall: float, selection, stopping) -> Outcome:
    """The summary, paired, event and channel tables of the finished replications."""
    spec = plan.spec
    metrics = spec.reported_metrics
    for metric in metrics:  # when every replication failed there are no KPI columns at all
        if metric not in runs:
            runs[metric] = float("nan")
    summary = summarize(runs, metrics, plan.group_cols)
    paired = paired_differences(runs, metrics, plan.baseline) if len(plan.points) > 1 else None
    events, events_summary = event_tables(batches.events)
    channels, channels_summary = channel_tables(batches.channels)
    failures = runs[runs["status"] != "ok"][["variant", "replication", "seed", "error"]]
    controlled = (
        cv_summary(runs, metrics, list(dict.fromkeys(spec.control_variates))) if spec.control_variates else None
    )
    return Outcome(
        runs,
        summary,
        paired,
        daily,
        failures,
        events,
        events_summary,
        batches.orders,
        wall,
        channels,
        channels_summary,
        selection=selection,
        stopping=stopping,
        control_variates=controlled,
    )


def plot(result: ExperimentResult, metric: str, kind: str | None = None):
    """A matplotlib Figure of one metric of an experiment result (shown inline in a notebook).

    ``kind``: ``"bar"`` (mean and 95% CI per variant, the default), ``"paired"`` (paired
    differences to the baseline; needs two or more variants) or ``"daily"`` (the daily
    mean with its CI band; ``metric`` is then a daily column of the spec's
    ``daily_metrics``). The same drawing functions as the report's plots
    (:mod:`experiments.plots`); save with ``fig.savefig("x.png")``.

    >>> res = run_experiment("experiments/demo.yaml", replications=2)  # doctest: +SKIP
    >>> fig = plot(res, "total_cost")  # doctest: +SKIP
    """
    from experiments import plots as P
    from sim.kpis import kpi

    kind = kind or "bar"
    info = kpi(metric)
    if kind == "bar":
        return P.bar_ci(
            result.summary,
            metric,
            None,
            title=f"{info.label} by variant",
            ylabel=info.axis_label(result.currency),
            baseline=result.baseline,
        )
    if kind == "paired":
        if result.paired is None or not len(result.paired):
            raise ValueError("a paired plot needs an experiment with two or more variants")
        return P.paired_diff_forest(
            result.paired,
            metric,
            None,
            baseline=result.baseline,
            title=f"{info.label}: difference to {result.baseline}",
        )
    if kind == "daily":
        if metric not in result.daily:
            raise ValueError(
                f"{metric!r} is not a daily column of this result; the spec's daily_metrics are "
                f"{list(result.spec.daily_metrics)}"
            )
        return P.daily_series(
            result.daily, metric, None, title=f"daily {metric}", xlabel="day of the horizon", ylabel=metric
        )
    raise ValueError(f"kind must be 'bar', 'paired' or 'daily', got {kind!r}")
