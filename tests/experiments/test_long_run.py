"""Batch means for one long run (``run.py simulate --long-run DAYS --batches K``).

* the ratio estimator: sum Y / sum X with the residual standard error, t with K - 1 df;
* the Done-when check: over repeated long runs of an M/M/3 queue, batch-means intervals of the
  mean wait cover the Erlang C value at about their nominal 95%, while the naive iid interval of
  the per-order waits (which ignores that neighbouring orders wait alike) covers it far less often;
* bad arguments give one line and exit 2; a good run prints the table.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats
from test_reference import run_here

from experiments.long_run import batch_means, daily_series
from experiments.stats import mean_ci
from sim import load_scenario, simulate
from sim.theory import mmc

# classroom_queue.yaml (M/M/3, rho = 0.8) on a time scale ten times slower: 2.88 orders an hour,
# 50-minute picks. Erlang C is unchanged but the mean wait is 53.9 minutes, and the queue forgets
# its past over about a day instead of hours, so neighbouring days are correlated (as in a real
# warehouse) while a day costs a tenth of the orders.
SLOW_QUEUE = ["demand.base_orders_per_day=69.12", "warehouses[0].picking.pick_time_seconds.mean=3000"]


def test_batch_means_is_the_ratio_estimator_with_t_on_k_minus_1_df():
    y = np.array([3.0, 1.0, 2.0, 6.0, 5.0, 4.0, 2.0, 2.0])
    x = np.array([1.0, 1.0, 2.0, 2.0, 1.0, 3.0, 1.0, 1.0])
    bm = batch_means(y, x, batches=4)
    Y, X = y.reshape(4, 2).sum(axis=1), x.reshape(4, 2).sum(axis=1)
    R = Y.sum() / X.sum()
    s = math.sqrt(((Y - R * X) ** 2).sum() / 3)
    assert bm.mean == pytest.approx(R)
    assert bm.half_width == pytest.approx(scipy_stats.t.ppf(0.975, 3) * s / (2 * X.mean()))
    assert bm.estimates == pytest.approx(tuple(Y / X)) and bm.batch_days == 2
    with pytest.raises(ValueError):
        batch_means(y, x, batches=1)
    with pytest.raises(ValueError):
        batch_means(y[:3], x[:3], batches=4)


def test_lag1_check_flags_batches_that_are_too_short():
    rng = np.random.default_rng(5)
    walk = np.cumsum(rng.normal(0, 1, 400)) * 0.1 + 10  # strongly correlated: batches never independent
    assert not batch_means(walk, batches=20).ok
    assert batch_means(rng.normal(10, 1, 400), batches=20).ok


def test_batch_means_cover_the_erlang_c_wait_and_the_naive_interval_does_not():
    # 40 long runs of 100 days after a 10-day warm-up, K = 20 batches of 5 days. Coverage of a 95%
    # interval over 40 runs is Binomial(40, 0.95): P(X <= 33) = 0.014, so >= 34 is the test; the naive
    # per-order interval must cover at most 20 of 40 (P(X <= 20 | 0.95) < 1e-15).
    wq = mmc(3, 2.88, 1.2).mean_wait * 60  # 53.9 minutes
    sc = load_scenario("scenarios/classroom_queue.yaml", [*SLOW_QUEUE, "horizon_days=110", "warmup_days=10"])
    batch_cover = naive_cover = 0
    for r in range(40):
        res = simulate(sc, 1000 + r)
        d = daily_series(sc, res)
        bm = batch_means(d["pick_wait_days"][10:] * 1440, d["picks_released"][10:], batches=20)
        batch_cover += abs(bm.mean - wq) <= bm.half_width
        shp = res.shipments
        mine = (shp["release"] >= 10) & (shp["pick_start"] <= 110)
        naive_cover += mean_ci((shp["pick_start"][mine] - shp["release"][mine]) * 1440).contains(wq)
    assert batch_cover >= 34, batch_cover
    assert naive_cover <= 20, naive_cover


def test_long_run_prints_the_batch_means_table(tmp_path):
    sets = [a for s in SLOW_QUEUE for a in ("--set", s)]
    res = run_here(
        "simulate", "scenarios/classroom_queue.yaml", *sets,
        "--long-run", "60", "--batches", "12", "--quiet", "--results", str(tmp_path),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "one long run of 60 days after 5 warm-up days" in res.stdout and "12 batches of 5 days" in res.stdout
    row = next(x for x in res.stdout.splitlines() if "mean_pick_wait_minutes" in x)
    assert "minutes" in row and ("ok" in row.split() or "NO" in row.split())
    assert not list(tmp_path.iterdir())  # prints only


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--long-run", "100", "--batches", "1"], "--batches: must be between 2"),
        (["--long-run", "10", "--batches", "20"], "cannot make 20 batches"),
        (["--long-run", "100", "-n", "5"], "drop --replications"),
        (["--batches", "10"], "--batches needs --long-run"),
    ],
)
def test_bad_long_run_arguments_give_one_line_and_exit_2(extra, needle, tmp_path):
    res = run_here("simulate", "scenarios/classroom_queue.yaml", *extra, "--results", str(tmp_path))
    assert res.returncode == 2
    assert needle in res.stderr and len([x for x in res.stderr.splitlines() if "error" in x]) == 1
    assert not list(tmp_path.iterdir())
