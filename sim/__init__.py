"""ecomlab simulator: scenario files in, KPIs and daily series out.

>>> from sim import load_scenario, simulate
>>> result = simulate(load_scenario("scenarios/classroom_sq.yaml"), seed=1)
>>> sorted(result.kpis)[:3]
['avg_backorder_units', 'avg_inventory_value', 'avg_on_hand_units']
"""
from sim.scenario import load_scenario
from sim.model import SimulationResult, simulate
from sim.yamlio import InputError

__all__ = ["load_scenario", "simulate", "SimulationResult", "InputError"]
