"""Every distribution's sampler agrees with its own analytic mean and variance.

Scenario files describe lead times, basket sizes and prices with these
distributions, and the reorder-point formulas in sim.model.policy use their ``mean``
and ``variance``; if the sampler and the formula disagree, the simulation and
the theory silently drift apart. Fixed seeds keep the tests deterministic; the
tolerances come from the standard errors (a 5-SE band), not from seeded digits.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from sim.scenario.distributions import (
    Constant,
    Empirical,
    Exponential,
    Gamma,
    LogNormal,
    NegativeBinomial,
    Normal,
    Poisson,
    Uniform,
    coerce_dist,
    nonnegative,
)
from sim.scenario.schema import Dist

N = 400_000
Z_BAND = 5.0
SCENARIO_DIST = TypeAdapter(Dist)


def make(spec: dict):
    """Build a distribution exactly as the scenario loader does (from YAML-like data)."""
    return SCENARIO_DIST.validate_python(spec)


def assert_moments(dist, n: int = N, seed: int = 12345) -> np.ndarray:
    """Sample mean and variance lie within 5 standard errors of ``dist.mean`` / ``dist.variance``.

    SE(mean) = sd / sqrt(n); SE(variance) = sqrt((mu4 - sigma^4) / n), with the
    fourth central moment estimated from the sample.
    """
    x = dist.sample(np.random.default_rng(seed), n)
    assert x.shape == (n,)
    assert np.all(np.isfinite(x))
    var = dist.variance
    se_mean = math.sqrt(var / n)
    assert abs(x.mean() - dist.mean) <= Z_BAND * se_mean + 1e-12, (x.mean(), dist.mean, se_mean)
    centred = x - x.mean()
    mu4 = float(np.mean(centred**4))
    se_var = math.sqrt(max(mu4 - x.var() ** 2, 0.0) / n)
    assert abs(x.var(ddof=1) - var) <= Z_BAND * se_var + 1e-12, (x.var(ddof=1), var, se_var)
    return x


CASES = {
    "constant": {"dist": "constant", "value": 4.5},
    "uniform": {"dist": "uniform", "low": 2.0, "high": 9.0},
    "normal": {"dist": "normal", "mean": 200.0, "sd": 60.0},
    "normal_truncated_heavily": {"dist": "normal", "mean": 1.0, "sd": 2.0},
    "normal_truncated_at_mean_zero": {"dist": "normal", "mean": 0.0, "sd": 1.0},
    "lognormal": {"dist": "lognormal", "mean": 7.0, "cv": 0.3},
    "lognormal_skewed": {"dist": "lognormal", "mean": 90.0, "cv": 0.9},
    "gamma": {"dist": "gamma", "mean": 5.0, "cv": 0.3},
    "gamma_cv_above_one": {"dist": "gamma", "mean": 18.0, "cv": 1.5},
    "exponential": {"dist": "exponential", "mean": 3.0},
    "poisson": {"dist": "poisson", "mean": 3.0},
    "poisson_shifted": {"dist": "poisson", "mean": 1.6, "shift": 1},
    "negative_binomial": {"dist": "negative_binomial", "mean": 4.0, "dispersion": 2.0},
    "negative_binomial_shifted": {"dist": "negative_binomial", "mean": 2.5, "dispersion": 0.7, "shift": 1},
    "empirical": {"dist": "empirical", "values": [1, 2, 3], "probs": [0.75, 0.18, 0.07]},
    "empirical_equal": {"dist": "empirical", "values": [20, 30, 60]},
}


@pytest.mark.parametrize("name", list(CASES))
def test_sample_moments_match_analytic_moments(name):
    assert_moments(make(CASES[name]))


@pytest.mark.parametrize(
    "spec, mean, variance",
    [
        ({"dist": "uniform", "low": 2, "high": 8}, 5.0, 3.0),
        ({"dist": "lognormal", "mean": 7, "cv": 0.3}, 7.0, 4.41),
        ({"dist": "gamma", "mean": 5, "cv": 0.4}, 5.0, 4.0),
        ({"dist": "exponential", "mean": 3}, 3.0, 9.0),
        ({"dist": "poisson", "mean": 3}, 3.0, 3.0),
        ({"dist": "poisson", "mean": 1.6, "shift": 1}, 1.6, 0.6),
        ({"dist": "negative_binomial", "mean": 4, "dispersion": 2}, 4.0, 12.0),
        ({"dist": "empirical", "values": [0, 10], "probs": [0.5, 0.5]}, 5.0, 25.0),
    ],
)
def test_analytic_moments_are_the_textbook_formulas(spec, mean, variance):
    d = make(spec)
    assert d.mean == pytest.approx(mean)
    assert d.variance == pytest.approx(variance)
    assert d.std == pytest.approx(math.sqrt(variance))


# ---------------------------------------------------------------- truncated normal
@pytest.mark.parametrize("mu, sd", [(200.0, 60.0), (1.0, 2.0), (0.0, 1.0), (-2.0, 1.0)])
def test_truncated_normal_moments_are_those_of_the_truncated_law(mu, sd):
    """Negative draws are redrawn, so the moments are those of N(mu, sd) given X >= 0."""
    d = make({"dist": "normal", "mean": mu, "sd": sd})
    # Independent numerical integration of the truncated density on a fine grid.
    grid = np.linspace(0.0, max(mu, 0.0) + 12 * sd, 400_001)
    dens = np.exp(-0.5 * ((grid - mu) / sd) ** 2)
    w = dens / np.trapezoid(dens, grid)
    m1 = np.trapezoid(grid * w, grid)
    var = np.trapezoid((grid - m1) ** 2 * w, grid)
    assert d.mean == pytest.approx(m1, rel=1e-6)
    assert d.variance == pytest.approx(var, rel=1e-5)
    x = assert_moments(d, n=200_000)
    assert x.min() >= 0.0


def test_truncated_normal_mean_of_classroom_rs_is_about_200():
    """classroom_rs relies on truncation being negligible at N(200, 60)."""
    d = make({"dist": "normal", "mean": 200, "sd": 60})
    assert d.mean == pytest.approx(200.0926, abs=1e-3)
    assert d.std == pytest.approx(59.845, abs=1e-2)


def test_normal_with_zero_sd_is_its_mean():
    d = make({"dist": "normal", "mean": 3.0, "sd": 0})
    assert d.mean == 3.0 and d.variance == 0.0
    assert np.all(d.sample(np.random.default_rng(0), 100) == 3.0)


# ---------------------------------------------------------------- shape of the samples
@pytest.mark.parametrize("name", ["poisson", "poisson_shifted", "negative_binomial_shifted", "empirical"])
def test_discrete_distributions_give_whole_numbers_at_least_the_shift(name):
    d = make(CASES[name])
    assert d.is_discrete
    x = d.sample(np.random.default_rng(3), 10_000)
    assert np.all(x == np.round(x))
    assert x.min() >= CASES[name].get("shift", 0)


def test_empirical_only_produces_listed_values_with_their_probabilities():
    d = make({"dist": "empirical", "values": [1, 2, 3], "probs": [0.75, 0.18, 0.07]})
    n = 200_000
    x = d.sample(np.random.default_rng(9), n)
    assert set(np.unique(x)) <= {1.0, 2.0, 3.0}
    for v, p in zip([1, 2, 3], [0.75, 0.18, 0.07]):
        assert abs(np.mean(x == v) - p) <= Z_BAND * math.sqrt(p * (1 - p) / n)


def test_same_generator_state_gives_the_same_sample():
    d = make({"dist": "gamma", "mean": 5, "cv": 0.3})
    a = d.sample(np.random.default_rng(42), 1000)
    b = d.sample(np.random.default_rng(42), 1000)
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- YAML shorthand
@pytest.mark.parametrize("value", [5, 5.5, 0])
def test_a_bare_number_becomes_a_constant(value):
    d = make(value)
    assert isinstance(d, Constant)
    assert d.value == value and d.mean == value and d.variance == 0.0
    np.testing.assert_array_equal(d.sample(np.random.default_rng(1), 4), np.full(4, float(value)))


def test_a_boolean_is_not_taken_for_a_number():
    assert coerce_dist(True) is True
    with pytest.raises(ValidationError):
        make(True)


@pytest.mark.parametrize(
    "spec, cls",
    [
        ({"dist": "uniform", "low": 0, "high": 1}, Uniform),
        ({"dist": "normal", "mean": 1, "sd": 1}, Normal),
        ({"dist": "lognormal", "mean": 1, "cv": 1}, LogNormal),
        ({"dist": "gamma", "mean": 1, "cv": 1}, Gamma),
        ({"dist": "exponential", "mean": 1}, Exponential),
        ({"dist": "poisson", "mean": 1}, Poisson),
        ({"dist": "negative_binomial", "mean": 1, "dispersion": 1}, NegativeBinomial),
        ({"dist": "empirical", "values": [1]}, Empirical),
    ],
)
def test_the_dist_key_selects_the_distribution(spec, cls):
    assert isinstance(make(spec), cls)


# ---------------------------------------------------------------- invalid parameters
@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "uniform", "low": 5, "high": 1},  # high < low
        {"dist": "normal", "mean": 5, "sd": -1},  # negative sd
        {"dist": "normal", "mean": -100, "sd": 1},  # no mass above 0
        {"dist": "normal", "mean": -1, "sd": 0},
        {"dist": "lognormal", "mean": 0, "cv": 0.3},  # mean must be > 0
        {"dist": "lognormal", "mean": 5, "cv": -0.1},
        {"dist": "gamma", "mean": 5, "cv": 0},  # shape 1/cv^2 undefined
        {"dist": "gamma", "mean": -5, "cv": 0.3},
        {"dist": "exponential", "mean": 0},
        {"dist": "poisson", "mean": -1},
        {"dist": "poisson", "mean": 0.5, "shift": 1},  # shift above the mean
        {"dist": "negative_binomial", "mean": 3, "dispersion": 0},
        {"dist": "negative_binomial", "mean": 1, "dispersion": 1, "shift": 1},
        {"dist": "empirical", "values": []},
        {"dist": "empirical", "values": [1, 2], "probs": [0.5]},  # lengths differ
        {"dist": "empirical", "values": [1, 2], "probs": [0.7, 0.7]},  # do not sum to 1
        {"dist": "empirical", "values": [1, 2], "probs": [1.5, -0.5]},  # outside [0, 1]
        {"dist": "lognormal", "mean": 7},  # cv missing
        {"dist": "lognormal", "mean": 7, "cv": 0.3, "sd": 2},  # unknown key
        {"dist": "weibull", "mean": 7},  # unknown name
        {"mean": 7, "cv": 0.3},  # no dist key
        "seven",
    ],
)
def test_invalid_parameters_raise_validation_error(spec):
    with pytest.raises(ValidationError):
        make(spec)


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "lognormal", "mean": float("inf"), "cv": 0.3},
        {"dist": "lognormal", "mean": float("nan"), "cv": 0.3},
        {"dist": "uniform", "low": 0, "high": float("inf")},
        {"dist": "empirical", "values": [1, float("nan")]},
        {"dist": "normal", "mean": float("nan"), "sd": 1},
        {"dist": "constant", "value": float("inf")},
    ],
)
def test_non_finite_parameters_are_rejected(spec):
    """A NaN or infinite parameter would poison every sample; it must fail validation."""
    with pytest.raises(ValidationError):
        make(spec)


def test_nonnegative_flags_distributions_that_can_go_below_zero():
    assert nonnegative(make(3)) and not nonnegative(make(-3))
    assert not nonnegative(make({"dist": "uniform", "low": -1, "high": 1}))
    assert not nonnegative(make({"dist": "empirical", "values": [-1, 2]}))
    assert nonnegative(make({"dist": "normal", "mean": -1, "sd": 2}))  # truncated at 0


def test_distributions_are_immutable():
    d = make({"dist": "gamma", "mean": 5, "cv": 0.3})
    with pytest.raises(ValidationError):
        d.cv = 0.5


# ---------------------------------------------------------------- properties
@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["lognormal", "gamma"]),
    mean=st.floats(0.05, 500.0),
    cv=st.floats(0.05, 2.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_mean_cv_distributions_hit_their_mean(kind, mean, cv, seed):
    """For any mean and cv, the sample mean lies within 5 SE of the requested mean."""
    d = make({"dist": kind, "mean": mean, "cv": cv})
    assert d.mean == pytest.approx(mean)
    assert d.std == pytest.approx(mean * cv)
    n = 50_000
    x = d.sample(np.random.default_rng(seed), n)
    assert np.all(x >= 0)
    assert abs(x.mean() - mean) <= Z_BAND * mean * cv / math.sqrt(n)


@settings(max_examples=40, deadline=None)
@given(mean=st.floats(0.1, 50.0), dispersion=st.floats(0.2, 50.0), seed=st.integers(0, 2**32 - 1))
def test_negative_binomial_hits_its_mean(mean, dispersion, seed):
    d = make({"dist": "negative_binomial", "mean": mean, "dispersion": dispersion})
    n = 50_000
    x = d.sample(np.random.default_rng(seed), n)
    assert abs(x.mean() - mean) <= Z_BAND * math.sqrt(d.variance / n)
