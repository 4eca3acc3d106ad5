"""The order-line table (``sim.model.order_lines``): the replayed lines are the run's lines.

Per order, the replayed lines and units equal the per-order table's ``lines`` and ``units``
(the sums over its shipments), exactly, whether the order ships whole or split; the line
values at the day's price factor add up to the order's value; the table has one row per line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT

import run
from sim.model.order_lines import COLUMNS, order_lines
from sim.model.records import order_details
from sim.model.shop import simulate
from sim.scenario.loader import load_scenario

#: multi_warehouse over 618 (a 10% discount on 06-18..06-20) and the days around it.
AROUND_618 = ["start_date=2026-06-08", "horizon_days=21", "warmup_days=0"]
#: ... with 2 units per SKU at the start and lost sales: some orders split, some lines lost.
SPLIT = [
    "routing.warehouse=nearest_with_stock",
    "routing.split_shipments=true",
    "inventory.initial_on_hand=2",
    "inventory.unmet_demand=lost_sales",
]


def _run(overrides: list[str], seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    s = load_scenario("scenarios/multi_warehouse.yaml", overrides)
    r = simulate(s, seed=seed, record_orders=True)
    return order_lines(r, s), order_details(r, s)


def _per_order(lines: pd.DataFrame, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ids = lines["order_id"].to_numpy()
    count = np.bincount(ids, minlength=n)
    units = np.bincount(ids, weights=lines["quantity"].to_numpy(), minlength=n)
    value = np.bincount(ids, weights=(lines["quantity"] * lines["unit_price"]).to_numpy(), minlength=n)
    return count, units, value


@pytest.fixture(scope="module")
def whole():
    return _run(AROUND_618)


@pytest.fixture(scope="module")
def split():
    return _run([*AROUND_618, *SPLIT])


def test_lines_and_units_per_order_equal_the_order_table(whole):
    lines, orders = whole
    count, units, _ = _per_order(lines, len(orders))
    assert list(lines.columns) == list(COLUMNS)
    assert (count >= 1).all()
    np.testing.assert_array_equal(count, orders["lines"].to_numpy())
    np.testing.assert_array_equal(units, orders["units"].to_numpy())
    assert len(lines) == int(orders["lines"].sum())
    assert lines["quantity"].dtype.kind == "i" and (lines["quantity"] >= 1).all()


def test_split_and_lost_orders_keep_every_line_demanded(split):
    lines, orders = split
    assert (orders["shipments"] > 1).sum() > 0, "the scenario should split some orders"
    assert (orders["status"] == "lost").sum() > 0, "... and lose some"
    count, units, _ = _per_order(lines, len(orders))
    np.testing.assert_array_equal(count, orders["lines"].to_numpy())
    np.testing.assert_array_equal(units, orders["units"].to_numpy())
    assert len(lines) == int(orders["lines"].sum())
    many = orders.loc[orders["shipments"] > 1, "order_id"]
    assert lines.loc[lines["order_id"].isin(many), "warehouse"].str.contains("+", regex=False).all()


def test_line_values_at_the_days_price_add_up_to_the_order_value(whole):
    lines, orders = whole
    _, _, value = _per_order(lines, len(orders))
    np.testing.assert_allclose(value, orders["value"].to_numpy(), rtol=1e-9)
    promo = lines["placed_at"].dt.strftime("%m-%d").isin(["06-18", "06-19", "06-20"])
    assert promo.any() and (~promo).any()
    sku = lines["sku"].to_numpy()
    list_price = lines.loc[~promo].groupby("sku")["unit_price"].first()
    on_promo = lines.loc[promo & pd.Series(sku).isin(list_price.index).to_numpy()]
    np.testing.assert_allclose(on_promo["unit_price"], 0.9 * list_price[on_promo["sku"]].to_numpy())


def test_lines_carry_their_orders_fields(whole):
    lines, orders = whole
    by_id = orders.set_index("order_id")
    for col, src in [("placed_at", "placed_at"), ("warehouse", "warehouses"), ("status", "status")]:
        assert (lines[col].to_numpy() == by_id.loc[lines["order_id"], src].to_numpy()).all()


def test_the_same_seed_gives_the_same_lines_and_another_seed_others(whole):
    again, _ = _run(AROUND_618)
    pd.testing.assert_frame_equal(again, whole[0])
    other, _ = _run(AROUND_618, seed=6)
    assert len(other) != len(whole[0]) or not other["sku"].equals(whole[0]["sku"])


def test_needs_record_orders():
    s = load_scenario("scenarios/classroom_sq.yaml", ["horizon_days=10", "warmup_days=0"])
    with pytest.raises(ValueError, match="record_orders=True"):
        order_lines(simulate(s, seed=1), s)


def test_simulate_lines_writes_the_order_lines_of_every_replication(tmp_path):
    """``run.py simulate --lines``: order_lines.csv and .parquet, one row per line of each replication."""
    out = tmp_path / "run"
    args = ["simulate", str(ROOT / "scenarios" / "multi_warehouse.yaml"), "-n", "2", "--quiet", "--lines"]
    code = run.main([*args, "--set", "horizon_days=20", "--set", "warmup_days=0", "--out", str(out)])
    assert code == 0
    assert not (out / "orders.csv").exists() and not list(out.glob("*.tmp*"))
    lines = pd.read_parquet(out / "order_lines.parquet")
    csv = pd.read_csv(out / "order_lines.csv")
    assert list(lines.columns) == ["replication", *COLUMNS] == list(csv.columns)
    assert len(csv) == len(lines) and (csv["quantity"].to_numpy() == lines["quantity"].to_numpy()).all()
    kpis = pd.read_csv(out / "kpis.csv").set_index("replication")
    for rep, t in lines.groupby("replication"):
        assert t["order_id"].nunique() == kpis.loc[rep, "orders"]
        assert t["quantity"].sum() == kpis.loc[rep, "units_demanded"]
