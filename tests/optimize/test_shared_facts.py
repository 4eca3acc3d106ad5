"""One definition of each fact the simulator and the optimizers share (issue 15, item 3).

Each test puts what an optimizer feeds its model next to what the simulator does with the
same scenario — not next to a second copy of the formula:

* carrier rule: the carrier ``sim.model.economics.carrier_rule`` picks for each simulated
  shipment (its warehouse, region, weight, value) is the carrier the simulator's per-order
  table records, for every ``routing.carrier``; the promotion optimizer's fulfilment cost
  per order lies in the confidence interval of the simulator's shipping + handling cost;
* order cost: the simulator charges exactly the optimizer's K per replenishment order, with
  and without a supplier's own ``order_cost``, and its EOQ uses that K;
* picking capacity: the schedule the optimizers price is the one the simulator's pickers
  follow, day by day;
* margin: the promotion optimizer's revenue per order is in the CI of the simulator's order
  values, and its gross margin per unit of revenue in the CI of the simulator's.
"""

from __future__ import annotations

import numpy as np
import pytest

from experiments.stats import mean_ci
from optimize.logistics import network_from
from optimize.promotion import fulfilment_cost_per_order, inputs_from
from optimize.reorder import pairs_from
from sim.model.catalog import catalog_for
from sim.model.delivery import Carriers
from sim.model.demand import demand_plan
from sim.model.economics import (
    carrier_rule,
    gross_margin_per_order,
    job_seconds_per_order,
    picker_days,
    supplier_order_costs,
)
from sim.model.policy import region_warehouse, warehouse_shares
from sim.model.records import order_details
from sim.model.shop import ShopModel, simulate
from sim.model.warehouse import picker_days_per_day
from sim.scenario.loader import load_scenario

MULTI = "scenarios/multi_warehouse.yaml"
# capacity_overflow: wait keeps every parcel on the carrier its rule chose (a full carrier
# makes it wait a day instead of spilling to another one)
WAIT = ["horizon_days=60", "routing.capacity_overflow=wait"]


# --------------------------------------------------------------------------- carrier rule
@pytest.mark.parametrize("rule", ["rule", "cheapest", "fastest"])
def test_carrier_the_optimizer_prices_is_the_carrier_the_simulator_records(rule):
    sc = load_scenario(MULTI, [*WAIT, f"routing.carrier={rule}"])
    res = simulate(sc, 1, record_orders=True)
    shp = res.shipments
    left = np.isfinite(shp["ship"])
    choose = carrier_rule(sc, Carriers(sc))
    wh, region, carrier = (shp[k][left].astype(int) for k in ("wh", "region", "carrier"))
    priced = [
        choose(int(w), int(r), float(kg), float(v))
        for w, r, kg, v in zip(wh, region, shp["weight"][left], shp["value"][left])
    ]
    assert left.sum() > 1000
    assert np.array_equal(priced, carrier)
    # the per-order table names the same carriers
    table = order_details(res, sc)
    names = [c.name for c in sc.carriers]
    single = np.bincount(shp["order"].astype(int), minlength=len(table)) == 1
    order_of = shp["order"][left].astype(int)
    mine = single[order_of]
    assert np.array_equal(table.carrier.to_numpy()[order_of[mine]], np.array(names)[carrier[mine]])
    if rule == "rule":  # the rule really mixes carriers here, so the check has teeth
        assert 0 < np.mean(carrier == names.index("express")) < 1


def test_fulfilment_cost_per_order_matches_the_simulated_cost():
    """Orders of days without a promotion (full prices, as the optimizer prices them) from their own
    region's warehouse: shipping + handling per order, a 99% CI over orders."""
    sc = load_scenario(MULTI, ["horizon_days=120", "routing.capacity_overflow=wait", "routing.split_shipments=false"])
    res = simulate(sc, 2, record_orders=True)
    table = order_details(res, sc)
    plan = demand_plan(sc)
    own = np.array([sc.warehouses[region_warehouse(sc)[r]].name for r in table.region])
    keep = (~plan.event[table.day.to_numpy()]) & (table.warehouses.to_numpy() == own) & (table.shipments == 1)
    keep &= table.status.isin(["delivered", "in_transit"]).to_numpy()
    handling = {w.name: w.handling_cost_per_order for w in sc.warehouses}
    cost = table.shipping_cost[keep].to_numpy() + np.array([handling[w] for w in table.warehouses[keep]])
    assert keep.sum() > 2000
    ci = mean_ci(cost, level=0.99)
    assert ci.contains(fulfilment_cost_per_order(sc, orders=40_000))
    # a rule that ignored express orders would price every order like economy: outside the CI
    cheap = load_scenario(MULTI, ["horizon_days=120", "routing.carrier=cheapest"])
    assert not ci.contains(fulfilment_cost_per_order(cheap, orders=40_000))


# --------------------------------------------------------------------------- order cost
@pytest.mark.parametrize("own_cost", [None, 75.0])
def test_order_cost_the_simulator_charges_is_the_optimizers_K(own_cost):
    sets = ["horizon_days=730"] + ([f"suppliers[0].order_cost={own_cost}"] if own_cost is not None else [])
    sc = load_scenario("scenarios/classroom_sq.yaml", sets)
    expected = own_cost if own_cost is not None else sc.inventory.costs.order_cost
    pairs = pairs_from(sc)
    assert np.all(expected == pairs.K)
    assert np.all(supplier_order_costs(sc) == expected)
    daily = simulate(sc, 3).daily
    assert daily.replenishment_orders.sum() > 20
    assert daily.ordering_cost.sum() == pytest.approx(expected * daily.replenishment_orders.sum(), rel=1e-12)
    # the simulator's EOQ is sqrt(2 K D / h) with the same K (and the optimizer plans with that Q)
    if sc.inventory.policy.order_quantity in (None, "eoq"):
        model = ShopModel(sc, 3)
        D = model.policy.mean_daily_demand * 365
        assert np.array_equal(model.policy.order_quantity, np.maximum(np.rint(np.sqrt(2 * pairs.K * D / pairs.h)), 1))


# --------------------------------------------------------------------------- picking capacity
def test_picking_capacity_the_optimizers_price_is_the_simulators_schedule():
    sc = load_scenario(MULTI, ["horizon_days=60"])
    model = ShopModel(sc, 1)
    event = model.plan.event
    net = network_from(sc)
    inp = inputs_from(sc, late_share=0.0)
    share = warehouse_shares(sc)
    shop = np.full(sc.horizon_days, np.inf)
    for w, (wh, station) in enumerate(zip(sc.warehouses, model.fulfilment.stations)):
        scheduled = picker_days_per_day(station.times, station.caps, sc.horizon_days)  # what the pickers do
        assert np.array_equal(picker_days(sc, wh, event), scheduled)
        job = job_seconds_per_order(sc, wh)
        assert net.pick_capacity[w] == pytest.approx(scheduled.mean() * 86400 / job * 0.9, rel=1e-12)
        shop = np.minimum(shop, scheduled * 86400 / job / share[w])
    np.testing.assert_allclose(inp.capacity, shop, rtol=1e-12)
    assert np.ptp(shop) > 0  # weekends and promotion days really change the capacity


# --------------------------------------------------------------------------- margin
def test_margin_per_order_matches_the_simulated_revenue_and_cost_of_goods():
    sc = load_scenario("scenarios/baseline.yaml", ["horizon_days=120"])
    cat, plan = catalog_for(sc), demand_plan(sc)
    revenue, gross = gross_margin_per_order(sc, cat, plan.price_factor)
    inp = inputs_from(sc, late_share=0.0)
    np.testing.assert_array_equal(inp.revenue_per_order, revenue)
    np.testing.assert_allclose(inp.margin + sum(inp.costs_per_order.values()), gross, rtol=1e-12)
    res = simulate(sc, 4, record_orders=True)
    table = order_details(res, sc)
    full_price = plan.price_factor[table.day.to_numpy()] == 1.0
    assert mean_ci(table.value[full_price], level=0.99).contains(float(np.max(revenue[plan.price_factor == 1.0])))
    # gross margin per unit of revenue (that day's prices): (revenue - cogs) - ratio x revenue has mean 0
    after = ~res.daily.warmup.to_numpy()
    ratio = (gross / revenue)[after]
    d = res.daily[after]
    ci = mean_ci((d.revenue - d.cogs) - ratio * d.revenue, level=0.99)
    assert ci.contains(0.0)
    assert not ci.contains(float(-0.05 * d.revenue.mean()))  # five points of margin off is excluded
