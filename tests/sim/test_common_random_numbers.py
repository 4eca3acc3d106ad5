"""Common random numbers when a variant changes the demand rate (marketing, promotions).

A researcher comparing two marketing plans needs the two runs to see the same
customers wherever the plans agree, and the same customers plus some where one plan
buys more orders; otherwise the paired difference drowns in noise. The simulator
draws each day's orders from streams of that day (``sim.model.streams.day_rng``), arrivals
as the points of a unit-rate Poisson process below the day's rate, and every order's
pick and transit times from per-order streams (``KeyedDraws``). These tests check
both halves of that promise: the arrival process is still a Poisson process (counts,
uniformity, independent gaps), and variants share their orders exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.model.demand import unit_rate_points
from sim.model.shop import simulate
from sim.model.streams import KeyedDraws, day_rng
from sim.scenario.loader import load_scenario

MULTI = "scenarios/multi_warehouse.yaml"
BOOST_DAY = 20
# a channel that buys orders on one day only (day 20 = 2026-01-21)
CHANNEL = (
    "demand.channels=[{name: ads, spend_per_day: 0, max_extra_orders_per_day: 300, "
    "half_saturation_spend: 2000, schedule: [{start: 2026-01-21, end: 2026-01-21, spend_per_day: %d}]}]"
)


# ---------------------------------------------------------------- the arrival process
def test_unit_rate_points_have_poisson_counts():
    rate, days = 37.5, 4000
    counts = np.array([len(unit_rate_points(day_rng(11, "demand", d, 0), rate)) for d in range(days)])
    # mean: Poisson(rate) has sd sqrt(rate); 99% band of the mean of 4000 days
    assert abs(counts.mean() - rate) < 2.58 * np.sqrt(rate / days)
    # dispersion var/mean = 1 for Poisson: (n-1) var/mean ~ chi2(n-1), sd of the ratio sqrt(2/(n-1))
    assert abs(counts.var(ddof=1) / counts.mean() - 1.0) < 2.58 * np.sqrt(2.0 / (days - 1))
    # and the whole distribution: P(N = k) for the central values
    for k in (30, 37, 45):
        p = np.exp(k * np.log(rate) - rate - np.sum(np.log(np.arange(1, k + 1))))
        assert abs(np.mean(counts == k) - p) < 2.58 * np.sqrt(p * (1 - p) / days)


def test_unit_rate_points_are_uniform_and_their_gaps_independent():
    days = [unit_rate_points(day_rng(12, "demand", d, 0), 60.0) for d in range(2000)]
    u = np.sort(np.concatenate(days))
    n = len(u)
    assert np.all((u > 0) & (u < 1))
    # Kolmogorov-Smirnov against U(0, 1): 99% critical value 1.628 / sqrt(n)
    ks = max(np.max(np.arange(1, n + 1) / n - u), np.max(u - np.arange(n) / n))
    assert ks < 1.628 / np.sqrt(n)
    # a day's points are sorted, and consecutive gaps (across days too) are uncorrelated exponentials
    assert all(np.all(np.diff(x) > 0) for x in days)
    t = np.concatenate([d + x for d, x in enumerate(days)])
    gaps = np.diff(t) * 60.0
    assert abs(gaps.mean() - 1.0) < 2.58 / np.sqrt(len(gaps))
    assert abs(gaps.std() - 1.0) < 0.03  # exponential: sd = mean
    assert abs(np.corrcoef(gaps[:-1], gaps[1:])[0, 1]) < 2.58 / np.sqrt(len(gaps))


def test_a_higher_rate_keeps_the_points_of_a_lower_one():
    for day in range(50):
        low = unit_rate_points(day_rng(13, "demand", day, 0), 40.0) * 40.0
        high = unit_rate_points(day_rng(13, "demand", day, 0), 55.0) * 55.0
        assert len(high) >= len(low)
        np.testing.assert_allclose(high[: len(low)], low, rtol=1e-12)


def test_keyed_draws_do_not_depend_on_the_order_of_the_questions():
    draw = lambda: KeyedDraws(5, "transit", lambda rng, n: rng.gamma(2.0, 1.0, n))  # noqa: E731
    a, b = draw(), draw()
    forward = [a(d, i) for d in range(3) for i in range(200)]
    backward = {(d, i): b(d, i) for d in reversed(range(3)) for i in reversed(range(200))}
    assert forward == [backward[d, i] for d in range(3) for i in range(200)]
    # a day evicted from the cache comes back with the same values
    c = draw()
    first = c(0, 7)
    for d in range(1, KeyedDraws.CACHE_DAYS + 5):
        c(d, 0)
    assert c(0, 7) == first


# ---------------------------------------------------------------- variants share their orders
@pytest.fixture(scope="module")
def boosted():
    """multi_warehouse for 40 days, without and with 4,000 of ads spend on day 20.

    Reorder points and quantities are fixed numbers: derived from the expected demand
    (service level, EOQ) they would change with the boost from day 0 on, and the runs
    would differ before day 20 for that reason, not for their random numbers. The start
    stock lasts the 40 days, so no order waits for stock (lead times have their own test).
    """
    base = [
        "horizon_days=40",
        "warmup_days=0",
        "inventory.policy.reorder_point=12",
        "inventory.policy.order_quantity=40",
        "inventory.initial_on_hand=5000",
    ]
    runs = [
        simulate(load_scenario(MULTI, [*base, CHANNEL % spend]), seed=77, record_orders=True) for spend in (0, 4000)
    ]
    return runs


def test_more_marketing_on_one_day_adds_orders_on_that_day_only(boosted):
    base, more = boosted
    diff = more.daily["orders"].to_numpy() - base.daily["orders"].to_numpy()
    assert diff[BOOST_DAY] > 50  # about 200 extra orders expected
    assert np.all(np.delete(diff, BOOST_DAY) == 0)


def test_orders_before_the_change_are_identical_to_the_last_digit(boosted):
    base, more = boosted
    a, b = base.orders, more.orders
    before = a["arrival"] < BOOST_DAY
    n = int(before.sum())
    for col in ("arrival", "region", "value"):
        np.testing.assert_array_equal(a[col][:n].to_numpy(), b[col][:n].to_numpy(), err_msg=col)
    # what happened to them before the boost is identical too (a parcel still waiting for stock
    # on day 20 may then be served in another order, since the boosted day competes for stock)
    done = (a["ship"][:n] < BOOST_DAY).to_numpy()
    assert done.mean() > 0.95
    for col in ("ship", "deliver", "deadline"):
        np.testing.assert_array_equal(a[col][:n].to_numpy()[done], b[col][:n].to_numpy()[done], err_msg=col)


def test_the_boosted_day_starts_with_the_same_customers(boosted):
    base, more = boosted
    a, b = base.orders, more.orders
    day_a = a[np.floor(a["arrival"]) == BOOST_DAY]
    day_b = b[np.floor(b["arrival"]) == BOOST_DAY]
    k = len(day_a)
    assert len(day_b) > k
    # the base day's customers are the first k of the boosted day, with the same region and basket
    np.testing.assert_array_equal(day_a["region"].to_numpy(), day_b["region"][:k].to_numpy())
    np.testing.assert_array_equal(day_a["value"].to_numpy(), day_b["value"][:k].to_numpy())
    # arrival times are the same points of the unit-rate process, scaled by each day's rate
    ua = (day_a["arrival"].to_numpy() - BOOST_DAY) * base.daily["expected_orders"][BOOST_DAY]
    ub = (day_b["arrival"][:k].to_numpy() - BOOST_DAY) * more.daily["expected_orders"][BOOST_DAY]
    np.testing.assert_allclose(ua, ub, rtol=1e-9)


def test_later_orders_keep_their_baskets_and_transit_times(boosted):
    base, more = boosted
    a, b = base.orders, more.orders
    after_a = a[a["arrival"] >= BOOST_DAY + 1].reset_index(drop=True)
    after_b = b[b["arrival"] >= BOOST_DAY + 1].reset_index(drop=True)
    for col in ("region", "value"):
        np.testing.assert_array_equal(after_a[col].to_numpy(), after_b[col].to_numpy(), err_msg=col)
    np.testing.assert_allclose(after_a["arrival"], after_b["arrival"], rtol=0, atol=1e-9)
    # each parcel of a later order has the same transit time in both runs when it takes the same
    # lane, even though the boosted day shifted every order id after it
    sa, sb = base.shipments, more.shipments
    shift = len(b) - len(a)
    first_a = int(np.searchsorted(a["arrival"].to_numpy(), BOOST_DAY + 1))
    ia = np.flatnonzero(sa["order"] >= first_a)
    ib = np.flatnonzero(sb["order"] >= first_a + shift)
    assert len(ia) == len(ib) > 1000
    np.testing.assert_array_equal(sa["order"][ia] + shift, sb["order"][ib])
    same_lane = (
        (sa["wh"][ia] == sb["wh"][ib])
        & (sa["carrier"][ia] == sb["carrier"][ib])
        & (sa["ship"][ia] <= 40)
        & (sb["ship"][ib] <= 40)
    )
    assert same_lane.mean() > 0.95
    transit_a = (sa["deliver"] - sa["ship"])[ia][same_lane]
    transit_b = (sb["deliver"] - sb["ship"])[ib][same_lane]
    np.testing.assert_array_equal(transit_a, transit_b)


# ---------------------------------------------------------------- supplier lead times
def test_a_purchase_order_keeps_its_lead_time_whatever_else_is_ordered():
    """The n-th purchase order of a (warehouse, SKU) pair has the same lead time in every variant."""
    from sim.model.suppliers import SupplierModel

    sc = load_scenario(MULTI)  # gamma lead times (mean 5 and 18 days)
    pairs = 3 * 300

    def model():
        return SupplierModel(sc, 77, np.random.default_rng(0), pairs)

    a, b = model(), model()
    first = a.lead_times(0, np.array([1, 5, 9, 400]), 3.2)
    alone = b.lead_times(0, np.array([5]), 11.7)  # another variant orders pair 5 later, alone
    assert alone[0] == first[1]
    second_a = a.lead_times(0, np.array([5, 9]), 20.0)  # second orders: their own draws, again shared
    second_b = b.lead_times(0, np.array([5]), 26.5)
    assert second_b[0] == second_a[0] != first[1]
    assert second_a[1] != first[2]
    # over many pairs and orders they are independent draws of the supplier's distribution
    c = model()
    draws = np.concatenate([c.lead_times(0, np.arange(pairs), t) for t in range(5)])
    dist = sc.suppliers[0].lead_time_days
    assert abs(draws.mean() - dist.mean) < 3 * dist.std / np.sqrt(len(draws))
    assert abs(draws.std() - dist.std) < 0.05 * dist.std
    assert len(np.unique(draws)) == len(draws)
