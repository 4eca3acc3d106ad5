"""One long replication and batch-means confidence intervals: ``run.py simulate FILE --long-run DAYS``.

Instead of many short replications, run one long one, cut the days after the warm-up into K
non-overlapping batches of m days and treat the K batch estimates as nearly independent
(Law, Simulation Modeling and Analysis, 5th ed., section 9.5.3; Alexopoulos & Seila 1998).
A KPI that is a mean per order (wait, fill rate) is a ratio: with Y_j the batch's sum and X_j
its count, the estimate is R = sum Y_j / sum X_j and its standard error comes from the
residuals e_j = Y_j - R X_j (the ratio estimator; per-day KPIs have X_j = m):

    s^2 = sum e_j^2 / (K - 1),   half-width = t_{K-1, 1 - alpha/2} * s / (sqrt(K) * mean(X_j)).

The batches must be long enough for their means to be nearly uncorrelated: the lag-1
autocorrelation r1 of the batch estimates is reported, and r1 > 2 / sqrt(K) (significantly
positive at about 5%) means fewer, longer batches (or a longer run).

>>> import numpy as np
>>> bm = batch_means(np.random.default_rng(3).normal(10, 2, 400), batches=20)
>>> round(bm.mean, 2), round(bm.half_width, 2), bm.ok
(10.07, 0.22, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from experiments.runner import Task, run_outputs
from experiments.spec import Point
from experiments.stats import t_quantile
from sim.model.shop import simulate
from sim.scenario.loader import scenario_hash
from sim.scenario.schema import warmup_days_of

__all__ = ["LONG_RUN_KPIS", "BatchMeans", "LongRunRow", "batch_means", "daily_series", "long_run", "long_run_daily"]

#: KPI -> (numerator column, denominator column or None for a mean per day, scale) of the daily
#: series ``long_run_daily`` gives; the ratio of their sums over the post-warm-up days is the KPI.
LONG_RUN_KPIS: dict[str, tuple[str, str | None, float]] = {
    "mean_pick_wait_minutes": ("pick_wait_days", "picks_released", 1440.0),
    "prob_pick_wait": ("picks_waited", "picks_released", 1.0),
    "picker_utilization": ("picker_busy_days", "scheduled_picker_days", 1.0),
    "pick_queue_mean": ("pick_queue_mean", None, 1.0),
    "unit_fill_rate": ("units_filled_now", "units_demanded", 1.0),
    "on_time_rate": ("delivered_on_time", "orders_due", 1.0),
    "avg_on_hand_units": ("on_hand_units", None, 1.0),
    "avg_backorder_units": ("backorder_unit_days", None, 1.0),
}


@dataclass(frozen=True)
class BatchMeans:
    """A batch-means interval: the estimate, its half-width at ``level``, the K batch estimates,
    their lag-1 autocorrelation r1 and whether r1 stays below 2 / sqrt(K) (``ok``)."""

    mean: float
    half_width: float
    level: float
    batch_days: int
    estimates: tuple[float, ...]
    lag1: float

    @property
    def batches(self) -> int:
        """K, the number of batches."""
        return len(self.estimates)

    @property
    def ok(self) -> bool:
        """r1 <= 2 / sqrt(K): the batch estimates show no significant positive correlation (NaN r1 counts as ok)."""
        return not self.lag1 > 2.0 / math.sqrt(self.batches)


def _lag1(b: np.ndarray) -> float:
    """Lag-1 autocorrelation sum (b_j - bbar)(b_{j+1} - bbar) / sum (b_j - bbar)^2; NaN when b is constant."""
    dev = b - b.mean()
    den = float((dev**2).sum())
    return float((dev[:-1] * dev[1:]).sum() / den) if den > 0 else float("nan")


def batch_means(numerator, denominator=None, batches: int = 20, level: float = 0.95) -> BatchMeans:
    """Batch-means interval of sum(numerator) / sum(denominator) (per day: ``denominator`` None).

    The days are cut into ``batches`` = K batches of m = len // K days (the first len mod K days
    dropped, next to the warm-up). Ratio estimator R = sum Y / sum X with half-width
    t_{K-1} s / (sqrt K mean X), s^2 = sum (Y_j - R X_j)^2 / (K - 1); lag-1 autocorrelation of
    the batch ratios Y_j / X_j. Raises ValueError for K < 2 or fewer days than batches.

    >>> bm = batch_means([2.0, 0.0, 4.0, 2.0], [1, 1, 2, 0], batches=2)
    >>> bm.mean, bm.estimates
    (2.0, (1.0, 3.0))
    """
    y = np.asarray(numerator, dtype=float)
    x = np.ones_like(y) if denominator is None else np.asarray(denominator, dtype=float)
    if batches < 2:
        raise ValueError(f"batches must be >= 2, got {batches}")
    m = len(y) // batches
    if m < 1:
        raise ValueError(f"{len(y)} days cannot make {batches} batches")
    cut = len(y) - m * batches
    Y = y[cut:].reshape(batches, m).sum(axis=1)
    X = x[cut:].reshape(batches, m).sum(axis=1)
    if not (X > 0).all():
        nan = float("nan")
        return BatchMeans(nan, nan, level, m, tuple(nan for _ in Y), nan)
    R = float(Y.sum() / X.sum())
    s = math.sqrt(float(((Y - R * X) ** 2).sum()) / (batches - 1))
    hw = t_quantile(0.5 + level / 2, batches - 1) * s / (math.sqrt(batches) * float(X.mean()))
    ratios = Y / X
    return BatchMeans(R, hw, level, m, tuple(float(v) for v in ratios), _lag1(ratios))


def daily_series(scenario, result) -> dict[str, np.ndarray]:
    """The daily columns ``LONG_RUN_KPIS`` needs from one replication's ``result``, with the pick waits
    (days) of the shipments released each day (``pick_wait_days``), their count (``picks_released``)
    and how many waited (``picks_waited``): the sums behind ``mean_pick_wait_minutes``."""
    H = scenario.horizon_days
    shp = result.shipments
    done = (shp["pick_start"] <= H) & np.isfinite(shp["release"])
    day = np.floor(shp["release"][done]).astype(int)
    wait = shp["pick_start"][done] - shp["release"][done]
    cols = {c for num, den, _ in LONG_RUN_KPIS.values() for c in (num, den) if c is not None}
    daily = {c: result.daily[c].to_numpy(float) for c in cols if c in result.daily}
    daily["pick_wait_days"] = np.bincount(day, weights=wait, minlength=H)[:H]
    daily["picks_released"] = np.bincount(day, minlength=H)[:H].astype(float)
    daily["picks_waited"] = np.bincount(day, weights=(wait > 1e-12).astype(float), minlength=H)[:H]
    return daily


def long_run_daily(scenario, seed: int, daily_columns=None) -> dict:
    """One replication as the batch runner's job: ``daily_series`` of it as ``daily``. Never raises."""
    try:
        res = simulate(scenario, seed)
        return {"status": "ok", "kpis": res.kpis, "daily": daily_series(scenario, res), "error": ""}
    except Exception as exc:  # the runner's contract: errors come back as data
        return {"status": "failed", "kpis": {}, "daily": {}, "error": f"{exc.__class__.__name__}: {exc}"}


@dataclass(frozen=True)
class LongRunRow:
    """One KPI of a long run: its name and batch-means interval."""

    kpi: str
    interval: BatchMeans


def long_run(scenario, seed: int, batches: int = 20, level: float = 0.95, quiet: bool = True) -> list[LongRunRow]:
    """Simulate one replication of ``scenario`` (its warm-up an int; the horizon the warm-up plus the
    long run) through the batch runner and give a batch-means interval per ``LONG_RUN_KPIS`` entry,
    over the days after the warm-up. KPIs whose denominator is 0 in some batch are left out.
    Raises RuntimeError when the replication fails."""
    w = warmup_days_of(scenario)
    task = Task(Point(scenario.name, scenario, {}, scenario_hash(scenario)), 0, seed)
    (out,), _ = run_outputs([task], None, "serial", job=long_run_daily, quiet=quiet, desc="long run", unit="run")
    if out["status"] != "ok":
        raise RuntimeError(f"the long run (seed {seed}) failed: {out['error']}")
    d = out["daily"]
    rows = []
    for name, (num, den, scale) in LONG_RUN_KPIS.items():
        if num not in d or (den is not None and den not in d):
            continue
        bm = batch_means(d[num][w:] * scale, None if den is None else d[den][w:], batches, level)
        if math.isfinite(bm.mean):
            rows.append(LongRunRow(name, bm))
    return rows
