"""The optimizers: one module per decision, one shared solver wrapper.

Each module derives its inputs from a Scenario (through the simulator's own rules in
``sim.model.economics`` and ``sim.model.demand``), builds a PuLP model, solves it with
``optimize.solver`` and reads back a Plan whose ``to_overlay()`` is a YAML overlay of
scenario keys, so a plan can be verified by simulating it:

* ``reorder`` — reorder points per (SKU, warehouse) against a fill-rate target, budget, storage;
* ``promotion`` — marketing spend per channel and period under budget, ROAS and picking capacity;
* ``logistics`` — which warehouse and carrier serve each region, at least cost, on time;
* ``solver`` — the one place that calls a solver (HiGHS, else CBC): status, duals, slacks.
"""

__all__ = ["logistics", "promotion", "reorder", "solver"]
