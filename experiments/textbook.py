"""A textbook (r, Q) or periodic (s, S) case as a one-SKU scenario, to check the book's cost by simulation.

``run.py optimize textbook rq|ss --verify N`` simulates the optimum it found on the scenario
:func:`textbook_scenario` builds: one SKU, Poisson orders of one unit, a constant lead time,
full backordering, and the policy and cost keys of the overlay (``reorder_trigger``,
``cost_basis``, ``order_cost_per_unit``), so the simulated cost per day (per period for ``ss``)
is the quantity the book's formula gives. The holding rate is 1 per year and the unit cost
365 h per period-day, so holding costs h per unit per period whatever h is.

>>> sc = textbook_scenario("rq", {"inventory": {"policy": {"type": "sQ", "review": "continuous",
...     "reorder_point": 3, "order_quantity": 5}, "costs": {"order_cost": 100.0}}},
...     demand_per_day=1.5, lead_time_days=2.0, holding_per_day=20.0)
>>> sc.catalog.skus[0].unit_cost, sc.inventory.costs.holding_rate_per_year, sc.horizon_days
(7300.0, 1.0, 3650)
"""

from __future__ import annotations

import copy

from sim.scenario.schema import Scenario, warmup_days_of

__all__ = ["PERIODS", "WARMUP_PERIODS", "textbook_measure", "textbook_scenario"]

PERIODS = {"rq": 3650, "ss": 1000}  # simulated days (rq) or review periods (ss) per replication
WARMUP_PERIODS = {"rq": 50, "ss": 10}  # dropped from the KPIs (the start stock is not steady state)


def textbook_scenario(
    model: str, overlay: dict, demand_per_day: float, lead_time_days: float, holding_per_day: float
) -> Scenario:
    """The one-SKU scenario of a textbook case with ``overlay``'s policy and costs.

    ``holding_per_day``: h per unit per day; the SKU's unit cost is 365 h at a holding rate of 1
    per year. The horizon is ``PERIODS[model]`` days (rq) or review periods (ss), capped at 100 years.
    """
    inventory = copy.deepcopy(overlay["inventory"])
    days = int(inventory["policy"].get("review_period_days", 1)) if model == "ss" else 1
    inventory["costs"]["holding_rate_per_year"] = 1.0
    inventory["initial_on_hand"] = "order_up_to"
    unit_cost = 365.0 * holding_per_day
    data = {
        "name": f"textbook_{model}",
        "description": "one SKU, Poisson orders of one unit, constant lead time, backorders (optimize textbook)",
        "horizon_days": min(PERIODS[model] * days, 36_500),
        "warmup_days": WARMUP_PERIODS[model] * days,
        "catalog": {"skus": [{"id": "ITEM", "price": 2.0 * unit_cost, "unit_cost": unit_cost}]},
        "demand": {"base_orders_per_day": demand_per_day, "arrivals": "poisson"},
        "suppliers": [{"name": "supplier", "lead_time_days": lead_time_days}],
        "inventory": inventory,
    }
    return Scenario.model_validate(data)


def textbook_measure(result, scenario: Scenario) -> dict:
    """Cost per day and per review period, average stock and backorders, orders per day of one run."""
    k = result.kpis
    days = scenario.inventory.policy.review_period_days if scenario.inventory.policy.periodic else 1
    span = scenario.horizon_days - warmup_days_of(scenario)
    return {
        "cost_per_day": k["cost_per_day"],
        "cost_per_period": k["cost_per_day"] * days,
        "avg_on_hand_units": k["avg_on_hand_units"],
        "avg_backorder_units": k["avg_backorder_units"],
        "orders_per_day": k["replenishment_orders"] / span,
    }
