"""Command-line inputs that used to escape, crash or hang: each is now one clear line, exit 2, nothing written.

Found by a fuzzing pass (issue 13): names that become paths (a scenario ``name: ../../x``
wrote its run folder outside ``results/``), output locations that are files or sit
under a file, absurd numbers (``--workers 1e11``, ``--budget inf``, ``-n`` 10**20) and
spec ``target_half_width`` values of 0, -1 or NaN (every replication ran, then a
traceback). Every case runs the real CLI in this process (``run.main``), checks the
exit code, that stderr has exactly one ``error:`` line naming the argument or
``FILE:LINE: key``, no traceback, and that the folders involved look the same after.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
import yaml
from helpers import ROOT, run_cli

import run
from experiments.output import OutputPathError, inside, writable_file, writable_folder

CLASSROOM_SQ = ROOT / "scenarios" / "classroom_sq.yaml"

TINY = """\
name: {name}
horizon_days: 30
catalog:
  skus:
    - {{id: A, price: 10, unit_cost: 6}}
demand:
  base_orders_per_day: 5
suppliers:
  - name: acme
    lead_time_days: 2
inventory:
  policy: {{type: sQ, reorder_point: 5, order_quantity: 10}}
"""


def listing(folder: Path) -> list[str]:
    """Every path under ``folder`` (hidden ones too), relative, sorted: compared before and after."""
    folder = Path(folder)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def cli(capsys, *args) -> tuple[int, str]:
    """``run.py ARGS`` in this process: (exit code, stderr). argparse errors arrive as SystemExit."""
    try:
        rc = run.main([str(a) for a in args])
    except SystemExit as exc:
        rc = exc.code
    return rc, capsys.readouterr().err


def assert_one_clear_error(rc: int, err: str, *needles: str) -> str:
    assert rc == 2, err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def scenario_file(folder: Path, name: str) -> Path:
    path = folder / "shop.yaml"
    path.write_text(TINY.format(name=name), encoding="utf-8")
    return path


def no_simulation(monkeypatch) -> list[int]:
    """Record every simulation the experiment runner would start (there must be none)."""
    import experiments.runner as runner

    calls: list[int] = []
    monkeypatch.setattr(runner, "simulate", lambda scenario, seed, *a, **k: calls.append(seed))
    return calls


# --------------------------------------------------------------------------- names that become paths
@pytest.mark.parametrize("name", ["../../x", "'../x'", "a/b", "'.hidden'", "a..b", "'-dash'", "x" * 101])
def test_scenario_name_that_is_not_a_slug_is_refused_before_any_simulation(tmp_path, capsys, name):
    path = scenario_file(tmp_path, name)
    before = listing(tmp_path.parent / "x"), listing(tmp_path)
    rc, err = cli(capsys, "simulate", path, "--results", tmp_path / "results")
    line = assert_one_clear_error(rc, err, f"{path}:1: name:", "safe folder name")
    assert "nothing was written" in err, line
    assert (listing(tmp_path.parent / "x"), listing(tmp_path)) == before
    assert not (tmp_path / "results").exists()


def test_scenario_absolute_name_is_refused(tmp_path, capsys):
    target = tmp_path / "elsewhere"
    path = scenario_file(tmp_path, str(target))
    before = listing(tmp_path)
    rc, err = cli(capsys, "simulate", path, "--results", tmp_path / "results")
    assert_one_clear_error(rc, err, f"{path}:1: name:", "safe folder name")
    assert listing(tmp_path) == before and not target.exists()


def test_scenario_name_set_on_the_command_line_is_checked_too(tmp_path, capsys):
    rc, err = cli(capsys, "simulate", CLASSROOM_SQ, "--set", "name=../../x", "--results", tmp_path / "results")
    assert_one_clear_error(rc, err, "--set: name:", "safe folder name")
    assert listing(tmp_path) == []


def test_safe_names_still_work(tmp_path, capsys):
    path = scenario_file(tmp_path, "shop_v2.1-b")
    rc, err = cli(capsys, "simulate", path, "--results", tmp_path / "results")
    assert rc == 0, err
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["shop_v2.1-b"]


def _spec(folder: Path, name: str, extra: str = "") -> Path:
    data = {
        "name": name,
        "base": str(CLASSROOM_SQ),
        "set": {"horizon_days": 60},
        "replications": 2,
        "metrics": ["unit_fill_rate"],
    }
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False) + extra, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["'..'", "../up", "a..b", "'.x'"])
def test_spec_name_with_dots_is_refused(tmp_path, capsys, monkeypatch, name):
    calls = no_simulation(monkeypatch)
    path = tmp_path / "spec.yaml"
    path.write_text(_spec(tmp_path, "placeholder").read_text().replace("placeholder", name, 1))
    results = tmp_path / "results"
    results.mkdir()
    before = listing(tmp_path)
    rc, err = cli(capsys, "experiment", path, "--results", results)
    assert_one_clear_error(rc, err, f"{path}:1: name:", "safe folder name")
    assert listing(tmp_path) == before and calls == []


def test_inside_refuses_paths_that_leave_their_root(tmp_path):
    root = tmp_path / "results"
    assert inside(root, root / "demo" / "cache") == root / "demo" / "cache"
    assert inside(root, root) == root
    for bad in (root / ".." / "x", root / "a" / ".." / ".." / "x", Path("/etc/x"), tmp_path / "resultsX"):
        with pytest.raises(OutputPathError, match="is outside"):
            inside(root, bad)
    (tmp_path / "outside").mkdir()
    root.mkdir()
    (root / "link").symlink_to(tmp_path / "outside")  # a symlinked folder above the path counts
    with pytest.raises(OutputPathError):
        inside(root, root / "link" / "x")
    (root / "latest").symlink_to(tmp_path / "outside")  # the last part itself is not followed
    assert inside(root, root / "latest") == root / "latest"


# --------------------------------------------------------------------------- output locations
def test_simulate_out_is_a_file(tmp_path, capsys):
    out = tmp_path / "taken"
    out.write_text("keep me")
    rc, err = cli(capsys, "simulate", CLASSROOM_SQ, "--out", out)
    assert_one_clear_error(rc, err, "error: --out:", "is a file")
    assert listing(tmp_path) == ["taken"] and out.read_text() == "keep me"


@pytest.mark.parametrize(
    "command",
    [
        ["simulate", CLASSROOM_SQ],
        ["experiment", ROOT / "experiments" / "demo.yaml"],
        ["bench", "--quick"],
        ["optimize", "logistics", ROOT / "scenarios" / "multi_warehouse.yaml", "--sweep", "0.9,0.95"],
    ],
    ids=["simulate", "experiment", "bench", "optimize-sweep"],
)
def test_results_under_a_file(tmp_path, capsys, command):
    (tmp_path / "some_file").write_text("x")
    rc, err = cli(capsys, *command, "--results", tmp_path / "some_file" / "sub")
    assert_one_clear_error(rc, err, "error: --results:", "is a file")
    assert listing(tmp_path) == ["some_file"]


@pytest.mark.parametrize(
    "command",
    [["simulate", CLASSROOM_SQ], ["experiment", ROOT / "experiments" / "demo.yaml"], ["bench", "--quick"]],
    ids=["simulate", "experiment", "bench"],
)
def test_out_folder_under_a_file_or_a_file(tmp_path, capsys, command):
    (tmp_path / "some_file").write_text("x")
    for out in (tmp_path / "some_file", tmp_path / "some_file" / "run"):
        rc, err = cli(capsys, *command, "--out", out)
        assert_one_clear_error(rc, err, "error: --out:", "is a file")
    assert listing(tmp_path) == ["some_file"]


@pytest.mark.parametrize("decision", ["reorder", "promotion", "logistics"])
def test_optimize_plan_out_that_cannot_be_a_file(tmp_path, capsys, decision):
    (tmp_path / "some_file").write_text("x")
    (tmp_path / "folder").mkdir()
    before = listing(tmp_path)
    for out, needle in (
        (tmp_path / "folder", "is a folder"),
        (tmp_path / "some_file" / "plan.yaml", "is a file"),
        ("/dev/null", "not a regular file"),
    ):
        rc, err = cli(capsys, "optimize", decision, CLASSROOM_SQ, "--out", out)
        assert_one_clear_error(rc, err, "error: --out", needle)
    assert listing(tmp_path) == before


def test_optimize_plan_whose_csv_would_overwrite_it(tmp_path, capsys):
    rc, err = cli(capsys, "optimize", "reorder", CLASSROOM_SQ, "--out", tmp_path / "plan.csv")
    assert_one_clear_error(rc, err, "error: --out:", "overwritten")
    (tmp_path / "plan.csv").mkdir()  # the CSV beside plan.yaml cannot be written
    rc, err = cli(capsys, "optimize", "reorder", CLASSROOM_SQ, "--out", tmp_path / "plan.yaml")
    assert_one_clear_error(rc, err, "error: --out (its CSV table):", "is a folder")
    assert listing(tmp_path) == ["plan.csv"]


def test_unwritable_folder_is_refused(tmp_path, capsys, monkeypatch):
    """Tests run as root, where chmod 0o500 does not stop writes: the probe file is what decides."""
    import experiments.output as output

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(output.tempfile, "mkstemp", refuse)
    rc, err = cli(capsys, "simulate", CLASSROOM_SQ, "--results", tmp_path / "results")
    assert_one_clear_error(rc, err, "error: --results:", "not writable", "Permission denied")
    assert listing(tmp_path) == []


def test_writable_helpers_leave_nothing_behind(tmp_path):
    assert writable_folder(tmp_path / "a" / "b", "--out") == tmp_path / "a" / "b"
    assert writable_file(tmp_path / "a" / "plan.yaml", "--out") == tmp_path / "a" / "plan.yaml"
    (tmp_path / "plan.yaml").write_text("old")
    writable_file(tmp_path / "plan.yaml", "--out")  # replacing a regular file is fine
    writable_folder(tmp_path, "--results")  # an existing folder is fine
    assert listing(tmp_path) == ["plan.yaml"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize(
    "command", [["simulate", CLASSROOM_SQ], ["optimize", "reorder", CLASSROOM_SQ]], ids=["simulate", "optimize"]
)
def test_out_is_a_fifo_refused_without_hanging(tmp_path, command):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    res = run_cli(*command, "--out", fifo, timeout=30)
    assert_one_clear_error(res.returncode, res.stderr, "error: --out:", "not a")
    assert listing(tmp_path) == ["pipe"]


# --------------------------------------------------------------------------- absurd numbers
@pytest.mark.parametrize(
    "args, flag",
    [
        (["simulate", CLASSROOM_SQ, "--workers", "1e11"], "--workers"),
        (["simulate", CLASSROOM_SQ, "--workers", "100000000000"], "--workers"),
        (["simulate", CLASSROOM_SQ, "--workers", "0"], "--workers"),
        (["simulate", CLASSROOM_SQ, "-n", "1e20"], "--replications"),
        (["simulate", CLASSROOM_SQ, "-n", "100000000000000000000"], "--replications"),
        (["simulate", CLASSROOM_SQ, "-n", "9" * 5000], "--replications"),
        (["simulate", CLASSROOM_SQ, "--seed", "-1"], "--seed"),
        (["simulate", CLASSROOM_SQ, "--seed", str(2**63)], "--seed"),
        (["experiment", ROOT / "experiments" / "demo.yaml", "--workers", "1e11"], "--workers"),
        (["experiment", ROOT / "experiments" / "demo.yaml", "-n", "100000000000000000000"], "--replications"),
        (["check-theory", "-n", "1000001"], "--replications"),
        (["optimize", "promotion", CLASSROOM_SQ, "--budget", "inf"], "--budget"),
        (["optimize", "promotion", CLASSROOM_SQ, "--budget", "nan"], "--budget"),
        (["optimize", "promotion", CLASSROOM_SQ, "--budget", "1e13"], "--budget"),
        (["optimize", "promotion", CLASSROOM_SQ, "--target-roas", "1e400"], "--target-roas"),
        (["optimize", "promotion", CLASSROOM_SQ, "--target-roas", "0"], "--target-roas"),
        (["optimize", "promotion", CLASSROOM_SQ, "--max-utilization", "nan"], "--max-utilization"),
        (["optimize", "reorder", CLASSROOM_SQ, "--budget", "-inf"], "--budget"),
        (["optimize", "reorder", CLASSROOM_SQ, "--time-limit", "1e9"], "--time-limit"),
        (["optimize", "reorder", CLASSROOM_SQ, "--time-limit", "nan"], "--time-limit"),
        (["optimize", "reorder", CLASSROOM_SQ, "--fill-target", "nan"], "--fill-target"),
        (["optimize", "reorder", CLASSROOM_SQ, "--verify", "10001"], "--verify"),
        (["optimize", "logistics", CLASSROOM_SQ, "--on-time-target", "inf"], "--on-time-target"),
        (["optimize", "logistics", CLASSROOM_SQ, "--sweep", "0.9,nan"], "--sweep"),
        (["optimize", "logistics", CLASSROOM_SQ, "--sweep", "0.9,1.5"], "--sweep"),
        (["optimize", "logistics", CLASSROOM_SQ, "--sweep", "0.9,0.90"], "--sweep"),
        (["optimize", "logistics", CLASSROOM_SQ, "--sweep", ",".join(["0.5"] * 51)], "--sweep"),
        (["optimize", "logistics", CLASSROOM_SQ, "--sweep", ""], "--sweep"),
    ],
)
def test_absurd_numbers_are_argparse_errors(capsys, args, flag):
    before = listing(ROOT / "results")
    rc, err = cli(capsys, *args)
    assert_one_clear_error(rc, err, f"argument {flag}")
    assert listing(ROOT / "results") == before


@pytest.mark.parametrize("item", ["A", "A=", "=0.9", "D=0.9", "A=nan", "A=inf", "A=1e400", "A=0", "A=x"])
def test_class_min_parse_errors_are_one_line(tmp_path, capsys, item):
    out = tmp_path / "plan.yaml"
    rc, err = cli(capsys, "optimize", "reorder", CLASSROOM_SQ, "--class-min", item, "--out", out)
    assert_one_clear_error(rc, err, "error: --class-min", repr(item))
    assert listing(tmp_path) == []


def test_bounds_accept_their_edges():
    parser = run.build_parser()
    args = parser.parse_args(["simulate", "x.yaml", "-n", "100000", "--workers", "256", "--seed", str(2**63 - 1)])
    assert (args.replications, args.workers, args.seed) == (100_000, 256, 2**63 - 1)
    args = parser.parse_args(["optimize", "promotion", "x.yaml", "--budget", "1e12"])
    assert args.budget == 1e12 and math.isfinite(args.budget)
    args = parser.parse_args(["optimize", "logistics", "x.yaml", "--sweep", "0.9, 0.95,0.99"])
    assert args.sweep == [0.9, 0.95, 0.99]


# --------------------------------------------------------------------------- spec target_half_width
@pytest.mark.parametrize(
    "value, needle",
    [
        ("0", "greater than 0"),
        ("-1", "greater than 0"),
        (".nan", "finite number"),
        (".inf", "finite number"),
        ("true", "valid number"),
    ],
)
def test_target_half_width_must_be_a_finite_positive_number(tmp_path, capsys, monkeypatch, value, needle):
    calls = no_simulation(monkeypatch)
    path = _spec(tmp_path, "thw", f"target_half_width:\n  unit_fill_rate: {value}\n")
    line = len(path.read_text().splitlines())
    before = listing(tmp_path)
    rc, err = cli(capsys, "experiment", path, "--out", tmp_path / "out")
    assert_one_clear_error(rc, err, f"{path}:{line}: target_half_width.unit_fill_rate:", needle)
    assert calls == [] and listing(tmp_path) == before


def test_target_half_width_key_must_be_a_known_metric(tmp_path, capsys, monkeypatch):
    calls = no_simulation(monkeypatch)
    path = _spec(tmp_path, "thw", "target_half_width:\n  unit_fill_rat: 0.01\n")
    line = len(path.read_text().splitlines())
    rc, err = cli(capsys, "experiment", path, "--out", tmp_path / "out")
    assert_one_clear_error(
        rc, err, f"{path}:{line}: target_half_width.unit_fill_rat:", "unknown metric", "did you mean 'unit_fill_rate'"
    )
    assert calls == [] and not (tmp_path / "out").exists()
