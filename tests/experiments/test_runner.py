"""The batch runner: tasks, common random numbers, the replication cache, failures, grid points."""

from __future__ import annotations

import io
import json

import pandas as pd
from exp_helpers import BASELINE, only_injected_failure, patch_simulate, write_spec

import experiments.runner as runner
from experiments.runner import Cache, run_tasks, tasks_for
from experiments.spec import baseline_name, load_spec
from experiments.stats import paired_differences
from sim.model.streams import replication_seed


def _run(spec_path, cache_dir, **kw):
    spec, points = load_spec(spec_path)
    tasks = tasks_for(points, spec.replications, spec.seed)
    kw.setdefault("daily_columns", tuple(spec.daily_metrics))
    runs, daily = run_tasks(tasks, cache_dir, executor="serial", quiet=True, **kw)
    return spec, points, tasks, runs, daily


# --------------------------------------------------------------------------- tasks
def test_tasks_cross_points_and_replications_with_common_seeds(tmp_path):
    spec, points = load_spec(write_spec(tmp_path, replications=4))
    tasks = tasks_for(points, 4, spec.seed)
    assert len(tasks) == len(points) * 4 == 8
    by_point = {}
    for t in tasks:
        by_point.setdefault(t.point.name, []).append((t.replication, t.seed))
    # replication r has the same seed in every variant, different seeds across replications
    assert by_point["r3"] == by_point["r4"]
    seeds = [s for _, s in by_point["r3"]]
    assert seeds == [replication_seed(spec.seed, r) for r in range(4)]
    assert len(set(seeds)) == 4
    # different scenarios -> different cache keys even for the same seed
    assert len({t.key for t in tasks}) == 8


# --------------------------------------------------------------------------- common random numbers
def test_crn_paired_ci_much_narrower_than_unpaired_classroom_sq(tmp_path):
    """(r,Q) with r = 3 vs r = 4: same demand in replication r, so the paired CI is tight."""
    spec_path = write_spec(tmp_path, replications=10, daily_metrics=["orders"])
    spec, points, _tasks, runs, _daily = _run(spec_path, tmp_path / "cache")
    assert (runs["status"] == "ok").all()
    paired = paired_differences(runs, spec.metrics, baseline_name(spec, points)).set_index("metric")
    for metric in ("unit_fill_rate", "avg_on_hand_units", "total_cost"):
        row = paired.loc[metric]
        assert row["n"] == 10
        assert row["half_width"] < 0.5 * row["unpaired_half_width"], (metric, row.to_dict())
    # raising the reorder point by one must raise the fill rate and the stock, significantly
    assert paired.loc["unit_fill_rate", "ci_low"] > 0
    assert paired.loc["avg_on_hand_units", "ci_low"] > 0


def test_crn_policy_variant_sees_identical_daily_demand(tmp_path):
    spec_path = write_spec(tmp_path, replications=3, daily_metrics=["orders", "units_demanded", "on_hand_units"])
    *_, daily = _run(spec_path, tmp_path / "cache")
    r3 = daily[daily["variant"] == "r3"].reset_index(drop=True)
    r4 = daily[daily["variant"] == "r4"].reset_index(drop=True)
    assert len(r3) == len(r4) == 3 * 400
    pd.testing.assert_series_equal(r3["orders"], r4["orders"])
    pd.testing.assert_series_equal(r3["units_demanded"], r4["units_demanded"])
    # ...while the policy does change the stock, and replications differ from each other
    assert not r3["on_hand_units"].equals(r4["on_hand_units"])
    rep0 = r3[r3["replication"] == 0]["orders"].to_numpy()
    rep1 = r3[r3["replication"] == 1]["orders"].to_numpy()
    assert (rep0 != rep1).any()


def test_crn_service_level_variants_of_baseline_shop(tmp_path):
    """300 SKUs, two suppliers, disruptions: service level changes stock, not demand."""
    spec_path = write_spec(
        tmp_path,
        base=str(BASELINE),
        set={"horizon_days": 60},
        replications=5,
        seed=3,
        variants=[
            {"name": "s90", "set": {"inventory.policy.service_level": 0.90}},
            {"name": "s98", "set": {"inventory.policy.service_level": 0.98}},
        ],
        metrics=["avg_inventory_value", "holding_cost", "total_cost"],
        daily_metrics=["orders"],
    )
    spec, _points, _tasks, runs, daily = _run(spec_path, tmp_path / "cache")
    paired = paired_differences(runs, spec.metrics, "s90").set_index("metric")
    for metric in spec.metrics:
        row = paired.loc[metric]
        assert row["half_width"] < 0.5 * row["unpaired_half_width"], (metric, row.to_dict())
        assert row["excludes_zero"] and row["mean_diff"] > 0, (metric, row.to_dict())
    a = daily[daily["variant"] == "s90"]["orders"].to_numpy()
    b = daily[daily["variant"] == "s98"]["orders"].to_numpy()
    assert (a == b).all()


# --------------------------------------------------------------------------- cache
def test_cache_reuse_does_not_simulate_again(tmp_path, monkeypatch):
    spec_path = write_spec(tmp_path, replications=3, daily_metrics=["orders"])
    *_, runs1, daily1 = _run(spec_path, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.json"))) == 6
    calls = patch_simulate(monkeypatch, fail=lambda s, seed: True)
    *_, runs2, daily2 = _run(spec_path, tmp_path / "cache")
    assert calls == []
    pd.testing.assert_frame_equal(runs1, runs2, check_exact=True)
    pd.testing.assert_frame_equal(daily1, daily2, check_exact=True)


def test_cache_without_a_needed_daily_column_is_recomputed(tmp_path, monkeypatch):
    spec_path = write_spec(tmp_path, replications=2)
    _run(spec_path, tmp_path / "cache", daily_columns=())
    calls = patch_simulate(monkeypatch)
    *_, daily = _run(spec_path, tmp_path / "cache", daily_columns=("orders",))
    assert len(calls) == 4
    assert "orders" in daily.columns


def test_results_of_other_simulator_code_are_not_reused(tmp_path, monkeypatch):
    """A cache entry made by another version of sim/ (another fingerprint) is recomputed."""
    import experiments.runner as runner

    spec_path = write_spec(tmp_path, replications=2)
    _run(spec_path, tmp_path / "cache")
    monkeypatch.setattr(runner, "SIM_FINGERPRINT", "0123456789ab")  # as if sim/ had changed
    calls = patch_simulate(monkeypatch)
    _run(spec_path, tmp_path / "cache")
    assert len(calls) == 4
    assert len(list((tmp_path / "cache").glob("*-0123456789ab-*.json"))) == 4


def test_simulator_fingerprint_is_stable_and_short():
    from sim.model.streams import simulator_fingerprint

    assert simulator_fingerprint() == simulator_fingerprint() and len(simulator_fingerprint()) == 12


def test_fresh_empties_the_cache_first(tmp_path, monkeypatch):
    spec_path = write_spec(tmp_path, replications=2)
    *_, runs1, _ = _run(spec_path, tmp_path / "cache")
    calls = patch_simulate(monkeypatch)
    *_, runs2, _ = _run(spec_path, tmp_path / "cache", fresh=True)
    assert len(calls) == 4
    pd.testing.assert_frame_equal(runs1, runs2, check_exact=True)


def test_damaged_cache_entries_are_recomputed_not_fatal(tmp_path, monkeypatch):
    """What a non-atomic writer killed mid-write would leave: a truncated file, an empty file, a temp file."""
    spec_path = write_spec(tmp_path, replications=3)
    *_, runs1, _ = _run(spec_path, tmp_path / "cache")
    files = sorted((tmp_path / "cache").glob("*.json"))
    files[0].write_text(files[0].read_text()[:40])
    files[1].write_text("")
    (tmp_path / "cache" / f".{files[2].name}.12345.tmp").write_text('{"status": "o')
    calls = patch_simulate(monkeypatch)
    *_, runs2, _ = _run(spec_path, tmp_path / "cache")
    assert len(calls) == 2
    pd.testing.assert_frame_equal(runs1, runs2, check_exact=True)
    for f in files:
        assert json.loads(f.read_text())["status"] == "ok"


def test_cache_put_is_atomic_and_leaves_no_temp_files(tmp_path):
    spec, points = load_spec(write_spec(tmp_path, replications=1))
    task = tasks_for(points, 1, spec.seed)[0]
    cache = Cache(tmp_path / "cache")
    out = runner.run_task(task.point.scenario, task.seed, ("orders",))
    cache.put(task, out)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [cache.path(task).name]
    got = cache.get(task, ("orders",))
    assert got["seed"] == task.seed and got["daily"] == out["daily"]
    pd.testing.assert_series_equal(pd.Series(got["kpis"]), pd.Series(out["kpis"]))  # NaN KPIs survive too


# --------------------------------------------------------------------------- failures
def test_a_failing_replication_is_recorded_and_the_others_finish(tmp_path, monkeypatch):
    spec_path = write_spec(tmp_path, replications=4)
    spec, _points = load_spec(spec_path)
    bad_seed = replication_seed(spec.seed, 2)
    patch_simulate(monkeypatch, fail=lambda s, seed: seed == bad_seed and s.inventory.policy.reorder_point == 4)
    *_, runs, _ = _run(spec_path, tmp_path / "cache")
    assert len(runs) == 8
    ok = only_injected_failure(runs, "r4", 2, bad_seed)
    assert len(ok) == 7 and (ok["error"] == "").all() and ok["unit_fill_rate"].notna().all()
    # the failure is not cached: 7 files, and a rerun retries exactly that replication
    assert len(list((tmp_path / "cache").glob("*.json"))) == 7
    calls = patch_simulate(monkeypatch)
    *_, runs2, _ = _run(spec_path, tmp_path / "cache")
    assert calls == [bad_seed]
    assert (runs2["status"] == "ok").all()


# --------------------------------------------------------------------------- grid
def test_grid_expands_to_the_cartesian_product_with_readable_names(tmp_path):
    spec_path = write_spec(
        tmp_path,
        variants=[],
        grid={"inventory.policy.reorder_point": [2, 3, 4], "inventory.policy.order_quantity": [4, 6]},
    )
    spec, points = load_spec(spec_path)
    assert [p.name for p in points] == [f"reorder_point={r},order_quantity={q}" for r in (2, 3, 4) for q in (4, 6)]
    for p in points:
        pol = p.scenario.inventory.policy
        assert p.params == {
            "inventory.policy.reorder_point": pol.reorder_point,
            "inventory.policy.order_quantity": pol.order_quantity,
        }
    assert len({p.hash for p in points}) == 6
    assert baseline_name(spec, points) == points[0].name


def test_grid_crossed_with_variants(tmp_path):
    spec_path = write_spec(tmp_path, grid={"inventory.policy.order_quantity": [4, 6.5]}, baseline="r4")
    spec, points = load_spec(spec_path)
    assert [p.name for p in points] == [
        "r3[order_quantity=4]",
        "r3[order_quantity=6.5]",
        "r4[order_quantity=4]",
        "r4[order_quantity=6.5]",
    ]
    assert points[3].scenario.inventory.policy.reorder_point == 4
    assert points[3].scenario.inventory.policy.order_quantity == 6.5
    assert baseline_name(spec, points) == "r4[order_quantity=4]"


def test_linked_grid_keys_set_several_paths_to_one_value(tmp_path):
    linked = "inventory.policy.reorder_point, inventory.policy.order_quantity"
    _spec, points = load_spec(write_spec(tmp_path, variants=[], grid={linked: [4, 6]}))
    assert [p.name for p in points] == ["reorder_point=4", "reorder_point=6"]
    for p, value in zip(points, (4, 6)):
        assert p.scenario.inventory.policy.reorder_point == value
        assert p.scenario.inventory.policy.order_quantity == value
        assert p.params == {linked: value}


# --------------------------------------------------------------------------- progress
class _Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_progress_plain_lines_when_not_a_terminal():
    stream = _Stream(tty=False)
    with runner.Progress(total=3, done=1, stream=stream) as progress:
        progress.step("a #1")
        progress.step("a #2")
    text = stream.getvalue()
    lines = text.splitlines()
    assert "\r" not in text
    assert lines[0].startswith("1/3 replications done") and "ETA" in lines[0]
    assert lines[-1].startswith("3/3 replications done, last a #2; elapsed") and "ETA" in lines[-1]


def test_progress_bar_with_eta_on_a_terminal():
    stream = _Stream(tty=True)
    with runner.Progress(total=2, done=0, stream=stream) as progress:
        progress.step("a #0")
        progress.step("a #1")
    text = stream.getvalue()
    assert text.startswith("\r") and "2/2 replications" in text and text.endswith("\n")
    assert "<" in text  # tqdm's [elapsed<remaining]: the ETA


def test_progress_quiet_prints_nothing():
    stream = _Stream(tty=True)
    with runner.Progress(total=2, done=0, quiet=True, stream=stream) as progress:
        progress.step("a #0")
    assert stream.getvalue() == ""


def test_run_tasks_without_cache_keeps_every_daily_column_and_interrupt_keeps_finished(tmp_path, monkeypatch):
    spec, points = load_spec(write_spec(tmp_path, replications=3))
    tasks = tasks_for(points[:1], 3, spec.seed)
    outputs, cached = runner.run_outputs(tasks, None, "serial", daily_columns=None, quiet=True)
    assert cached == 0 and [o["status"] for o in outputs] == ["ok"] * 3
    assert "date" in outputs[0]["daily"].columns and not (tmp_path / "cache").exists()

    real, calls = runner.run_task, []

    def interrupt_on_second(*a):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a)

    monkeypatch.setattr(runner, "run_task", interrupt_on_second)
    try:
        runner.run_outputs(tasks, None, "serial", daily_columns=None, quiet=True)
    except runner.Interrupted as exc:
        assert sorted(exc.outputs) == [0]
    else:
        raise AssertionError("Interrupted was not raised")
