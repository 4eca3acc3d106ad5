"""The reorder optimizer under ``reorder_trigger: below``: the same policy, written with s one higher."""

from __future__ import annotations

import pytest

from optimize.reorder import solve
from sim.model.shop import simulate
from sim.scenario.loader import load_scenario


@pytest.mark.parametrize("fill_target", [0.9, 0.97])
def test_below_plan_is_the_at_or_below_plan_shifted_by_one_and_runs_identically(fill_target):
    at = load_scenario("scenarios/classroom_sq.yaml")
    below = load_scenario("scenarios/classroom_sq.yaml", ["inventory.policy.reorder_trigger=below"])
    plan_at, plan_below = solve(at, fill_target=fill_target), solve(below, fill_target=fill_target)
    assert (plan_below.rows.reorder_point == plan_at.rows.reorder_point + 1).all()
    assert plan_below.predicted_fill_rate == plan_at.predicted_fill_rate
    assert plan_below.objective == plan_at.objective
    start = "inventory.initial_on_hand=8"  # the same start stock (s + Q is one higher under below)
    run_at = simulate(load_scenario("scenarios/classroom_sq.yaml", [start], overlays=[plan_at.to_overlay()]), 4).kpis
    run_below = simulate(
        load_scenario(
            "scenarios/classroom_sq.yaml",
            ["inventory.policy.reorder_trigger=below", start],
            overlays=[plan_below.to_overlay()],
        ),
        4,
    ).kpis
    assert run_at["unit_fill_rate"] == run_below["unit_fill_rate"]
    assert run_at["total_cost"] == run_below["total_cost"]
