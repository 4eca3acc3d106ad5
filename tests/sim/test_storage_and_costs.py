"""The simulator honours what the schema accepts (issue 13, item 6).

* ``warehouses[].storage_units``: on hand above the capacity sits in overflow space (still
  shipped, never lost), counted and charged per unit-day; a capacity nobody reaches changes
  nothing;
* ``handling_cost_per_order`` and ``fixed_cost_per_day`` are in ``total_cost`` and ``profit``
  with exactly the amounts the rule states;
* every schema key is read by the simulator, or is listed as optimizer-only (or as a label)
  and says so in the reference and in ``explain``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from helpers import COST_PARTS, ROOT

from sim.model.shop import simulate
from sim.scenario.explain import explain
from sim.scenario.loader import load_scenario
from sim.scenario.reference import LABEL_ONLY, OPTIMIZER_ONLY, OPTIMIZER_ONLY_NOTE, markdown, reference_rows

BASELINE = str(ROOT / "scenarios" / "baseline.yaml")
MULTI = str(ROOT / "scenarios" / "multi_warehouse.yaml")
SHORT = ["horizon_days=90", "warmup_days=0"]


def _run(path, overrides, seed=5):
    s = load_scenario(path, overrides)
    return s, simulate(s, seed=seed)


# --------------------------------------------------------------------------- storage capacity
def test_storage_units_150_caps_regular_space_and_counts_and_costs_the_overflow():
    """Regression: on hand reached 591 with storage_units: 150 and nothing noticed it."""
    _base, free = _run(BASELINE, SHORT)
    s, capped = _run(
        BASELINE, [*SHORT, "warehouses[0].storage_units=150", "warehouses[0].overflow_cost_per_unit_day=0.2"]
    )
    k, k0 = capped.kpis, free.kpis
    # units are never refused or lost: the physical run is the same, only the accounting differs
    for name in ("orders", "units_shipped", "avg_on_hand_units", "unit_fill_rate", "shipping_cost"):
        assert k[name] == k0[name], name
    # regular space never holds more than 150: everything above is overflow, time-averaged exactly
    assert k["avg_overflow_units"] > 0
    assert k["avg_overflow_units"] >= k["avg_on_hand_units"] - 150 - 1e-9  # max(0, x - c) >= x - c on average
    assert k["avg_overflow_units"] <= k["avg_on_hand_units"]
    daily_regular = capped.daily["on_hand_units"] - capped.daily["overflow_unit_days"]  # unit-days per day
    assert np.all(daily_regular <= 150 + 1e-6)
    assert k["max_overflow_units"] >= capped.daily["overflow_unit_days"].max() - 1e-6
    end = capped.state["on_hand"].sum()
    assert capped.state["overflow_units"][0] == pytest.approx(max(end - 150, 0.0))
    # charged at the stated rate, and in total_cost and profit
    assert k["overflow_cost"] == pytest.approx(0.2 * k["avg_overflow_units"] * s.horizon_days, rel=1e-9)
    assert k["total_cost"] - k0["total_cost"] == pytest.approx(k["overflow_cost"], rel=1e-9)
    assert k0["profit"] - k["profit"] == pytest.approx(k["overflow_cost"], rel=1e-9)
    assert k0["overflow_cost"] == 0 and k0["avg_overflow_units"] == 0 and k0["max_overflow_units"] == 0


def test_overflow_rule_on_a_hand_checked_case():
    """One SKU, 10 units at the start, capacity 4, no demand: overflow 6 units for all 20 days."""
    _s, r = _run(
        str(ROOT / "scenarios" / "classroom_sq.yaml"),
        [
            "horizon_days=20",
            "warmup_days=0",
            "demand.base_orders_per_day=0",
            "inventory.initial_on_hand=10",
            "warehouses=[{name: main, storage_units: 4, overflow_cost_per_unit_day: 0.5}]",
        ],
    )
    k = r.kpis
    assert k["avg_overflow_units"] == pytest.approx(6.0)
    assert k["max_overflow_units"] == pytest.approx(6.0)
    assert k["overflow_cost"] == pytest.approx(6 * 20 * 0.5)


def test_huge_capacity_gives_results_identical_to_no_capacity():
    for path in (BASELINE, MULTI):
        _, free = _run(path, SHORT)
        _, huge = _run(path, [*SHORT, "warehouses[0].storage_units=1000000000"])
        pd.testing.assert_series_equal(pd.Series(huge.kpis), pd.Series(free.kpis), check_exact=True)
        for key in ("on_hand", "shipped", "received", "backorders"):
            np.testing.assert_array_equal(huge.state[key], free.state[key])


def test_overflow_counts_only_the_warehouse_over_its_capacity():
    s, r = _run(MULTI, [*SHORT, "warehouses[1].storage_units=200"])
    assert r.state["overflow_unit_days"][0] == 0 and r.state["overflow_unit_days"][2] == 0
    assert r.state["overflow_unit_days"][1] > 0
    assert r.kpis["overflow_cost"] == pytest.approx(0.10 * r.state["overflow_unit_days"][1])  # the default rate
    by_wh = r.state["on_hand"].reshape(len(s.warehouses), -1).sum(axis=1)
    np.testing.assert_allclose(r.state["overflow_units"], np.maximum(by_wh - [np.inf, 200, np.inf], 0))
    # units conserved per (warehouse, SKU): overflow units are on hand, not a separate stock
    st = r.state
    np.testing.assert_allclose(st["initial"] + st["received"], st["shipped"] + st["on_hand"], atol=1e-9)


# --------------------------------------------------------------------------- handling and fixed costs
def test_handling_and_fixed_costs_are_in_total_cost_with_the_exact_amounts():
    overrides = [
        "horizon_days=90",
        "warmup_days=10",
        "warehouses[0].handling_cost_per_order=2.5",
        "warehouses[1].handling_cost_per_order=1",
        "warehouses[2].fixed_cost_per_day=300",
        "warehouses[0].fixed_cost_per_day=120",
    ]
    _s0, plain = _run(MULTI, ["horizon_days=90", "warmup_days=10"])
    s, r = _run(MULTI, overrides)
    k, k0 = r.kpis, plain.kpis
    shp = r.shipments
    left = (shp["ship"] >= s.warmup_days) & (shp["ship"] < s.horizon_days)  # shipments that left after warm-up
    wh = shp["wh"][left].astype(int)
    assert k["handling_cost"] == pytest.approx(2.5 * np.sum(wh == 0) + 1.0 * np.sum(wh == 1))
    assert k["handling_cost"] > 0
    assert k["warehouse_fixed_cost"] == pytest.approx((300 + 120) * (s.horizon_days - s.warmup_days))
    assert k0["handling_cost"] == 0 and k0["warehouse_fixed_cost"] == 0
    assert k["total_cost"] - k0["total_cost"] == pytest.approx(k["handling_cost"] + k["warehouse_fixed_cost"])
    assert k0["profit"] - k["profit"] == pytest.approx(k["handling_cost"] + k["warehouse_fixed_cost"])
    assert k["total_cost"] == pytest.approx(sum(k[c] for c in COST_PARTS), rel=1e-12)
    assert k["profit"] == pytest.approx(k["gross_margin"] - k["total_cost"], rel=1e-12)


def test_one_warehouse_orders_shipped_times_handling_and_days_times_fixed():
    """With one warehouse and no split shipments, handling = orders shipped x the rate."""
    s, r = _run(
        BASELINE,
        [
            "horizon_days=60",
            "warmup_days=0",
            "warehouses[0].handling_cost_per_order=1.25",
            "warehouses[0].fixed_cost_per_day=500",
        ],
    )
    shipped = np.sum(r.shipments["ship"] < s.horizon_days)
    assert r.kpis["handling_cost"] == pytest.approx(1.25 * shipped)
    assert r.kpis["warehouse_fixed_cost"] == pytest.approx(500 * 60)


def test_a_warehouse_without_lanes_in_a_lane_plan_is_closed_and_pays_no_fixed_cost():
    plan = (
        "routing.lane_plan=[{region: east, warehouse: east_dc, carrier: economy, share: 1},"
        " {region: south, warehouse: south_dc, carrier: economy, share: 1},"
        " {region: southwest, warehouse: south_dc, carrier: economy, share: 1}]"
    )
    fixed = (100, 200, 400)  # east_dc, south_dc, southwest_dc (closed: no lane names it)
    s = load_scenario(
        MULTI,
        ["horizon_days=30", "warmup_days=0", "routing.warehouse=lane_plan", plan]
        + [f"warehouses[{i}].fixed_cost_per_day={c}" for i, c in enumerate(fixed)],
    )
    assert [w.name for w in s.warehouses] == ["east_dc", "south_dc", "southwest_dc"]
    r = simulate(s, seed=2)
    assert r.kpis["warehouse_fixed_cost"] == pytest.approx((100 + 200) * 30)


# --------------------------------------------------------------------------- every key is honoured
SIMULATOR_MODULES = [
    p
    for p in (ROOT / "sim").rglob("*.py")
    if p.name not in ("schema.py", "reference.py", "explain.py", "checks.py", "__init__.py")
]


def _simulator_source() -> str:
    """The simulator's code, plus the schema's own derived properties and accessors (``Policy.periodic``
    reads ``review``; the simulator reads ``warmup_days`` through ``warmup_days_of(s)``)."""
    schema_code = [
        line
        for line in (ROOT / "sim" / "scenario" / "schema.py").read_text(encoding="utf-8").splitlines()
        if "self." in line or re.search(r"\bs\.[a-z_]+", line)
    ]
    return "\n".join([p.read_text(encoding="utf-8") for p in SIMULATOR_MODULES] + schema_code)


def _leaf_keys() -> list[str]:
    return [r.key for r in reference_rows() if r.type not in ("mapping", "list of mappings")]


def test_every_schema_key_is_read_by_the_simulator_or_listed_as_optimizer_only():
    source = _simulator_source()
    unread = []
    for key in _leaf_keys():
        if key in OPTIMIZER_ONLY or key in LABEL_ONLY:
            continue
        field = key.split(".")[-1].removesuffix("[]")
        if not re.search(rf"(\.{field}\b|[\"']{field}[\"'])", source):
            unread.append(key)
    assert not unread, (
        "schema keys the simulator never reads; make them work or list them in "
        "sim.scenario.reference.OPTIMIZER_ONLY (and say so in their description): " + ", ".join(unread)
    )


def test_optimizer_only_keys_exist_are_unread_and_say_so():
    rows = {r.key: r for r in reference_rows()}
    source = _simulator_source()
    for key, who in OPTIMIZER_ONLY.items():
        assert key in rows, f"{key} is not a schema key"
        assert OPTIMIZER_ONLY_NOTE in rows[key].meaning and "optimizer" in who
        field = key.split(".")[-1]
        assert not re.search(rf"\.{field}\b", source), f"{key} is read by the simulator: drop it from OPTIMIZER_ONLY"
    for key in LABEL_ONLY:
        assert key in rows
    page = markdown()
    assert "## Rules the simulator applies" in page and "overflow" in page and "fixed_cost_per_day" in page


def test_explain_names_optimizer_only_keys_a_scenario_sets_and_the_warehouse_costs():
    s = load_scenario(
        BASELINE,
        [
            "demand.channels[0].max_budget=5000",
            "warehouses[0].storage_units=300",
            "warehouses[0].handling_cost_per_order=1.5",
            "warehouses[0].fixed_cost_per_day=80",
        ],
    )
    text = explain(s)
    line = next(x for x in text.splitlines() if x.startswith("- Optimizer-only keys"))
    assert "max_budget = 5000" in line and "promotion optimizer" in line
    assert "storage for 300 units" in text and "handling 1.5 per shipment" in text and "fixed cost 80" in text
    assert "Optimizer-only" not in explain(load_scenario(BASELINE))
