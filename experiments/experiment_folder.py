"""An experiment's run folder: its tables, resolved variants, manifest, plots and report.

:func:`experiments.api.run_experiment` runs the replications and calls :func:`write_folder`,
which writes ``runs``, ``summary``, ``paired``, ``daily``, ``events``, ``channels`` (with marketing
channels) and ``orders`` tables (CSV and Parquet), ``summary.xlsx``, ``variants/*.yaml``, ``spec.yaml``, ``manifest.json``,
``plots/`` and ``report.md`` / ``report.html`` into a new folder, renamed into place at the end.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from experiments.output import RunFolder, atomic_write_text, manifest, write_table, write_workbook
from experiments.report import write_report
from experiments.report_analysis import analysis_parts
from experiments.report_plots import make_plots, slug
from experiments.runner import Task
from experiments.selection import Selection
from experiments.sequential import StopOutcome
from experiments.spec import Point, Spec
from experiments.stats import replications_needed
from sim.scenario.loader import dump_scenario

__all__ = ["Outcome", "Plan", "needed_table", "point_latest", "write_folder"]


@dataclass(frozen=True)
class Plan:
    """What an experiment runs: the spec, its variants x replications as tasks, and where it writes."""

    spec: Spec
    spec_path: Path
    points: list[Point]
    tasks: list[Task]
    replications: int
    baseline: str
    executor: str
    workers: int | None
    scheduler: str | None
    root: Path  # results/<spec name>/ (or ``out``): the run folders, ``latest`` and ``cache/``
    window: tuple | None = None
    warmup: dict | None = None  # ``warmup_days: auto``: the MSER-5 choice (``WarmupChoice.manifest``)

    @property
    def cache(self) -> Path:
        """``root/cache``: the finished replications."""
        return self.root / "cache"

    @property
    def group_cols(self) -> list[str]:
        """The columns a summary groups by: the variant and the grid keys."""
        return ["variant", *self.spec.grid]

    @property
    def base_scenario(self):
        """The baseline variant's scenario (currency, calendar, promotion days of the report)."""
        return next((p.scenario for p in self.points if p.name == self.baseline), self.points[0].scenario)


@dataclass(frozen=True)
class Outcome:
    """The tables an experiment produced (before they are written)."""

    runs: pd.DataFrame
    summary: pd.DataFrame
    paired: pd.DataFrame | None
    daily: pd.DataFrame
    failures: pd.DataFrame
    events: pd.DataFrame | None
    events_summary: pd.DataFrame | None
    orders: list[pd.DataFrame] | None
    wall_seconds: float
    channels: pd.DataFrame | None = None  # per marketing channel and replication (None without channels)
    channels_summary: pd.DataFrame | None = None
    selection: Selection | None = None  # spec ``select``: the procedure's outcome
    stopping: StopOutcome | None = None  # spec ``stop_when``: how the sequential replications ended
    control_variates: pd.DataFrame | None = None  # spec ``control_variates``: plain vs controlled estimates

    @property
    def replications(self) -> dict[str, int]:
        """Replications run per variant (they differ between variants only under ``select``)."""
        if not len(self.runs):
            return {}
        return {str(k): int(v) for k, v in self.runs.groupby("variant", sort=False).size().items()}


def point_latest(root: Path, target: Path) -> None:
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


def needed_table(spec: Spec, runs: pd.DataFrame) -> pd.DataFrame | None:
    """Replications needed per variant and metric for the spec's ``target_half_width`` (None without one)."""
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


def _manifest(plan: Plan, got: Outcome) -> dict:
    return manifest(
        kind="experiment",
        spec=str(plan.spec_path),
        spec_name=plan.spec.name,
        master_seed=plan.spec.seed,
        replications=plan.replications if got.selection is None and got.stopping is None else got.replications,
        selection=_selection_manifest(got.selection),
        stopping=None if got.stopping is None else {"met": got.stopping.met, "rounds": got.stopping.rounds},
        control_variates=_cv_manifest(got.control_variates),
        executor=plan.executor,
        workers=plan.workers,
        wall_seconds=round(got.wall_seconds, 3),
        window=[str(d) for d in plan.window] if plan.window else None,
        warmup=plan.warmup,
        variants={p.name: {"scenario_hash": p.hash, "params": p.params} for p in plan.points},
        failed=len(got.failures),
    )


def _cv_manifest(table: pd.DataFrame | None) -> dict | None:
    """Per variant and metric, the variance the control variates removed, for ``manifest.json``."""
    if table is None or not len(table):
        return None
    return {
        f"{r['variant']}/{r['metric']}": {
            "controls": r["controls"],
            "variance_reduction": round(r["variance_reduction"], 4),
        }
        for r in table.to_dict("records")
    }


def _selection_manifest(selection: Selection | None) -> dict | None:
    """The selection's procedure, choice, guarantee and replications, for ``manifest.json``."""
    if selection is None:
        return None
    return {
        "procedure": selection.config.procedure,
        "metric": selection.config.metric,
        "goal": selection.config.goal,
        "indifference": selection.config.indifference,
        "confidence": selection.config.confidence,
        "selected": selection.selected_name,
        "guaranteed": selection.guaranteed,
        "guarantee": selection.guarantee,
        "replications": dict(zip(selection.names, map(int, selection.replications))),
    }


def _write_tables(folder: Path, got: Outcome) -> None:
    write_table(folder, "runs", got.runs)
    if got.selection is not None:
        write_table(folder, "selection", got.selection.table())
    if got.stopping is not None:
        write_table(folder, "stopping", got.stopping.table)
    if got.control_variates is not None:
        write_table(folder, "control_variates", got.control_variates)
    write_table(folder, "summary", got.summary)
    if got.paired is not None:
        write_table(folder, "paired", got.paired)
    if len(got.daily):
        write_table(folder, "daily", got.daily)
    if got.events_summary is not None:
        write_table(folder, "events", got.events)
        write_table(folder, "events_summary", got.events_summary)
    if got.channels_summary is not None:
        write_table(folder, "channels", got.channels)
        write_table(folder, "channels_summary", got.channels_summary)
    if got.orders:
        write_table(folder, "orders", pd.concat(got.orders, ignore_index=True))
    write_workbook(folder / "summary.xlsx", {"summary": got.summary, "paired": got.paired})


def _replications_text(plan: Plan, got: Outcome) -> str:
    """``5 variant(s) x 10 replications``, or the replications each variant got when they differ."""
    counts = got.replications
    if counts and len(set(counts.values())) > 1:
        return f"{len(plan.points)} variant(s), replications {', '.join(f'{k} {v}' for k, v in counts.items())}"
    n = next(iter(counts.values())) if counts else plan.replications
    return f"{len(plan.points)} variant(s) x {n} replications"


def _intro(plan: Plan, got: Outcome) -> list[str]:
    spec, cached = plan.spec, got.runs.attrs.get("from_cache")
    return [
        spec.description or f"Experiment {spec.name}.",
        f"Base scenario: {spec.base}; {_replications_text(plan, got)}, master seed "
        f"{spec.seed}; baseline variant: {plan.baseline}.",
        "Replication r uses the same random streams in every variant (common random numbers), so "
        "the paired differences isolate the effect of the variant.",
        *_warmup_intro(plan),
        f"Confidence intervals: Student-t, 95%. Wall time {got.wall_seconds:,.1f} s with the {plan.executor} executor"
        + (f" ({cached} of {len(got.runs)} replications taken from the cache)." if cached else "."),
    ]


def _warmup_intro(plan: Plan) -> list[str]:
    """The sentence on ``warmup_days: auto``, or nothing when the warm-up was given as a number."""
    w = plan.warmup
    if w is None:
        return []
    return [
        f"Warm-up: {w['days']} days on every variant, detected by MSER-5 (White, Cobb & Spratt 2000) on the daily "
        f"{', '.join(w['series']) or 'series'} averaged over {w['pilot_replications']} pilot replications of "
        f"each of {w['variants']} variant(s) (warm-up 0, seeds of their own)."
    ]


def _extra_tables(spec: Spec, got: Outcome) -> dict[str, pd.DataFrame]:
    needed = needed_table(spec, got.runs)
    extra = {"Replications needed for the target CI half-width": needed} if needed is not None else {}
    if got.events_summary is not None:
        shown = got.events_summary[got.events_summary["metric"].isin(spec.metrics)]
        extra["Promotion events (orders placed on the event days; all KPIs in events_summary.csv)"] = shown[
            ["variant", "event", "metric", "n", "mean", "half_width", "ci_low", "ci_high"]
        ]
    return extra


def _write_report(folder: Path, plan: Plan, got: Outcome, info: dict) -> None:
    spec, scenario = plan.spec, plan.base_scenario
    plots = make_plots(
        spec, folder, got.summary, got.paired, got.daily, plan.baseline, plan.group_cols, scenario=scenario
    )
    write_report(
        folder,
        f"Experiment: {spec.name}",
        _intro(plan, got),
        got.summary,
        got.paired,
        plots,
        extra_tables=_extra_tables(spec, got),
        failures=got.failures if len(got.failures) else None,
        metrics=spec.reported_metrics,
        baseline=plan.baseline if len(plan.points) > 1 else None,
        currency=getattr(scenario, "currency", None),
        runs=got.runs,
        channels=got.channels_summary,
        analysis=analysis_parts(
            got.selection, got.stopping, got.control_variates, currency=getattr(scenario, "currency", None)
        ),
        appendix={
            "Experiment spec": (folder / "spec.yaml").read_text(encoding="utf-8"),
            "Manifest": json.dumps(info, indent=2, default=str),
        },
    )


def write_folder(plan: Plan, got: Outcome) -> Path:
    """Write the experiment's run folder under ``plan.root``, point ``latest`` to it; return its final path."""
    info = _manifest(plan, got)
    with RunFolder(plan.root, "", "run", None) as rf:
        folder = rf.path
        _write_tables(folder, got)
        (folder / "variants").mkdir()
        for p in plan.points:
            atomic_write_text(folder / "variants" / f"{slug(p.name)}.yaml", dump_scenario(p.scenario))
        atomic_write_text(folder / "spec.yaml", plan.spec_path.read_text(encoding="utf-8"))
        rf.write_json("manifest.json", info)
        _write_report(folder, plan, got, info)
    point_latest(plan.root, rf.final)
    return rf.final
