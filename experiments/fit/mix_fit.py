"""What an order holds and where it goes: lines and units, regions, the SKU catalogue, lanes and returns.

* **Lines per order, units per line** — counts >= 1, fitted as ``1 + Poisson(m)`` when the
  index of dispersion of ``X - 1`` is within ``1 +- 3 sqrt(2/n)`` of one, else as
  ``1 + NegBin(m, r)`` (``m`` is the sample mean, ``r`` the maximum-likelihood dispersion);
  when even that fails a chi-square test at p < 0.001 (and n >= 1,000) the empirical
  distribution is written instead. The simulator draws them the same way
  (``sim.scenario.distributions``: ``shift: 1``).
* **Regions** — each region's share of orders, binomial SE ``sqrt(p (1 - p) / n)``.
* **Catalogue** — per SKU: lines, units, the median unit price of its lines outside the
  events (all lines if it only sold in events), popularity = its share of lines (the
  simulator picks each line's SKU by popularity).
* **Popularity exponent** — the Pareto shape ``alpha`` of the simulator's generated catalogues
  (popularity of the SKU ranked r of n proportional to ``((r - 0.5)/n)^(-1/alpha)``), by
  maximum likelihood over the sold SKUs ranked by lines. Ranking by the observed counts
  steepens the curve in the flat tail, so the estimate is bias-corrected and its interval taken
  by a parametric bootstrap (200 multinomial resamples at the fitted alpha, each ranked and
  refitted: basic bootstrap interval). Written as a comment: the fitted scenario lists its SKUs.
* **Lanes** — with warehouse, region, carrier and delivered_at: whole days from the day after
  the order to delivery (the order ships the next day at the earliest), as an empirical
  distribution per (carrier, warehouse, region); with promised_date: the promise in days
  (most common) and the observed on-time rate with its Wilson interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from experiments.fit.demand_fit import Z95, Estimate

__all__ = [
    "CountFit",
    "LaneFit",
    "ParetoFit",
    "SkuFit",
    "fit_counts",
    "fit_lanes",
    "fit_pareto",
    "fit_regions",
    "fit_skus",
    "wilson",
]

BOOTSTRAP = 200
MAX_EMPIRICAL_VALUES = 30


@dataclass(frozen=True)
class CountFit:
    """A count distribution >= 1 as the scenario writes it, with the mean's estimate and how it was chosen."""

    dist: dict
    mean: Estimate
    dispersion: Estimate | None
    how: str
    chi2_p: float


def _nb_loglik(r: float, x: np.ndarray, w: np.ndarray, m: float) -> float:
    return float(
        np.sum(
            w
            * (
                special.gammaln(x + r)
                - special.gammaln(r)
                - special.gammaln(x + 1)
                + r * np.log(r / (r + m))
                + x * np.log(m / (r + m))
            )
        )
    )


def _chi2_p(x: np.ndarray, w: np.ndarray, pmf: np.ndarray) -> float:
    """Chi-square goodness of fit of counts ``w`` at values ``x`` against ``pmf`` (tail pooled, expected >= 5)."""
    n = w.sum()
    exp_, obs = [], []
    acc_e = acc_o = 0.0
    for e, o in zip(pmf * n, w):
        acc_e, acc_o = acc_e + e, acc_o + o
        if acc_e >= 5:
            exp_.append(acc_e)
            obs.append(acc_o)
            acc_e = acc_o = 0.0
    if exp_:
        exp_[-1] += acc_e + max(n - sum(exp_) - acc_e, 0.0)
        obs[-1] += acc_o
    if len(exp_) < 3:
        return 1.0
    chi2 = float(np.sum((np.array(obs) - np.array(exp_)) ** 2 / np.array(exp_)))
    return float(stats.chi2.sf(chi2, len(exp_) - 2))


def fit_counts(values: np.ndarray, unit: str) -> CountFit:
    """Fit ``values`` (>= 1) as 1 + Poisson, 1 + NegBin or an empirical law (see the module docstring)."""
    v = np.asarray(values, dtype=np.int64)
    n = len(v)
    x_all = v - 1
    m = float(x_all.mean())
    sd = float(x_all.std(ddof=1)) if n > 1 else 0.0
    mean = Estimate(1 + m, sd / np.sqrt(n), 1 + m - Z95 * sd / np.sqrt(n), 1 + m + Z95 * sd / np.sqrt(n), n, unit)
    if m == 0:
        return CountFit({"dist": "constant", "value": 1}, mean, None, "every value is 1", 1.0)
    x, w = np.unique(x_all, return_counts=True)
    w = w.astype(float)
    grid = np.arange(int(x.max()) + 1)
    counts = np.zeros(len(grid))
    counts[x] = w
    index = sd * sd / m
    if abs(index - 1) <= 3 * np.sqrt(2 / max(n - 1, 1)) or index < 1:
        dist = {"dist": "poisson", "mean": round(1 + m, 6), "shift": 1}
        pmf = stats.poisson.pmf(grid, m)
        how, disp = f"1 + Poisson: index of dispersion {index:.3f}", None
    else:
        res = optimize.minimize_scalar(lambda lr: -_nb_loglik(np.exp(lr), x, w, m), bounds=(-6, 12), method="bounded")
        r = float(np.exp(res.x))
        h = 1e-3
        curv = (
            _nb_loglik(r * np.exp(h), x, w, m) - 2 * _nb_loglik(r, x, w, m) + _nb_loglik(r * np.exp(-h), x, w, m)
        ) / h**2
        se_lr = 1 / np.sqrt(-curv) if curv < 0 else np.inf
        disp = Estimate(r, r * se_lr, r * np.exp(-Z95 * se_lr), r * np.exp(Z95 * se_lr), n, unit)
        dist = {"dist": "negative_binomial", "mean": round(1 + m, 6), "dispersion": round(r, 4), "shift": 1}
        pmf = stats.nbinom.pmf(grid, r, r / (r + m))
        how = f"1 + negative binomial: index of dispersion {index:.3f}"
    p = _chi2_p(grid, counts, pmf)
    if p < 1e-3 and n >= 1000:
        return CountFit(_empirical(v), mean, disp, f"empirical ({how.split(':')[0]} fails chi-square, p = {p:.1e})", p)
    return CountFit(dist, mean, disp, how, p)


def _empirical(v: np.ndarray) -> dict:
    """Values 1..k with their shares (the tail above the 99.9% point pooled into k), probabilities summing to 1."""
    k = int(min(np.quantile(v, 0.999), MAX_EMPIRICAL_VALUES - 1 + v.min()))
    vals, cnt = np.unique(np.minimum(v, k), return_counts=True)
    probs = np.round(cnt / cnt.sum(), 6)
    probs[np.argmax(probs)] += round(1.0 - float(probs.sum()), 6)
    return {"dist": "empirical", "values": [int(x) for x in vals], "probs": [float(round(p, 6)) for p in probs]}


def fit_regions(orders: pd.DataFrame) -> list[tuple[str, Estimate]]:
    """(region, share) by orders, largest first; empty without a region column."""
    if "region" not in orders:
        return []
    r = orders["region"].astype(str).str.strip().replace("", "unknown")
    counts = r.value_counts()
    n = int(counts.sum())
    out = []
    for name, c in counts.items():
        p = c / n
        se = float(np.sqrt(p * (1 - p) / n))
        out.append(
            (str(name), Estimate(float(p), se, max(p - Z95 * se, 0.0), min(p + Z95 * se, 1.0), int(c), "orders"))
        )
    return out


@dataclass(frozen=True)
class SkuFit:
    """The catalogue: one row per SKU (``sku``, ``lines``, ``units``, ``price``, ``price_lines``, ``popularity``,
    ``revenue_share``, ``abc``), most lines first."""

    table: pd.DataFrame
    discounts: dict[str, float]  # event name -> median of 1 - event price / regular price over its lines


def fit_skus(lines: pd.DataFrame, events: dict[str, set], thresholds=(0.8, 0.95)) -> SkuFit:
    """Per-SKU lines, units, regular median price and popularity; each event's discount (module docstring)."""
    g = lines.groupby("sku", sort=False)
    every = set().union(*events.values()) if events else set()
    event = lines["date"].isin(list(every)).to_numpy() if every else np.zeros(len(lines), dtype=bool)
    regular = lines.loc[~event].groupby("sku")["unit_price"]
    price = regular.median().reindex(g.size().index).fillna(g["unit_price"].median())
    price_lines = regular.size().reindex(g.size().index).fillna(g.size())
    t = pd.DataFrame({"lines": g.size(), "units": g["quantity"].sum(), "price": price, "price_lines": price_lines})
    t = t.sort_values("lines", ascending=False, kind="stable")
    t["popularity"] = t["lines"] / t["lines"].sum()
    revenue = (lines["quantity"] * lines["unit_price"]).groupby(lines["sku"]).sum().reindex(t.index)
    t["revenue_share"] = revenue / revenue.sum()
    share_before = t["revenue_share"].sort_values(ascending=False).cumsum().shift(fill_value=0.0)
    t["abc"] = np.where(share_before < thresholds[0], "A", np.where(share_before < thresholds[1], "B", "C"))
    discounts = {}
    for name, days in events.items():
        on = lines["date"].isin(list(days)).to_numpy()
        if on.any():
            ratio = lines.loc[on, "unit_price"].to_numpy() / t["price"].reindex(lines.loc[on, "sku"]).to_numpy()
            discounts[name] = float(np.clip(1 - np.nanmedian(ratio), 0.0, 0.95))
    return SkuFit(t.rename_axis("sku").reset_index(), discounts)


@dataclass(frozen=True)
class ParetoFit:
    """The popularity exponent: raw MLE, bias-corrected estimate and its bootstrap interval."""

    alpha: Estimate
    raw: float
    skus: int
    lines: int


def _pareto_theta(counts: np.ndarray) -> float:
    """MLE of theta = 1/alpha for counts sorted descending (ranks r = 1..n, u_r = (r - 0.5)/n)."""
    n = len(counts)
    logu = np.log((np.arange(n) + 0.5) / n)

    def nll(theta: float) -> float:
        return float(-(counts @ (-theta * logu)) + counts.sum() * special.logsumexp(-theta * logu))

    return float(optimize.minimize_scalar(nll, bounds=(1e-4, 20.0), method="bounded").x)


def fit_pareto(lines_per_sku: np.ndarray, seed: int = 0) -> ParetoFit:
    """Pareto shape of the rank-frequency curve, bias-corrected by a parametric bootstrap (module docstring)."""
    c = np.sort(np.asarray(lines_per_sku, dtype=float))[::-1]
    c = c[c > 0]
    n, total = len(c), int(c.sum())
    theta = _pareto_theta(c)
    w = ((np.arange(n) + 0.5) / n) ** (-theta)
    rng = np.random.default_rng(seed)
    boot = np.empty(BOOTSTRAP)
    for b in range(BOOTSTRAP):
        draw = np.sort(rng.multinomial(total, w / w.sum()))[::-1].astype(float)
        boot[b] = _pareto_theta(draw[draw > 0])
    corrected = 2 * theta - boot.mean()
    lo_t, hi_t = 2 * theta - np.quantile(boot, 0.975), 2 * theta - np.quantile(boot, 0.025)
    se_t = float(boot.std(ddof=1))
    alpha = 1 / corrected
    est = Estimate(alpha, se_t / corrected**2, 1 / max(hi_t, 1e-9), 1 / max(lo_t, 1e-9), total, "lines")
    return ParetoFit(est, 1 / theta, n, total)


def wilson(k: int, n: int) -> tuple[float, float]:
    """The Wilson 95% interval of a proportion k/n.

    >>> tuple(round(x, 3) for x in wilson(90, 100))
    (0.826, 0.945)
    """
    if n == 0:
        return 0.0, 1.0
    p = k / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return float(centre - half), float(centre + half)


@dataclass(frozen=True)
class LaneFit:
    """One (carrier, warehouse, region): transit days (empirical), promise days, on-time rate."""

    carrier: str
    warehouse: str
    region: str
    transit: dict
    transit_mean: float
    orders: int
    promise_days: int | None
    on_time: tuple[float, float, float] | None  # rate, low, high


def _lane(key, g: pd.DataFrame) -> LaneFit:
    carrier, warehouse, region = (str(k) for k in key)
    days = g["transit"].to_numpy()
    vals, cnt = np.unique(np.clip(days, 0, 60), return_counts=True)
    probs = np.round(cnt / cnt.sum(), 6)
    probs[np.argmax(probs)] += round(1.0 - float(probs.sum()), 6)
    transit = {"dist": "empirical", "values": [int(v) for v in vals], "probs": [float(round(p, 6)) for p in probs]}
    promise = on_time = None
    if "promise" in g and g["promise"].notna().any():
        promise = int(g["promise"].dropna().mode().iloc[0])
        ok = g["promise"].notna()
        k, n = int(g.loc[ok, "on_time"].sum()), int(ok.sum())
        lo, hi = wilson(k, n)
        on_time = (k / n if n else float("nan"), lo, hi)
    return LaneFit(carrier, warehouse, region, transit, float(days.mean()), len(g), promise, on_time)


def fit_lanes(orders: pd.DataFrame) -> list[LaneFit]:
    """One LaneFit per (carrier, warehouse, region) with at least 20 delivered orders; empty without the columns."""
    need = ("carrier", "warehouse", "region", "delivered_at")
    if not all(c in orders for c in need):
        return []
    o = orders.copy()
    delivered = pd.to_datetime(o["delivered_at"].astype(str).str.slice(0, 10), errors="coerce", format="%Y-%m-%d")
    o["transit"] = (delivered - o["date"]).dt.days - 1
    o = o.loc[o["transit"].notna() & (o["transit"] >= -1)]
    o["transit"] = o["transit"].clip(lower=0).astype(int)
    if "promised_date" in o:
        promised = pd.to_datetime(o["promised_date"].astype(str).str.slice(0, 10), errors="coerce", format="%Y-%m-%d")
        o["promise"] = (promised - o["date"]).dt.days
        o["on_time"] = delivered.reindex(o.index) <= promised.reindex(o.index)
    out = []
    for key, g in o.groupby(["carrier", "warehouse", "region"], sort=True):
        if len(g) >= 20 and all(str(k).strip() for k in key):
            out.append(_lane(key, g))
    return out
