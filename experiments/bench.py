"""``run.py bench``: CPU and wall time of every part, each case interleaved with a bare-SimPy baseline.

Absolute times drift on shared machines, so every case is timed between two runs of a bare
SimPy M/M/c customer (one process per customer, a Resource, two timeouts): baseline, case,
baseline, case, ..., baseline (A B A B ... A). A repetition's ratio is the case's CPU time per
unit of work (per order for the simulator) over the mean CPU time per customer of the two
baselines beside it; a case reports the median of its repetitions and their min-max, of the
figure, of the ratio and of the baseline. CPU time is ``time.process_time`` (in the child for
cases run in a fresh process, whose memory is then their own); wall time is kept beside it.
The 1-minute load average before and after each case and ``os.cpu_count()`` are recorded.

Targets (issue 16) are printed beside each figure with met / not met; nothing here is asserted
in tests. Every raw repetition goes to ``bench.json``; ``run.py bench --compare OLD.json`` matches
the cases of two runs by their stable ``id`` (:func:`compare_cases`).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parent.parent
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")
MULTI = str(ROOT / "scenarios" / "multi_warehouse.yaml")
DOUBLE11 = str(ROOT / "scenarios" / "double11.yaml")

#: the groups ``--only`` selects, in the order they run
GROUPS = ("simulator", "scaling", "warehouses", "optimizers", "batch", "whatif", "fit")
#: customers of one baseline run: the same in quick and full mode, so ratios compare across modes
BASELINE_CUSTOMERS = 30_000
#: bench.json format version (``--compare`` refuses other files)
FORMAT = "ecomlab-bench/2"


@dataclass(frozen=True)
class Sample:
    """One timed repetition: CPU and wall seconds, units of work done (orders, or 1), extra figures."""

    cpu: float
    wall: float
    work: int = 1
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Clock:
    """The two clocks a repetition is timed with (tests pass fake ones)."""

    cpu: Callable[[], float] = time.process_time
    wall: Callable[[], float] = time.perf_counter


def timed(work: Callable[[], tuple[int, dict]], clock: Clock = Clock()) -> Sample:
    """Time ``work()`` (which returns its units of work and extra figures) on ``clock``."""
    cpu, wall = clock.cpu(), clock.wall()
    units, extra = work()
    return Sample(clock.cpu() - cpu, clock.wall() - wall, units, extra)


@dataclass(frozen=True)
class Target:
    """A target on one figure of a case: ``figure op limit`` (ops ``<``, ``<=``, ``>=``), said as ``text``."""

    figure: str
    op: str
    limit: float
    text: str

    def met(self, figures: dict) -> bool | None:
        """True / False, or None when the case has no such figure (e.g. a plan without a gap)."""
        value = figures.get(self.figure)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return {"<": value < self.limit, "<=": value <= self.limit, ">=": value >= self.limit}[self.op]


@dataclass
class Case:
    """One measured case: its figure (median, min-max over repetitions), ratio to the baseline, targets.

    ``reps`` keeps every raw repetition (cpu, wall, work, the baseline CPU before and after, extras);
    ``figures`` the named figures the targets read; ``targets`` each target with its verdict.
    """

    id: str
    group: str
    name: str
    unit: str
    value: float
    low: float
    high: float
    ratio: float | None = None
    ratio_low: float | None = None
    ratio_high: float | None = None
    baseline_us: tuple[float, float, float] | None = None
    cpu_s: tuple[float, float, float] | None = None
    wall_s: tuple[float, float, float] | None = None
    load: tuple[float, float] | None = None
    figures: dict = field(default_factory=dict)
    targets: list[dict] = field(default_factory=list)
    reps: list[dict] = field(default_factory=list)
    note: str = ""


@dataclass(frozen=True)
class Spec:
    """How to measure one case: ``run()`` makes one Sample; ``value`` turns it into the case's figure."""

    id: str
    group: str
    name: str
    unit: str
    run: Callable[[], Sample]
    reps: int
    value: Callable[[Sample], float] = lambda s: s.cpu
    targets: tuple[Target, ...] = ()
    note: str = ""


#: groups whose cases simulate orders: their CPU per order is compared with the bare customer's
PER_ORDER_GROUPS = ("simulator", "scaling", "warehouses")


def per_order_us(sample: Sample) -> float:
    """CPU microseconds per order of a simulation sample."""
    return sample.cpu / sample.work * 1e6


def spread(values: Iterable[float]) -> tuple[float, float, float]:
    """(median, min, max) of ``values``."""
    v = list(values)
    return statistics.median(v), min(v), max(v)


def bare_mmc(customers: int = BASELINE_CUSTOMERS, servers: int = 3, rho: float = 0.8, seed: int = 1) -> Sample:
    """The baseline: a bare SimPy M/M/c queue, one process per customer; only ``env.run()`` is timed."""
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
    return timed(lambda: (env.run(), (customers, {}))[1])


def bare_mmc_us_per_customer(customers: int = 100_000, servers: int = 3, rho: float = 0.8, seed: int = 1) -> float:
    """CPU microseconds per customer of the bare SimPy M/M/c queue."""
    s = bare_mmc(customers, servers, rho, seed)
    return s.cpu / customers * 1e6


def interleave(case: Callable[[], Sample], baseline: Callable[[], Sample], reps: int) -> list[dict]:
    """Run baseline, case, baseline, case, ..., baseline (A B A B ... A); one raw record per case run.

    Each record has the case's cpu, wall, work and extras and the CPU time per customer (us) of the
    baseline just before and just after it; its ``ratio`` is the case's CPU per unit of work over the
    mean of those two.
    """
    before = baseline()
    records = []
    for _ in range(reps):
        s = case()
        after = baseline()
        base_us = [before.cpu / before.work * 1e6, after.cpu / after.work * 1e6]
        ratio = (s.cpu / s.work * 1e6) / statistics.mean(base_us)
        records.append(
            {"cpu": s.cpu, "wall": s.wall, "work": s.work, "baseline_us": base_us, "ratio": ratio, **s.extra}
        )
        before = after
    return records


def summarize(spec: Spec, records: list[dict], load: tuple[float, float]) -> Case:
    """The Case of ``spec`` from its raw records: medians and min-max, figures, targets and verdicts."""
    samples = [Sample(r["cpu"], r["wall"], r["work"], r) for r in records]
    value, low, high = spread(spec.value(s) for s in samples)
    # a ratio to the bare customer only where the work is orders (an optimizer's seconds per "1" are not)
    ratio: tuple[float | None, float | None, float | None] = (None, None, None)
    if spec.group in PER_ORDER_GROUPS:
        ratio = spread(r["ratio"] for r in records)
    cpu, wall = spread(r["cpu"] for r in records), spread(r["wall"] for r in records)
    figures = {"value": value, "ratio": ratio[0], "cpu_s": cpu[0], "wall_s": wall[0]}
    for key in ("peak_mib", "kib_per_order", "gap", "lp_bound", "speedup", "runs"):
        numbers = [r[key] for r in records if isinstance(r.get(key), (int, float))]
        if numbers:
            figures[key] = statistics.median(numbers)
    case = Case(
        spec.id, spec.group, spec.name, spec.unit, value, low, high, ratio[0], ratio[1], ratio[2],
        baseline_us=spread(u for r in records for u in r["baseline_us"]),
        cpu_s=cpu, wall_s=wall, load=load, figures=figures, reps=records, note=spec.note,
    )  # fmt: skip
    case.targets = verdicts(spec.targets, figures)
    return case


def verdicts(targets: Iterable[Target], figures: dict) -> list[dict]:
    """Each target with the figure it reads and whether it is met (None: the figure is missing)."""
    return [{**asdict(t), "value": figures.get(t.figure), "met": t.met(figures)} for t in targets]


def measure(spec: Spec, baseline: Callable[[], Sample] = bare_mmc, log: Callable[[str], None] = print) -> Case:
    """Measure one case interleaved with the baseline; a case that fails is recorded with its error."""
    load_before = os.getloadavg()[0]
    try:
        records = interleave(spec.run, baseline, spec.reps)
    except Exception as exc:  # a broken case must not lose the other figures of a 30-minute run
        message = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        log(f"  {spec.id}: FAILED: {message}")
        nan = float("nan")
        case = Case(spec.id, spec.group, spec.name, spec.unit, nan, nan, nan, note=f"failed: {message}")
        case.load = (load_before, os.getloadavg()[0])
        case.figures = {"runs": 0}
        case.targets = verdicts(spec.targets, case.figures)
        return case
    load_after = os.getloadavg()[0]
    case = summarize(spec, records, (load_before, load_after))
    ratio = f" ({case.ratio:.3g}x baseline)" if case.ratio is not None else ""
    log(f"  {spec.id}: {case.value:,.4g} {case.unit}{ratio}, load {load_after:.1f}")
    return case


def derived(
    id: str, group: str, name: str, top: Case, bottom: Case, targets: tuple[Target, ...] = (), note: str = ""
) -> Case:
    """A case that is the ratio of two measured cases' medians (e.g. 10k SKUs over 100 SKUs); no repetitions.

    The min-max is the widest the two spreads allow: top's min over bottom's max, top's max over bottom's min.
    """
    value = top.value / bottom.value
    case = Case(id, group, name, "x", value, top.low / bottom.high, top.high / bottom.low, note=note)
    case.figures = {"value": value}
    case.targets = verdicts(targets, case.figures)
    return case


# ---------------------------------------------------------------- children (fresh processes)
CHILD = """
import json, resource, sys, time
from sim.model.shop import simulate
from sim.scenario.loader import load_scenario

def status_kib(key):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None

args = json.loads(sys.argv[1])
if args["memory_cap_mib"]:  # a MemoryError here, not the machine's OOM killer taking other work with it
    cap = args["memory_cap_mib"] * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
scenario = load_scenario(args["path"], args["overrides"], overlays=args["overlays"])
rss_before = status_kib("VmRSS")
try:  # reset the peak RSS to the current RSS (Linux), so the peak is the simulation's
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
cpu, wall = time.process_time(), time.perf_counter()
result = simulate(scenario, args["seed"])
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
peak = status_kib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"cpu": cpu, "wall": wall, "orders": result.order_status["orders"],
                  "rss_before_kib": rss_before, "peak_kib": peak}))
"""


def available_mib() -> float | None:
    """MemAvailable of /proc/meminfo in MiB (None where there is no such file)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def child_simulation(path: str, overrides: list[str], overlays: list[dict] | None = None, seed: int = 1) -> Sample:
    """Simulate in a fresh interpreter: its CPU and wall time, orders, peak RSS and memory per order.

    Memory per order is (peak RSS - RSS before simulating) / orders, in KiB. The child's address
    space is capped at 70% of the memory available when it starts (the case fails with MemoryError
    instead of the machine swapping or its OOM killer ending someone else's work).
    """
    free = available_mib()
    cap = int(0.7 * free) if free else None
    args = json.dumps(
        {"path": path, "overrides": overrides, "overlays": overlays or [], "seed": seed, "memory_cap_mib": cap}
    )
    res = subprocess.run(
        [sys.executable, "-c", CHILD, args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(ROOT)},
    )
    if res.returncode != 0:
        raise RuntimeError(f"bench child failed: {(res.stderr.strip().splitlines() or ['no output'])[-1]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    extra = {"peak_mib": out["peak_kib"] / 1024, "runs": 1}
    if out["rss_before_kib"] is not None:
        extra["kib_per_order"] = (out["peak_kib"] - out["rss_before_kib"]) / out["orders"]
    return Sample(out["cpu"], out["wall"], out["orders"], extra)


def in_process_simulation(
    path: str, overrides: list[str], overlays: Callable[[], list[dict]] | None = None
) -> Callable[[], Sample]:
    """A case run: the scenario is loaded on the first call (untimed); each call times one ``simulate``.

    ``overlays`` is called then too, so that a scenario that fails to build fails its own case only.
    """
    from sim.model.shop import simulate
    from sim.scenario.loader import load_scenario

    loaded: list = []

    def run() -> Sample:
        if not loaded:
            loaded.append(load_scenario(path, overrides, overlays=overlays() if overlays else []))
        return timed(lambda: (simulate(loaded[0], 1).order_status["orders"], {}))

    return run


# ---------------------------------------------------------------- the cases of each group
def ratio_target(limit: float) -> Target:
    """CPU per order at most ``limit`` times a bare SimPy customer's."""
    return Target("ratio", "<=", limit, f"<= {limit:g}x bare SimPy customer (CPU)")


def simulator_specs(quick: bool, reps: int) -> list[Spec]:
    """Full chain on multi_warehouse.yaml and double11.yaml; demand + inventory on baseline.yaml (per order)."""
    short = ["horizon_days=120"] if quick else []
    event = ["start_date=2026-09-01", "horizon_days=120"] if quick else []  # quick: still holds Double 11
    chain = "demand, routing, allocation, replenishment, picking, packing, cut-off, carrier, KPIs"
    return [
        Spec("simulator/full_chain/multi_warehouse", "simulator", "full chain per order (multi_warehouse.yaml)",
             "us/order", in_process_simulation(MULTI, short), reps, per_order_us, (ratio_target(1.5),), chain),
        Spec("simulator/full_chain/double11", "simulator", "full chain per order (double11.yaml)",
             "us/order", in_process_simulation(DOUBLE11, event), reps, per_order_us, (ratio_target(1.5),), chain),
        Spec("simulator/demand_inventory/baseline", "simulator", "demand + inventory per order (baseline.yaml)",
             "us/order", in_process_simulation(BASELINE, short), reps, per_order_us, (ratio_target(0.7),)),
    ]  # fmt: skip


def order_specs(quick: bool, reps: int) -> list[Spec]:
    """One simulated year of multi_warehouse.yaml at 10k to 10M orders, each run in a fresh process."""
    sizes = (10_000, 100_000, 1_000_000) if quick else (10_000, 100_000, 1_000_000, 10_000_000)
    memory = Target("kib_per_order", "<=", 0.3, "<= 0.3 KiB/order")
    targets = {
        1_000_000: (
            Target("cpu_s", "<", 15, "< 15 s CPU"),
            Target("peak_mib", "<", 600, "< 600 MiB peak"),
            memory,
        ),
        10_000_000: (Target("runs", ">=", 1, "runs"), memory),
    }
    specs = []
    for n in sizes:
        over = [f"demand.base_orders_per_day={n / 365 / 1.07:.3f}", "demand.channels=[]"]
        label = f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"
        specs.append(
            Spec(f"scaling/orders/{label}", "scaling", f"one simulated year, ~{n:,} orders (multi_warehouse, pickers and carrier capacity scaled, fresh process)",
                 "s CPU", partial(child_simulation, MULTI, over, [orders_overlay(n)]), 1 if n >= 1_000_000 else reps,
                 targets=targets.get(n, ()), note="once" if n >= 1_000_000 else "")
        )  # fmt: skip
    return specs


MULTI_ORDERS_PER_YEAR = 156_000  # multi_warehouse.yaml as shipped


def orders_overlay(n: int) -> dict:
    """multi_warehouse.yaml sized for ``n`` orders a year: pickers per shift and carrier daily capacities
    scaled with the orders (at least one), so the year has the same load and not a queue that grows
    without bound (which measures the queue, not the engine)."""
    from sim.scenario.loader import load_scenario, scenario_to_dict

    f = n / MULTI_ORDERS_PER_YEAR
    data = scenario_to_dict(load_scenario(MULTI))
    warehouses = []
    for w in data["warehouses"]:
        picking = dict(w["picking"])
        picking["shifts"] = [{**sh, "pickers": max(1, math.ceil(sh["pickers"] * f))} for sh in picking["shifts"]]
        picking["promo_extra_pickers"] = max(1, math.ceil(picking.get("promo_extra_pickers", 0) * f))
        picking["packing_stations"] = max(1, math.ceil((picking.get("packing_stations") or 1) * f))
        warehouses.append({**w, "picking": picking})
    carriers = [
        {**c, "daily_capacity": max(1, math.ceil(c["daily_capacity"] * f))} if c.get("daily_capacity") else c
        for c in data["carriers"]
    ]
    return {"warehouses": warehouses, "carriers": carriers}


LEAD_TIMES = {
    "constant": ["suppliers[0].lead_time_days=5", "suppliers[1].lead_time_days=18"],
    "stochastic": [],
}


def sku_spec(n: int, kind: str, quick: bool, reps: int) -> Spec:
    """``n`` SKUs of baseline.yaml under daily periodic review (RS), same orders for every ``n``."""
    over = [
        f"catalog.generate.count={n}",
        "inventory.policy.type=RS",
        "inventory.policy.review=periodic",
        "inventory.policy.order_quantity=null",
        "inventory.policy.review_period_days=1",
        *LEAD_TIMES[kind],
        *(["horizon_days=120"] if quick else []),
    ]
    label = f"{n // 1000}k" if n >= 1000 else str(n)
    return Spec(f"scaling/skus/{label}/{kind}", "scaling", f"{n:,} SKUs, daily review, {kind} lead times",
                "s CPU", in_process_simulation(BASELINE, over), 1 if n >= 100_000 else reps,
                note="once" if n >= 100_000 else "")  # fmt: skip


def warehouse_overlay(n: int) -> dict:
    """multi_warehouse.yaml with ``n`` DCs, each serving its own region of equal share.

    The total picking capacity stays about that of the three DCs (pickers per shift scaled by 3/n,
    at least one); carrier lanes are dropped (every lane takes the carrier's default transit time).
    """
    from sim.scenario.loader import load_scenario, scenario_to_dict

    data = scenario_to_dict(load_scenario(MULTI))
    template = data["warehouses"][0]
    picking = dict(template["picking"])
    picking["shifts"] = [{**s, "pickers": max(1, math.ceil(s["pickers"] * 3 / n))} for s in picking["shifts"]]
    picking["promo_extra_pickers"] = max(1, math.ceil(picking.get("promo_extra_pickers", 0) * 3 / n))
    return {
        "warehouses": [{**template, "name": f"dc{i}", "regions": [f"r{i}"], "picking": picking} for i in range(n)],
        "demand": {"regions": [{"name": f"r{i}", "share": 1 / n, "promise_days": 3} for i in range(n)]},
        "carriers": [{k: v for k, v in c.items() if k != "lanes"} for c in data["carriers"]],
    }


def warehouse_overlays(n: int) -> list[dict]:
    """``[warehouse_overlay(n)]``: the overlays argument of ``load_scenario``."""
    return [warehouse_overlay(n)]


def warehouse_specs(quick: bool, reps: int) -> list[Spec]:
    """Full chain per order with 1, 3 and 10 DCs built from multi_warehouse.yaml."""
    short = ["horizon_days=120"] if quick else []
    return [
        Spec(f"warehouses/{n}", "warehouses", f"full chain per order, {n} DC{'s' if n > 1 else ''} (from multi_warehouse)",
             "us/order", in_process_simulation(MULTI, short, partial(warehouse_overlays, n)), reps, per_order_us)
        for n in (1, 3, 10)
    ]  # fmt: skip


def reorder_run(pairs: int) -> Callable[[], Sample]:
    """End to end: load baseline.yaml with ``pairs`` SKUs (one DC: one pair each) and solve the reorder plan.

    Extras: the plan's build and solve seconds, and its gap and LP bound when the plan reports them.
    """
    from optimize import reorder
    from sim.scenario.loader import load_scenario

    def work() -> tuple[int, dict]:
        plan = reorder.solve(load_scenario(BASELINE, [f"catalog.generate.count={pairs}"]))
        fields = ("gap", "lp_bound", "build_seconds", "solve_seconds", "status")
        return 1, {k: getattr(plan, k, None) for k in fields}

    return lambda: timed(work)


def optimizer_specs(quick: bool, reps: int) -> list[Spec]:
    """Reorder (1k, 10k, 50k pairs), promotion (10 channels x 365 days) and logistics (50 x 10 x 3), end to end."""
    gap = Target("gap", "<=", 0.001, "gap <= 0.1%")
    specs = [
        Spec("optimizers/reorder/1k", "optimizers", "reorder plan, 1,000 pairs, end to end", "s CPU",
             reorder_run(1000), reps),
        Spec("optimizers/reorder/10k", "optimizers", "reorder plan, 10,000 pairs, end to end", "s CPU",
             reorder_run(10_000), 1 if quick else 3, targets=(Target("cpu_s", "<", 60, "< 60 s CPU"), gap)),
    ]  # fmt: skip
    if not quick:
        specs.append(
            Spec("optimizers/reorder/50k", "optimizers", "reorder plan, 50,000 pairs, end to end", "s CPU",
                 reorder_run(50_000), 1, targets=(Target("cpu_s", "<", 300, "< 5 min CPU"),), note="once")
        )  # fmt: skip
    specs.append(
        Spec("optimizers/promotion", "optimizers", "promotion plan, 10 channels x 365 days, end to end", "s CPU",
             promotion_run(), reps)
    )  # fmt: skip
    for close in (False, True):
        kind = "MILP (open/close)" if close else "LP"
        specs.append(
            Spec(f"optimizers/logistics/{'milp' if close else 'lp'}", "optimizers",
                 f"logistics plan, 50 regions x 10 DCs x 3 carriers, {kind}, end to end", "s CPU",
                 logistics_run(close), reps)
        )  # fmt: skip
    return specs


def promotion_run() -> Callable[[], Sample]:
    """End to end: baseline.yaml with 10 marketing channels, the promotion plan for a 3M budget."""
    from optimize import promotion
    from sim.scenario.loader import load_scenario

    channels = [
        {
            "name": f"ch{i}",
            "spend_per_day": 1000,
            "max_extra_orders_per_day": 20 + 5 * i,
            "half_saturation_spend": 2000 + 500 * i,
            "hill_shape": 0.8 + 0.02 * i,
        }
        for i in range(10)
    ]

    def work() -> tuple[int, dict]:
        scenario = load_scenario(BASELINE, [], overlays=[{"demand": {"channels": channels}}])
        promotion.solve(scenario, budget=3_000_000)
        return 1, {}

    return lambda: timed(work)


def logistics_run(allow_close: bool) -> Callable[[], Sample]:
    """End to end: the logistics plan on a synthetic 50-region, 10-DC, 3-carrier network."""
    from optimize import logistics
    from sim.scenario.loader import load_scenario

    def work() -> tuple[int, dict]:
        scenario = load_scenario(MULTI, ["horizon_days=30"])
        logistics.solve(scenario, on_time_target=0.9, allow_close=allow_close, network=synthetic_network(50, 10, 3))
        return 1, {}

    return lambda: timed(work)


def batch_run(replications: int, horizon_days: int) -> Callable[[], Sample]:
    """Serial then process executor (2 workers) on the same replications; extras: the wall speed-up.

    CPU is this process's plus its finished children's (the pool's workers).
    """
    import resource
    import tempfile

    from experiments.runner import run_tasks, tasks_for
    from experiments.spec import Point
    from sim.scenario.loader import load_scenario, scenario_hash

    def work() -> Sample:
        scenario = load_scenario(BASELINE, [f"horizon_days={horizon_days}"])
        tasks = tasks_for([Point("bench", scenario, {}, scenario_hash(scenario))], replications, 1)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu, walls = time.process_time(), {}
        for executor in ("serial", "process"):
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                run_tasks(tasks, Path(tmp), executor, 2, None, (), quiet=True)
                walls[executor] = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = time.process_time() - cpu + (after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime)
        extra = {
            "speedup": walls["serial"] / walls["process"],
            "serial_wall": walls["serial"],
            "process_wall": walls["process"],
        }
        return Sample(cpu, sum(walls.values()), 1, extra)

    return work


def batch_specs(quick: bool, reps: int) -> list[Spec]:
    """The process pool's speed-up over serial (16 replications, 2 workers) and Dask's overhead per task."""
    days = 120 if quick else 365
    return [
        Spec("batch/process_speedup", "batch", f"process pool speed-up over serial, 16 replications of {days} days, 2 workers",
             "x (wall)", batch_run(16, days), 1 if quick else 3, lambda s: s.extra["speedup"],
             (Target("speedup", ">=", 1.9, ">= 1.9x on 2 cores (year-long)"),)),
        Spec("batch/dask_overhead", "batch", "Dask LocalCluster overhead per task (200 empty tasks, 2 workers)",
             "ms/task (wall)", DaskTasks(200), reps, lambda s: s.wall / s.extra["tasks"] * 1000),
    ]  # fmt: skip


class DaskTasks:
    """Maps ``tasks`` empty tasks on a 2-worker LocalCluster, started on the first call (untimed)."""

    def __init__(self, tasks: int):
        self.tasks = tasks
        self.cluster: Any = None
        self.client: Any = None

    def __call__(self) -> Sample:
        """One timed round of empty tasks."""
        if self.client is None:
            from dask.distributed import Client, LocalCluster

            self.cluster = LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
            )
            self.client = Client(self.cluster)
        client = self.client
        return timed(
            lambda: (client.gather(client.map(_noop, range(self.tasks), pure=False)), (1, {"tasks": self.tasks}))[1]
        )

    def close(self) -> None:
        """Stop the client and the cluster if they were started."""
        if self.client is not None:
            self.client.close()
            self.cluster.close()
            self.client = self.cluster = None


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


# ---------------------------------------------------------------- a run, its file, a comparison
@dataclass
class BenchRun:
    """The cases of one bench run, with its mode, groups, the machine's core count and its duration."""

    cases: list[Case]
    quick: bool
    groups: list[str]
    cpu_count: int
    seconds: float = 0.0


def run_bench(
    quick: bool = False,
    only: Iterable[str] | None = None,
    log: Callable[[str], None] = print,
    baseline: Callable[[], Sample] = bare_mmc,
) -> BenchRun:
    """Run the selected groups (default: all of GROUPS, in that order); ``log`` gets progress lines."""
    reps = 3 if quick else 5
    selected = [g for g in GROUPS if only is None or g in set(only)]
    start = time.perf_counter()
    cases: list[Case] = []

    def run(spec: Spec) -> Case:
        case = measure(spec, baseline, log)
        cases.append(case)
        return case

    for group in selected:
        log(f"{group} ...")
        if group == "scaling":
            scaling(quick, reps, run, cases)
        elif group == "batch":
            batch(quick, reps, run)
        else:
            from experiments.bench_fit import fit_specs  # they build on this module's Spec
            from experiments.bench_whatif import whatif_specs

            specs = {
                "simulator": simulator_specs,
                "warehouses": warehouse_specs,
                "optimizers": optimizer_specs,
                "whatif": whatif_specs,
                "fit": fit_specs,
            }
            for spec in specs[group](quick, reps):
                run(spec)
    return BenchRun(cases, quick, selected, os.cpu_count() or 1, time.perf_counter() - start)


def scaling(quick: bool, reps: int, run: Callable[[Spec], Case], cases: list[Case]) -> None:
    """Orders (10k to 10M) then SKUs (100 to 100k, both lead-time kinds) with the 10k / 100 SKU ratios."""
    for spec in order_specs(quick, reps):
        run(spec)
    counts = (100, 1000, 10_000) if quick else (100, 1000, 10_000, 100_000)
    for kind in LEAD_TIMES:
        by_count = {n: run(sku_spec(n, kind, quick, reps)) for n in counts}
        target = (Target("value", "<=", 1.3, "<= 1.3x"),) if kind == "stochastic" else ()
        for n in counts[2:]:
            label = f"{n // 1000}k"
            cases.append(
                derived(f"scaling/skus/{label}_over_100/{kind}", "scaling",
                        f"{n:,} SKUs over 100 SKUs (CPU), {kind} lead times, same orders",
                        by_count[n], by_count[100], target if n == 10_000 else ())
            )  # fmt: skip


def batch(quick: bool, reps: int, run: Callable[[Spec], Case]) -> None:
    """The batch group; the Dask cluster is stopped however its case ends."""
    speedup, dask = batch_specs(quick, reps)
    run(speedup)
    try:
        run(dask)
    finally:
        if isinstance(dask.run, DaskTasks):
            dask.run.close()


def to_json(run: BenchRun) -> dict:
    """bench.json: the format tag, the mode, the machine and every case with its raw repetitions."""
    return {
        "format": FORMAT,
        "quick": run.quick,
        "groups": run.groups,
        "cpu_count": run.cpu_count,
        "baseline_customers": BASELINE_CUSTOMERS,
        "seconds": run.seconds,
        "cases": [json_safe(asdict(c)) for c in run.cases],
    }


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by None (bench.json stays standard JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


class BenchFileError(ValueError):
    """A ``--compare`` file that is missing, unreadable or not a bench.json of this format."""


def read_bench(path: str | Path, option: str = "--compare") -> dict:
    """A bench.json written by ``to_json``; raises BenchFileError: one line naming ``option`` and the problem."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchFileError(f"{option}: {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchFileError(f"{option}: cannot read {path}: {exc.__class__.__name__}") from None
    except json.JSONDecodeError as exc:
        raise BenchFileError(f"{option}: {path} is not JSON (line {exc.lineno}): not a bench.json") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BenchFileError(f"{option}: {path} is not a bench.json of format {FORMAT}")
    cases = data.get("cases")
    if not isinstance(cases, list) or not all(
        isinstance(c, dict) and {"id", "value", "unit"} <= c.keys() for c in cases
    ):
        raise BenchFileError(f"{option}: {path} has no valid 'cases' list (each with id, value, unit)")
    return data


def change(old: float | None, new: float | None) -> float | None:
    """Relative change new / old - 1 (None if either is missing, not a number or old is 0)."""
    if old is None or new is None or old == 0 or not (math.isfinite(old) and math.isfinite(new)):
        return None
    return new / old - 1


def compare_cases(old: list[dict], new: list[dict]) -> list[dict]:
    """Per case id: old and new figure and ratio to the baseline, their changes, and where it was found.

    Cases in both runs come first in the new run's order, then those found only in the old run.
    """
    old_by_id = {c["id"]: c for c in old}
    new_ids = {c["id"] for c in new}
    rows = []
    for c in new:
        o = old_by_id.get(c["id"])
        rows.append(compare_row(o, c))
    rows += [compare_row(c, None) for c in old if c["id"] not in new_ids]
    return rows


def compare_row(old: dict | None, new: dict | None) -> dict:
    """One row of ``compare_cases``; ``found`` is "both", "old only" or "new only"."""
    either = new or old or {}
    same_unit = old is not None and new is not None and old["unit"] == new["unit"]
    o, n = old or {}, new or {}
    return {
        "id": either["id"],
        "name": either.get("name", ""),
        "unit": either["unit"],
        "found": "both" if old and new else ("old only" if old else "new only"),
        "old": o.get("value"),
        "new": n.get("value"),
        "change": change(o.get("value"), n.get("value")) if same_unit else None,
        "old_ratio": o.get("ratio"),
        "new_ratio": n.get("ratio"),
        "ratio_change": change(o.get("ratio"), n.get("ratio")) if same_unit else None,
    }
