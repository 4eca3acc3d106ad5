"""Ranking and selection: choose the best of k variants with a probability-of-correct-selection guarantee.

Three procedures, all in the indifference-zone formulation: a variant within ``indifference``
(delta) of the best counts as a correct choice, and the best is selected with probability at
least ``confidence`` (P*) when the outputs are normal.

- ``kn``: Kim and Nelson (2001), fully sequential. After ``first_stage`` (n0) replications of
  every variant it adds one replication (``increment``) to every surviving variant per round and
  eliminates a variant once its mean is worse than another's by more than the shrinking
  triangular continuation region. It works on the variances of the *paired differences*, so
  common random numbers (the same seed for replication r of every variant) make it stop sooner.
- ``rinott``: Rinott (1978), two stages. After n0 replications each variant gets
  N_i = max(n0, ceil((h S_i / delta)^2)) in all, and the largest mean wins. Its constant h assumes
  independent variants.
- ``ocba``: optimal computing budget allocation (Chen et al. 2000). Rounds of ``increment``
  replications go where they most raise the probability of a correct selection, until the
  estimated P(correct selection) (a Bonferroni bound, each difference at least delta) reaches P*
  or the ``budget`` is spent. Its P(CS) is an estimate, not a guarantee.

Every procedure reports multiple-comparisons-with-the-best (MCB) intervals for
mu_i - best of the others, which hold simultaneously with the same confidence (Hsu 1996; for KN
and Rinott with half-width delta, Nelson and Matejcik 1995).

Replications come from a ``Sampler``: ``sample(variants, first, count)`` returns the outputs of
replications ``first .. first + count - 1`` of the listed variants, one row each. Replication r of
every variant shares its random numbers when the sampler uses common random numbers.

>>> rng = np.random.default_rng(1)
>>> truth = np.array([10.0, 11.0, 13.0])  # smaller is better; variant 0 is best by 1
>>> def sample(variants, first, count):
...     noise = np.random.default_rng(first).normal(size=count)  # common random numbers by replication
...     return np.array([truth[v] + noise + 0.5 * np.random.default_rng([v, first]).normal(size=count) for v in variants])
>>> cfg = SelectConfig("cost", "min", "kn", indifference=0.5, confidence=0.95, first_stage=10)
>>> result = select(sample, ["a", "b", "c"], cfg)
>>> result.selected_name, result.guaranteed
('a', True)
>>> round(rinott_h(2, 10, 0.95), 2), round(kn_eta(2, 10, 0.95), 4)
(2.61, 0.3341)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

__all__ = [
    "Sampler",
    "SelectConfig",
    "Selection",
    "bechhofer_h",
    "fixed_n_design",
    "kn_eta",
    "mcb_intervals",
    "ocba_allocation",
    "rinott_h",
    "select",
]

Sampler = Callable[[Sequence[int], int, int], np.ndarray]


@dataclass(frozen=True)
class SelectConfig:
    """What to select on and how: the procedure, delta, P* and the replication limits."""

    metric: str
    goal: str = "min"  # min | max
    procedure: str = "kn"  # kn | ocba | rinott
    indifference: float = 1.0
    confidence: float = 0.95
    first_stage: int = 10
    max_replications: int = 1000  # per variant
    budget: int | None = None  # ocba: total over all variants (default max_replications per variant)
    increment: int | None = None  # kn: per survivor per round (default 1); ocba: per round (default k)


@dataclass(frozen=True)
class Selection:
    """The outcome of a selection: the chosen variant, what each variant got and the guarantee."""

    config: SelectConfig
    names: tuple[str, ...]
    selected: int
    replications: tuple[int, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    eliminated_after: tuple[int | None, ...]  # kn: the stage (replications) at which it was eliminated
    mcb_lower: tuple[float, ...]
    mcb_upper: tuple[float, ...]
    guarantee: str
    guaranteed: bool  # False when a replication cap or the budget ended it before its guarantee held

    @property
    def selected_name(self) -> str:
        """The name of the selected variant."""
        return self.names[self.selected]

    @property
    def total_replications(self) -> int:
        """Replications run over all variants."""
        return int(sum(self.replications))

    def table(self) -> pd.DataFrame:
        """One row per variant: replications, mean, std, elimination stage, MCB interval, selected."""
        return pd.DataFrame(
            {
                "variant": list(self.names),
                "replications": list(self.replications),
                "mean": list(self.means),
                "std": list(self.stds),
                "eliminated_after": pd.array(list(self.eliminated_after), dtype="Int64"),
                "mcb_lower": list(self.mcb_lower),
                "mcb_upper": list(self.mcb_upper),
                "selected": [i == self.selected for i in range(len(self.names))],
            }
        )


def kn_eta(k: int, n0: int, confidence: float) -> float:
    """Kim-Nelson's eta = ((2 alpha / (k - 1))^(-2 / (n0 - 1)) - 1) / 2; the procedure's h^2 = 2 eta (n0 - 1)."""
    _check_design(k, n0, confidence)
    alpha = 1.0 - confidence
    return 0.5 * ((2.0 * alpha / (k - 1)) ** (-2.0 / (n0 - 1)) - 1.0)


def rinott_h(k: int, n0: int, confidence: float, nodes: int = 64) -> float:
    """Rinott's constant h: P* = E_Y[ E_X[ Phi(h / sqrt(nu (1/X + 1/Y))) ]^(k-1) ], X, Y ~ chi2(nu), nu = n0 - 1.

    Both expectations are taken by generalized Gauss-Laguerre quadrature on the chi-square
    density (``nodes`` points each; the integrand is smooth, so 64 give h to about 1e-6).
    """
    _check_design(k, n0, confidence)
    nu = n0 - 1
    t, w = special.roots_genlaguerre(nodes, nu / 2.0 - 1.0)
    q, w = 2.0 * t, w / w.sum()  # chi2(nu) = 2 Gamma(nu/2)
    spread = np.sqrt(nu * (1.0 / q[:, None] + 1.0 / q[None, :]))  # rows X, columns Y

    def pcs(h: float) -> float:
        inner = w @ special.ndtr(h / spread)
        return float(w @ inner ** (k - 1)) - confidence

    return float(optimize.brentq(pcs, 1e-6, 100.0, xtol=1e-10))


def bechhofer_h(k: int, confidence: float) -> float:
    """Bechhofer's constant: P(max of k-1 standard normals with correlation 1/2 <= h) = P*."""
    _check_design(k, 2, confidence)
    u, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()

    def pcs(h: float) -> float:
        return float(np.sum(w * special.ndtr(u + h * math.sqrt(2.0)) ** (k - 1))) - confidence

    return float(optimize.brentq(pcs, -10.0, 20.0, xtol=1e-10))


def fixed_n_design(k: int, confidence: float, indifference: float, sigma: float) -> int:
    """Replications per variant of Bechhofer's single-stage design (known common sigma) with the same guarantee.

    n = ceil(2 (h sigma / delta)^2): the fixed-n benchmark a sequential procedure should beat,
    generous to it because it is told the true variance.

    >>> fixed_n_design(5, 0.95, 0.5, 1.0)
    38
    """
    if sigma <= 0 or indifference <= 0:
        raise ValueError("sigma and indifference must be positive")
    return math.ceil(2.0 * (bechhofer_h(k, confidence) * sigma / indifference) ** 2)


def mcb_intervals(means: np.ndarray, goal: str, width: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Hsu's constrained MCB intervals for mu_i - (best of the others), sign as the metric's.

    With D_i = mean_i - best of the other means: [min(0, D_i - w_i), max(0, D_i + w_i)]. For
    ``goal`` min an interval with lower end > 0 rules variant i out; for max, an upper end < 0.
    """
    m = np.asarray(means, dtype=float)
    w = np.broadcast_to(np.asarray(width, dtype=float), m.shape)
    others = np.array([np.delete(m, i) for i in range(len(m))])
    best_other = others.min(axis=1) if goal == "min" else others.max(axis=1)
    d = m - best_other
    return np.minimum(0.0, d - w), np.maximum(0.0, d + w)


def select(sample: Sampler, names: Sequence[str], config: SelectConfig) -> Selection:
    """Run ``config.procedure`` over the variants ``names``, drawing replications from ``sample``."""
    k = len(names)
    if k < 2:
        raise ValueError("selection needs at least two variants")
    _check_design(k, config.first_stage, config.confidence)
    if config.first_stage > config.max_replications:
        raise ValueError("first_stage exceeds max_replications")
    run = {"kn": _kn, "rinott": _rinott, "ocba": _ocba}.get(config.procedure)
    if run is None:
        raise ValueError(f"unknown procedure {config.procedure!r}: use kn, ocba or rinott")
    return run(sample, tuple(names), config)


def _check_design(k: int, n0: int, confidence: float) -> None:
    """k >= 2, n0 >= 2 and 1/k < P* < 1, or a ValueError naming the bad one."""
    if k < 2:
        raise ValueError("selection needs at least two variants")
    if n0 < 2:
        raise ValueError("the first stage needs at least 2 replications")
    if not 1.0 / k < confidence < 1.0:
        raise ValueError(f"confidence must be above 1/k = {1.0 / k:.3f} and below 1")


def _signed(x: np.ndarray, goal: str) -> np.ndarray:
    """Outputs with the sign that makes larger better (KN and Rinott are stated for a maximum)."""
    return x if goal == "max" else -x


def _kn(sample: Sampler, names: tuple[str, ...], cfg: SelectConfig) -> Selection:
    """Kim-Nelson's fully sequential procedure with common random numbers."""
    k, n0, delta = len(names), cfg.first_stage, cfg.indifference
    h2 = 2.0 * kn_eta(k, n0, cfg.confidence) * (n0 - 1)
    data = [list(row) for row in sample(list(range(k)), 0, n0)]
    first = _signed(np.array(data), cfg.goal)
    s2 = np.var(first[:, None, :] - first[None, :, :], axis=2, ddof=1)  # paired-difference variances
    horizon = int(np.floor(h2 * s2.max() / delta**2)) + 1  # the procedure ends by this stage
    alive, out_at = set(range(k)), [None] * k
    r, checked, step = n0, n0 - 1, cfg.increment or 1
    while True:
        for stage in range(checked + 1, r + 1):
            _kn_eliminate(data, alive, out_at, stage, s2, h2, delta, cfg.goal)
        checked = r
        if len(alive) == 1 or r >= min(horizon, cfg.max_replications):
            break
        add = min(step, cfg.max_replications - r)
        ids = sorted(alive)
        for v, row in zip(ids, sample(ids, r, add)):
            data[v].extend(row)
        r += add
    means = np.array([np.mean(d[:r]) if v in alive else np.mean(d) for v, d in enumerate(data)])
    best = max(alive, key=lambda v: _signed(means, cfg.goal)[v])
    guaranteed = len(alive) == 1 or r >= horizon
    text = (
        f"KN (Kim-Nelson, fully sequential, common random numbers): P(the selected variant is the best, or within "
        f"{delta:g} of it) >= {cfg.confidence:g} for normal outputs."
    )
    return _finish(cfg, names, best, data, means, out_at, delta, text, guaranteed)


def _kn_eliminate(data, alive: set, out_at: list, r: int, s2, h2: float, delta: float, goal: str) -> None:
    """One KN screening at stage r: drop i when some l beats it beyond W_il(r) = max(0, delta/(2r) (h^2 S_il^2/delta^2 - r))."""
    if len(alive) == 1:
        return
    ids = sorted(alive)
    xbar = _signed(np.array([np.mean(data[v][:r]) for v in ids]), goal)
    w = np.maximum(0.0, delta / (2.0 * r) * (h2 * s2[np.ix_(ids, ids)] / delta**2 - r))
    beaten = (xbar[:, None] < xbar[None, :] - w).any(axis=1)
    for v, out in zip(ids, beaten):
        if out:
            alive.discard(v)
            out_at[v] = r


def _rinott(sample: Sampler, names: tuple[str, ...], cfg: SelectConfig) -> Selection:
    """Rinott's two-stage procedure: a second stage sized by each variant's first-stage variance."""
    k, n0, delta = len(names), cfg.first_stage, cfg.indifference
    h = rinott_h(k, n0, cfg.confidence)
    data = [list(row) for row in sample(list(range(k)), 0, n0)]
    s = np.array([np.std(d, ddof=1) for d in data])
    wanted = np.maximum(n0, np.ceil((h * s / delta) ** 2)).astype(int)
    total = np.minimum(wanted, cfg.max_replications)
    for n in sorted(set(total.tolist())):
        ids = [v for v in range(k) if total[v] == n and n > n0]
        if ids:
            for v, row in zip(ids, sample(ids, n0, n - n0)):
                data[v].extend(row)
    means = np.array([np.mean(d) for d in data])
    best = int(np.argmax(_signed(means, cfg.goal)))
    text = (
        f"Rinott (two-stage, h = {h:.3f}): P(the selected variant is the best, or within {delta:g} of it) >= "
        f"{cfg.confidence:g} for independent normal outputs."
    )
    return _finish(cfg, names, best, data, means, [None] * k, delta, text, bool((wanted <= total).all()))


def ocba_allocation(means: np.ndarray, stds: np.ndarray, total: float, goal: str = "min") -> np.ndarray:
    """Chen's OCBA shares of ``total``: N_i / N_j = (s_i/d_i)^2 / (s_j/d_j)^2, N_b = s_b sqrt(sum N_i^2 / s_i^2).

    >>> ocba_allocation(np.array([0.0, 1.0, 2.0]), np.ones(3), 100).round(1).tolist()
    [45.2, 43.8, 11.0]
    """
    m, s = _signed(np.asarray(means, dtype=float), goal), np.maximum(np.asarray(stds, dtype=float), 1e-12)
    b = int(np.argmax(m))
    gap = np.maximum(m[b] - m, 1e-9 * (1.0 + np.abs(m).max()))
    ratio = (s / gap) ** 2
    ratio[b] = 0.0
    others = np.arange(len(m)) != b
    ratio[b] = s[b] * math.sqrt(float(np.sum(ratio[others] ** 2 / s[others] ** 2)))
    return total * ratio / ratio.sum()


def _ocba_pcs(means: np.ndarray, stds: np.ndarray, n: np.ndarray, delta: float, goal: str) -> float:
    """Estimated P(correct selection): 1 - sum_i Phi(-max(d_i, delta) / se_i), a Bonferroni bound."""
    m = _signed(means, goal)
    b = int(np.argmax(m))
    se = np.sqrt(stds**2 / n + stds[b] ** 2 / n[b])
    others = np.arange(len(m)) != b
    gaps = np.maximum(m[b] - m[others], delta)
    return float(1.0 - np.sum(special.ndtr(-gaps / np.maximum(se[others], 1e-300))))


def _ocba(sample: Sampler, names: tuple[str, ...], cfg: SelectConfig) -> Selection:
    """OCBA rounds until the estimated P(CS) reaches P* or the budget (or a variant's cap) is spent."""
    k, n0, delta = len(names), cfg.first_stage, cfg.indifference
    budget = min(cfg.budget or k * cfg.max_replications, k * cfg.max_replications)
    step = cfg.increment or k
    data = [list(row) for row in sample(list(range(k)), 0, n0)]
    while True:
        n = np.array([len(d) for d in data], dtype=float)
        means = np.array([np.mean(d) for d in data])
        stds = np.array([np.std(d, ddof=1) for d in data])
        pcs = _ocba_pcs(means, stds, n, delta, cfg.goal)
        room = budget - int(n.sum())
        if pcs >= cfg.confidence or room <= 0:
            break
        add = _ocba_round(ocba_allocation(means, stds, n.sum() + min(step, room), cfg.goal), n, cfg.max_replications)
        if not add.any():
            break
        for v in np.flatnonzero(add):
            data[v].extend(sample([int(v)], len(data[v]), int(add[v]))[0])
    best = int(np.argmax(_signed(means, cfg.goal)))
    text = (
        f"OCBA (budget allocation): estimated P(the selected variant is the best, or within {delta:g} of it) = "
        f"{min(pcs, 1.0):.3f} against P* = {cfg.confidence:g}; an estimate (Bonferroni bound), not a guarantee."
    )
    return _finish(cfg, names, best, data, means, [None] * k, delta, text, pcs >= cfg.confidence)


def _ocba_round(target: np.ndarray, n: np.ndarray, cap: int) -> np.ndarray:
    """Whole replications to add this round, one at a time to the largest shortfall from ``target``; none past ``cap``."""
    room = np.maximum(cap - n, 0).astype(int)
    short = np.maximum(target - n, 0.0)
    add = np.zeros(len(n), dtype=int)
    for _ in range(max(1, round(float(target.sum() - n.sum())))):
        open_ = add < room
        if not open_.any():
            break
        v = int(np.argmax(np.where(open_, short - add, -np.inf)))
        add[v] += 1
    return add


def _finish(cfg, names, best, data, means, out_at, delta, text, guaranteed) -> Selection:
    """Assemble the :class:`Selection`: stds, MCB intervals (half-width delta; OCBA's from its data) and the text."""
    n = np.array([len(d) for d in data])
    stds = np.array([np.std(d, ddof=1) for d in data])
    width: np.ndarray | float = delta
    if cfg.procedure == "ocba":  # no indifference-zone guarantee: a Bonferroni-t width per variant
        alpha = (1.0 - cfg.confidence) / (len(names) - 1)
        se = np.sqrt(stds[:, None] ** 2 / n[:, None] + stds[None, :] ** 2 / n[None, :])
        np.fill_diagonal(se, 0.0)
        width = stats.t.ppf(1.0 - alpha, int(n.min()) - 1) * se.max(axis=1)
    lo, hi = mcb_intervals(means, cfg.goal, width)
    if not guaranteed:
        text += " It stopped at its replication limit before the guarantee held."
    return Selection(
        config=cfg,
        names=tuple(names),
        selected=int(best),
        replications=tuple(int(x) for x in n),
        means=tuple(float(x) for x in means),
        stds=tuple(float(x) for x in stds),
        eliminated_after=tuple(out_at),
        mcb_lower=tuple(float(x) for x in lo),
        mcb_upper=tuple(float(x) for x in hi),
        guarantee=text,
        guaranteed=bool(guaranteed),
    )
