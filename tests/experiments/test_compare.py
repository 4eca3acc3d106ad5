"""``run.py compare RUN_A RUN_B``: paired on matching seeds (CRN), Welch otherwise, clean errors.

The intervals are checked against an independent hand computation with scipy.stats.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st
from exp_helpers import read_csv
from helpers import ROOT

import run
from experiments.compare import CompareError, compare_runs, compare_tables, read_run


def _run(folder: Path, seeds, kpis: dict, kind="simulate", variants=None) -> Path:
    """A finished run folder written by hand: simulate (kpis.csv) or experiment (runs.csv)."""
    folder.mkdir(parents=True)
    frame = pd.DataFrame({"replication": range(len(seeds)), "seed": seeds, "status": "ok", **kpis})
    if kind == "experiment":
        frame.insert(0, "variant", variants)
        frame.to_csv(folder / "runs.csv", index=False)
    else:
        frame.to_csv(folder / "kpis.csv", index=False)
    (folder / "manifest.json").write_text(json.dumps({"kind": kind}))
    return folder


A_FILL = [0.90, 0.93, 0.88, 0.95, 0.91, 0.92]
B_FILL = [0.92, 0.96, 0.89, 0.97, 0.94, 0.93]
A_COST = [1000.0, 1040.0, 990.0, 1100.0, 1010.0, 1030.0]
B_COST = [990.0, 1045.0, 970.0, 1080.0, 1000.0, 1035.0]
SEEDS = [11, 12, 13, 14, 15, 16]


@pytest.fixture
def runs(tmp_path):
    a = _run(tmp_path / "a", SEEDS, {"unit_fill_rate": A_FILL, "total_cost": A_COST})
    b = _run(tmp_path / "b", SEEDS, {"unit_fill_rate": B_FILL, "total_cost": B_COST})
    c = _run(tmp_path / "c", [21, 22, 23, 24, 25, 26], {"unit_fill_rate": B_FILL, "total_cost": B_COST})
    return a, b, c


def test_matching_seeds_are_paired_and_the_ci_matches_a_hand_computation(runs):
    a, b, _ = runs
    _, _, c = compare_runs(str(a), str(b))
    assert c.method == "paired" and c.n_pairs == 6 and "same 6 replication seeds" in c.reason
    for metric, xa, xb in (("unit_fill_rate", A_FILL, B_FILL), ("total_cost", A_COST, B_COST)):
        d = np.array(xb) - np.array(xa)
        hw = st.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
        row = c.table.set_index("metric").loc[metric]
        assert row.difference == pytest.approx(d.mean(), rel=1e-12)
        assert row.half_width == pytest.approx(hw, rel=1e-9)
        assert row.ci_low == pytest.approx(d.mean() - hw, rel=1e-9)
        assert row.a_mean == pytest.approx(np.mean(xa)) and row.b_mean == pytest.approx(np.mean(xb))
    rows = c.table.set_index("metric")
    assert rows.loc["unit_fill_rate", "excludes_zero"]  # +1.83 pp +- 0.8: all pairs agree
    assert not rows.loc["total_cost", "excludes_zero"]  # -8.3 +- 12.7


def test_different_seeds_use_welch_matching_scipy(runs):
    a, _, c_run = runs
    _, _, c = compare_runs(str(a), str(c_run))
    assert c.method == "welch" and c.n_pairs == 0 and "different replication seeds" in c.reason
    for metric, xa, xb in (("unit_fill_rate", A_FILL, B_FILL), ("total_cost", A_COST, B_COST)):
        ci = st.ttest_ind(xb, xa, equal_var=False).confidence_interval(0.95)
        row = c.table.set_index("metric").loc[metric]
        assert row.ci_low == pytest.approx(ci.low, rel=1e-9) and row.ci_high == pytest.approx(ci.high, rel=1e-9)


def test_pairing_rules():
    a = pd.DataFrame({"seed": [1, 2, 3, 4], "x": [1.0, 2.0, 3.0, 4.0]})
    subset = pd.DataFrame({"seed": [3, 1], "x": [3.5, 1.5]})
    c = compare_tables(a, subset, ["x"])
    assert c.method == "paired" and c.n_pairs == 2 and c.table.loc[0, "difference"] == pytest.approx(0.5)
    partial = pd.DataFrame({"seed": [3, 4, 9], "x": [3.0, 4.0, 5.0]})
    assert compare_tables(a, partial, ["x"]).method == "welch"
    assert compare_tables(a.drop(columns="seed"), subset, ["x"]).method == "welch"
    one = pd.DataFrame({"seed": [1], "x": [1.0]})
    c = compare_tables(a, one, ["x"])  # a single common seed cannot give an interval: Welch (n/a)
    assert c.method == "welch" and np.isnan(c.table.loc[0, "half_width"]) and not c.table.loc[0, "excludes_zero"]


def test_experiment_variants_and_latest(tmp_path):
    exp = _run(
        tmp_path / "results" / "demo" / "20260101-000000-run",
        SEEDS * 2,
        {"unit_fill_rate": A_FILL + B_FILL, "total_cost": A_COST + B_COST},
        kind="experiment",
        variants=["base"] * 6 + ["more"] * 6,
    )
    os.symlink(exp.name, exp.parent / "latest")
    a = read_run(f"{exp}:base")
    assert a.variant == "base" and list(a.runs["unit_fill_rate"]) == A_FILL
    _, _, c = compare_runs(f"{exp.parent / 'latest'}:base", "demo:more", results=tmp_path / "results")
    assert c.method == "paired" and c.table.set_index("metric").loc["unit_fill_rate", "excludes_zero"]
    # results/<name> means its latest run
    assert list(read_run("demo:more", tmp_path / "results").runs["total_cost"]) == B_COST
    with pytest.raises(CompareError, match="unknown variant 'nope'; the variants are base, more"):
        read_run(f"{exp}:nope")
    with pytest.raises(CompareError, match="pick one with"):
        read_run(str(exp))


def _cli(tmp_path, *argv) -> int:
    return run.main(["compare", *argv, "--results", str(tmp_path / "out_root")])


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "no such run folder"),
        ("empty", "not a finished simulate or experiment run folder"),
        ("variant_of_simulate", "is a simulate run; it has no variants"),
        ("no_common", "have no KPI in common"),
        ("unknown_metric", "--metric nonsense: not a KPI of both runs"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, runs, case, message):
    a, b, _ = runs
    args = {
        "missing": [str(a), str(tmp_path / "nowhere")],
        "empty": [str(a), str((tmp_path / "empty").mkdir() or tmp_path / "empty")],
        "variant_of_simulate": [str(a), f"{b}:base"],
        "no_common": [str(a), str(_run(tmp_path / "d", SEEDS, {"not_a_kpi": A_FILL}))],
        "unknown_metric": [str(a), str(b), "--metric", "nonsense"],
    }[case]
    assert _cli(tmp_path, *args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].endswith("nothing was written."), err
    assert not (tmp_path / "out_root").exists()


def test_cli_on_real_simulate_runs_writes_the_report(tmp_path, capsys):
    sq = str(ROOT / "scenarios" / "classroom_sq.yaml")
    common = ["-n", "4", "--set", "horizon_days=200"]
    assert run.main(["simulate", sq, *common, "--out", str(tmp_path / "r3")]) == 0
    assert (
        run.main(["simulate", sq, *common, "--set", "inventory.policy.reorder_point=5", "--out", str(tmp_path / "r5")])
        == 0
    )
    capsys.readouterr()
    assert (
        run.main(
            [
                "compare",
                str(tmp_path / "r3"),
                str(tmp_path / "r5"),
                "--out",
                str(tmp_path / "cmp"),
                "--results",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "paired differences on 4 common replication seeds" in out
    assert "unit_fill_rate" in out and " pp" in out and " *" in out
    table = read_csv(tmp_path / "cmp" / "compare.csv")
    assert (tmp_path / "cmp" / "compare.parquet").is_file()
    md = (tmp_path / "cmp" / "compare.md").read_text()
    assert "| unit_fill_rate |" in md and "common random numbers" in md
    row = table.set_index("metric").loc["unit_fill_rate"]
    assert row.difference > 0 and row.excludes_zero
    kpis = [read_csv(tmp_path / r / "kpis.csv") for r in ("r3", "r5")]
    d = kpis[1]["unit_fill_rate"] - kpis[0]["unit_fill_rate"]
    assert row.difference == pytest.approx(d.mean(), rel=1e-12)
    # default location: results/compare/<run-id>/
    assert (
        run.main(
            [
                "compare",
                str(tmp_path / "r3"),
                str(tmp_path / "r5"),
                "--results",
                str(tmp_path / "res"),
                "--metric",
                "total_cost",
            ]
        )
        == 0
    )
    made = list((tmp_path / "res" / "compare").iterdir())
    assert len(made) == 1 and (made[0] / "compare.md").is_file()
