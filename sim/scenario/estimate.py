"""A work estimate before the work: orders, lines, pairs and days of one replication, and its cost.

From a validated Scenario, without simulating and without building the catalogue,
the estimate counts

    orders = sum over the horizon of the expected orders per day  (sim.model.demand.demand_plan: weekday,
             month, promotion and marketing factors, the simulator's own rate function)
    lines  = orders x E[lines per order]          (rounded and at least 1, as the simulator draws them)
    pairs  = SKUs x warehouses                    (the flat inventory arrays)
    days   = horizon_days

and turns them into CPU time and peak memory of ONE replication with per-unit costs
measured on this machine kind (2 cores, CPython 3.11; see ``COSTS``):

    seconds = setup + order x orders + line x lines + day x days + pair x pairs
              + pair_day x pairs x days + pair_review x pairs x reviews
    memory  = base + order x orders + line x lines + day x days + pair x pairs

The CLI refuses (exit 2, nothing written) a run whose replications and variants,
divided by the workers, would not finish within ``MAX_SECONDS`` or whose replication
would not fit into its share of the machine's memory, unless ``--allow-large`` is given
(``refusal``). Costs were measured with ``python -m sim.scenario.estimate`` (simulates a few sized
variants of ``scenarios/baseline.yaml`` and ``scenarios/multi_warehouse.yaml`` and prints
CPU seconds and peak RSS of each); estimates are meant to be right within a factor of
about two, enough to tell a minute from a day.

>>> from sim.scenario.loader import load_scenario
>>> w = estimate_work(load_scenario("scenarios/classroom_sq.yaml"))
>>> w.days, w.pairs, round(w.orders)
(3650, 1, 3650)
>>> w.seconds < 5
True
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from sim.scenario.distributions import AnyDist
from sim.scenario.schema import Scenario

MAX_SECONDS = 3600.0  # a run that would take longer (wall, after dividing by workers) is refused
MEMORY_SHARE = 0.5  # of the machine's RAM, shared by the workers (headroom for the OS and the rest)

# CPU seconds per unit, measured 2026-12 with `python -m sim.scenario.estimate` (CPU time of simulate(), idle machine).
COSTS = {
    "setup": 0.05,  # ShopModel set-up, KPIs and daily table of a tiny scenario
    "order": 6.6e-6,  # event loop + allocation + records, instant picking and delivery (baseline.yaml)
    "order_fulfilment": 11.6e-6,  # extra per order with picking and/or carriers (multi_warehouse.yaml: ~18 us total)
    "line": 1.6e-6,  # per order line beyond the first
    "day": 130e-6,  # day process, draws and day close of a small scenario
    "pair": 2.0e-6,  # per (SKU, warehouse) pair: policy, arrays, catalogue
    "pair_day": 40e-9,  # per pair and day: the vectorized area/day-close passes
    "pair_review": 5e-9,  # per pair and periodic review (one vectorized pass)
}
# Peak resident memory in bytes, measured with the same command (ru_maxrss of a fresh process).
MEMORY = {
    "base": 90 * 2**20,  # interpreter + numpy/pandas/simpy/pydantic after import
    "order": 560,  # order and shipment records, then the order table (baseline.yaml)
    "order_fulfilment": 220,  # extra per order with picking and/or carriers
    "line": 12,
    "day": 900,  # daily arrays and the daily DataFrame
    "pair": 420,  # inventory arrays, policy arrays, catalogue (ids included)
}


@dataclass(frozen=True)
class WorkEstimate:
    """What one replication of a scenario will do and cost (expected values)."""

    orders: float
    lines: float
    pairs: int
    days: int
    seconds: float  # CPU seconds of one replication
    memory_bytes: float  # peak resident memory of one replication's process

    def __str__(self) -> str:
        """The estimate as one line (``work: ... orders, ... lines, ...``)."""
        return (
            f"work: {self.orders:,.0f} orders, {_short(self.lines)} lines, {self.pairs:,} SKU-warehouse "
            f"pair{'s' if self.pairs != 1 else ''} over {self.days:,} day{'s' if self.days != 1 else ''}; "
            f"about {format_seconds(self.seconds)} and {format_bytes(self.memory_bytes)} per replication"
        )


def _short(x: float) -> str:
    """3.1M, 45.2k, 812 — a count at a glance."""
    for div, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.1f}{unit}"
    return f"{x:,.0f}"


def format_seconds(s: float) -> str:
    """'0.4 s', '35 s', '12 min', '40 h', '3.2 years'.

    >>> format_seconds(0.42), format_seconds(35.2), format_seconds(720), format_seconds(3600), format_seconds(144000)
    ('0.4 s', '35 s', '12 min', '1 h', '40 h')
    """
    if s < 10:
        return f"{s:.1f} s"
    if s < 120:
        return f"{s:.0f} s"
    if s < 3570:
        return f"{s / 60:.0f} min"
    if s < 36000:
        return f"{s / 3600:.1f}".removesuffix(".0") + " h"
    if s < 3 * 86400:
        return f"{s / 3600:.0f} h"
    if s < 365 * 86400:
        return f"{s / 86400:.0f} days"
    return f"{s / (365 * 86400):,.1f} years"


def format_bytes(b: float) -> str:
    """'410 MiB', '3.2 GiB'."""
    if b < 2**30:
        return f"{b / 2**20:.0f} MiB"
    if b < 2**40:
        return f"{b / 2**30:.1f} GiB"
    return f"{b / 2**40:,.1f} TiB"


def sku_count(scenario: Scenario) -> int:
    """Number of SKUs, read from the scenario (the catalogue is not built)."""
    c = scenario.catalog
    return len(c.skus) if c.skus is not None else (c.generate.count if c.generate is not None else 0)


def mean_count(dist: AnyDist, size: int = 4096) -> float:
    """E[max(rint(X), 1)]: the mean of a count drawn as the simulator draws lines and units.

    A fixed-seed sample (rounding has no closed form for most families); cheap and deterministic.

    >>> from sim.scenario.distributions import Constant
    >>> mean_count(Constant(value=0.2))
    1.0
    """
    return float(np.maximum(np.rint(dist.sample(np.random.default_rng(0), size)), 1).mean())


def _has_fulfilment(scenario: Scenario) -> bool:
    """Whether orders go through picking or carriers (the dearer per-order path)."""
    return bool(scenario.carriers) or any(w.picking is not None for w in scenario.warehouses)


def estimate_work(scenario: Scenario) -> WorkEstimate:
    """Orders, lines, pairs and days of one replication, and its CPU time and peak memory.

    O(days + channels x days) vectorized numpy for the demand, O(1) for the pairs: refusing a
    200,000 x 400 network or a 36,500-day horizon takes milliseconds.
    """
    from sim.model.demand import demand_plan  # the simulator's own daily rate

    days = int(scenario.horizon_days)
    orders = float(np.sum(demand_plan(scenario).rate))
    lines = orders * mean_count(scenario.demand.lines_per_order)
    pairs = sku_count(scenario) * len(scenario.warehouses)
    policy = scenario.inventory.policy
    reviews = math.ceil(days / policy.review_period_days) if policy.periodic else 0
    full = _has_fulfilment(scenario)
    c, m = COSTS, MEMORY
    seconds = (
        c["setup"]
        + orders * (c["order"] + (c["order_fulfilment"] if full else 0.0))
        + max(lines - orders, 0.0) * c["line"]
        + days * c["day"]
        + pairs * c["pair"]
        + pairs * days * c["pair_day"]
        + pairs * reviews * c["pair_review"]
    )
    memory = (
        m["base"]
        + orders * (m["order"] + (m["order_fulfilment"] if full else 0.0))
        + lines * m["line"]
        + days * m["day"]
        + pairs * m["pair"]
    )
    return WorkEstimate(orders=orders, lines=lines, pairs=pairs, days=days, seconds=seconds, memory_bytes=memory)


def machine_memory_bytes() -> float:
    """Total physical memory (os.sysconf); 8 GiB where the platform does not say."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 8.0 * 2**30


def refusal(
    estimates: list[WorkEstimate] | WorkEstimate,
    replications: int = 1,
    workers: int = 1,
    max_seconds: float = MAX_SECONDS,
    memory_bytes: float | None = None,
) -> str | None:
    """Why a run of ``replications`` of each scenario on ``workers`` processes is too large, or None.

    Wall time = sum of the replications' CPU seconds / workers (replications are independent);
    memory: each worker's replication must fit into MEMORY_SHARE of the RAM divided by the workers.

    >>> w = WorkEstimate(orders=1e6, lines=2e6, pairs=300, days=365, seconds=20.0, memory_bytes=2**28)
    >>> refusal(w, replications=10, memory_bytes=16 * 2**30) is None
    True
    >>> refusal(w, replications=1000, workers=2, memory_bytes=16 * 2**30)
    'this would take about 2.8 h (limit 1 h)'
    """
    items = [estimates] if isinstance(estimates, WorkEstimate) else list(estimates)
    if not items:
        return None
    workers = max(1, min(int(workers), len(items) * int(replications)))
    total = sum(e.seconds for e in items) * replications / workers
    ram = machine_memory_bytes() if memory_bytes is None else memory_bytes
    share = ram * MEMORY_SHARE / workers
    peak = max(e.memory_bytes for e in items)
    reasons = []
    if total > max_seconds:
        reasons.append(f"this would take about {format_seconds(total)} (limit {format_seconds(max_seconds)})")
    if peak > share:
        per = f" / {workers} workers" if workers > 1 else ""
        reasons.append(
            f"a replication needs about {format_bytes(peak)} of memory (limit "
            f"{format_bytes(share)} = {MEMORY_SHARE:.0%} of {format_bytes(ram)}{per})"
        )
    return "; ".join(reasons) or None


def total_line(estimates: list[WorkEstimate], replications: int, workers: int) -> str:
    """'12 runs on 2 workers: about 3 min' for a batch."""
    runs = len(estimates) * replications
    workers = max(1, min(int(workers), runs))
    total = sum(e.seconds for e in estimates) * replications / workers
    return (
        f"{runs:,} run{'s' if runs != 1 else ''} on {workers} worker{'s' if workers != 1 else ''}: "
        f"about {format_seconds(total)}"
    )


def check_work(
    label: str, estimates: list[WorkEstimate], replications: int = 1, workers: int = 1, allow_large: bool = False
) -> tuple[str, str | None]:
    """(the estimate as one line, the refusal as one line or None) for the CLI.

    The refusal names ``label`` (the input file), the work, the reason and the way out;
    with ``allow_large`` nothing is refused. Several estimates (variants) are shown by the
    largest one and the total of the batch.
    """
    largest = max(estimates, key=lambda e: (e.seconds, e.memory_bytes))
    head = str(largest)
    if len(estimates) > 1:
        same = all(e == largest for e in estimates)
        head += f" ({'each' if same else 'largest'} of {len(estimates):,} variants)"
    batch = len(estimates) * replications > 1
    info = f"{head}; {total_line(estimates, replications, workers)}" if batch else head
    why = None if allow_large else refusal(estimates, replications, workers)
    if why is None:
        return info, None
    runs = total_line(estimates, replications, workers).split(":")[0] + ": " if batch else ""
    return info, f"{label}: {head}; {runs}{why} — pass --allow-large to run it anyway"


def _measure() -> None:  # pragma: no cover - a measuring tool, run by hand
    """Print CPU seconds and peak RSS of sized variants (the source of COSTS and MEMORY)."""
    import json
    import subprocess
    import sys

    code = (
        "import json, resource, sys, time\n"
        "from sim.scenario.loader import load_scenario\nfrom sim.model.shop import simulate\n"
        "from sim.scenario.estimate import estimate_work\n"
        "sc = load_scenario(sys.argv[1], sys.argv[2:])\nt = time.process_time()\nsimulate(sc, 1)\n"
        "cpu = time.process_time() - t\nw = estimate_work(sc)\n"
        "print(json.dumps({'orders': w.orders, 'lines': w.lines, 'pairs': w.pairs, 'days': w.days, "
        "'cpu_s': round(cpu, 3), 'est_s': round(w.seconds, 3), "
        "'rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "
        "'est_mib': round(w.memory_bytes / 2**20)}))\n"
    )
    quiet = ["demand.base_orders_per_day=0.01", "demand.channels=[]"]
    cases = [
        ("scenarios/classroom_eoq.yaml", []),
        ("scenarios/baseline.yaml", []),
        ("scenarios/baseline.yaml", ["demand.base_orders_per_day=1600"]),
        ("scenarios/baseline.yaml", ["demand.base_orders_per_day=1500", "demand.lines_per_order=6"]),
        ("scenarios/baseline.yaml", [*quiet, "horizon_days=36500"]),
        ("scenarios/baseline.yaml", [*quiet, "catalog.generate.count=200000"]),
        (
            "scenarios/baseline.yaml",
            [
                *quiet,
                "catalog.generate.count=200000",
                "inventory.policy.review=periodic",
                "inventory.policy.review_period_days=1",
            ],
        ),
        ("scenarios/multi_warehouse.yaml", []),
        ("scenarios/multi_warehouse.yaml", ["demand.base_orders_per_day=4000"]),
    ]
    for file, sets in cases:
        out = subprocess.run([sys.executable, "-c", code, file, *sets], capture_output=True, text=True)
        print(
            json.dumps(
                {
                    "file": file,
                    "set": sets,
                    **(json.loads(out.stdout) if out.returncode == 0 else {"error": out.stderr[-300:]}),
                }
            )
        )


if __name__ == "__main__":  # pragma: no cover
    _measure()
