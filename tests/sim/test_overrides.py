"""An override changes exactly the node it names, and nothing else.

Shipped scenarios share blocks through YAML anchors (``multi_warehouse.yaml`` gives all
three warehouses one ``picking`` block via ``&picking``, ``*picking`` and ``<<: *picking``).
A planner asking "what if the East DC gets 4 more pickers?" must get numbers for that
shop, not for one where every DC got them. These tests enumerate every list item of every
shipped scenario, override it, and compare everything else with the file as loaded.
"""

from __future__ import annotations

import textwrap

import pytest
from helpers import ROOT

from experiments.spec import load_spec
from sim.scenario.errors import InputError
from sim.scenario.loader import load_scenario, load_source, scenario_to_dict
from sim.scenario.yamlio import Select, format_path, item_name, parse_key_path, short_label

SHIPPED = sorted(p.name for p in (ROOT / "scenarios").glob("*.yaml"))


def list_items(data, path=()):
    """Every (list path, index, item) in plain YAML data."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from list_items(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield path, i, v
            yield from list_items(v, (*path, i))


def numeric_leaves(data, path=()):
    if isinstance(data, dict):
        for k, v in data.items():
            yield from numeric_leaves(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from numeric_leaves(v, (*path, i))
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        yield path, data


def leaves(data, path=()):
    """Every (key path, scalar) of plain data, so two trees can be compared place by place."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from leaves(v, (*path, k))
    elif isinstance(data, list):
        yield (*path, "len"), len(data)
        for i, v in enumerate(data):
            yield from leaves(v, (*path, i))
    else:
        yield path, data


def cases():
    for name in SHIPPED:
        raw = load_source(ROOT / "scenarios" / name).data
        for list_path, i, item in list_items(raw):
            hits = list(numeric_leaves(item))
            if hits:
                yield pytest.param(name, list_path, i, hits[0], id=f"{name}:{format_path((*list_path, i))}")


@pytest.mark.parametrize("name, list_path, index, leaf", list(cases()))
def test_an_override_of_one_list_item_leaves_every_other_item_as_loaded(name, list_path, index, leaf):
    file = ROOT / "scenarios" / name
    before = _LOADED.setdefault(name, dict(leaves(load_source(file).data)))
    sub, value = leaf
    target = (*list_path, index, *sub)
    new = value + 7  # any other number: the raw data is compared before validation
    src = load_source(file, overrides=[f"{format_path(target)}={new}"])
    changed = {p: v for p, v in leaves(src.data) if before.get(p, object()) != v}
    assert changed == {target: new}
    assert dict(leaves(load_source(file).data)) == before  # the file's own reading is untouched


_LOADED: dict = {}


def test_by_name_changes_the_east_dc_alone_and_star_changes_all_three():
    file = ROOT / "scenarios" / "double11.yaml"
    base = load_scenario(file)
    extra = [w.picking.promo_extra_pickers for w in base.warehouses]
    one = load_scenario(file, overrides=["warehouses[east_dc].picking.promo_extra_pickers=4"])
    assert [w.picking.promo_extra_pickers for w in one.warehouses] == [4, *extra[1:]]
    every = load_scenario(file, overrides=["warehouses[*].picking.promo_extra_pickers=6"])
    assert [w.picking.promo_extra_pickers for w in every.warehouses] == [6, 6, 6]
    # nothing else moved: the dumps differ only at the named keys
    a, b = dict(leaves(scenario_to_dict(base))), dict(leaves(scenario_to_dict(one)))
    assert {p for p in a if a[p] != b.get(p)} == {("warehouses", 0, "picking", "promo_extra_pickers")}


def test_one_warehouse_of_a_shared_picking_block_keeps_its_own_pick_time():
    """multi_warehouse.yaml: warehouses share `picking` through &picking / *picking / <<: *picking."""
    file = ROOT / "scenarios" / "multi_warehouse.yaml"
    base = load_scenario(file)
    s = load_scenario(file, overrides=["warehouses[2].picking.seconds_per_line.mean=90"])
    means = [w.picking.seconds_per_line.mean for w in s.warehouses]
    assert means == [*[w.picking.seconds_per_line.mean for w in base.warehouses][:2], 90]
    s = load_scenario(file, overrides=["warehouses[0].picking.promo_extra_pickers=4"])
    assert [w.picking.promo_extra_pickers for w in s.warehouses][1:] == [
        w.picking.promo_extra_pickers for w in base.warehouses
    ][1:]


@pytest.mark.parametrize(
    "key, names",
    [
        ("warehouses[easy_dc].picking.pickers", "east_dc, south_dc, southwest_dc"),
        ("demand.channels[tv].max_extra_orders", "search_ads, livestream"),
    ],
)
def test_an_unknown_name_is_an_error_that_lists_the_names_there_are(key, names):
    with pytest.raises(InputError) as exc:
        load_scenario(ROOT / "scenarios" / "double11.yaml", overrides=[f"{key}=3"])
    (p,) = exc.value.problems
    assert p.file == "--set" and "no item named" in p.message and names in p.message


def test_names_address_every_named_list():
    assert parse_key_path("carriers[express].base_cost") == ("carriers", Select("express"), "base_cost")
    assert parse_key_path("warehouses[*].picking.pickers")[1] == Select("*")
    assert parse_key_path("a[3]")[1] == 3
    assert item_name({"id": "SKU1"}) == "SKU1" and item_name({"sku": "A", "warehouse": "w"}) == "A"
    for bad in ("a[]", "a[x", "[x].b", "a.[x]"):
        with pytest.raises(ValueError):
            parse_key_path(bad)


def test_a_plan_overlay_is_applied_to_copies(tmp_path):
    """A plan overlay merged onto a file with anchors edits the copy it names."""
    plan = tmp_path / "plan.yaml"
    plan.write_text("warehouses:\n  - {name: a}\n")  # lists are replaced whole: the plan's own list
    file = ROOT / "scenarios" / "multi_warehouse.yaml"
    before = load_source(file).data
    load_source(file, plans=[plan])
    assert load_source(file).data == before


def test_a_plan_overlay_may_name_list_items_by_key_path(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        'plan_info: {optimizer: by hand}\n"warehouses[south_dc].picking.promo_extra_pickers": 5\n'
        '"carriers[*].lanes[0].transit_days.mean": 1.9\n'
    )
    file = ROOT / "scenarios" / "double11.yaml"
    base, s = load_scenario(file), load_scenario(file, plans=[plan])
    assert [w.picking.promo_extra_pickers for w in s.warehouses] == [
        w.picking.promo_extra_pickers if w.name != "south_dc" else 5 for w in base.warehouses
    ]
    a, b = dict(leaves(scenario_to_dict(base))), dict(leaves(scenario_to_dict(s)))
    changed = {p for p in a if a[p] != b.get(p)}
    assert ("warehouses", 1, "picking", "promo_extra_pickers") in changed
    assert all(p[0] in ("warehouses", "carriers") for p in changed)
    bad = tmp_path / "bad.yaml"
    bad.write_text('"warehouses[west_dc].picking.pickers": 5\n')
    with pytest.raises(InputError) as exc:
        load_scenario(file, plans=[bad])
    (p,) = exc.value.problems
    assert (p.file, p.line) == (str(bad), 1) and "east_dc, south_dc, southwest_dc" in p.message


def test_variants_and_grid_address_by_name_with_short_labels(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        textwrap.dedent(f"""\
        name: by_name
        base: {ROOT / "scenarios" / "double11.yaml"}
        variants:
          - {{name: today}}
          - {{name: east_plus_4, set: {{"warehouses[east_dc].picking.promo_extra_pickers": 4}}}}
        grid:
          "warehouses[*].picking.packing_stations": [2, 3]
        replications: 2
        metrics: [on_time_rate]
        """)
    )
    _spec, points = load_spec(spec)
    names = [p.name for p in points]
    assert names == [
        "today[packing_stations=2]",
        "today[packing_stations=3]",
        "east_plus_4[packing_stations=2]",
        "east_plus_4[packing_stations=3]",
    ]
    by = {p.name: p.scenario for p in points}
    assert [w.picking.packing_stations for w in by["today[packing_stations=3]"].warehouses] == [3, 3, 3]
    east = by["east_plus_4[packing_stations=2]"].warehouses
    today = by["today[packing_stations=2]"].warehouses
    assert [w.picking.promo_extra_pickers for w in east] == [4] + [w.picking.promo_extra_pickers for w in today[1:]]
    assert short_label("warehouses[east_dc].picking.pickers") == "east_dc.pickers"
