"""Same seed, same numbers; separate random streams give common random numbers.

A researcher re-running an experiment must get the same KPIs; a planner comparing
two reorder points must see the same customers in both runs, so the difference
in the KPIs comes from the policy and not from noise. Demand, lead times and
disruptions each draw from their own stream (sim.model.streams), so changing an
inventory parameter must leave the drawn demand untouched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import run_cli

from sim.model.shop import simulate
from sim.model.streams import Streams, replication_seed
from sim.scenario.loader import load_scenario

BASELINE = ("scenarios/baseline.yaml", ["horizon_days=60", "warmup_days=0"])
DEMAND_COLUMNS = ["orders", "lines", "units_demanded", "expected_orders", "marketing_spend"]


def run(path, overrides=(), seed=5, **kw):
    return simulate(load_scenario(path, list(overrides)), seed=seed, **kw)


def assert_same_result(a, b) -> None:
    assert a.kpis.keys() == b.kpis.keys()
    for k in a.kpis:
        assert (a.kpis[k] == b.kpis[k]) or (np.isnan(a.kpis[k]) and np.isnan(b.kpis[k])), k
    pd.testing.assert_frame_equal(a.daily, b.daily, check_exact=True)
    for key in a.state:
        np.testing.assert_array_equal(a.state[key], b.state[key])
    assert a.order_status == b.order_status


@pytest.mark.parametrize(
    "path, overrides",
    [
        BASELINE,
        ("scenarios/classroom_sq.yaml", ["horizon_days=500"]),
        ("tests/data/rich.yaml", []),  # random lead times, random disruptions, two warehouses
    ],
)
def test_same_seed_gives_identical_kpis_and_daily_series(path, overrides):
    a = run(path, overrides, seed=123, record_orders=True)
    b = run(path, overrides, seed=123, record_orders=True)  # a freshly loaded scenario
    assert_same_result(a, b)
    pd.testing.assert_frame_equal(a.orders, b.orders, check_exact=True)


def test_the_same_scenario_object_can_be_simulated_again():
    """Nothing in a run mutates the (frozen, cached) scenario."""
    s = load_scenario(*BASELINE)
    first = simulate(s, seed=9)
    simulate(s, seed=10)
    assert_same_result(first, simulate(s, seed=9))


def test_default_seed_is_the_scenarios_seed():
    s = load_scenario("scenarios/classroom_sq.yaml", ["horizon_days=300", "seed=77"])
    assert_same_result(simulate(s), simulate(s, seed=77))


def test_different_seeds_give_different_demand():
    a = run(*BASELINE, seed=1)
    b = run(*BASELINE, seed=2)
    assert not np.array_equal(a.daily["orders"], b.daily["orders"])
    assert a.kpis["units_demanded"] != b.kpis["units_demanded"]
    # ... but the same expected rate (the rate is part of the scenario, not of the draw)
    np.testing.assert_array_equal(a.daily["expected_orders"], b.daily["expected_orders"])


def test_replication_seeds_are_distinct_and_stable():
    seeds = [replication_seed(42, r) for r in range(200)]
    assert len(set(seeds)) == 200
    assert seeds == [replication_seed(42, r) for r in range(200)]
    assert replication_seed(43, 0) != replication_seed(42, 0)


def test_streams_are_independent_of_each_other():
    a, b = Streams(5), Streams(5)
    b.lead_time.random(1000)  # using one stream more ...
    np.testing.assert_array_equal(a.demand.random(10), b.demand.random(10))  # ... leaves another unchanged


INVENTORY_CHANGES = {
    "reorder point": ["inventory.policy.service_level=0.6"],
    "order quantity": ["inventory.policy.order_quantity=25"],
    "policy type RsS": [
        "inventory.policy.type=RsS",
        "inventory.policy.review=null",
        "inventory.policy.order_quantity=null",
    ],
    "policy type base_stock": ["inventory.policy.type=base_stock", "inventory.policy.order_quantity=null"],
    "lost sales": ["inventory.unmet_demand=lost_sales"],
    "slower supplier": ["suppliers[0].lead_time_days={dist: gamma, mean: 9, cv: 0.5}"],
    "a disruption": ["suppliers[0].disruptions=[{start_day: 20, days: 15}]"],
    "start stock": ["inventory.initial_on_hand=0"],
    "costs": ["inventory.costs.order_cost=500", "inventory.costs.holding_rate_per_year=0.4"],
}


@pytest.mark.parametrize("change", list(INVENTORY_CHANGES))
def test_changing_inventory_leaves_the_drawn_demand_unchanged(change):
    path, overrides = BASELINE
    ref = run(path, overrides, seed=31, record_orders=True)
    alt = run(path, overrides + INVENTORY_CHANGES[change], seed=31, record_orders=True)
    for col in DEMAND_COLUMNS:
        np.testing.assert_array_equal(ref.daily[col].to_numpy(), alt.daily[col].to_numpy(), err_msg=col)
    # the same customers at the same instants, asking for the same units of the same SKUs
    for col in ("arrival", "region", "value"):  # when, from where, and what (order value at list price)
        np.testing.assert_array_equal(ref.orders[col].to_numpy(), alt.orders[col].to_numpy(), err_msg=col)
    np.testing.assert_array_equal(ref.state["demanded"], alt.state["demanded"])
    # ... while the inventory side did change (the test would be empty otherwise)
    assert (
        not np.array_equal(ref.daily["on_hand_units"], alt.daily["on_hand_units"])
        or ref.kpis["total_cost"] != alt.kpis["total_cost"]
    )


def cli_kpis(tmp_path: Path, name: str, *extra: str) -> pd.DataFrame:
    out = tmp_path / name
    proc = run_cli(
        "simulate",
        "scenarios/classroom_sq.yaml",
        "--set",
        "horizon_days=300",
        "--replications",
        "3",
        "--seed",
        "2024",
        "--out",
        out,
        *extra,
    )
    assert proc.returncode == 0, proc.stderr
    return pd.read_csv(out / "kpis.csv")


def test_cli_runs_are_reproducible_whatever_the_worker_count(tmp_path):
    serial = cli_kpis(tmp_path, "a")
    again = cli_kpis(tmp_path, "b")
    parallel = cli_kpis(tmp_path, "c", "--workers", "2")
    pd.testing.assert_frame_equal(serial, again, check_exact=True)
    pd.testing.assert_frame_equal(serial, parallel, check_exact=True)
    assert serial["seed"].tolist() == [replication_seed(2024, r) for r in range(3)]
    assert serial["orders"].nunique() == 3  # replications differ from each other
