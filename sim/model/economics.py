"""Facts the simulator and the optimizers both use, each stated once.

The simulator plays these rules out order by order; the optimizers (``optimize/``) build
their inputs from the same functions, never from a copy, so a plan is priced by the rules
that will run it:

* :func:`carrier_rule` — which carrier a shipment goes to when no plan names one
  (``routing.carrier``: cheapest on its lane by weight, fastest by mean transit, or the
  express carrier from ``routing.express_min_order_value``);
* :func:`supplier_order_costs` / :func:`pair_order_costs` — the cost of one replenishment
  order (the supplier's ``order_cost``, else ``inventory.costs.order_cost``);
* :data:`ORDERING_COST_RULE` / :func:`order_cost_per_unit` — what a replenishment order adds
  to ``ordering_cost``: its fixed cost plus ``inventory.costs.order_cost_per_unit`` per unit;
* :func:`holding_cost_per_unit_year` — holding cost of one unit for a year
  (``holding_rate_per_year`` x unit cost);
* :func:`picking_capacity_per_day` — the orders a warehouse's scheduled pickers can pick on
  each day (picker-seconds / seconds of a one-order job x utilization);
* :func:`mean_order_weight_kg` — the expected weight of an order (lanes are priced by weight);
* :func:`gross_margin_per_order` — the expected revenue at the day's prices less the cost
  of goods of one order (the simulator's ``gross_margin`` = revenue - cost of goods sold).

>>> from sim.scenario.loader import load_scenario
>>> from sim.model.catalog import catalog_for
>>> s = load_scenario("scenarios/classroom_sq.yaml")
>>> float(supplier_order_costs(s)[0]) == (s.suppliers[0].order_cost or s.inventory.costs.order_cost)
True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.model.catalog import CatalogArrays
from sim.model.delivery import Carriers
from sim.model.warehouse import SECONDS_PER_DAY, capacity_schedule, mean_job_seconds, picker_days_per_day
from sim.scenario.schema import Scenario, Warehouse

CarrierRule = Callable[[int, int, float, float], int]
"""``rule(warehouse, region, weight_kg, order_value) -> carrier index``."""
CarrierRuleBlock = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""The same rule over arrays (one element per shipment)."""


# ------------------------------------------------------------------ the carrier rule
def express_carrier_index(scenario: Scenario, carriers: Carriers) -> int:
    """Index of ``routing.express_carrier`` among the carriers, -1 if it names none of them."""
    name = scenario.routing.express_carrier
    return carriers.names.index(name) if name in carriers.names else -1


def carrier_rule(scenario: Scenario, carriers: Carriers) -> CarrierRule:
    """The carrier a shipment goes to under ``routing.carrier`` when no lane plan names one.

    ``fastest``: least mean transit on the lane; ``rule``: the express carrier when the order
    value reaches ``express_min_order_value`` (if that carrier exists), else as ``cheapest``;
    ``cheapest``: the lowest price on the lane for the shipment's weight. Carrier capacity and
    down periods are not part of the rule (``Carriers.ship`` applies them afterwards). The rule
    is chosen once, so the per-shipment call does no string comparisons.

    >>> from sim.scenario.loader import load_scenario
    >>> s = load_scenario("scenarios/multi_warehouse.yaml")
    >>> rule = carrier_rule(s, Carriers(s))
    >>> 0 <= rule(0, 0, 1.5, 20.0) < len(s.carriers)
    True
    """
    cheapest = carriers.cheapest
    kind = scenario.routing.carrier
    if kind == "fastest" and carriers.fastest is not None:
        fastest: list[list[int]] = carriers.fastest.tolist()

        def by_speed(w: int, r: int, weight: float, value: float) -> int:
            return fastest[w][r]

        return by_speed
    express = express_carrier_index(scenario, carriers)
    if kind == "rule" and express >= 0:
        minimum = scenario.routing.express_min_order_value

        def by_value(w: int, r: int, weight: float, value: float) -> int:
            return express if value >= minimum else cheapest(w, r, weight)

        return by_value

    def by_price(w: int, r: int, weight: float, value: float) -> int:
        return cheapest(w, r, weight)

    return by_price


def carrier_rule_block(scenario: Scenario, carriers: Carriers) -> CarrierRuleBlock:
    """:func:`carrier_rule` for many shipments at once (arrays of warehouse, region, weight, value):
    the same choice for each, used when the shipments are booked together after a run.

    >>> from sim.scenario.loader import load_scenario
    >>> s = load_scenario("scenarios/multi_warehouse.yaml"); car = Carriers(s)
    >>> one, many = carrier_rule(s, car), carrier_rule_block(s, car)
    >>> w, r, kg, v = np.array([0, 1]), np.array([1, 0]), np.array([0.5, 9.0]), np.array([20.0, 300.0])
    >>> many(w, r, kg, v).tolist() == [one(0, 1, 0.5, 20.0), one(1, 0, 9.0, 300.0)]
    True
    """
    kind = scenario.routing.carrier
    if kind == "fastest" and carriers.fastest is not None:
        fastest = carriers.fastest
        return lambda w, r, weight, value: fastest[w, r]
    express = express_carrier_index(scenario, carriers)
    if kind == "rule" and express >= 0:
        minimum = scenario.routing.express_min_order_value
        return lambda w, r, weight, value: np.where(value >= minimum, express, carriers.cheapest_block(w, r, weight))
    return lambda w, r, weight, value: carriers.cheapest_block(w, r, weight)


# ------------------------------------------------------------------ replenishment costs
ORDERING_COST_RULE = (
    "`ordering_cost` = order cost x replenishment orders + `order_cost_per_unit` x units ordered: every purchase "
    "order pays its supplier's `order_cost` (else `inventory.costs.order_cost`) and `order_cost_per_unit` for "
    "each unit it orders, on the day it is placed (the per-unit part is the textbook purchase cost c; it is not "
    "the cost of goods sold, which stays `unit_cost` x units shipped)."
)


def order_cost_per_unit(scenario: Scenario) -> float:
    """Purchase cost per unit ordered that ``ordering_cost`` counts (``inventory.costs.order_cost_per_unit``)."""
    return float(scenario.inventory.costs.order_cost_per_unit)


def supplier_order_costs(scenario: Scenario) -> np.ndarray:
    """(suppliers,) cost of one replenishment order: the supplier's ``order_cost``, else
    ``inventory.costs.order_cost``."""
    default = scenario.inventory.costs.order_cost
    return np.array([s.order_cost if s.order_cost is not None else default for s in scenario.suppliers], dtype=float)


def pair_order_costs(scenario: Scenario, catalog: CatalogArrays) -> np.ndarray:
    """(warehouses x SKUs,) order cost K of every (warehouse, SKU) pair, flat index w * n_sku + i
    (the cost of an order to the SKU's supplier)."""
    return np.tile(supplier_order_costs(scenario)[catalog.supplier], len(scenario.warehouses))


def holding_cost_per_unit_year(scenario: Scenario, catalog: CatalogArrays) -> np.ndarray:
    """(warehouses x SKUs,) holding cost h of one unit for a year: ``holding_rate_per_year`` x unit
    cost, at least 1e-9 (so EOQ = sqrt(2 K D / h) stays finite for free goods)."""
    unit_cost = np.tile(catalog.unit_cost, len(scenario.warehouses))
    return np.maximum(scenario.inventory.costs.holding_rate_per_year * unit_cost, 1e-9)


# ------------------------------------------------------------------ picking capacity
def picker_days(scenario: Scenario, wh: Warehouse, event_days: np.ndarray) -> np.ndarray:
    """(horizon,) scheduled picker-days of warehouse ``wh`` on each day (shifts, promotion
    extra pickers on ``event_days``, down periods): the schedule the simulator's pickers follow."""
    times, caps = capacity_schedule(scenario, wh, event_days)
    return picker_days_per_day(times, caps, scenario.horizon_days)


def job_seconds_per_order(scenario: Scenario, wh: Warehouse) -> float:
    """Expected seconds of a one-order pick job at ``wh`` with the mean lines per order (at least 1e-9)."""
    if wh.picking is None:
        raise ValueError(f"warehouse {wh.name} has no picking model")
    return max(mean_job_seconds(wh.picking, scenario.demand.lines_per_order.mean), 1e-9)


def picking_capacity_per_day(
    scenario: Scenario, wh: Warehouse, event_days: np.ndarray, max_utilization: float = 1.0
) -> np.ndarray:
    """(horizon,) orders/day warehouse ``wh`` can pick: picker-seconds of the day / seconds of a
    one-order job x ``max_utilization`` (1: every scheduled picker-second picks)."""
    job = job_seconds_per_order(scenario, wh)
    return picker_days(scenario, wh, event_days) * SECONDS_PER_DAY / job * max_utilization


# ------------------------------------------------------------------ margin of an order
def units_per_order(scenario: Scenario) -> float:
    """Expected units of an order: E[lines per order] x E[units per line]."""
    d = scenario.demand
    return d.lines_per_order.mean * d.units_per_line.mean


def mean_order_weight_kg(scenario: Scenario, catalog: CatalogArrays) -> float:
    """Expected weight of an order: sum_i p_i weight_i x E[lines per order] x E[units per line]."""
    d = scenario.demand
    return float(np.dot(catalog.popularity, catalog.weight_kg)) * d.lines_per_order.mean * d.units_per_line.mean


def gross_margin_per_order(
    scenario: Scenario, catalog: CatalogArrays, price_factor: np.ndarray | float = 1.0
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """(revenue, gross margin) of an expected order at the day's ``price_factor`` (event discount).

    revenue = units per order x sum_i p_i price_i x price factor (p_i: SKU popularity);
    gross margin = revenue - units per order x sum_i p_i unit_cost_i — per order, what the
    simulator's ``gross_margin`` KPI (revenue - cost of goods sold) adds up over the orders shipped.
    """
    units = units_per_order(scenario)
    price = float(np.dot(catalog.popularity, catalog.price))
    cost = float(np.dot(catalog.popularity, catalog.unit_cost))
    revenue = units * price * price_factor
    return revenue, revenue - units * cost
