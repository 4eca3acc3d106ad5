"""Replications of one scenario -> a run folder: the library part of ``run.py simulate``.

The run folder (``results/<name>/<run-id>/`` unless ``out``) holds ``kpis``, ``summary`` and
``daily`` tables (CSV and Parquet), ``summary.xlsx``, per-event tables when the scenario has
promotion events, per-channel tables (``channels``, ``channels_summary``) when it has marketing
channels, ``orders`` and ``order_lines`` when asked for, the resolved ``scenario.yaml`` and
``manifest.json``. The replications go through the batch runner; Ctrl-C keeps what finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd

from experiments.channels import channel_rows, channel_summary
from experiments.events import event_rows, event_summary
from experiments.output import RunFolder, atomic_write_text, inside, manifest, write_table, write_workbook
from experiments.runner import Interrupted, Task, run_outputs, run_task, tasks_for
from experiments.spec import Point
from experiments.stats import summarize
from sim.metrics import KPI_INFO
from sim.scenario.loader import dump_scenario, scenario_hash
from sim.scenario.schema import Scenario

__all__ = ["Provenance", "Replications", "SimulateResult", "collect", "simulate_to_folder"]


@dataclass(frozen=True)
class Provenance:
    """Where a simulated scenario came from, for the manifest: its file, ``--set`` overrides, window, plans."""

    scenario_file: str | None = None
    overrides: tuple[str, ...] = ()
    window: tuple | None = None  # (start, end) dates
    plans: tuple[str, ...] = ()


@dataclass
class Replications:
    """The finished replications of one scenario, in replication order; failed ones as text lines."""

    rows: list[dict] = field(default_factory=list)  # replication, seed, status, KPIs
    dailies: list[pd.DataFrame] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)  # tidy: replication, event, kpi, value
    channels: list[dict] = field(default_factory=list)  # wide: replication, channel, spend, orders, ...
    orders: list[pd.DataFrame] = field(default_factory=list)
    lines: list[pd.DataFrame] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SimulateResult:
    """What :func:`simulate_to_folder` ran and wrote: the summary tables and the final run folder."""

    scenario: Scenario
    master_seed: int
    replications: int  # those that finished
    summary: pd.DataFrame | None  # mean, CI per KPI (None when no replication finished)
    events_summary: pd.DataFrame | None
    failures: list[str]
    interrupted: bool
    folder: Path
    channels_summary: pd.DataFrame | None = None  # per marketing channel: mean and CI of each column


def _with_replication(table: pd.DataFrame, replication: int) -> pd.DataFrame:
    table = table.copy()
    table.insert(0, "replication", replication)
    return table


def collect(tasks: list[Task], outputs: dict[int, dict]) -> Replications:
    """The KPI rows, daily tables, event KPI rows, per-order tables and failure lines of the
    finished replications (``outputs``: task index -> output), in replication order."""
    got = Replications()
    for i in sorted(outputs):
        task, out = tasks[i], outputs[i]
        if out["status"] != "ok":
            got.failures.append(f"replication {task.replication} (seed {task.seed}): {out['error']}")
            continue
        got.rows.append({"replication": task.replication, "seed": task.seed, "status": "ok", **out["kpis"]})
        got.dailies.append(_with_replication(out["daily"], task.replication))
        got.events.extend(event_rows(out, replication=task.replication))
        got.channels.extend(channel_rows(out, replication=task.replication))
        if "orders" in out:
            got.orders.append(_with_replication(out["orders"], task.replication))
        if "lines" in out:
            got.lines.append(_with_replication(out["lines"], task.replication))
    return got


def _run(tasks: list[Task], workers: int, quiet: bool, orders: bool, lines: bool) -> tuple[dict[int, dict], bool]:
    """(task index -> output of the finished replications, whether Ctrl-C stopped the batch)."""
    job = partial(run_task, record_orders=orders, record_lines=lines) if orders or lines else None
    try:  # the batch runner: one replication per task, its worker processes, progress, Ctrl-C
        outputs, _ = run_outputs(tasks, None, "process", workers, None, daily_columns=None, quiet=quiet, job=job)
        return dict(enumerate(outputs)), False
    except Interrupted as exc:
        return exc.outputs, True


def _write_tables(folder: Path, name: str, got: Replications) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Write the KPI, summary, daily, order and event tables; return (summary, events summary)."""
    summary = ev_summary = None
    runs = pd.DataFrame(got.rows)
    if len(runs):
        runs.insert(0, "variant", name)
        summary = summarize(runs, [m for m in KPI_INFO if m in runs])  # forecast KPIs only with a forecast
        write_table(folder, "kpis", runs.drop(columns=["variant"]))
        write_table(folder, "summary", summary.drop(columns=["variant"]))
        write_table(folder, "daily", pd.concat(got.dailies, ignore_index=True))
        write_workbook(folder / "summary.xlsx", {"summary": summary.drop(columns=["variant"])})
        if got.orders:
            write_table(folder, "orders", pd.concat(got.orders, ignore_index=True))
        if got.lines:
            write_table(folder, "order_lines", pd.concat(got.lines, ignore_index=True))
    if got.events:
        ev_table = pd.DataFrame(got.events)
        ev_summary = event_summary(ev_table)
        write_table(folder, "events", ev_table)
        write_table(folder, "events_summary", ev_summary)
    if got.channels:
        ch_table = pd.DataFrame(got.channels)
        write_table(folder, "channels", ch_table)
        write_table(folder, "channels_summary", channel_summary(ch_table))
    return summary, ev_summary


def _manifest(scenario, digest: str, master_seed: int, got: Replications, source: Provenance, interrupted: bool):
    return manifest(
        kind="simulate",
        scenario=scenario.name,
        scenario_file=source.scenario_file,
        scenario_hash=digest,
        master_seed=master_seed,
        replications=len(got.rows),
        seeds=[r["seed"] for r in got.rows],
        overrides=list(source.overrides),
        window=[str(d) for d in source.window] if source.window else None,
        plans=[str(p) for p in source.plans],
        interrupted=interrupted,
    )


def simulate_to_folder(
    scenario,
    replications: int,
    master_seed: int,
    results: Path,
    out: Path | None = None,
    *,
    workers: int = 1,
    quiet: bool = False,
    orders: bool = False,
    lines: bool = False,
    provenance: Provenance | None = None,
) -> SimulateResult:
    """Simulate ``replications`` of ``scenario`` (seeds from ``master_seed``) and write the run folder.

    ``orders`` adds the per-order table, ``lines`` the order-line table (one row per order line).
    ``provenance`` (scenario file, overrides, window, plans) goes into the manifest. A failed
    replication is a line in ``failures``; Ctrl-C stops the batch and the folder keeps what
    finished (``interrupted``).
    """
    digest = scenario_hash(scenario)
    tasks = tasks_for([Point(scenario.name, scenario, {}, digest)], replications, master_seed)
    if out is None:  # results/<name>/ stays inside results/ (the name is a slug; this is the guard)
        inside(results, Path(results) / scenario.name)
    with RunFolder(results, scenario.name, digest, out) as rf:
        finished, interrupted = _run(tasks, workers, quiet, orders, lines)
        got = collect(tasks, finished)
        summary, ev_summary = _write_tables(rf.path, scenario.name, got)
        atomic_write_text(rf.path / "scenario.yaml", dump_scenario(scenario))
        rf.write_json(
            "manifest.json", _manifest(scenario, digest, master_seed, got, provenance or Provenance(), interrupted)
        )
    ch_summary = channel_summary(pd.DataFrame(got.channels)) if got.channels else None
    return SimulateResult(
        scenario, master_seed, len(got.rows), summary, ev_summary, got.failures, interrupted, rf.final, ch_summary
    )
