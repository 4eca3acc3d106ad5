"""``run.py check-theory``: the simulator against textbook formulas, one row per check.

Each case simulates a small built-in scenario with several replications and
compares the mean with the closed-form value from :mod:`sim.theory`: it agrees
when the formula lies inside the 99% Student-t confidence interval (or, for the
deterministic EOQ and Little's law, within 1%). The same cases back the tests.
The exact-queue cases (``mdc``: M/D/2 against Crommelin, ``mg1``: lognormal picks against
Pollaczek-Khinchine) fix the customers instead of the days: their ``n`` replications share
at least 2e6 customers, so their 99% intervals are about +-2% of the wait.

>>> rows = run_cases(["eoq"], replications=1)
>>> rows[0].agrees
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from experiments.runner import run_outputs, tasks_for
from experiments.spec import Point
from experiments.stats import mean_ci
from sim import theory
from sim.model.shop import simulate
from sim.model.streams import replication_seed
from sim.scenario.loader import load_scenario, scenario_hash

ROOT = Path(__file__).resolve().parent.parent
SC = ROOT / "scenarios"
LEVEL = 0.99
#: Customers (orders after the warm-up) the exact-queue cases spread over their replications: expected
#: 2.02e6, so that every run holds at least 2e6 (the Poisson count's sd is about 1,400).
LONG_CUSTOMERS = 2_020_000
PICK_SECONDS = 300.0  # mean pick time of classroom_queue.yaml
MU = 86_400.0 / PICK_SECONDS  # picks per picker per day


@dataclass
class Row:
    """One check: the formula's value, the simulated mean and CI (or tolerance), and whether they agree."""

    case: str
    measure: str
    formula: float
    mean: float
    ci_low: float
    ci_high: float
    agrees: bool
    rule: str


@dataclass(frozen=True)
class Batch:
    """How the cases run their replications: through the batch runner, with progress unless quiet."""

    workers: int = 1
    quiet: bool = True

    def kpis(self, case: str, path, overrides, n: int, seed: int = 99) -> list[dict]:
        """KPIs of ``n`` replications (seeds ``replication_seed(seed, r)``) of one scenario."""
        sc = load_scenario(path, overrides)
        tasks = tasks_for([Point(case, sc, {}, scenario_hash(sc))], n, seed)
        executor = "serial" if self.workers == 1 else "process"
        outputs, _ = run_outputs(tasks, None, executor, self.workers, quiet=self.quiet, desc=case)
        failed = [o["error"] for o in outputs if o["status"] != "ok"]
        if failed:
            raise RuntimeError(f"{case}: {len(failed)} replication(s) failed: {failed[0]}")
        return [o["kpis"] for o in outputs]


def _one(path, overrides, seed=99):
    """One replication, the whole result (for the deterministic checks that read the records)."""
    return simulate(load_scenario(path, overrides), replication_seed(seed, 0))


def _ci_rows(case, results, pairs) -> list[Row]:
    out = []
    for measure, key, exact in pairs:
        values = [kpis[key] for kpis in results]
        ci = mean_ci(values, LEVEL)
        out.append(Row(case, measure, exact, ci.mean, ci.low, ci.high, bool(ci.contains(exact)), "99% CI"))
    return out


def case_eoq(n: int, batch: Batch = Batch()) -> list[Row]:
    """EOQ with deterministic demand: simulated cost per day at two order quantities within 1% of the formula."""
    rows = []
    for q in (1000, 500):
        res = _one(SC / "classroom_eoq.yaml", [f"inventory.policy.order_quantity={q}"])
        exact = theory.eoq_cost_per_day(q, 100, 100, 0.02)
        got = res.kpis["holding_cost"] + res.kpis["ordering_cost"]
        per_day = got / (res.daily.shape[0] - 30)
        rows.append(
            Row(
                "EOQ, deterministic demand",
                f"cost per day at Q={q}",
                exact,
                per_day,
                per_day,
                per_day,
                abs(per_day / exact - 1) <= 0.01,
                "within 1%",
            )
        )
    return rows


def case_sq(n: int, batch: Batch = Batch()) -> list[Row]:
    """(r,Q) with Poisson demand: fill rate, on hand and backorders against Hadley-Whitin."""
    exact = theory.rq_poisson(3, 5, 1.0, 3.0)
    res = batch.kpis("(r,Q) Poisson", SC / "classroom_sq.yaml", [], n)
    return _ci_rows(
        "(r,Q) Poisson, Hadley-Whitin",
        res,
        [
            ("fill rate", "unit_fill_rate", exact.fill_rate),
            ("average on hand", "avg_on_hand_units", exact.expected_on_hand),
            ("average backorders", "avg_backorder_units", exact.expected_backorders),
        ],
    )


def case_rs(n: int, batch: Batch = Batch()) -> list[Row]:
    """(R,S) with normal demand: fill rate and cycle service level against the normal formulas."""
    sc = load_scenario(SC / "classroom_rs.yaml")
    d = sc.demand.units_per_line
    exact = theory.rs_normal(2200, 7, 3, d.mean, d.std)
    res = batch.kpis("(R,S) normal", SC / "classroom_rs.yaml", [], n)
    return _ci_rows(
        "(R,S) normal demand",
        res,
        [
            ("fill rate", "unit_fill_rate", exact.fill_rate),
            ("cycle service level", "cycle_service_level", exact.cycle_service_level),
        ],
    )


def case_mmc(n: int, batch: Batch = Batch()) -> list[Row]:
    """M/M/1 and M/M/3 picking: P(wait) and mean wait against Erlang C."""
    rows = []
    for c in (1, 3):
        lam = 0.8 * c * 12.0  # per hour; mu = 12 per hour per picker
        exact = theory.mmc(c, lam, 12.0)
        res = batch.kpis(
            f"M/M/{c}",
            SC / "classroom_queue.yaml",
            [f"warehouses[0].picking.pickers={c}", f"demand.base_orders_per_day={lam * 24}", "horizon_days=60"],
            n,
        )
        rows += _ci_rows(
            f"M/M/{c} picking, Erlang C",
            res,
            [
                ("P(wait)", "prob_pick_wait", exact.prob_wait),
                ("mean wait (minutes)", "mean_pick_wait_minutes", exact.mean_wait * 60),
            ],
        )
    return rows


def case_md1(n: int, batch: Batch = Batch()) -> list[Row]:
    """M/D/1 picking: mean wait against Pollaczek-Khinchine."""
    lam = 0.7 * 12.0
    exact = theory.md1(lam, 1 / 12.0)
    res = batch.kpis(
        "M/D/1",
        SC / "classroom_queue.yaml",
        [
            "warehouses[0].picking.pickers=1",
            "warehouses[0].picking.pick_time_seconds=300",
            f"demand.base_orders_per_day={lam * 24}",
            "horizon_days=60",
        ],
        n,
    )
    return _ci_rows(
        "M/D/1 picking, Pollaczek-Khinchine",
        res,
        [("mean wait (minutes)", "mean_pick_wait_minutes", exact.mean_wait * 60)],
    )


def case_little(n: int, batch: Batch = Batch()) -> list[Row]:
    """L = lambda W on the simulated data: time-average number in the warehouse vs arrivals x mean time."""
    res = _one(SC / "classroom_queue.yaml", ["horizon_days=60"])
    shp = res.shipments
    a, b = 5.0, 55.0
    start, end = shp["release"], shp["ready"]
    inside = (start >= a) & (end <= b)
    # time-average number in system over [a, b] from the step function of starts and ends
    t0, t1 = np.clip(start, a, b), np.clip(np.where(np.isnan(end), b, end), a, b)
    L = float(np.sum(np.maximum(t1 - t0, 0.0)) / (b - a))
    lam = float(np.sum((start >= a) & (start < b)) / (b - a))
    W = float(np.mean(end[inside] - start[inside]))
    return [
        Row(
            "Little's law (warehouse)", "L vs lambda x W", lam * W, L, L, L, abs(L / (lam * W) - 1) <= 0.01, "within 1%"
        )
    ]


def long_queue_overrides(pickers: int, pick_time: str, replications: int, rho: float = 0.8) -> list[str]:
    """classroom_queue with ``pickers`` at utilization ``rho``: the horizon puts LONG_CUSTOMERS into
    ``replications`` replications (fewer, longer ones: a 1-day warm-up each, the relaxation time is hours)."""
    arrival_rate = rho * pickers * MU  # orders per day
    days = 1 + math.ceil(LONG_CUSTOMERS / (replications * arrival_rate))
    return [
        f"warehouses[0].picking.pickers={pickers}",
        f"warehouses[0].picking.pick_time_seconds={pick_time}",
        f"demand.base_orders_per_day={arrival_rate!r}",
        f"horizon_days={days}",
        "warmup_days=1",
    ]


def _customers(results) -> str:
    """The customers the intervals rest on, for the case label (e.g. ``2.02M``)."""
    return f"{sum(k['orders'] for k in results) / 1e6:.2f}M"


def case_mdc(n: int, batch: Batch = Batch()) -> list[Row]:
    """M/D/2 picking (constant 5-minute picks, rho = 0.8), >= 2e6 customers: P(wait), Wq, Lq against Crommelin."""
    exact = theory.mdc(2, 0.8 * 2 * MU, 1 / MU)  # rates per day: Wq in days
    res = batch.kpis("M/D/2", SC / "classroom_queue.yaml", long_queue_overrides(2, f"{PICK_SECONDS:g}", n), n)
    return _ci_rows(
        f"M/D/2 picking, Crommelin ({_customers(res)})",
        res,
        [
            ("P(wait)", "prob_pick_wait", exact.prob_wait),
            ("mean wait (minutes)", "mean_pick_wait_minutes", exact.mean_wait * 1440),
            ("mean queue (jobs)", "pick_queue_mean", exact.mean_in_queue),
        ],
    )


def case_mg1(n: int, batch: Batch = Batch()) -> list[Row]:
    """M/G/1 picking with lognormal picks (mean 5 minutes, cv 0.5, rho = 0.8), >= 2e6 customers, against P-K."""
    exact = theory.mg1_cv(0.8 * MU, 1 / MU, 0.5)
    pick = f"{{dist: lognormal, mean: {PICK_SECONDS:g}, cv: 0.5}}"
    res = batch.kpis("M/G/1 lognormal", SC / "classroom_queue.yaml", long_queue_overrides(1, pick, n), n)
    return _ci_rows(
        f"M/G/1 lognormal cv 0.5, P-K ({_customers(res)})",
        res,
        [
            ("P(wait)", "prob_pick_wait", exact.utilization),  # one server: P(wait) = rho (PASTA)
            ("mean wait (minutes)", "mean_pick_wait_minutes", exact.mean_wait * 1440),
            ("mean queue (jobs)", "pick_queue_mean", exact.mean_in_queue),
        ],
    )


CASES = {
    "eoq": case_eoq,
    "sq": case_sq,
    "rs": case_rs,
    "mmc": case_mmc,
    "md1": case_md1,
    "mdc": case_mdc,
    "mg1": case_mg1,
    "little": case_little,
}


def run_cases(names=None, replications: int = 30, workers: int = 1, quiet: bool = True) -> list[Row]:
    """Run the named cases (all by default); replications go through the batch runner."""
    batch = Batch(workers, quiet)
    rows = []
    for name in names or CASES:
        rows += CASES[name](replications, batch)
    return rows


def format_rows(rows: list[Row]) -> str:
    """The checks as an aligned text table, one row per check."""
    head = f"{'case':<36} {'measure':<24} {'formula':>10} {'simulated':>10} {'99% CI / tolerance':>22}  agrees"
    lines = [head, "-" * len(head)]
    for r in rows:
        ci = f"[{r.ci_low:.4g}, {r.ci_high:.4g}]" if r.rule == "99% CI" else r.rule
        lines.append(
            f"{r.case:<36} {r.measure:<24} {r.formula:>10.4g} {r.mean:>10.4g} {ci:>22}  {'yes' if r.agrees else 'NO'}"
        )
    return "\n".join(lines)
