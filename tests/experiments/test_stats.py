"""Tests for experiments.stats: t quantiles, CIs, summaries, paired differences."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.stats import (
    CI,
    mean_ci,
    normal_quantile,
    paired_differences,
    replications_needed,
    summarize,
    summary_wide,
    t_cdf,
    t_quantile,
    welch_half_width,
)

# --------------------------------------------------------------------------- t quantile

# Published values (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2), 6 decimals.
TABLE = [
    (0.975, 1, 12.706205),
    (0.975, 2, 4.302653),
    (0.975, 3, 3.182446),
    (0.975, 9, 2.262157),
    (0.995, 29, 2.756386),
    (0.975, 1000, 1.962339),
    (0.95, 10, 1.812461),
    (0.975, 30, 2.042272),
    (0.999, 5, 5.893430),
    (0.90, 20, 1.325341),
    (0.995, 1, 63.656741),
]


@pytest.mark.parametrize("p, df, expected", TABLE)
def test_t_quantile_matches_table(p, df, expected):
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-6)
    assert t_quantile(1 - p, df) == pytest.approx(-expected, abs=1e-6)


def test_t_quantile_brief_values_to_three_decimals():
    assert round(t_quantile(0.975, 1), 3) == 12.706
    assert round(t_quantile(0.975, 9), 3) == 2.262
    assert round(t_quantile(0.995, 29), 3) == 2.756
    assert abs(t_quantile(0.975, 1000) - 1.962) < 5e-4


def test_t_quantile_limits():
    assert t_quantile(0.5, 7) == 0.0
    assert t_quantile(0.975, math.inf) == pytest.approx(1.959963985, abs=1e-9)
    assert t_quantile(0.975, 1e9) == pytest.approx(1.959963985, abs=1e-8)
    assert normal_quantile(0.995) == pytest.approx(2.575829304, abs=1e-9)
    for bad_p in (0.0, 1.0, -0.1, 1.2):
        with pytest.raises(ValueError):
            t_quantile(bad_p, 5)
    with pytest.raises(ValueError):
        t_quantile(0.9, 0)


@settings(max_examples=200, deadline=None)
@given(p=st.floats(0.0005, 0.9995))
def test_t_quantile_df4_closed_form(p):
    # Exact inverse for 4 degrees of freedom (Shaw 2006): a = 4p(1-p),
    # q = cos(arccos(sqrt a) / 3) / sqrt a, t = sign(p - 1/2) * 2 sqrt(q - 1).
    a = 4 * p * (1 - p)
    q = math.cos(math.acos(math.sqrt(a)) / 3) / math.sqrt(a)
    exact = math.copysign(2 * math.sqrt(max(q - 1, 0.0)), p - 0.5)
    assert t_quantile(p, 4) == pytest.approx(exact, abs=1e-9, rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(p=st.floats(1e-6, 1 - 1e-6), df=st.floats(0.5, 5000))
def test_t_quantile_inverts_cdf(p, df):
    assert t_cdf(t_quantile(p, df), df) == pytest.approx(p, abs=1e-10, rel=1e-8)


@pytest.mark.parametrize("df", [1.0, 2.5, 7.3, 30.0])
@pytest.mark.parametrize("t", [0.3, 1.0, 2.2, 4.0])
def test_t_cdf_matches_numerical_integral_of_density(df, t):
    # Simpson's rule on the density; independent of the incomplete beta code.
    xs = np.linspace(0.0, t, 20001)
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    f = c * (1 + xs**2 / df) ** (-(df + 1) / 2)
    h = xs[1] - xs[0]
    integral = h / 3 * (f[0] + f[-1] + 4 * f[1:-1:2].sum() + 2 * f[2:-1:2].sum())
    assert t_cdf(t, df) == pytest.approx(0.5 + integral, abs=1e-10)


# --------------------------------------------------------------------------- mean_ci
def test_mean_ci_hand_computed():
    ci = mean_ci([1.0, 2.0, 3.0, 4.0])  # mean 2.5, s = sqrt(5/3)
    hw = 3.182446305 * math.sqrt(5 / 3) / 2
    assert (ci.mean, ci.n, ci.level) == (2.5, 4, 0.95)
    assert ci.half_width == pytest.approx(hw, rel=1e-9)
    assert (ci.low, ci.high) == pytest.approx((2.5 - hw, 2.5 + hw))
    assert ci.contains(2.5) and ci.contains(ci.low) and not ci.contains(ci.high + 1e-9)
    assert "±" in str(ci)


def test_mean_ci_drops_nan_and_handles_small_n():
    assert mean_ci([1.0, np.nan, 3.0]).n == 2
    one = mean_ci([5.0, np.nan])
    assert one.mean == 5.0 and one.n == 1
    assert math.isnan(one.half_width) and math.isnan(one.low) and math.isnan(one.high)
    assert not one.contains(5.0)
    empty = mean_ci([])
    assert empty.n == 0 and math.isnan(empty.mean)
    flat = mean_ci([2.0, 2.0, 2.0])
    assert flat.half_width == 0.0 and flat.contains(2.0)
    assert isinstance(flat, CI)
    with pytest.raises(ValueError):
        mean_ci([1.0, 2.0], level=1.5)


@pytest.mark.parametrize("level", [0.95, 0.90])
def test_mean_ci_coverage_by_simulation(level):
    rng = np.random.default_rng(20240601)
    samples = rng.normal(loc=3.0, scale=2.0, size=(2000, 10))
    covered = sum(mean_ci(row, level).contains(3.0) for row in samples)
    # binomial sd of the coverage estimate is ~0.005; the band is ~4 sd wide.
    assert level - 0.02 <= covered / 2000 <= level + 0.02


def test_welch_half_width_hand_computed():
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0]
    va, vb = np.var(a, ddof=1) / 4, np.var(b, ddof=1) / 4
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 3)
    assert df == pytest.approx(4.41176, rel=1e-5)
    expected = t_quantile(0.975, df) * math.sqrt(va + vb)
    assert welch_half_width(a, b) == pytest.approx(expected, rel=1e-12)
    assert math.isnan(welch_half_width([1.0], b))


# --------------------------------------------------------------------------- tables
@pytest.fixture
def runs():
    # Variant "b" first on purpose: order of first appearance must be kept.
    return pd.DataFrame(
        {
            "variant": ["b", "b", "b", "a", "a", "a", "a", "c"],
            "replication": [0, 1, 2, 0, 1, 2, 3, 0],
            "status": ["ok", "ok", "ok", "ok", "ok", "ok", "error", "error"],
            "cost": [11.0, 13.0, 15.0, 10.0, 11.0, 13.0, 999.0, 1.0],
            "fill": [0.9, np.nan, 0.8, 0.95, 0.85, 0.9, 0.0, 0.0],
        }
    )


def test_summarize_hand_computed(runs):
    s = summarize(runs, ["cost", "fill"])
    assert list(s.columns) == ["variant", "metric", "n", "mean", "std", "half_width", "ci_low", "ci_high"]
    assert s["variant"].tolist() == ["b", "b", "a", "a", "c", "c"]
    assert s["metric"].tolist() == ["cost", "fill"] * 3
    b_cost = s.iloc[0]
    assert b_cost["n"] == 3 and b_cost["mean"] == pytest.approx(13.0)
    assert b_cost["std"] == pytest.approx(2.0)
    assert b_cost["half_width"] == pytest.approx(4.302653 * 2.0 / math.sqrt(3), rel=1e-6)
    assert b_cost["ci_low"] == pytest.approx(13.0 - b_cost["half_width"])
    a_cost = s.iloc[2]  # the failed replication (cost 999) is excluded
    assert a_cost["n"] == 3 and a_cost["mean"] == pytest.approx(34 / 3)
    b_fill = s.iloc[1]  # NaN dropped
    assert b_fill["n"] == 2 and b_fill["mean"] == pytest.approx(0.85)
    c_cost = s.iloc[4]  # only failed runs: kept, with n = 0
    assert c_cost["n"] == 0 and math.isnan(c_cost["mean"])


def test_summarize_group_cols_and_wide(runs):
    runs = runs.assign(pickers=[5, 5, 5, 10, 10, 10, 10, 10])
    s = summarize(runs, ["cost"], group_cols=["variant", "pickers"])
    assert list(s.columns[:3]) == ["variant", "pickers", "metric"]
    w = summary_wide(summarize(runs, ["cost", "fill"]))
    assert w["variant"].tolist() == ["b", "a", "c"]
    assert w.loc[0, "cost"] == pytest.approx(13.0)
    assert {"cost_ci_low", "cost_ci_high", "fill_half_width", "fill_n"} <= set(w.columns)
    with pytest.raises(KeyError):
        summarize(runs, ["nonexistent"])


def test_paired_differences_hand_computed(runs):
    d = paired_differences(runs, ["cost"], baseline="a")
    assert list(d.columns) == [
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
    assert d["variant"].tolist() == ["b", "c"]  # baseline excluded, order kept
    row = d.iloc[0]
    # b - a on replications 0, 1, 2: diffs 1, 2, 2 -> mean 5/3, s = sqrt(1/3)
    assert row["n"] == 3 and row["mean_diff"] == pytest.approx(5 / 3)
    assert row["half_width"] == pytest.approx(4.302653 * math.sqrt(1 / 3) / math.sqrt(3), rel=1e-6)
    assert bool(row["excludes_zero"]) is True
    assert row["unpaired_half_width"] == pytest.approx(welch_half_width([11, 13, 15], [10, 11, 13]), rel=1e-12)
    c = d.iloc[1]  # c has no ok replication
    assert c["n"] == 0 and math.isnan(c["mean_diff"]) and not c["excludes_zero"]


def test_paired_only_uses_replications_ok_in_both():
    runs = pd.DataFrame(
        {
            "variant": ["base"] * 4 + ["alt"] * 4,
            "replication": [0, 1, 2, 3] * 2,
            "status": ["ok", "ok", "error", "ok", "ok", "error", "ok", "ok"],
            "cost": [10.0, 20.0, 30.0, 40.0, 12.0, 99.0, 99.0, 43.0],
        }
    )
    row = paired_differences(runs, ["cost"], baseline="base").iloc[0]
    assert row["n"] == 2 and row["mean_diff"] == pytest.approx(2.5)  # reps 0 and 3


def test_paired_is_narrower_than_unpaired_on_correlated_data():
    rng = np.random.default_rng(7)
    common = rng.normal(100.0, 20.0, size=30)  # shared by both variants (CRN)
    base = common + rng.normal(0.0, 1.0, size=30)
    alt = common + rng.normal(0.0, 1.0, size=30)  # same mean as base
    runs = pd.DataFrame(
        {
            "variant": ["base"] * 30 + ["alt"] * 30,
            "replication": list(range(30)) * 2,
            "status": "ok",
            "cost": np.concatenate([base, alt]),
        }
    )
    row = paired_differences(runs, ["cost"], baseline="base").iloc[0]
    assert row["half_width"] < row["unpaired_half_width"] / 5
    assert row["ci_low"] <= 0.0 <= row["ci_high"] and not row["excludes_zero"]


def test_paired_rejects_bad_input(runs):
    with pytest.raises(ValueError, match="baseline"):
        paired_differences(runs, ["cost"], baseline="zzz")
    dup = pd.concat([runs, runs.iloc[[0]]])
    with pytest.raises(ValueError, match="unique"):
        paired_differences(dup, ["cost"], baseline="a")


# --------------------------------------------------------------------------- sample size
def test_replications_needed_hand_computed():
    pilot = [98, 102, 101, 99, 100, 97, 103, 100, 99, 101]  # s^2 = 30/9
    n = replications_needed(pilot, 1.0)
    s = math.sqrt(30 / 9)
    assert n == 16
    assert t_quantile(0.975, n - 1) * s / math.sqrt(n) <= 1.0
    assert t_quantile(0.975, n - 2) * s / math.sqrt(n - 1) > 1.0


@settings(max_examples=60, deadline=None)
@given(s=st.floats(0.1, 100.0), h=st.floats(0.01, 50.0), level=st.sampled_from([0.9, 0.95, 0.99]))
def test_replications_needed_is_smallest_sufficient_n(s, h, level):
    n = replications_needed([0.0, s * math.sqrt(2)], h, level)  # sample sd is exactly s
    p = (1 + level) / 2
    assert n >= 2
    assert t_quantile(p, n - 1) * s / math.sqrt(n) <= h * (1 + 1e-12)
    if n > 2:
        assert t_quantile(p, n - 2) * s / math.sqrt(n - 1) > h


def test_replications_needed_edge_cases():
    assert replications_needed([5.0, 5.0, 5.0], 0.1) == 2
    assert replications_needed(list(range(100)), 1000.0) == 2  # already far below target
    big = replications_needed([0.0, math.sqrt(2)], 0.01)  # s = 1: about (1.96 / 0.01)^2
    assert 38_415 <= big <= 38_430
    with pytest.raises(ValueError):
        replications_needed([1.0], 0.5)
    with pytest.raises(ValueError):
        replications_needed([1.0, 2.0], 0.0)
