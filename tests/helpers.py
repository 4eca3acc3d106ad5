"""Helpers shared by the test files: the repository root, the command line in a subprocess, cost parts.

Test files import them as ``from helpers import ROOT, run_cli`` (pytest puts ``tests/`` on ``sys.path``
because ``tests/conftest.py`` lives there).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"

# the parts that add up to total_cost, in the order the KPI table lists them
COST_PARTS = (
    "holding_cost",
    "ordering_cost",
    "shortage_cost",
    "overflow_cost",
    "marketing_cost",
    "shipping_cost",
    "handling_cost",
    "labour_cost",
    "warehouse_fixed_cost",
    "late_delivery_cost",
)


def run_cli(*args: object, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python run.py ARGS`` in a fresh interpreter from ``cwd``; return the finished process (text output).

    Every argument is passed through ``str``; ``timeout`` (seconds) only ends a run that hangs.
    """
    cmd = [sys.executable, str(ROOT / "run.py"), *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
