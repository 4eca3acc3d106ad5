"""``run.py bench``: the speed of every part, as ratios to a bare-SimPy baseline measured in the same run.

Absolute times drift on shared machines, so every time is also given as a ratio
to a bare SimPy M/M/c customer (one process per customer, a Resource, two
timeouts) timed in the same run. Each case runs several times; the median and
the min-max are reported. Scaling cases run in a fresh process each, so their
peak memory (max RSS) is their own. Results: ``bench.json`` and ``bench.md`` under
``results/bench/<run-id>/``. Nothing here is asserted in tests; targets are
printed next to the figures.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parent.parent
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")
MULTI = str(ROOT / "scenarios" / "multi_warehouse.yaml")


@dataclass
class Case:
    """One benchmark figure: median and min-max over the repeats, its ratio to the baseline, target, note."""

    group: str
    name: str
    unit: str
    median: float
    low: float
    high: float
    ratio_to_baseline: float | None = None
    target: str = ""
    note: str = ""


def bare_mmc_us_per_customer(customers: int = 100_000, servers: int = 3, rho: float = 0.8, seed: int = 1) -> float:
    """Microseconds per customer of a bare SimPy M/M/c queue (the baseline)."""
    rng = np.random.default_rng(seed)
    inter = rng.exponential(1 / (rho * servers), customers).tolist()
    service = rng.exponential(1.0, customers).tolist()
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


def _child(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line. Adds the child's peak RSS (MiB)."""
    wrapper = (
        "import json, resource, sys\n"
        + code
        + "\nout['peak_mib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\nprint(json.dumps(out))"
    )
    res = subprocess.run(
        [sys.executable, "-c", wrapper],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    if res.returncode != 0:
        raise RuntimeError(f"bench child failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _sim_code(path: str, overrides: list[str], seed: int = 1) -> str:
    return (
        f"import time\nfrom sim.scenario.loader import load_scenario\nfrom sim.model.shop import simulate\n"
        f"s = load_scenario({path!r}, {overrides!r})\nt = time.perf_counter()\nr = simulate(s, {seed})\n"
        f"out = {{'seconds': time.perf_counter() - t, 'orders': r.order_status['orders']}}"
    )


def _stats(values):
    return statistics.median(values), min(values), max(values)


class Bench:
    """The benchmark cases of one run; each method measures one group and records it with ``add``."""

    def __init__(self, quick: bool, log=print):
        self.quick = quick
        self.reps = 3 if quick else 5
        self.cases: list[Case] = []
        self.log = log
        self.base_us = float("nan")

    def add(self, group, name, unit, values, ratio=False, target="", note=""):
        """Record a case from its repeated ``values`` (and log it); ``ratio`` divides by the baseline."""
        med, lo, hi = _stats(values)
        case = Case(group, name, unit, med, lo, hi, med / self.base_us if ratio else None, target, note)
        self.cases.append(case)
        self.log(f"  {name}: {med:,.4g} {unit}" + (f" ({case.ratio_to_baseline:.2f}x baseline)" if ratio else ""))

    # ------------------------------------------------------------------ cases
    def baseline(self):
        """The bare SimPy M/M/c customer every ratio is taken against."""
        n = 30_000 if self.quick else 100_000
        values = [bare_mmc_us_per_customer(n) for _ in range(self.reps)]
        self.base_us = statistics.median(values)
        self.add("baseline", "bare SimPy M/M/c customer", "us/customer", values, ratio=True)

    def per_order(self):
        """Microseconds per order of the full chain and of demand + inventory alone."""
        from sim.model.shop import simulate
        from sim.scenario.loader import load_scenario

        horizon = ["horizon_days=120"] if self.quick else []
        for path, name, target in (
            (MULTI, "full chain per order (multi_warehouse.yaml)", "<= 3x baseline"),
            (BASELINE, "demand + inventory per order (baseline.yaml)", ""),
        ):
            sc = load_scenario(path, horizon)
            values = []
            for _ in range(self.reps):
                t = time.perf_counter()
                r = simulate(sc, 1)
                values.append((time.perf_counter() - t) / r.order_status["orders"] * 1e6)
            self.add(
                "simulator",
                name,
                "us/order",
                values,
                ratio=True,
                target=target,
                note="demand draw, routing, allocation, replenishment, picking, packing, cut-off, carrier, KPIs"
                if path == MULTI
                else "",
            )

    def scaling_orders(self):
        """Time and memory as the number of orders grows (fresh process each); deviation from linear."""
        sizes = (10_000, 100_000) if self.quick else (10_000, 100_000, 1_000_000)
        times = {}
        for n in sizes:
            over = [f"demand.base_orders_per_day={n / 365 / 1.07:.3f}", "demand.channels=[]"]
            runs = [_child(_sim_code(MULTI, over)) for _ in range(1 if n >= 1_000_000 or self.quick else 2)]
            sec = statistics.median(r["seconds"] for r in runs)
            orders = runs[0]["orders"]
            times[n] = (sec, orders)
            self.add(
                "scaling",
                f"one simulated year, ~{n:,} orders (multi_warehouse)",
                "s",
                [r["seconds"] for r in runs],
                target="1M orders < 60 s" if n == 1_000_000 else "",
                note=f"{orders:,} orders, {1e6 * sec / orders:.1f} us/order, peak {runs[0]['peak_mib']:,.0f} MiB",
            )
        if 100_000 in times and 1_000_000 in times:
            (s1, o1), (s2, o2) = times[100_000], times[1_000_000]
            dev = (s2 / o2) / (s1 / o1) - 1
            self.add(
                "scaling",
                "time per order, 1M vs 100k orders",
                "ratio",
                [1 + dev],
                target="within 15% of linear",
                note=f"{dev:+.1%} from linear",
            )

    def scaling_skus(self):
        """Time as the number of SKUs grows, with constant and with stochastic lead times."""
        counts = (100, 1000) if self.quick else (100, 1000, 10_000)
        for label, extra in (
            ("constant lead times", ["suppliers[0].lead_time_days=5", "suppliers[1].lead_time_days=18"]),
            ("stochastic lead times (one receipt event per purchase order)", []),
        ):
            base = None
            for n in counts:
                over = [
                    f"catalog.generate.count={n}",
                    "inventory.policy.type=RS",
                    "inventory.policy.review=periodic",
                    "inventory.policy.order_quantity=null",
                    "inventory.policy.review_period_days=1",
                    *extra,
                ]
                if self.quick:
                    over.append("horizon_days=120")
                runs = [_child(_sim_code(BASELINE, over)) for _ in range(1 if self.quick else 2)]
                sec = statistics.median(r["seconds"] for r in runs)
                base = base or sec
                self.add(
                    "scaling",
                    f"{n:,} SKUs, daily periodic review, {label}",
                    "s",
                    [r["seconds"] for r in runs],
                    target="10k SKUs <= 1.5x 100 SKUs" if n == counts[-1] else "",
                    note=f"x{sec / base:.2f} the 100-SKU time, peak {runs[0]['peak_mib']:,.0f} MiB",
                )

    def optimizers(self):
        """Build and solve times of the reorder, promotion and logistics optimizers."""
        from optimize import logistics, promotion, reorder
        from sim.scenario.loader import load_scenario

        for n in (1000,) if self.quick else (1000, 10_000):
            sc = load_scenario(BASELINE, [f"catalog.generate.count={n}"])
            plans = [reorder.solve(sc) for _ in range(1 if n > 1000 else 2)]
            self.add("optimizers", f"reorder, {n:,} pairs: build", "s", [p.build_seconds for p in plans])
            self.add(
                "optimizers",
                f"reorder, {n:,} pairs: solve (LP relaxation + MILP)",
                "s",
                [p.solve_seconds for p in plans],
                target="10k pairs build+solve < 30 s" if n == 10_000 else "",
            )
        sc = load_scenario(
            BASELINE,
            [],
            overlays=[
                {
                    "demand": {
                        "channels": [
                            {
                                "name": f"ch{i}",
                                "spend_per_day": 1000,
                                "max_extra_orders_per_day": 20 + 5 * i,
                                "half_saturation_spend": 2000 + 500 * i,
                                "hill_shape": 0.8 + 0.02 * i,
                            }
                            for i in range(10)
                        ]
                    }
                }
            ],
        )
        plan = promotion.solve(sc, budget=3_000_000)
        self.add("optimizers", "promotion, 10 channels x 365 days: build", "s", [plan.seconds - plan.solve_seconds])
        self.add("optimizers", "promotion, 10 channels x 365 days: solve", "s", [plan.solve_seconds])
        net = synthetic_network(50, 10, 3)
        sc = load_scenario(MULTI, ["horizon_days=30"])
        for close in (False, True):
            p = logistics.solve(sc, on_time_target=0.9, allow_close=close, network=net)
            kind = "MILP (open/close)" if close else "LP"
            self.add(
                "optimizers",
                f"logistics 50 regions x 10 DCs x 3 carriers, {kind}: build",
                "s",
                [p.seconds - p.solve_seconds],
            )
            self.add(
                "optimizers",
                f"logistics 50 regions x 10 DCs x 3 carriers, {kind}: solve",
                "s",
                [p.solve_seconds],
                target="seconds",
            )

    def batch(self):
        """Replications per second through the batch runner with each executor."""
        import tempfile

        from experiments.runner import run_tasks, tasks_for
        from experiments.spec import Point
        from sim.scenario.loader import load_scenario, scenario_hash

        reps = 8 if self.quick else 16
        sc = load_scenario(BASELINE, ["horizon_days=180"])
        pts = [Point("bench", sc, {}, scenario_hash(sc))]
        times = {}
        for ex in ("serial", "process"):
            with tempfile.TemporaryDirectory() as tmp:
                t = time.perf_counter()
                run_tasks(tasks_for(pts, reps, 1), Path(tmp), ex, 2, None, (), quiet=True)
                times[ex] = time.perf_counter() - t
        self.add(
            "batch",
            f"process executor speed-up over serial, {reps} replications, 2 workers",
            "x",
            [times["serial"] / times["process"]],
            target=">= 1.8x on 2 cores",
            note=f"serial {times['serial']:.1f} s, process {times['process']:.1f} s",
        )
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            return
        n_tasks = 200
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        )
        client = Client(cluster)
        try:
            t = time.perf_counter()
            client.gather(client.map(_noop, range(n_tasks), pure=False))
            per_task = (time.perf_counter() - t) / n_tasks * 1000
        finally:
            client.close()
            cluster.close()
        self.add("batch", "Dask LocalCluster overhead per task (empty tasks, 2 workers)", "ms/task", [per_task])


def _noop(x):
    return x


def synthetic_network(R: int, W: int, C: int, seed: int = 3):
    """A random but plausible network for scale tests of the logistics optimizer."""
    from optimize.logistics import Network

    rng = np.random.default_rng(seed)
    demand = rng.uniform(20, 200, R)
    dist = rng.uniform(0.5, 3.0, (R, W))
    ship = (5 + 2 * dist)[:, :, None] * np.array([1.0, 1.6, 2.4])[None, None, :C]
    on_time = np.clip(0.99 - 0.12 * dist[:, :, None] + np.array([0.0, 0.05, 0.08])[None, None, :C], 0.3, 0.995)
    return Network(
        regions=[f"r{i}" for i in range(R)],
        warehouses=[f"w{i}" for i in range(W)],
        carriers=[f"c{i}" for i in range(C)],
        demand=demand,
        ship_cost=ship,
        handling=np.full(W, 1.0),
        fixed=rng.uniform(500, 3000, W),
        pick_capacity=np.full(W, demand.sum() / W * 2.5),
        carrier_capacity=np.full(C, np.inf),
        on_time=on_time,
        mean_weight=1.5,
    )


def run_bench(quick: bool = False, log=print) -> list[Case]:
    """Run every benchmark group in order (``log`` gets progress lines); return the cases."""
    b = Bench(quick, log)
    for step in (b.baseline, b.per_order, b.scaling_orders, b.scaling_skus, b.optimizers, b.batch):
        log(f"{step.__name__} ...")
        step()
    return b.cases


def format_table(cases: list[Case]) -> str:
    """The cases as a Markdown table (group, case, median, min-max, unit, x baseline, target, note)."""
    lines = [
        "| group | case | median | min-max | unit | x baseline | target | note |",
        "|---|---|---:|---:|---|---:|---|---|",
    ]
    for c in cases:
        ratio = f"{c.ratio_to_baseline:.2f}x" if c.ratio_to_baseline is not None else ""
        lines.append(
            f"| {c.group} | {c.name} | {c.median:,.4g} | {c.low:,.3g}-{c.high:,.3g} | {c.unit} | {ratio} | "
            f"{c.target} | {c.note} |"
        )
    return "\n".join(lines)
