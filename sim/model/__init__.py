"""The shop model: what happens to orders, stock and parcels, day by day, in SimPy.

``shop`` builds one :class:`ShopModel` from a validated scenario and runs it
(:func:`simulate`); the other modules are its parts:

* ``catalog`` — SKU arrays, ABC classes;
* ``demand`` — daily order rates (promotions, marketing response) and each day's orders;
* ``policy`` — the reorder rules' (s, Q, S) levels per (warehouse, SKU);
* ``inventory`` — stock, purchase orders, backorders, storage overflow;
* ``suppliers`` — lead times and disruptions;
* ``warehouse`` — pickers, shifts, waves, packing;
* ``routing`` — which warehouse (and, under a lane plan, carrier) an order goes to;
* ``delivery`` — carriers, cut-offs, capacity, transit, promises;
* ``fulfilment`` — a shipment's way from allocated stock to the door;
* ``logs`` — the typed order and shipment columns a run writes, and the ``RunRecords`` the KPIs read;
* ``records`` — the per-order table;
* ``streams`` — the keyed random streams behind common random numbers.

>>> from sim.scenario.loader import load_scenario
>>> simulate(load_scenario("scenarios/classroom_sq.yaml", ["horizon_days=200"]), seed=1).kpis["orders"] > 0
True
"""

from sim.model.catalog import CatalogArrays, build_catalog, catalog_for
from sim.model.delivery import Carriers, next_cutoff
from sim.model.demand import (
    DemandPlan,
    channel_ceiling,
    demand_plan,
    hill_inverse,
    hill_response,
    planning_plan,
    promotion_days,
)
from sim.model.logs import OrderLog, RunRecords, ShipmentLog
from sim.model.policy import PolicyArrays, region_warehouse, resolve_policy, warehouse_shares
from sim.model.records import order_details
from sim.model.routing import Router, open_warehouses
from sim.model.shop import ShopModel, SimulationResult, simulate
from sim.model.streams import DayStream, replication_seed, simulator_fingerprint, verify_seed
from sim.model.suppliers import SupplierModel
from sim.model.warehouse import PickerQueue, capacity_schedule, mean_job_seconds, picker_days_per_day

__all__ = [
    "Carriers",
    "CatalogArrays",
    "DayStream",
    "DemandPlan",
    "OrderLog",
    "PickerQueue",
    "PolicyArrays",
    "Router",
    "RunRecords",
    "ShipmentLog",
    "ShopModel",
    "SimulationResult",
    "SupplierModel",
    "build_catalog",
    "capacity_schedule",
    "catalog_for",
    "channel_ceiling",
    "demand_plan",
    "hill_inverse",
    "hill_response",
    "mean_job_seconds",
    "next_cutoff",
    "open_warehouses",
    "order_details",
    "picker_days_per_day",
    "planning_plan",
    "promotion_days",
    "region_warehouse",
    "replication_seed",
    "resolve_policy",
    "simulate",
    "simulator_fingerprint",
    "verify_seed",
    "warehouse_shares",
]
