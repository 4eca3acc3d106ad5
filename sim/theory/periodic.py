"""Periodic-review (s, S) inventory with i.i.d. Poisson demand per period: exact cost and optimum.

Time is in review periods. Demand is backordered; an order is placed at a review when the
inventory position is at or below s, raising it to S; it arrives lead_time periods later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.theory._args import nonnegative, positive, require, require_int
from sim.theory.normal import poisson_cdf, poisson_pmf_table

__all__ = ["SSPolicy", "ss_poisson_cost", "ss_poisson_optimal"]


@dataclass(frozen=True)
class SSPolicy:
    """An (s, S) policy and its exact expected cost per period (money/period)."""

    reorder_point: int  # s: order when the inventory position is <= s
    order_up_to: int  # S: the inventory position after ordering
    cost_per_period: float


# --------------------------------------------------------------------------- helpers
def _check(mean_demand_per_period: float, holding: float, backorder: float, order_cost: float, lead_time: int) -> int:
    """Validate the model parameters; return the lead time as an int."""
    positive(mean_demand_per_period=mean_demand_per_period, holding=holding, backorder=backorder)
    nonnegative(order_cost=order_cost, lead_time=lead_time)
    return require_int(lead_time, "lead_time")


def _one_period_cost(mean: float, holding: float, backorder: float, lead_time: int) -> Callable[[int], float]:
    """G(y) = h E[(y - D)^+] + p E[(D - y)^+], D ~ Poisson((L + 1) mean), the cost charged L periods on."""
    theta = (lead_time + 1) * mean

    def cost(y: int) -> float:
        # E[(y - D)^+] = sum_{j=0}^{y-1} P(D <= j); E[(D - y)^+] = theta - y + E[(y - D)^+].
        on_hand = float(np.sum(poisson_cdf(np.arange(y), theta))) if y >= 1 else 0.0
        return holding * on_hand + backorder * (theta - y + on_hand)

    return cost


def _renewal_mass(n: int, mean: float) -> np.ndarray:
    """m(0..n-1): expected number of periods that start with cumulative demand exactly j.

    m(0) = 1 / (1 - p0), m(j) = sum_{l=1}^{j} p(l) m(j - l) / (1 - p0) (Zheng & Federgruen 1991, eq. 2).
    """
    pmf = poisson_pmf_table(max(n, 1), mean)
    m = np.zeros(max(n, 1))
    m[0] = 1.0 / (1.0 - pmf[0])
    for j in range(1, n):
        m[j] = m[0] * float(np.dot(pmf[1 : j + 1], m[j - 1 :: -1][:j]))
    return m[:n]


def _policy_cost(s: int, big_s: int, order_cost: float, g: Callable[[int], float], mean: float) -> float:
    """c(s, S) = (K + sum_{j=0}^{S-s-1} m(j) G(S - j)) / M(S - s)."""
    n = big_s - s
    m = _renewal_mass(n, mean)
    levels = sum(m[j] * g(big_s - j) for j in range(n))
    return float((order_cost + levels) / float(np.sum(m)))


# --------------------------------------------------------------------------- public
def ss_poisson_cost(
    s: int,
    S: int,  # the textbook name
    mean_demand_per_period: float,
    holding: float,
    backorder: float,
    order_cost: float,
    lead_time: int = 0,
) -> float:
    """Exact expected cost per period of a periodic-review (s, S) policy, Poisson demand, backorders.

    c(s, S) = (K + sum_{j=0}^{S-s-1} m(j) G(S - j)) / M(S - s), with m the renewal mass function of
    the per-period demand, M(n) = m(0) + ... + m(n-1) the expected cycle length in periods, and
    G(y) = h E[(y - D)^+] + p E[(D - y)^+] with D the demand over L + 1 periods (holding and
    backorder costs charged on the end-of-period net inventory). Zheng & Federgruen (1991),
    Operations Research 39(4) 654-665; Zipkin, Foundations of Inventory Management, ch. 6.7.

    Snyder & Shen, Fundamentals of Supply Chain Theory (2nd ed.), Example 4.7: h = 1, p = 4,
    K = 5, Poisson(6) demand; the optimal (4, 10) costs 8.0341 per period (also in stockpyl).

    >>> round(ss_poisson_cost(4, 10, 6.0, 1.0, 4.0, 5.0), 4)
    8.0341

    With K = 0 and S = s + 1 the policy is base-stock and c = G(S): for Poisson(1), S = 1,
    h = p = 1, G(1) = E|1 - D| = 2 P(D = 0) = 2 / e.

    >>> round(ss_poisson_cost(0, 1, 1.0, 1.0, 1.0, 0.0), 4)
    0.7358
    """
    lead = _check(mean_demand_per_period, holding, backorder, order_cost, lead_time)
    s, big_s = require_int(s, "s"), require_int(S, "S")
    require(big_s > s, f"S must be > s, got s={s}, S={big_s}")
    g = _one_period_cost(mean_demand_per_period, holding, backorder, lead)
    return _policy_cost(s, big_s, order_cost, g, mean_demand_per_period)


def ss_poisson_optimal(
    mean_demand_per_period: float, holding: float, backorder: float, order_cost: float, lead_time: int = 0
) -> SSPolicy:
    """Optimal periodic-review (s, S) policy with Poisson demand: Zheng & Federgruen (1991) algorithm.

    Start at the newsvendor level y* = argmin G; lower s until c(s, y*) <= G(s); then raise S while
    G(S) <= the incumbent cost, and on each improvement raise s while c(s, S) <= G(s + 1).
    Zheng & Federgruen, "Finding optimal (s, S) policies is about as simple as evaluating a single
    policy", Operations Research 39(4) 654-665 (1991); Snyder & Shen (2nd ed.), Algorithm 4.2.

    Snyder & Shen, Example 4.7 (h = 1, p = 4, K = 5, Poisson(6) demand): s* = 4, S* = 10, cost 8.0341.

    >>> policy = ss_poisson_optimal(6.0, 1.0, 4.0, 5.0)
    >>> policy.reorder_point, policy.order_up_to, round(policy.cost_per_period, 4)
    (4, 10, 8.0341)
    """
    lead = _check(mean_demand_per_period, holding, backorder, order_cost, lead_time)
    mean = mean_demand_per_period
    g = _one_period_cost(mean, holding, backorder, lead)

    def cost(s: int, big_s: int) -> float:
        return _policy_cost(s, big_s, order_cost, g, mean)

    y_star = int(_newsvendor_level(backorder / (holding + backorder), (lead + 1) * mean))
    s = y_star - 1
    while cost(s, y_star) > g(s):
        s -= 1
    best_s, best_big_s, best = s, y_star, cost(s, y_star)
    big_s = y_star + 1
    while g(big_s) <= best:
        candidate = cost(best_s, big_s)
        if candidate < best:
            best_big_s = big_s
            while cost(best_s, best_big_s) <= g(best_s + 1):
                best_s += 1
            best = cost(best_s, best_big_s)
        big_s += 1
    return SSPolicy(best_s, best_big_s, best)


def _newsvendor_level(critical_ratio: float, mean: float) -> int:
    """Smallest integer y with P(D <= y) >= critical_ratio, D ~ Poisson(mean): the newsvendor level.

    It minimises G(y) = h E[(y - D)^+] + p E[(D - y)^+] for critical_ratio = p / (h + p).
    """
    y = 0
    while float(poisson_cdf(y, mean)) < critical_ratio:
        y += 1
    return y
