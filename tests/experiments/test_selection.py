"""The selection procedures against what they promise, on variants whose true means are known.

Outputs are normal with known means, so the correct answer is certain. The configuration is the
slippage one (every other variant exactly delta worse than the best), the least favourable for
an indifference-zone procedure: if P(correct selection) >= P* holds there, it holds everywhere.
Each test uses 200 macro-replications with fixed seeds, and its interval excludes a procedure
only 90% right.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from experiments.selection import (
    SelectConfig,
    bechhofer_h,
    fixed_n_design,
    kn_eta,
    mcb_intervals,
    ocba_allocation,
    rinott_h,
    select,
)

K, DELTA, SIGMA, MACRO = 4, 0.5, 1.0, 200
TRUTH = np.array([0.0] + [DELTA] * (K - 1))  # smaller is better: variant 0 is best by exactly delta
NAMES = [f"v{i}" for i in range(K)]


def _sampler(seed: int, rho: float, columns: int = 4000):
    """Normal outputs; replication r of every variant shares a common shock with correlation ``rho`` (CRN)."""
    rng = np.random.default_rng(seed)
    common, own = rng.normal(size=columns), rng.normal(size=(K, columns))
    values = TRUTH[:, None] + SIGMA * (np.sqrt(rho) * common + np.sqrt(1.0 - rho) * own)
    calls = []

    def sample(variants, first, count):
        calls.append((tuple(variants), first, count))
        return values[list(variants), first : first + count]

    sample.calls = calls  # type: ignore[attr-defined]
    return sample


def _macro(procedure: str, rho: float, **cfg):
    """P(correct selection), mean total replications and the selections over MACRO macro-replications."""
    config = SelectConfig("cost", "min", procedure, DELTA, 0.95, first_stage=10, **cfg)
    runs = [select(_sampler(m, rho), NAMES, config) for m in range(MACRO)]
    correct = sum(r.selected == 0 for r in runs)
    return correct, float(np.mean([r.total_replications for r in runs])), runs


def _lower_bound(successes: int, n: int, level: float = 0.95) -> float:
    """One-sided Clopper-Pearson lower confidence bound of a binomial proportion."""
    return float(stats.beta.ppf(1 - level, successes, n - successes + 1)) if successes else 0.0


@pytest.mark.parametrize(("procedure", "rho"), [("kn", 0.0), ("kn", 0.5), ("ocba", 0.5), ("rinott", 0.0)])
def test_each_procedure_selects_the_best_with_at_least_the_promised_probability(procedure, rho):
    correct, _, runs = _macro(procedure, rho)
    assert correct / MACRO >= 0.95
    assert _lower_bound(correct, MACRO) > 0.90  # excludes a procedure right only 90% of the time
    assert all(r.guaranteed for r in runs)


def test_kn_uses_fewer_replications_than_the_fixed_n_design_and_fewer_still_with_crn():
    fixed = K * fixed_n_design(K, 0.95, DELTA, SIGMA)  # Bechhofer, told the true sigma
    _, independent, _ = _macro("kn", 0.0)
    _, crn, _ = _macro("kn", 0.5)
    assert independent < 0.95 * fixed
    assert crn < 0.7 * independent  # common random numbers shrink the paired-difference variances


def test_mcb_intervals_after_kn_cover_every_true_difference_simultaneously():
    true_diff = TRUTH - np.array([np.delete(TRUTH, i).min() for i in range(K)])  # -delta for the best, +delta else
    config = SelectConfig("cost", "min", "kn", DELTA, 0.95, first_stage=10)
    covered = 0
    for m in range(MACRO):
        r = select(_sampler(m, 0.5), NAMES, config)
        covered += bool(np.all((np.array(r.mcb_lower) <= true_diff) & (true_diff <= np.array(r.mcb_upper))))
    assert covered / MACRO >= 0.95 and _lower_bound(covered, MACRO) > 0.90


def test_kn_eliminates_clearly_worse_variants_early_and_reports_the_stage():
    truth_far = np.array([0.0, 3.0, 3.0, 0.6])
    rng = np.random.default_rng(5)
    values = truth_far[:, None] + rng.normal(size=(K, 3000))
    config = SelectConfig("cost", "min", "kn", DELTA, 0.95, first_stage=10)
    r = select(lambda v, f, c: values[list(v), f : f + c], NAMES, config)
    assert r.selected_name == "v0"
    out = r.eliminated_after
    assert out[0] is None and out[1] <= 15 and out[2] <= 15 and out[3] > out[1]
    assert r.replications[1] == out[1] and r.replications[0] >= r.replications[3]
    table = r.table()
    assert table["replications"].sum() == r.total_replications and table["selected"].tolist() == [True] + [False] * 3


def test_a_larger_metric_is_better_when_the_goal_is_max():
    values = np.array([[0.0], [1.0], [5.0]]) + np.random.default_rng(2).normal(scale=0.1, size=(3, 500))
    for procedure in ("kn", "rinott", "ocba"):
        config = SelectConfig("fill", "max", procedure, 0.5, 0.95, first_stage=5)
        assert select(lambda v, f, c: values[list(v), f : f + c], ["a", "b", "c"], config).selected_name == "c"


def test_a_replication_cap_ends_kn_without_its_guarantee_and_says_so():
    config = SelectConfig("cost", "min", "kn", 0.01, 0.95, first_stage=10, max_replications=30)
    r = select(_sampler(1, 0.0), NAMES, config)
    assert not r.guaranteed and max(r.replications) == 30
    assert "replication limit" in r.guarantee


def test_ocba_spends_its_budget_where_it_decides_and_stops_at_the_budget():
    truth = np.array([0.0, 0.05, 3.0, 6.0])
    values = truth[:, None] + np.random.default_rng(3).normal(size=(K, 3000))
    config = SelectConfig("cost", "min", "ocba", 0.01, 0.95, first_stage=10, budget=400, increment=8)
    r = select(lambda v, f, c: values[list(v), f : f + c], NAMES, config)
    assert r.total_replications == 400 and not r.guaranteed  # a gap of 0.05 cannot be resolved in 400
    n = r.replications
    assert n[0] > n[2] >= n[3] and n[1] > n[2]  # the best and its close rival get the budget
    assert "estimate" in r.guarantee


def test_ocba_allocation_follows_chens_ratios():
    means, stds = np.array([1.0, 2.0, 3.5, 2.5]), np.array([1.0, 2.0, 1.5, 0.5])
    n = ocba_allocation(means, stds, 1000.0)
    d = means - means[0]
    assert n.sum() == pytest.approx(1000.0)
    assert n[1] / n[2] == pytest.approx((stds[1] / d[1]) ** 2 / (stds[2] / d[2]) ** 2)
    assert n[0] == pytest.approx(stds[0] * np.sqrt(np.sum(n[1:] ** 2 / stds[1:] ** 2)))


def test_the_constants_agree_with_their_definitions():
    assert bechhofer_h(2, 0.95) == pytest.approx(stats.norm.ppf(0.95), abs=1e-8)  # k = 2: one normal
    assert kn_eta(3, 11, 0.9) == pytest.approx(0.5 * ((2 * 0.1 / 2) ** (-2 / 10) - 1))
    # Rinott's h against a Monte Carlo of the probability it is defined by
    k, n0, p = 4, 10, 0.95
    h, nu, rng = rinott_h(k, n0, p), n0 - 1, np.random.default_rng(0)
    y, x, z = rng.chisquare(nu, 400_000), rng.chisquare(nu, (400_000, k - 1)), rng.normal(size=(400_000, k - 1))
    hit = (z <= h / np.sqrt(nu * (1 / x + 1 / y[:, None]))).all(axis=1)
    assert abs(hit.mean() - p) < 4 * np.sqrt(p * (1 - p) / 400_000)
    assert rinott_h(k, n0, 0.99) > h > rinott_h(k, 40, p)  # more confidence, or fewer first-stage degrees, costs


def test_mcb_interval_signs_rule_out_and_keep_in():
    lo, hi = mcb_intervals(np.array([1.0, 2.0, 5.0]), "min", 0.5)
    assert (lo[0], hi[0]) == (-1.5, 0.0)  # the best: better than the others' best by up to 1.5
    assert (lo[1], hi[1]) == (0.0, 1.5) and (lo[2], hi[2]) == (0.0, 4.5)  # no better than the best: ruled out
    lo, hi = mcb_intervals(np.array([1.0, 1.2]), "max", 0.5)
    assert (lo[1], hi[1]) == pytest.approx((-0.3, 0.7))  # within delta: both stay in contention


@pytest.mark.parametrize(
    ("names", "config", "message"),
    [
        (["a"], SelectConfig("x"), "at least two variants"),
        (["a", "b"], SelectConfig("x", confidence=0.4), "confidence must be above 1/k"),
        (["a", "b"], SelectConfig("x", first_stage=1), "at least 2 replications"),
        (["a", "b"], SelectConfig("x", procedure="best"), "unknown procedure 'best'"),
        (["a", "b"], SelectConfig("x", first_stage=20, max_replications=10), "first_stage exceeds"),
    ],
)
def test_bad_designs_are_refused_with_the_reason(names, config, message):
    with pytest.raises(ValueError, match=message):
        select(lambda v, f, c: np.zeros((len(v), c)), names, config)
