"""``run.py simulate``: replications of one scenario -> a run folder and a KPI table on screen."""

from __future__ import annotations

import sys

import pandas as pd

from experiments.channels import format_channel_table
from experiments.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, refuse
from experiments.long_run import long_run
from experiments.scenario_runs import Provenance, SimulateResult, simulate_to_folder
from experiments.spec import Point
from experiments.warmup import WarmupUnresolved, resolve_warmup
from sim.kpis import kpi
from sim.metrics import event_windows, kpi_span
from sim.model.streams import replication_seed
from sim.scenario.estimate import check_work, estimate_work
from sim.scenario.loader import day_date, load_scenario, scenario_hash, window_override

#: Batches of ``--long-run`` when ``--batches`` is not given (Schmeiser 1982: 10 to 30 batches).
DEFAULT_BATCHES = 20
#: The KPIs shown per promotion event on screen (events.csv has them all).
EVENT_KPIS_SHOWN = ("orders", "on_time_rate", "click_to_door_p95", "late_orders", "unit_fill_rate", "total_cost")


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


def format_event_tables(ev_summary: pd.DataFrame, scenario, currency: str | None = None) -> str:
    """Per promotion event: its days and margin, then the KPIs of ``EVENT_KPIS_SHOWN`` as a KPI table."""
    spans = {label: (a, b) for label, a, b in event_windows(scenario)}
    out = []
    for label, grp in ev_summary.groupby("event", sort=False):
        span = spans.get(str(label))
        when = (
            f"orders placed and days {day_date(scenario, span[0])}..{day_date(scenario, span[1] - 1)}" if span else ""
        )
        out.append(f"event {label} ({when}, margin {scenario.event_kpis.margin_days} days):")
        shown = (
            grp[grp["metric"].isin(EVENT_KPIS_SHOWN)]
            .set_index("metric")
            .loc[[m for m in EVENT_KPIS_SHOWN if m in set(grp["metric"])]]
            .reset_index()
        )
        out.append(format_kpi_table(shown, currency))
    return "\n".join(out)


def format_channels(ch_summary: pd.DataFrame, currency: str | None = None) -> str:
    """The per-channel table (spend, incremental orders, their revenue, ROAS, CAC), aligned columns."""
    rows = format_channel_table(ch_summary, currency)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["marketing channels (incremental orders over the KPI span; cac = spend per incremental order):"]
    for r in rows:
        lines.append("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(lines)


def span_text(scenario) -> str:
    """Which orders and days the KPIs cover, for the table's heading."""
    a, b = kpi_span(scenario)
    first, last = day_date(scenario, a), day_date(scenario, b - 1)
    if scenario.kpi_window is not None:
        return f"over orders placed and days {first}..{last} (kpi_window)"
    return f"over days {a}..{b - 1} ({first}..{last}, after {scenario.warmup_days} warm-up days)"


def print_result(res: SimulateResult) -> int:
    """The failures on stderr, then the heading, the KPI table and the event tables; the exit code."""
    for line in res.failures:
        print(f"error: {line}", file=sys.stderr)
    if not res.replications or res.summary is None:  # no summary without a finished replication
        print(
            "interrupted before any replication finished" if res.interrupted else "every replication failed",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED if res.interrupted else EXIT_FAILED
    n, scenario = res.replications, res.scenario
    what = "mean ± 95% CI half-width" if n > 1 else "one replication (use -n for confidence intervals)"
    print(
        f"{scenario.name}: {n} replication{'s' if n != 1 else ''}, master seed {res.master_seed}"
        f"{' (interrupted)' if res.interrupted else ''}; {what}, {span_text(scenario)}"
    )
    print(format_kpi_table(res.summary, scenario.currency))
    if res.events_summary is not None:
        print(format_event_tables(res.events_summary, scenario, scenario.currency))
        print("(all KPIs per event in events.csv and events_summary.csv)")
    if res.channels_summary is not None:
        print(format_channels(res.channels_summary, scenario.currency))
        print("(per replication in channels.csv, mean and CI in channels_summary.csv)")
    print(f"wrote {res.folder}")
    return EXIT_INTERRUPTED if res.interrupted else (EXIT_FAILED if res.failures else EXIT_OK)


def long_run_problem(args) -> str | None:
    """The one-line refusal of options that do not go with ``--long-run`` (or ``--batches`` without it)."""
    days, k = getattr(args, "long_run", None), getattr(args, "batches", None)
    if days is None:
        return "--batches needs --long-run DAYS" if k is not None else None
    k = DEFAULT_BATCHES if k is None else k
    clashes = [
        ("--replications", args.replications > 1),
        ("--window", getattr(args, "window", None) is not None),
        ("--orders", getattr(args, "orders", False)),
        ("--lines", getattr(args, "lines", False)),
        ("--out", args.out is not None),
    ]
    for flag, given in clashes:
        if given:
            return f"--long-run is one long replication whose intervals are printed, not written; drop {flag}"
    if days < k:
        return (
            f"--long-run {days} days cannot make {k} batches of at least one day; lengthen the run or lower --batches"
        )
    return None


def resolve_auto_warmup(scenario, master_seed: int, workers: int, quiet: bool):
    """The scenario with ``warmup_days: auto`` replaced by MSER-5's days (printed), or unchanged."""
    if scenario.warmup_days != "auto":
        return scenario
    point = Point(scenario.name, scenario, {}, scenario_hash(scenario))
    executor = "process" if workers > 1 else "serial"
    (point,), choice = resolve_warmup([point], master_seed, executor=executor, workers=workers, quiet=quiet)
    assert choice is not None  # the scenario says auto
    for name in choice.unsettled:
        print(f"note: {name} was still moving at mid-run (MSER-5 ignored it for the warm-up)", file=sys.stderr)
    print(f"warm-up: {choice.describe()}")
    return point.scenario


def run_long(args, overrides: list[str], scenario, master_seed: int) -> int:
    """``--long-run DAYS``: one replication of warm-up + DAYS days; batch-means intervals printed."""
    w, k = scenario.warmup_days, args.batches or DEFAULT_BATCHES
    if w + args.long_run > 36_500:
        return refuse(f"the warm-up ({w} days) plus --long-run {args.long_run} exceeds 36,500 days")
    long = load_scenario(args.file, [*overrides, f"horizon_days={w + args.long_run}", f"warmup_days={w}"], args.plan)
    work, refused = check_work(args.file, [estimate_work(long)], 1, 1, getattr(args, "allow_large", False))
    if refused:
        return refuse(refused)
    print(work, file=sys.stderr)
    try:
        rows = long_run(long, replication_seed(master_seed, 0), k, quiet=getattr(args, "quiet", False))
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    m = args.long_run // k
    print(
        f"{long.name}: one long run of {args.long_run} days after {w} warm-up days, master seed {master_seed}; "
        f"{k} batches of {m} days, 95% batch-means intervals (t with {k - 1} df)"
    )
    print(format_long_run(rows, long.currency))
    bad = [r.kpi for r in rows if not r.interval.ok]
    if bad:
        print(
            f"warning: lag-1 autocorrelation of the batch means above 2/sqrt(K) = {2 / k**0.5:.2f} for "
            f"{', '.join(bad)}: the batches are too short for them; use fewer, longer batches (--batches) or a "
            "longer --long-run"
        )
    return EXIT_OK


def format_long_run(rows, currency: str | None = None) -> str:
    """Table of a long run: KPI label, mean ± half-width, lag-1 r of the batch means, ok?, KPI name."""
    table = [("KPI", "mean ± half-width", "lag-1 r", "ok?", "name")]
    for r in rows:
        bm, info = r.interval, kpi(r.kpi)
        lag = "-" if bm.lag1 != bm.lag1 else f"{bm.lag1:+.2f}"
        table.append(
            (info.label, info.format_ci(bm.mean, bm.half_width, currency), lag, "ok" if bm.ok else "NO", r.kpi)
        )
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    return "\n".join(
        (
            "  " + "  ".join(c.ljust(wd) if i in (0, 4) else c.rjust(wd) for i, (c, wd) in enumerate(zip(row, widths)))
        ).rstrip()
        for row in table
    )


def run(args) -> int:
    """Load the scenario, resolve ``warmup_days: auto``, check the work estimate, simulate into a run
    folder and print the KPI table (``--long-run``: one long replication, batch-means table, no folder)."""
    window = getattr(args, "window", None)
    overrides = [*args.set, window_override(*window)] if window else list(args.set)
    problem = long_run_problem(args)
    if problem:
        return refuse(problem)
    scenario = load_scenario(args.file, overrides, args.plan)
    master = scenario.seed if args.seed is None else args.seed
    workers = args.workers if args.replications > 1 else 1
    try:
        scenario = resolve_auto_warmup(scenario, master, workers, getattr(args, "quiet", False))
    except WarmupUnresolved as exc:
        return refuse(f"{args.file}: {exc}")
    if getattr(args, "long_run", None) is not None:
        return run_long(args, overrides, scenario, master)
    work, refused = check_work(
        args.file, [estimate_work(scenario)], args.replications, workers, getattr(args, "allow_large", False)
    )
    if refused:  # before the run folder exists: nothing is written
        return refuse(refused)
    print(work, file=sys.stderr)
    res = simulate_to_folder(
        scenario,
        args.replications,
        master,
        args.results,
        args.out,
        workers=workers,
        quiet=getattr(args, "quiet", False) or args.replications == 1,
        orders=getattr(args, "orders", False),
        lines=getattr(args, "lines", False),
        provenance=Provenance(str(args.file), tuple(args.set), window, tuple(args.plan)),
    )
    return print_result(res)
