"""``run.py bench``: the speed of the simulator as ratios to a bare-SimPy baseline measured in the same run.

Absolute times drift on shared machines, so every figure is reported next to
the time of a bare SimPy M/M/c customer (one process per customer, a Resource,
two timeouts) measured in the same run. Each case runs several times; the
median and the min-max are reported. Results go to ``bench.json`` and
``bench.md`` under ``results/bench/<run-id>/``.
"""
from __future__ import annotations

import json
import statistics
import time
import tracemalloc
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import simpy

from experiments.output import RunFolder, atomic_write_text, manifest
from sim.model import simulate
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Case:
    name: str
    unit: str
    median: float
    low: float
    high: float
    ratio_to_baseline: float | None = None
    note: str = ""


def _repeat(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        out.append(fn())
    return out


def bare_mmc_us_per_customer(customers: int = 100_000, servers: int = 3, rho: float = 0.8, seed: int = 1) -> float:
    """Microseconds per customer of a bare SimPy M/M/c queue (the baseline)."""
    rng = np.random.default_rng(seed)
    mu = 1.0
    lam = rho * servers * mu
    inter = rng.exponential(1 / lam, customers).tolist()
    service = rng.exponential(1 / mu, customers).tolist()
    env = simpy.Environment()
    res = simpy.Resource(env, servers)

    def customer(s):
        with res.request() as req:
            yield req
            yield env.timeout(s)

    def source():
        for a, s in zip(inter, service):
            yield env.timeout(a)
            env.process(customer(s))

    env.process(source())
    start = time.perf_counter()
    env.run()
    return (time.perf_counter() - start) / customers * 1e6


def sim_us_per_order(path: str, overrides=(), seed: int = 1) -> tuple[float, int, float]:
    """(microseconds per order, orders, wall seconds) of one full simulation."""
    scenario = load_scenario(path, overrides)
    start = time.perf_counter()
    result = simulate(scenario, seed)
    wall = time.perf_counter() - start
    n = result.order_status["orders"]
    return wall / max(n, 1) * 1e6, n, wall


def peak_memory_mb(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _case(name, unit, values, base=None, note="") -> Case:
    med = statistics.median(values)
    return Case(name, unit, med, min(values), max(values), med / base if base else None, note)


def run_bench(quick: bool = False) -> list[Case]:
    reps = 3 if quick else 5
    cases = []
    base_vals = _repeat(lambda: bare_mmc_us_per_customer(30_000 if quick else 100_000), reps)
    base = statistics.median(base_vals)
    cases.append(_case("bare SimPy M/M/c customer (baseline)", "us/customer", base_vals, base))
    horizon = ["horizon_days=120"] if quick else []
    mw = str(ROOT / "scenarios" / "multi_warehouse.yaml")
    vals = _repeat(lambda: sim_us_per_order(mw, horizon)[0], reps)
    cases.append(_case("full chain per order, multi_warehouse.yaml", "us/order", vals, base,
                       "demand draw, routing, allocation, replenishment, picking, packing, cut-off, carrier, KPIs"))
    bl = str(ROOT / "scenarios" / "baseline.yaml")
    vals = _repeat(lambda: sim_us_per_order(bl, horizon)[0], reps)
    cases.append(_case("demand + inventory per order, baseline.yaml", "us/order", vals, base))
    vals = _repeat(lambda: sim_us_per_order(bl, ["horizon_days=365"])[2], 1 if quick else 3)
    cases.append(_case("one simulated year of baseline.yaml", "s", vals, None))
    sku_times = {}
    for n_sku in ((100, 1000) if quick else (100, 1000, 10_000)):
        over = [f"catalog.generate.count={n_sku}", "inventory.policy.type=RS", "inventory.policy.review=periodic",
                "inventory.policy.order_quantity=null", "inventory.policy.review_period_days=1"] + horizon
        vals = _repeat(lambda: sim_us_per_order(bl, over)[2], 1 if quick else 3)
        sku_times[n_sku] = statistics.median(vals)
        cases.append(_case(f"baseline, {n_sku:,} SKUs, daily periodic review", "s", vals, None,
                           f"x{sku_times[n_sku] / sku_times[100]:.2f} the 100-SKU time"))
    return cases


def format_table(cases: list[Case]) -> str:
    lines = ["| case | median | min-max | unit | ratio to baseline | note |", "|---|---:|---:|---|---:|---|"]
    for c in cases:
        ratio = f"{c.ratio_to_baseline:.2f}x" if c.ratio_to_baseline is not None else ""
        lines.append(f"| {c.name} | {c.median:,.3g} | {c.low:,.3g}-{c.high:,.3g} | {c.unit} | {ratio} | {c.note} |")
    return "\n".join(lines)


def run_bench_cli(args) -> int:
    cases = run_bench(quick=args.quick)
    table = format_table(cases)
    print(table)
    with RunFolder(args.results, "bench", "quick" if args.quick else "full", args.out) as rf:
        rf.write_json("bench.json", {"cases": [asdict(c) for c in cases],
                                     "manifest": manifest(kind="bench", quick=args.quick)})
        atomic_write_text(rf.path / "bench.md", "# ecomlab bench\n\n" + table + "\n")
    print(f"wrote {rf.final}")
    return 0
