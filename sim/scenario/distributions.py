"""Probability distributions written in scenario YAML as ``{dist: NAME, ...}``.

Every distribution samples in numpy batches from an injected
``numpy.random.Generator`` and knows its analytic ``mean`` and ``variance``,
so tests can compare the sampler against the formula (as Ciw does).

A plain number in YAML means a constant. Examples::

    lead_time_days: 5                                  # constant
    lead_time_days: {dist: gamma, mean: 5, cv: 0.4}
    units_per_line: {dist: poisson, mean: 1.3}
    pick_seconds: {dist: empirical, values: [20, 30, 60], probs: [0.5, 0.3, 0.2]}

>>> import numpy as np
>>> d = LogNormal(mean=7.0, cv=0.3)
>>> round(d.variance, 2)
4.41
>>> float(d.sample(np.random.default_rng(1), 200_000).mean()).__round__(1)
7.0
"""

from __future__ import annotations

import math
import types
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Parameters are bounded so that every sample, and every KPI built from samples, stays finite:
# no count, time or amount in a shop comes near 1e9 of its unit.
MAX_PARAM = 1e9  # |mean|, |value|, sd, low/high, empirical values
MAX_CV = 100.0  # coefficient of variation of lognormal and gamma
MAX_SHIFT = 10**6  # shift of the discrete counts


def _allows_bool(annotation: Any) -> bool:
    """Whether a field's type takes true/false (pydantic would otherwise read true as 1)."""
    if annotation is bool or annotation is Any:
        return True
    origin = get_origin(annotation)
    if origin is Annotated:
        return _allows_bool(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(_allows_bool(a) for a in get_args(annotation))
    if origin is Literal:
        return any(isinstance(a, bool) for a in get_args(annotation))
    return False


def reject_bool_for_numbers(model_cls: type[BaseModel], value: object, field_name: str) -> object:
    """A before-validator body: YAML true/false where a number (or a name) is expected is an error."""
    if isinstance(value, bool) and not _allows_bool(model_cls.model_fields[field_name].annotation):
        raise ValueError("expected a number, not true/false")
    return value


class _Dist(BaseModel):
    """Base of the distributions: frozen, batch sampling, analytic mean and variance."""

    # NaN or infinite parameters would poison every sample: reject them (subclasses inherit this).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans(cls, data: Any) -> Any:
        if isinstance(data, dict):  # field validators cannot run on the discriminator 'dist'
            for name, field in cls.model_fields.items():
                for key in {name, field.alias} - {None}:
                    if isinstance(data.get(key), bool) and not _allows_bool(field.annotation):
                        raise ValueError(f"{key}: expected a number, not true/false (got {data[key]})")
        return data

    @property
    def mean(self) -> float:
        """The analytic mean."""
        raise NotImplementedError

    @property
    def variance(self) -> float:
        """The analytic variance."""
        raise NotImplementedError

    @property
    def std(self) -> float:
        """The standard deviation, sqrt(variance)."""
        return math.sqrt(self.variance)

    @property
    def is_discrete(self) -> bool:
        """Whether every sample is a whole number (a count)."""
        return False

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` independent draws from ``rng`` as a float array."""
        raise NotImplementedError


class _Discrete:
    """Mixin of the distributions whose samples are whole numbers (counts, empirical values)."""

    @property
    def is_discrete(self) -> bool:
        """True: every sample is one of a discrete set of values."""
        return True


class _ByMean(_Dist):
    """Base of the distributions written with a ``mean:`` key (held as ``mean_``, so ``mean`` can be a property)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)
    if TYPE_CHECKING:  # declared with its bounds by each subclass, so the field order stays dist, mean, ...
        mean_: float

    @property
    def mean(self) -> float:
        """The mean, as written."""
        return self.mean_


class _ByMeanAndCv(_ByMean):
    """Base of the distributions given by mean and coefficient of variation: variance (mean cv)^2."""

    if TYPE_CHECKING:
        cv: float

    @property
    def variance(self) -> float:
        """(mean cv)^2."""
        return (self.mean_ * self.cv) ** 2


class Constant(_Dist):
    """Always ``value``."""

    dist: Literal["constant"] = "constant"
    value: float = Field(ge=-MAX_PARAM, le=MAX_PARAM)

    @property
    def mean(self) -> float:
        """``value``."""
        return self.value

    @property
    def variance(self) -> float:
        """0."""
        return 0.0

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` copies of ``value`` (``rng`` is not used)."""
        return np.full(size, float(self.value))


class Uniform(_Dist):
    """Continuous uniform on [low, high]: mean (a+b)/2, variance (b-a)^2/12."""

    dist: Literal["uniform"] = "uniform"
    low: float = Field(ge=-MAX_PARAM, le=MAX_PARAM)
    high: float = Field(ge=-MAX_PARAM, le=MAX_PARAM)

    @model_validator(mode="after")
    def _order(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    @property
    def mean(self) -> float:
        """(low + high) / 2."""
        return (self.low + self.high) / 2

    @property
    def variance(self) -> float:
        """(high - low)^2 / 12."""
        return (self.high - self.low) ** 2 / 12

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` uniform draws on [low, high]."""
        return rng.uniform(self.low, self.high, size)


def _phi(z: float) -> float:
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def _Phi(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


class Normal(_ByMean):
    """Normal(mean, sd) truncated at 0 (negative draws are redrawn).

    ``mean``/``variance`` are those of the truncated distribution:
    with a = -mu/sd and lambda = phi(a)/(1-Phi(a)),
    E = mu + sd*lambda, Var = sd^2 (1 + a*lambda - lambda^2)
    (Johnson, Kotz & Balakrishnan, Continuous Univariate Distributions).
    """

    dist: Literal["normal"] = "normal"
    mean_: float = Field(alias="mean", ge=-MAX_PARAM, le=MAX_PARAM)
    sd: float = Field(ge=0, le=MAX_PARAM)

    @model_validator(mode="after")
    def _positive_mass(self) -> Normal:
        if self.sd == 0 and self.mean_ < 0:
            raise ValueError("a normal truncated at 0 needs mean >= 0 when sd is 0")
        if self.sd > 0 and self.mean_ / self.sd < -8:
            raise ValueError("almost all mass is below 0; raise the mean or the sd")
        return self

    def _trunc(self) -> tuple[float, float]:
        """(a, lambda): the truncation point in sd units and the inverse Mills ratio there."""
        if self.sd == 0:
            return 0.0, 0.0
        a = -self.mean_ / self.sd
        lam = _phi(a) / max(1 - _Phi(a), 1e-300)
        return a, lam

    @property
    def mean(self) -> float:
        """Mean of the truncated distribution, mu + sd lambda."""
        _a, lam = self._trunc()
        return self.mean_ + self.sd * lam

    @property
    def variance(self) -> float:
        """Variance of the truncated distribution, sd^2 (1 + a lambda - lambda^2)."""
        a, lam = self._trunc()
        return self.sd**2 * (1 + a * lam - lam**2)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` normal draws, each negative one redrawn until it is not."""
        x = rng.normal(self.mean_, self.sd, size)
        bad = x < 0
        while bad.any():
            x[bad] = rng.normal(self.mean_, self.sd, int(bad.sum()))
            bad = x < 0
        return x


class LogNormal(_ByMeanAndCv):
    """Lognormal given by its mean and coefficient of variation (sd/mean)."""

    dist: Literal["lognormal"] = "lognormal"
    mean_: float = Field(alias="mean", gt=0, le=MAX_PARAM)
    cv: float = Field(ge=0, le=MAX_CV)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` lognormal draws with log-sd sqrt(log(1 + cv^2)) and the given mean."""
        sigma2 = math.log1p(self.cv**2)
        return rng.lognormal(math.log(self.mean_) - sigma2 / 2, math.sqrt(sigma2), size)


class Gamma(_ByMeanAndCv):
    """Gamma given by mean and cv: shape k = 1/cv^2, scale = mean*cv^2."""

    dist: Literal["gamma"] = "gamma"
    mean_: float = Field(alias="mean", gt=0, le=MAX_PARAM)
    cv: float = Field(gt=0, le=MAX_CV)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` gamma draws with shape 1/cv^2 and scale mean cv^2."""
        k = 1 / self.cv**2
        return rng.gamma(k, self.mean_ / k, size)


class Exponential(_ByMean):
    """Exponential with the given mean: variance mean^2."""

    dist: Literal["exponential"] = "exponential"
    mean_: float = Field(alias="mean", gt=0, le=MAX_PARAM)

    @property
    def variance(self) -> float:
        """mean^2."""
        return self.mean_**2

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` exponential draws."""
        return rng.exponential(self.mean_, size)


class Poisson(_Discrete, _ByMean):
    """Poisson(mean), optionally shifted: X = shift + Poisson(mean - shift).

    ``shift: 1`` gives a count that is at least one (lines per order).
    """

    dist: Literal["poisson"] = "poisson"
    mean_: float = Field(alias="mean", ge=0, le=MAX_PARAM)
    shift: int = Field(0, ge=0, le=MAX_SHIFT)

    @model_validator(mode="after")
    def _shift_below_mean(self) -> Poisson:
        if self.shift > self.mean_:
            raise ValueError(f"mean ({self.mean_}) must be >= shift ({self.shift})")
        return self

    @property
    def variance(self) -> float:
        """mean - shift."""
        return self.mean_ - self.shift

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` draws of shift + Poisson(mean - shift), as floats."""
        return self.shift + rng.poisson(self.mean_ - self.shift, size).astype(float)


class NegativeBinomial(_Discrete, _ByMean):
    """Negative binomial by mean and dispersion: Var = mean + mean^2 / dispersion.

    Over-dispersed counts (Poisson as dispersion -> infinity); optional ``shift``.
    """

    dist: Literal["negative_binomial"] = "negative_binomial"
    mean_: float = Field(alias="mean", gt=0, le=MAX_PARAM)
    dispersion: float = Field(gt=0, le=MAX_PARAM)
    shift: int = Field(0, ge=0, le=MAX_SHIFT)

    @model_validator(mode="after")
    def _shift_below_mean(self) -> NegativeBinomial:
        if self.shift >= self.mean_:
            raise ValueError(f"mean ({self.mean_}) must be > shift ({self.shift})")
        return self

    @property
    def variance(self) -> float:
        """m + m^2 / dispersion with m = mean - shift."""
        m = self.mean_ - self.shift
        return m + m * m / self.dispersion

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` draws of shift + NB(dispersion, p = dispersion / (dispersion + m)), as floats."""
        m = self.mean_ - self.shift
        p = self.dispersion / (self.dispersion + m)
        return self.shift + rng.negative_binomial(self.dispersion, p, size).astype(float)


class Empirical(_Discrete, _Dist):
    """Discrete distribution on ``values`` with probabilities ``probs`` (default equal)."""

    dist: Literal["empirical"] = "empirical"
    values: list[Annotated[float, Field(ge=-MAX_PARAM, le=MAX_PARAM)]] = Field(min_length=1)
    probs: list[float] | None = None

    @field_validator("probs")
    @classmethod
    def _probs(cls, v: list[float] | None) -> list[float] | None:
        if v is None:
            return v
        if any(p < 0 or p > 1 for p in v):
            raise ValueError("probabilities must lie in [0, 1]")
        if abs(sum(v) - 1) > 1e-6:
            raise ValueError(f"probabilities must sum to 1 (they sum to {sum(v):.6g})")
        return v

    @model_validator(mode="after")
    def _lengths(self) -> Empirical:
        if self.probs is not None and len(self.probs) != len(self.values):
            raise ValueError(f"probs has {len(self.probs)} entries but values has {len(self.values)}")
        return self

    def _p(self) -> np.ndarray:
        n = len(self.values)
        return np.asarray(self.probs if self.probs is not None else [1 / n] * n)

    @property
    def mean(self) -> float:
        """sum p_i x_i."""
        return float(np.dot(self._p(), self.values))

    @property
    def variance(self) -> float:
        """sum p_i (x_i - mean)^2."""
        v = np.asarray(self.values)
        return float(np.dot(self._p(), (v - self.mean) ** 2))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` draws of ``values`` with probabilities ``probs``."""
        return rng.choice(np.asarray(self.values, dtype=float), size=size, p=self._p())


AnyDist = Annotated[
    Constant | Uniform | Normal | LogNormal | Gamma | Exponential | Poisson | NegativeBinomial | Empirical,
    Field(discriminator="dist"),
]

DIST_NAMES = (
    "constant",
    "uniform",
    "normal",
    "lognormal",
    "gamma",
    "exponential",
    "poisson",
    "negative_binomial",
    "empirical",
)


def coerce_dist(value: object) -> object:
    """Let YAML write a bare number for a constant distribution."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"dist": "constant", "value": value}
    return value


def nonnegative(dist: _Dist) -> bool:
    """True when the distribution cannot produce negative values."""
    if isinstance(dist, Constant):
        return dist.value >= 0
    if isinstance(dist, Uniform):
        return dist.low >= 0
    if isinstance(dist, Empirical):
        return min(dist.values) >= 0
    return True
