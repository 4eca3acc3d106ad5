"""``run.py simulate``: replications of one scenario -> a run folder and a KPI table on screen."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from experiments.output import RunFolder, atomic_write_csv, atomic_write_text, inside, manifest
from experiments.runner import Interrupted, run_outputs, tasks_for
from experiments.spec import Point
from experiments.stats import summarize
from sim.estimate import check_work, estimate_work
from sim.metrics import KPI_INFO
from sim.scenario import dump_scenario, load_scenario, scenario_hash


def _rows(tasks, outputs: dict[int, dict]) -> tuple[list[dict], list[pd.DataFrame], list[str]]:
    """(KPI rows, daily tables, failure lines) of the finished replications, in replication order."""
    rows, dailies, failures = [], [], []
    for i in sorted(outputs):
        task, out = tasks[i], outputs[i]
        if out["status"] != "ok":
            failures.append(f"replication {task.replication} (seed {task.seed}): {out['error']}")
            continue
        rows.append({"replication": task.replication, "seed": task.seed, "status": "ok", **out["kpis"]})
        daily = out["daily"].copy()
        daily.insert(0, "replication", task.replication)
        dailies.append(daily)
    return rows, dailies, failures


def format_kpi_table(summary: pd.DataFrame) -> str:
    rows = []
    for _, r in summary.iterrows():
        unit = KPI_INFO.get(r["metric"], ("", ""))[0]
        hw = "" if pd.isna(r["half_width"]) else f" ± {_fmt(r['half_width'])}"
        rows.append((r["metric"], f"{_fmt(r['mean'])}{hw}", unit))
    width = max(len(a) for a, _, _ in rows)
    vwidth = max(len(b) for _, b, _ in rows)
    return "\n".join(f"  {a:<{width}}  {b:>{vwidth}}  {c}" for a, b, c in rows)


def _fmt(x: float) -> str:
    if pd.isna(x):
        return "n/a"
    ax = abs(x)
    if ax >= 1e5:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:,.1f}"
    if ax >= 1:
        return f"{x:.3f}"
    return f"{x:.4f}"


def run_simulate(args) -> int:
    scenario = load_scenario(args.file, args.set, args.plan)
    workers = args.workers if args.replications > 1 else 1
    work, refused = check_work(args.file, [estimate_work(scenario)], args.replications, workers,
                               getattr(args, "allow_large", False))
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
    with RunFolder(args.results, scenario.name, digest, args.out) as rf:
        try:  # the batch runner: one replication per task, its worker processes, progress, Ctrl-C
            outputs, _ = run_outputs(tasks, None, "process", workers, None, daily_columns=None, quiet=quiet)
            finished = dict(enumerate(outputs))
        except Interrupted as exc:
            interrupted, finished = True, exc.outputs
        rows, dailies, failures = _rows(tasks, finished)
        runs = pd.DataFrame(rows)
        metrics = list(KPI_INFO)
        if len(runs):
            runs.insert(0, "variant", scenario.name)
            summary = summarize(runs, metrics)
            atomic_write_csv(rf.path / "kpis.csv", runs.drop(columns=["variant"]))
            atomic_write_csv(rf.path / "summary.csv", summary.drop(columns=["variant"]))
            atomic_write_csv(rf.path / "daily.csv", pd.concat(dailies, ignore_index=True))
        atomic_write_text(rf.path / "scenario.yaml", dump_scenario(scenario))
        rf.write_json("manifest.json", manifest(
            kind="simulate", scenario=scenario.name, scenario_file=str(args.file), scenario_hash=digest,
            master_seed=master, replications=len(rows), seeds=[r["seed"] for r in rows], overrides=args.set,
            plans=[str(p) for p in args.plan], interrupted=interrupted))
    for line in failures:
        print(f"error: {line}", file=sys.stderr)
    if not rows:
        print("interrupted before any replication finished" if interrupted else "every replication failed",
              file=sys.stderr)
        return 130 if interrupted else 1
    n = len(rows)
    what = "mean ± 95% CI half-width" if n > 1 else "one replication (use -n for confidence intervals)"
    print(f"{scenario.name}: {n} replication{'s' if n != 1 else ''}, master seed {master}"
          f"{' (interrupted)' if interrupted else ''}; {what}, over days "
          f"{scenario.warmup_days}..{scenario.horizon_days - 1}")
    print(format_kpi_table(summary))
    print(f"wrote {rf.final}")
    return 130 if interrupted else (1 if failures else 0)
