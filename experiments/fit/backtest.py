"""``run.py fit ... --check N``: simulate the fitted scenario's demand N times and hold it against the history.

Each replication plays the fitted scenario's demand exactly as the simulator does
(``sim.model.demand.DemandGenerator`` with the replication's seed, ``sim.model.streams.replication_seed``):
the orders a replication places do not depend on stock or staff, so the backtest needs no
event loop and 20 replications of a year take seconds. Compared, over the days that are not
gaps:

* **daily orders** — the history against the simulated 2.5-97.5% band of each day; the share of
  days inside (about 95% when the model is right);
* **weekday and monthly profile** — each weekday's (month's) share of the orders;
* **lines per order** — the share of orders with 1, 2, ... 9, 10+ lines;
* **SKU popularity** — the rank-frequency curve (share of lines of the SKU ranked r).

Goodness of fit: for each comparison a distance ``T`` between the history and the mean of the
replications (chi-square distance ``sum (h - e)^2 / e`` for counts, with ``e`` the history's
total spread by the simulated shares; the largest gap between cumulative curves (Kolmogorov)
for the rank-frequency curve; for daily orders ``sum (h - m)^2 / v`` with the simulated mean
``m`` and variance ``v`` of each day). The same distance is computed for every replication
against the mean of the others; the Monte Carlo p-value is ``(1 + #{T_rep >= T_history}) / (N + 1)``
(Davison & Hinkley 1997, ch. 4). A small p (< 0.05) says the history looks unlike the model's
replications in that respect. The parameters were fitted to this history, so p is conservative.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.fit.history import History
from sim.model.catalog import catalog_for
from sim.model.demand import DemandGenerator, demand_plan
from sim.model.streams import replication_seed
from sim.scenario.schema import Scenario

__all__ = ["LINE_BINS", "Backtest", "backtest", "write_backtest"]

LINE_BINS = 10  # lines per order 1..9 and 10+


@dataclass
class Backtest:
    """The history's and the replications' profiles, and one row of statistics per comparison."""

    dates: pd.DatetimeIndex
    gap: np.ndarray
    history_daily: np.ndarray
    sim_daily: np.ndarray  # (N, days)
    profiles: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (history counts, (N, k) simulated counts)
    rank_history: np.ndarray
    rank_sim: np.ndarray  # (N, skus) shares by rank
    table: pd.DataFrame
    replications: int


def _replicate(
    scenario: Scenario, seed: int, n: int, days: int
) -> tuple[np.ndarray, pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """(daily orders, the dates, lines histogram, line counts per SKU) of ``n`` replications."""
    catalog = catalog_for(scenario)
    plan = demand_plan(scenario)
    dates = pd.date_range(scenario.start_date, periods=days, freq="D")
    daily = np.zeros((n, days))
    lines_hist = np.zeros((n, LINE_BINS))
    sku = np.zeros((n, catalog.n))
    for j in range(n):
        gen = DemandGenerator(scenario, catalog, plan, replication_seed(seed, j))
        for d in range(days):
            o = gen.draw_day(d)
            daily[j, d] = o.n
            lines = np.minimum(np.diff(o.line_start), LINE_BINS)
            lines_hist[j] += np.bincount(lines - 1, minlength=LINE_BINS)
            sku[j] += np.bincount(o.line_sku, minlength=catalog.n)
    return daily, dates, lines_hist, sku


def _by(dates: pd.DatetimeIndex, daily: np.ndarray, ok: np.ndarray, key: str) -> np.ndarray:
    idx = (dates.day_of_week if key == "weekday" else dates.month - 1).to_numpy()
    k = 7 if key == "weekday" else 12
    return np.array([np.bincount(idx[ok], weights=row[ok], minlength=k) for row in np.atleast_2d(daily)])


def _chi2_distance(h: np.ndarray, shares: np.ndarray) -> float:
    e = h.sum() * shares
    keep = e > 0
    return float(np.sum((h[keep] - e[keep]) ** 2 / e[keep]))


def _mc_p(t_hist: float, t_reps: np.ndarray) -> float:
    return float((1 + np.sum(t_reps >= t_hist)) / (len(t_reps) + 1))


def _leave_one_out(sim: np.ndarray, stat) -> np.ndarray:
    """``stat(row, mean of the other rows)`` for every replication."""
    n = len(sim)
    total = sim.sum(axis=0)
    return np.array([stat(sim[j], (total - sim[j]) / (n - 1)) for j in range(n)])


def _profile_row(name: str, h: np.ndarray, sim: np.ndarray) -> dict:
    share = lambda x: x / x.sum() if x.sum() else x  # noqa: E731
    mean_share = share(sim.sum(axis=0))
    t_h = _chi2_distance(h, mean_share)
    t_r = _leave_one_out(sim, lambda row, rest: _chi2_distance(row, share(rest)))
    return {
        "comparison": name,
        "statistic": "chi-square distance",
        "history": t_h,
        "replications (median)": float(np.median(t_r)),
        "Monte Carlo p": _mc_p(t_h, t_r),
    }


def backtest(history: History, scenario: Scenario, replications: int, seed: int) -> Backtest:
    """Play the fitted scenario's demand ``replications`` times and compare it with ``history``."""
    days = len(history.days)
    ok = ~history.days["gap"].to_numpy(bool)
    daily, dates, lines_hist, sku = _replicate(scenario, seed, replications, days)
    h_daily = history.days["orders"].to_numpy(float)
    lo, hi = np.quantile(daily, [0.025, 0.975], axis=0)
    inside = float(np.mean((h_daily[ok] >= lo[ok]) & (h_daily[ok] <= hi[ok])))
    m, v = daily.mean(axis=0), np.maximum(daily.var(axis=0, ddof=1), 1.0)
    t_h = float(np.sum((h_daily[ok] - m[ok]) ** 2 / v[ok]))
    t_r = _leave_one_out(daily[:, ok], lambda row, rest: float(np.sum((row - rest) ** 2 / v[ok])))
    rows = [
        {
            "comparison": "daily orders",
            "statistic": f"sum (h-m)²/v; {inside:.1%} of days in the 95% band",
            "history": t_h,
            "replications (median)": float(np.median(t_r)),
            "Monte Carlo p": _mc_p(t_h, t_r),
        }
    ]
    h_lines = np.bincount(np.minimum(history.orders["lines"].to_numpy(), LINE_BINS) - 1, minlength=LINE_BINS)
    profiles = {
        "weekday profile": (_by(dates, h_daily, ok, "weekday")[0], _by(dates, daily, ok, "weekday")),
        "monthly profile": (_by(dates, h_daily, ok, "month")[0], _by(dates, daily, ok, "month")),
        "lines per order": (h_lines.astype(float), lines_hist),
    }
    rows += [_profile_row(name, h, s) for name, (h, s) in profiles.items()]
    rank_h, rank_s, row = _rank_frequency(history, sku)
    rows.append(row)
    return Backtest(dates, ~ok, h_daily, daily, profiles, rank_h, rank_s, pd.DataFrame(rows), replications)


def _rank_frequency(history: History, sku: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """Shares of lines by rank (history, each replication) and the Kolmogorov distance's test row."""
    h = np.sort(history.lines.groupby("sku").size().to_numpy(float))[::-1]
    k = max(len(h), sku.shape[1])
    h = np.pad(h, (0, k - len(h))) / h.sum()
    s = -np.sort(-np.pad(sku, ((0, 0), (0, k - sku.shape[1]))), axis=1)
    s = s / s.sum(axis=1, keepdims=True)
    ks = lambda a, b: float(np.max(np.abs(np.cumsum(a) - np.cumsum(b))))  # noqa: E731
    t_h = ks(h, s.mean(axis=0))
    t_r = _leave_one_out(s, ks)
    row = {
        "comparison": "SKU popularity (rank-frequency)",
        "statistic": "largest gap of cumulative shares",
        "history": t_h,
        "replications (median)": float(np.median(t_r)),
        "Monte Carlo p": _mc_p(t_h, t_r),
    }
    return h, s, row


def write_backtest(bt: Backtest, out_dir: Path, title: str, intro: list[str], appendix: dict[str, str]) -> Path:
    """Plots and the report (``report.md`` and ``report.html``) in ``out_dir``; returns the HTML path."""
    from experiments.fit.backtest_plots import backtest_plots
    from experiments.report import write_document

    plots = backtest_plots(bt, out_dir)
    table = bt.table.copy()
    table["verdict"] = np.where(table["Monte Carlo p"] < 0.05, "differs (p < 0.05)", "consistent")
    note = (
        f"Monte Carlo p-value over {bt.replications} replications: (1 + #replications at least as far from the "
        "others' mean as the history) / (N + 1). See docs/fit.md."
    )
    _, html_path = write_document(out_dir, title, intro, [("Goodness of fit", note, table)], plots, appendix)
    return html_path
