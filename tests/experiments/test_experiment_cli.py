"""``python run.py experiment``: executors agree, kill and resume, failures, --fresh, the report, sweeps.

Specs are tiny (classroom_sq, short horizons) so each replication takes a few
hundredths of a second; only interpreter start-up and the Dask cluster cost real time.
"""

from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from exp_helpers import (
    cache_files,
    latest,
    only_injected_failure,
    patch_simulate,
    read_csv,
    run_cli,
    run_folders,
    write_spec,
)
from helpers import ROOT
from helpers import run_cli as run_ecomlab  # a subprocess; exp_helpers.run_cli is in-process

import experiments.plots as plots
from sim.model.streams import replication_seed

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RUN_FILES = [
    "runs.csv",
    "summary.csv",
    "paired.csv",
    "daily.csv",
    "report.md",
    "report.html",
    "spec.yaml",
    "manifest.json",
]


def _assert_same_runs(a: Path, b: Path) -> None:
    pd.testing.assert_frame_equal(read_csv(a), read_csv(b), check_exact=True)
    assert a.read_bytes() == b.read_bytes()


# --------------------------------------------------------------------------- one full run, inspected
@pytest.fixture(scope="module")
def report_run(tmp_path_factory):
    """Three variants, baseline the middle one, daily columns and every plot type but sweep."""
    folder = tmp_path_factory.mktemp("report")
    spec = write_spec(
        folder,
        name="report_check",
        replications=5,
        variants=[
            {"name": "r3"},
            {"name": "r4", "set": {"inventory.policy.reorder_point": 4}},
            {"name": "r5", "set": {"inventory.policy.reorder_point": 5}},
        ],
        baseline="r4",
        metrics=["unit_fill_rate", "avg_on_hand_units", "total_cost"],
        daily_metrics=["orders", "on_hand_units"],
        plots=[
            {"type": "bar", "metric": "unit_fill_rate"},
            {"type": "paired", "metric": "total_cost"},
            {"type": "tradeoff", "x": "avg_on_hand_units", "y": "unit_fill_rate", "minimize_y": False},
            {"type": "daily", "metric": "on_hand_units", "variants": ["r3", "r5"], "days": [100, 160]},
        ],
        target_half_width={"unit_fill_rate": 0.005},
    )
    out = folder / "out"
    code = run_cli(spec, out, "--executor", "serial", "--quiet")
    return {"spec": spec, "out": out, "code": code, "run": latest(out) if code == 0 else None}


def test_run_folder_layout(report_run):
    assert report_run["code"] == 0
    out, run = report_run["out"], report_run["run"]
    assert run.parent == out and run_folders(out) == [run]
    for name in RUN_FILES:
        assert (run / name).is_file(), name
    assert sorted(p.name for p in (run / "variants").glob("*.yaml")) == ["r3.yaml", "r4.yaml", "r5.yaml"]
    assert len(cache_files(out)) == 15
    assert not list(out.glob(".*")), "no temporary or partial files may be left behind"
    assert (run / "spec.yaml").read_text() == report_run["spec"].read_text()
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["kind"] == "experiment" and manifest["replications"] == 5 and manifest["failed"] == 0
    assert set(manifest["variants"]) == {"r3", "r4", "r5"}


def test_tables(report_run):
    run = report_run["run"]
    runs = read_csv(run / "runs.csv")
    assert len(runs) == 3 * 5
    assert sorted(zip(runs["variant"], runs["replication"])) == [(v, r) for v in ("r3", "r4", "r5") for r in range(5)]
    assert (runs["status"] == "ok").all()
    assert set(runs.groupby("replication")["seed"].nunique()) == {1}  # CRN: one seed per replication

    summary = read_csv(run / "summary.csv")
    for col in ("variant", "metric", "n", "mean", "std", "half_width", "ci_low", "ci_high"):
        assert col in summary.columns
    assert len(summary) == 3 * 3
    assert set(zip(summary["variant"], summary["metric"])) == {
        (v, m) for v in ("r3", "r4", "r5") for m in ("unit_fill_rate", "avg_on_hand_units", "total_cost")
    }
    assert (summary["n"] == 5).all()
    assert (summary["ci_low"] < summary["mean"]).all() and (summary["mean"] < summary["ci_high"]).all()
    row = summary[(summary["variant"] == "r3") & (summary["metric"] == "total_cost")].iloc[0]
    assert row["mean"] == pytest.approx(runs[runs["variant"] == "r3"]["total_cost"].mean(), rel=1e-12)

    paired = read_csv(run / "paired.csv")
    assert set(paired["variant"]) == {"r3", "r5"}  # compared against the baseline r4, not the first variant
    assert len(paired) == 2 * 3
    for col in ("mean_diff", "half_width", "ci_low", "ci_high", "excludes_zero", "unpaired_half_width"):
        assert col in paired.columns
    d = paired[(paired["variant"] == "r5") & (paired["metric"] == "avg_on_hand_units")].iloc[0]
    by = runs.set_index(["variant", "replication"])["avg_on_hand_units"]
    assert d["mean_diff"] == pytest.approx((by["r5"] - by["r4"]).mean(), rel=1e-9)

    daily = read_csv(run / "daily.csv")
    assert list(daily.columns[:3]) == ["variant", "replication", "day"]
    assert {"orders", "on_hand_units"} <= set(daily.columns)
    assert len(daily) == 3 * 5 * 400


def test_plots_are_real_pngs(report_run):
    pngs = sorted((report_run["run"] / "plots").glob("*.png"))
    assert [re.sub(r"^\d+_", "", p.stem).split("_")[0] for p in pngs] == ["bar", "paired", "tradeoff", "daily"]
    for p in pngs:
        data = p.read_bytes()
        assert data.startswith(PNG_SIGNATURE), p.name
        assert len(data) > 10_000, f"{p.name} is suspiciously small ({len(data)} bytes)"


def test_report_html_is_self_contained(report_run):
    run = report_run["run"]
    page = (run / "report.html").read_text(encoding="utf-8")
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    pngs = sorted((run / "plots").glob("*.png"))
    assert len(images) == len(pngs) == 4
    assert sorted(base64.b64decode(i) for i in images) == sorted(p.read_bytes() for p in pngs)
    for bad in ('src="http', "src='http", 'href="http', "href='http", "<link", "<script", "url(http"):
        assert bad not in page, bad
    assert re.findall(r'src="([^"]*)"', page) == [f"data:image/png;base64,{i}" for i in images]
    for heading in (
        "Summary",
        "Paired differences vs baseline",
        "Plots",
        "Experiment spec",
        "Manifest",
        "Replications needed for the target CI half-width",
    ):
        assert f"<h2>{heading}</h2>" in page, heading
    assert "Failed replications" not in page
    assert "report_check" in page and "scenario_hash" in page  # the spec and the manifest themselves
    md = (run / "report.md").read_text(encoding="utf-8")
    for p in pngs:
        assert f"](plots/{p.name})" in md


# --------------------------------------------------------------------------- executors agree
@pytest.fixture(scope="module")
def executor_spec(tmp_path_factory):
    folder = tmp_path_factory.mktemp("executors")
    return write_spec(
        folder,
        name="executors",
        replications=5,
        daily_metrics=["orders"],
        variants=[
            {"name": "r3"},
            {"name": "r4", "set": {"inventory.policy.reorder_point": 4}},
            {"name": "q8", "set": {"inventory.policy.order_quantity": 8}},
        ],
    )


@pytest.fixture(scope="module")
def serial_runs(executor_spec):
    out = executor_spec.parent / "serial"
    assert run_cli(executor_spec, out, "--executor", "serial", "--quiet") == 0
    return latest(out) / "runs.csv"


def test_process_executor_gives_identical_runs(executor_spec, serial_runs, tmp_path):
    out = tmp_path / "process"
    assert run_cli(executor_spec, out, "--executor", "process", "--workers", "2", "--quiet") == 0
    _assert_same_runs(latest(out) / "runs.csv", serial_runs)
    _assert_same_runs(latest(out) / "daily.csv", serial_runs.parent / "daily.csv")
    assert json.loads((latest(out) / "manifest.json").read_text())["executor"] == "process"


@pytest.mark.slow
def test_dask_local_cluster_gives_identical_runs(executor_spec, serial_runs, tmp_path):
    pytest.importorskip("dask.distributed")
    out = tmp_path / "dask"
    res = run_ecomlab("experiment", executor_spec, "--out", out, "--executor", "dask", "--workers", "2", "--quiet")
    assert res.returncode == 0, res.stderr
    _assert_same_runs(latest(out) / "runs.csv", serial_runs)
    _assert_same_runs(latest(out) / "daily.csv", serial_runs.parent / "daily.csv")
    assert json.loads((latest(out) / "manifest.json").read_text())["executor"] == "dask"


# --------------------------------------------------------------------------- kill and resume
KILL_REPS = 15  # x 2 variants x ~0.1 s (700 days of classroom_sq): about 3 s after the ~2 s start, so the
# interrupt (after 4 or 6 finished) still lands mid-run; 30 made the three runs of each test twice as long


@pytest.fixture(scope="module")
def kill_spec(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kill")
    return write_spec(folder, name="kill", set={"horizon_days": 700}, replications=KILL_REPS)


@pytest.fixture(scope="module")
def uninterrupted_runs(kill_spec):
    out = kill_spec.parent / "uninterrupted"
    assert run_cli(kill_spec, out, "--executor", "serial", "--quiet") == 0
    return latest(out) / "runs.csv"


def _default_sigint() -> None:
    # A shell that starts the test run in the background ignores SIGINT, and the child would
    # inherit that (Python then never raises KeyboardInterrupt): give it the default back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(spec: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "run.py", "experiment", str(spec), "--out", str(out), "--executor", "serial"],
        preexec_fn=_default_sigint,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_cache(proc: subprocess.Popen, out: Path, n: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while len(cache_files(out)) < n:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline, "no cache files appeared"
        time.sleep(0.005)


def _resume_and_compare(spec: Path, out: Path, reference: Path, cached_before: int) -> None:
    total = 2 * KILL_REPS
    res = run_ecomlab("experiment", spec, "--out", out, "--executor", "serial")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    m = re.search(r"resuming: (\d+) of (\d+) replications cached", res.stderr)
    assert m, res.stderr
    done_before = int(m.group(1))
    assert int(m.group(2)) == total
    assert cached_before <= done_before < total  # the second run did only what was missing
    assert len(cache_files(out)) == total
    assert len(run_folders(out)) == 1
    _assert_same_runs(latest(out) / "runs.csv", reference)


def test_sigint_then_resume_gives_the_uninterrupted_results(kill_spec, uninterrupted_runs, tmp_path):
    out = tmp_path / "out"
    proc = _start(kill_spec, out)
    _wait_for_cache(proc, out, 4)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    assert run_folders(out) == [] and not (out / "latest").exists()  # only the cache was written
    cached = len(cache_files(out))
    assert 4 <= cached < 2 * KILL_REPS
    _resume_and_compare(kill_spec, out, uninterrupted_runs, cached)


def test_sigkill_leaves_no_corrupt_cache_and_resume_gives_the_same_results(kill_spec, uninterrupted_runs, tmp_path):
    out = tmp_path / "out"
    proc = _start(kill_spec, out)
    _wait_for_cache(proc, out, 6)
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    files = cache_files(out)
    assert 6 <= len(files) < 2 * KILL_REPS
    for f in files:  # whatever instant the kill hit, every visible entry is complete
        entry = json.loads(f.read_text())
        assert entry["status"] == "ok" and entry["kpis"]
    assert run_folders(out) == []
    _resume_and_compare(kill_spec, out, uninterrupted_runs, len(files))


# --------------------------------------------------------------------------- a failing replication
def test_failed_replication_is_reported_and_the_rest_finish(tmp_path, monkeypatch, capsys):
    spec = write_spec(tmp_path, replications=4)
    master = 11
    bad_seed = replication_seed(master, 1)
    patch_simulate(monkeypatch, fail=lambda s, seed: seed == bad_seed and s.inventory.policy.reorder_point == 4)
    out = tmp_path / "out"
    assert run_cli(spec, out, "--executor", "serial") == 1
    err = capsys.readouterr().err
    assert "1 replication(s) failed" in err
    assert f"r4 replication 1 (seed {bad_seed}): RuntimeError: injected failure at seed {bad_seed}" in err
    assert "Traceback" not in err

    run = latest(out)
    runs = read_csv(run / "runs.csv")
    assert len(runs) == 8
    ok = only_injected_failure(runs, "r4", 1, bad_seed)
    assert len(ok) == 7 and ok["unit_fill_rate"].notna().all() and ok["error"].isna().all()
    summary = read_csv(run / "summary.csv").set_index(["variant", "metric"])
    assert summary.loc[("r4", "unit_fill_rate"), "n"] == 3 and summary.loc[("r3", "unit_fill_rate"), "n"] == 4

    page = (run / "report.html").read_text(encoding="utf-8")
    assert "<h2>Failed replications (1)</h2>" in page
    assert str(bad_seed) in page and "injected failure" in page
    assert json.loads((run / "manifest.json").read_text())["failed"] == 1

    # not cached: a rerun retries exactly the failed replication, and now everything is ok
    assert len(cache_files(out)) == 7
    calls = patch_simulate(monkeypatch)
    assert run_cli(spec, out, "--executor", "serial") == 0
    assert calls == [bad_seed]
    assert "resuming: 7 of 8 replications cached" in capsys.readouterr().err
    assert (read_csv(latest(out) / "runs.csv")["status"] == "ok").all()


def test_every_replication_failing_still_gives_a_report(tmp_path, monkeypatch, capsys):
    spec = write_spec(tmp_path, replications=2)
    patch_simulate(monkeypatch, fail=lambda s, seed: True)
    out = tmp_path / "out"
    assert run_cli(spec, out, "--executor", "serial") == 1
    err = capsys.readouterr().err
    assert "4 replication(s) failed" in err and "Traceback" not in err
    run = latest(out)
    runs = read_csv(run / "runs.csv")
    assert len(runs) == 4 and (runs["status"] == "failed").all()
    assert runs["error"].str.startswith("RuntimeError: injected failure").all()
    assert "<h2>Failed replications (4)</h2>" in (run / "report.html").read_text(encoding="utf-8")
    assert cache_files(out) == []


# --------------------------------------------------------------------------- cache reuse and --fresh
def test_rerun_uses_the_cache_and_fresh_recomputes(tmp_path, monkeypatch, capsys):
    spec = write_spec(tmp_path, replications=3)
    out = tmp_path / "out"
    assert run_cli(spec, out, "--executor", "serial", "--quiet") == 0
    first = latest(out)
    capsys.readouterr()

    # without --fresh nothing is simulated again: a simulate that always raises is never called
    calls = patch_simulate(monkeypatch, fail=lambda s, seed: True)
    assert run_cli(spec, out, "--executor", "serial") == 0
    assert calls == []
    assert "resuming: 6 of 6 replications cached" in capsys.readouterr().err
    second = latest(out)
    assert second != first
    _assert_same_runs(second / "runs.csv", first / "runs.csv")

    # --fresh empties the cache first: with that always-raising simulate every replication fails
    assert run_cli(spec, out, "--executor", "serial", "--fresh", "--quiet") == 1
    assert len(calls) == 6 and cache_files(out) == []

    # --fresh with the real simulate recomputes everything and gets the same numbers
    calls = patch_simulate(monkeypatch)
    assert run_cli(spec, out, "--executor", "serial", "--fresh") == 0
    assert len(calls) == 6
    assert "resuming" not in capsys.readouterr().err
    assert len(cache_files(out)) == 6
    _assert_same_runs(latest(out) / "runs.csv", first / "runs.csv")
    assert len(run_folders(out)) == 4  # every run keeps its own folder; latest is the newest
    assert latest(out) == max(run_folders(out), key=lambda p: p.stat().st_mtime_ns)


def test_replications_option_reuses_the_common_prefix(tmp_path, monkeypatch, capsys):
    """-n 5 after -n 3: replications 0-2 come from the cache (their seeds do not depend on n)."""
    spec = write_spec(tmp_path, replications=3)
    out = tmp_path / "out"
    assert run_cli(spec, out, "--executor", "serial", "--quiet") == 0
    small = read_csv(latest(out) / "runs.csv")
    calls = patch_simulate(monkeypatch)
    assert run_cli(spec, out, "--executor", "serial", "--replications", "5") == 0
    assert sorted(calls) == sorted([replication_seed(11, 3), replication_seed(11, 4)] * 2)
    assert "resuming: 6 of 10 replications cached" in capsys.readouterr().err
    big = read_csv(latest(out) / "runs.csv")
    assert len(big) == 10
    pd.testing.assert_frame_equal(big[big["replication"] < 3].reset_index(drop=True), small, check_exact=True)


# --------------------------------------------------------------------------- grid sweep
def test_grid_sweep_run(tmp_path, monkeypatch):
    drawn = []
    real_sweep = plots.sweep_lines

    def spy(summary, x, metric, path, series=None, **kw):
        drawn.append({"x": x, "metric": metric, "series": series, "summary": summary.copy()})
        return real_sweep(summary, x, metric, path, series=series, **kw)

    monkeypatch.setattr(plots, "sweep_lines", spy)
    rp, q = "inventory.policy.reorder_point", "inventory.policy.order_quantity"
    spec = write_spec(
        tmp_path,
        name="sweep",
        set={"horizon_days": 300},
        variants=[],
        replications=3,
        grid={rp: [2, 3, 4], q: [4, 6]},
        metrics=["unit_fill_rate", "avg_on_hand_units"],
        plots=[
            {"type": "sweep", "metric": "unit_fill_rate", "x": rp, "series": q},
            {"type": "tradeoff", "x": "avg_on_hand_units", "y": "unit_fill_rate", "minimize_y": False},
        ],
    )
    out = tmp_path / "out"
    assert run_cli(spec, out, "--executor", "serial", "--quiet") == 0
    run = latest(out)

    runs = read_csv(run / "runs.csv")
    assert len(runs) == 6 * 3
    assert {rp, q} <= set(runs.columns)
    names = list(dict.fromkeys(runs["variant"]))
    assert names == [f"reorder_point={r},order_quantity={k}" for r in (2, 3, 4) for k in (4, 6)]
    for _, row in runs.iterrows():
        assert row["variant"] == f"reorder_point={row[rp]},order_quantity={row[q]}"
    summary = read_csv(run / "summary.csv")
    assert {rp, q} <= set(summary.columns)
    # a higher reorder point fills more demand from stock (for each order quantity)
    fill = summary[summary["metric"] == "unit_fill_rate"].set_index([q, rp])["mean"]
    for k in (4, 6):
        assert fill[(k, 2)] < fill[(k, 3)] < fill[(k, 4)]

    assert len(drawn) == 1
    call = drawn[0]
    assert (call["x"], call["metric"], call["series"]) == (rp, "unit_fill_rate", q)
    assert len(call["summary"][call["summary"]["metric"] == "unit_fill_rate"]) == 6
    sweep_png = [p for p in (run / "plots").glob("*.png") if "_sweep_" in p.name]
    assert len(sweep_png) == 1
    data = sweep_png[0].read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
    assert (run / "paired.csv").is_file()  # compared against the first grid point
    assert len(list((run / "variants").glob("*.yaml"))) == 6
