"""``run.py simulate``: replications of one scenario -> a run folder and a KPI table on screen."""
from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from experiments.output import RunFolder, atomic_write_text, inside, manifest, write_table, write_workbook
from experiments.stats import summarize
from sim.estimate import check_work, estimate_work
from sim.kpis import kpi
from sim.metrics import KPI_INFO, event_windows, kpi_span
from sim.model import simulate
from sim.scenario import day_date, dump_scenario, load_scenario, scenario_hash, window_override
from sim.streams import replication_seed


#: The KPIs shown per promotion event on screen (events.csv has them all).
EVENT_KPIS_SHOWN = ("orders", "on_time_rate", "click_to_door_p95", "late_orders", "unit_fill_rate", "total_cost")


def _one(scenario, seed: int, replication: int, record_orders: bool = False):
    """One replication: (KPI row, daily table, event KPI rows, per-order table or None)."""
    result = simulate(scenario, seed, record_orders=record_orders)
    daily = result.daily.copy()
    daily.insert(0, "replication", replication)
    events = [{"replication": replication, "event": label, "kpi": name, "value": value}
              for label, values in result.event_kpis.items() for name, value in values.items()]
    row = {"replication": replication, "seed": seed, "status": "ok", **result.kpis}
    orders = None
    if record_orders:
        from sim.orders import order_details

        orders = order_details(result, scenario)
        orders.insert(0, "replication", replication)
    return row, daily, events, orders


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
    wide = events.pivot_table(index=["event", "replication"], columns="kpi", values="value", sort=False,
                              dropna=False).reset_index()
    metrics = [m for m in KPI_INFO if m in wide]
    return summarize(wide, metrics, ["event"])


def format_event_tables(ev_summary: pd.DataFrame, scenario, currency: str | None = None) -> str:
    spans = {label: (a, b) for label, a, b in event_windows(scenario)}
    out = []
    for label, grp in ev_summary.groupby("event", sort=False):
        a, b = spans.get(label, (None, None))
        when = f"orders placed and days {day_date(scenario, a)}..{day_date(scenario, b - 1)}" if a is not None else ""
        out.append(f"event {label} ({when}, margin {scenario.event_kpis.margin_days} days):")
        shown = grp[grp["metric"].isin(EVENT_KPIS_SHOWN)].set_index("metric").loc[
            [m for m in EVENT_KPIS_SHOWN if m in set(grp["metric"])]].reset_index()
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
    work, refused = check_work(args.file, [estimate_work(scenario)], args.replications, workers,
                               getattr(args, "allow_large", False))
    if refused:  # before the run folder exists: nothing is written
        print(f"error: {refused}", file=sys.stderr)
        return 2
    print(work, file=sys.stderr)
    master = scenario.seed if args.seed is None else args.seed
    seeds = [replication_seed(master, r) for r in range(args.replications)]
    digest = scenario_hash(scenario)
    if args.out is None:  # results/<name>/ stays inside results/ (the name is a slug; this is the guard)
        inside(args.results, Path(args.results) / scenario.name)
    rows, dailies, events, orders = [], [], [], []
    record = bool(getattr(args, "orders", False))
    interrupted = False

    def keep(out) -> None:
        rows.append(out[0])
        dailies.append(out[1])
        events.extend(out[2])
        if out[3] is not None:
            orders.append(out[3])

    with RunFolder(args.results, scenario.name, digest, args.out) as rf:
        try:
            if args.workers > 1 and args.replications > 1:
                with ProcessPoolExecutor(args.workers) as pool:
                    futures = [pool.submit(_one, scenario, s, r, record) for r, s in enumerate(seeds)]
                    for f in futures:
                        keep(f.result())
            else:
                for r, s in enumerate(seeds):
                    keep(_one(scenario, s, r, record))
                    if args.replications > 1 and sys.stderr.isatty():
                        print(f"\rreplication {r + 1}/{args.replications}", end="", file=sys.stderr)
        except KeyboardInterrupt:
            interrupted = True
        if sys.stderr.isatty() and args.replications > 1:
            print(file=sys.stderr)
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
        rf.write_json("manifest.json", manifest(
            kind="simulate", scenario=scenario.name, scenario_file=str(args.file), scenario_hash=digest,
            master_seed=master, replications=len(rows), seeds=seeds[: len(rows)], overrides=args.set,
            window=[str(d) for d in window] if window else None,
            plans=[str(p) for p in args.plan], interrupted=interrupted))
    if not rows:
        print("interrupted before any replication finished", file=sys.stderr)
        return 130
    n = len(rows)
    what = "mean ± 95% CI half-width" if n > 1 else "one replication (use -n for confidence intervals)"
    print(f"{scenario.name}: {n} replication{'s' if n != 1 else ''}, master seed {master}"
          f"{' (interrupted)' if interrupted else ''}; {what}, {span_text(scenario)}")
    print(format_kpi_table(summary, scenario.currency))
    if ev_summary is not None:
        print(format_event_tables(ev_summary, scenario, scenario.currency))
        print("(all KPIs per event in events.csv and events_summary.csv)")
    print(f"wrote {rf.final}")
    return 130 if interrupted else 0
