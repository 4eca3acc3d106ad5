"""Queueing formulas: Erlang C, M/M/c, M/G/1 (Pollaczek-Khinchine) and M/D/1.

Rates and times may use any unit, as long as they use the same one.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def md1(arrival_rate: float, service_time: float) -> MG1Result:
    """M/D/1 (constant service time): Wq = rho / (2 mu (1 - rho)), half the M/M/1 wait.

    Pollaczek-Khinchine with zero service variance; Gross et al., ch. 6.

    >>> round(md1(0.5, 1.0).mean_wait, 6)
    0.5
    """
    return mg1(arrival_rate, service_time, 0.0)
