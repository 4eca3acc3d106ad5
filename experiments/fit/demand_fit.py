"""The order rate of a history: base orders per day, weekday and monthly factors, promotion events.

The simulator's rate is ``base x weekday(d) x month(d) x promotion(d)`` (``sim.model.demand``).
Taking logs makes it a Poisson regression (a log-linear GLM) of the daily order counts::

    log E[orders_d] = b0 + w[weekday(d)] + m[month(d)] + sum_e (u_e [d in e] + p_e [d before e] + h_e [d after e])

fitted with statsmodels (quasi-Poisson: standard errors scaled by the Pearson dispersion
phi = X^2 / df, so over-dispersed real data gets honest intervals). Weekday and month effects
use sum-to-zero coding, so the factors written have **geometric mean 1** and ``base`` is the
rate of an ordinary day of geometric-mean weekday and month. (Only the product of base and
factors is identified; the round-trip test normalizes the generating values the same way.)
Months without data get factor 1 and say so.

Promotion events come from a given calendar or are detected as outliers: days whose Pearson
residual exceeds 5 and whose count exceeds 1.3x the fitted rate, refitted without them until
stable (at most 4 rounds); consecutive flagged days form one event. An event's pre-event dip
and hangover are windows of k = 1..14 days before and after it; each is kept only when it lowers
the scaled deviance by more than 10.83 (chi-square, 1 df, p = 0.001), at the best k.
Events repeating on the same month-day are one promotion (``MM-DD``), named after it when
known (``11-11`` double11, ``06-18`` 618, ``12-12`` double12).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm

from experiments.fit.mapping import CalendarEvent

__all__ = ["KNOWN_EVENTS", "DemandFit", "Estimate", "PromotionFit", "fit_demand"]

Z95 = 1.959963984540054
KNOWN_EVENTS = {"11-11": "double11", "06-18": "618", "12-12": "double12", "03-08": "womens_day"}
RESIDUAL_CUT, RATIO_CUT = 5.0, 1.3
WINDOW_MAX = 14
DEVIANCE_CUT = 10.83  # chi-square(1) upper 0.1% point


@dataclass(frozen=True)
class Estimate:
    """A fitted value with its standard error, 95% interval and the rows (days, orders, lines) behind it."""

    value: float
    se: float
    low: float
    high: float
    rows: int
    unit: str = "days"

    @classmethod
    def log_normal(cls, beta: float, se: float, rows: int, unit: str = "days") -> Estimate:
        """exp(beta) with the delta-method SE and the interval exp(beta +- 1.96 se)."""
        return cls(
            float(np.exp(beta)),
            float(np.exp(beta) * se),
            float(np.exp(beta - Z95 * se)),
            float(np.exp(beta + Z95 * se)),
            rows,
            unit,
        )

    def comment(self, digits: int = 3) -> str:
        """``± 0.012 SE, 95% CI [1.01, 1.05], 52 days``."""
        f = f"{{:.{digits}g}}"
        return (
            f"± {f.format(self.se)} SE, 95% CI [{f.format(self.low)}, {f.format(self.high)}], {self.rows:,} {self.unit}"
        )


@dataclass(frozen=True)
class PromotionFit:
    """One promotion: first day, length, uplift, and the pre-event dip and hangover (None: not found)."""

    name: str
    first: dt.date
    days: int
    recurring: str  # MM-DD
    uplift: Estimate
    pre_days: int = 0
    pre_factor: Estimate | None = None
    post_days: int = 0
    post_factor: Estimate | None = None
    detected: bool = True
    occurrences: int = 1


@dataclass(frozen=True)
class DemandFit:
    """The fitted rate: base, 7 weekday factors (Mon..Sun), 12 monthly factors (None: no data), events."""

    base: Estimate
    weekday: list[Estimate]
    monthly: list[Estimate | None]
    promotions: list[PromotionFit]
    dispersion: float
    days: int
    gap_days: int
    expected: np.ndarray = field(repr=False)  # fitted orders per calendar day (gaps included)


@dataclass
class _Window:
    """A 0/1 column of the design: which days an event part covers."""

    key: str
    part: str  # core | pre | post
    mask: np.ndarray


def _deviation(levels: np.ndarray, present: list[int]) -> tuple[np.ndarray, list[int]]:
    """Sum-to-zero columns for the levels present (the last present level is minus the others)."""
    ref = present[-1]
    cols = [(levels == j).astype(float) - (levels == ref).astype(float) for j in present[:-1]]
    return (np.column_stack(cols) if cols else np.zeros((len(levels), 0))), present


def _design(dates: pd.DatetimeIndex, windows: list[_Window]) -> tuple[np.ndarray, dict]:
    wd, mo = dates.day_of_week.to_numpy(), dates.month.to_numpy() - 1
    w_cols, w_lv = _deviation(wd, sorted(set(wd.tolist())))
    m_cols, m_lv = _deviation(mo, sorted(set(mo.tolist())))
    ev = np.column_stack([w.mask.astype(float) for w in windows]) if windows else np.zeros((len(dates), 0))
    X = np.column_stack([np.ones(len(dates)), w_cols, m_cols, ev])
    layout = {
        "weekday": (1, w_lv),
        "month": (1 + w_cols.shape[1], m_lv),
        "events": 1 + w_cols.shape[1] + m_cols.shape[1],
    }
    return X, layout


def _glm(y: np.ndarray, X: np.ndarray):
    """Quasi-Poisson fit (scale = Pearson X^2 / df)."""
    return sm.GLM(y, X, family=sm.families.Poisson()).fit(scale="X2")


def _effects(res, start: int, levels: list[int], rows: np.ndarray) -> dict[int, Estimate]:
    """The factor of each level from sum-to-zero coefficients (the reference level is minus their sum)."""
    k = len(levels) - 1
    b = np.asarray(res.params)[start : start + k]
    cov = np.asarray(res.cov_params())[start : start + k, start : start + k]
    out = {}
    for i, lv in enumerate(levels):
        if i < k:
            beta, var = b[i], cov[i, i]
        else:
            beta, var = -b.sum(), cov.sum()
        out[lv] = Estimate.log_normal(float(beta), float(np.sqrt(max(var, 0.0))), int(rows[lv]))
    return out


def _flag_outliers(y: np.ndarray, dates: pd.DatetimeIndex, ok: np.ndarray) -> np.ndarray:
    """Days far above the weekday x month rate, refitted without them until the flags are stable."""
    flag = np.zeros(len(y), dtype=bool)
    X, _ = _design(dates, [])
    for _ in range(4):
        use = ok & ~flag
        res = _glm(y[use], X[use])
        mu = np.exp(X @ np.asarray(res.params))
        r = (y - mu) / np.sqrt(mu * max(float(res.scale), 1.0))
        new = ok & (r > RESIDUAL_CUT) & (y > RATIO_CUT * mu)
        if np.array_equal(new, flag):
            break
        flag = new
    return flag


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, end exclusive) of every run of True."""
    d = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def _event_cores(y, dates, ok, calendar: list[CalendarEvent]) -> dict[str, list[tuple[int, int]]]:
    """Event key (MM-DD:days) -> its occurrences as (first, end) day positions."""
    out: dict[str, list[tuple[int, int]]] = {}
    if calendar:
        for ev in calendar:
            first = (pd.Timestamp(ev.date) - dates[0]).days
            if first + ev.days > 0 and first < len(dates):
                out.setdefault(f"{ev.name}:{ev.days}", []).append((max(first, 0), min(first + ev.days, len(dates))))
        return out
    for a, b in _runs(_flag_outliers(y, dates, ok)):
        out.setdefault(f"{dates[a].strftime('%m-%d')}:{b - a}", []).append((a, b))
    return out


def _window(n: int, occurrences: list[tuple[int, int]], part: str, k: int) -> np.ndarray:
    m = np.zeros(n, dtype=bool)
    for a, b in occurrences:
        if part == "core":
            m[a:b] = True
        elif part == "pre":
            m[max(a - k, 0) : a] = True
        else:
            m[b : min(b + k, n)] = True
    return m


def _best_window(y, dates, ok, windows, key, occ, part, phi) -> int:
    """The length k of the pre or post window that lowers the scaled deviance most (0 if none passes)."""
    X, _ = _design(dates, windows)
    base = _glm(y[ok], X[ok]).deviance / phi
    best, best_k = DEVIANCE_CUT, 0
    for k in range(1, WINDOW_MAX + 1):
        m = _window(len(y), occ, part, k)
        cores = np.any([w.mask for w in windows if w.part == "core"], axis=0)
        if not (m & ok & ~cores).any():
            continue
        Xk, _ = _design(dates, [*windows, _Window(key, part, m & ~cores)])
        gain = base - _glm(y[ok], Xk[ok]).deviance / phi
        if gain > best:
            best, best_k = gain, k
    return best_k


def fit_demand(days: pd.DataFrame, calendar: list[CalendarEvent] | None = None) -> DemandFit:
    """Fit the rate to ``days`` (``date``, ``orders``, ``gap``; see :mod:`experiments.fit.history`)."""
    y = days["orders"].to_numpy(float)
    dates = pd.DatetimeIndex(days["date"])
    ok = ~days["gap"].to_numpy(bool)
    cores = _event_cores(y, dates, ok, list(calendar or []))
    given = {f"{e.name}:{e.days}": e for e in calendar or []}
    windows = [_Window(key, "core", _window(len(y), occ, "core", 0)) for key, occ in cores.items()]
    X, _ = _design(dates, windows)
    phi = max(float(_glm(y[ok], X[ok]).scale), 1.0)
    for key, occ in cores.items():
        for part in ("pre", "post"):
            fixed = getattr(given.get(key), f"{part}_days", None)
            k = _best_window(y, dates, ok, windows, key, occ, part, phi) if fixed is None else fixed
            if k:
                core = np.any([w.mask for w in windows if w.part == "core"], axis=0)
                windows.append(_Window(key, part, _window(len(y), occ, part, k) & ~core))
    X, layout = _design(dates, windows)
    res = _glm(y[ok], X[ok])
    return _assemble(res, X, layout, windows, cores, given, dates, ok, y)


def _assemble(res, X, layout, windows, cores, given, dates, ok, y) -> DemandFit:
    """DemandFit from the final regression."""
    params, cov = np.asarray(res.params), np.asarray(res.cov_params())
    wd_rows = np.bincount(dates.day_of_week.to_numpy()[ok], minlength=7)
    mo_rows = np.bincount(dates.month.to_numpy()[ok] - 1, minlength=12)
    wd = _effects(res, layout["weekday"][0], layout["weekday"][1], wd_rows)
    mo = _effects(res, layout["month"][0], layout["month"][1], mo_rows)
    ordinary = ok & ~np.any([w.mask for w in windows], axis=0) if windows else ok
    base = Estimate.log_normal(float(params[0]), float(np.sqrt(cov[0, 0])), int(ordinary.sum()))
    by_part: dict[tuple[str, str], tuple[Estimate, int]] = {}
    for j, w in enumerate(windows):
        i = layout["events"] + j
        by_part[(w.key, w.part)] = (
            Estimate.log_normal(float(params[i]), float(np.sqrt(cov[i, i])), int((w.mask & ok).sum())),
            int(w.mask.sum()),
        )
    promos = []
    for key, occ in cores.items():
        a, b = occ[0]
        first = dates[a].date()
        mmdd = first.strftime("%m-%d")
        name = given[key].name if key in given else KNOWN_EVENTS.get(mmdd, f"event_{mmdd.replace('-', '')}")
        pre, post = by_part.get((key, "pre")), by_part.get((key, "post"))
        promos.append(
            PromotionFit(
                name=name,
                first=first,
                days=b - a,
                recurring=mmdd,
                uplift=by_part[(key, "core")][0],
                pre_days=round(pre[1] / len(occ)) if pre else 0,
                pre_factor=pre[0] if pre else None,
                post_days=round(post[1] / len(occ)) if post else 0,
                post_factor=post[0] if post else None,
                detected=key not in given,
                occurrences=len(occ),
            )
        )
    return DemandFit(
        base=base,
        weekday=[wd[i] for i in range(7)],
        monthly=[mo.get(i) for i in range(12)],
        promotions=promos,
        dispersion=float(res.scale),
        days=int(ok.sum()),
        gap_days=int((~ok).sum()),
        expected=np.exp(X @ params),
    )
