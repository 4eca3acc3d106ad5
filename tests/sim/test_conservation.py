"""Accounting identities that every simulated scenario must satisfy.

Units are conserved per (warehouse, SKU): what was there at the start plus what
arrived equals what left plus what is still there; every unit a customer asked
for was shipped, lost or is still on backorder; every order ended in exactly one
state; the cost and margin KPIs add up (total cost = holding + ordering +
shortage + overflow + marketing + shipping + handling + labour + warehouse fixed +
late delivery; gross margin = revenue - COGS). A planner trusts a KPI table only if
these hold for every scenario, so they are checked on the shipped scenarios,
on variants of them, and on random small scenarios (hypothesis).
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from helpers import COST_PARTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model.catalog import catalog_for
from sim.model.shop import simulate
from sim.scenario.loader import load_scenario

BASELINE_SHORT = ["horizon_days=120", "warmup_days=0"]
PERIODIC = ["inventory.policy.review=null", "inventory.policy.order_quantity=null"]

CASES = {
    "classroom_sq": ("scenarios/classroom_sq.yaml", ["horizon_days=400"]),
    "classroom_rs": ("scenarios/classroom_rs.yaml", ["horizon_days=400"]),
    "classroom_eoq": ("scenarios/classroom_eoq.yaml", ["horizon_days=200"]),
    "baseline": ("scenarios/baseline.yaml", BASELINE_SHORT),
    "baseline_lost_sales": ("scenarios/baseline.yaml", [*BASELINE_SHORT, "inventory.unmet_demand=lost_sales"]),
    "baseline_RsS": ("scenarios/baseline.yaml", BASELINE_SHORT + PERIODIC + ["inventory.policy.type=RsS"]),
    "baseline_RS_lost_sales": (
        "scenarios/baseline.yaml",
        BASELINE_SHORT
        + PERIODIC
        + ["inventory.policy.type=RS", "inventory.unmet_demand=lost_sales", "inventory.policy.service_level=0.6"],
    ),
    "baseline_base_stock": (
        "scenarios/baseline.yaml",
        [  # an order per demand: keep it short
            "horizon_days=45",
            "warmup_days=0",
            "inventory.policy.type=base_stock",
            "inventory.policy.order_quantity=null",
        ],
    ),
    "baseline_sS_periodic": (
        "scenarios/baseline.yaml",
        [
            *BASELINE_SHORT,
            "inventory.policy.type=sS",
            "inventory.policy.review=periodic",
            "inventory.policy.order_quantity=null",
            "inventory.policy.review_period_days=5",
        ],
    ),
    "double11_event": ("scenarios/double11.yaml", ["start_date=2026-10-01", "horizon_days=60", "warmup_days=0"]),
    "rich_two_warehouses": ("tests/data/rich.yaml", []),
    "rich_lost_sales_sQ": (
        "tests/data/rich.yaml",
        [
            "inventory.unmet_demand=lost_sales",
            "inventory.policy.type=sQ",
            "inventory.per_sku=[]",
            "inventory.policy.service_level=0.5",
        ],
    ),
    "rich_storage_and_warehouse_costs": (
        "tests/data/rich.yaml",
        [  # overflow space, handling, fixed cost
            "warehouses[0].storage_units=60",
            "warehouses[1].storage_units=25",
            "warehouses[0].fixed_cost_per_day=40",
            "warehouses[1].handling_cost_per_order=1.5",
        ],
    ),
    "starved": (
        "scenarios/classroom_sq.yaml",
        [  # stock runs out for a long time: a deep backlog
            "horizon_days=200",
            "warmup_days=0",
            "suppliers[0].lead_time_days=30",
            "inventory.initial_on_hand=0",
        ],
    ),
}


def check_identities(scenario, result) -> None:
    """Every identity a SimulationResult promises (the whole horizon when warmup_days == 0)."""
    st_ = result.state
    for key in ("initial", "received", "shipped", "on_hand", "lost", "demanded", "backorders", "on_order"):
        assert np.all(st_[key] >= -1e-9), f"{key} went negative"
        assert np.all(np.isfinite(st_[key]))
    # units in = units out, per (warehouse, SKU); lost units never were in stock
    np.testing.assert_allclose(st_["initial"] + st_["received"], st_["shipped"] + st_["on_hand"], rtol=0, atol=1e-9)
    # overflow space is part of on hand: per warehouse, on hand = regular space (<= capacity) + overflow
    W = len(scenario.warehouses)
    by_wh = st_["on_hand"].reshape(W, -1).sum(axis=1)
    cap = np.array([w.storage_units if w.storage_units is not None else np.inf for w in scenario.warehouses])
    np.testing.assert_allclose(st_["overflow_units"], np.maximum(by_wh - cap, 0.0), rtol=0, atol=1e-6)
    # every unit demanded was shipped, lost, or is still on backorder
    np.testing.assert_allclose(st_["demanded"], st_["shipped"] + st_["lost"] + st_["backorders"], rtol=0, atol=1e-9)
    # a pair never holds stock and a backlog at once (receipts fill backorders first)
    assert not np.any((st_["on_hand"] > 0) & (st_["backorders"] > 0))
    if scenario.inventory.unmet_demand == "lost_sales":
        assert np.all(st_["backorders"] == 0)
    else:
        assert np.all(st_["lost"] == 0)

    # every order exactly once
    status = result.order_status
    assert status["orders"] == sum(v for k, v in status.items() if k != "orders")
    assert status["orders"] == result.daily["orders"].sum()
    assert status["lost"] == result.daily["orders_lost"].sum()
    if scenario.inventory.unmet_demand == "lost_sales":
        assert status["backordered"] == 0
    else:
        assert status["lost"] == 0
        assert (status["backordered"] > 0) == (st_["backorders"].sum() > 0)

    # the daily series add up to the end-of-run state
    daily = result.daily
    assert daily["units_received"].sum() == pytest.approx(st_["received"].sum())
    assert daily["units_shipped"].sum() == pytest.approx(st_["shipped"].sum())
    assert daily["units_demanded"].sum() == pytest.approx(st_["demanded"].sum())
    assert daily["units_lost"].sum() == pytest.approx(st_["lost"].sum())
    assert daily["backorder_units_end"].iloc[-1] == pytest.approx(st_["backorders"].sum())
    assert daily["on_order_units_end"].iloc[-1] == pytest.approx(st_["on_order"].sum())
    assert np.all(daily["units_filled_now"] <= daily["units_demanded"] + 1e-9)
    W = len(scenario.warehouses)
    unit_cost = np.tile(catalog_for(scenario).unit_cost, W)
    assert daily["cogs"].sum() == pytest.approx(float(np.dot(st_["shipped"], unit_cost)), rel=1e-9, abs=1e-6)

    # the KPI accounting identities
    k = result.kpis
    assert k["total_cost"] == pytest.approx(sum(k[c] for c in COST_PARTS), rel=1e-12, abs=1e-9)
    assert k["gross_margin"] == pytest.approx(k["revenue"] - k["cost_of_goods_sold"], rel=1e-12, abs=1e-9)
    assert k["profit"] == pytest.approx(k["gross_margin"] - k["total_cost"], rel=1e-12, abs=1e-9)
    post = daily[~daily["warmup"]]
    assert k["cost_per_day"] == pytest.approx(k["total_cost"] / len(post))
    for rate in ("unit_fill_rate", "line_fill_rate", "order_fill_rate", "cycle_service_level"):
        assert np.isnan(k[rate]) or 0.0 <= k[rate] <= 1.0, rate
    if scenario.warmup_days == 0:
        assert k["units_shipped"] == pytest.approx(st_["shipped"].sum())
        assert k["units_demanded"] == pytest.approx(st_["demanded"].sum())
        assert k["lost_units"] == pytest.approx(st_["lost"].sum())
        assert k["orders"] == status["orders"]


@pytest.mark.parametrize("name", list(CASES))
def test_units_orders_and_money_are_conserved(name):
    path, overrides = CASES[name]
    scenario = load_scenario(path, overrides)
    result = simulate(scenario, seed=11)
    check_identities(scenario, result)
    assert result.kpis["orders"] > 0


def test_the_cases_exercise_stockouts_in_both_modes():
    """The identities are only interesting when stock runs out: make sure it does."""
    bo = simulate(load_scenario(*CASES["starved"]), seed=11)
    assert bo.state["backorders"].sum() > 0 and bo.order_status["backordered"] > 0
    ls = simulate(load_scenario(*CASES["baseline_RS_lost_sales"]), seed=11)
    assert ls.state["lost"].sum() > 0 and ls.kpis["lost_units"] > 0


def test_warmup_days_are_excluded_from_the_kpis():
    s = load_scenario("scenarios/classroom_sq.yaml", ["horizon_days=300", "warmup_days=100"])
    r = simulate(s, seed=4)
    post = r.daily[~r.daily["warmup"]]
    assert len(post) == 200 and post["day"].iloc[0] == 100
    assert r.kpis["orders"] == post["orders"].sum() < r.daily["orders"].sum()
    assert r.kpis["avg_on_hand_units"] == pytest.approx(post["on_hand_units"].mean())


# ---------------------------------------------------------------- property: random small scenarios
DISTS = {
    "constant": lambda d: d(st.integers(0, 12)),
    "gamma": lambda d: {"dist": "gamma", "mean": d(st.floats(0.5, 10)), "cv": d(st.floats(0.1, 1.5))},
    "uniform": lambda d: {"dist": "uniform", "low": d(st.floats(0, 3)), "high": d(st.floats(3, 9))},
    "poisson": lambda d: {"dist": "poisson", "mean": d(st.floats(0, 8))},
    "empirical": lambda d: {"dist": "empirical", "values": [0, 2, 7], "probs": [0.2, 0.5, 0.3]},
}


@st.composite
def small_scenarios(draw):
    n_sku = draw(st.integers(1, 4))
    skus = [
        {
            "id": f"S{i}",
            "price": draw(st.floats(1, 100)),
            "unit_cost": draw(st.floats(0, 50)),
            "popularity": draw(st.floats(0.1, 5)),
        }
        for i in range(n_sku)
    ]
    kind = draw(st.sampled_from(["sQ", "sS", "RS", "RsS", "base_stock"]))
    policy: dict = {"type": kind}
    if kind in ("sQ", "sS", "base_stock"):
        policy["review"] = draw(st.sampled_from(["continuous", "periodic"]))
    policy["review_period_days"] = draw(st.integers(1, 10))
    s = draw(st.integers(0, 30))
    if kind == "sQ":
        policy.update(reorder_point=s, order_quantity=draw(st.integers(1, 40)))
    elif kind in ("sS", "RsS"):
        policy.update(reorder_point=s, order_up_to=s + draw(st.integers(1, 40)))
    else:
        policy["order_up_to"] = draw(st.integers(0, 60))
    if draw(st.booleans()):  # or let the loader derive the numbers from demand
        policy = {k: v for k, v in policy.items() if k in ("type", "review", "review_period_days")}
        policy["service_level"] = draw(st.floats(0.05, 0.99))
    lead = DISTS[draw(st.sampled_from(list(DISTS)))](draw)
    storage = st.sampled_from([None, 3, 30])  # storage_units: none, tight, roomy
    horizon = draw(st.integers(30, 120))
    two_wh = draw(st.booleans())
    supplier = {"name": "sup", "lead_time_days": lead}
    if draw(st.booleans()):
        start = draw(st.integers(0, horizon - 1))
        supplier["disruptions"] = [{"start_day": start, "days": draw(st.integers(1, 20))}]
    return {
        "name": "random",
        "horizon_days": horizon,
        "warmup_days": draw(st.integers(0, 10)),
        "catalog": {"skus": skus},
        "demand": {
            "base_orders_per_day": draw(st.floats(0, 15)),
            "arrivals": draw(st.sampled_from(["poisson", "deterministic"])),
            "lines_per_order": draw(st.sampled_from([1, {"dist": "poisson", "mean": 1.5, "shift": 1}])),
            "units_per_line": draw(
                st.sampled_from([1, 3, {"dist": "negative_binomial", "mean": 2.5, "dispersion": 1, "shift": 1}])
            ),
            "regions": (
                [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}] if two_wh else [{"name": "a", "share": 1.0}]
            ),
        },
        "warehouses": (
            [
                {"name": "wa", "regions": ["a"], "storage_units": draw(storage)},
                {"name": "wb", "regions": ["b"], "storage_units": draw(storage)},
            ]
            if two_wh
            else [{"name": "wa", "storage_units": draw(storage)}]
        ),
        "suppliers": [supplier],
        "inventory": {
            "policy": policy,
            "unmet_demand": draw(st.sampled_from(["backorder", "lost_sales"])),
            "initial_on_hand": draw(st.sampled_from(["order_up_to", "reorder_point", 0, 7])),
            "costs": {
                "backorder_cost_per_unit_day": draw(st.floats(0, 2)),
                "lost_sale_cost_per_unit": draw(st.floats(0, 5)),
            },
        },
    }


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("random_scenarios")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=small_scenarios(), seed=st.integers(0, 2**31 - 1))
def test_any_small_valid_scenario_conserves_units_orders_and_money(scratch, data, seed):
    path = scratch / "random.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    scenario = load_scenario(path)  # the generator only builds valid scenarios
    check_identities(scenario, simulate(scenario, seed=seed))
