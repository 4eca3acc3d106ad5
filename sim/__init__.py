"""ecomlab simulator: scenario files in, KPIs and daily series out.

Three packages by concern — ``sim.scenario`` (the input language), ``sim.model`` (the
shop in SimPy) and ``sim.theory`` (closed-form formulas) — with ``sim.metrics`` and
``sim.kpis`` (what a run reports) beside them.

>>> from sim import load_scenario, simulate
>>> result = simulate(load_scenario("scenarios/classroom_sq.yaml"), seed=1)
>>> sorted(result.kpis)[:3]
['avg_backorder_units', 'avg_inventory_value', 'avg_on_hand_units']
"""

from sim.model import SimulationResult, simulate
from sim.scenario import InputError, load_scenario

__all__ = ["InputError", "SimulationResult", "load_scenario", "simulate"]
