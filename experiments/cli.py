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
from experiments.report import fmt_num, write_report
from experiments.runner import run_tasks, tasks_for
from experiments.spec import Spec, baseline_name, load_spec
from experiments.stats import paired_differences, replications_needed, summarize, summary_wide
from sim.metrics import KPI_INFO
from sim.scenario import dump_scenario
from sim.yamlio import ALL, Select, parse_key_path


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text).strip("_")[:80]


def _label(metric: str) -> str:
    unit = KPI_INFO.get(metric, ("", ""))[0]
    return f"{metric} ({unit})" if unit else metric


def _key_label(key: str) -> str:
    """A readable axis label for a grid key: linked keys 'a.x,b.x' become 'x (2 keys)',
    'warehouses[*].picking.pickers' 'pickers (all warehouses)', 'warehouses[east_dc]...'
    'pickers (east_dc)'."""
    paths = [k.strip() for k in key.split(",")]
    last = paths[0].split(".")[-1]
    if len(paths) > 1:
        return f"{last} ({len(paths)} keys)"
    parts = parse_key_path(paths[0])
    where = [f"all {parts[i - 1]}" if p == ALL else p.name for i, p in enumerate(parts) if isinstance(p, Select)]
    return f"{last} ({', '.join(where)})" if where else paths[0]


def make_plots(spec: Spec, out: Path, summary, paired, daily, baseline: str, group_cols) -> list[tuple[str, Path]]:
    plot_dir = out / "plots"
    plots = list(spec.plots)
    if not plots:  # sensible defaults: one bar chart per metric, paired differences of the first
        from experiments.spec import PlotSpec

        plots = [PlotSpec(type="bar", metric=m) for m in spec.metrics]
        if paired is not None and len(paired):
            plots.append(PlotSpec(type="paired", metric=spec.metrics[0]))
    made = []
    many_variants = len(spec.variants) > 1
    for i, p in enumerate(plots):
        stem = plot_dir / f"{i + 1:02d}_{p.type}_{_slug(p.metric or f'{p.x}_vs_{p.y}')}.png"
        if p.type == "bar":
            path = P.bar_ci(summary, p.metric, stem, title=p.title or f"{p.metric} by variant",
                            ylabel=_label(p.metric), baseline=baseline)
            caption = f"{p.metric}: mean and 95% CI per variant"
        elif p.type == "paired":
            if paired is None or not len(paired):
                continue
            path = P.paired_diff_forest(paired, p.metric, stem, baseline=baseline,
                                        title=p.title or f"{p.metric}: difference to {baseline}")
            caption = f"{p.metric}: paired difference to {baseline} (common random numbers) with 95% CI"
        elif p.type == "sweep":
            series = p.series or ("variant" if many_variants else None)
            x_label = _key_label(p.x)
            path = P.sweep_lines(summary, p.x, p.metric, stem, series=series,
                                 title=p.title or f"{p.metric} over {x_label}", xlabel=x_label,
                                 ylabel=_label(p.metric))
            caption = f"{p.metric} over {x_label}, mean with 95% CI band"
        elif p.type == "tradeoff":
            wide = summary_wide(summary, group_cols)
            path = P.tradeoff_scatter(wide, p.x, p.y, stem, minimize_x=p.minimize_x, minimize_y=p.minimize_y,
                                      title=p.title or f"{p.y} vs {p.x}", xlabel=_label(p.x), ylabel=_label(p.y))
            caption = f"trade-off {p.y} vs {p.x}; Pareto-efficient variants highlighted"
        else:  # daily
            if daily is None or not len(daily):
                continue
            data = daily
            if p.variants:
                data = data[data["variant"].isin(p.variants) |
                            data["variant"].str.startswith(tuple(v + "[" for v in p.variants))]
            if p.days:
                data = data[(data["day"] >= p.days[0]) & (data["day"] <= p.days[1])]
            path = P.daily_series(data, p.metric, stem, title=p.title or f"daily {p.metric}",
                                  xlabel="day of the horizon", ylabel=p.metric)
            caption = f"daily {p.metric}: mean over replications with 95% CI band"
        made.append((caption, path))
    return made


def run_experiment_cli(args) -> int:
    spec, points = load_spec(args.spec)  # raises InputError before anything is written
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
    started = time.perf_counter()
    if not args.quiet:
        print(f"experiment {spec.name}: {len(points)} variant(s) x {reps} replications = {len(tasks)} runs, "
              f"executor {executor}", file=sys.stderr)
    try:
        runs, daily = run_tasks(tasks, cache, executor, workers, scheduler, tuple(spec.daily_metrics),
                                quiet=args.quiet, fresh=args.fresh)
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
    failures = runs[runs["status"] != "ok"][["variant", "replication", "seed", "error"]]
    info = manifest(kind="experiment", spec=str(args.spec), spec_name=spec.name, master_seed=spec.seed,
                    replications=reps, executor=executor, workers=workers, wall_seconds=round(wall, 3),
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
        write_workbook(out / "summary.xlsx", {"summary": summary, "paired": paired})
        (out / "variants").mkdir()
        for p in points:
            atomic_write_text(out / "variants" / f"{_slug(p.name)}.yaml", dump_scenario(p.scenario))
        atomic_write_text(out / "spec.yaml", Path(args.spec).read_text(encoding="utf-8"))
        rf.write_json("manifest.json", info)
        plots = make_plots(spec, out, summary, paired, daily, baseline, group_cols)
        needed = _needed_table(spec, runs)
        intro = [spec.description or f"Experiment {spec.name}.",
                 f"Base scenario: {spec.base}; {len(points)} variant(s) x {reps} replications, master seed "
                 f"{spec.seed}; baseline variant: {baseline}.",
                 "Replication r uses the same random streams in every variant (common random numbers), so "
                 "the paired differences isolate the effect of the variant.",
                 f"Confidence intervals: Student-t, 95%. Wall time {wall:,.1f} s with the {executor} executor"
                 + (f" ({runs.attrs.get('from_cache', 0)} of {len(tasks)} replications taken from the cache)."
                    if runs.attrs.get("from_cache") else ".")]
        extra = {"Replications needed for the target CI half-width": needed} if needed is not None else None
        write_report(out, f"Experiment: {spec.name}", intro, summary, paired, plots, extra_tables=extra,
                     failures=failures if len(failures) else None,
                     appendix={"Experiment spec": (out / "spec.yaml").read_text(encoding="utf-8"),
                               "Manifest": json.dumps(info, indent=2, default=str)})
    _point_latest(root, rf.final)
    _print_summary(summary, paired, baseline)
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


def _print_summary(summary: pd.DataFrame, paired, baseline: str) -> None:
    for metric, grp in summary.groupby("metric", sort=False):
        print(f"{metric} ({KPI_INFO.get(metric, ('', ''))[0]}):")
        for _, r in grp.iterrows():
            line = f"  {r['variant']:<28} {fmt_num(r['mean']):>12} ± {fmt_num(r['half_width'], 2)}"
            if paired is not None and r["variant"] != baseline:
                d = paired[(paired["variant"] == r["variant"]) & (paired["metric"] == metric)]
                if len(d):
                    d = d.iloc[0]
                    mark = " *" if d["excludes_zero"] else ""
                    sign = "+" if d["mean_diff"] >= 0 else ""
                    line += f"   vs {baseline}: {sign}{fmt_num(d['mean_diff'])} ± {fmt_num(d['half_width'], 2)}{mark}"
            print(line)
