"""Every long command shows progress on a non-terminal stderr (plain lines with an ETA), none under --quiet;
the ``ecomlab`` console script is the same CLI as ``python run.py``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

SHORT = ["--set", "horizon_days=400"]


def _run(*args: str, exe=(sys.executable, "run.py")) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*exe, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
    )


@pytest.mark.parametrize("workers", ["1", "2"])
def test_simulate_progress_on_a_pipe_and_quiet(tmp_path, workers):
    res = _run(
        "simulate", "scenarios/classroom_sq.yaml", "-n", "3", *SHORT, "--workers", workers, "--out", str(tmp_path / "a")
    )
    assert res.returncode == 0, res.stderr
    lines = [line for line in res.stderr.splitlines() if "replications done" in line]
    assert lines and lines[-1].startswith("3/3 replications done") and "ETA" in lines[-1], res.stderr
    assert "\r" not in res.stderr
    quiet = _run(
        "simulate",
        "scenarios/classroom_sq.yaml",
        "-n",
        "3",
        *SHORT,
        "--workers",
        workers,
        "--quiet",
        "--out",
        str(tmp_path / "b"),
    )
    assert quiet.returncode == 0, quiet.stderr
    assert "replications done" not in quiet.stderr
    assert (tmp_path / "a" / "kpis.csv").read_text() == (tmp_path / "b" / "kpis.csv").read_text()


def test_check_theory_progress_on_a_pipe_and_quiet():
    res = _run("check-theory", "--case", "sq", "-n", "3")
    assert res.returncode in (0, 1), res.stderr
    lines = [line for line in res.stderr.splitlines() if "replications done" in line]
    assert lines and lines[-1].startswith("(r,Q) Poisson: 3/3 replications done") and "ETA" in lines[-1], res.stderr
    quiet = _run("check-theory", "--case", "sq", "-n", "3", "--quiet")
    assert "replications done" not in quiet.stderr and quiet.stdout == res.stdout


def test_ecomlab_console_script_runs_validate():
    script = Path(sys.executable).with_name("ecomlab")
    if not script.exists():
        pytest.skip(f"the ecomlab script is not installed next to {sys.executable} (pip install -e .)")
    res = _run("validate", "scenarios/classroom_sq.yaml", exe=(str(script),))
    assert res.returncode == 0, res.stderr
    assert "scenarios/classroom_sq.yaml: OK" in res.stdout
    bad = _run(
        "validate", "scenarios/classroom_sq.yaml", "--set", "inventory.policy.reoder_point=4", exe=(str(script),)
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
