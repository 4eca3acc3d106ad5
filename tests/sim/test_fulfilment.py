"""The way from click to door (issue 3): routing, carriers, cut-offs, shifts, waves, conservation, errors.

Most tests run a small hand-checkable network (``NETWORK``): two regions, each
with its own DC, three SKUs whose weights tell them apart in the shipment
records, and two carriers whose prices are simple enough to work out by hand:

    economy  5 + 2.0 x kg, 2 days        (1 kg: 7.0   2 kg: 9.0   10 kg: 25.0)
    express 10 + 0.5 x kg, 1 day         (1 kg: 10.5  2 kg: 11.0  10 kg: 15.0)

Orders have one line of one unit unless a test says otherwise, so a shipment's
weight names its SKU (A = 1 kg worth 100, B = 2 kg worth 500, C = 10 kg worth 50).
Stock is 10^6 units per SKU and DC (base-stock) and the supplier takes 1000 days,
so a DC given ``order_up_to: 0`` for a SKU never has it during the run.

Times are days since the start; the shipment arrays come from
``result.shipments`` and the per-order table from ``record_orders=True``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

from experiments.stats import mean_ci
from sim.model.shop import simulate
from sim.scenario.loader import load_scenario

NETWORK = """\
name: network
start_date: 2026-03-02            # a Monday
horizon_days: 20
catalog:
  skus:
    - {id: A, price: 100, unit_cost: 50, weight_kg: 1}
    - {id: B, price: 500, unit_cost: 250, weight_kg: 2}
    - {id: C, price: 50, unit_cost: 20, weight_kg: 10}
demand:
  base_orders_per_day: 200
  regions:
    - {name: north, share: 0.5, promise_days: 2}
    - {name: south, share: 0.5, promise_days: 2}
warehouses:
  - name: north_dc
    regions: [north]
  - name: south_dc
    regions: [south]
suppliers:
  - name: acme
    lead_time_days: 1000
carriers:
  - name: economy
    base_cost: 5
    cost_per_kg: 2
    transit_days: 2
    lanes:
      - {warehouse: south_dc, region: south, transit_days: 0.5}
  - name: express
    base_cost: 10
    cost_per_kg: 0.5
    transit_days: 1
inventory:
  policy: {type: base_stock, order_up_to: 1000000}
"""
NORTH, SOUTH = 0, 1  # region and warehouse indices (each region's own DC has its index)
ECONOMY, EXPRESS = 0, 1
KG_A, KG_B, KG_C = 1.0, 2.0, 10.0


def network(tmp_path: Path, *overrides: str, text: str = NETWORK):
    path = tmp_path / "network.yaml"
    path.write_text(text, encoding="utf-8")
    return load_scenario(path, overrides)


def run(scenario, seed: int = 11, **kwargs):
    result = simulate(scenario, seed=seed, **kwargs)
    return result, result.shipments


def day_fraction(t: np.ndarray) -> np.ndarray:
    return t - np.floor(t)


def busy_after_each_start(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Jobs in service just after each job start (jobs are [start, end) intervals)."""
    starts = np.sort(start)
    ends = np.sort(end)
    return np.searchsorted(starts, start, side="right") - np.searchsorted(ends, start, side="right")


# ================================================================== routing: which warehouse
def test_own_region_sends_each_region_to_its_own_dc(tmp_path):
    result, shp = run(network(tmp_path))
    assert len(shp["order"]) > 3000
    assert np.array_equal(shp["wh"], shp["region"])  # north -> north_dc, south -> south_dc
    assert set(np.unique(shp["region"]).tolist()) == {NORTH, SOUTH}
    assert result.kpis["split_shipment_rate"] == 0


def test_own_region_uses_the_dc_listing_the_region(tmp_path):
    """A DC may serve several regions; the first DC listing a region is its own."""
    s = network(tmp_path, "warehouses[0].regions=[]", "warehouses[1].regions=[north, south]")
    _, shp = run(s)
    assert np.all(shp["wh"] == SOUTH)


def test_nearest_with_stock_skips_a_dc_without_the_sku(tmp_path):
    s = network(
        tmp_path,
        "routing.warehouse=nearest_with_stock",
        "inventory.per_sku=[{sku: A, warehouse: north_dc, order_up_to: 0}]",
    )
    result, shp = run(s)
    is_a = shp["weight"] == KG_A
    north = shp["region"] == NORTH
    # north's own DC has no A: those orders go to the next DC that has it; everything else stays home
    assert np.count_nonzero(north & is_a) > 300
    assert np.all(shp["wh"][north & is_a] == SOUTH)
    assert np.all(shp["wh"][north & ~is_a] == NORTH)
    assert np.all(shp["wh"][~north] == SOUTH)
    # so nothing waits for stock
    assert result.order_status["backordered"] == 0 and np.all(np.isfinite(shp["release"]))


SPLIT_STOCK = [
    "routing.warehouse=nearest_with_stock",
    "demand.lines_per_order=2",
    "inventory.per_sku=[{sku: A, warehouse: north_dc, order_up_to: 0}, {sku: B, warehouse: south_dc, order_up_to: 0}]",
]


def test_split_shipments_send_lines_stocked_in_different_dcs_in_two_parcels(tmp_path):
    """Two lines each: only {A, B} (3 kg, no DC holds both) needs two parcels: A from south, B from north."""
    result, shp = run(network(tmp_path, *SPLIT_STOCK, "routing.split_shipments=true"), record_orders=True)
    orders = result.orders
    order_weight = np.bincount(shp["order"].astype(int), weights=shp["weight"], minlength=len(orders))
    mixed = order_weight == KG_A + KG_B
    assert np.array_equal(orders["shipments"].to_numpy() == 2, mixed)
    assert np.all(orders["shipments"].to_numpy()[~mixed] == 1)
    in_mixed = mixed[shp["order"].astype(int)]
    assert np.all(shp["wh"][in_mixed & (shp["weight"] == KG_A)] == SOUTH)
    assert np.all(shp["wh"][in_mixed & (shp["weight"] == KG_B)] == NORTH)
    assert result.order_status["backordered"] == 0
    # the KPI: P({A, B}) = 2 x 1/3 x 1/3 with equal popularity
    rate = result.kpis["split_shipment_rate"]
    assert rate == pytest.approx(np.mean(mixed), abs=0.01)
    assert mean_ci(mixed.astype(float), level=0.99).contains(2 / 9)


def test_without_split_an_order_ships_from_one_dc_and_waits_there(tmp_path):
    result, shp = run(network(tmp_path, *SPLIT_STOCK), record_orders=True)
    orders = result.orders
    assert np.all(orders["shipments"] == 1)
    assert result.kpis["split_shipment_rate"] == 0
    mixed = shp["weight"] == KG_A + KG_B
    assert np.count_nonzero(mixed) > 300
    # no DC can serve {A, B} whole: it waits for stock at its own DC (and the supplier takes 1000 days)
    assert np.array_equal(shp["wh"][mixed], shp["region"][mixed])
    assert np.all(np.isnan(shp["release"][mixed]))
    assert np.all(orders["stage"].to_numpy()[shp["order"][mixed].astype(int)] == "backordered")
    assert np.all(np.isfinite(shp["release"][~mixed]))


def test_lane_plan_shares_and_carriers_are_respected(tmp_path):
    s = network(
        tmp_path,
        "routing.warehouse=lane_plan",
        "demand.base_orders_per_day=400",
        "routing.lane_plan=[{region: north, warehouse: north_dc, carrier: economy, share: 0.7},"
        " {region: north, warehouse: south_dc, carrier: express, share: 0.3},"
        " {region: south, warehouse: south_dc, carrier: economy, share: 1.0}]",
    )
    _, shp = run(s)
    north = shp["region"] == NORTH
    from_north_dc = shp["wh"][north] == NORTH
    assert mean_ci(from_north_dc.astype(float), level=0.99).contains(0.7)
    assert np.count_nonzero(north) > 3000
    # each lane keeps its carrier (cheapest would send the 10 kg SKU express, the rest economy)
    assert np.all(shp["carrier"][north][from_north_dc] == ECONOMY)
    assert np.all(shp["carrier"][north][~from_north_dc] == EXPRESS)
    assert np.all((shp["wh"][~north] == SOUTH) & (shp["carrier"][~north] == ECONOMY))


# ================================================================== carriers
def hand_price(carrier: np.ndarray, weight: np.ndarray, multiplier: np.ndarray) -> np.ndarray:
    base = np.where(carrier == ECONOMY, 5.0, 10.0)
    per_kg = np.where(carrier == ECONOMY, 2.0, 0.5)
    return (base + per_kg * weight) * multiplier


def test_cheapest_picks_the_cheaper_carrier_for_the_weight_and_lane(tmp_path):
    # express at half price on the north lane: 5.25 / 5.5 / 7.5, cheaper than economy for every SKU there
    s = network(tmp_path, "carriers[1].lanes=[{warehouse: north_dc, region: north, cost_multiplier: 0.5}]")
    result, shp = run(s)
    north = (shp["wh"] == NORTH) & (shp["region"] == NORTH)
    mult = np.where(north, 0.5, 1.0)
    eco = hand_price(np.full(len(mult), ECONOMY), shp["weight"], 1.0)
    exp = hand_price(np.full(len(mult), EXPRESS), shp["weight"], mult)
    expected = np.where(exp < eco, EXPRESS, ECONOMY)
    assert np.array_equal(shp["carrier"], expected)
    assert np.all(shp["carrier"][north] == EXPRESS)
    # south: 1 kg and 2 kg go economy (7 < 10.5, 9 < 11), 10 kg goes express (15 < 25)
    south = ~north
    assert np.all(shp["carrier"][south & (shp["weight"] < 5)] == ECONOMY)
    assert np.all(shp["carrier"][south & (shp["weight"] == KG_C)] == EXPRESS)
    # the cost charged is the lane price, and the KPI adds up the shipments that left
    assert np.allclose(shp["cost"], np.minimum(eco, exp))
    left = shp["ship"] < s.horizon_days
    assert result.kpis["shipping_cost"] == pytest.approx(shp["cost"][left].sum())


def test_fastest_picks_the_lower_mean_transit_per_lane(tmp_path):
    _, shp = run(network(tmp_path, "routing.carrier=fastest"))
    south_lane = (shp["wh"] == SOUTH) & (shp["region"] == SOUTH)
    assert np.all(shp["carrier"][south_lane] == ECONOMY)  # lane transit 0.5 day < express 1 day
    assert np.all(shp["carrier"][~south_lane] == EXPRESS)  # 1 day < economy 2 days
    transit = shp["deliver"] - shp["ship"]
    assert np.allclose(transit[south_lane], 0.5) and np.allclose(transit[~south_lane], 1.0)


def test_rule_sends_valuable_orders_express_and_the_rest_cheapest(tmp_path):
    s = network(
        tmp_path, "routing.carrier=rule", "routing.express_carrier=express", "routing.express_min_order_value=300"
    )
    _, shp = run(s)
    assert np.all(shp["carrier"][shp["value"] >= 300] == EXPRESS)  # B (500): express by rule
    assert np.all(shp["carrier"][shp["weight"] == KG_A] == ECONOMY)  # A (100): economy is cheapest
    assert np.all(shp["carrier"][shp["weight"] == KG_C] == EXPRESS)  # C (50): express is cheapest
    assert np.count_nonzero(shp["value"] >= 300) > 500


def test_promise_and_on_time_flag(tmp_path):
    """One DC, instant picking, 0.5-day transit and a same-day promise: on time iff ordered by noon."""
    s = network(
        tmp_path,
        "routing.carrier=fastest",
        "demand.regions=[{name: south, share: 1, promise_days: 0}]",
        "warehouses[0].regions=[]",
    )
    result, _shp = run(s, record_orders=True)
    o = result.orders
    due = o["deadline"] <= s.horizon_days
    assert np.allclose(o["deadline"], np.floor(o["arrival"]) + 1)
    by_noon = day_fraction(o["arrival"].to_numpy()) <= 0.5
    assert result.kpis["on_time_rate"] == pytest.approx(np.mean(by_noon[due]))
    assert result.kpis["late_orders"] == np.count_nonzero(~by_noon[due])
    assert result.daily["late_orders"].sum() == result.kpis["late_orders"]
    # instant picking, no cut-off, a fixed 0.5-day transit: click-to-door is exactly half a day
    k = result.kpis
    assert k["order_cycle_time_days"] == 0
    for key in ("click_to_door_days", "click_to_door_p50", "click_to_door_p90", "click_to_door_p95"):
        assert k[key] == pytest.approx(0.5)
    assert k["shipping_cost_per_order"] == pytest.approx(k["shipping_cost"] / k["orders"])
    # a carrier's own promise overrides the region's: with a next-day promise everything is on time
    s2 = network(
        tmp_path,
        "routing.carrier=fastest",
        "demand.regions=[{name: south, share: 1, promise_days: 0}]",
        "warehouses[0].regions=[]",
        "carriers[0].promise_days=1",
    )
    assert run(s2)[0].kpis["on_time_rate"] == 1.0


def test_late_orders_cost_their_voucher_and_nothing_else(tmp_path):
    """late_delivery_cost_per_order: late orders x the cost, in total cost and profit; the run is otherwise unchanged."""
    over = (
        "routing.carrier=fastest",
        "demand.regions=[{name: south, share: 1, promise_days: 0}]",
        "warehouses[0].regions=[]",
    )
    free = run(network(tmp_path, *over))[0].kpis
    paid = run(network(tmp_path, *over, "inventory.costs.late_delivery_cost_per_order=7.5"))[0].kpis
    assert free["late_orders"] > 100 and free["late_delivery_cost"] == 0
    assert paid["late_delivery_cost"] == pytest.approx(7.5 * paid["late_orders"])
    assert paid["late_orders"] == free["late_orders"] and paid["orders"] == free["orders"]
    assert paid["total_cost"] - free["total_cost"] == pytest.approx(paid["late_delivery_cost"])
    assert free["profit"] - paid["profit"] == pytest.approx(paid["late_delivery_cost"])


CAPACITY = [
    "catalog.skus[1].popularity=0",
    "catalog.skus[2].popularity=0",  # only A: economy is cheapest
    "carriers[0].daily_capacity=30",
    "carriers[1].daily_capacity=20",
]


def per_carrier_day(shp, horizon: int, carriers: int = 2, warehouses: int = 2) -> np.ndarray:
    """Shipments that left, counted per (carrier, warehouse, day)."""
    left = shp["ship"] < horizon
    counts = np.zeros((carriers, warehouses, horizon), dtype=int)
    np.add.at(
        counts,
        (shp["carrier"][left].astype(int), shp["wh"][left].astype(int), np.floor(shp["ship"][left]).astype(int)),
        1,
    )
    return counts


def test_carrier_capacity_is_never_exceeded_and_overflow_waits(tmp_path):
    s = network(tmp_path, *CAPACITY, "routing.capacity_overflow=wait")
    result, shp = run(s)
    counts = per_carrier_day(shp, s.horizon_days)
    assert counts[ECONOMY].max() == 30 and counts[EXPRESS].sum() == 0  # the cheapest carrier, full every day
    assert np.all(counts[ECONOMY] == 30)  # ~100 orders a day per DC
    # the overflow waits: the backlog grows by about 70 a day per DC
    backlog = result.daily["backlog_end"].to_numpy()
    assert np.all(np.diff(backlog) > 0)
    waited = shp["ship"] > shp["ready"]
    assert np.all(day_fraction(shp["ship"][waited]) == 0)  # it leaves when the next day opens


def test_carrier_capacity_spills_to_the_other_carrier(tmp_path):
    s = network(tmp_path, *CAPACITY, "routing.capacity_overflow=spill")
    _, shp = run(s)
    counts = per_carrier_day(shp, s.horizon_days)
    assert counts[ECONOMY].max() <= 30 and counts[EXPRESS].max() <= 20
    assert np.all(counts[EXPRESS] == 20) and np.all(counts[ECONOMY] == 30)
    # express only takes what economy could not: its first parcel of a day comes after economy's 30th
    for w in (NORTH, SOUTH):
        for d in range(s.horizon_days):
            on_day = (shp["wh"] == w) & (np.floor(shp["ship"]) == d)
            first_express = shp["ship"][on_day & (shp["carrier"] == EXPRESS)].min()
            assert np.count_nonzero(on_day & (shp["carrier"] == ECONOMY) & (shp["ship"] <= first_express)) == 30
    # a spilled parcel pays the other carrier's price
    spilled = shp["carrier"] == EXPRESS
    assert np.allclose(shp["cost"][spilled], 10.5) and np.allclose(shp["cost"][~spilled], 7.0)


# ================================================================== disruptions
DOWN = ["warehouses[0].down=[{start_day: 5, days: 5}]", "warehouses[0].picking={pickers: 2, pick_time_seconds: 60}"]


HOME_PLAN = (
    "routing.lane_plan=[{region: north, warehouse: north_dc, carrier: economy, share: 1.0},"
    " {region: south, warehouse: south_dc, carrier: economy, share: 1.0}]"
)
ROUTINGS = {
    "own_region": ["routing.warehouse=own_region"],
    "nearest_with_stock": ["routing.warehouse=nearest_with_stock"],
    "lane_plan": ["routing.warehouse=lane_plan", HOME_PLAN],
}


@pytest.mark.parametrize("routing", list(ROUTINGS))
@pytest.mark.parametrize("mode", ["reroute", "wait"])
def test_a_down_warehouse_ships_nothing_and_orders_reroute_or_wait(tmp_path, mode, routing):
    """north_dc is down on days 5-9: north's orders go south (reroute) or wait for it (wait), whatever the routing."""
    s = network(tmp_path, *DOWN, f"routing.on_warehouse_down={mode}", *ROUTINGS[routing])
    result, shp = run(s, record_orders=True)
    north_dc = shp["wh"] == NORTH
    assert not np.any(north_dc & (shp["ship"] >= 5) & (shp["ship"] < 10))  # nothing leaves a down DC
    assert not np.any(north_dc & (shp["pick_start"] >= 5) & (shp["pick_start"] < 10))
    arrival = result.orders["arrival"].to_numpy()[shp["order"].astype(int)]
    during = (arrival >= 5) & (arrival < 10) & (shp["region"] == NORTH)
    assert np.count_nonzero(during) > 300
    if mode == "reroute":
        assert np.all(shp["wh"][during] == SOUTH)
        assert np.all(shp["ship"][during] < 10)
    else:
        assert np.all(shp["wh"][during] == NORTH)
        assert np.all(shp["ship"][during] >= 10)
    assert np.all(shp["wh"][(shp["region"] == NORTH) & ~during] == NORTH)


@pytest.mark.parametrize("overflow", ["wait", "spill"])
def test_a_down_carrier_carries_nothing(tmp_path, overflow):
    """express is down on days 5-9; the 10 kg SKU (express is cheapest) waits for it or spills to economy."""
    s = network(tmp_path, "carriers[1].down=[{start_day: 5, days: 5}]", f"routing.capacity_overflow={overflow}")
    _, shp = run(s)
    express = shp["carrier"] == EXPRESS
    assert not np.any(express & (shp["ship"] >= 5) & (shp["ship"] < 10))
    heavy_in_down = (shp["weight"] == KG_C) & (shp["ready"] >= 5) & (shp["ready"] < 10)
    assert np.count_nonzero(heavy_in_down) > 100
    if overflow == "wait":
        assert np.all(express[heavy_in_down]) and np.all(shp["ship"][heavy_in_down] == 10)
    else:
        assert np.all(shp["carrier"][heavy_in_down] == ECONOMY)
        assert np.allclose(shp["ship"][heavy_in_down], shp["ready"][heavy_in_down])
        assert np.allclose(shp["cost"][heavy_in_down], 25.0)


# ================================================================== cut-offs
def test_shipments_leave_only_at_cutoffs(tmp_path):
    s = network(
        tmp_path,
        "warehouses[0].cutoff_hours=[12, 18]",
        "warehouses[1].cutoff_hours=[12, 18]",
        "warehouses[0].picking={pickers: 2, pick_time_seconds: {dist: exponential, mean: 300}}",
        "warehouses[1].picking={pickers: 2, pick_time_seconds: {dist: exponential, mean: 300}}",
    )
    _, shp = run(s)
    gone = shp["ship"] < s.horizon_days
    frac = day_fraction(shp["ship"][gone])
    assert np.all(np.isclose(frac, 0.5) | np.isclose(frac, 0.75))
    ready, ship = shp["ready"][gone], shp["ship"][gone]
    day, f = np.floor(ready), day_fraction(ready)
    expected = np.where(f <= 0.5, day + 0.5, np.where(f <= 0.75, day + 0.75, day + 1.5))
    assert np.allclose(ship, expected)
    late = f > 0.75  # packed after 18:00: leaves at 12:00 next day
    assert np.count_nonzero(late) > 500
    assert np.allclose(ship[late], day[late] + 1.5)


# ================================================================== shifts and waves
SHIFT = [
    "warehouses[0].picking={shifts: [{start_hour: 8, end_hour: 16, pickers: 3, weekdays: [0, 1, 2, 3, 4]}],"
    " pick_time_seconds: {dist: exponential, mean: 120}, labour_cost_per_picker_hour: 30}",
    "warehouses[0].regions=[north, south]",
    "warehouses[1].regions=[]",
    "horizon_days=14",
]


def test_pick_jobs_start_only_in_shift_hours_and_labour_is_paid_per_scheduled_hour(tmp_path):
    s = network(tmp_path, *SHIFT)
    result, shp = run(s)
    start = shp["pick_start"][np.isfinite(shp["pick_start"])]
    assert len(start) > 2000
    hour = day_fraction(start) * 24
    assert np.all((hour >= 8 - 1e-9) & (hour < 16))
    weekday = np.array([(s.start_date + dt.timedelta(days=int(d))).weekday() for d in np.floor(start)])
    assert np.all(weekday < 5)
    assert busy_after_each_start(start, shp["ready"][np.isfinite(shp["pick_start"])]).max() <= 3
    # 3 pickers x 8 h x 30 per hour on each of the 10 weekdays in two weeks
    days = [(s.start_date + dt.timedelta(days=d)).weekday() < 5 for d in range(14)]
    assert result.kpis["labour_cost"] == pytest.approx(3 * 8 * 30 * sum(days))
    assert np.allclose(result.daily["scheduled_picker_days"], np.where(days, 1.0, 0.0))
    assert np.allclose(result.daily["labour_cost"], np.where(days, 720.0, 0.0))
    assert 0 < result.kpis["picker_utilization"] <= 1


def test_promotion_days_add_pickers(tmp_path):
    s = network(
        tmp_path,
        "warehouses[0].picking={pickers: 2, promo_extra_pickers: 3, pick_time_seconds: {dist: exponential, mean: 300}}",
        "warehouses[0].regions=[north, south]",
        "warehouses[1].regions=[]",
        "horizon_days=14",
        "demand.base_orders_per_day=400",
        "demand.promotions=[{name: flash, date: 2026-03-09, days: 1, uplift: 4}]",
    )
    result, shp = run(s)
    event = 7
    picked = np.isfinite(shp["pick_start"])
    start, end = shp["pick_start"][picked], shp["ready"][picked]
    busy = busy_after_each_start(start, np.where(np.isnan(end), np.inf, end))
    on_event = np.floor(start) == event
    assert busy[on_event].max() == 5  # the extra pickers really pick
    assert busy[~on_event].max() <= 2
    assert result.daily["scheduled_picker_days"][event] == pytest.approx(5)
    assert np.allclose(np.delete(result.daily["scheduled_picker_days"].to_numpy(), event), 2)


def job_seconds(lines):
    """setup 30 + 15 per line + travel 30 + 12 per aisle visited, with 20 aisles: 20 (1 - (19/20)^n) expected."""
    lines = np.asarray(lines, dtype=float)
    return 30 + 15 * lines + 30 + 12 * 20 * (1 - (19 / 20) ** lines)


FORMULA = (
    "{pickers: 50, setup_seconds: 30, seconds_per_line: 15, aisles: 20,"
    " travel_seconds_base: 30, travel_seconds_per_aisle: 12"
)


def test_pick_time_is_setup_plus_lines_plus_expected_aisle_travel(tmp_path):
    s = network(
        tmp_path, f"warehouses[0].picking={FORMULA}}}", "demand.lines_per_order={dist: poisson, mean: 3, shift: 1}"
    )
    _, shp = run(s)
    picked = (shp["wh"] == NORTH) & np.isfinite(shp["ready"])
    lines = shp["lines"][picked]
    assert lines.max() >= 6
    seconds = (shp["ready"][picked] - shp["pick_start"][picked]) * 86_400
    assert np.allclose(seconds, job_seconds(lines), atol=1e-4)
    assert job_seconds(1) == pytest.approx(30 + 15 + 30 + 12)
    assert job_seconds(200) == pytest.approx(30 + 3000 + 30 + 240, abs=0.01)
    # south_dc has no picking model: ready the moment its stock is allocated
    south = shp["wh"] == SOUTH
    assert np.array_equal(shp["ready"][south], shp["release"][south])


def test_a_batch_walks_one_route_for_all_its_lines(tmp_path):
    """A batch of orders is one job: travel grows with the batch's lines, far less than one trip per order."""
    s = network(
        tmp_path,
        f"warehouses[0].picking={FORMULA}, release: waves, batch_size: 3, wave_max_orders: 9}}",
        "demand.lines_per_order=2",
        "horizon_days=5",
    )
    _, shp = run(s)
    picked = (shp["wh"] == NORTH) & np.isfinite(shp["ready"])
    # 50 pickers, so a wave's jobs all start at the wave; its orders are batched in release (= record) order
    start, ready, lines = shp["pick_start"][picked], shp["ready"][picked], shp["lines"][picked]
    wave = np.unique(start, return_inverse=True)[1].ravel()
    rank = np.arange(len(wave)) - np.searchsorted(wave, wave)  # position within its wave
    assert np.all(np.diff(wave) >= 0)
    job = wave * 3 + rank // 3  # at most 9 orders: 3 jobs a wave
    size = np.bincount(job)
    job_lines = np.bincount(job, weights=lines)
    job_ready = np.zeros(len(size))
    job_ready[job] = ready
    assert np.count_nonzero(size == 3) > 50
    assert np.array_equal(ready, job_ready[job])  # a batch finishes together
    seconds = (ready - start) * 86_400
    assert np.allclose(seconds, job_seconds(job_lines[job]), atol=1e-4)
    assert np.all(seconds[size[job] == 3] < 3 * job_seconds(2))


def test_waves_release_at_most_the_wave_size_and_only_at_wave_times(tmp_path):
    s = network(
        tmp_path,
        "warehouses[0].picking={pickers: 100, pick_time_seconds: 60, release: waves,"
        " wave_interval_minutes: 60, wave_max_orders: 10}",
        "warehouses[0].regions=[north, south]",
        "warehouses[1].regions=[]",
        "horizon_days=5",
        "demand.base_orders_per_day=480",
    )  # 20 orders an hour, 10 released an hour
    _, shp = run(s)
    start = shp["pick_start"][np.isfinite(shp["pick_start"])]
    wave = np.rint(start * 24)
    assert np.allclose(start * 24, wave, atol=1e-6)  # the hour marks (100 pickers: no queue)
    assert np.all(wave >= 1)  # the first wave is one interval in
    per_wave = np.bincount(wave.astype(int))
    assert per_wave.max() == 10
    assert np.all(per_wave[2:] == 10)  # the backlog fills every wave


def test_waves_pick_batches_together(tmp_path):
    s = network(
        tmp_path,
        "warehouses[0].picking={pickers: 100, release: waves, batch_size: 4,"
        " pick_time_seconds: {dist: exponential, mean: 60},"
        " wave_interval_minutes: 60, wave_max_orders: 10}",
        "warehouses[0].regions=[north, south]",
        "warehouses[1].regions=[]",
        "horizon_days=3",
        "demand.base_orders_per_day=480",
    )
    result, shp = run(s)
    done = np.isfinite(shp["ready"])
    _jobs, size = np.unique(np.stack([shp["pick_start"][done], shp["ready"][done]]), axis=1, return_counts=True)
    # each full wave of 10 is picked as jobs of 4, 4 and 2 orders, which start and finish together
    assert size.max() == 4 and set(size.tolist()) <= {1, 2, 3, 4}
    assert np.count_nonzero(size == 4) >= 2 * np.count_nonzero(size == 2) - 2
    assert result.state["lines_picked"][0] == np.count_nonzero(done)


# ================================================================== overload
def test_an_overloaded_warehouse_builds_a_backlog_and_misses_promises(tmp_path):
    one_dc = [
        "warehouses[0].regions=[north, south]",
        "warehouses[1].regions=[]",
        "horizon_days=30",
        "warehouses[0].picking={pickers: 1, pick_time_seconds: {dist: exponential, mean: 300}}",
    ]
    normal = run(network(tmp_path, *one_dc, "demand.base_orders_per_day=144"))[0]  # rho = 0.5
    overloaded = run(network(tmp_path, *one_dc, "demand.base_orders_per_day=432"))[0]  # rho = 1.5
    backlog = overloaded.daily["backlog_end"].to_numpy()
    slope = np.polyfit(np.arange(len(backlog)), backlog, 1)[0]
    assert 100 < slope < 190  # about lambda - mu = 432 - 288 orders a day
    assert backlog[-1] > backlog[19] > backlog[9] > backlog[0]
    assert overloaded.order_status["in_warehouse"] > 2000
    assert normal.daily["backlog_end"].max() < 50
    assert normal.kpis["on_time_rate"] > 0.95
    assert overloaded.kpis["on_time_rate"] < 0.5
    assert overloaded.kpis["picker_utilization"] == pytest.approx(1.0, abs=0.01)


def test_carrier_rules_hold_on_the_three_dc_scenario():
    """multi_warehouse.yaml: pick-ups only at each DC's cut-offs; express capacity (cut to 20 a DC and day, so
    that it binds) is never exceeded and the overflow spills to economy."""
    s = load_scenario("scenarios/multi_warehouse.yaml", ["horizon_days=60", "carriers[1].daily_capacity=20"])
    _result, shp = run(s)
    left = shp["ship"] < s.horizon_days
    for w, dc in enumerate(s.warehouses):
        hours = day_fraction(shp["ship"][left & (shp["wh"] == w)]) * 24
        allowed = np.array(dc.cutoff_hours)
        assert np.all(np.min(np.abs(hours[:, None] - allowed[None, :]), axis=1) < 1e-6), dc.name
    express = s.carriers[1]
    assert express.name == "express" and express.daily_capacity == 20
    counts = per_carrier_day(shp, s.horizon_days, carriers=2, warehouses=3)
    assert counts[1].max() == 20
    assert np.all(shp["ship"][left] >= shp["ready"][left]) and np.all(shp["deliver"][left] >= shp["ship"][left])
    # the rule: valuable orders go express unless express is full that day (then they spill to economy)
    valuable = left & (shp["value"] >= 300)
    spilled = valuable & (shp["carrier"] == 0)
    assert np.count_nonzero(spilled) > 100
    assert np.all(counts[1][shp["wh"][spilled].astype(int), np.floor(shp["ship"][spilled]).astype(int)] == 20)
    assert np.all(shp["carrier"][left & (shp["value"] < 300)] == 0)  # economy is cheaper on every lane


@pytest.mark.slow
def test_double11_stresses_picking_around_november_11():
    s = load_scenario("scenarios/double11.yaml", ["horizon_days=325"])  # through November 21
    result = simulate(s, seed=1)
    day = (dt.date(2026, 11, 11) - s.start_date).days
    backlog = result.daily["backlog_end"].to_numpy()
    before = backlog[: day - 14]  # the year before the pre-event dip
    assert backlog[day : day + 2].max() > max(before.max(), 2 * np.median(before))
    late = result.daily["late_orders"].to_numpy()
    assert late[day : day + 7].mean() > 3 * np.median(late[: day - 14])


# ================================================================== conservation
def check_order_stages(result, horizon: int) -> None:
    """Each order is in exactly one stage, and its stage agrees with its times."""
    status = result.order_status
    stages = ("delivered", "in_transit", "in_warehouse", "backordered", "lost")
    assert sum(status[k] for k in stages) == status["orders"] == len(result.orders)
    o = result.orders
    counts = o["stage"].value_counts()
    assert all(counts.get(k, 0) == status[k] for k in stages)
    H = horizon
    st, n = o["stage"], o["shipments"]
    release, ship, deliver = o["release"], o["ship"], o["deliver"]
    assert np.all(n[st == "lost"] == 0)
    assert np.all(n[st != "lost"] >= 1)
    assert np.all(np.isinf(release[st == "backordered"]))  # some parcel still waits for stock
    w = st == "in_warehouse"
    assert np.all((release[w] < H) & ~(ship[w] < H))
    t = st == "in_transit"
    assert np.all((ship[t] < H) & ~(deliver[t] < H))
    d = st == "delivered"
    assert np.all((o["arrival"][d] <= ship[d]) & (ship[d] <= deliver[d]) & (deliver[d] < H))


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["inventory.initial_on_hand=reorder_point"],  # backorders
        ["inventory.initial_on_hand=reorder_point", "inventory.unmet_demand=lost_sales"],
        ["routing.warehouse=nearest_with_stock", "routing.split_shipments=true", "inventory.initial_on_hand=3"],
    ],
    ids=["as_shipped", "backorders", "lost_sales", "split"],
)
def test_every_order_ends_in_exactly_one_stage(overrides):
    s = load_scenario("scenarios/multi_warehouse.yaml", ["horizon_days=40", *overrides])
    result = simulate(s, seed=3, record_orders=True)  # a seed whose short runs end with orders in every stage
    check_order_stages(result, s.horizon_days)
    st = result.state
    # units in = units out per (warehouse, SKU) (lost units never were in stock), and every unit
    # demanded was shipped, lost or is still on backorder
    assert np.allclose(st["initial"] + st["received"], st["shipped"] + st["on_hand"])
    assert np.allclose(st["demanded"], st["shipped"] + st["lost"] + st["backorders"])
    if overrides:  # the override starves the stock: units go short during the run and some orders end short
        assert result.daily["units_backordered"].sum() + result.daily["units_lost"].sum() > 0
        assert result.order_status["backordered"] + result.order_status["lost"] > 0


def test_units_are_conserved_per_warehouse_and_sku_on_multi_warehouse():
    s = load_scenario("scenarios/multi_warehouse.yaml", ["horizon_days=40"])
    st = simulate(s, seed=3).state
    assert st["received"].sum() > 0 and st["shipped"].sum() > 0
    assert np.allclose(st["initial"] + st["received"], st["shipped"] + st["on_hand"])
    assert st["lost"].sum() == 0


def test_picks_equal_lines_of_picked_shipments():
    """Without packing a shipment is ready when its pick job ends: picks = lines of shipments ready."""
    no_packing = [f"warehouses[{i}].picking.packing_stations=null" for i in range(3)]
    s = load_scenario("scenarios/multi_warehouse.yaml", ["horizon_days=30", *no_packing])
    result = simulate(s, seed=8)
    shp = result.shipments
    ready = shp["ready"] < s.horizon_days
    per_wh = np.bincount(shp["wh"][ready].astype(int), weights=shp["lines"][ready], minlength=3)
    assert np.array_equal(result.state["lines_picked"], per_wh)
    assert result.daily["picks"].sum() == per_wh.sum()
    shipped = shp["ship"] < s.horizon_days
    assert shp["lines"][shipped].sum() <= per_wh.sum()  # the rest waits for a cut-off
    assert np.all(shp["ready"][shipped] <= shp["ship"][shipped])


# ================================================================== bad input
VALID = """\
name: shop
catalog:
  skus:
    - {id: A, price: 10, unit_cost: 6}
demand:
  base_orders_per_day: 20
  regions:
    - {name: east, share: 0.6}
    - {name: west, share: 0.4}
warehouses:
  - name: east_dc
    regions: [east]
    cutoff_hours: [12, 18]
    picking:
      shifts:
        - {start_hour: 8, end_hour: 16, pickers: 2}
  - name: west_dc
    regions: [west]
    picking:
      pickers: 3
carriers:
  - name: economy
    base_cost: 5
    lanes:
      - {warehouse: east_dc, region: west, cost_multiplier: 1.2}
  - name: express
    base_cost: 12
    daily_capacity: 100
routing:
  warehouse: own_region
  carrier: rule
  express_carrier: express
"""

PLAN = """\
routing:
  warehouse: lane_plan
  lane_plan:
    - {region: east, warehouse: east_dc, carrier: economy, share: 1.0}
    - {region: west, warehouse: west_dc, carrier: economy, share: 0.6}
    - {region: west, warehouse: east_dc, carrier: express, share: 0.4}
"""


def variant(old: str, new: str, base: str = VALID) -> str:
    assert base.count(old) == 1, old
    return base.replace(old, new)


# name -> (text with '# <-' on the offending line, key path, message fragments)
BAD = {
    "unknown region of a lane": (
        variant(
            "{warehouse: east_dc, region: west, cost_multiplier: 1.2}",
            "{warehouse: east_dc, region: wets, cost_multiplier: 1.2}   # <-",
        ),
        "carriers[0].lanes[0].region",
        ["unknown region 'wets'", "did you mean 'west'"],
    ),
    "unknown warehouse of a lane": (
        variant(
            "{warehouse: east_dc, region: west, cost_multiplier: 1.2}",
            "{warehouse: east_cd, region: west, cost_multiplier: 1.2}   # <-",
        ),
        "carriers[0].lanes[0].warehouse",
        ["unknown warehouse 'east_cd'", "did you mean 'east_dc'"],
    ),
    "unknown express carrier": (
        variant("  express_carrier: express", "  express_carrier: expres   # <-"),
        "routing.express_carrier",
        ["unknown carrier 'expres'", "did you mean 'express'"],
    ),
    "unknown carrier in a lane plan": (
        variant(
            "routing:\n  warehouse: own_region\n  carrier: rule\n  express_carrier: express\n",
            PLAN.replace("carrier: economy, share: 0.6}", "carrier: econmy, share: 0.6}   # <-"),
        ),
        "routing.lane_plan[1].carrier",
        ["unknown carrier 'econmy'", "did you mean 'economy'"],
    ),
    "unknown region in a lane plan": (
        variant(
            "routing:\n  warehouse: own_region\n  carrier: rule\n  express_carrier: express\n",
            PLAN.replace("{region: east,", "{region: eastt,").replace("share: 1.0}", "share: 1.0}   # <-"),
        ),
        "routing.lane_plan[0].region",
        ["unknown region 'eastt'", "did you mean 'east'"],
    ),
    "cut-off outside the day": (
        variant("    cutoff_hours: [12, 18]", "    cutoff_hours: [12, 25]   # <-"),
        "warehouses[0].cutoff_hours[1]",
        ["less than or equal to 24", "25"],
    ),
    "cut-offs not increasing": (
        variant("    cutoff_hours: [12, 18]", "    cutoff_hours: [18, 12]   # <-"),
        "warehouses[0].cutoff_hours",
        ["increasing"],
    ),
    "shift ends before it starts": (
        variant("{start_hour: 8, end_hour: 16, pickers: 2}", "{start_hour: 16, end_hour: 8, pickers: 2}   # <-"),
        "warehouses[0].picking.shifts[0].end_hour",
        ["ends (8) before it starts (16)"],
    ),
    "negative carrier capacity": (
        variant("    daily_capacity: 100", "    daily_capacity: -5   # <-"),
        "carriers[1].daily_capacity",
        ["greater than or equal to 0", "-5"],
    ),
    "negative pickers": (
        variant("      pickers: 3", "      pickers: -1   # <-"),
        "warehouses[1].picking.pickers",
        ["greater than or equal to 0", "-1"],
    ),
    "lane plan shares not summing to 1": (
        variant(
            "routing:\n  warehouse: own_region\n  carrier: rule\n  express_carrier: express\n",
            PLAN.replace("  lane_plan:", "  lane_plan:   # <-").replace("share: 0.4}", "share: 0.3}"),
        ),
        "routing.lane_plan",
        ["shares of region 'west' sum to 0.9, not 1"],
    ),
    "rule without an express carrier": (
        variant(
            "routing:\n  warehouse: own_region\n  carrier: rule\n  express_carrier: express\n",
            "routing:   # <-\n  warehouse: own_region\n  carrier: rule\n",
        ),
        "routing.express_carrier",
        ["needs an express_carrier"],
    ),
}

# one problem per mistake; a misspelt region in a lane plan also leaves the real region without a lane
PROBLEMS = {name: 2 if name == "unknown region in a lane plan" else 1 for name in BAD}

LINE = re.compile(r"^error: (?P<file>[^:]+):(?P<line>\d+): (?P<path>[\w.\[\]]+): (?P<message>.+)$")


def marked_line(text: str) -> int:
    (line,) = [i + 1 for i, row in enumerate(text.splitlines()) if "# <-" in row]
    return line


def test_the_valid_network_file_is_valid(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(VALID, encoding="utf-8")
    assert load_scenario(path).routing.express_carrier == "express"
    path.write_text(variant("routing:\n  warehouse: own_region\n  carrier: rule\n  express_carrier: express\n", PLAN))
    assert load_scenario(path).routing.warehouse == "lane_plan"


@pytest.mark.parametrize("name", list(BAD))
def test_bad_network_input_gives_one_clear_line_and_exit_2(tmp_path, name):
    text, key_path, fragments = BAD[name]
    file = tmp_path / "bad.yaml"
    file.write_text(text, encoding="utf-8")
    proc = run_cli("validate", str(file), cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Traceback" not in out and proc.stdout == ""
    assert "nothing was written" in proc.stderr
    errors = [LINE.match(row) for row in proc.stderr.splitlines() if row.startswith("error: ")]
    assert len(errors) == PROBLEMS[name] and all(errors), proc.stderr
    (m,) = [m for m in errors if m["path"] == key_path] or [None]
    assert m is not None, proc.stderr
    assert m["file"] == str(file) and int(m["line"]) == marked_line(text), proc.stderr
    for fragment in fragments:
        assert fragment in m["message"], m["message"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]  # nothing written


def test_simulate_writes_nothing_for_bad_network_input(tmp_path):
    text = BAD["negative carrier capacity"][0]
    file = tmp_path / "bad.yaml"
    file.write_text(text, encoding="utf-8")
    results = tmp_path / "results"
    results.mkdir()
    proc = run_cli("simulate", str(file), "--results", str(results), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"{file}:{marked_line(text)}: carriers[1].daily_capacity:" in proc.stderr
    assert list(results.iterdir()) == []
