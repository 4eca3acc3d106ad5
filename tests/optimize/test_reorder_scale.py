"""The reorder optimizer at scale (issue 16): exact candidates, the gap to the LP bound, the time limit.

What a planner relies on:
* the candidate reorder points cut nothing off: on pairs with hundreds of candidates the plan
  equals a brute force over every reorder point (the old 60 thinned candidates were dearer);
* ``plan.gap`` is (objective - lp_bound) / objective, within the requested tolerance, and
  ``lp_bound`` is the LP relaxation over the same candidates (a true lower bound);
* a MILP stopped by the time limit returns the warm start (the rounded LP plan) with its gap;
* budget rows: the rounded LP plan is repaired to meet the budget without a MILP from scratch.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import optimize.reorder as reorder
import run
from optimize.reorder import CandidateTable, pairs_from, rq_candidates, solve
from optimize.solver import MatrixSolution, solve_matrix
from sim.scenario.loader import load_scenario

BASELINE = "scenarios/baseline.yaml"


@pytest.fixture(scope="module")
def three_pairs():
    """Three SKUs at 10 orders a day: 727, 1,208 and 753 candidate reorder points (thinning to 60 cut them)."""
    return load_scenario(BASELINE, ["catalog.generate.count=3", "demand.base_orders_per_day=10"])


def brute_force_three(scenario, target: float) -> tuple[list[int], float]:
    """Cheapest (r1, r2, r3) with demand-weighted fill >= target over EVERY reorder point 0..top of each pair.

    All (r1, r2) pairs are enumerated; for each, the cheapest r3 whose fill covers the rest is looked
    up (the least cost among all r3 with enough fill: a suffix minimum over r3 sorted by fill).
    """
    p = pairs_from(scenario)
    w = p.mu / p.mu.sum()
    c = [rq_candidates(p.ltd_mean[i], p.ltd_var[i], p.Q[i], p.h[i], p.b) for i in range(3)]
    cost = [c[i].cost + p.K[i] * 365 * p.mu[i] / p.Q[i] for i in range(3)]
    order = np.argsort(w[2] * c[2].fill_rate, kind="stable")
    f3, c3 = (w[2] * c[2].fill_rate)[order], cost[2][order]
    least_from = np.minimum.accumulate(c3[::-1])[::-1]  # least cost among r3 with fill >= f3[k]
    arg_from = np.array([order[k + int(np.argmin(c3[k:]))] for k in range(len(c3))])
    rest = target - (w[0] * c[0].fill_rate)[:, None] - (w[1] * c[1].fill_rate)[None, :]
    k = np.searchsorted(f3, rest, side="left")
    ok = k < len(f3)
    total = np.where(ok, cost[0][:, None] + cost[1][None, :] + least_from[np.minimum(k, len(f3) - 1)], np.inf)
    j1, j2 = np.unravel_index(int(np.argmin(total)), total.shape)
    j3 = arg_from[k[j1, j2]]
    return [int(c[0].r[j1]), int(c[1].r[j2]), int(c[2].r[j3])], float(total[j1, j2])


@pytest.mark.parametrize("target", [0.95, 0.99])
def test_plan_equals_brute_force_over_every_reorder_point(three_pairs, target):
    r_best, cost_best = brute_force_three(three_pairs, target)
    exact = solve(three_pairs, fill_target=target, mip_gap=0.0)
    assert exact.status == "optimal"
    assert exact.rows.reorder_point.astype(int).tolist() == r_best
    assert exact.objective == pytest.approx(cost_best, rel=1e-12)
    assert exact.lp_bound <= cost_best * (1 + 1e-12)
    default = solve(three_pairs, fill_target=target)  # within its stated gap of the optimum
    assert cost_best <= default.objective <= cost_best * (1 + default.gap) * (1 + 1e-12)
    assert default.gap <= 1e-4
    thinned = solve(three_pairs, fill_target=target, max_candidates=60)  # the old candidate sets
    assert thinned.objective > cost_best * (1 + 1e-5)  # cut the optimum off: the test has teeth


def test_lp_bound_is_the_lp_relaxation_over_the_same_candidates(three_pairs):
    """The fill-only path solves the LP by its Lagrangian: HiGHS's LP of the same model agrees."""
    p = pairs_from(three_pairs)
    w = p.mu / p.mu.sum()
    cands = [reorder.pareto_front(rq_candidates(p.ltd_mean[i], p.ltd_var[i], p.Q[i], p.h[i], p.b)) for i in range(3)]
    table = CandidateTable.of(cands)
    model = reorder._matrix_model(three_pairs, p, table, cands, w, (0.99, None, None))
    lp = solve_matrix(table.cost, model.matrix, model.lower, model.upper)
    plan = solve(three_pairs, fill_target=0.99)
    offset = float(np.sum(p.K * 365 * p.mu / p.Q))
    assert plan.lp_bound == pytest.approx(lp.objective + offset, rel=1e-10)
    assert plan.duals["fill_rate_point"] == pytest.approx(lp.row_dual[3] * 0.01, rel=1e-6)


@pytest.fixture(scope="module")
def thousand():
    return load_scenario(BASELINE, ["catalog.generate.count=1000"])


@pytest.mark.parametrize("tolerance", [1e-4, 1e-6])
def test_reported_gap_is_against_the_lp_bound_and_within_the_tolerance(thousand, tolerance):
    plan = solve(thousand, fill_target=0.98, mip_gap=tolerance)
    assert plan.status == "optimal"
    assert plan.gap == pytest.approx((plan.objective - plan.lp_bound) / plan.objective, rel=1e-12, abs=1e-15)
    assert 0 <= plan.gap <= tolerance
    assert plan.predicted_fill_rate >= 0.98


def test_time_limit_returns_the_warm_start_with_its_gap(thousand, monkeypatch):
    """A MILP that stops without a better plan (here: stopped at once) leaves the rounded LP plan, gap stated."""
    seen = {}

    def stopped(cost, matrix, lower, upper, **kw):
        seen.update(kw)
        return MatrixSolution("not_solved", float("nan"), 0.0, np.zeros(len(cost)), np.zeros(0), np.zeros(0), np.nan)

    monkeypatch.setattr(reorder, "solve_matrix", stopped)
    plan = solve(thousand, fill_target=0.98, mip_gap=0.0, time_limit=5.0)
    assert seen["integer"] and seen["start"] is not None and seen["time_limit"] <= 5.0
    assert plan.status == "time_limit"
    assert plan.gap == pytest.approx((plan.objective - plan.lp_bound) / plan.objective, rel=1e-12)
    assert 0 < plan.gap < 1e-4
    assert plan.predicted_fill_rate >= 0.98


def test_budget_plan_is_repaired_from_the_lp_without_a_milp():
    """Backorders dear (the cost optimum overshoots the target), a budget 0.5% under the free plan's stock."""
    s = load_scenario(BASELINE, ["catalog.generate.count=300", "inventory.costs.backorder_cost_per_unit_day=1.0"])
    free = solve(s, fill_target=0.97)
    budget = 0.995 * free.rows.inventory_value.sum()
    plan = solve(s, fill_target=0.97, budget=budget)
    assert plan.status == "optimal" and not any("MILP" in n for n in plan.notes)
    assert plan.rows.inventory_value.sum() <= budget
    assert plan.predicted_fill_rate >= 0.97
    assert 0 <= plan.gap <= 1e-4 and plan.objective > free.objective
    assert "budget:all" in plan.binding and plan.duals["budget_unit"] > 0


def test_cli_prints_and_writes_the_gap_and_lp_bound(tmp_path, capsys):
    out = tmp_path / "plan.yaml"
    rc = run.main(["optimize", "reorder", BASELINE, "--set", "catalog.generate.count=12", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0
    plan_info = yaml.safe_load(out.read_text())["plan_info"]
    assert 0 <= plan_info["gap"] <= 1e-4 and plan_info["lp_bound_per_year"] <= plan_info["objective_per_year"]
    assert f"gap {plan_info['gap']:.2e}" in text and "LP bound" in text
    header = out.with_suffix(".csv").read_text().splitlines()[0].split(",")
    assert header[-2:] == ["plan_gap", "plan_lp_bound"]


def test_cli_time_limit_too_short_for_any_plan_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    """The LP relaxation (class minimums: HiGHS) stopped before any plan: one line, exit 2, nothing written."""

    def stopped(cost, matrix, lower, upper, **kw):
        return MatrixSolution("not_solved", float("nan"), 0.0, np.zeros(len(cost)), np.zeros(0), np.zeros(0), np.nan)

    monkeypatch.setattr(reorder, "solve_matrix", stopped)
    out = tmp_path / "plan.yaml"
    argv = ["optimize", "reorder", BASELINE, "--set", "catalog.generate.count=12", "--class-min", "A=0.99"]
    rc = run.main([*argv, "--time-limit", "0.5", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "raise --time-limit (now 0.5 s)" in err[0], err
    assert not out.exists()
