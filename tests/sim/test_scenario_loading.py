"""Scenario files: extends, --set overrides, plan overlays, the catalogue generator, round trips.

Planners build variants by extending a base file and overriding a few keys;
optimizers hand back plan overlays; every run folder stores the resolved
scenario so that the run can be repeated. These tests pin down each of those
promises on small files written to a temporary folder.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from sim.model.catalog import abc_classes, build_catalog, catalog_for
from sim.model.demand import demand_plan
from sim.model.policy import resolve_policy
from sim.scenario.errors import InputError
from sim.scenario.loader import dump_scenario, load_scenario, scenario_hash
from sim.scenario.schema import Catalog
from sim.scenario.yamlio import deep_merge, parse_key_path

SCENARIOS = ["classroom_sq", "classroom_rs", "classroom_eoq", "baseline", "double11"]

BASE = """\
name: base
horizon_days: 200
warmup_days: 10
catalog:
  skus:
    - {id: A, price: 10, unit_cost: 6}
    - {id: B, price: 20, unit_cost: 12}
demand:
  base_orders_per_day: 50
  weekday_factors: [1.2, 1, 1, 1, 1, 0.9, 0.9]
  lines_per_order: {dist: poisson, mean: 1.5, shift: 1}
  regions:
    - {name: east, share: 0.6}
    - {name: west, share: 0.4}
warehouses:
  - {name: w1, regions: [east]}
  - {name: w2, regions: [west]}
suppliers:
  - {name: s1, lead_time_days: 4, order_cost: 30}
inventory:
  policy: {type: sQ, reorder_point: 20, order_quantity: 40}
  costs: {holding_rate_per_year: 0.3, order_cost: 25, backorder_cost_per_unit_day: 0.5}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(excinfo) -> list:
    return excinfo.value.problems


# ---------------------------------------------------------------- extends
def test_extends_deep_merges_mappings_and_replaces_lists(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    child = write(
        tmp_path,
        "child.yaml",
        """\
        extends: base.yaml
        name: child
        demand:
          base_orders_per_day: 80          # merged into demand: the other demand keys survive
          regions:                         # a list: replaced as a whole, not appended
            - {name: west, share: 0.25}
            - {name: east, share: 0.75}
        warehouses:
          - {name: hub, regions: [east, west]}
        inventory:
          policy: {reorder_point: 30}      # merged into policy: type and Q survive
        """,
    )
    s = load_scenario(child)
    assert s.name == "child"
    assert s.horizon_days == 200 and s.warmup_days == 10  # untouched top-level keys
    assert s.demand.base_orders_per_day == 80
    assert s.demand.weekday_factors[0] == 1.2  # sibling keys kept
    assert s.demand.lines_per_order.mean == 1.5
    assert [(r.name, r.share) for r in s.demand.regions] == [("west", 0.25), ("east", 0.75)]
    assert [(w.name, w.regions) for w in s.warehouses] == [("hub", ["east", "west"])]
    assert s.inventory.policy.type == "sQ"
    assert s.inventory.policy.reorder_point == 30
    assert s.inventory.policy.order_quantity == 40
    assert s.inventory.costs.backorder_cost_per_unit_day == 0.5
    assert s.suppliers == load_scenario(tmp_path / "base.yaml").suppliers


def test_extends_chains_and_resolves_paths_relative_to_the_extending_file(tmp_path):
    write(tmp_path, "shared/base.yaml", BASE)
    write(tmp_path, "shared/mid.yaml", "extends: base.yaml\nname: mid\nhorizon_days: 300\n")
    child = write(tmp_path, "variants/deep/child.yaml", "extends: ../../shared/mid.yaml\nname: child\n")
    s = load_scenario(child)
    assert (s.name, s.horizon_days, s.demand.base_orders_per_day) == ("child", 300, 50)


def test_double11_extends_baseline_and_replaces_the_promotion_list():
    base = load_scenario("scenarios/baseline.yaml")
    d11 = load_scenario("scenarios/double11.yaml")
    assert d11.name == "double11"
    assert d11.catalog == base.catalog and d11.suppliers == base.suppliers
    # double11 sets one cost (a late order's voucher); the deep merge keeps every other inventory key
    assert (
        d11.inventory.costs.late_delivery_cost_per_order == 10
        and base.inventory.costs.late_delivery_cost_per_order == 0
    )
    assert d11.inventory.model_copy(update={"costs": base.inventory.costs}) == base.inventory
    assert d11.inventory.costs.model_copy(update={"late_delivery_cost_per_order": 0.0}) == base.inventory.costs
    assert [p.name for p in d11.demand.promotions] == ["618", "double11"]
    assert d11.demand.monthly_factors == base.demand.monthly_factors


def test_deep_merge_unit_rules():
    base = {"a": {"x": 1, "y": [1, 2, 3]}, "b": 2}
    over = {"a": {"y": [9], "z": 3}, "c": None}
    merged = deep_merge(base, over)
    assert merged == {"a": {"x": 1, "y": [9], "z": 3}, "b": 2, "c": None}
    assert base == {"a": {"x": 1, "y": [1, 2, 3]}, "b": 2}  # inputs are not mutated


def test_circular_extends_is_an_input_error(tmp_path):
    write(tmp_path, "a.yaml", "extends: b.yaml\nname: a\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\nname: b\n")
    with pytest.raises(InputError) as exc:
        load_scenario(tmp_path / "a.yaml")
    (p,) = problems_of(exc)
    assert p.path == "extends" and "circular" in p.message


def test_a_problem_inherited_from_the_base_file_names_the_base_file_and_line(tmp_path):
    base = write(tmp_path, "base.yaml", BASE.replace("order_quantity: 40", "order_quantity: -40"))
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\n")
    with pytest.raises(InputError) as exc:
        load_scenario(child)
    (p,) = problems_of(exc)
    assert p.file == str(base)
    assert p.line == BASE.splitlines().index("  policy: {type: sQ, reorder_point: 20, order_quantity: 40}") + 1
    assert p.path == "inventory.policy.order_quantity"


# ---------------------------------------------------------------- --set overrides
def test_set_overrides_scalars_nested_keys_and_list_items(tmp_path):
    path = write(tmp_path, "base.yaml", BASE)
    s = load_scenario(
        path,
        overrides=[
            "horizon_days=120",
            "inventory.policy.reorder_point=7",
            "catalog.skus[1].price=25.5",
            "demand.regions[0].share=0.5",
            "demand.regions[1].share=0.5",
            "suppliers[0].lead_time_days={dist: gamma, mean: 5, cv: 0.4}",  # YAML flow value
            "inventory.unmet_demand=lost_sales",  # a key absent from the file
        ],
    )
    assert s.horizon_days == 120
    assert s.inventory.policy.reorder_point == 7
    assert s.catalog.skus[1].price == 25.5 and s.catalog.skus[0].price == 10
    assert [r.share for r in s.demand.regions] == [0.5, 0.5]
    assert s.suppliers[0].lead_time_days.dist == "gamma" and s.suppliers[0].lead_time_days.cv == 0.4
    assert s.inventory.unmet_demand == "lost_sales"


def test_later_overrides_win_and_the_file_is_unchanged(tmp_path):
    path = write(tmp_path, "base.yaml", BASE)
    before = path.read_text()
    s = load_scenario(path, overrides=["horizon_days=120", "horizon_days=90"])
    assert s.horizon_days == 90
    assert path.read_text() == before
    assert load_scenario(path).horizon_days == 200


def test_set_index_out_of_range_is_an_input_error(tmp_path):
    path = write(tmp_path, "base.yaml", BASE)
    with pytest.raises(InputError) as exc:
        load_scenario(path, overrides=["catalog.skus[2].price=5"])
    (p,) = problems_of(exc)
    assert p.file == "--set"
    assert p.path == "catalog.skus[2].price"
    assert "index 2 out of range" in p.message and "2 items" in p.message


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("horizon_days", "expected KEY=VALUE"),
        ("=5", "bad key path"),
        ("demand..base_orders_per_day=5", "bad key path"),
        ("[0].x=5", "bad key path"),
        ("catalog.skus.x=5", "not a mapping"),
        ("demand[0]=5", "not a list"),
    ],
)
def test_malformed_set_is_an_input_error(tmp_path, text, fragment):
    path = write(tmp_path, "base.yaml", BASE)
    with pytest.raises(InputError) as exc:
        load_scenario(path, overrides=[text])
    assert any(fragment in p.message and p.file == "--set" for p in problems_of(exc)), problems_of(exc)


@pytest.mark.parametrize(
    "text, path, fragment",
    [
        ("inventory.polcy.type=sS", "inventory.polcy", "did you mean 'policy'"),  # a new intermediate key
        ("inventory.policy.reorder_piont=4", "inventory.policy.reorder_piont", "did you mean 'reorder_point'"),
        ("horizon_days.x=5", "horizon_days", "valid integer"),  # a scalar turned into a mapping
        ("inventory.policy={type: sQ, order_quantity: -1}", "inventory.policy.order_quantity", "greater than 0"),
    ],
)
def test_a_problem_introduced_by_set_is_blamed_on_set_not_the_file(tmp_path, text, path, fragment):
    file = write(tmp_path, "base.yaml", BASE)
    with pytest.raises(InputError) as exc:
        load_scenario(file, overrides=[text])
    (p,) = problems_of(exc)
    assert (p.file, p.line, p.path) == ("--set", None, path)
    assert fragment in p.message


def test_set_can_build_a_distribution_key_by_key(tmp_path):
    """A constant lead time can be turned into a gamma one with three --set options."""
    file = write(tmp_path, "base.yaml", BASE)
    s = load_scenario(
        file,
        overrides=[
            "suppliers[0].lead_time_days.dist=gamma",
            "suppliers[0].lead_time_days.mean=6",
            "suppliers[0].lead_time_days.cv=0.5",
        ],
    )
    assert (s.suppliers[0].lead_time_days.mean, s.suppliers[0].lead_time_days.variance) == (6, 9)


def test_parse_key_path():
    assert parse_key_path("warehouses[1].pickers") == ("warehouses", 1, "pickers")
    assert parse_key_path("a.b[0][2].c") == ("a", "b", 0, 2, "c")


# ---------------------------------------------------------------- plan overlays
def test_plan_overlay_applies_and_set_wins_over_the_plan(tmp_path):
    path = write(tmp_path, "base.yaml", BASE)
    plan = write(
        tmp_path,
        "plan.yaml",
        """\
        plan_info: {optimizer: reorder, objective: 123.4}   # metadata, ignored by the loader
        inventory:
          per_sku:
            - {sku: A, reorder_point: 11, order_quantity: 33}
            - {sku: B, warehouse: w2, reorder_point: 5, order_quantity: 9}
        """,
    )
    s = load_scenario(path, plans=[plan])
    assert [(r.sku, r.warehouse, r.reorder_point, r.order_quantity) for r in s.inventory.per_sku] == [
        ("A", None, 11, 33),
        ("B", "w2", 5, 9),
    ]
    assert s.inventory.policy.reorder_point == 20  # the rest of the inventory block is kept
    pol = resolve_policy(s, catalog_for(s), demand_plan(s))
    n = 2  # SKUs; flat index k = warehouse * n + sku
    np.testing.assert_array_equal(pol.reorder_point, [11, 20, 11, 5])
    np.testing.assert_array_equal(pol.order_quantity, [33, 40, 33, 9])
    assert pol.order_up_to[1 * n + 1] == 5 + 9  # sQ: S = s + Q per pair

    s2 = load_scenario(path, overrides=["inventory.per_sku[0].reorder_point=2"], plans=[plan])
    assert s2.inventory.per_sku[0].reorder_point == 2


def test_two_plans_merge_in_order(tmp_path):
    path = write(tmp_path, "base.yaml", BASE)
    p1 = write(tmp_path, "p1.yaml", "inventory: {policy: {reorder_point: 12}}\n")
    p2 = write(tmp_path, "p2.yaml", "inventory: {policy: {order_quantity: 60}}\nhorizon_days: 99\n")
    s = load_scenario(path, plans=[p1, p2])
    assert (s.inventory.policy.reorder_point, s.inventory.policy.order_quantity, s.horizon_days) == (12, 60, 99)


def test_a_plan_naming_an_unknown_sku_is_an_input_error(tmp_path):
    path = write(tmp_path, "base.yaml", BASE)
    plan = write(tmp_path, "plan.yaml", "inventory:\n  per_sku:\n    - {sku: Z, reorder_point: 1}\n")
    with pytest.raises(InputError) as exc:
        load_scenario(path, plans=[plan])
    (p,) = problems_of(exc)
    assert (p.file, p.line, p.path) == (str(plan), 3, "inventory.per_sku[0].sku")


# ---------------------------------------------------------------- catalogue generator and ABC
def generated(count=500, seed=11, **extra) -> Catalog:
    return Catalog(generate={"count": count, "seed": seed, **extra})


def test_catalogue_generator_is_deterministic_for_a_seed():
    a = build_catalog(generated(), ["s1", "s2"], [0.6, None])
    b = build_catalog(generated(), ["s1", "s2"], [0.6, None])
    assert a.ids == b.ids
    for field in ("price", "unit_cost", "weight_kg", "popularity", "abc", "supplier"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    c = build_catalog(generated(seed=12), ["s1", "s2"], [0.6, None])
    assert not np.array_equal(a.price, c.price)


def test_generated_catalogue_shape():
    cat = build_catalog(
        generated(count=1000, cost_ratio={"dist": "uniform", "low": 0.4, "high": 0.7}), ["s1", "s2"], [0.7, 0.3]
    )
    assert cat.n == 1000 and len(set(cat.ids)) == 1000 and cat.ids[0] == "SKU00001"
    assert cat.popularity.sum() == pytest.approx(1.0)
    assert np.all(np.diff(cat.popularity) <= 0)  # SKU00001 is the best seller
    assert np.all(cat.price > 0) and np.all(cat.weight_kg > 0)
    ratio = cat.unit_cost / cat.price
    assert ratio.min() >= 0.4 - 0.01 and ratio.max() <= 0.7 + 0.01
    # Pareto popularity: the top 20% of SKUs hold most of the demand, the bottom half little
    assert cat.popularity[:200].sum() > 0.6
    assert cat.popularity[500:].sum() < 0.2
    share = np.bincount(cat.supplier, minlength=2) / cat.n
    assert share[0] == pytest.approx(0.7, abs=0.05)


def test_a_smaller_pareto_alpha_concentrates_demand_on_fewer_skus():
    top = [
        build_catalog(generated(count=300, pareto_alpha=a), ["s"]).popularity[:60].sum() for a in (0.9, 1.16, 2.0, 5.0)
    ]
    assert top == sorted(top, reverse=True) and top[-1] > 0.2


def assert_abc_follows_thresholds(abc: np.ndarray, revenue: np.ndarray, thresholds) -> None:
    """Sorted by revenue, a SKU's class is set by the revenue share of the SKUs before it."""
    order = np.argsort(-revenue, kind="stable")
    before = np.concatenate([[0.0], np.cumsum(revenue[order])[:-1]]) / revenue.sum()
    expected = np.where(before < thresholds[0], "A", np.where(before < thresholds[1], "B", "C"))
    np.testing.assert_array_equal(abc[order], expected)
    # and in words: class A alone covers at least the A threshold of revenue, A+B at least the B one
    a_share = revenue[abc == "A"].sum() / revenue.sum()
    ab_share = revenue[abc != "C"].sum() / revenue.sum()
    assert a_share >= thresholds[0] and ab_share >= thresholds[1]
    # no A SKU sells less than a B SKU, and no B less than a C
    for hi, lo in (("A", "B"), ("B", "C")):
        if (abc == hi).any() and (abc == lo).any():
            assert revenue[abc == hi].min() >= revenue[abc == lo].max()


@pytest.mark.parametrize("thresholds", [(0.8, 0.95), (0.5, 0.9), (0.7, 0.7)])
def test_abc_classes_follow_the_revenue_share_thresholds(thresholds):
    cat = build_catalog(Catalog(generate={"count": 400, "seed": 5}, abc_thresholds=thresholds), ["s"])
    assert_abc_follows_thresholds(cat.abc, cat.popularity * cat.price, thresholds)
    assert set(cat.abc) == ({"A", "B", "C"} if thresholds[0] < thresholds[1] else {"A", "C"})


def test_abc_classes_of_baseline_follow_thresholds():
    s = load_scenario("scenarios/baseline.yaml")
    cat = catalog_for(s)
    assert_abc_follows_thresholds(cat.abc, cat.popularity * cat.price, s.catalog.abc_thresholds)


def test_abc_classes_small_example():
    assert abc_classes(np.array([5.0, 50.0, 15.0, 30.0])).tolist() == ["C", "A", "B", "A"]


def test_written_out_skus_keep_a_given_abc_class_and_derive_the_rest(tmp_path):
    path = write(tmp_path, "base.yaml", BASE)
    # equal popularity, revenue A 10 : B 20 -> B opens class A (share before 0), A follows at 2/3 < 0.8
    assert catalog_for(load_scenario(path)).abc.tolist() == ["A", "A"]
    assert catalog_for(load_scenario(path, overrides=["catalog.abc_thresholds=[0.5, 0.9]"])).abc.tolist() == ["B", "A"]
    s = load_scenario(path, overrides=["catalog.skus[1].abc=C"])  # a class written in the file wins
    assert catalog_for(s).abc.tolist() == ["A", "C"]


# ---------------------------------------------------------------- resolved scenario round trip
@pytest.mark.parametrize("name", SCENARIOS)
def test_resolved_scenario_reloads_to_an_equal_scenario(tmp_path, name):
    s = load_scenario(f"scenarios/{name}.yaml")
    resolved = write(tmp_path, "resolved.yaml", dump_scenario(s))
    again = load_scenario(resolved)
    assert again == s
    assert scenario_hash(again) == scenario_hash(s)
    assert "extends" not in resolved.read_text()


def test_round_trip_with_overrides_dates_and_schedules(tmp_path):
    s = load_scenario(
        "scenarios/double11.yaml",
        overrides=[
            "demand.promotions[1].date=2026-11-11",  # a full date (YAML date)
            "inventory.policy.type=RsS",
            "inventory.policy.order_quantity=null",
            "inventory.policy.review=null",
            "inventory.policy.order_up_to=null",
            "inventory.unmet_demand=lost_sales",
            "suppliers[0].disruptions=[{start_day: 30, days: 5}]",
        ],
    )
    resolved = write(tmp_path, "resolved.yaml", dump_scenario(s))
    again = load_scenario(resolved)
    assert again == s and scenario_hash(again) == scenario_hash(s)
    assert str(again.demand.promotions[1].date) == "2026-11-11"


def test_scenario_hash_changes_with_any_parameter():
    a = load_scenario("scenarios/classroom_sq.yaml")
    b = load_scenario("scenarios/classroom_sq.yaml", overrides=["inventory.policy.reorder_point=4"])
    c = load_scenario("scenarios/classroom_sq.yaml", overrides=["inventory.policy.reorder_point=3"])
    assert scenario_hash(a) != scenario_hash(b)
    assert scenario_hash(a) == scenario_hash(c)


def test_scenarios_are_frozen():
    s = load_scenario("scenarios/classroom_sq.yaml")
    with pytest.raises(ValidationError, match="Instance is frozen") as frozen:
        s.horizon_days = 5
    assert [(e["type"], e["loc"]) for e in frozen.value.errors()] == [("frozen_instance", ("horizon_days",))]
    with pytest.raises(ValidationError, match="Instance is frozen") as frozen:
        s.inventory.policy.reorder_point = 5
    assert [(e["type"], e["loc"]) for e in frozen.value.errors()] == [("frozen_instance", ("reorder_point",))]
    assert s.horizon_days != 5 and s.inventory.policy.reorder_point != 5
