"""The what-if layer (experiments.whatif): levers that set exactly their value, runs that equal
``replicate`` with the same overrides, window and seed, a cache shared with the baseline,
cancel, the paired CI under common random numbers, the saved-set spec and uploads."""

from __future__ import annotations

import io
import multiprocessing
import threading
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from exp_helpers import CLASSROOM_SQ
from helpers import SCENARIOS

from experiments.api import WorkRefused, replicate, run_experiment
from experiments.stats import paired_differences
from experiments.whatif import (
    MAX_UPLOAD_BYTES,
    WhatIf,
    WhatIfCancelled,
    levers,
    overlay_yaml,
    run_whatif,
    save_upload,
    saved_set_spec,
    shipped_scenarios,
    tables_csv,
    tables_excel,
    windows,
)
from sim import InputError
from sim.kpis import kpi
from sim.scenario.loader import load_scenario, scenario_to_dict, window_override

DOUBLE11 = SCENARIOS / "double11.yaml"
METRICS = ["unit_fill_rate", "total_cost", "orders", "avg_inventory_value"]
WINDOW = ("2026-03-01", "2026-12-31")


def _small(folder: Path) -> Path:
    """classroom_sq cut to 400 days (~0.02 s a replication), as a file of its own."""
    path = folder / "small_sq.yaml"
    path.write_text(f"extends: {CLASSROOM_SQ}\nname: small_sq\nhorizon_days: 400\n", encoding="utf-8")
    return path


def _leaves(data, prefix=()) -> dict:
    if isinstance(data, dict):
        return {k: v for key, value in data.items() for k, v in _leaves(value, (*prefix, key)).items()}
    if isinstance(data, list):
        return {k: v for i, value in enumerate(data) for k, v in _leaves(value, (*prefix, i)).items()}
    return {prefix: data}


def _other_value(lever):
    if lever.kind == "choice":
        return next(c for c in lever.choices if c != lever.value)
    step = lever.step or 1
    new = lever.value + step if lever.maximum is None or lever.value + step <= lever.maximum else lever.value - step
    return int(new) if lever.kind == "int" else round(float(new), 6)


def test_shipped_scenarios_are_the_yaml_files_sorted():
    found = shipped_scenarios(SCENARIOS)
    assert found == sorted(SCENARIOS.glob("*.yaml")) and DOUBLE11 in found


def test_double11_levers_include_east_dc_extra_pickers_with_value_and_schema_range():
    by_key = {lv.key: lv for lv in levers(DOUBLE11)}
    east = by_key["warehouses[east_dc].picking.promo_extra_pickers"]
    assert (east.kind, east.value, east.minimum, east.maximum, east.group) == ("int", 2, 0, 100_000, "Warehouses")
    assert "East DC" in east.label and "event days" in east.label and east.help
    assert by_key["inventory.policy.service_level"].minimum == pytest.approx(0.01)  # gt=0 moved in by one step
    assert by_key["inventory.policy.service_level"].maximum == pytest.approx(0.99)  # lt=1
    assert by_key["demand.channels[livestream].event_spend_per_day"].group == "Marketing"
    assert by_key["routing.carrier"].choices == ("cheapest", "fastest", "rule")
    assert {lv.group for lv in by_key.values()} == {"Demand", "Warehouses", "Inventory", "Marketing", "Delivery"}


def test_each_lever_alone_changes_exactly_its_value_and_nothing_else():
    before = _leaves(scenario_to_dict(load_scenario(DOUBLE11)))
    for lever in levers(DOUBLE11):
        new = _other_value(lever)
        after = _leaves(scenario_to_dict(load_scenario(DOUBLE11, [lever.override(new)])))
        changed = {k: after.get(k) for k in set(before) | set(after) if before.get(k) != after.get(k)}
        assert len(changed) == 1, (lever.key, changed)
        assert next(iter(changed.values())) == new, (lever.key, changed)
        assert before[next(iter(changed))] == lever.value, lever.key


def test_an_out_of_range_lever_or_a_bad_free_override_gives_the_loaders_one_line():
    for bad, word in (
        ("warehouses[east_dc].picking.promo_extra_pickers=-1", "greater than or equal to 0"),
        ("warehouses[nowhere_dc].picking.pickers=3", "nowhere_dc"),
    ):
        with pytest.raises(InputError) as got:
            WhatIf(str(DOUBLE11), (bad,)).validate()
        with pytest.raises(InputError) as loader:
            load_scenario(DOUBLE11, [bad])
        assert str(got.value) == str(loader.value) and len(str(got.value).splitlines()) == 1
        assert word in str(got.value) and str(got.value).startswith("--set: ")


def test_windows_are_the_horizon_after_warm_up_then_each_event():
    got = windows(DOUBLE11)
    assert got[0] == ("whole horizon", "2026-01-29", "2026-12-31")  # 28 warm-up days
    assert ("double11 2026-11-11", "2026-11-11", "2026-11-12") in got[1:]
    assert len(got) == 3  # 618 and double11


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """One what-if of the small scenario (serial), with the progress calls it made."""
    folder = tmp_path_factory.mktemp("whatif")
    path = _small(folder)
    whatif = WhatIf(str(path), ("inventory.policy.reorder_point=5",), 3, WINDOW, 9, "r5")
    calls: list = []
    res = run_whatif(whatif, folder / "results", executor="serial", on_progress=lambda d, t: calls.append((d, t)))
    return whatif, res, calls, folder


def test_run_whatif_equals_replicate_with_the_same_overrides_window_and_seed(small_run):
    whatif, res, calls, _ = small_run
    window = [window_override(*WINDOW)]
    mine = replicate(load_scenario(whatif.scenario, [*whatif.overrides, *window]), n=3, seed=9)
    base = replicate(load_scenario(whatif.scenario, window), n=3, seed=9)
    cards = res.cards.set_index("metric")
    for metric in METRICS:
        assert cards.at[metric, "mean"] == pytest.approx(float(np.mean(mine[metric])), rel=1e-12, abs=1e-12)
        assert cards.at[metric, "baseline_mean"] == pytest.approx(float(np.mean(base[metric])), rel=1e-12, abs=1e-12)
        got = res.runs[res.runs["variant"] == "r5"][metric].to_numpy()
        assert got.tolist() == mine[metric].tolist()
    assert calls[0] == (0, 6) and calls[-1] == (6, 6) and [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert res.from_cache == 0 and res.report_path.is_file() and res.report_path.parent == res.folder
    half = res.summary.set_index(["variant", "metric"]).at[("r5", "total_cost"), "half_width"]
    assert cards.at["total_cost", "text"] == kpi("total_cost").format_ci(
        cards.at["total_cost", "mean"], half
    )  # as the CLI


def test_repeating_a_what_if_is_all_from_cache_and_the_baseline_is_shared(small_run):
    whatif, res, _, folder = small_run
    again = run_whatif(whatif, folder / "results", executor="serial")
    assert again.from_cache == 6
    pd.testing.assert_frame_equal(again.cards, res.cards)
    other = WhatIf(whatif.scenario, ("inventory.policy.reorder_point=6",), 3, WINDOW, 9, "r6")
    third = run_whatif(other, folder / "results", executor="serial")
    assert third.from_cache == 3  # the baseline's three replications


def test_the_paired_ci_is_that_of_the_two_variants_with_common_random_numbers(small_run):
    whatif, res, _, _ = small_run
    window = [window_override(*WINDOW)]
    mine = replicate(load_scenario(whatif.scenario, [*whatif.overrides, *window]), n=3, seed=9)
    base = replicate(load_scenario(whatif.scenario, window), n=3, seed=9)
    assert mine["seed"].tolist() == base["seed"].tolist()  # the same streams in both variants
    runs = pd.concat([base.assign(variant="baseline"), mine.assign(variant="r5")], ignore_index=True)
    expected = paired_differences(runs, METRICS, "baseline").set_index("metric")
    cards = res.cards.set_index("metric")
    for metric in METRICS:
        assert cards.at[metric, "diff"] == pytest.approx(expected.at[metric, "mean_diff"], rel=1e-9, abs=1e-9)
        assert cards.at[metric, "diff_low"] == pytest.approx(expected.at[metric, "ci_low"], rel=1e-9, abs=1e-9)
        assert cards.at[metric, "diff_high"] == pytest.approx(expected.at[metric, "ci_high"], rel=1e-9, abs=1e-9)


def test_daily_means_carry_dates_and_ci_per_variant(small_run):
    _, res, _, _ = small_run
    d = res.daily
    assert set(d["variant"]) == {"baseline", "r5"} and len(d) == 2 * 400
    assert {"date", "orders", "orders_low", "orders_high", "backorder_units_end"} <= set(d.columns)
    first = d[d["variant"] == "r5"].iloc[0]
    assert str(first["date"]) == "2026-01-01"
    assert first["orders_low"] <= first["orders"] <= first["orders_high"]


def test_exports_hold_the_tables(small_run):
    _, res, _, _ = small_run
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(tables_excel(res)))
    assert {"cards", "summary", "paired", "runs", "daily"} <= set(book.sheetnames)
    with zipfile.ZipFile(io.BytesIO(tables_csv(res))) as zf:
        assert set(zf.namelist()) == {"cards.csv", "summary.csv", "paired.csv", "runs.csv", "daily.csv"}
        cards = pd.read_csv(zf.open("cards.csv"))
    assert cards["mean"].tolist() == pytest.approx(res.cards["mean"].tolist())


def test_the_overlay_yaml_reloads_to_the_what_ifs_scenario(small_run, tmp_path):
    whatif = WhatIf(str(DOUBLE11), ("warehouses[east_dc].picking.promo_extra_pickers=6", "demand.scale=1.2"))
    plan = tmp_path / "plan.yaml"
    plan.write_text(overlay_yaml(whatif), encoding="utf-8")
    assert scenario_to_dict(load_scenario(DOUBLE11, plans=[plan])) == scenario_to_dict(whatif.validate())


def test_the_saved_set_spec_reruns_to_the_same_means(small_run, tmp_path):
    whatif, res, _, folder = small_run
    other = WhatIf(whatif.scenario, ("inventory.policy.reorder_point=6",), 3, WINDOW, 9, "r6")
    res6 = run_whatif(other, folder / "results", executor="serial")
    spec = tmp_path / "elsewhere" / "set.yaml"
    spec.parent.mkdir()
    spec.write_text(saved_set_spec([whatif, other], "my set"), encoding="utf-8")
    rerun = run_experiment(spec, executor="serial", results=tmp_path / "results")
    summary = rerun.summary.set_index(["variant", "metric"])
    for result in (res, res6):
        for _, card in result.cards.iterrows():
            assert summary.at[(result.whatif.name, card["metric"]), "mean"] == card["mean"]
            assert summary.at[("baseline", card["metric"]), "mean"] == card["baseline_mean"]


def test_a_saved_set_refuses_mixed_or_too_many_what_ifs():
    a = WhatIf(str(DOUBLE11), name="a")
    for bad, word in (
        ([a, WhatIf(str(DOUBLE11), seed=5, name="b")], "seed"),
        ([a, WhatIf(str(DOUBLE11), replications=8, name="b")], "replications"),
        ([a, WhatIf(str(DOUBLE11), window=("2026-11-01", "2026-11-30"), name="b")], "window"),
        ([a, WhatIf(str(SCENARIOS / "baseline.yaml"), name="b")], "scenario"),
        ([WhatIf(str(DOUBLE11), name=f"w{i}") for i in range(5)], "at most 4"),
    ):
        with pytest.raises(ValueError, match=word) as got:
            saved_set_spec(bad, "x")
        assert len(str(got.value).splitlines()) == 1


@pytest.mark.parametrize("executor", ["serial", "process"])
def test_cancel_stops_a_run_and_keeps_what_finished(tmp_path, executor):
    path = _small(tmp_path)
    whatif = WhatIf(str(path), ("inventory.policy.reorder_point=7",), 8, None, 3, "r7")
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 1:
            cancel.set()

    with pytest.raises(WhatIfCancelled):
        run_whatif(whatif, tmp_path / "results", executor=executor, workers=2, on_progress=progress, cancel=cancel)
    assert multiprocessing.active_children() == []  # the workers were ended, not left running
    cached = len(list((tmp_path / "results" / "whatif" / "runs" / "cache").glob("*.json")))
    assert 1 <= cached < 16
    if executor == "serial":
        assert cached == 1
    again = run_whatif(whatif, tmp_path / "results", executor="serial")
    assert again.from_cache == cached


def test_work_the_estimate_refuses_is_refused_before_anything_runs(tmp_path):
    huge = WhatIf(str(DOUBLE11), ("demand.scale=200",), 50, name="huge")
    with pytest.raises(WorkRefused, match=r"what-if 'huge' of .*double11\.yaml"):
        run_whatif(huge, tmp_path, executor="serial")
    assert not (tmp_path / "whatif" / "runs").exists()


def test_an_upload_too_big_is_one_line_and_nothing_is_stored(tmp_path):
    with pytest.raises(InputError) as got:
        save_upload("big.yaml", b"x" * (MAX_UPLOAD_BYTES + 1), tmp_path)
    assert len(str(got.value).splitlines()) == 1 and "at most" in str(got.value)
    assert not list((tmp_path / "whatif" / "uploads").glob("*")) if (tmp_path / "whatif").exists() else True


def test_an_invalid_upload_gives_the_loaders_line_with_its_name_and_is_not_kept(tmp_path):
    with pytest.raises(InputError) as got:
        save_upload("../../shop.yaml", b"name: shop\ndemand: [1, 2\n", tmp_path)
    assert "shop.yaml" in str(got.value) and len(str(got.value).splitlines()) == 1
    with pytest.raises(InputError) as ext:
        save_upload("child.yaml", f"extends: {DOUBLE11}\nname: child\n".encode(), tmp_path)
    assert "extends" in str(ext.value)
    assert list((tmp_path / "whatif" / "uploads").iterdir()) == []


def test_a_valid_upload_is_stored_under_results_whatif_uploads(tmp_path):
    text = yaml.safe_dump(scenario_to_dict(load_scenario(CLASSROOM_SQ)))
    path = save_upload("C:\\Users\\me\\my shop.yaml", text.encode(), tmp_path)
    assert path.parent == tmp_path / "whatif" / "uploads" and path.name.endswith("-my_shop.yaml")
    assert load_scenario(path).name == "classroom_sq"
    assert [lv.key for lv in levers(path)] == [lv.key for lv in levers(CLASSROOM_SQ)]
