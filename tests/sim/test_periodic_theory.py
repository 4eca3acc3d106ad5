"""Periodic-review (s, S) with Poisson demand: Zheng-Federgruen optimum vs brute force, cost vs simulation."""

from __future__ import annotations

import numpy as np
import pytest

from sim.theory.periodic import ss_poisson_cost, ss_poisson_optimal


def _brute_force(mean: float, h: float, p: float, k: float, lead: int, lo: int, hi: int) -> tuple[int, int, float]:
    """Minimum of c(s, S) over lo <= s < S <= hi."""
    best = (0, 0, float("inf"))
    for s in range(lo, hi):
        for big_s in range(s + 1, hi + 1):
            c = ss_poisson_cost(s, big_s, mean, h, p, k, lead)
            if c < best[2]:
                best = (s, big_s, c)
    return best


@pytest.mark.parametrize(
    ("mean", "h", "p", "k", "lead", "lo", "hi"),
    [
        (6.0, 1.0, 4.0, 5.0, 0, -4, 22),
        (3.0, 1.0, 9.0, 20.0, 0, -4, 22),
        (2.0, 2.0, 5.0, 10.0, 1, -4, 20),
        (4.0, 1.0, 19.0, 0.0, 0, -4, 16),
    ],
)
def test_zheng_federgruen_equals_brute_force(mean, h, p, k, lead, lo, hi):
    policy = ss_poisson_optimal(mean, h, p, k, lead)
    s, big_s, cost = _brute_force(mean, h, p, k, lead, lo, hi)
    # The optimum lies strictly inside the grid, so the grid is large enough.
    assert lo < s and big_s < hi
    assert policy.cost_per_period == pytest.approx(cost, rel=1e-12)
    assert (policy.reorder_point, policy.order_up_to) == (s, big_s)


def test_published_example_snyder_shen_4_7():
    policy = ss_poisson_optimal(6.0, 1.0, 4.0, 5.0)
    assert (policy.reorder_point, policy.order_up_to) == (4, 10)
    assert policy.cost_per_period == pytest.approx(8.034111561471642, rel=1e-9)


def _simulate_cost(s, big_s, mean, h, p, k, lead, periods, seed):
    """Per-period costs of the inventory recursion: order at review, arrival lead periods later."""
    demand = np.random.default_rng(seed).poisson(mean, periods)
    position = big_s
    net = big_s
    pipeline = [0] * (lead + 1)  # pipeline[i]: units arriving i periods from now (0 = this period)
    costs = np.empty(periods)
    for t in range(periods):
        order = big_s - position if position <= s else 0
        position += order
        pipeline[lead] += order
        net += pipeline.pop(0)
        pipeline.append(0)
        net -= demand[t]
        position -= demand[t]
        costs[t] = (k if order else 0.0) + h * max(net, 0) + p * max(-net, 0)
    return costs


@pytest.mark.parametrize(("s", "big_s", "lead"), [(4, 10, 0), (12, 20, 1)])
def test_cost_formula_matches_simulation(s, big_s, lead):
    mean, h, p, k = 6.0, 1.0, 4.0, 5.0
    exact = ss_poisson_cost(s, big_s, mean, h, p, k, lead)
    costs = _simulate_cost(s, big_s, mean, h, p, k, lead, periods=200_000, seed=19)[1_000:]
    batches = costs[: len(costs) // 100 * 100].reshape(100, -1).mean(axis=1)  # batch means
    centre = batches.mean()
    half = 2.626 * batches.std(ddof=1) / np.sqrt(len(batches))  # 99% t quantile, 99 d.f.
    assert abs(centre - exact) < half
    # The CI is narrow enough to reject a nearby wrong answer (a 2% error).
    assert half < 0.02 * exact


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((4, 4, 6.0, 1.0, 4.0, 5.0), "S must be > s"),
        ((4, 10, 0.0, 1.0, 4.0, 5.0), "mean_demand_per_period"),
        ((4, 10, 6.0, -1.0, 4.0, 5.0), "holding"),
        ((4, 10, 6.0, 1.0, 0.0, 5.0), "backorder"),
        ((4, 10, 6.0, 1.0, 4.0, -5.0), "order_cost"),
        ((4.5, 10, 6.0, 1.0, 4.0, 5.0), "s must be an integer"),
        ((4, 10, 6.0, 1.0, 4.0, 5.0, 1.5), "lead_time must be an integer"),
    ],
)
def test_bad_arguments_raise_value_error(args, match):
    with pytest.raises(ValueError, match=match):
        ss_poisson_cost(*args)


def test_optimal_rejects_bad_arguments():
    with pytest.raises(ValueError, match="lead_time"):
        ss_poisson_optimal(6.0, 1.0, 4.0, 5.0, lead_time=-1)
