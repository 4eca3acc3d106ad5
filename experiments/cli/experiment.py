"""``run.py experiment SPEC``: run a spec and write tables, plots and a report; the summary on screen.

Output (``results/<spec name>/`` unless ``--out``): ``runs.csv`` (one row per
replication), ``summary.csv`` (mean, std, 95% CI per variant and metric),
``paired.csv`` (differences against the baseline variant), ``daily.csv`` — each table also
as ``.parquet`` — ``summary.xlsx`` (summary and paired, formatted),
``plots/``, ``report.md``, ``report.html``, ``variants/*.yaml`` (resolved
scenarios), ``manifest.json`` and ``cache/`` (finished replications).
"""

from __future__ import annotations

import sys

import pandas as pd

from experiments.api import ExperimentInterrupted, ExperimentResult, WorkRefused, run_experiment
from experiments.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, refuse
from experiments.sequential import SelectionFailed
from sim.kpis import kpi


def _half(value) -> float | None:
    return None if pd.isna(value) else float(value)


def _paired_text(paired: pd.DataFrame, variant: str, metric: str, baseline: str, currency: str | None) -> str:
    """``   vs BASELINE: +d ± h`` (and `` *`` when the interval excludes 0), or '' without a row."""
    d = paired[(paired["variant"] == variant) & (paired["metric"] == metric)]
    if not len(d):
        return ""
    d = d.iloc[0]
    mark = " *" if d["excludes_zero"] else ""
    diff = kpi(metric).format_ci(d["mean_diff"], _half(d["half_width"]), currency, signed=True)
    return f"   vs {baseline}: {diff}{mark}"


def print_summary(summary: pd.DataFrame, paired, baseline: str, currency: str | None = None) -> None:
    """Per metric: its human label and unit (raw name in brackets, as in the CSV files), then per
    variant the mean ± 95% CI half-width and the paired difference to the baseline (* when its
    interval excludes 0), in the metric's own format (%, currency, days)."""
    for name, grp in summary.groupby("metric", sort=False):
        metric = str(name)
        k = kpi(metric)
        print(f"{k.label} ({k.unit_text(currency)}) [{metric}]:" if k.unit else f"{k.label} [{metric}]:")
        for _, r in grp.iterrows():
            line = f"  {r['variant']:<28} {k.format_ci(r['mean'], _half(r['half_width']), currency):>24}"
            if paired is not None and r["variant"] != baseline:
                line += _paired_text(paired, r["variant"], metric, baseline, currency)
            print(line)


def print_result(res: ExperimentResult) -> int:
    """The summary, where it was written and the failed replications (stderr); the exit code."""
    print_summary(res.summary, res.paired, res.baseline, res.currency)
    if res.events_summary is not None:
        print(
            f"per promotion event: {', '.join(res.events_summary['event'].unique())} (events.csv, events_summary.csv)"
        )
    if res.selection is not None:
        sel = res.selection
        print(f"selected: {sel.selected_name} ({sel.config.procedure}, {sel.total_replications} replications in all)")
        print(f"  {sel.guarantee}")
        print(
            "  " + ", ".join(f"{n} {r}" for n, r in zip(sel.names, sel.replications)) + " replications (selection.csv)"
        )
    if res.stopping is not None:
        print(f"stop_when: {res.stopping.sentence()}")
    if res.control_variates is not None and len(res.control_variates):
        cv = res.control_variates
        removed = cv.groupby("metric", sort=False)["variance_reduction"].median()
        print(
            f"control variates ({', '.join(dict.fromkeys(res.spec.control_variates))}): variance removed, median over "
            "variants: " + ", ".join(f"{m} {v:.0%}" for m, v in removed.items()) + " (control_variates.csv)"
        )
    print(f"wrote {res.report_path} (also {res.root / 'latest'})")
    if not len(res.failures):
        return EXIT_OK
    print(f"{len(res.failures)} replication(s) failed:", file=sys.stderr)
    for _, f in res.failures.iterrows():
        print(f"  {f['variant']} replication {f['replication']} (seed {f['seed']}): {f['error']}", file=sys.stderr)
    return EXIT_FAILED


def run(args) -> int:
    """:func:`experiments.api.run_experiment` with the command line's options, then the summary on screen."""
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
        return refuse(str(exc))
    except SelectionFailed as exc:
        print(f"error: {args.spec}: selection stopped: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ExperimentInterrupted as exc:
        print(
            f"\ninterrupted: finished replications are kept in {exc.cache}; run the same command again to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return print_result(res)
