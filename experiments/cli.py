"""``run.py experiment SPEC``: run a spec and write tables, plots and a report.

Output (``results/<spec name>/`` unless ``--out``): ``runs.csv`` (one row per
replication), ``summary.csv`` (mean, std, 95% CI per variant and metric),
``paired.csv`` (differences against the baseline variant), ``daily.csv`` — each table also
as ``.parquet`` — ``summary.xlsx`` (summary and paired, formatted),
``plots/``, ``report.md``, ``report.html``, ``variants/*.yaml`` (resolved
scenarios), ``manifest.json`` and ``cache/`` (finished replications).
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pandas as pd

from experiments import plots as P
from experiments.output import RunFolder, atomic_write_text, inside, manifest, write_table, write_workbook
from experiments.report import write_report
from experiments.runner import run_tasks, tasks_for
from experiments.spec import Spec, baseline_name, load_spec
from experiments.stats import paired_differences, replications_needed, summarize, summary_wide
from sim.estimate import check_work, estimate_work
from sim.demand import promotion_days
from sim.kpis import KPIS, kpi
from sim.metrics import KPI_INFO
from sim.scenario import dump_scenario, window_override
from sim.yamlio import ALL, Select, parse_key_path


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text).strip("_")[:80]


#: axis labels of the common daily columns (the others get their name in words)
_DAILY_LABELS = {
    "backlog_end": "Shipments waiting to leave (day end)",
    "backorder_units_end": "Units on backorder (day end)",
    "on_hand_units": "Units on hand (day average)",
    "on_order_units_end": "Units on order (day end)",
    "orders": "Orders placed per day",
    "late_orders": "Late orders (by promised day)",
    "shipments_shipped": "Shipments leaving per day",
    "pick_queue_mean": "Pick jobs waiting (day average)",
}


def _daily_label(column: str) -> str:
    return _DAILY_LABELS.get(column) or KPIS.get(column, kpi(column)).label


def _key_label(key: str) -> str:
    """A readable axis label for a grid key: linked keys 'a.x,b.x' become 'x (2 keys)',
    'warehouses[*].picking.pickers' 'pickers (all warehouses)', 'warehouses[east_dc]...'
    'pickers (east_dc)', 'inventory.policy.reorder_point' 'reorder point'."""
    paths = [k.strip() for k in key.split(",")]
    last = paths[0].split(".")[-1].replace("_", " ")
    if len(paths) > 1:
        return f"{last} ({len(paths)} keys)"
    parts = parse_key_path(paths[0])
    where = [f"all {parts[i - 1]}" if p == ALL else p.name for i, p in enumerate(parts) if isinstance(p, Select)]
    return f"{last} ({', '.join(where)})" if where else last


def make_plots(spec: Spec, out: Path, summary, paired, daily, baseline: str, group_cols,
               scenario=None) -> list[tuple[str, Path]]:
    """The spec's plots (or one bar chart per metric and a paired plot) as (caption, path).

    Labels and units come from the KPI registry; ``scenario`` (the baseline's) gives the
    currency, and for daily plots the calendar (start_date + day) and the promotion days.
    """
    plot_dir = out / "plots"
    plots = list(spec.plots)
    if not plots:  # sensible defaults: one bar chart per metric, paired differences of the first
        from experiments.spec import PlotSpec

        plots = [PlotSpec(type="bar", metric=m) for m in spec.metrics]
        if paired is not None and len(paired):
            plots.append(PlotSpec(type="paired", metric=spec.metrics[0]))
    currency = getattr(scenario, "currency", None)
    made = []
    many_variants = len(spec.variants) > 1
    for i, p in enumerate(plots):
        stem = plot_dir / f"{i + 1:02d}_{p.type}_{_slug(p.metric or f'{p.x}_vs_{p.y}')}.png"
        k = kpi(p.metric) if p.metric else None
        if p.type == "bar":
            path = P.bar_ci(summary, p.metric, stem, title=p.title or f"{k.label} by variant",
                            baseline=baseline, currency=currency)
            caption = f"{k.axis_label(currency)}: mean and 95% CI per variant"
        elif p.type == "paired":
            if paired is None or not len(paired):
                continue
            path = P.paired_diff_forest(paired, p.metric, stem, baseline=baseline, currency=currency,
                                        title=p.title or f"{k.label}: change against {baseline}")
            caption = (f"{k.label}: paired difference to {baseline} (common random numbers) with 95% CI, "
                       "one panel per variant, each on its own scale")
        elif p.type == "sweep":
            series = p.series or ("variant" if many_variants else None)
            x_label = _key_label(p.x)
            path = P.sweep_lines(summary, p.x, p.metric, stem, series=series,
                                 title=p.title or f"{k.label} by {x_label}", xlabel=x_label,
                                 series_label=_key_label(series) if series and series != "variant" else series,
                                 currency=currency)
            caption = f"{k.label} by {x_label}: mean with 95% CI band"
        elif p.type == "tradeoff":
            wide = summary_wide(summary, group_cols)
            kx, ky = kpi(p.x), kpi(p.y)
            path = P.tradeoff_scatter(wide, p.x, p.y, stem, minimize_x=p.minimize_x, minimize_y=p.minimize_y,
                                      title=p.title or f"{ky.label} against {kx.label.lower()}",
                                      currency=currency)
            caption = f"Trade-off of {ky.label.lower()} against {kx.label.lower()}; Pareto-efficient variants highlighted"
        else:  # daily
            if daily is None or not len(daily):
                continue
            data = daily
            if p.variants:
                data = data[data["variant"].isin(p.variants) |
                            data["variant"].str.startswith(tuple(v + "[" for v in p.variants))]
            if p.days:
                data = data[(data["day"] >= p.days[0]) & (data["day"] <= p.days[1])]
            start = getattr(scenario, "start_date", None)
            events = [(a, b, promo.name) for a, b, promo in promotion_days(scenario)] if start else None
            label = _daily_label(p.metric)
            path = P.daily_series(data, p.metric, stem, title=p.title or f"Daily: {label.lower()}",
                                  ylabel=label, start_date=start, events=events)
            caption = f"{label} per day: mean over replications with 95% CI band" + (
                "; promotion days shaded" if events else "")
        made.append((caption, path))
    return made


def run_experiment_cli(args) -> int:
    window = getattr(args, "window", None)  # --window is the override kpi_window={start, end} of every variant
    spec, points = load_spec(args.spec, [window_override(*window)] if window else ())  # InputError: nothing written
    currency = points[0].scenario.currency
    executor = args.executor or spec.executor.type
    workers = args.workers or spec.executor.workers
    scheduler = args.scheduler or spec.executor.scheduler
    reps = args.replications or spec.replications
    root = Path(args.out) if args.out else inside(args.results, Path(args.results) / spec.name)
    cache = inside(root, root / "cache")
    inside(root, root / "latest")
    baseline = baseline_name(spec, points)
    tasks = tasks_for(points, reps, spec.seed)
    group_cols = ["variant", *spec.grid]
    n_workers = 1 if executor == "serial" else (workers or os.cpu_count() or 1)
    work, refused = check_work(str(args.spec), [estimate_work(p.scenario) for p in points], reps, n_workers,
                               getattr(args, "allow_large", False))
    if refused:  # before the output folder exists: nothing is written
        print(f"error: {refused}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(work, file=sys.stderr)
    started = time.perf_counter()
    if not args.quiet:
        print(f"experiment {spec.name}: {len(points)} variant(s) x {reps} replications = {len(tasks)} runs, "
              f"executor {executor}", file=sys.stderr)
    event_rows: list[dict] = []
    try:
        runs, daily = run_tasks(tasks, cache, executor, workers, scheduler, tuple(spec.daily_metrics),
                                quiet=args.quiet, fresh=args.fresh, events=event_rows)
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished replications are kept in {cache}; "
              f"run the same command again to resume", file=sys.stderr)
        return 130
    wall = time.perf_counter() - started
    for metric in spec.metrics:  # when every replication failed there are no KPI columns at all
        if metric not in runs:
            runs[metric] = float("nan")
    summary = summarize(runs, spec.metrics, group_cols)
    paired = paired_differences(runs, spec.metrics, baseline) if len(points) > 1 else None
    events, event_summary = _event_tables(event_rows, group_cols, points)
    failures = runs[runs["status"] != "ok"][["variant", "replication", "seed", "error"]]
    info = manifest(kind="experiment", spec=str(args.spec), spec_name=spec.name, master_seed=spec.seed,
                    replications=reps, executor=executor, workers=workers, wall_seconds=round(wall, 3),
                    window=[str(d) for d in window] if window else None,
                    variants={p.name: {"scenario_hash": p.hash, "params": p.params} for p in points},
                    failed=int(len(failures)))
    with RunFolder(root, "", "run", None) as rf:
        out = rf.path
        write_table(out, "runs", runs)
        write_table(out, "summary", summary)
        if paired is not None:
            write_table(out, "paired", paired)
        if len(daily):
            write_table(out, "daily", daily)
        if event_summary is not None:
            write_table(out, "events", events)
            write_table(out, "events_summary", event_summary)
        write_workbook(out / "summary.xlsx", {"summary": summary, "paired": paired})
        (out / "variants").mkdir()
        for p in points:
            atomic_write_text(out / "variants" / f"{_slug(p.name)}.yaml", dump_scenario(p.scenario))
        atomic_write_text(out / "spec.yaml", Path(args.spec).read_text(encoding="utf-8"))
        rf.write_json("manifest.json", info)
        base_scenario = next((p.scenario for p in points if p.name == baseline), points[0].scenario)
        plots = make_plots(spec, out, summary, paired, daily, baseline, group_cols, scenario=base_scenario)
        needed = _needed_table(spec, runs)
        intro = [spec.description or f"Experiment {spec.name}.",
                 f"Base scenario: {spec.base}; {len(points)} variant(s) x {reps} replications, master seed "
                 f"{spec.seed}; baseline variant: {baseline}.",
                 "Replication r uses the same random streams in every variant (common random numbers), so "
                 "the paired differences isolate the effect of the variant.",
                 f"Confidence intervals: Student-t, 95%. Wall time {wall:,.1f} s with the {executor} executor"
                 + (f" ({runs.attrs.get('from_cache', 0)} of {len(tasks)} replications taken from the cache)."
                    if runs.attrs.get("from_cache") else ".")]
        extra = {"Replications needed for the target CI half-width": needed} if needed is not None else {}
        if event_summary is not None:
            shown = event_summary[event_summary["metric"].isin(spec.metrics)]
            extra["Promotion events (orders placed on the event days; all KPIs in events_summary.csv)"] = \
                shown[["variant", "event", "metric", "n", "mean", "half_width", "ci_low", "ci_high"]]
        write_report(out, f"Experiment: {spec.name}", intro, summary, paired, plots, extra_tables=extra,
                     failures=failures if len(failures) else None, metrics=list(spec.metrics),
                     baseline=baseline if len(points) > 1 else None,
                     currency=getattr(base_scenario, "currency", None),
                     appendix={"Experiment spec": (out / "spec.yaml").read_text(encoding="utf-8"),
                               "Manifest": json.dumps(info, indent=2, default=str)})
    _point_latest(root, rf.final)
    _print_summary(summary, paired, baseline, currency)
    if event_summary is not None:
        print(f"per promotion event: {', '.join(event_summary['event'].unique())} "
              f"(events.csv, events_summary.csv)")
    print(f"wrote {rf.final / 'report.html'} (also {root / 'latest'})")
    if len(failures):
        print(f"{len(failures)} replication(s) failed:", file=sys.stderr)
        for _, f in failures.iterrows():
            print(f"  {f['variant']} replication {f['replication']} (seed {f['seed']}): {f['error']}",
                  file=sys.stderr)
        return 1
    return 0


def _point_latest(root: Path, target: Path) -> None:
    """``root/latest`` -> the newest run folder (a relative symlink, replaced atomically)."""
    link = root / "latest"
    tmp = root / ".latest.tmp"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(target.name)
        os.replace(tmp, link)
    except OSError:
        pass  # file systems without symlinks: the run folder itself is still complete


def _needed_table(spec: Spec, runs: pd.DataFrame) -> pd.DataFrame | None:
    if not spec.target_half_width:
        return None
    rows = []
    ok = runs[runs["status"] == "ok"]
    for metric, target in spec.target_half_width.items():
        if metric not in ok:
            continue
        for variant, grp in ok.groupby("variant", sort=False):
            if len(grp) >= 2:
                rows.append({"variant": variant, "metric": metric, "target_half_width": target,
                             "replications_now": len(grp),
                             "replications_needed": replications_needed(grp[metric], target)})
    return pd.DataFrame(rows)


def _event_tables(rows: list[dict], group_cols: list[str], points) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The tidy per-event table (variant, replication, event, kpi, value) and its summary
    (mean and 95% CI per variant, event and KPI); (None, None) without promotion events."""
    if not rows:
        return None, None
    events = pd.DataFrame(rows)
    wide = events.pivot_table(index=["variant", "event", "replication"], columns="kpi", values="value",
                              sort=False, dropna=False).reset_index()
    wide.insert(0, "status", "ok")
    return events, summarize(wide, [m for m in KPI_INFO if m in wide], ["variant", "event"])


def _half(value) -> float | None:
    return None if pd.isna(value) else float(value)


def _print_summary(summary: pd.DataFrame, paired, baseline: str, currency: str | None = None) -> None:
    """Per metric: its human label and unit (raw name in brackets, as in the CSV files), then per
    variant the mean ± 95% CI half-width and the paired difference to the baseline (* when its
    interval excludes 0), in the metric's own format (%, currency, days)."""
    for metric, grp in summary.groupby("metric", sort=False):
        k = kpi(metric)
        print(f"{k.label} ({k.unit_text(currency)}) [{metric}]:" if k.unit else f"{k.label} [{metric}]:")
        for _, r in grp.iterrows():
            line = f"  {r['variant']:<28} {k.format_ci(r['mean'], _half(r['half_width']), currency):>24}"
            if paired is not None and r["variant"] != baseline:
                d = paired[(paired["variant"] == r["variant"]) & (paired["metric"] == metric)]
                if len(d):
                    d = d.iloc[0]
                    mark = " *" if d["excludes_zero"] else ""
                    diff = k.format_ci(d["mean_diff"], _half(d["half_width"]), currency, signed=True)
                    line += f"   vs {baseline}: {diff}{mark}"
            print(line)
