"""The picking warehouse against queueing theory (issue 3, "Done when": theory checks).

``scenarios/classroom_queue.yaml`` is one warehouse set up as an M/M/c queue:
Poisson single-line orders, exponential pick times (mean 300 s, so mu = 288
picks a day per picker), c pickers around the clock, no waves, no cut-off and a
start stock that never runs out. Each test changes c and the order rate so the
utilization is rho = lambda / (c mu) = 0.8 and compares the simulated KPIs with
the textbook answers of :mod:`sim.theory`:

* M/M/c, c in {1, 3, 5}: ``prob_pick_wait`` vs Erlang C and
  ``mean_pick_wait_minutes`` vs Wq = C / (c mu - lambda);
* M/D/1 (constant pick time): ``mean_pick_wait_minutes`` vs Pollaczek-Khinchine
  Wq = rho / (2 mu (1 - rho));
* M/D/2 (constant pick time) vs Crommelin's exact M/D/c, and M/G/1 with lognormal pick times
  (cv 0.5) vs Pollaczek-Khinchine: the ``check-theory`` cases themselves (their code, 30
  replications, 99% intervals) on a quarter of their customers (0.5e6 instead of 2.02e6 each),
  which still excludes the nearby wrong answers (theory x 1.1, M/M/c, cv 0.6);
* Little's law on the simulated records: time-average number in the warehouse
  = arrival rate x mean time in the warehouse.

The queue answers come from a 99.9% Student-t interval over independent
replications (fixed seeds ``replication_seed(MASTER, r)``), never from seeded
digits; 99.9% because about twenty such checks run together (see
test_inventory_theory.py), and each test also shows its interval is narrow enough
to exclude a nearby wrong answer. 200 replications with another master seed agree
with the formulas: M/M/3 P(wait) 0.6479 +- 0.0021 vs 0.6472, Wq 5.43 +- 0.08 vs 5.39
minutes; M/D/1 Wq 10.02 +- 0.09 vs 10.00 minutes (99% CIs). Each replication carries about 20,000 customers after a 2-day warm-up
(the M/M/c relaxation time is well under an hour at rho = 0.8).
"""

from __future__ import annotations

import numpy as np
import pytest

from experiments import theory_check
from experiments.stats import mean_ci
from experiments.theory_check import case_mdc, case_mg1
from sim.model.shop import simulate
from sim.model.streams import replication_seed
from sim.scenario.loader import load_scenario
from sim.theory import md1, mdc, mg1_cv, mmc

QUEUE = "scenarios/classroom_queue.yaml"
MASTER = 2024
REPLICATIONS = 20
PICK_SECONDS = 300.0  # mean pick time in classroom_queue.yaml
MU = 86_400.0 / PICK_SECONDS  # picks per picker per day (288)
RHO = 0.8
WARMUP = 2


def queue_scenario(pickers: int, horizon_days: int, *extra: str):
    arrival_rate = RHO * pickers * MU  # orders per day
    return load_scenario(
        QUEUE,
        [
            f"warehouses[0].picking.pickers={pickers}",
            f"demand.base_orders_per_day={arrival_rate!r}",
            f"horizon_days={horizon_days}",
            f"warmup_days={WARMUP}",
            *extra,
        ],
    )


def replicate(scenario, n: int = REPLICATIONS, **kwargs):
    return [simulate(scenario, seed=replication_seed(MASTER, r), **kwargs) for r in range(n)]


LEVEL = 0.999  # per check; about twenty interval checks run together (Bonferroni)


def ci(results, kpi: str):
    return mean_ci([res.kpis[kpi] for res in results], level=LEVEL)


def test_classroom_queue_is_the_mm3_queue_its_comment_states():
    """The shipped teaching scenario really is M/M/3 at rho = 0.8 with the stated answers."""
    s = load_scenario(QUEUE)
    p = s.warehouses[0].picking
    arrival_rate = s.demand.base_orders_per_day
    assert p.pickers == 3 and p.release == "discrete" and p.packing_stations is None
    assert p.pick_time_seconds.mean == PICK_SECONDS and s.warehouses[0].cutoff_hours == []
    assert arrival_rate / (p.pickers * MU) == pytest.approx(RHO)
    exact = mmc(3, arrival_rate, MU)
    assert exact.prob_wait == pytest.approx(0.6472, abs=1e-4)
    assert exact.mean_wait * 1440 == pytest.approx(5.39, abs=0.01)


# horizon (days) per c, so every replication holds about 20,000 customers
MMC_HORIZON = {1: 110, 3: 37, 5: 23}


@pytest.mark.slow
@pytest.mark.parametrize("pickers", [1, 3, 5])
def test_mmc_picking_matches_erlang_c(pickers):
    scenario = queue_scenario(pickers, MMC_HORIZON[pickers])
    results = replicate(scenario)
    exact = mmc(pickers, scenario.demand.base_orders_per_day, MU)  # rates per day: Wq in days

    assert min(res.kpis["orders"] for res in results) > 18_000  # enough customers to mean something
    prob_wait = ci(results, "prob_pick_wait")
    assert prob_wait.contains(exact.prob_wait), f"P(wait) {prob_wait} vs Erlang C {exact.prob_wait:.4f}"
    wait = ci(results, "mean_pick_wait_minutes")
    assert wait.contains(exact.mean_wait * 1440), f"Wq {wait} vs Erlang C {exact.mean_wait * 1440:.3f} min"
    # Lq = lambda Wq, measured independently as the time-average pick queue
    queue = ci(results, "pick_queue_mean")
    assert queue.contains(exact.mean_in_queue), f"Lq {queue} vs {exact.mean_in_queue:.3f}"
    # teeth: the same queue with 5% more orders has answers outside these intervals
    busier = mmc(pickers, 1.05 * scenario.demand.base_orders_per_day, MU)
    assert not prob_wait.contains(busier.prob_wait) and not wait.contains(busier.mean_wait * 1440)
    utilization = ci(results, "picker_utilization")
    assert utilization.contains(RHO), f"utilization {utilization} vs {RHO}"


@pytest.mark.slow
def test_deterministic_pick_times_match_md1_pollaczek_khinchine():
    scenario = queue_scenario(1, 110, f"warehouses[0].picking.pick_time_seconds={PICK_SECONDS}")
    assert scenario.warehouses[0].picking.pick_time_seconds.variance == 0
    results = replicate(scenario)
    exact = md1(scenario.demand.base_orders_per_day, 1.0 / MU)  # Wq in days

    wait = ci(results, "mean_pick_wait_minutes")
    assert wait.contains(exact.mean_wait * 1440), f"Wq {wait} vs M/D/1 {exact.mean_wait * 1440:.3f} min"
    # half the M/M/1 wait: the interval must exclude the exponential answer, so it can tell them apart
    assert not wait.contains(mmc(1, scenario.demand.base_orders_per_day, MU).mean_wait * 1440)
    # single server: P(wait) = rho whatever the service distribution (PASTA)
    assert ci(results, "prob_pick_wait").contains(RHO)


# The check-theory default: 30 replications. They share a quarter of the command's 2.02e6 customers:
# 0.5e6 (about 4 s a case instead of 16 s on an idle core; minutes in a loaded CI run). Measured with
# these seeds, 99% half-widths at 0.5e6 (at 2.02e6): M/D/2 P(wait) 0.86% (0.32%), Wq 2.9% (1.6%),
# Lq 3.3% (1.7%); M/G/1 Wq 3.5% (2.3%), Lq 3.9% (2.5%): still narrow enough for every tooth below.
CHECK_REPLICATIONS = 30
CHECK_CUSTOMERS = 500_000
TOO_HIGH = 1.1  # the formula's value x 1.1 is a nearby wrong answer every interval must exclude


@pytest.fixture
def quarter_size(monkeypatch):
    """The exact-queue cases of ``check-theory`` on CHECK_CUSTOMERS customers (the command keeps 2.02e6)."""
    monkeypatch.setattr(theory_check, "LONG_CUSTOMERS", CHECK_CUSTOMERS)


def customers_in(case_label: str) -> float:
    """The customers a check-theory case label reports, e.g. 'M/D/2 picking, Crommelin (2.02M)' -> 2.02e6."""
    return float(case_label.rsplit("(", 1)[1].rstrip("M)")) * 1e6


@pytest.mark.slow
def test_md2_picking_matches_crommelins_exact_mdc(quarter_size):
    """Two pickers, constant 5-minute picks, rho = 0.8: P(wait), Wq and Lq inside their 99% intervals.

    Teeth: the same capacity as one picker twice as fast (M/D/1, 11% longer waits) and exponential
    picks (M/M/2: Erlang C, 1.3% more waiting, twice the wait) fall outside the intervals, and so
    does every formula value x 1.1.
    """
    p_wait, wait, queue = case_mdc(CHECK_REPLICATIONS)
    assert customers_in(wait.case) >= 0.99 * CHECK_CUSTOMERS
    for row in (p_wait, wait, queue):
        assert row.agrees, f"{row.measure}: {row.formula:.4g} outside [{row.ci_low:.4g}, {row.ci_high:.4g}]"
        assert not row.ci_low <= TOO_HIGH * row.formula <= row.ci_high, f"{row.measure}: CI too wide"
    lam = 0.8 * 2 * MU
    assert wait.formula == pytest.approx(mdc(2, lam, 1 / MU).mean_wait * 1440)
    pooled = md1(lam, 1 / (2 * MU)).mean_wait * 1440
    erlang = mmc(2, lam, MU)
    for wrong in (pooled, erlang.mean_wait * 1440):
        assert not wait.ci_low <= wrong <= wait.ci_high, f"Wq [{wait.ci_low:.4g}, {wait.ci_high:.4g}] holds {wrong:.4g}"
    assert not p_wait.ci_low <= erlang.prob_wait <= p_wait.ci_high  # Erlang C is 1.3% higher
    assert not queue.ci_low <= erlang.mean_in_queue <= queue.ci_high


@pytest.mark.slow
def test_lognormal_picking_matches_pollaczek_khinchine(quarter_size):
    """One picker, lognormal picks (mean 5 minutes, cv 0.5), rho = 0.8: Wq = 12.5 min, P(wait) = rho, Lq = 2.

    Teeth: P-K with cv 0.6 (9% longer waits, 0.18 more jobs queued) and exponential picks (M/M/1,
    20 min) fall outside the intervals, and so does every formula value x 1.1.
    """
    p_wait, wait, queue = case_mg1(CHECK_REPLICATIONS)
    assert customers_in(wait.case) >= 0.99 * CHECK_CUSTOMERS
    for row in (p_wait, wait, queue):
        assert row.agrees, f"{row.measure}: {row.formula:.4g} outside [{row.ci_low:.4g}, {row.ci_high:.4g}]"
        assert not row.ci_low <= TOO_HIGH * row.formula <= row.ci_high, f"{row.measure}: CI too wide"
    assert wait.formula == pytest.approx(12.5) and queue.formula == pytest.approx(2.0)
    assert p_wait.formula == pytest.approx(0.8)
    for wrong in (mg1_cv(0.8 * MU, 1 / MU, 0.6).mean_wait, mmc(1, 0.8 * MU, MU).mean_wait):
        assert not wait.ci_low <= wrong * 1440 <= wait.ci_high, f"Wq [{wait.ci_low:.4g}, {wait.ci_high:.4g}]"
    assert not queue.ci_low <= mg1_cv(0.8 * MU, 1 / MU, 0.6).mean_in_queue <= queue.ci_high


def time_average_count(enter: np.ndarray, leave: np.ndarray, t0: float, t1: float) -> float:
    """Time-average of N(t) = #{enter <= t < leave} over [t0, t1], integrating the step function."""
    times = np.concatenate([enter, leave])
    steps = np.concatenate([np.ones(len(enter)), -np.ones(len(leave))])
    order = np.argsort(times, kind="stable")
    times, steps = times[order], steps[order]
    count = np.cumsum(steps)  # N just after each event
    n_at_t0 = np.count_nonzero(enter <= t0) - np.count_nonzero(leave <= t0)
    inside = (times > t0) & (times < t1)
    edges = np.concatenate([[t0], times[inside], [t1]])
    levels = np.concatenate([[n_at_t0], count[inside]])
    return float(np.sum(levels * np.diff(edges)) / (t1 - t0))


def test_time_average_count_integrates_the_step_function():
    # one job in [1, 3), one in [2, 5): over [0, 4] the area is 2 + 2 = 4 -> average 1
    assert time_average_count(np.array([1.0, 2.0]), np.array([3.0, 5.0]), 0.0, 4.0) == pytest.approx(1.0)
    # over [2.5, 4]: two jobs for 0.5 day, one for 1 day -> 2 / 1.5
    assert time_average_count(np.array([1.0, 2.0]), np.array([3.0, 5.0]), 2.5, 4.0) == pytest.approx(2 / 1.5)


@pytest.mark.parametrize("pickers", [1, 3])
def test_littles_law_holds_on_the_simulated_warehouse(pickers):
    """L = lambda W within 1% on the records of one run (M/M/c, no packing: in the warehouse = release to ready)."""
    horizon = 60
    result = simulate(queue_scenario(pickers, horizon), seed=replication_seed(MASTER, 99))
    shp = result.shipments
    release, ready = shp["release"], shp["ready"]
    assert np.all(np.isfinite(release))
    t0, t1 = 5.0, horizon - 5.0
    done = np.where(np.isnan(ready), np.inf, ready)  # still in the warehouse at the end
    L = time_average_count(release, done, t0, t1)
    arrived = (release >= t0) & (release < t1)
    lam = np.count_nonzero(arrived) / (t1 - t0)
    W = float(np.mean(done[arrived] - release[arrived]))
    assert np.isfinite(W) and lam * (t1 - t0) > 10_000
    assert pytest.approx(lam * W, rel=0.01) == L
    # and it is a real queue, not an empty warehouse: about L = lambda/mu + Lq of M/M/c
    assert RHO * pickers < L

    # the KPIs obey Little's law too: time-average pick queue = order rate x mean pick wait
    days = horizon - WARMUP
    k = result.kpis
    assert k["pick_queue_mean"] == pytest.approx(k["orders"] / days * k["mean_pick_wait_minutes"] / 1440, rel=0.01)
