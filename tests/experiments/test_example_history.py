"""docs/examples/make_order_history.py: the example order history and its dirt, counted from the rows.

The script runs in-process at a small scale (a tenth of the orders, 60 days). Each kind of dirt
it says it added (printed and in ``<out>.truth.json``) is found again in the CSV by a plain
detector, row for row; the clean export has none of it, and its quantities are the simulated
order lines' units; the same seed gives the same file.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import ROOT

SCRIPT = ROOT / "docs" / "examples" / "make_order_history.py"
MAPPING = ROOT / "docs" / "examples" / "order_history.mapping.yaml"
SMALL = ["--scale", "0.1", "--days", "60", "--seed", "3"]
ISO_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _script():
    spec = importlib.util.spec_from_file_location("make_order_history", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _make(tmp_path, name: str, *extra: str) -> tuple[pd.DataFrame, dict, str]:
    out = tmp_path / name
    assert _script().main(["--out", str(out), *SMALL, *extra]) == 0
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    truth = json.loads((tmp_path / f"{name}.truth.json").read_text(encoding="utf-8"))
    return frame, truth, out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def dirty(tmp_path_factory):
    return _make(tmp_path_factory.mktemp("dirty"), "history.csv")


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return _make(tmp_path_factory.mktemp("clean"), "history.csv", "--clean")


def found_dirt(f: pd.DataFrame) -> dict[str, int]:
    """Count each kind of dirt as a cleaning step would find it."""
    qty, price, ts, sku = f["Qty"], f["Unit Price"], f["Created At"], f["SKU Code"]
    numeric_qty = qty.str.fullmatch(r"\d+")
    valid_ts = ts.str.match(ISO_LOCAL) | ts.str.match(ISO_UTC)
    return {
        "duplicated_rows": int(f.duplicated().sum()),
        "missing_qty": int((qty == "").sum()),
        "bad_qty": int(((qty != "") & ~numeric_qty).sum()),
        "bad_price": int(price.isin(["N/A", ""]).sum()),
        "bad_timestamp": int((~valid_ts).sum()),
        "utc_timestamps": int(ts.str.match(ISO_UTC).sum()),
        "sku_lower": int((sku.str.strip() != sku.str.strip().str.upper()).sum()),
        "sku_trailing_space": int((sku != sku.str.rstrip()).sum()),
    }


def test_every_kind_of_dirt_it_reports_is_in_the_rows(dirty):
    frame, truth, _ = dirty
    found = found_dirt(frame)
    for kind, count in found.items():
        assert count == truth["dirt"][kind], kind
        assert count > 0, f"{kind}: the small export should still have some"
    assert truth["rows"] == len(frame)
    assert 0.01 < truth["dirt"]["utc_timestamps"] / len(frame) < 0.03
    assert 0.002 < truth["dirt"]["duplicated_rows"] / len(frame) < 0.006


def test_the_utc_timestamps_are_the_right_instants(dirty, clean):
    frame, _, _ = dirty
    base, _, _ = clean
    utc = frame[frame["Created At"].str.endswith("Z")].drop_duplicates()
    local = base.drop_duplicates(["Order No", "SKU Code"]).set_index(["Order No", "SKU Code"])["Created At"]
    key = list(zip(utc["Order No"], utc["SKU Code"].str.strip().str.upper()))
    want = pd.to_datetime(local.loc[key].to_numpy(), utc=True)
    got = pd.to_datetime(utc["Created At"].to_numpy(), utc=True)
    assert (got == want).all()


def test_the_gap_is_two_ordinary_days_with_no_rows(dirty):
    frame, truth, _ = dirty
    ts = frame["Created At"]
    ok = ts.str.match(ISO_LOCAL) | ts.str.match(ISO_UTC)
    local = pd.to_datetime(ts[ok], utc=True).dt.tz_convert("Asia/Shanghai").dt.date
    gap = [dt.date.fromisoformat(d) for d in truth["gap_days"]]
    assert len(gap) == 2 and gap[1] - gap[0] == dt.timedelta(days=1)
    start = dt.date.fromisoformat(truth["start_date"])
    every = {start + dt.timedelta(days=i) for i in range(truth["horizon_days"])}
    assert set(local) == every - set(gap)
    assert truth["dirt"]["gap_rows_dropped"] > 0


def test_the_clean_export_has_no_dirt_and_the_simulated_units(clean):
    frame, truth, _ = clean
    assert all(v == 0 for v in found_dirt(frame).values()) and all(v == 0 for v in truth["dirt"].values())
    assert list(frame.columns) == list(yaml.safe_load(MAPPING.read_text(encoding="utf-8"))["columns"].values())
    from sim.model.order_lines import order_lines
    from sim.model.shop import simulate

    scenario = _script().load(_script().parse_args(SMALL))
    lines = order_lines(simulate(scenario, seed=3, record_orders=True), scenario)
    assert frame["Qty"].astype(int).sum() == lines["quantity"].sum()
    assert frame["Order No"].nunique() == lines["order_id"].nunique()
    assert not frame.duplicated(["Order No", "SKU Code"]).any()  # same-SKU lines merged
    assert truth["base_orders_per_day"] == pytest.approx(45.0)


def test_cancellations_and_returns_are_about_the_stated_rates(clean):
    frame, truth, _ = clean
    assert truth["cancel_rate"] == 0.015
    orders = frame.drop_duplicates("Order No")
    cancelled = (orders["Order Status"] == "Cancelled").mean()
    delivered = frame[frame["Delivered At"] != ""]
    returned = (delivered["Returned"] == "yes").mean()
    assert 0.005 < cancelled < 0.03  # 1.5% of orders (about 2,700 orders here)
    assert 0.04 < returned < 0.09  # ~6.5% of delivered lines
    assert (frame.loc[frame["Order Status"] == "Cancelled", "Returned"] == "no").all()
    assert np.isin(
        frame["Order Status"].unique(), ["Completed", "Shipped", "Processing", "Cancelled", "Returned"]
    ).all()


def test_the_same_seed_gives_the_same_file_and_prints_the_counts_it_has(dirty, tmp_path, capsys):
    frame, _, text = _make(tmp_path, "again.csv")
    assert text == dirty[2]
    printed = dict(re.findall(r"^  (\w+): (\d+)$", capsys.readouterr().out, flags=re.M))
    for kind, count in found_dirt(frame).items():
        assert int(printed[kind]) == count, kind


def test_a_bad_scale_is_one_line_and_nothing_written(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        _script().main(["--out", str(tmp_path / "x.csv"), "--scale", "0"])
    assert exc.value.code == 2
    assert "--scale must be in" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
