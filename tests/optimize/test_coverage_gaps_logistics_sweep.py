"""``run.py optimize logistics --sweep``: one lane plan per on-time target, each simulated, one trade-off plot.

Only the README runs a sweep, end to end; this checks what a planner reads from it: a row per
target with the predicted and the simulated cost and on-time rate, and the files of the run.
"""

from __future__ import annotations

import json

import pandas as pd

import run

SWEEP = [
    "optimize",
    "logistics",
    "scenarios/multi_warehouse.yaml",
    "--set",
    "horizon_days=60",
    "--set",
    "carriers[1].promise_days=null",
    "--scope",
    "overall",
    "--verify",
    "1",
    "--quiet",
]


def test_sweep_writes_a_row_per_target_and_the_tradeoff_plot(tmp_path, capsys):
    """Two reachable targets: two rows, predicted next to simulated, runs.csv, tradeoff.csv/png, manifest."""
    assert run.main([*SWEEP, "--sweep", "0.9,0.95", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    root = tmp_path / "multi_warehouse_logistics_sweep"
    (folder,) = [p for p in root.iterdir() if p.is_dir() and p.name != "cache"]
    assert list((root / "cache").glob("*.json"))  # the replications are cached for the next sweep
    assert out.rstrip().endswith(f"wrote {folder / 'tradeoff.png'}")
    assert "target=0.9 " in out and "target=0.95 " in out
    wide = pd.read_csv(folder / "tradeoff.csv")
    assert wide["variant"].tolist() == ["target=0.9", "target=0.95"]
    assert (wide["pred_on_time_rate"] >= [0.9 - 1e-6, 0.95 - 1e-6]).all()  # each plan meets its own target
    assert wide["pred_cost_per_order"].is_monotonic_increasing  # a stricter promise never costs less
    assert wide[["cost_per_order", "on_time_rate"]].notna().all().all()
    runs = pd.read_csv(folder / "runs.csv")
    assert sorted(runs["variant"]) == ["target=0.9", "target=0.95"] and (runs["status"] == "ok").all()
    assert (folder / "tradeoff.png").stat().st_size > 0
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "logistics_sweep" and manifest["targets"] == [0.9, 0.95]
    assert manifest["replications"] == 1
