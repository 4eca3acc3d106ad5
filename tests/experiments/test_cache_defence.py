"""The cache defends itself: checked entries, stale leftovers cleaned, Ctrl-C ends the workers at once.

Issue 13, item 5. Each regression test names the damage it guards against: before, a
wrong-shape entry crashed the resume and an entry edited by hand was used silently.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from exp_helpers import cache_files, patch_simulate, run_cli, write_spec
from helpers import ROOT

from experiments.output import STALE_SECONDS, RunFolder
from experiments.runner import Cache, run_tasks, tasks_for
from experiments.spec import load_spec


def _run(spec_path, cache_dir, **kw):
    spec, points = load_spec(spec_path)
    tasks = tasks_for(points, spec.replications, spec.seed)
    kw.setdefault("daily_columns", tuple(spec.daily_metrics))
    runs, daily = run_tasks(tasks, cache_dir, executor="serial", quiet=True, **kw)
    return tasks, runs, daily


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


# --------------------------------------------------------------------------- what an entry holds
def test_an_entry_carries_its_key_and_the_sha256_of_its_canonical_json(tmp_path):
    spec_path = write_spec(tmp_path, replications=1, daily_metrics=["orders"])
    tasks, *_ = _run(spec_path, tmp_path / "cache")
    entry = json.loads(Cache(tmp_path / "cache").path(tasks[0]).read_text())
    assert entry["key"] == tasks[0].key and entry["seed"] == tasks[0].seed
    body = {k: v for k, v in entry.items() if k != "checksum"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    assert entry["checksum"] == hashlib.sha256(canonical.encode()).hexdigest()


# --------------------------------------------------------------------------- bad entries are recomputed
def _edit_kpi(entry: dict, other: dict) -> object:
    entry["kpis"]["unit_fill_rate"] = 0.999  # a hand edit that keeps the JSON and the shape valid
    return entry


def _drop_checksum(entry: dict, other: dict) -> object:
    return {k: v for k, v in entry.items() if k not in ("checksum", "key")}  # the format before checksums


def _short_daily(entry: dict, other: dict) -> object:
    entry["daily"]["orders"] = entry["daily"]["orders"][:-1]
    return entry


DAMAGE = {
    "a_list": (lambda e, o: [1, 2], "has the wrong shape"),
    "null": (lambda e, o: None, "has the wrong shape"),
    "no_kpis": (lambda e, o: {k: v for k, v in e.items() if k != "kpis"}, "has the wrong shape (no kpis)"),
    "kpis_not_numbers": (lambda e, o: {**e, "kpis": {"unit_fill_rate": "high"}}, "kpis that are not numbers"),
    "kpis_a_list": (lambda e, o: {**e, "kpis": [1, 2]}, "has the wrong shape (no kpis)"),
    "daily_column_too_short": (_short_daily, "daily column 'orders' is not 400 numbers"),
    "daily_not_a_dict": (lambda e, o: {**e, "daily": None}, "no daily columns"),
    "hand_edited_kpi": (_edit_kpi, "failed its checksum"),
    "written_for_another_key": (lambda e, o: o, "was written for another key"),
    "old_format_without_checksum": (_drop_checksum, "has no checksum"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_bad_entry_is_recomputed_with_one_warning(tmp_path, monkeypatch, capsys, damage):
    spec_path = write_spec(tmp_path, replications=2, daily_metrics=["orders"])
    tasks, runs1, daily1 = _run(spec_path, tmp_path / "cache")
    cache = Cache(tmp_path / "cache")
    victim, other = cache.path(tasks[1]), cache.path(tasks[2])
    change, reason = DAMAGE[damage]
    bad = change(json.loads(victim.read_text()), json.loads(other.read_text()))
    victim.write_text(json.dumps(bad))
    capsys.readouterr()

    calls = patch_simulate(monkeypatch)
    _, runs2, daily2 = _run(spec_path, tmp_path / "cache")

    assert calls == [tasks[1].seed]  # exactly the bad entry, nothing else
    pd.testing.assert_frame_equal(runs1, runs2, check_exact=True)
    pd.testing.assert_frame_equal(daily1, daily2, check_exact=True)
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"warning: cache entry {victim} ") and reason in warnings[0]
    assert warnings[0].endswith("; recomputing it")
    # ...and the entry is whole again: the next run uses it, silently
    assert cache.get(tasks[1], ("orders",)) is not None
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("text", ["", '{"status": "o', "\xff\xfe not utf-8"])
def test_an_entry_that_does_not_parse_is_recomputed_with_a_warning(tmp_path, monkeypatch, capsys, text):
    spec_path = write_spec(tmp_path, replications=1)
    tasks, runs1, _ = _run(spec_path, tmp_path / "cache")
    victim = Cache(tmp_path / "cache").path(tasks[0])
    victim.write_bytes(text.encode("latin-1"))
    capsys.readouterr()
    calls = patch_simulate(monkeypatch)
    _, runs2, _ = _run(spec_path, tmp_path / "cache")
    assert calls == [tasks[0].seed]
    pd.testing.assert_frame_equal(runs1, runs2, check_exact=True)
    assert capsys.readouterr().err.splitlines() == [f"warning: cache entry {victim} is not valid JSON; recomputing it"]


def test_an_entry_missing_a_daily_column_asked_for_now_is_recomputed_silently(tmp_path, monkeypatch, capsys):
    """Not damage: a spec that keeps more daily columns than the run that wrote the entry."""
    spec_path = write_spec(tmp_path, replications=1)
    _run(spec_path, tmp_path / "cache", daily_columns=())
    capsys.readouterr()
    calls = patch_simulate(monkeypatch)
    _run(spec_path, tmp_path / "cache", daily_columns=("orders",))
    assert len(calls) == 2
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------- leftover temporary files
def test_cache_temp_files_of_dead_writers_are_removed_live_ones_kept(tmp_path):
    spec_path = write_spec(tmp_path, replications=1)
    tasks, *_ = _run(spec_path, tmp_path / "cache")
    folder = tmp_path / "cache"
    name = Cache(folder).path(tasks[0]).name
    dead = folder / f".{name}.{_dead_pid()}.tmp"
    live = folder / f".{name}.{os.getpid()}.tmp"
    old_live = folder / f".{Cache(folder).path(tasks[1]).name}.{os.getppid()}.tmp"
    for p in (dead, live, old_live):
        p.write_text('{"status": "o')
    _age(old_live, STALE_SECONDS + 60)  # a writer takes milliseconds: this old, it is a leftover
    _run(spec_path, folder)
    assert not dead.exists() and not old_live.exists()
    assert live.exists()  # a concurrent writer's file is not touched
    assert len(cache_files(tmp_path)) == 2


# --------------------------------------------------------------------------- leftover partial run folders
_KILLED_RUN = """
import os, signal, sys
from experiments.output import RunFolder
rf = RunFolder(sys.argv[1], "", "run", None)
(rf.path / "runs.csv").write_text("half written")
os.kill(os.getpid(), signal.SIGKILL)
"""


def _sigkilled_run(root: Path) -> Path:
    """What a run killed while writing its folder leaves: ``.NAME.partial`` with a dead owner."""
    res = subprocess.run([sys.executable, "-c", _KILLED_RUN, str(root)], cwd=ROOT, capture_output=True)
    assert res.returncode == -signal.SIGKILL, res.stderr
    (partial,) = root.glob(".*.partial")
    assert (partial / "runs.csv").exists()
    return partial


def test_next_run_removes_the_partial_folder_of_a_sigkilled_run(tmp_path):
    spec_path = write_spec(tmp_path, replications=1)
    out = tmp_path / "out"
    leftover = _sigkilled_run(out)
    assert run_cli(spec_path, out, "--executor", "serial", "--quiet") == 0
    assert not leftover.exists()
    assert not list(out.glob(".*")), "no temporary or partial files may be left behind"


def test_a_live_runs_partial_folder_is_kept(tmp_path):
    with RunFolder(tmp_path, "demo", "run") as first:
        second = RunFolder(tmp_path, "demo", "run")  # the same name if started in the same second
        assert first.path.is_dir() and second.path != first.path
        second.__exit__(None, None, None)
        assert first.path.is_dir() and (first.path / ".owner").exists()
    assert first.final.is_dir() and not (first.final / ".owner").exists()
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == sorted([first.final.name, second.final.name])


def test_a_live_runs_partial_folder_blocks_the_same_out_folder(tmp_path):
    with RunFolder(tmp_path, "", "run", out=tmp_path / "fixed") as first:
        with pytest.raises(FileExistsError, match="being written by another run"):
            RunFolder(tmp_path, "", "run", out=tmp_path / "fixed")
        assert first.path.is_dir()
    assert (tmp_path / "fixed").is_dir()


def test_partial_folders_without_an_owner_file_are_removed_only_when_old(tmp_path):
    young, old, foreign = tmp_path / ".young.partial", tmp_path / ".old.partial", tmp_path / ".foreign.partial"
    for p in (young, old, foreign):
        p.mkdir()
    (foreign / ".owner").write_text(json.dumps({"pid": _dead_pid(), "host": "some-other-machine"}))
    _age(old, STALE_SECONDS + 60)
    assert RunFolder.remove_stale_partials(tmp_path) == [old]
    assert young.is_dir() and foreign.is_dir()  # may be a run that is still writing (older code, elsewhere)


# --------------------------------------------------------------------------- a worker that dies
@pytest.mark.skipif(
    "fork" not in __import__("multiprocessing").get_all_start_methods(),
    reason="the patched simulate reaches the workers by fork",
)
def test_a_worker_that_dies_fails_only_its_replication(tmp_path, monkeypatch):
    import experiments.runner as runner
    from sim.model.shop import simulate as real

    spec_path = write_spec(tmp_path, replications=3)
    spec, points = load_spec(spec_path)
    tasks = tasks_for(points, 3, spec.seed)
    reference, _ = run_tasks(tasks, tmp_path / "serial", executor="serial", quiet=True)
    doomed = tasks[4]

    def dies(scenario, seed):  # as if the kernel's OOM killer took the worker
        if seed == doomed.seed and scenario.inventory.policy.reorder_point == 4:
            os._exit(9)
        return real(scenario, seed)

    monkeypatch.setattr(runner, "simulate", dies)
    runs, _ = run_tasks(tasks, tmp_path / "process", executor="process", workers=2, quiet=True)
    assert runs.loc[4, "status"] == "failed" and runs.loc[4, "error"].startswith("WorkerDied")
    assert "exit code 9" in runs.loc[4, "error"]
    ok = runs.drop(index=4)
    assert (ok["status"] == "ok").all()
    pd.testing.assert_frame_equal(
        ok.drop(columns=["error"]), reference.drop(index=4).drop(columns=["error"]), check_exact=True
    )


# --------------------------------------------------------------------------- Ctrl-C
def _ctrl_c_child() -> None:
    # A background CI shell ignores SIGINT and the child would inherit that: give it the default
    # back (see test_experiment_cli), in a process group of its own, as a terminal's foreground job.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.setpgid(0, 0)


@pytest.mark.parametrize("executor", ["process", "dask"])
def test_ctrl_c_ends_running_workers_at_once_and_keeps_finished_replications(tmp_path, executor):
    if executor == "dask":
        pytest.importorskip("dask.distributed")
    # four quick replications finish; then both workers start ones that would take ~20 s each
    spec = write_spec(
        tmp_path,
        name="ctrl_c",
        replications=4,
        variants=[
            {"name": "quick"},
            {"name": "slow", "set": {"horizon_days": 36_500, "demand.base_orders_per_day": 5}},
        ],
    )
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "run.py",
            "experiment",
            str(spec),
            "--out",
            str(out),
            "--executor",
            executor,
            "--workers",
            "2",
        ],
        preexec_fn=_ctrl_c_child,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(cache_files(out)) < 4:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the quick replications did not finish"
            time.sleep(0.01)
        time.sleep(0.5)  # the slow ones are running now
        assert proc.poll() is None
        interrupted = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
        _, stderr = proc.communicate(timeout=30)
        seconds = time.monotonic() - interrupted
    finally:  # whatever failed, leave no process behind (workers hold the pipes open too)
        if proc.poll() is None or _group_alive(proc.pid):
            _quietly_kill_group(proc.pid)
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert seconds < 5.0, f"took {seconds:.1f} s to stop"
    assert "interrupted" in stderr and "Traceback" not in stderr
    # the finished replications are kept, and valid; no worker outlives the run
    spec_obj, points = load_spec(spec)
    tasks = tasks_for(points, 4, spec_obj.seed)
    warnings = []
    cache = Cache(out / "cache", warn=warnings.append)
    assert [cache.get(t, ()) is not None for t in tasks] == [True] * 4 + [False] * 4
    assert warnings == []
    deadline = time.monotonic() + 3
    while _group_alive(proc.pid):
        if time.monotonic() > deadline:
            _quietly_kill_group(proc.pid)
            pytest.fail("worker processes outlived the interrupted run")
        time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _quietly_kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
