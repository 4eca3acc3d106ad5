"""``run.py optimize textbook MODEL``: the published examples, bad options, and the overlay that simulates the optimum."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from types import SimpleNamespace

import pytest
import yaml

from experiments.stats import mean_ci
from sim.model.shop import simulate
from sim.model.streams import replication_seed
from sim.scenario.loader import load_scenario
from sim.theory import ss_poisson_cost


def run_here(*args: str) -> SimpleNamespace:
    """``run.py optimize textbook ARGS`` in this process: exit code, stdout, stderr."""
    import run

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = run.main(["optimize", "textbook", *args])
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


EXAMPLE_4_7 = ["ss", "--mean", "6", "--holding", "1", "--backorder", "4", "--order-cost", "5"]  # Snyder & Shen
PUBLISHED = [  # Snyder & Shen (2019), the numbers of the sim.theory doctests
    (
        "eoq-backorders --demand-rate 1300 --order-cost 8 --holding 0.225 --backorder 5",
        ["Q* = 310.8126 units", "stockout fraction 0.0431", "cost per day 66.9214"],
    ),  # Example 3.8
    (
        "newsvendor --mean 50 --sd 8 --underage 0.70 --overage 0.18",
        ["critical ratio 0.7955", "S* = 56.6040 units, expected cost 1.9976"],
    ),  # Example 4.3
    ("newsvendor --mean 1 --price 2 --cost 1", ["S* = 1.0000 units, expected cost 0.7358"]),  # hand check
    (
        "rq --demand-rate 1.5 --lead-time 2 --holding 20 --backorder 150 --order-cost 100",
        ["r* = 3, Q* = 5", "cost per day 107.9236"],
    ),  # Example 5.8
    ("ss --mean 6 --holding 1 --backorder 4 --order-cost 5", ["s* = 4, S* = 10", "cost per period 8.0341"]),  # 4.7
]


@pytest.mark.parametrize(
    ("command", "expected"), PUBLISHED, ids=[c.split()[0] + str(i) for i, (c, _) in enumerate(PUBLISHED)]
)
def test_reproduces_the_published_example(command, expected):
    res = run_here(*command.split())
    assert res.returncode == 0, res.stderr
    for text in expected:
        assert text in res.stdout, res.stdout


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("rq --demand-rate 1.5", "missing --lead-time, --holding, --backorder, --order-cost"),
        ("ss --mean 6 --holding 1 --backorder 4 --order-cost 5 --lead-time 1.5", "must be a whole number"),
        ("newsvendor --mean 5 --price 1 --cost 2", "need --salvage < --cost < --price"),
        ("newsvendor --mean 5 --underage 1", "--underage and --overage (both)"),
        ("rq --demand-rate -1 --lead-time 2 --holding 1 --backorder 1 --order-cost 1", "--demand-rate: must be > 0"),
        ("eoq-backorders --demand-rate 1 --order-cost 1 --holding 1 --backorder 1 --out x.yaml", "no simulator"),
        ("newsvendor --mean 5 --underage 1 --overage 1 --verify 3", "--verify: the model has no simulator"),
        (
            "rq --demand-rate 2e7 --lead-time 2 --holding 1 --backorder 1 --order-cost 0 --verify 3",
            "demand.base_orders_per_day",
        ),
        (
            "rq --demand-rate 3000 --lead-time 2 --holding 1 --backorder 1 --order-cost 1 --verify 400",
            "limit 1 h",
        ),
    ],
)
def test_bad_options_give_one_line_and_exit_2(command, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run_here(*command.split())
    assert res.returncode == 2 and message in res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""
    assert [line for line in res.stderr.splitlines() if line.startswith(("error:", "run.py"))][-1:]
    assert not list(tmp_path.iterdir())  # nothing written


def test_ss_overlay_simulates_the_book_cost(tmp_path):
    """The written overlay on a one-SKU weekly scenario: simulated cost per day agrees with c(4, 10) / 7."""
    plan = tmp_path / "plan.yaml"
    res = run_here(
        *[
            *EXAMPLE_4_7,
            "--review-period-days",
            "7",
            "--unit-cost",
            "10",
        ],
        "--out",
        str(plan),
    )
    assert res.returncode == 0, res.stderr
    overlay = yaml.safe_load(plan.read_text(encoding="utf-8"))
    assert overlay["inventory"]["costs"]["cost_basis"] == "period_end"
    assert overlay["inventory"]["policy"]["reorder_trigger"] == "at_or_below"
    base = tmp_path / "one_sku.yaml"
    base.write_text(
        yaml.safe_dump(
            {
                "name": "weekly",
                "horizon_days": 7 * 200,
                "warmup_days": 14,
                "catalog": {"skus": [{"id": "W", "price": 50, "unit_cost": 10}]},
                "demand": {"base_orders_per_day": 6 / 7, "arrivals": "poisson"},
                "suppliers": [{"name": "acme", "lead_time_days": 0}],
            }
        ),
        encoding="utf-8",
    )
    scenario = load_scenario(base, plans=[plan])
    costs = [simulate(scenario, replication_seed(71, r)).kpis["cost_per_day"] for r in range(5)]
    ci = mean_ci(costs, 0.999)
    assert ci.contains(ss_poisson_cost(4, 10, 6.0, 1.0, 4.0, 5.0) / 7), ci


def test_verify_simulates_the_optimum_and_states_whether_the_book_cost_is_inside():
    res = run_here(
        *[
            *EXAMPLE_4_7,
            "--verify",
            "4",
            "--seed",
            "3",
            "--quiet",
        ]
    )
    assert res.returncode == 0, res.stderr
    line = res.stdout.strip().splitlines()[-1]
    assert line.startswith("simulated (4 replications of 990 days after a 10-day warm-up, seed 3): cost per period")
    assert line.endswith("(95% CI); the book's 8.0341 is inside it"), line
