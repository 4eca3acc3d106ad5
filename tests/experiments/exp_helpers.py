"""Helpers for the experiment tests: tiny specs written to tmp folders, the CLI in-process.

Imported by the test modules (pytest puts this folder on sys.path: tests have no __init__.py).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml
from helpers import SCENARIOS

CLASSROOM_SQ = SCENARIOS / "classroom_sq.yaml"
BASELINE = SCENARIOS / "baseline.yaml"


def write_spec(folder: Path, name: str = "tiny", **fields) -> Path:
    """A small classroom_sq spec (2 variants: r = 3 and r = 4, ~0.02 s per replication).

    Any spec key can be replaced through ``fields``.
    """
    data = {
        "name": name,
        "base": str(CLASSROOM_SQ),
        "set": {"horizon_days": 400},
        "variants": [{"name": "r3"}, {"name": "r4", "set": {"inventory.policy.reorder_point": 4}}],
        "replications": 6,
        "seed": 11,
        "metrics": ["unit_fill_rate", "avg_on_hand_units", "total_cost"],
    }
    data.update(fields)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run_cli(spec: Path, out: Path, *extra: str) -> int:
    """``python run.py experiment SPEC --out OUT ...`` in this process; returns the exit code."""
    import run

    return run.main(["experiment", str(spec), "--out", str(out), *extra])


def latest(out: Path) -> Path:
    """The newest run folder under an experiment output root."""
    link = Path(out) / "latest"
    assert link.is_symlink(), f"{link} should be a symlink to the newest run"
    return link.resolve()


def read_csv(path: Path) -> pd.DataFrame:
    """Read a results table with exact float round-trip (so equality means identical digits)."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def cache_files(out: Path) -> list[Path]:
    """The cache entries (JSON files) under an experiment output root, sorted; none if there is no cache."""
    folder = Path(out) / "cache"
    return sorted(folder.glob("*.json")) if folder.exists() else []


def run_folders(out: Path) -> list[Path]:
    """Finished run folders under an output root (not the cache, not ``latest``, not partials)."""
    out = Path(out)
    if not out.exists():
        return []
    return sorted(
        p
        for p in out.iterdir()
        if p.is_dir() and not p.is_symlink() and p.name != "cache" and not p.name.startswith(".")
    )


def patch_simulate(monkeypatch, fail=lambda scenario, seed: False) -> list[int]:
    """Replace the runner's simulate by the real one that records each seed and raises where ``fail``."""
    import experiments.runner as runner
    from sim.model.shop import simulate as real

    calls: list[int] = []

    def fake(scenario, seed):
        calls.append(seed)
        if fail(scenario, seed):
            raise RuntimeError(f"injected failure at seed {seed}")
        return real(scenario, seed)

    monkeypatch.setattr(runner, "simulate", fake)
    return calls


def only_injected_failure(runs: pd.DataFrame, variant: str, replication: int, seed: int) -> pd.DataFrame:
    """Assert that ``runs`` has exactly one failed row, the one ``patch_simulate`` failed; return the ok rows."""
    failed = runs[runs["status"] == "failed"]
    assert len(failed) == 1
    row = failed.iloc[0]
    assert (row["variant"], row["replication"], row["seed"]) == (variant, replication, seed)
    assert row["error"] == f"RuntimeError: injected failure at seed {seed}"
    return runs[runs["status"] == "ok"]
