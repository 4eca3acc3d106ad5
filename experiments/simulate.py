"""``run.py simulate``: replications of one scenario -> a run folder and a KPI table on screen."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import pandas as pd

from experiments.output import RunFolder, atomic_write_text, inside, manifest, write_table, write_workbook
from experiments.runner import Interrupted, run_outputs, run_task, tasks_for
from experiments.spec import Point
from experiments.stats import summarize
from sim.kpis import kpi
from sim.metrics import KPI_INFO, event_windows, kpi_span
from sim.scenario.estimate import check_work, estimate_work
from sim.scenario.loader import day_date, dump_scenario, load_scenario, scenario_hash, window_override

#: The KPIs shown per promotion event on screen (events.csv has them all).
EVENT_KPIS_SHOWN = ("orders", "on_time_rate", "click_to_door_p95", "late_orders", "unit_fill_rate", "total_cost")


def _rows(tasks, outputs: dict[int, dict]):
    """(KPI rows, daily tables, event KPI rows, per-order tables, failure lines) of the finished
    replications, in replication order."""
    rows, dailies, events, orders, failures = [], [], [], [], []
    for i in sorted(outputs):
        task, out = tasks[i], outputs[i]
        if out["status"] != "ok":
            failures.append(f"replication {task.replication} (seed {task.seed}): {out['error']}")
            continue
        rows.append({"replication": task.replication, "seed": task.seed, "status": "ok", **out["kpis"]})
        daily = out["daily"].copy()
        daily.insert(0, "replication", task.replication)
        dailies.append(daily)
        events.extend(
            {"replication": task.replication, "event": label, "kpi": name, "value": value}
            for label, values in out.get("events", {}).items()
            for name, value in values.items()
        )
        if "orders" in out:
            table = out["orders"].copy()
            table.insert(0, "replication", task.replication)
            orders.append(table)
    return rows, dailies, events, orders, failures


def format_kpi_table(summary: pd.DataFrame, currency: str | None = None) -> str:
    """One line per KPI: human label, mean ± 95% CI half-width as a person reads it, and the raw
    KPI name (the column in kpis.csv and summary.csv)."""
    rows = []
    for _, r in summary.iterrows():
        k = kpi(r["metric"])
        hw = None if pd.isna(r["half_width"]) else float(r["half_width"])
        rows.append((k.label, k.format_ci(float(r["mean"]), hw, currency), r["metric"]))
    width = max(len(a) for a, _, _ in rows)
    vwidth = max(len(b) for _, b, _ in rows)
    return "\n".join(f"  {a:<{width}}  {b:>{vwidth}}  {c}" for a, b, c in rows)


def event_summary(events: pd.DataFrame) -> pd.DataFrame:
    """Mean and CI of every KPI per event, from the tidy (replication, event, kpi, value) table."""
    wide = events.pivot_table(
        index=["event", "replication"], columns="kpi", values="value", sort=False, dropna=False
    ).reset_index()
    metrics = [m for m in KPI_INFO if m in wide]
    return summarize(wide, metrics, ["event"])


def format_event_tables(ev_summary: pd.DataFrame, scenario, currency: str | None = None) -> str:
    spans = {label: (a, b) for label, a, b in event_windows(scenario)}
    out = []
    for label, grp in ev_summary.groupby("event", sort=False):
        a, b = spans.get(label, (None, None))
        when = f"orders placed and days {day_date(scenario, a)}..{day_date(scenario, b - 1)}" if a is not None else ""
        out.append(f"event {label} ({when}, margin {scenario.event_kpis.margin_days} days):")
        shown = (
            grp[grp["metric"].isin(EVENT_KPIS_SHOWN)]
            .set_index("metric")
            .loc[[m for m in EVENT_KPIS_SHOWN if m in set(grp["metric"])]]
            .reset_index()
        )
        out.append(format_kpi_table(shown, currency))
    return "\n".join(out)


def span_text(scenario) -> str:
    """Which orders and days the KPIs cover, for the table's heading."""
    a, b = kpi_span(scenario)
    first, last = day_date(scenario, a), day_date(scenario, b - 1)
    if scenario.kpi_window is not None:
        return f"over orders placed and days {first}..{last} (kpi_window)"
    return f"over days {a}..{b - 1} ({first}..{last}, after {scenario.warmup_days} warm-up days)"


def run_simulate(args) -> int:
    window = getattr(args, "window", None)
    overrides = [*args.set, window_override(*window)] if window else args.set
    scenario = load_scenario(args.file, overrides, args.plan)
    workers = args.workers if args.replications > 1 else 1
    work, refused = check_work(
        args.file, [estimate_work(scenario)], args.replications, workers, getattr(args, "allow_large", False)
    )
    if refused:  # before the run folder exists: nothing is written
        print(f"error: {refused}", file=sys.stderr)
        return 2
    print(work, file=sys.stderr)
    master = scenario.seed if args.seed is None else args.seed
    digest = scenario_hash(scenario)
    tasks = tasks_for([Point(scenario.name, scenario, {}, digest)], args.replications, master)
    if args.out is None:  # results/<name>/ stays inside results/ (the name is a slug; this is the guard)
        inside(args.results, Path(args.results) / scenario.name)
    interrupted = False
    quiet = getattr(args, "quiet", False) or args.replications == 1
    job = partial(run_task, record_orders=True) if getattr(args, "orders", False) else None
    with RunFolder(args.results, scenario.name, digest, args.out) as rf:
        try:  # the batch runner: one replication per task, its worker processes, progress, Ctrl-C
            outputs, _ = run_outputs(tasks, None, "process", workers, None, daily_columns=None, quiet=quiet, job=job)
            finished = dict(enumerate(outputs))
        except Interrupted as exc:
            interrupted, finished = True, exc.outputs
        rows, dailies, events, orders, failures = _rows(tasks, finished)
        runs = pd.DataFrame(rows)
        metrics = list(KPI_INFO)
        if len(runs):
            runs.insert(0, "variant", scenario.name)
            summary = summarize(runs, metrics)
            write_table(rf.path, "kpis", runs.drop(columns=["variant"]))
            write_table(rf.path, "summary", summary.drop(columns=["variant"]))
            write_table(rf.path, "daily", pd.concat(dailies, ignore_index=True))
            write_workbook(rf.path / "summary.xlsx", {"summary": summary.drop(columns=["variant"])})
            if orders:
                write_table(rf.path, "orders", pd.concat(orders, ignore_index=True))
        ev_summary = None
        if events:
            ev_table = pd.DataFrame(events)
            ev_summary = event_summary(ev_table)
            write_table(rf.path, "events", ev_table)
            write_table(rf.path, "events_summary", ev_summary)
        atomic_write_text(rf.path / "scenario.yaml", dump_scenario(scenario))
        rf.write_json(
            "manifest.json",
            manifest(
                kind="simulate",
                scenario=scenario.name,
                scenario_file=str(args.file),
                scenario_hash=digest,
                master_seed=master,
                replications=len(rows),
                seeds=[r["seed"] for r in rows],
                overrides=args.set,
                window=[str(d) for d in window] if window else None,
                plans=[str(p) for p in args.plan],
                interrupted=interrupted,
            ),
        )
    for line in failures:
        print(f"error: {line}", file=sys.stderr)
    if not rows:
        print(
            "interrupted before any replication finished" if interrupted else "every replication failed",
            file=sys.stderr,
        )
        return 130 if interrupted else 1
    n = len(rows)
    what = "mean ± 95% CI half-width" if n > 1 else "one replication (use -n for confidence intervals)"
    print(
        f"{scenario.name}: {n} replication{'s' if n != 1 else ''}, master seed {master}"
        f"{' (interrupted)' if interrupted else ''}; {what}, {span_text(scenario)}"
    )
    print(format_kpi_table(summary, scenario.currency))
    if ev_summary is not None:
        print(format_event_tables(ev_summary, scenario, scenario.currency))
        print("(all KPIs per event in events.csv and events_summary.csv)")
    print(f"wrote {rf.final}")
    return 130 if interrupted else (1 if failures else 0)
