"""The coursework promotion LP (issue 18): explicit segments, revenue or profit, budget <= or =.

Checked against hand solutions (docs/examples/promotion_lp.yaml) and, on random instances,
against the greedy rule that is optimal for one budget row: buy segments by value per unit of
spend, best first, while they pay (at most) or until the budget is spent (exactly).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import ROOT

import run
from optimize.promotion_course import CourseLP, load_course, solve_course
from optimize.solver import Infeasible
from sim.scenario.errors import InputError

EXAMPLE = ROOT / "docs/examples/promotion_lp.yaml"


def test_the_example_has_the_hand_solution():
    lp = load_course(EXAMPLE)
    plan = solve_course(lp)
    assert plan.objective == pytest.approx(200_000) and plan.budget_dual == pytest.approx(3.0)
    spend = plan.segments.set_index(["channel", "segment"]).spend
    assert spend["search", 1] == 20_000 and spend["social", 1] == 10_000 and spend["search", 2] == pytest.approx(20_000)
    assert plan.segments.spend.sum() == pytest.approx(50_000)
    # profit = 0.35 x revenue - spend, all of 90,000 spent: 15,000 + 4,000 + 1,500 - 0.125 x 30,000
    exact = solve_course(lp.model_copy(update={"objective": "profit", "budget_use": "exactly", "budget": 90_000}))
    assert exact.objective == pytest.approx(16_750) and exact.budget_dual == pytest.approx(-0.125)
    at_most = solve_course(lp.model_copy(update={"objective": "profit", "budget": 90_000}))
    assert at_most.objective == pytest.approx(20_500) and at_most.budget_dual == pytest.approx(0.0)
    assert at_most.segments.spend.sum() == pytest.approx(60_000)  # stops where segments stop paying


def greedy(lp: CourseLP) -> float:
    items = []
    for ch in lp.channels:
        for s in ch.segments:
            v = s.revenue_per_spend if lp.objective == "revenue" else lp.margin * s.revenue_per_spend - 1
            items.append((v, s.width))
    left, total = lp.budget, 0.0
    for v, w in sorted(items, reverse=True):
        if left <= 0 or (v <= 0 and lp.budget_use == "at_most"):
            break
        x = min(w, left)
        total, left = total + v * x, left - x
    return total


@pytest.mark.parametrize("seed", range(12))
def test_random_instances_match_the_greedy_solution(seed):
    rng = np.random.default_rng(seed)
    channels = []
    for c in range(rng.integers(1, 5)):
        r = np.sort(rng.uniform(0.5, 6.0, rng.integers(1, 6)))[::-1]
        channels.append(
            {
                "name": f"c{c}",
                "segments": [{"width": float(rng.uniform(1e3, 3e4)), "revenue_per_spend": float(v)} for v in r],
            }
        )
    room = sum(s["width"] for ch in channels for s in ch["segments"])
    lp = CourseLP.model_validate(
        {
            "budget": float(rng.uniform(0.1, 0.9) * room),
            "objective": ["revenue", "profit"][seed % 2],
            "budget_use": ["at_most", "exactly"][(seed // 2) % 2],
            "margin": 0.4,
            "channels": channels,
        }
    )
    plan = solve_course(lp)
    assert plan.objective == pytest.approx(greedy(lp), rel=1e-9, abs=1e-6)
    # the budget's dual is the value of the marginal segment: re-solving with one more unit agrees
    more = solve_course(lp.model_copy(update={"budget": lp.budget + 1.0}))
    assert more.objective - plan.objective == pytest.approx(plan.budget_dual, abs=1e-6)


def test_channel_limits_and_an_impossible_budget():
    lp = load_course(EXAMPLE).model_copy(update={"budget": 50_000})
    capped = lp.model_copy(
        update={"channels": [lp.channels[0].model_copy(update={"max_spend": 15_000}), lp.channels[1]]}
    )
    plan = solve_course(capped)
    assert plan.channels.set_index("channel").spend["search"] == pytest.approx(15_000)
    assert plan.channel_duals["search"] == pytest.approx(5.0 - plan.budget_dual)  # what the cap costs per unit
    with pytest.raises(Infeasible, match="cannot be met"):
        solve_course(lp.model_copy(update={"budget": 1e6, "budget_use": "exactly"}))


def test_bad_files_get_one_line_per_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "promotion_lp:\n  budget: -5\n  objective: sales\n  channels:\n    - name: a\n      segments:\n"
        "        - {width: 10, revenue_per_spend: 2}\n        - {width: 10, revenue_per_spend: 3}\n"
    )
    with pytest.raises(InputError) as err:
        load_course(bad)
    lines = str(err.value).splitlines()
    assert any(line.startswith(f"{bad}:2: promotion_lp.budget:") for line in lines)
    assert any(line.startswith(f"{bad}:3: promotion_lp.objective:") for line in lines)
    assert any(f"{bad}:5: promotion_lp.channels[0]:" in line and "returns must fall" in line for line in lines)


def test_cli_solves_a_course_file_and_refuses_simulator_options(tmp_path, capsys):
    out = tmp_path / "plan.yaml"
    code = run.main(
        [
            "optimize",
            "promotion",
            str(EXAMPLE),
            "--objective",
            "profit",
            "--budget",
            "90000",
            "--budget-use",
            "exactly",
            "--out",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0 and "maximize profit, spend exactly 90,000" in text and "worth -0.1250 of profit" in text
    assert out.exists() and out.with_suffix(".csv").exists()
    code = run.main(["optimize", "promotion", str(EXAMPLE), "--verify", "2"])
    err = capsys.readouterr().err
    assert code == 2 and "--verify" in err and "Traceback" not in err
