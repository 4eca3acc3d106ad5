"""``run.py experiment SPEC``: run a spec and write tables, plots and a report.

Output (``results/<spec name>/`` unless ``--out``): ``runs.csv`` (one row per
replication), ``summary.csv`` (mean, std, 95% CI per variant and metric),
``paired.csv`` (differences against the baseline variant), ``daily.csv`` — each table also
as ``.parquet`` — ``summary.xlsx`` (summary and paired, formatted),
``plots/``, ``report.md``, ``report.html``, ``variants/*.yaml`` (resolved
scenarios), ``manifest.json`` and ``cache/`` (finished replications).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

from experiments import plots as P
from experiments.spec import Spec
from experiments.stats import replications_needed, summarize, summary_wide
from sim.kpis import KPIS, kpi
from sim.metrics import KPI_INFO
from sim.model.demand import promotion_days
from sim.scenario.yamlio import ALL, Select, parse_key_path


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


def make_plots(
    spec: Spec, out: Path, summary, paired, daily, baseline: str, group_cols, scenario=None
) -> list[tuple[str, Path]]:
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
            path = P.bar_ci(
                summary, p.metric, stem, title=p.title or f"{k.label} by variant", baseline=baseline, currency=currency
            )
            caption = f"{k.axis_label(currency)}: mean and 95% CI per variant"
        elif p.type == "paired":
            if paired is None or not len(paired):
                continue
            path = P.paired_diff_forest(
                paired,
                p.metric,
                stem,
                baseline=baseline,
                currency=currency,
                title=p.title or f"{k.label}: change against {baseline}",
            )
            caption = (
                f"{k.label}: paired difference to {baseline} (common random numbers) with 95% CI, "
                "one panel per variant, each on its own scale"
            )
        elif p.type == "sweep":
            series = p.series or ("variant" if many_variants else None)
            x_label = _key_label(p.x)
            path = P.sweep_lines(
                summary,
                p.x,
                p.metric,
                stem,
                series=series,
                title=p.title or f"{k.label} by {x_label}",
                xlabel=x_label,
                series_label=_key_label(series) if series and series != "variant" else series,
                currency=currency,
            )
            caption = f"{k.label} by {x_label}: mean with 95% CI band"
        elif p.type == "tradeoff":
            wide = summary_wide(summary, group_cols)
            kx, ky = kpi(p.x), kpi(p.y)
            path = P.tradeoff_scatter(
                wide,
                p.x,
                p.y,
                stem,
                minimize_x=p.minimize_x,
                minimize_y=p.minimize_y,
                title=p.title or f"{ky.label} against {kx.label.lower()}",
                currency=currency,
            )
            caption = (
                f"Trade-off of {ky.label.lower()} against {kx.label.lower()}; Pareto-efficient variants highlighted"
            )
        else:  # daily
            if daily is None or not len(daily):
                continue
            data = daily
            if p.variants:
                data = data[
                    data["variant"].isin(p.variants)
                    | data["variant"].str.startswith(tuple(v + "[" for v in p.variants))
                ]
            if p.days:
                data = data[(data["day"] >= p.days[0]) & (data["day"] <= p.days[1])]
            start = getattr(scenario, "start_date", None)
            events = [(a, b, promo.name) for a, b, promo in promotion_days(scenario)] if start else None
            label = _daily_label(p.metric)
            path = P.daily_series(
                data,
                p.metric,
                stem,
                title=p.title or f"Daily: {label.lower()}",
                ylabel=label,
                start_date=start,
                events=events,
            )
            caption = f"{label} per day: mean over replications with 95% CI band" + (
                "; promotion days shaded" if events else ""
            )
        made.append((caption, path))
    return made


def run_experiment_cli(args) -> int:
    """``run.py experiment``: :func:`experiments.api.run_experiment`, then the summary on screen."""
    from experiments.api import ExperimentInterrupted, WorkRefused, run_experiment

    try:
        res = run_experiment(
            args.spec,
            args.replications,
            args.executor,
            args.results,
            args.quiet,
            workers=args.workers,
            scheduler=args.scheduler,
            out=args.out,
            fresh=args.fresh,
            allow_large=getattr(args, "allow_large", False),
            window=getattr(args, "window", None),
            orders=getattr(args, "orders", False),
        )
    except WorkRefused as exc:  # before the output folder exists: nothing is written
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ExperimentInterrupted as exc:
        print(
            f"\ninterrupted: finished replications are kept in {exc.cache}; run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    _print_summary(res.summary, res.paired, res.baseline, res.currency)
    if res.events_summary is not None:
        print(
            f"per promotion event: {', '.join(res.events_summary['event'].unique())} (events.csv, events_summary.csv)"
        )
    print(f"wrote {res.report_path} (also {res.root / 'latest'})")
    if len(res.failures):
        print(f"{len(res.failures)} replication(s) failed:", file=sys.stderr)
        for _, f in res.failures.iterrows():
            print(f"  {f['variant']} replication {f['replication']} (seed {f['seed']}): {f['error']}", file=sys.stderr)
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
                rows.append(
                    {
                        "variant": variant,
                        "metric": metric,
                        "target_half_width": target,
                        "replications_now": len(grp),
                        "replications_needed": replications_needed(grp[metric], target),
                    }
                )
    return pd.DataFrame(rows)


def _event_tables(rows: list[dict], group_cols: list[str], points) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The tidy per-event table (variant, replication, event, kpi, value) and its summary
    (mean and 95% CI per variant, event and KPI); (None, None) without promotion events."""
    if not rows:
        return None, None
    events = pd.DataFrame(rows)
    wide = events.pivot_table(
        index=["variant", "event", "replication"], columns="kpi", values="value", sort=False, dropna=False
    ).reset_index()
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
