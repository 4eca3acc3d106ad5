"""Exports: every table as CSV + Parquet, the formatted Excel summary, the per-order table.

* Parquet holds the same content as the CSV beside it (written back as CSV it is the same text);
* ``summary.xlsx`` opens with openpyxl: summary and paired sheets, bold frozen header, rates as
  percentages, money with thousands separators;
* ``simulate --orders`` writes one row per order, and the KPIs follow from it: statuses sum to
  ``orders``, on-time flags give ``on_time_rate`` and ``late_orders``.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from exp_helpers import latest, read_csv, run_cli, write_spec
from helpers import ROOT

import run
from experiments.output import atomic_write, atomic_write_text, write_table, write_workbook
from experiments.stats import paired_differences, summarize
from sim.model.records import COLUMNS


def assert_parquet_matches_csv(folder: Path, name: str) -> pd.DataFrame:
    csv, parquet = folder / f"{name}.csv", folder / f"{name}.parquet"
    assert csv.is_file() and parquet.is_file(), name
    frame = pd.read_parquet(parquet)
    assert frame.to_csv(index=False) == csv.read_text(encoding="utf-8"), name
    pd.testing.assert_frame_equal(read_csv(csv), read_csv(csv))  # the CSV itself parses
    assert len(frame) == len(read_csv(csv))
    return frame


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = atomic_write_text(tmp_path / "out" / "report.md", "old\n")
    mask = os.umask(0o022)
    os.umask(mask)
    assert target.read_text(encoding="utf-8") == "old\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask  # a normal file, not mkstemp's 0600

    def half_written(tmp: Path) -> None:
        tmp.write_text("new, but only ha", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half_written)
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.md"]  # no temp file left


def test_write_table_round_trips_mixed_columns(tmp_path):
    frame = pd.DataFrame(
        {
            "variant": ["a", "b", "c"],
            "reorder_point": [3, "eoq", None],
            "x": [1.5, math.nan, 1e-17],
            "ok": [True, False, True],
            "date": pd.to_datetime(["2026-11-11", "2026-11-12", "2026-11-13"]),
        }
    )
    paths = write_table(tmp_path, "t", frame)
    assert [p.name for p in paths] == ["t.csv", "t.parquet"]
    back = assert_parquet_matches_csv(tmp_path, "t")
    assert back["ok"].dtype == bool and str(back["date"].dtype).startswith("datetime64")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.parquet"]  # no temp files left


def _tables():
    rows = []
    rng = np.random.default_rng(4)
    for variant, shift in (("base", 0.0), ("more", 0.02)):
        for r in range(5):
            rows.append(
                {
                    "variant": variant,
                    "replication": r,
                    "status": "ok",
                    "unit_fill_rate": 0.9 + shift + rng.normal(0, 0.01),
                    "total_cost": 1_234_567.0 + 1000 * r + 5000 * shift,
                    "orders": 40_000.0 + r,
                }
            )
    runs = pd.DataFrame(rows)
    metrics = ["unit_fill_rate", "total_cost", "orders"]
    return summarize(runs, metrics), paired_differences(runs, metrics, "base")


def test_workbook_has_formatted_summary_and_paired_sheets(tmp_path):
    summary, paired = _tables()
    path = write_workbook(tmp_path / "summary.xlsx", {"summary": summary, "paired": paired})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.xlsx"]
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["summary", "paired"]
    for ws, frame in ((wb["summary"], summary), (wb["paired"], paired)):
        header = [c.value for c in ws[1]]
        assert header == list(frame.columns)
        assert all(c.font.bold for c in ws[1])
        assert ws.freeze_panes == "A2"
        assert ws.max_row == len(frame) + 1
        widths = [ws.column_dimensions[chr(65 + j)].width for j in range(len(header))]
        assert all(w >= len(h) + 2 for w, h in zip(widths, header))
    ws = wb["summary"]
    cols = [c.value for c in ws[1]]
    formats = {}
    for row in ws.iter_rows(min_row=2):
        values = {cols[j]: c for j, c in enumerate(row)}
        formats[(values["variant"].value, values["metric"].value)] = values
    fill = formats[("base", "unit_fill_rate")]
    assert fill["mean"].number_format == "0.0%" and fill["half_width"].number_format == "0.00%"
    assert isinstance(fill["mean"].value, float)
    assert fill["mean"].value == pytest.approx(summary.iloc[0]["mean"])
    assert formats[("base", "total_cost")]["mean"].number_format == "#,##0.00"
    assert formats[("base", "orders")]["mean"].number_format == "#,##0.0"
    assert formats[("base", "orders")]["n"].number_format == "#,##0"
    ws = wb["paired"]
    cols = [c.value for c in ws[1]]
    row = {cols[j]: c for j, c in enumerate(ws[2])}
    assert row["metric"].value == "unit_fill_rate" and row["mean_diff"].number_format == "0.0%"
    assert row["excludes_zero"].value in (True, False)


# --------------------------------------------------------------------------- simulate
@pytest.fixture(scope="module")
def simulate_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "run"
    code = run.main(
        [
            "simulate",
            str(ROOT / "scenarios" / "multi_warehouse.yaml"),
            "-n",
            "2",
            "--set",
            "horizon_days=30",
            "--set",
            "warmup_days=5",
            "--orders",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


def test_simulate_writes_every_table_as_csv_and_parquet_and_a_workbook(simulate_run):
    for name in ("kpis", "summary", "daily", "orders"):
        assert_parquet_matches_csv(simulate_run, name)
    wb = openpyxl.load_workbook(simulate_run / "summary.xlsx")
    assert wb.sheetnames == ["summary"]


def test_order_table_conserves_orders_and_explains_the_kpis(simulate_run):
    orders = pd.read_parquet(simulate_run / "orders.parquet")
    kpis = read_csv(simulate_run / "kpis.csv")
    assert list(orders.columns) == ["replication", *COLUMNS]
    assert set(orders["status"]) <= {"delivered", "in_transit", "in_warehouse", "backordered", "lost"}
    for rep, k in kpis.set_index("replication").iterrows():
        t = orders[orders["replication"] == rep]
        assert (t["order_id"].to_numpy() == np.arange(len(t))).all()  # one row per order
        post = t[~t["warmup"]]
        assert post["status"].value_counts().sum() == len(post) == k["orders"]
        due = post[post["due"]]
        assert due["on_time"].mean() == pytest.approx(k["on_time_rate"], abs=1e-12)
        assert int((~due["on_time"]).sum()) == k["late_orders"]
        delivered = post[post["status"] == "delivered"]
        assert delivered["delivered_at"].notna().all() and (delivered["click_to_door_hours"] > 0).all()
        assert post.loc[post["status"] != "delivered", "delivered_at"].isna().all()
        assert (post["warehouses"] != "").all() and (delivered["carrier"] != "").all()
        assert (post["lines"] >= 1).all() and (post["units"] >= post["lines"]).all()
        placed = post["placed_at"].dt.normalize()
        assert (post["promised_date"] >= placed).all()
        assert (delivered["shipping_cost"] > 0).all()


# --------------------------------------------------------------------------- experiment
def test_experiment_writes_parquet_and_a_two_sheet_workbook(tmp_path):
    spec = write_spec(tmp_path, replications=3, set={"horizon_days": 120}, daily_metrics=["orders"])
    out = tmp_path / "out"
    assert run_cli(spec, out, "--executor", "serial", "--quiet") == 0
    folder = latest(out)
    for name in ("runs", "summary", "paired", "daily"):
        assert_parquet_matches_csv(folder, name)
    wb = openpyxl.load_workbook(folder / "summary.xlsx")
    assert wb.sheetnames == ["summary", "paired"]
    assert wb["paired"].max_row == len(read_csv(folder / "paired.csv")) + 1


def test_experiment_orders_table_has_every_order_of_every_variant_and_replication(tmp_path):
    """`experiment --orders`: one row per order per (variant, replication); the KPIs of a run
    that also came from the cache are the same, and the per-order tables are recomputed."""
    spec = write_spec(tmp_path, replications=2, set={"horizon_days": 90})
    out = tmp_path / "out"
    assert run_cli(spec, out, "--executor", "serial", "--quiet") == 0  # fills the cache
    assert run_cli(spec, out, "--executor", "serial", "--quiet", "--orders") == 0
    folder = latest(out)
    assert_parquet_matches_csv(folder, "orders")
    orders = pd.read_parquet(folder / "orders.parquet")
    runs = read_csv(folder / "runs.csv")
    assert len(runs) == 2 * runs["variant"].nunique()
    for _, r in runs.iterrows():
        t = orders[(orders["variant"] == r["variant"]) & (orders["replication"] == r["replication"])]
        assert (t["order_id"].to_numpy() == np.arange(len(t))).all()
        assert int((~t["warmup"]).sum()) == r["orders"]
