"""Statistics for replicated simulation experiments.

Student-t confidence intervals, per-variant summaries, paired differences against
a baseline variant (common random numbers), and sample-size estimates. Pure
Python + numpy + pandas: the Student-t quantile is computed here by inverting the
t CDF, which is expressed through the regularized incomplete beta function
(continued fraction, Numerical Recipes 3rd ed., section 6.4).

Conventions for the runs table (one row per variant x replication):
``variant``, ``replication``, ``status`` ("ok" or an error tag) and one column per
metric. Rows whose status is not "ok" never enter a statistic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "CI",
    "mean_ci",
    "normal_quantile",
    "paired_differences",
    "replications_needed",
    "summarize",
    "summary_wide",
    "t_cdf",
    "t_quantile",
    "welch_half_width",
]

_EPS = 1e-15
_LARGE_DF = 1e7  # above this the Cornish-Fisher expansion is exact to double precision


# --------------------------------------------------------------------------- t distribution
def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for I_x(a, b), modified Lentz's method (NR 6.4)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 50_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"incomplete beta did not converge (a={a}, b={b}, x={x})")


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) for a, b > 0 and 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def _t_upper_tail(t: float, df: float) -> float:
    """P(T > t) for t >= 0: 0.5 * I_{df/(df+t^2)}(df/2, 1/2)."""
    # _betainc switches to the complementary fraction itself, keeping tail precision.
    return 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))


def _t_pdf(t: float, df: float) -> float:
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c - (df + 1) / 2 * math.log1p(t * t / df))


def t_cdf(t: float, df: float) -> float:
    """Student-t cumulative distribution function P(T <= t) with ``df`` degrees of freedom.

    F(t) = 1 - 0.5 * I_x(df/2, 1/2) with x = df / (df + t^2) for t >= 0, and
    F(-t) = 1 - F(t). ``df`` may be fractional (Welch-Satterthwaite).

    >>> round(t_cdf(2.262157, 9), 6)
    0.975
    """
    if not df > 0:
        raise ValueError(f"df must be > 0, got {df}")
    if math.isnan(t):
        return math.nan
    if math.isinf(df):
        return 0.5 * math.erfc(-t / math.sqrt(2.0))
    upper = _t_upper_tail(abs(t), df)
    return 1.0 - upper if t >= 0 else upper


def normal_quantile(p: float) -> float:
    """Standard normal quantile z_p.

    Starts from Abramowitz & Stegun 26.2.23 (error < 4.5e-4) and applies three Halley
    steps on Phi(z) = 0.5 * erfc(-z / sqrt 2), giving double precision.

    >>> round(normal_quantile(0.975), 6)
    1.959964
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if p == 0.5:
        return 0.0
    q = min(p, 1.0 - p)  # lower-tail probability < 0.5
    r = math.sqrt(-2.0 * math.log(q))
    z = -(r - (2.515517 + 0.802853 * r + 0.010328 * r * r) / (1.0 + 1.432788 * r + 0.189269 * r * r + 0.001308 * r**3))
    for _ in range(3 if q >= 1e-300 else 0):  # below 1e-300 exp(z^2/2) overflows
        e = 0.5 * math.erfc(-z / math.sqrt(2.0)) - q
        u = e * math.sqrt(2.0 * math.pi) * math.exp(z * z / 2.0)
        z = z - u / (1.0 + z * u / 2.0)
    return z if p < 0.5 else -z


def t_quantile(p: float, df: float) -> float:
    """Student-t quantile t_{p, df}: the t with P(T <= t) = p.

    Solves 0.5 * I_{df/(df+t^2)}(df/2, 1/2) = min(p, 1-p) for t >= 0 by safeguarded
    Newton iteration on the upper tail (bisection fallback), then applies the sign.
    Exact closed forms are used for df = 1 (Cauchy) and df = 2; for df > 1e7 the
    Cornish-Fisher expansion around the normal quantile; df = inf gives z_p.
    ``df`` may be fractional (Welch). Accurate to ~1e-12 relative.

    >>> round(t_quantile(0.975, 9), 6)
    2.262157
    >>> round(t_quantile(0.995, 29), 3)
    2.756
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if not df > 0:
        raise ValueError(f"df must be > 0, got {df}")
    if p == 0.5:
        return 0.0
    sign = 1.0 if p > 0.5 else -1.0
    q = 1.0 - p if p > 0.5 else p  # upper-tail probability, < 0.5
    if df == 1:
        return sign * math.tan(math.pi * (0.5 - q))
    if df == 2:
        return sign * (1 - 2 * q) / math.sqrt(2 * q * (1 - q))
    z = -normal_quantile(q)
    if math.isinf(df):
        return sign * z
    if df > _LARGE_DF:  # Abramowitz & Stegun 26.7.5
        g1 = (z**3 + z) / 4
        g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
        g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
        return sign * (z + g1 / df + g2 / df**2 + g3 / df**3)
    # Bracket [lo, hi] with tail(lo) >= q >= tail(hi).
    lo, hi = 0.0, max(1.0, z)
    while _t_upper_tail(hi, df) > q:
        lo, hi = hi, hi * 2.0
        if hi > 1e300:
            return sign * math.inf
    t = min(max(z, lo), hi)
    for _ in range(200):
        f = _t_upper_tail(t, df) - q
        if f > 0:
            lo = t
        else:
            hi = t
        dens = _t_pdf(t, df)
        step = f / dens if dens > 0 else math.inf
        t_new = t + step  # tail is decreasing: d(tail)/dt = -pdf
        if not lo < t_new < hi:
            t_new = 0.5 * (lo + hi)
        if abs(t_new - t) <= 1e-14 * max(1.0, abs(t)) or hi - lo <= 1e-14 * max(1.0, hi):
            return sign * t_new
        t = t_new
    return sign * t


# --------------------------------------------------------------------------- intervals
@dataclass(frozen=True)
class CI:
    """A two-sided confidence interval for a mean: ``low = mean - half_width``,
    ``high = mean + half_width``; ``n`` observations; ``level`` e.g. 0.95."""

    mean: float
    half_width: float
    low: float
    high: float
    n: int
    level: float

    def contains(self, x: float) -> bool:
        """True when low <= x <= high (False when the interval is undefined, n < 2)."""
        return bool(self.low <= x <= self.high)

    def __str__(self) -> str:
        return (
            f"{self.mean:.4g} ± {self.half_width:.2g} "
            f"({self.level:.0%} CI [{self.low:.4g}, {self.high:.4g}], n={self.n})"
        )


def _clean(values: Iterable[float]) -> np.ndarray:
    if not isinstance(values, (np.ndarray, pd.Series, list, tuple)):
        values = list(values)
    series = pd.to_numeric(pd.Series(values, dtype=object if len(values) == 0 else None), errors="coerce")
    arr = series.to_numpy(dtype=float, na_value=np.nan)
    return arr[~np.isnan(arr)]


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")


def mean_ci(values: Iterable[float], level: float = 0.95) -> CI:
    """Student-t confidence interval for the mean of independent observations.

    half_width = t_{(1+level)/2, n-1} * s / sqrt(n), with s the sample standard
    deviation (ddof=1). NaNs are dropped first. n = 1 gives half_width = low =
    high = nan; n = 0 also gives mean = nan.

    >>> ci = mean_ci([9.8, 10.1, 10.4, 9.9, 10.3])
    >>> round(ci.mean, 2), round(ci.half_width, 3), ci.contains(10.0)
    (10.1, 0.317, True)
    """
    _check_level(level)
    x = _clean(values)
    n = int(x.size)
    if n == 0:
        return CI(math.nan, math.nan, math.nan, math.nan, 0, level)
    mean = float(x.mean())
    if n == 1:
        return CI(mean, math.nan, math.nan, math.nan, 1, level)
    s = float(x.std(ddof=1))
    hw = t_quantile((1 + level) / 2, n - 1) * s / math.sqrt(n) if s > 0 else 0.0
    return CI(mean, hw, mean - hw, mean + hw, n, level)


def welch_half_width(a: Iterable[float], b: Iterable[float], level: float = 0.95) -> float:
    """Half-width of the Welch two-sample t interval for mean(a) - mean(b).

    se^2 = s_a^2/n_a + s_b^2/n_b; df = se^4 / ((s_a^2/n_a)^2/(n_a-1) + (s_b^2/n_b)^2/(n_b-1))
    (Welch-Satterthwaite); half_width = t_{(1+level)/2, df} * se. nan if either n < 2.

    >>> round(welch_half_width([1, 2, 3, 4], [2, 4, 6, 8]), 3)
    3.864
    """
    _check_level(level)
    xa, xb = _clean(a), _clean(b)
    if xa.size < 2 or xb.size < 2:
        return math.nan
    va, vb = xa.var(ddof=1) / xa.size, xb.var(ddof=1) / xb.size
    se2 = va + vb
    if se2 == 0:
        return 0.0
    df = se2**2 / (va**2 / (xa.size - 1) + vb**2 / (xb.size - 1))
    return float(t_quantile((1 + level) / 2, df) * math.sqrt(se2))


# --------------------------------------------------------------------------- tables
def _ok_rows(runs: pd.DataFrame) -> pd.DataFrame:
    if "status" not in runs.columns:
        return runs
    return runs[runs["status"] == "ok"]


def _check_columns(runs: pd.DataFrame, needed: Sequence[str]) -> None:
    missing = [c for c in needed if c not in runs.columns]
    if missing:
        raise KeyError(f"runs table lacks column(s) {missing}; has {list(runs.columns)}")


def summarize(
    runs: pd.DataFrame, metrics: list[str], group_cols: list[str] = ["variant"], level: float = 0.95
) -> pd.DataFrame:
    """Mean, standard deviation and Student-t CI of every metric per group.

    Only rows with ``status == "ok"`` count (all rows if there is no status column);
    NaN metric values are dropped. Groups keep their order of first appearance in
    ``runs``; a group without ok runs still gets rows with n = 0 and NaN statistics.
    Returns columns group_cols + ["metric", "n", "mean", "std", "half_width",
    "ci_low", "ci_high"], one row per (group, metric), metrics in the given order.

    >>> runs = pd.DataFrame({"variant": ["a", "a", "b", "b"], "replication": [0, 1, 0, 1],
    ...                      "status": "ok", "cost": [10.0, 12.0, 7.0, 9.0]})
    >>> summarize(runs, ["cost"])[["variant", "n", "mean", "std"]].values.tolist()
    [['a', 2, 11.0, 1.4142135623730951], ['b', 2, 8.0, 1.4142135623730951]]
    """
    group_cols = list(group_cols)
    _check_columns(runs, group_cols + list(metrics))
    ok = _ok_rows(runs)
    keys = runs[group_cols].drop_duplicates()
    rows = []
    for key in keys.itertuples(index=False, name=None):
        mask = np.ones(len(ok), dtype=bool)
        for col, val in zip(group_cols, key):
            col_vals = ok[col].to_numpy()
            mask &= pd.isna(col_vals) if pd.isna(val) else (col_vals == val)
        sub = ok[mask]
        for metric in metrics:
            vals = _clean(sub[metric])
            ci = mean_ci(vals, level)
            std = float(vals.std(ddof=1)) if vals.size >= 2 else math.nan
            rows.append([*list(key), metric, ci.n, ci.mean, std, ci.half_width, ci.low, ci.high])
    cols = [*group_cols, "metric", "n", "mean", "std", "half_width", "ci_low", "ci_high"]
    out = pd.DataFrame(rows, columns=cols)
    out["n"] = out["n"].astype(int)
    for c in cols[len(group_cols) + 2 :]:
        out[c] = out[c].astype(float)
    return out


def summary_wide(summary: pd.DataFrame, group_cols: list[str] = ["variant"]) -> pd.DataFrame:
    """Pivot a :func:`summarize` table to one row per group for trade-off plots.

    Columns: group_cols, then for every metric m: m (the mean), f"{m}_half_width",
    f"{m}_ci_low", f"{m}_ci_high", f"{m}_n". Group order is preserved.

    >>> s = pd.DataFrame({"variant": ["a", "a"], "metric": ["cost", "fill"], "n": [5, 5],
    ...     "mean": [1.0, 0.9], "std": [0.1, 0.01], "half_width": [0.1, 0.01],
    ...     "ci_low": [0.9, 0.89], "ci_high": [1.1, 0.91]})
    >>> list(summary_wide(s).columns)[:4]
    ['variant', 'cost', 'cost_half_width', 'cost_ci_low']
    """
    group_cols = list(group_cols)
    keys = summary[group_cols].drop_duplicates().reset_index(drop=True)
    out = keys.copy()
    for metric in pd.unique(summary["metric"]):
        part = summary[summary["metric"] == metric][[*group_cols, "mean", "half_width", "ci_low", "ci_high", "n"]]
        part = part.rename(
            columns={
                "mean": metric,
                "half_width": f"{metric}_half_width",
                "ci_low": f"{metric}_ci_low",
                "ci_high": f"{metric}_ci_high",
                "n": f"{metric}_n",
            }
        )
        out = out.merge(part, on=group_cols, how="left", sort=False)
    return out


def paired_differences(
    runs: pd.DataFrame, metrics: list[str], baseline: str, level: float = 0.95, pair_col: str = "replication"
) -> pd.DataFrame:
    """Paired differences (variant - baseline) per metric, paired on ``pair_col``.

    With common random numbers replication r of every variant sees the same random
    streams, so d_r = x_{variant,r} - x_{baseline,r} has a small variance. The CI is
    the Student-t interval of the d_r (see :func:`mean_ci`). Only replications that
    are ok (and non-NaN for the metric) in both variants are paired.
    ``unpaired_half_width`` is the Welch half-width on the same replications, i.e.
    what the interval would be without pairing.

    Returns columns ["variant", "metric", "n", "mean_diff", "half_width", "ci_low",
    "ci_high", "excludes_zero", "unpaired_half_width"], variants in order of first
    appearance, baseline excluded.

    >>> runs = pd.DataFrame({"variant": ["a"] * 3 + ["b"] * 3, "replication": [0, 1, 2] * 2,
    ...                      "status": "ok", "cost": [10.0, 20.0, 30.0, 11.0, 21.5, 31.0]})
    >>> d = paired_differences(runs, ["cost"], baseline="a")
    >>> round(float(d.loc[0, "mean_diff"]), 3), bool(d.loc[0, "excludes_zero"])
    (1.167, True)
    """
    _check_level(level)
    _check_columns(runs, ["variant", pair_col, *list(metrics)])
    variants = list(pd.unique(runs["variant"]))
    if baseline not in variants:
        raise ValueError(f"baseline variant {baseline!r} not among variants {variants}")
    ok = _ok_rows(runs)
    dup = ok.duplicated(["variant", pair_col])
    if dup.any():
        bad = ok.loc[dup, ["variant", pair_col]].drop_duplicates().values.tolist()[:5]
        raise ValueError(f"(variant, {pair_col}) must be unique among ok runs; duplicates: {bad}")
    base = ok[ok["variant"] == baseline].set_index(pair_col)
    rows = []
    for variant in variants:
        if variant == baseline:
            continue
        other = ok[ok["variant"] == variant].set_index(pair_col)
        common = base.index.intersection(other.index, sort=False)
        for metric in metrics:
            b = pd.to_numeric(base.loc[common, metric], errors="coerce").to_numpy(float)
            v = pd.to_numeric(other.loc[common, metric], errors="coerce").to_numpy(float)
            keep = ~(np.isnan(b) | np.isnan(v))
            b, v = b[keep], v[keep]
            ci = mean_ci(v - b, level)
            excl = bool(ci.n >= 2 and not math.isnan(ci.low) and (ci.low > 0 or ci.high < 0))
            rows.append(
                [variant, metric, ci.n, ci.mean, ci.half_width, ci.low, ci.high, excl, welch_half_width(v, b, level)]
            )
    cols = [
        "variant",
        "metric",
        "n",
        "mean_diff",
        "half_width",
        "ci_low",
        "ci_high",
        "excludes_zero",
        "unpaired_half_width",
    ]
    out = pd.DataFrame(rows, columns=cols)
    out["n"] = out["n"].astype(int)
    out["excludes_zero"] = out["excludes_zero"].astype(bool)
    for c in ["mean_diff", "half_width", "ci_low", "ci_high", "unpaired_half_width"]:
        out[c] = out[c].astype(float)
    return out


def replications_needed(values: Iterable[float], target_half_width: float, level: float = 0.95) -> int:
    """Estimated total number of replications for a CI half-width <= target.

    Smallest n >= 2 with t_{(1+level)/2, n-1} * s / sqrt(n) <= h, where s is the
    standard deviation of the pilot ``values`` (NaNs dropped) and h the target; this
    is n = ceil((t * s / h)^2) iterated because t depends on n (Law, Simulation
    Modeling and Analysis, section 9.4.1). The answer may be below the pilot size
    when the target is already met.

    >>> replications_needed([98, 102, 101, 99, 100, 97, 103, 100, 99, 101], 1.0)
    16
    """
    if not target_half_width > 0:
        raise ValueError(f"target_half_width must be > 0, got {target_half_width}")
    _check_level(level)
    x = _clean(values)
    if x.size < 2:
        raise ValueError("need at least 2 pilot values to estimate the standard deviation")
    s = float(x.std(ddof=1))
    if s == 0:
        return 2
    p = (1 + level) / 2
    ratio = s / target_half_width
    n = max(2, math.ceil((normal_quantile(p) * ratio) ** 2))  # lower bound since t > z
    while t_quantile(p, n - 1) * ratio / math.sqrt(n) > 1.0:
        n += 1  # only a handful of steps: n exceeds the z-based bound by ~z^2(1+z^2)/2
    return int(n)
