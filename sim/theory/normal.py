"""Standard normal and Poisson functions used by the inventory formulas."""

from __future__ import annotations

import math

import numpy as np

from sim.theory._args import nonnegative, require

_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


# --------------------------------------------------------------------------- normal
def normal_pdf(z: float) -> float:
    """Standard normal density phi(z) = exp(-z^2 / 2) / sqrt(2 pi).

    >>> round(normal_pdf(0.0), 6)
    0.398942
    """
    return math.exp(-0.5 * z * z) / _SQRT2PI


def normal_cdf(z: float) -> float:
    """Standard normal distribution function Phi(z) = erfc(-z / sqrt 2) / 2.

    Written with ``math.erfc`` (equal to (1 + erf(z / sqrt 2)) / 2) so that the
    lower tail keeps full relative precision.

    >>> round(normal_cdf(1.96), 6)
    0.975002
    """
    return 0.5 * math.erfc(-z / _SQRT2)


# Coefficients of Acklam's rational approximation (relative error < 1.15e-9),
# highest power first; the denominators have an implicit trailing 1.
_A = (
    -3.969683028665376e01,
    2.209460984245205e02,
    -2.759285104469687e02,
    1.383577518672690e02,
    -3.066479806614716e01,
    2.506628277459239e00,
)
_B = (
    -5.447609879822406e01,
    1.615858368580409e02,
    -1.556989798598866e02,
    6.680131188771972e01,
    -1.328068155288572e01,
    1.0,
)
_C = (
    -7.784894002430293e-03,
    -3.223964580411365e-01,
    -2.400758277161838e00,
    -2.549732539343734e00,
    4.374664141464968e00,
    2.938163982698783e00,
)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00, 1.0)


def _horner(coefficients: tuple[float, ...], x: float) -> float:
    total = 0.0
    for c in coefficients:
        total = total * x + c
    return total


def normal_ppf(p: float) -> float:
    """Standard normal quantile z = Phi^-1(p) for 0 < p < 1.

    Acklam's rational approximation followed by one Halley refinement step,
    which brings the error well below 1e-9 (P. J. Acklam, "An algorithm for
    computing the inverse normal cumulative distribution function", 2003).

    >>> round(normal_ppf(0.975), 6)
    1.959964
    """
    require(0.0 < p < 1.0, f"probability must lie strictly between 0 and 1, got {p!r}")
    p_low = 0.02425
    if p < p_low:  # lower tail
        q = math.sqrt(-2.0 * math.log(p))
        z = _horner(_C, q) / _horner(_D, q)
    elif p <= 1.0 - p_low:  # central region
        q = p - 0.5
        z = q * _horner(_A, q * q) / _horner(_B, q * q)
    else:  # upper tail
        q = math.sqrt(-2.0 * math.log1p(-p))
        z = -_horner(_C, q) / _horner(_D, q)
    # Halley step on f(z) = Phi(z) - p; work in the smaller tail for precision.
    error = normal_cdf(z) - p if p <= 0.5 else (1.0 - p) - normal_cdf(-z)
    u = error * _SQRT2PI * math.exp(0.5 * z * z)
    return z - u / (1.0 + 0.5 * z * u)


def normal_loss(z: float) -> float:
    """Standard normal first-order loss G(z) = E[(Z - z)^+] = phi(z) - z (1 - Phi(z)).

    Source: Silver, Pyke & Thomas, Inventory and Production Management, app. B.
    The expected shortage of X ~ N(mu, sigma^2) beyond a level x is sigma G((x - mu) / sigma).

    >>> round(normal_loss(0.0), 6)
    0.398942
    >>> round(normal_loss(1.0), 6)
    0.083315
    """
    return normal_pdf(z) - z * normal_cdf(-z)


def normal_excess(mean: float, sd: float, level: float) -> float:
    """E[(X - level)^+] for X ~ N(mean, sd^2); sd = 0 means X = mean exactly."""
    if sd == 0.0:
        return max(mean - level, 0.0)
    return sd * normal_loss((level - mean) / sd)


# --------------------------------------------------------------------------- Poisson
def poisson_pmf_table(k_max: int, mean: float) -> np.ndarray:
    """P(D = k) for k = 0..k_max, computed in log space.

    log P(D = k) = k log m - m - log k!. For k >= 15 this is rewritten, as in
    Loader (2000), "Fast and accurate computation of binomial probabilities", as
    -log(2 pi k)/2 - stirling_error(k) - [k log(k/m) - (k - m)], which avoids
    subtracting numbers of size k log k and keeps ~1e-13 relative accuracy
    even for means of 10^5 and more.
    """
    nonnegative(mean=mean)
    k = np.arange(k_max + 1, dtype=float)
    if mean == 0.0:
        return (k == 0).astype(float)
    log_pmf = np.empty_like(k)
    small = k < 15
    log_factorial = np.array([math.lgamma(x + 1) for x in k[small]])
    log_pmf[small] = k[small] * math.log(mean) - mean - log_factorial
    kb = k[~small]
    stirling_error = (1 / 12 - (1 / 360 - (1 / 1260 - 1 / (1680 * kb**2)) / kb**2) / kb**2) / kb
    deviance = kb * np.log1p((kb - mean) / mean) - (kb - mean)
    log_pmf[~small] = -0.5 * np.log(2 * math.pi * kb) - stirling_error - deviance
    return np.exp(log_pmf)


def _poisson_lookup(k, mean: float, cumulative: bool):
    """Look up the pmf (or cdf) at integer k, scalar or array; 0 for k < 0."""
    ks = np.asarray(k)
    require(np.issubdtype(ks.dtype, np.integer), f"k must be an integer or integer array, got {k!r}")
    table = poisson_pmf_table(max(int(ks.max(initial=0)), 0), mean)
    if cumulative:
        table = np.minimum(np.cumsum(table), 1.0)
    result = np.where(ks >= 0, table[np.clip(ks, 0, None)], 0.0)
    return float(result) if result.ndim == 0 else result


def poisson_pmf(k, mean: float):
    """Poisson probability P(D = k) = e^-m m^k / k!, evaluated in log space.

    ``k`` may be an integer or an integer array; negative k give 0.

    >>> round(poisson_pmf(2, 3.0), 6)
    0.224042
    >>> round(poisson_pmf(1000, 1000.0), 6)
    0.012615
    """
    return _poisson_lookup(k, mean, cumulative=False)


def poisson_cdf(k, mean: float):
    """Poisson distribution function P(D <= k) = sum_{j=0}^{k} P(D = j).

    The probabilities are computed in log space and summed from j = 0.
    ``k`` may be an integer or an integer array; negative k give 0.

    >>> round(poisson_cdf(3, 3.0), 6)
    0.647232
    """
    return _poisson_lookup(k, mean, cumulative=True)
