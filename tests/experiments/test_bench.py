"""``run.py bench`` without its minutes of measuring: interleaving, ratios, targets, the table, --compare.

The bench itself is never run here (it takes minutes and asserts nothing; timings are never
asserted): the interleaving and the ratio arithmetic run on a fake clock, the command on a fake
``run_bench``, and ``--compare`` on two tiny bench.json files.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import run
from experiments import bench as B
from experiments.cli import bench as bench_command
from experiments.cli.bench import format_compare, format_table
from optimize.logistics import solve
from sim.scenario.loader import load_scenario


class FakeClock:
    """A clock that only moves when a fake workload says so (CPU and wall move together)."""

    def __init__(self):
        self.now = 0.0

    def advance(self, seconds):
        self.now += seconds

    def clock(self):
        return B.Clock(cpu=lambda: self.now, wall=lambda: 2 * self.now)


def test_interleave_runs_the_baseline_around_every_repetition_and_takes_ratios_on_a_fake_clock():
    """A B A B A: each ratio is the case's CPU per order over the mean per-customer CPU of its two neighbours."""
    fake, calls = FakeClock(), []
    baseline_seconds = iter([0.10, 0.20, 0.30])  # 10, 20, 30 us per customer (10,000 customers)
    case_seconds = iter([0.30, 0.50])  # 300 and 500 us per order (1,000 orders)

    def baseline():
        calls.append("A")
        return B.timed(lambda: (fake.advance(next(baseline_seconds)), (10_000, {}))[1], fake.clock())

    def case():
        calls.append("B")
        return B.timed(lambda: (fake.advance(next(case_seconds)), (1_000, {"peak_mib": 7.0}))[1], fake.clock())

    records = B.interleave(case, baseline, reps=2)
    assert calls == ["A", "B", "A", "B", "A"]
    assert [r["baseline_us"] for r in records] == [pytest.approx([10, 20]), pytest.approx([20, 30])]
    assert [r["ratio"] for r in records] == [pytest.approx(300 / 15), pytest.approx(500 / 25)]
    assert [r["cpu"] for r in records] == pytest.approx([0.3, 0.5])
    assert [r["wall"] for r in records] == pytest.approx([0.6, 1.0])  # the wall clock runs twice as fast here
    assert records[0]["work"] == 1_000 and records[0]["peak_mib"] == 7.0  # extras kept raw


def test_summarize_gives_medians_spreads_and_target_verdicts():
    """Median and min-max of the figure, the ratio and the baseline; targets met, not met, or not measured."""
    records = [
        {"cpu": c, "wall": 2 * c, "work": 1000, "baseline_us": [10.0, 10.0], "ratio": c * 1e3 / 10}
        for c in (0.02, 0.01, 0.03)
    ]
    spec = B.Spec(
        "x/y", "simulator", "per order", "us/order", run=lambda: B.Sample(0, 0), reps=3, value=B.per_order_us,
        targets=(B.Target("ratio", "<=", 1.5, "<= 1.5x"), B.Target("ratio", "<=", 3, "<= 3x"),
                 B.Target("gap", "<=", 0.001, "gap <= 0.1%")),
    )  # fmt: skip
    case = B.summarize(spec, records, (0.5, 0.7))
    assert (case.value, case.low, case.high) == pytest.approx((20.0, 10.0, 30.0))  # us per order
    assert (case.ratio, case.ratio_low, case.ratio_high) == pytest.approx((2.0, 1.0, 3.0))
    assert case.cpu_s == pytest.approx((0.02, 0.01, 0.03)) and case.wall_s == pytest.approx((0.04, 0.02, 0.06))
    assert case.baseline_us == (10.0, 10.0, 10.0) and case.load == (0.5, 0.7)
    assert [t["met"] for t in case.targets] == [False, True, None]  # no gap reported: not measured
    assert case.reps == records


def test_a_failing_case_is_recorded_with_its_error_and_the_run_goes_on():
    """A case that raises becomes a row saying 'failed: ...' with no figure; the log says so."""

    def broken():
        raise RuntimeError("bench child failed: MemoryError")

    logged: list[str] = []
    targets = (B.Target("runs", ">=", 1, "runs"), B.Target("cpu_s", "<", 1, "x"))
    spec = B.Spec("scaling/orders/10M", "scaling", "10M", "s CPU", broken, 1, targets=targets)
    case = B.measure(spec, baseline=lambda: B.Sample(0.1, 0.1, 1000), log=logged.append)
    assert math.isnan(case.value) and case.note == "failed: bench child failed: MemoryError"
    assert [t["met"] for t in case.targets] == [False, None]  # it did not run; its time was not measured
    assert logged == ["  scaling/orders/10M: FAILED: bench child failed: MemoryError"]
    data = bench_data([case])
    assert data["cases"][0]["value"] is None  # bench.json stays standard JSON: no NaN
    row = format_table(data).splitlines()[-1]
    assert row.startswith("| scaling/orders/10M | 10M |  |  | s CPU |") and "runs: NOT MET" in row
    assert row.endswith("| failed: bench child failed: MemoryError |")


def test_derived_ratio_of_two_cases_and_its_widest_spread():
    """10k SKUs over 100 SKUs: the ratio of medians, min-max from the extremes of both spreads."""
    top = B.Case("a", "scaling", "10k", "s CPU", 2.6, 2.4, 3.0)
    bottom = B.Case("b", "scaling", "100", "s CPU", 2.0, 1.5, 2.5)
    case = B.derived("c", "scaling", "10k / 100", top, bottom, (B.Target("value", "<=", 1.3, "<= 1.3x"),))
    assert (case.value, case.low, case.high) == pytest.approx((1.3, 2.4 / 2.5, 3.0 / 1.5))
    assert case.targets[0]["met"] is True


def bench_data(cases, quick=True, cpu_count=2):
    """A minimal bench.json as to_json writes it."""
    run_ = B.BenchRun(cases, quick, ["simulator"], cpu_count, 12.0)
    return B.to_json(run_)


def full_case(id_, value, ratio, unit="us/order", load=(0.4, 0.6), targets=()):
    """A measured case with one repetition and the given figure and ratio."""
    case = B.Case(id_, "simulator", f"case {id_}", unit, value, value, value, ratio, ratio, ratio,
                  (10.0, 9.0, 11.0), (1.0, 1.0, 1.0), (1.5, 1.5, 1.5), load)  # fmt: skip
    case.reps = [{"cpu": 1.0, "wall": 1.5, "work": 1000, "baseline_us": [9.0, 11.0], "ratio": ratio}]
    case.targets = B.verdicts(targets, {"ratio": ratio})
    return case


def test_format_table_prints_targets_with_met_or_not_and_warns_when_the_machine_was_loaded():
    """Each target beside its figure with met / NOT MET; the header gives cores and load; load > cores warns."""
    t15 = B.Target("ratio", "<=", 1.5, "<= 1.5x bare SimPy customer (CPU)")
    quiet = full_case("simulator/full_chain/multi_warehouse", 30.0, 3.0, targets=(t15,))
    met = full_case("simulator/demand_inventory/baseline", 6.0, 0.6, targets=(B.Target("ratio", "<=", 0.7, "<= 0.7x"),))
    busy = full_case("scaling/orders/1M", 40.0, 4.0, unit="s CPU", load=(1.0, 3.5))
    text = format_table(bench_data([quiet, met, busy]))
    lines = text.splitlines()
    assert lines[0].startswith("ecomlab bench, quick mode (simulator): 2 cores, load 0.4-3.5")
    assert "bare SimPy M/M/c customer 10 us CPU (9-11)" in lines[0]
    assert lines[2] == "warning: load above 2 cores during scaling/orders/1M: " + (
        "wall times are inflated and CPU times less trustworthy"
    )
    busy_only = format_table(bench_data([busy])).splitlines()[2]
    assert busy_only.startswith("warning: load above 2 cores during every case: ")
    rows = {line.split(" | ")[0][2:]: line for line in lines if line.startswith("| ") and "/" in line}
    assert "| 3x | 3-3 |" in rows["simulator/full_chain/multi_warehouse"]
    assert "<= 1.5x bare SimPy customer (CPU): NOT MET (3) |" in rows["simulator/full_chain/multi_warehouse"]
    assert "<= 0.7x: met (0.6) |" in rows["simulator/demand_inventory/baseline"]
    assert "| 40 | 40-40 | s CPU |  |  |" in rows["scaling/orders/1M"]  # no per-order ratio for a time


def write(path, data):
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_compare_two_bench_files_gives_the_change_per_case_and_cases_found_in_one_only(tmp_path, capsys):
    """Old 30 us/order at 3x -> new 24 at 2.4x is -20% both ways; a case in one run only says so."""
    old = write(tmp_path / "old.json", bench_data([full_case("a", 30.0, 3.0), full_case("gone", 5.0, 0.5)]))
    new = write(tmp_path / "new.json", bench_data([full_case("a", 24.0, 2.4), full_case("fresh", 7.0, 0.7)]))
    assert run.main(["bench", "--compare", str(old), "--against", str(new), "--results", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "| a | us/order | 30 | 24 | -20.0% | 3 | 2.4 | -20.0% |" in out
    assert "| fresh | us/order |  | 7 | new only |  | 0.7 |  |" in out
    assert "| gone | us/order | 5 |  | old only | 0.5 |  |  |" in out
    assert not (tmp_path / "r").exists()  # comparing two finished runs writes nothing
    rows = B.compare_cases(json.loads(old.read_text())["cases"], json.loads(new.read_text())["cases"])
    assert [(r["id"], r["found"]) for r in rows] == [("a", "both"), ("fresh", "new only"), ("gone", "old only")]
    assert rows[0]["change"] == pytest.approx(-0.2) and rows[0]["ratio_change"] == pytest.approx(-0.2)


def test_compare_warns_when_one_run_is_quick_and_the_other_full():
    """Quick and full runs have different workloads: the comparison says so."""
    text = format_compare(bench_data([], quick=True), bench_data([], quick=False))
    assert "warning: one run is quick and one full" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "is not JSON (line 1): not a bench.json"),
        ('{"cases": []}', "is not a bench.json of format ecomlab-bench/2"),
        ('{"format": "ecomlab-bench/2", "cases": [{"id": "a"}]}', "has no valid 'cases' list"),
    ],
    ids=["missing", "not-json", "old-or-foreign", "bad-cases"],
)
def test_bad_compare_file_is_one_line_exit_2_and_nothing_runs_or_is_written(
    tmp_path, capsys, monkeypatch, content, message
):
    """A bad --compare path is refused before the bench runs: one error line, exit 2, no folder."""
    monkeypatch.setattr(bench_command, "run_bench", lambda **_kw: pytest.fail("the bench must not run"))
    path = tmp_path / "old.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert run.main(["bench", "--quick", "--compare", str(path), "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --compare: ") and message in err[0]
    assert not (tmp_path / "r").exists()


def test_against_without_compare_is_refused(tmp_path, capsys):
    """--against alone has nothing to compare with: one line, exit 2."""
    new = write(tmp_path / "new.json", bench_data([]))
    assert run.main(["bench", "--against", str(new)]) == 2
    assert capsys.readouterr().err.strip() == "error: --against needs --compare OLD.json (the run to compare with)"


def test_only_takes_known_groups_once(capsys):
    """--only names groups of the bench; an unknown or repeated one is exit 2 before anything runs."""
    assert run.build_parser().parse_args(["bench", "--only", "simulator, scaling"]).only == ["simulator", "scaling"]
    for bad, message in (("simulator,fast", "unknown group 'fast'"), ("batch,batch", "each group once")):
        with pytest.raises(SystemExit) as exc:
            run.build_parser().parse_args(["bench", "--only", bad])
        assert exc.value.code == 2 and message in capsys.readouterr().err


def test_bench_command_prints_the_table_and_comparison_and_writes_every_repetition(tmp_path, monkeypatch, capsys):
    """``bench --quick --only simulator --compare OLD``: table and comparison printed, raw reps in bench.json."""
    cases = [full_case("a", 24.0, 2.4)]
    seen = []

    def fake_run_bench(quick=False, only=None, log=print):
        """Stands in for the minutes-long run: records its arguments, logs one step."""
        seen.append((quick, only))
        log("simulator ...")
        return B.BenchRun(cases, quick, only, 2, 3.0)

    monkeypatch.setattr(bench_command, "run_bench", fake_run_bench)
    old = write(tmp_path / "old.json", bench_data([full_case("a", 30.0, 3.0)]))
    out = tmp_path / "bench-run"
    argv = ["bench", "--quick", "--only", "simulator", "--compare", str(old), "--out", str(out)]
    assert run.main(argv) == 0
    assert seen == [(True, ["simulator"])]
    captured = capsys.readouterr()
    assert format_table(B.to_json(fake_run_bench(True, ["simulator"], lambda _m: None))) in captured.out
    assert "| a | us/order | 30 | 24 | -20.0% |" in captured.out and f"wrote {out}" in captured.out
    assert "simulator ..." in captured.err
    data = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    assert data["format"] == B.FORMAT and data["quick"] is True and data["cpu_count"] == 2
    assert data["cases"][0]["reps"] == [
        {"cpu": 1.0, "wall": 1.5, "work": 1000, "baseline_us": [9.0, 11.0], "ratio": 2.4}
    ]
    assert B.read_bench(out / "bench.json")["cases"][0]["id"] == "a"  # a run's file can be compared later
    assert "-20.0%" in (out / "bench.md").read_text(encoding="utf-8")


def test_bare_mmc_baseline_is_a_small_positive_cpu_time_per_customer():
    """The one real measurement here: a tiny baseline run, positive and far below a millisecond per customer."""
    sample = B.bare_mmc(customers=2_000)
    assert sample.work == 2_000 and 0 < sample.cpu / sample.work < 1e-3 and sample.wall > 0


def test_ten_warehouse_variant_is_a_valid_scenario_with_the_same_picking_capacity():
    """10 DCs, one region each, equal shares; pickers scaled by 3/10 (at least one); lanes dropped."""
    scenario = load_scenario(B.MULTI, ["horizon_days=30"], overlays=B.warehouse_overlays(10))
    assert [w.name for w in scenario.warehouses] == [f"dc{i}" for i in range(10)]
    assert sum(r.share for r in scenario.demand.regions) == pytest.approx(1.0)
    overlay = B.warehouse_overlay(1)
    assert [s["pickers"] for s in overlay["warehouses"][0]["picking"]["shifts"]] == [6, 3, 6]


def test_synthetic_network_is_plausible_and_the_logistics_optimizer_serves_it():
    """The scale-test network has the promised shapes, is seeded, and every region is fully served."""
    net = B.synthetic_network(6, 3, 2)
    assert (len(net.regions), len(net.warehouses), len(net.carriers)) == (6, 3, 2)
    assert net.ship_cost.shape == net.on_time.shape == (6, 3, 2)
    assert (net.ship_cost[:, :, 1] > net.ship_cost[:, :, 0]).all()  # the faster carrier costs more
    assert ((net.on_time >= 0.3) & (net.on_time <= 0.995)).all()
    assert net.pick_capacity.sum() == pytest.approx(2.5 * net.demand.sum())
    again = B.synthetic_network(6, 3, 2)
    assert np.array_equal(net.demand, again.demand)  # seeded: the same network every run
    scenario = load_scenario("scenarios/multi_warehouse.yaml", ["horizon_days=30"])
    plan = solve(scenario, on_time_target=0.85, scope="overall", network=net)
    assert plan.status == "optimal"
    served = plan.lanes.groupby("region").share.sum()
    assert served.to_numpy() == pytest.approx(np.ones(6))
