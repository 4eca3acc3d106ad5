"""The solver wrapper (optimize/solver.py): status mapping, objective, duals and slacks, solvers.

Every optimizer goes through ``solve``; planners read its status ("optimal" vs
"time_limit") and students read its duals, so both must be right.
"""

from __future__ import annotations

import math

import numpy as np
import pulp
import pytest

from optimize.solver import Solution, available, group_of, solve

SOLVERS = available()


def _diet_lp(demand: float = 4.0) -> pulp.LpProblem:
    """min 2x + 3y  s.t.  x + y >= demand,  x <= 3.

    Optimum x = 3, y = demand - 3, cost 3 demand - 3; shadow prices:
    demand:all = 3 (one more unit of demand is bought as y), cap:x = -1
    (one more unit of cheap x saves 3 - 2 = 1).
    """
    p = pulp.LpProblem("diet", pulp.LpMinimize)
    x, y = pulp.LpVariable("x", 0), pulp.LpVariable("y", 0)
    p += 2 * x + 3 * y
    p += (x + y >= demand), "demand:all"
    p += (x <= 3), "cap:x"
    return p


def _knapsack() -> tuple[pulp.LpProblem, pulp.LpVariable, pulp.LpVariable]:
    """max 5x + 4y, 6x + 4y <= 24, x + 2y <= 6, x, y integer: optimum x = 4, y = 0, value 20.

    (The LP relaxation has the fractional optimum x = 3, y = 1.5, value 21.)
    """
    p = pulp.LpProblem("knap", pulp.LpMaximize)
    x = pulp.LpVariable("x", 0, cat=pulp.LpInteger)
    y = pulp.LpVariable("y", 0, cat=pulp.LpInteger)
    p += 5 * x + 4 * y
    p += (6 * x + 4 * y <= 24), "wood:all"
    p += (x + 2 * y <= 6), "labour:all"
    return p, x, y


def test_highs_is_the_default_and_cbc_is_available_as_fallback():
    assert SOLVERS[0] == "highs"
    assert solve(_diet_lp()).solver == "highs"


@pytest.mark.parametrize("solver", SOLVERS)
def test_lp_objective_duals_and_slacks(solver):
    sol = solve(_diet_lp(), solver=solver)
    assert isinstance(sol, Solution)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(9.0)
    assert sol.duals["demand:all"] == pytest.approx(3.0)
    assert sol.duals["cap:x"] == pytest.approx(-1.0)
    assert sol.slacks["demand:all"] == pytest.approx(0.0, abs=1e-9)
    assert sorted(sol.binding()) == ["cap:x", "demand:all"]


def test_lp_dual_is_the_cost_of_one_more_unit_of_right_hand_side():
    base, more = solve(_diet_lp(4.0)), solve(_diet_lp(5.0))
    assert more.objective - base.objective == pytest.approx(base.duals["demand:all"])


def test_a_loose_constraint_is_not_binding_and_has_zero_dual():
    p = _diet_lp(2.0)  # x alone covers demand 2: cap x <= 3 has slack 1
    sol = solve(p)
    assert sol.binding() == ["demand:all"]
    assert sol.slacks["cap:x"] == pytest.approx(1.0)
    assert sol.duals["cap:x"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("solver", SOLVERS)
def test_mip_is_solved_to_integer_optimum_and_reports_no_duals(solver):
    p, x, y = _knapsack()
    sol = solve(p, solver=solver)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(20.0)  # not the LP bound 21
    assert (x.value(), y.value()) == (pytest.approx(4.0), pytest.approx(0.0))
    assert sol.duals == {}  # MIP duals are meaningless; the wrapper must not invent them


@pytest.mark.parametrize("solver", SOLVERS)
def test_infeasible_model_reports_infeasible_and_no_objective(solver):
    p = pulp.LpProblem("inf", pulp.LpMinimize)
    x = pulp.LpVariable("x", 0, 2)
    p += x
    p += (x >= 3), "need:x"
    sol = solve(p, solver=solver)
    assert sol.status == "infeasible"
    assert math.isnan(sol.objective)  # not a plausible-looking 0.0 cost


def test_unbounded_lp_reports_unbounded():
    p = pulp.LpProblem("unb", pulp.LpMinimize)
    x = pulp.LpVariable("x")
    p += x
    p += (x <= 3), "cap:x"
    assert solve(p).status == "unbounded"


def _market_split(m: int = 4, n: int = 40, seed: int = 1) -> pulp.LpProblem:
    """A market-split MIP (Cornuejols & Dawande 1999): trivially feasible, very hard to prove optimal."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 100, (m, n))
    p = pulp.LpProblem("split", pulp.LpMinimize)
    x = [pulp.LpVariable(f"x{j}", cat=pulp.LpBinary) for j in range(n)]
    over = [pulp.LpVariable(f"o{i}", 0) for i in range(m)]
    under = [pulp.LpVariable(f"u{i}", 0) for i in range(m)]
    p += pulp.lpSum(over) + pulp.lpSum(under)
    for i in range(m):
        p += (
            (pulp.lpSum(int(a[i, j]) * x[j] for j in range(n)) + under[i] - over[i] == int(a[i].sum() // 2)),
            f"split:{i}",
        )
    return p


@pytest.mark.parametrize("solver", SOLVERS)
def test_time_limit_with_a_feasible_solution_is_not_called_optimal(solver):
    sol = solve(_market_split(), time_limit=0.3, solver=solver)
    assert sol.status == "time_limit"
    assert math.isfinite(sol.objective) and sol.objective >= 0
    assert sol.seconds < 10


def test_mip_gap_is_passed_to_the_solver():
    # a 100% relative gap accepts the first incumbent: HiGHS stops at once instead of proving optimality
    sol = solve(_market_split(), time_limit=20, mip_gap=1.0)
    assert sol.seconds < 5
    assert math.isfinite(sol.objective)


def test_group_of_constraint_names():
    assert group_of("storage:east_dc") == "storage"
    assert group_of("fill_target:all") == "fill_target"
    assert group_of("choose_3") == "choose_3"
