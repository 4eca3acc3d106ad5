"""Forecast-driven replenishment: each pair's demand forecast from what the run has seen so far.

With ``inventory.forecast`` set, the simulator records the units demanded per
(warehouse, SKU) pair k = w * n_sku + i and day (what the inventory saw: backordered
and lost units included) and, from day ``history_days`` on and then every
``refit_every_days``, forecasts every pair's mean daily demand mu_k over its
protection interval T_k = E[L] (+ R) and the variance sigma_k^2 of its daily demand
around the forecast. ``sim.model.policy.derived_levels`` turns them into (s, Q, S) with
the same normal approximation as the opening plan; written numbers still win.

Methods (Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., ch. 8;
y_{k,t} the pair's units on day t of the window of the last n = history_days days):

* ``moving_average``: mu_k = mean_t y_{k,t}; sigma_k^2 = sample variance of y_{k,t} (ddof 1).
* ``exponential_smoothing`` (SES): level l_t = alpha y_t + (1 - alpha) l_{t-1} over the window,
  l_0 = mean of its first min(7, n) days; mu_k = l_n; sigma_k^2 = mean squared one-step error
  (y_t - l_{t-1})^2 (FPP3 8.1).
* ``seasonal``: Holt-Winters (additive trend; multiplicative season of ``season_days`` when the
  warehouse total is positive every day, else additive; statsmodels ``ExponentialSmoothing``,
  parameters estimated) on each warehouse's total Y_{w,t}, top-down: pair k gets its share
  p_k = sum_t y_{k,t} / sum_t Y_{w,t}; mu_k = p_k x (sum of the forecast path over T_k) / T_k;
  sigma_k^2 = sum_t (y_{k,t} - p_k Yhat_{w,t})^2 / (n - 1), Yhat the fitted values. A fit that fails
  or gives a non-finite path falls back to the moving average of that warehouse.

Forecast error: at each refit the forecast made at the previous refit for the days since
then, F_k (mu_k x days; for ``seasonal`` p_k x the path's sum over those days), is compared
with the realized A_k. Per group (all pairs, ABC class A, B, C) the refit records
sum |F - A| / A and the count over pairs with A > 0 (MAPE) and sum (F - A), sum A (bias);
``sim.metrics`` pools them over the refits whose interval ends in the KPI span.

Cost: nothing when ``forecast`` is off. When on, one O(pairs) numpy pass per day (the day's
demand from the inventory's running totals) and per refit; the seasonal method makes one
statsmodels fit per warehouse per refit.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from sim.model.catalog import CatalogArrays
from sim.model.policy import protection_interval_days
from sim.scenario.schema import Scenario

#: The groups of the forecast-error records, in order: all pairs, then ABC classes.
ERROR_GROUPS = ("all", "A", "B", "C")
#: The statistics of a group per refit, in order.
ERROR_STATS = ("ape_sum", "ape_pairs", "error_sum", "actual_sum")


@dataclass
class ForecastErrors:
    """The forecast-error records of a run: per refit, the last day of the interval it evaluated and a
    (groups, stats) array (``ERROR_GROUPS`` x ``ERROR_STATS``)."""

    day: list[int] = field(default_factory=list)
    stats: list[np.ndarray] = field(default_factory=list)

    def over(self, a: int, b: int) -> np.ndarray:
        """The (groups, stats) sums over the refits whose interval ends in days [a, b)."""
        keep = [s for d, s in zip(self.day, self.stats) if a <= d < b]
        return np.sum(keep, axis=0) if keep else np.zeros((len(ERROR_GROUPS), len(ERROR_STATS)))


def error_stats(forecast: np.ndarray, actual: np.ndarray, group: np.ndarray) -> np.ndarray:
    """(groups, stats) of one interval: per group sum |F - A| / A and count over A > 0, sum (F - A), sum A.

    >>> error_stats(np.array([2.0, 1.0, 3.0]), np.array([1.0, 0.0, 4.0]), np.array([0, 1, 0]))[0].tolist()
    [1.25, 2.0, 1.0, 5.0]
    """
    pos = actual > 0
    ape = np.where(pos, np.abs(forecast - actual) / np.where(pos, actual, 1.0), 0.0)
    per_pair = np.stack([ape, pos.astype(float), forecast - actual, actual], axis=1)
    out = np.zeros((len(ERROR_GROUPS), len(ERROR_STATS)))
    out[0] = per_pair.sum(axis=0)
    for g in range(1, len(ERROR_GROUPS)):
        out[g] = per_pair[group == g - 1].sum(axis=0)
    return out


def moving_average(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, sample variance) per column of the window ``y`` (days x pairs).

    >>> [v.tolist() for v in moving_average(np.array([[1.0, 0.0], [3.0, 0.0]]))]
    [[2.0, 0.0], [2.0, 0.0]]
    """
    n = len(y)
    return y.mean(axis=0), (y.var(axis=0, ddof=1) if n > 1 else np.zeros(y.shape[1]))


def simple_exponential_smoothing(y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(final level, mean squared one-step error) per column of ``y`` (days x pairs), vectorized over pairs.

    l_t = alpha y_t + (1 - alpha) l_{t-1}, l_0 = the mean of the first min(7, n) days (FPP3 8.1).

    >>> [v.tolist() for v in simple_exponential_smoothing(np.array([[2.0], [4.0]]), 0.5)]
    [[3.25], [1.625]]
    """
    level = y[: min(7, len(y))].mean(axis=0)
    sq = np.zeros(y.shape[1])
    for row in y:  # days of the window (<= history_days), each one numpy pass over all pairs
        err = row - level
        sq += err * err
        level = level + alpha * err
    return level, sq / len(y)


def holt_winters(total: np.ndarray, season_days: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(fitted values, forecast path of ``steps`` days) of one daily series by Holt-Winters.

    Additive trend; multiplicative season when every day is positive, else additive
    (statsmodels ``ExponentialSmoothing``, initial states and parameters estimated by SLSQP without the brute-force
    start search: ~10x cheaper, same fit on weekly data). Falls back to the flat mean
    when the fit fails or its path is not finite.
    """
    mean = float(total.mean())
    flat = np.full(len(total), mean), np.full(steps, mean)
    if mean <= 0 or len(total) < 2 * season_days:
        return flat
    seasonal = "mul" if np.all(total > 0) else "add"
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            fit = ExponentialSmoothing(
                total, trend="add", seasonal=seasonal, seasonal_periods=season_days, initialization_method="estimated"
            ).fit(method="SLSQP", use_brute=False)
            fitted, path = np.asarray(fit.fittedvalues, float), np.asarray(fit.forecast(steps), float)
    except (ValueError, ZeroDivisionError, FloatingPointError, np.linalg.LinAlgError):
        return flat
    if not (np.all(np.isfinite(fitted)) and np.all(np.isfinite(path))):
        return flat
    return fitted, np.maximum(path, 0.0)


class DemandForecaster:
    """Observed demand per pair and day (a ring buffer of ``history_days`` rows) and the refits."""

    def __init__(self, scenario: Scenario, catalog: CatalogArrays):
        cfg = scenario.inventory.forecast
        assert cfg is not None, "DemandForecaster needs inventory.forecast"
        self.cfg = cfg
        self.W, self.n_sku = len(scenario.warehouses), catalog.n
        K = self.W * self.n_sku
        self.window = np.zeros((cfg.history_days, K))
        self.seen = 0  # days observed
        self._cum = np.zeros(K)  # units demanded per pair up to the last day's close
        self._cum_at_refit = np.zeros(K)
        self._next: np.ndarray | None = None  # forecast of the units per pair until the next refit
        self.T, _ = protection_interval_days(scenario, catalog)
        self.group = np.tile(np.searchsorted(np.array(["A", "B", "C"]), catalog.abc), self.W)
        self.errors = ForecastErrors()

    def observe(self, demanded: list[float]) -> None:
        """The day's close: store the day's units per pair (from the inventory's running totals)."""
        cum = np.asarray(demanded, dtype=float)
        self.window[self.seen % len(self.window)] = cum - self._cum
        self._cum = cum
        self.seen += 1

    def due(self, d: int) -> bool:
        """Whether day d begins with a refit: day history_days, then every refit_every_days."""
        first = self.cfg.history_days
        return d >= first and (d - first) % self.cfg.refit_every_days == 0

    def history(self) -> np.ndarray:
        """The observed days of the window, oldest first (days x pairs)."""
        n = min(self.seen, len(self.window))
        rows = np.roll(self.window, -(self.seen % len(self.window)), axis=0)
        return rows[len(rows) - n :]

    def refit(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """At the start of day d: record the last forecast's error, then (mu, sigma^2) per pair."""
        if self._next is not None:
            actual = self._cum - self._cum_at_refit
            self.errors.day.append(d - 1)
            self.errors.stats.append(error_stats(self._next, actual, self.group))
        y = self.history()
        m = self.cfg.method
        if m == "seasonal":
            mu, var, self._next = self._seasonal(y)
        else:
            mu, var = moving_average(y) if m == "moving_average" else simple_exponential_smoothing(y, self.cfg.alpha)
            self._next = mu * self.cfg.refit_every_days
        self._cum_at_refit = self._cum.copy()
        return np.maximum(mu, 0.0), var

    def _seasonal(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mu, sigma^2, forecast until the next refit) per pair, top-down from each warehouse's Holt-Winters."""
        n, W, N = len(y), self.W, self.n_sku
        yw = y.reshape(n, W, N)
        totals = yw.sum(axis=2)  # (days, warehouses)
        share = yw.sum(axis=0) / np.maximum(totals.sum(axis=0), 1e-12)[:, None]  # (W, N)
        T = self.T.reshape(W, N)
        steps = max(int(np.ceil(T.max())), self.cfg.refit_every_days, 1)
        mu, var, nxt = np.zeros((W, N)), np.zeros((W, N)), np.zeros((W, N))
        for w in range(W):  # one fit per warehouse
            fitted, path = holt_winters(totals[:, w], self.cfg.season_days, steps)
            cum = np.concatenate([[0.0], np.cumsum(path)])
            over_T = np.interp(T[w], np.arange(steps + 1), cum)
            rate = np.where(T[w] > 0, over_T / np.where(T[w] > 0, T[w], 1.0), path[0])
            mu[w] = share[w] * rate
            resid = yw[:, w, :] - fitted[:, None] * share[w][None, :]
            var[w] = (resid**2).sum(axis=0) / max(n - 1, 1)
            nxt[w] = share[w] * cum[self.cfg.refit_every_days]
        return mu.ravel(), var.ravel(), nxt.ravel()
