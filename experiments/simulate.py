"""``run.py simulate``: replications of one scenario -> a run folder and a KPI table on screen."""
from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from experiments.output import RunFolder, atomic_write_text, inside, manifest, write_table, write_workbook
from experiments.stats import summarize
from sim.metrics import KPI_INFO
from sim.model import simulate
from sim.scenario import dump_scenario, load_scenario, scenario_hash
from sim.streams import replication_seed


def _one(scenario, seed: int, replication: int, record_orders: bool = False):
    result = simulate(scenario, seed, record_orders=record_orders)
    daily = result.daily.copy()
    daily.insert(0, "replication", replication)
    row = {"replication": replication, "seed": seed, "status": "ok", **result.kpis}
    if not record_orders:
        return row, daily
    from sim.orders import order_details

    orders = order_details(result, scenario)
    orders.insert(0, "replication", replication)
    return row, daily, orders


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
    master = scenario.seed if args.seed is None else args.seed
    seeds = [replication_seed(master, r) for r in range(args.replications)]
    digest = scenario_hash(scenario)
    if args.out is None:  # results/<name>/ stays inside results/ (the name is a slug; this is the guard)
        inside(args.results, Path(args.results) / scenario.name)
    rows, dailies, orders = [], [], []
    record = bool(getattr(args, "orders", False))
    interrupted = False

    def keep(out) -> None:
        rows.append(out[0])
        dailies.append(out[1])
        if record:
            orders.append(out[2])

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
        atomic_write_text(rf.path / "scenario.yaml", dump_scenario(scenario))
        rf.write_json("manifest.json", manifest(
            kind="simulate", scenario=scenario.name, scenario_file=str(args.file), scenario_hash=digest,
            master_seed=master, replications=len(rows), seeds=seeds[: len(rows)], overrides=args.set,
            plans=[str(p) for p in args.plan], interrupted=interrupted))
    if not rows:
        print("interrupted before any replication finished", file=sys.stderr)
        return 130
    n = len(rows)
    what = "mean ± 95% CI half-width" if n > 1 else "one replication (use -n for confidence intervals)"
    print(f"{scenario.name}: {n} replication{'s' if n != 1 else ''}, master seed {master}"
          f"{' (interrupted)' if interrupted else ''}; {what}, over days "
          f"{scenario.warmup_days}..{scenario.horizon_days - 1}")
    print(format_kpi_table(summary))
    print(f"wrote {rf.final}")
    return 130 if interrupted else 0
