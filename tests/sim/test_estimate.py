"""Work estimates before the work (sim.scenario.estimate) and the refusals built on them.

Regression tests for issue 13: runs that used to start and never end (a 100-year horizon at
half a million orders a day, 200,000 SKUs x 400 warehouses), a spec grid that was a
MemoryError while being expanded, and numbers so large that KPIs came out infinite.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import ROOT, run_cli

from experiments.spec import MAX_POINTS, load_spec
from sim.model.demand import demand_plan
from sim.scenario.derived import derived_values
from sim.scenario.errors import InputError
from sim.scenario.estimate import WorkEstimate, check_work, estimate_work, format_seconds, refusal
from sim.scenario.loader import load_scenario

SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def long_busy(tmp_path) -> Path:
    """100 years at half a million orders a day: 18 billion orders."""
    return write(
        tmp_path / "long_busy.yaml",
        {
            "name": "long_busy",
            "horizon_days": 36_500,
            "catalog": {"generate": {"count": 10}},
            "demand": {"base_orders_per_day": 500_000},
        },
    )


@pytest.fixture
def huge_network(tmp_path) -> Path:
    """200,000 SKUs in 400 warehouses: 80 million inventory pairs."""
    return write(
        tmp_path / "huge_network.yaml",
        {
            "name": "huge_network",
            "catalog": {"generate": {"count": 200_000}},
            "demand": {"base_orders_per_day": 100},
            "warehouses": [{"name": f"w{i}"} for i in range(400)],
        },
    )


# ------------------------------------------------------------------ the estimate itself
def test_counts_come_from_the_simulators_own_demand_rate():
    sc = load_scenario("scenarios/double11.yaml")  # weekday, month, promotions and marketing all matter
    w = estimate_work(sc)
    assert w.orders == pytest.approx(float(demand_plan(sc).rate.sum()))
    assert w.days == sc.horizon_days and w.pairs == 300 * len(sc.warehouses)
    # lines per order: Poisson(0.6) + 1 -> mean 1.6, drawn with rounding and at least one line
    assert w.lines / w.orders == pytest.approx(sc.demand.lines_per_order.mean, rel=0.05)


def test_more_demand_more_work_and_the_estimate_is_one_line():
    small = estimate_work(load_scenario("scenarios/baseline.yaml"))
    big = estimate_work(load_scenario("scenarios/baseline.yaml", ["demand.base_orders_per_day=4000"]))
    assert big.orders > 9 * small.orders and big.seconds > 5 * small.seconds
    assert big.memory_bytes > small.memory_bytes
    text = str(small)
    assert "\n" not in text and text.startswith("work: 156,553 orders, ")
    assert "300 SKU-warehouse pairs over 365 days; about " in text and text.endswith(" per replication")


def test_every_shipped_scenario_is_well_inside_the_limits():
    for path in SHIPPED:
        w = estimate_work(load_scenario(path))
        assert w.seconds < 60, (path.name, str(w))
        assert refusal(w, replications=20, workers=2, memory_bytes=4 * 2**30) is None, (path.name, str(w))


def test_refusal_counts_replications_workers_and_memory():
    w = WorkEstimate(orders=1e6, lines=2e6, pairs=300, days=365, seconds=30.0, memory_bytes=2 * 2**30)
    assert refusal(w, replications=100, workers=1, memory_bytes=64 * 2**30) is None  # 50 min
    assert "take about 1.7 h (limit 1 h)" in refusal(w, replications=200, workers=1, memory_bytes=64 * 2**30)
    assert refusal(w, replications=200, workers=2, memory_bytes=64 * 2**30) is None
    # 2 GiB per replication: fits half of 8 GiB on one worker, not on four
    assert refusal(w, workers=1, memory_bytes=8 * 2**30) is None
    assert "memory" in refusal(w, replications=4, workers=4, memory_bytes=8 * 2**30)
    info, refused = check_work("x.yaml", [w], replications=200, workers=1, allow_large=True)
    assert refused is None and "200 runs on 1 worker: about 1.7 h" in info
    assert format_seconds(40 * 3600) == "40 h"


# ------------------------------------------------------------------ regressions: refused, fast, nothing written
def test_36500_days_of_500000_orders_is_refused_quickly_by_validate_and_simulate(long_busy, tmp_path):
    w = estimate_work(load_scenario(long_busy))
    assert w.orders == pytest.approx(36_500 * 500_000)
    for args in (["validate", str(long_busy)], ["simulate", str(long_busy), "--out", str(tmp_path / "run")]):
        proc = run_cli(*args, timeout=120)  # a hang guard, not a timing: the refusal comes before any work
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout == ""
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith(f"error: {long_busy}: work: 18,250,000,000 orders")
        assert "(limit 1 h)" in line and line.endswith("pass --allow-large to run it anyway")
    assert not (tmp_path / "run").exists()


def test_200000_skus_in_400_warehouses_is_refused_without_building_the_catalogue(huge_network, tmp_path):
    sc = load_scenario(huge_network)
    w = estimate_work(sc)
    assert "catalog" not in derived_values(sc)  # counted from the scenario, the 80 million pairs never built
    assert w.pairs == 80_000_000
    proc = run_cli("simulate", str(huge_network), "-n", "3", "--out", str(tmp_path / "run"))
    assert proc.returncode == 2 and "80,000,000 SKU-warehouse pairs" in proc.stderr, proc.stderr
    assert "--allow-large" in proc.stderr and not (tmp_path / "run").exists()


def test_a_five_billion_point_grid_is_counted_not_expanded(tmp_path):
    values = [round(0.5 + j / 1000, 3) for j in range(90)]
    spec = write(
        tmp_path / "huge_grid.yaml",
        {
            "name": "huge_grid",
            "base": str(ROOT / "scenarios" / "baseline.yaml"),
            "grid": {
                "inventory.policy.service_level": values,
                **{f"demand.weekday_factors[{i}]": values for i in range(1, 5)},
            },
        },
    )
    with pytest.raises(InputError) as exc:
        load_spec(spec)  # counted: expanding 5.9 billion points would not return
    (problem,) = exc.value.problems
    assert problem.path == "grid" and problem.line == 3
    assert "5,904,900,000 points (90 x 90 x 90 x 90 x 90)" in problem.message
    assert f"{MAX_POINTS:,}" in problem.message
    proc = run_cli("experiment", str(spec), "--allow-large", "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "grid: 5,904,900,000 points" in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


def test_an_experiment_that_would_take_days_is_refused_before_writing(long_busy, tmp_path):
    spec = write(
        tmp_path / "spec.yaml",
        {"name": "slow", "base": long_busy.name, "replications": 3, "executor": {"type": "serial"}},
    )
    proc = run_cli("experiment", str(spec), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "3 runs on 1 worker: this would take about 4 days (limit 1 h)" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_optimize_verify_is_refused_before_solving(long_busy):
    proc = run_cli("optimize", "reorder", str(long_busy), "--verify", "2")
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout
    assert "(each of 2 variants)" in proc.stderr and "--allow-large" in proc.stderr


def test_allow_large_lets_validate_say_ok_with_the_estimate(long_busy):
    proc = run_cli("validate", str(long_busy), "--allow-large")
    assert proc.returncode == 0, proc.stderr
    ok, work = proc.stdout.strip().splitlines()
    assert "OK" in ok and work.startswith("work: 18,250,000,000 orders")


def test_simulate_prints_the_estimate_on_stderr(tmp_path):
    proc = run_cli(
        "simulate", "scenarios/classroom_sq.yaml", "--set", "horizon_days=100", "--out", str(tmp_path / "run")
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("work: ") and "work:" not in proc.stdout


# ------------------------------------------------------------------ numbers with a range
def test_unit_cost_1e308_is_refused_as_file_line_key_message(tmp_path):
    path = tmp_path / "huge_cost.yaml"
    path.write_text(
        "name: huge_cost\ncatalog:\n  skus:\n    - {id: A, price: 10, unit_cost: 1e308}\n"
        "demand:\n  base_orders_per_day: 5\n",
        encoding="utf-8",
    )
    proc = run_cli("validate", str(path))
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith(f"error: {path}:4: catalog.skus[0].unit_cost: ")
    assert "less than or equal to 1000000000" in first and "nothing was written" in proc.stderr


@pytest.mark.parametrize(
    "override",
    [
        "demand.base_orders_per_day=1e12",
        "inventory.costs.order_cost=1e300",
        "demand.lines_per_order.mean=1e200",
        "demand.weekday_factors[0]=1e20",
        "warmup_days=100000",
    ],
)
def test_huge_numbers_are_out_of_range(override):
    with pytest.raises(InputError) as exc:
        load_scenario("scenarios/baseline.yaml", [override])
    assert exc.value.problems[0].path == override.split("=")[0]


def test_largest_allowed_numbers_keep_kpis_finite():
    """Every bound at once on a tiny shop (one SKU, few orders): all KPIs are finite."""
    from sim.model.shop import simulate

    sc = load_scenario(
        "scenarios/classroom_sq.yaml",
        [
            "horizon_days=60",
            "catalog.skus[0].price=1e9",
            "catalog.skus[0].unit_cost=1e9",
            "inventory.costs.holding_rate_per_year=100",
            "inventory.costs.order_cost=1e9",
            "inventory.costs.backorder_cost_per_unit_day=1e9",
            "inventory.costs.lost_sale_cost_per_unit=1e9",
        ],
    )
    kpis = simulate(sc, 1).kpis
    assert all(np.isfinite(v) or np.isnan(v) for v in kpis.values()), kpis
    assert not any(np.isinf(v) for v in kpis.values())
