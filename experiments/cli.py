"""``run.py experiment SPEC``: run a spec and write tables, plots and a report.

Output (``results/<spec name>/`` unless ``--out``): ``runs.csv`` (one row per
replication), ``summary.csv`` (mean, std, 95% CI per variant and metric),
``paired.csv`` (differences against the baseline variant), ``daily.csv``,
``plots/``, ``report.md``, ``report.html``, ``variants/*.yaml`` (resolved
scenarios), ``manifest.json`` and ``cache/`` (finished replications).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

from experiments import plots as P
from experiments.report import fmt_num
from experiments.spec import Spec
from experiments.stats import replications_needed, summary_wide
from sim.metrics import KPI_INFO
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
    """``run.py experiment``: :func:`experiments.api.run_experiment`, then the summary on screen."""
    from experiments.api import ExperimentInterrupted, WorkRefused, run_experiment

    try:
        res = run_experiment(args.spec, args.replications, args.executor, args.results, args.quiet,
                             workers=args.workers, scheduler=args.scheduler, out=args.out, fresh=args.fresh,
                             allow_large=getattr(args, "allow_large", False))
    except WorkRefused as exc:  # before the output folder exists: nothing is written
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ExperimentInterrupted as exc:
        print(f"\ninterrupted: finished replications are kept in {exc.cache}; "
              f"run the same command again to resume", file=sys.stderr)
        return 130
    _print_summary(res.summary, res.paired, res.baseline)
    print(f"wrote {res.report_path} (also {res.root / 'latest'})")
    if len(res.failures):
        print(f"{len(res.failures)} replication(s) failed:", file=sys.stderr)
        for _, f in res.failures.iterrows():
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
