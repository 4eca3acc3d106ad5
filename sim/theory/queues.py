"""Queueing formulas: Erlang C, M/M/c, M/G/1 (Pollaczek-Khinchine), M/D/1 and M/D/c (Crommelin).

Rates and times may use any unit, as long as they use the same one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import lambertw

from sim.theory._args import nonnegative, positive, require, require_int


# --------------------------------------------------------------------------- queues
@dataclass(frozen=True)
class MMcResult:
    """Steady state of an M/M/c queue (times in the unit of 1 / rate)."""

    utilization: float  # rho = lambda / (c mu)
    prob_wait: float  # Erlang C, P(an arrival waits)
    mean_wait: float  # Wq, time in queue
    mean_in_queue: float  # Lq = lambda Wq
    mean_in_system: float  # L = lambda W
    mean_time_in_system: float  # W = Wq + 1 / mu


@dataclass(frozen=True)
class MDcResult(MMcResult):
    """Steady state of an M/D/c queue: the measures of :class:`MMcResult`, P(wait) from Crommelin's formula."""


@dataclass(frozen=True)
class MG1Result:
    """Steady state of an M/G/1 queue (times in the unit of 1 / rate)."""

    utilization: float  # rho = lambda E[S]
    mean_wait: float  # Wq (Pollaczek-Khinchine)
    mean_in_queue: float  # Lq = lambda Wq
    mean_time_in_system: float  # W = Wq + E[S]
    mean_in_system: float  # L = lambda W


def erlang_c(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Probability that an arrival waits in an M/M/c queue (Erlang C).

    With offered load a = lambda / mu, the Erlang B recursion
    B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)) gives, stably for large c,
    C(c, a) = c B(c) / (c - a (1 - B(c))). Requires rho = a / c < 1.
    Source: Gross, Shortle, Thompson & Harris, Fundamentals of Queueing Theory, ch. 2.

    >>> round(erlang_c(2, 1.0, 1.0), 6)
    0.333333
    """
    c = require_int(servers, "servers")
    require(c >= 1, f"servers must be >= 1, got {servers!r}")
    nonnegative(arrival_rate=arrival_rate)
    positive(service_rate=service_rate)
    a = arrival_rate / service_rate
    require(a / c < 1, f"utilization lambda/(c mu) = {a / c:.4g} must be < 1 for a steady state")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return c * b / (c - a * (1.0 - b))


def mmc(servers: int, arrival_rate: float, service_rate: float) -> MMcResult:
    """M/M/c steady-state measures: Wq = C / (c mu - lambda), then Little's law.

    Lq = lambda Wq, W = Wq + 1/mu, L = lambda W.
    Source: Gross et al., Fundamentals of Queueing Theory, ch. 2.

    >>> res = mmc(2, 1.0, 1.0)
    >>> round(res.mean_wait, 6), round(res.mean_in_system, 6)
    (0.333333, 1.333333)
    """
    prob_wait = erlang_c(servers, arrival_rate, service_rate)
    mean_wait = prob_wait / (servers * service_rate - arrival_rate)
    time_in_system = mean_wait + 1.0 / service_rate
    return MMcResult(
        utilization=arrival_rate / (servers * service_rate),
        prob_wait=prob_wait,
        mean_wait=mean_wait,
        mean_in_queue=arrival_rate * mean_wait,
        mean_in_system=arrival_rate * time_in_system,
        mean_time_in_system=time_in_system,
    )


def mg1(arrival_rate: float, mean_service: float, var_service: float) -> MG1Result:
    """M/G/1 via Pollaczek-Khinchine: Wq = lambda E[S^2] / (2 (1 - rho)).

    E[S^2] = var_service + mean_service^2, rho = lambda E[S] < 1; then Little's law.
    Source: Gross et al., Fundamentals of Queueing Theory, ch. 6.

    >>> round(mg1(0.5, 1.0, 1.0).mean_wait, 6)   # exponential service: M/M/1
    1.0
    """
    nonnegative(arrival_rate=arrival_rate, var_service=var_service)
    positive(mean_service=mean_service)
    rho = arrival_rate * mean_service
    require(rho < 1, f"utilization lambda E[S] = {rho:.4g} must be < 1 for a steady state")
    mean_wait = arrival_rate * (var_service + mean_service**2) / (2.0 * (1.0 - rho))
    time_in_system = mean_wait + mean_service
    return MG1Result(
        utilization=rho,
        mean_wait=mean_wait,
        mean_in_queue=arrival_rate * mean_wait,
        mean_time_in_system=time_in_system,
        mean_in_system=arrival_rate * time_in_system,
    )


def mg1_cv(arrival_rate: float, mean_service: float, cv: float) -> MG1Result:
    """M/G/1 with service times of mean ``mean_service`` and coefficient of variation ``cv`` (sd / mean).

    Pollaczek-Khinchine (:func:`mg1`) with variance (cv E[S])^2: Wq = rho E[S] (1 + cv^2) / (2 (1 - rho)),
    so only the first two moments matter (a lognormal or a gamma with the same cv wait as long).

    >>> round(mg1_cv(0.8 / 300, 300.0, 0.5).mean_wait / 60, 6)   # lognormal picks, cv 0.5: 12.5 minutes
    12.5
    """
    nonnegative(cv=cv)
    return mg1(arrival_rate, mean_service, (cv * mean_service) ** 2)


def md1(arrival_rate: float, service_time: float) -> MG1Result:
    """M/D/1 (constant service time): Wq = rho / (2 mu (1 - rho)), half the M/M/1 wait.

    Pollaczek-Khinchine with zero service variance; Gross et al., ch. 6.

    >>> round(md1(0.5, 1.0).mean_wait, 6)
    0.5
    """
    return mg1(arrival_rate, service_time, 0.0)


def mdc_roots(servers: int, offered_load: float) -> np.ndarray:
    """The c - 1 roots z != 1 of z^c = exp(a (z - 1)) in the closed unit disk (a = offered load < c).

    With rho = a / c and w_k = exp(2 pi i k / c), z = w_k exp(rho (z - 1)) gives
    z_k = -W0(-rho w_k exp(-rho)) / rho for k = 1..c-1 (W0: the principal branch of Lambert's W;
    k = 0 gives z = 1). Source: A. J. E. M. Janssen & J. S. H. van Leeuwaarden, "Analytic
    computation schemes for the discrete-time bulk service queue", Queueing Systems 50 (2005).

    >>> [round(float(z.real), 6) for z in mdc_roots(2, 1.6)]   # c = 2: one real root, in (-1, 0)
    [-0.341824]
    """
    rho = offered_load / servers
    w = np.exp(2j * np.pi * np.arange(1, servers) / servers)
    if rho == 0:
        return w  # the limit as rho -> 0
    return -lambertw(-rho * w * math.exp(-rho), 0) / rho


def mdc(servers: int, arrival_rate: float, service_time: float) -> MDcResult:
    """M/D/c (c servers, constant service time D, FCFS) exactly, by Crommelin's method (1932).

    The number in the system at times t, t + D, t + 2D, ... is a Markov chain,
    X' = max(X - c, 0) + A with A ~ Poisson(a), a = lambda D (every customer in service at t
    has left by t + D). Its generating function is P(z) = N(z) / (z^c exp(-a (z - 1)) - 1),
    N(z) = (c - a)(z - 1) prod_k (z - z_k) / (1 - z_k) over the roots of :func:`mdc_roots`;
    the stationary law at those epochs is the time-average law (t is arbitrary). So, by PASTA and Little:

    * P(wait) = P(X >= c) = 1 - (c - a) / prod_k (1 - z_k) (the leading coefficient of N is P(X < c));
    * L = P'(1) = sum_k 1 / (1 - z_k) - ((c - a)^2 - c) / (2 (c - a)); Lq = L - a; Wq = Lq / lambda.

    c = 1 gives Pollaczek-Khinchine's M/D/1 (:func:`md1`). Sources: C. D. Crommelin, "Delay
    probability formulae when the holding times are constant", P.O. Electr. Eng. J. 25 (1932)
    41-50; H. C. Tijms, A First Course in Stochastic Models (Wiley, 2003), the section on the
    M/D/c queue; A. J. E. M. Janssen & J. S. H. van Leeuwaarden, "Back to the roots of the M/D/s
    queue and the works of Erlang, Crommelin and Pollaczek", Statistica Neerlandica 62 (2008);
    G. J. Franx, "A simple solution for the M/D/c waiting time distribution", Oper. Res. Lett.
    29 (2001) 221-229 (the whole waiting-time distribution).

    Rounding: the formulas subtract numbers of order c, so P(wait) and Lq carry an absolute
    error of about c x 1e-15; with many servers in light traffic (P(wait) < 1e-10) that is
    all that is left of them.

    >>> res = mdc(2, 1.6, 1.0)   # rho = 0.8: M/M/2 waits 1.778, half of it is 0.889
    >>> round(res.prob_wait, 4), round(res.mean_wait, 4)
    (0.7019, 0.9033)
    """
    c = require_int(servers, "servers")
    require(c >= 1, f"servers must be >= 1, got {servers!r}")
    nonnegative(arrival_rate=arrival_rate)
    positive(service_time=service_time)
    a = arrival_rate * service_time
    require(a / c < 1, f"utilization lambda D / c = {a / c:.4g} must be < 1 for a steady state")
    one_minus_z = 1.0 - mdc_roots(c, a)
    below_c = (c - a) / float(np.prod(one_minus_z).real)  # P(X < c)
    in_system = float(np.sum(1.0 / one_minus_z).real) - ((c - a) ** 2 - c) / (2.0 * (c - a))
    in_queue = max(in_system - a, 0.0)  # rounding can leave -1e-15
    mean_wait = in_queue / arrival_rate if arrival_rate > 0 else 0.0
    return MDcResult(
        utilization=a / c,
        prob_wait=min(max(1.0 - below_c, 0.0), 1.0),
        mean_wait=mean_wait,
        mean_in_queue=in_queue,
        mean_in_system=in_system,
        mean_time_in_system=mean_wait + service_time,
    )
