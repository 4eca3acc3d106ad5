"""Statistics for replicated simulation experiments.

Student-t confidence intervals, per-variant summaries, paired differences against
a baseline variant (common random numbers), and sample-size estimates, on numpy and
pandas; the Student-t and normal distributions come from ``scipy.stats``.

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


# --------------------------------------------------------------------------- t and normal distributions
# scipy.stats is imported where it is used: it takes longer to import than the rest of this
# package, and most commands (validate, explain, schema, ...) never compute an interval.
def _check_p(p: float) -> None:
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")


def _check_df(df: float) -> None:
    if not df > 0:
        raise ValueError(f"df must be > 0, got {df}")


def t_cdf(t: float, df: float) -> float:
    """Student-t cumulative distribution function P(T <= t) with ``df`` degrees of freedom.

    ``scipy.stats.t.cdf``; ``df`` may be fractional (Welch-Satterthwaite) or infinite
    (the standard normal). A NaN ``t`` gives NaN.

    >>> round(t_cdf(2.262157, 9), 6)
    0.975
    """
    _check_df(df)
    from scipy import stats as scipy_stats

    return float(scipy_stats.t.cdf(t, df))


def normal_quantile(p: float) -> float:
    """Standard normal quantile z_p (``scipy.stats.norm.ppf``).

    >>> round(normal_quantile(0.975), 6)
    1.959964
    """
    _check_p(p)
    from scipy import stats as scipy_stats

    return float(scipy_stats.norm.ppf(p))


def t_quantile(p: float, df: float) -> float:
    """Student-t quantile t_{p, df}: the t with P(T <= t) = p (``scipy.stats.t.ppf``).

    ``df`` may be fractional (Welch) or infinite (then t_p = z_p).

    >>> round(t_quantile(0.975, 9), 6)
    2.262157
    >>> round(t_quantile(0.995, 29), 3)
    2.756
    """
    _check_p(p)
    _check_df(df)
    from scipy import stats as scipy_stats

    return float(scipy_stats.t.ppf(p, df))


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
    runs: pd.DataFrame, metrics: Sequence[str], group_cols: Sequence[str] = ("variant",), level: float = 0.95
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


def summary_wide(summary: pd.DataFrame, group_cols: Sequence[str] = ("variant",)) -> pd.DataFrame:
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
    runs: pd.DataFrame, metrics: Sequence[str], baseline: str, level: float = 0.95, pair_col: str = "replication"
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
        rows += [
            _paired_row(variant, metric, base.loc[common, metric], other.loc[common, metric], level)
            for metric in metrics
        ]
    out = pd.DataFrame(rows, columns=_PAIRED_COLUMNS)
    out["n"] = out["n"].astype(int)
    out["excludes_zero"] = out["excludes_zero"].astype(bool)
    for c in [*_PAIRED_INTERVAL, "unpaired_half_width"]:
        out[c] = out[c].astype(float)
    return out


_PAIRED_INTERVAL = ["mean_diff", "half_width", "ci_low", "ci_high"]
_PAIRED_COLUMNS = ["variant", "metric", "n", *_PAIRED_INTERVAL, "excludes_zero", "unpaired_half_width"]


def _paired_row(variant: str, metric: str, base: pd.Series, other: pd.Series, level: float) -> list:
    """One row of :func:`paired_differences`: the CI of other - base over the pairs where both are numbers."""
    b = pd.to_numeric(base, errors="coerce").to_numpy(float)
    v = pd.to_numeric(other, errors="coerce").to_numpy(float)
    keep = ~(np.isnan(b) | np.isnan(v))
    b, v = b[keep], v[keep]
    ci = mean_ci(v - b, level)
    excl = bool(ci.n >= 2 and not math.isnan(ci.low) and (ci.low > 0 or ci.high < 0))
    return [variant, metric, ci.n, ci.mean, ci.half_width, ci.low, ci.high, excl, welch_half_width(v, b, level)]


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
