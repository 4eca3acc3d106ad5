"""The shop model: what happens to orders, stock and parcels, day by day, in SimPy.

``shop`` builds one :class:`ShopModel` from a validated scenario and runs it
(:func:`simulate`); the other modules are its parts — ``catalog`` (SKU arrays, ABC
classes), ``demand`` (daily order counts and baskets), ``policy`` (reorder rules),
``inventory`` (stock, suppliers, purchase orders), ``warehouse`` (pickers, shifts),
``delivery`` (carriers, cut-offs, transit), ``fulfilment`` (routing an order to
warehouses and through picking and delivery), ``records`` (the per-order table) and
``streams`` (the keyed random streams behind common random numbers).
"""

from sim.model.shop import ShopModel, SimulationResult, simulate
from sim.model.streams import replication_seed, simulator_fingerprint

__all__ = ["ShopModel", "SimulationResult", "replication_seed", "simulate", "simulator_fingerprint"]
