"""``run.py bench`` without its minutes of measuring: the baseline, the table, the files it writes.

The full bench is never run in the tests (it takes minutes and asserts nothing); these tests
check what a user reads from it: ratios to the baseline measured in the same run, the Markdown
table, ``bench.json`` / ``bench.md`` in the run folder, and a synthetic network the logistics
optimizer can solve.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import run
from experiments.bench import Bench, Case, bare_mmc_us_per_customer, format_table, synthetic_network
from experiments.cli import bench as bench_command
from optimize.logistics import solve
from sim.scenario.loader import load_scenario


def test_bare_mmc_baseline_is_a_positive_time_per_customer():
    """The baseline is a time per customer in microseconds: positive, finite, far below a second."""
    us = bare_mmc_us_per_customer(customers=2_000, servers=2, rho=0.7)
    assert math.isfinite(us) and 0 < us < 10_000  # microseconds per customer, not seconds


def test_baseline_case_is_one_times_itself_and_logged():
    """The baseline case is 1.00x itself, sets the run's base time and logs one line."""
    logged: list[str] = []
    b = Bench(quick=True, log=logged.append)
    b.baseline()
    (case,) = b.cases
    assert case.group == "baseline" and case.unit == "us/customer"
    assert case.low <= case.median <= case.high
    assert b.base_us == case.median and case.ratio_to_baseline == pytest.approx(1.0)
    assert logged == [f"  bare SimPy M/M/c customer: {case.median:,.4g} us/customer (1.00x baseline)"]


def test_add_gives_ratios_to_the_baseline_of_the_same_run():
    """Cases get median, min and max of their values, and a ratio only when asked for."""
    b = Bench(quick=True, log=lambda _m: None)
    b.base_us = 2.0
    b.add("simulator", "per order", "us/order", [5.0, 7.0, 6.0], ratio=True, target="<= 3x baseline")
    b.add("scaling", "one year", "s", [30.0])
    per_order, year = b.cases
    assert (per_order.median, per_order.low, per_order.high) == (6.0, 5.0, 7.0)
    assert per_order.ratio_to_baseline == 3.0 and per_order.target == "<= 3x baseline"
    assert year.ratio_to_baseline is None


def test_format_table_is_markdown_with_ratios_only_where_measured():
    """The table is Markdown with right-aligned numbers; cases without a ratio leave that cell empty."""
    cases = [
        Case("simulator", "full chain", "us/order", 12345.678, 12000.0, 13000.0, 2.5, "<= 3x", "note"),
        Case("scaling", "1M orders", "s", 42.0, 40.0, 45.0),
    ]
    lines = format_table(cases).splitlines()
    assert lines[0] == "| group | case | median | min-max | unit | x baseline | target | note |"
    assert lines[1] == "|---|---|---:|---:|---|---:|---|---|"
    assert lines[2] == "| simulator | full chain | 1.235e+04 | 1.2e+04-1.3e+04 | us/order | 2.50x | <= 3x | note |"
    assert lines[3] == "| scaling | 1M orders | 42 | 40-45 | s |  |  |  |"
    assert len(lines) == 4


def test_bench_command_prints_the_table_and_writes_json_and_markdown(tmp_path, monkeypatch, capsys):
    """``run.py bench --quick --out DIR`` prints the table and writes bench.json and bench.md there."""
    cases = [Case("baseline", "bare SimPy M/M/c customer", "us/customer", 3.0, 2.9, 3.2, 1.0)]
    seen = []

    def fake_run_bench(quick=False, log=print):
        """Stands in for the minutes-long run: records ``quick``, logs one step."""
        seen.append(quick)
        log("baseline ...")
        return cases

    monkeypatch.setattr(bench_command, "run_bench", fake_run_bench)
    out = tmp_path / "bench-run"
    assert run.main(["bench", "--quick", "--out", str(out)]) == 0
    assert seen == [True]
    captured = capsys.readouterr()
    assert format_table(cases) in captured.out
    assert f"wrote {out}" in captured.out
    assert "baseline ..." in captured.err
    data = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    assert data["cases"] == [
        {
            "group": "baseline",
            "name": "bare SimPy M/M/c customer",
            "unit": "us/customer",
            "median": 3.0,
            "low": 2.9,
            "high": 3.2,
            "ratio_to_baseline": 1.0,
            "target": "",
            "note": "",
        }
    ]
    assert data["manifest"]["kind"] == "bench" and data["manifest"]["quick"] is True
    assert data["wall_seconds"] >= 0
    assert (out / "bench.md").read_text(encoding="utf-8") == "# ecomlab bench\n\n" + format_table(cases) + "\n"


def test_synthetic_network_is_plausible_and_the_logistics_optimizer_serves_it():
    """The scale-test network has the promised shapes, is seeded, and every region is fully served."""
    net = synthetic_network(6, 3, 2)
    assert (len(net.regions), len(net.warehouses), len(net.carriers)) == (6, 3, 2)
    assert net.ship_cost.shape == net.on_time.shape == (6, 3, 2)
    assert (net.ship_cost[:, :, 1] > net.ship_cost[:, :, 0]).all()  # the faster carrier costs more
    assert ((net.on_time >= 0.3) & (net.on_time <= 0.995)).all()
    assert net.pick_capacity.sum() == pytest.approx(2.5 * net.demand.sum())
    again = synthetic_network(6, 3, 2)
    assert np.array_equal(net.demand, again.demand)  # seeded: the same network every run
    scenario = load_scenario("scenarios/multi_warehouse.yaml", ["horizon_days=30"])
    plan = solve(scenario, on_time_target=0.85, scope="overall", network=net)
    assert plan.status == "optimal"
    served = plan.lanes.groupby("region").share.sum()
    assert served.to_numpy() == pytest.approx(np.ones(6))
