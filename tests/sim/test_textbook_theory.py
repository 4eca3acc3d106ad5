"""Textbook inventory models (sim.theory.textbook) against published examples, hand numbers and brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm, poisson

from sim.theory.textbook import (
    eoq_backorders,
    newsvendor_normal,
    newsvendor_poisson,
    poisson_newsvendor_cost,
    rq_poisson_cost,
    rq_poisson_optimal,
)


def _eoqb_cost(q: float, shortage: float, d: float, k: float, h: float, p: float) -> float:
    """Cost per unit time of EOQ with backorders for lot q and max backorder shortage (direct formula)."""
    return k * d / q + h * (q - shortage) ** 2 / (2 * q) + p * shortage**2 / (2 * q)


def test_eoq_backorders_snyder_shen_example_3_8() -> None:
    res = eoq_backorders(1300.0, 8.0, 0.225, 5.0)
    assert res.order_quantity == pytest.approx(310.8125551589646, rel=1e-12)
    assert res.backorder_fraction == pytest.approx(0.043062200956938, rel=1e-12)
    assert res.cost_per_day == pytest.approx(66.921363550973254, rel=1e-12)


def test_eoq_backorders_is_the_grid_minimum_and_tends_to_eoq() -> None:
    d, k, h, p = 100.0, 50.0, 0.1, 0.4
    res = eoq_backorders(d, k, h, p)
    assert _eoqb_cost(res.order_quantity, res.max_backorders, d, k, h, p) == pytest.approx(res.cost_per_day)
    qs, bs = np.meshgrid(np.linspace(200, 600, 401), np.linspace(0, 150, 301))
    assert res.cost_per_day <= _eoqb_cost(qs, bs, d, k, h, p).min() + 1e-12
    big_p = eoq_backorders(d, k, h, 1e9)
    assert big_p.order_quantity == pytest.approx(math.sqrt(2 * k * d / h), rel=1e-6)
    assert big_p.max_backorders == pytest.approx(0.0, abs=1e-3)


def test_newsvendor_normal_snyder_shen_example_4_3() -> None:
    res = newsvendor_normal(50.0, 8.0, underage_cost=0.70, overage_cost=0.18)
    assert res.order_quantity == pytest.approx(56.60395592743389, rel=1e-12)
    assert res.expected_cost == pytest.approx(1.9976051931766445, rel=1e-10)


def test_newsvendor_normal_cost_matches_numeric_expectation() -> None:
    mu, sd, cu, co = 50.0, 8.0, 0.70, 0.18
    res = newsvendor_normal(mu, sd, cu, co)
    x = np.linspace(mu - 12 * sd, mu + 12 * sd, 200_001)
    dens = norm.pdf(x, mu, sd)
    s = res.order_quantity

    def cost(level: float) -> float:
        return float(np.trapezoid((co * np.maximum(level - x, 0) + cu * np.maximum(x - level, 0)) * dens, x))

    assert cost(s) == pytest.approx(res.expected_cost, rel=1e-6)
    assert cost(s) < cost(s - 0.5) and cost(s) < cost(s + 0.5)


@pytest.mark.parametrize(("mean", "cu", "co"), [(1.0, 1.0, 1.0), (7.5, 3.0, 1.0), (20.0, 1.0, 4.0), (0.4, 9.0, 1.0)])
def test_newsvendor_poisson_is_the_brute_force_minimum(mean: float, cu: float, co: float) -> None:
    res = newsvendor_poisson(mean, cu, co)
    ks = np.arange(0, 400)
    pmf = poisson.pmf(ks, mean)
    levels = np.arange(0, 60)
    costs = [float(np.sum(pmf * (co * np.maximum(s - ks, 0) + cu * np.maximum(ks - s, 0)))) for s in levels]
    assert res.order_quantity == float(levels[int(np.argmin(costs))])
    assert res.expected_cost == pytest.approx(min(costs), rel=1e-10)


def test_poisson_newsvendor_cost_hand_numbers_and_negative_levels() -> None:
    # mean 1: E|D| = 1, E|D - 1| = 2/e; y = -2: E[(D + 2)] = 3.
    got = poisson_newsvendor_cost([-2, 0, 1], 1.0, 1.0, 1.0)
    assert got.tolist() == pytest.approx([3.0, 1.0, 2 / math.e], rel=1e-12)


def test_rq_poisson_cost_snyder_shen_example_5_8() -> None:
    assert rq_poisson_cost(3, 5, 1.5, 2.0, 20.0, 150.0, 100.0) == pytest.approx(107.92358063314975, rel=1e-12)


def test_rq_poisson_cost_matches_direct_sum() -> None:
    r, q, lam, lead, h, p, k = 2, 4, 2.0, 1.5, 1.0, 9.0, 30.0
    ks = np.arange(0, 200)
    pmf = poisson.pmf(ks, lam * lead)
    g = [float(np.sum(pmf * (h * np.maximum(y - ks, 0) + p * np.maximum(ks - y, 0)))) for y in range(r + 1, r + q + 1)]
    assert rq_poisson_cost(r, q, lam, lead, h, p, k) == pytest.approx((k * lam + sum(g)) / q, rel=1e-10)


@pytest.mark.parametrize(
    ("lam", "lead", "h", "p", "k"),
    [
        (1.5, 2.0, 20.0, 150.0, 100.0),
        (5.0, 3.0, 1.0, 9.0, 50.0),
        (0.5, 4.0, 2.0, 25.0, 5.0),
        (10.0, 0.0, 1.0, 4.0, 1.0),
    ],
)
def test_rq_poisson_optimal_equals_brute_force_over_grid(lam: float, lead: float, h: float, p: float, k: float) -> None:
    best = rq_poisson_optimal(lam, lead, h, p, k)
    grid = {(r, q): rq_poisson_cost(r, q, lam, lead, h, p, k) for r in range(-10, 40) for q in range(1, 60)}
    c_bf = min(grid.values())
    assert best.cost_per_day == pytest.approx(c_bf, rel=1e-12)
    assert best.cost_per_day == pytest.approx(grid[(best.reorder_point, best.order_quantity)], rel=1e-12)
    assert 1 < best.order_quantity < 59 and -10 < best.reorder_point < 39  # optimum strictly inside the grid


def test_rq_poisson_optimal_snyder_shen_example_5_8() -> None:
    best = rq_poisson_optimal(1.5, 2.0, 20.0, 150.0, 100.0)
    assert (best.reorder_point, best.order_quantity) == (3, 5)
    assert best.cost_per_day == pytest.approx(107.92358063314975, rel=1e-12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: eoq_backorders(100.0, 50.0, 0.1, 0.0), "backorder_cost_per_unit_day"),
        (lambda: eoq_backorders(-1.0, 50.0, 0.1, 1.0), "demand_per_day"),
        (lambda: newsvendor_normal(50.0, -1.0, 1.0, 1.0), "sd"),
        (lambda: newsvendor_normal(50.0, 8.0, 0.0, 1.0), "underage_cost"),
        (lambda: newsvendor_poisson(-1.0, 1.0, 1.0), "mean"),
        (lambda: newsvendor_poisson(3.0, 1.0, float("nan")), "overage_cost"),
        (lambda: rq_poisson_cost(3, 0, 1.5, 2.0, 20.0, 150.0, 100.0), "order_quantity"),
        (lambda: rq_poisson_cost(3.5, 2, 1.5, 2.0, 20.0, 150.0, 100.0), "reorder_point"),
        (lambda: rq_poisson_cost(3, 2, 1.5, -2.0, 20.0, 150.0, 100.0), "lead_time_days"),
        (lambda: rq_poisson_optimal(0.0, 2.0, 20.0, 150.0, 100.0), "demand_rate_per_day"),
        (lambda: rq_poisson_optimal(1.5, 2.0, 20.0, 150.0, -1.0), "order_cost"),
        (lambda: poisson_newsvendor_cost([1.5], 1.0, 1.0, 1.0), "levels"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_argument(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
