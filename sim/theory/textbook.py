"""Textbook inventory models: EOQ with planned backorders, newsvendor, exact (r, Q) cost and optimum.

Pure functions. Any time unit works as long as rates and per-unit-time costs use
the same one; the names say "day" to match ``sim.theory.inventory``. The
published examples in the doctests come from Snyder & Shen, Fundamentals of
Supply Chain Theory (2nd ed., 2019), as implemented in stockpyl.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, poisson

from sim.theory._args import nonnegative, positive, require, require_int

__all__ = [
    "EOQBackordersResult",
    "NewsvendorResult",
    "RQOptimum",
    "eoq_backorders",
    "newsvendor_normal",
    "newsvendor_poisson",
    "poisson_newsvendor_cost",
    "rq_poisson_cost",
    "rq_poisson_optimal",
]


# --------------------------------------------------------------------------- EOQ with backorders
@dataclass(frozen=True)
class EOQBackordersResult:
    """Optimum of the EOQ model with planned backorders."""

    order_quantity: float  # Q*, units
    max_backorders: float  # Q* h / (h + p), units backordered just before a delivery
    backorder_fraction: float  # h / (h + p): fraction of each cycle spent out of stock
    cost_per_day: float  # ordering + holding + backorder cost per day at the optimum


def eoq_backorders(
    demand_per_day: float, order_cost: float, holding_cost_per_unit_day: float, backorder_cost_per_unit_day: float
) -> EOQBackordersResult:
    """EOQ with planned backorders: Q* = sqrt(2 K D / h) sqrt((h + p) / p).

    Maximum backorder Q* h / (h + p); cost per day sqrt(2 K D h) sqrt(p / (h + p)).
    Sources: Hillier & Lieberman, Introduction to Operations Research, ch. 18;
    Snyder & Shen (2019), section 3.5. Published example (Snyder & Shen,
    Example 3.8): K = 8, h = 0.225, p = 5, D = 1300 gives Q* = 310.8126,
    stockout fraction 0.0431 and cost 66.9214 per unit time.

    >>> res = eoq_backorders(1300.0, 8.0, 0.225, 5.0)
    >>> round(res.order_quantity, 4), round(res.backorder_fraction, 4), round(res.cost_per_day, 4)
    (310.8126, 0.0431, 66.9214)
    >>> round(res.max_backorders, 3)
    13.384
    """
    nonnegative(demand_per_day=demand_per_day, order_cost=order_cost)
    positive(
        holding_cost_per_unit_day=holding_cost_per_unit_day, backorder_cost_per_unit_day=backorder_cost_per_unit_day
    )
    h, p = holding_cost_per_unit_day, backorder_cost_per_unit_day
    fraction = h / (h + p)
    quantity = math.sqrt(2.0 * order_cost * demand_per_day / h) * math.sqrt((h + p) / p)
    cost = math.sqrt(2.0 * order_cost * demand_per_day * h) * math.sqrt(p / (h + p))
    return EOQBackordersResult(
        order_quantity=quantity, max_backorders=quantity * fraction, backorder_fraction=fraction, cost_per_day=cost
    )


# --------------------------------------------------------------------------- newsvendor
@dataclass(frozen=True)
class NewsvendorResult:
    """Optimum of a single-period newsvendor with underage cost cu and overage cost co."""

    critical_ratio: float  # cu / (cu + co)
    order_quantity: float  # smallest S with F(S) >= critical ratio, units
    expected_cost: float  # E[co (S - D)^+ + cu (D - S)^+] at S, money


def _check_newsvendor(underage_cost: float, overage_cost: float) -> None:
    """ValueError unless both costs are finite and > 0."""
    positive(underage_cost=underage_cost, overage_cost=overage_cost)


def newsvendor_normal(mean: float, sd: float, underage_cost: float, overage_cost: float) -> NewsvendorResult:
    """Newsvendor with D ~ N(mean, sd^2): S* = mean + sd z, z = Phi^-1(cu / (cu + co)).

    Expected cost at the optimum (cu + co) sd phi(z). Source: Snyder & Shen (2019),
    section 4.3; Zipkin (2000), ch. 6. Published example (Snyder & Shen, Example 4.3):
    h = co = 0.18, p = cu = 0.70, D ~ N(50, 8^2) gives S* = 56.6040 and cost 1.9976.

    >>> res = newsvendor_normal(50.0, 8.0, underage_cost=0.70, overage_cost=0.18)
    >>> round(res.critical_ratio, 4), round(res.order_quantity, 4), round(res.expected_cost, 4)
    (0.7955, 56.604, 1.9976)
    """
    _check_newsvendor(underage_cost, overage_cost)
    positive(sd=sd)
    require(math.isfinite(mean), f"mean must be finite, got {mean!r}")
    ratio = underage_cost / (underage_cost + overage_cost)
    z = float(norm.ppf(ratio))
    cost = (underage_cost + overage_cost) * sd * float(norm.pdf(z))
    return NewsvendorResult(critical_ratio=ratio, order_quantity=mean + sd * z, expected_cost=cost)


def poisson_newsvendor_cost(levels, mean: float, holding_cost: float, backorder_cost: float) -> np.ndarray:
    """G(y) = E[h (y - D)^+ + p (D - y)^+] for integer levels y, D ~ Poisson(mean), exactly.

    E[(y - D)^+] = y F(y - 1) - mean F(y - 2) (0 for y <= 0) and
    E[(D - y)^+] = mean - y + E[(y - D)^+]; no tail truncation. Zipkin (2000), ch. 6.

    >>> poisson_newsvendor_cost([0, 1], 1.0, 1.0, 1.0).round(4).tolist()
    [1.0, 0.7358]
    """
    nonnegative(mean=mean, holding_cost=holding_cost, backorder_cost=backorder_cost)
    ys = np.asarray(levels, dtype=float)
    require(bool(np.all(ys == np.round(ys))), f"levels must be integers, got {levels!r}")
    on_hand = np.where(ys >= 1, ys * poisson.cdf(ys - 1, mean) - mean * poisson.cdf(ys - 2, mean), 0.0)
    backorders = mean - ys + on_hand
    return np.asarray(holding_cost * on_hand + backorder_cost * backorders, dtype=float)


def newsvendor_poisson(mean: float, underage_cost: float, overage_cost: float) -> NewsvendorResult:
    """Newsvendor with D ~ Poisson(mean): S* = smallest integer S with P(D <= S) >= cu / (cu + co).

    Expected cost E[co (S - D)^+ + cu (D - S)^+] computed exactly. Source: Snyder &
    Shen (2019), section 4.3.3 (discrete demand). Hand check: mean 1, cu = co = 1:
    ratio 0.5, P(D <= 0) = 0.368 < 0.5 <= P(D <= 1) = 0.736, so S* = 1 and the cost is
    E|D - 1| = 2 e^-1 = 0.7358.

    >>> res = newsvendor_poisson(1.0, underage_cost=1.0, overage_cost=1.0)
    >>> res.order_quantity, round(res.expected_cost, 4)
    (1.0, 0.7358)
    """
    _check_newsvendor(underage_cost, overage_cost)
    nonnegative(mean=mean)
    ratio = underage_cost / (underage_cost + overage_cost)
    level = float(poisson.ppf(ratio, mean))
    cost = float(poisson_newsvendor_cost([level], mean, overage_cost, underage_cost)[0])
    return NewsvendorResult(critical_ratio=ratio, order_quantity=level, expected_cost=cost)


# --------------------------------------------------------------------------- (r, Q) cost and optimum
@dataclass(frozen=True)
class RQOptimum:
    """Cost-minimising continuous-review (r, Q) policy with Poisson demand."""

    reorder_point: int  # r
    order_quantity: int  # Q
    cost_per_day: float  # C(r, Q), money per day


def _check_rq_costs(
    demand_rate_per_day: float,
    lead_time_days: float,
    holding_cost_per_unit_day: float,
    backorder_cost_per_unit_day: float,
    order_cost: float,
) -> float:
    """ValueError for a bad (r, Q) cost input; returns the lead-time demand mean lambda L."""
    positive(
        demand_rate_per_day=demand_rate_per_day,
        holding_cost_per_unit_day=holding_cost_per_unit_day,
        backorder_cost_per_unit_day=backorder_cost_per_unit_day,
    )
    nonnegative(lead_time_days=lead_time_days, order_cost=order_cost)
    return demand_rate_per_day * lead_time_days


def rq_poisson_cost(
    reorder_point: int,
    order_quantity: int,
    demand_rate_per_day: float,
    lead_time_days: float,
    holding_cost_per_unit_day: float,
    backorder_cost_per_unit_day: float,
    order_cost: float,
) -> float:
    """Exact expected cost per day of a continuous-review (r, Q) policy, Poisson demand, backorders.

        C(r, Q) = (K lambda + sum_{y=r+1}^{r+Q} G(y)) / Q,
        G(y) = E[h (y - D)^+ + p (D - y)^+],  D ~ Poisson(lambda L).

    Source: Zipkin (2000), ch. 6; Federgruen & Zheng, Operations Research 40(4), 1992;
    Snyder & Shen (2019), eq. (5.48). Published example (Snyder & Shen, Example 5.8):
    h = 20, p = 150, K = 100, lambda = 1.5, L = 2: C(3, 5) = 107.9236.

    >>> round(rq_poisson_cost(3, 5, 1.5, 2.0, 20.0, 150.0, 100.0), 4)
    107.9236
    """
    r = require_int(reorder_point, "reorder_point")
    q = require_int(order_quantity, "order_quantity")
    require(q >= 1, f"order_quantity must be >= 1, got {order_quantity!r}")
    theta = _check_rq_costs(
        demand_rate_per_day, lead_time_days, holding_cost_per_unit_day, backorder_cost_per_unit_day, order_cost
    )
    g = poisson_newsvendor_cost(
        np.arange(r + 1, r + q + 1), theta, holding_cost_per_unit_day, backorder_cost_per_unit_day
    )
    return float((order_cost * demand_rate_per_day + g.sum()) / q)


def rq_poisson_optimal(
    demand_rate_per_day: float,
    lead_time_days: float,
    holding_cost_per_unit_day: float,
    backorder_cost_per_unit_day: float,
    order_cost: float,
) -> RQOptimum:
    """Exact optimal (r, Q) for Poisson demand by the Federgruen-Zheng (1992) algorithm.

    G is convex, minimised at y* = min{y: F(y) >= p / (p + h)}. Start from Q = 1,
    r = y* - 1; at each step extend the window {r+1..r+Q} by the cheaper end point
    (G(r) or G(r+Q+1)). C(r, Q+1) < C(r, Q) iff that G value < C(r, Q), so stop at
    the first step where it is not. Source: Federgruen & Zheng, "An efficient
    algorithm for computing an optimal (r, Q) policy in continuous review stochastic
    inventory systems", Operations Research 40(4), 808-813 (1992). Published example
    (Snyder & Shen, Example 5.8): h = 20, p = 150, K = 100, lambda = 1.5, L = 2 gives
    r = 3, Q = 5, cost 107.9236.

    >>> best = rq_poisson_optimal(1.5, 2.0, 20.0, 150.0, 100.0)
    >>> best.reorder_point, best.order_quantity, round(best.cost_per_day, 4)
    (3, 5, 107.9236)
    """
    h, p = holding_cost_per_unit_day, backorder_cost_per_unit_day
    theta = _check_rq_costs(demand_rate_per_day, lead_time_days, h, p, order_cost)

    def g(y: int) -> float:
        return float(poisson_newsvendor_cost([y], theta, h, p)[0])

    low = high = int(poisson.ppf(p / (p + h), theta))  # window {low..high}, r = low - 1
    total = order_cost * demand_rate_per_day + g(low)
    q, cost = 1, total
    g_left, g_right = g(low - 1), g(high + 1)
    while min(g_left, g_right) < cost:
        if g_left <= g_right:
            total, low = total + g_left, low - 1
            g_left = g(low - 1)
        else:
            total, high = total + g_right, high + 1
            g_right = g(high + 1)
        q += 1
        cost = total / q
    return RQOptimum(reorder_point=low - 1, order_quantity=q, cost_per_day=cost)
