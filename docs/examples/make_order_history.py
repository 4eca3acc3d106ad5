"""A realistic example order history: a simulated year of docs/examples/shop.yaml as a marketplace export.

    python docs/examples/make_order_history.py [--out results/examples/order_history.csv] [--seed 7]
                                               [--scale 1.0] [--days N] [--clean]

Simulates the scenario (``load_scenario``, ``simulate(record_orders=True)``, ``order_lines``),
then writes what a marketplace back office exports: one row per order line with the columns
"Order No", "Created At" (local time, ISO with "+08:00"), "SKU Code", "Qty", "Unit Price",
"Ship Region", "Warehouse", "Carrier", "Promised Date", "Delivered At", "Returned" (yes/no) and
"Order Status" (Completed, Shipped, Processing, Cancelled, Returned). Lines of one order with
the same SKU are merged into one row, as back offices do. About 1.5% of orders are cancelled
and about 6% of delivered lines returned (more for some SKUs).

Unless ``--clean``, the export gets the dirt of real exports, drawn from the seed, each kind on
rows of its own (so each can be counted): exact duplicated rows, missing or non-numeric or
negative Qty, "N/A" or empty Unit Price, malformed timestamps, timestamps in UTC ("Z": the right
instant in another zone), a two-day gap (an export outage on two ordinary days) and SKU codes in
lower case or with trailing spaces. The counts are printed and written with the generating
parameters to ``<out>.truth.json`` (for tests). ``--scale`` multiplies the base order rate: a
year is ~293,000 rows at 1 (~10 s), ~1.3 million at ``--scale 4.5`` (~47 s, 2 GB); ``--scale 3.5``
gives about a million. docs/examples/order_history.mapping.yaml maps the columns onto ecomlab's
order-line fields.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sim import InputError, load_scenario, simulate  # noqa: E402
from sim.model.catalog import catalog_for  # noqa: E402
from sim.model.demand import promotion_days  # noqa: E402
from sim.model.order_lines import order_lines  # noqa: E402
from sim.scenario.schema import Scenario  # noqa: E402

SCENARIO = Path(__file__).resolve().parent / "shop.yaml"
DEFAULT_OUT = ROOT / "results" / "examples" / "order_history.csv"
OFFSET = "+08:00"  # the shop's local time (the simulation's clock)
LOCAL_TO_UTC = pd.Timedelta(hours=8)
COLUMNS = [
    "Order No",
    "Created At",
    "SKU Code",
    "Qty",
    "Unit Price",
    "Ship Region",
    "Warehouse",
    "Carrier",
    "Promised Date",
    "Delivered At",
    "Returned",
    "Order Status",
]
STATUS = {
    "delivered": "Completed",
    "in_transit": "Shipped",
    "in_warehouse": "Processing",
    "backordered": "Processing",
    "lost": "Cancelled",
}
CANCEL_RATE = 0.015  # of orders
RETURN_RATE = 0.05  # of delivered lines, for most SKUs ...
RETURN_RATE_HIGH = 0.20  # ... and for the SKUs customers often send back (apparel sizes, gadgets)
HIGH_RETURN_SHARE = 0.10  # share of SKUs with the high rate
#: dirt per row kind: (rate of rows, at least, at most) -> the number of rows it touches
ROW_DIRT = {
    "missing_qty": (0.002, 2, 10**9),
    "bad_qty": (1e-4, 3, 60),
    "bad_price": (0.001, 2, 10**9),
    "bad_timestamp": (1e-4, 3, 60),
    "sku_lower": (2e-5, 2, 12),
    "sku_trailing_space": (2e-5, 2, 12),
}
DUPLICATE_RATE = 0.004  # rows exported twice
UTC_ORDER_RATE = 0.02  # orders whose timestamps came out in UTC
BAD_QTY = np.array(["two", "1 pcs", "-1", "-2", "x", "-3", "1,0", "?"], dtype=object)
BAD_TIMESTAMP = np.array(["31/02/2025 10:00", "n/a", "", "2025-13-01 10:00", "00/00/0000", "NULL"], dtype=object)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="CSV to write (default results/examples/...)")
    p.add_argument("--seed", type=int, default=7, help="master seed of the simulation and of the dirt (default 7)")
    p.add_argument("--scale", type=float, default=1.0, help="multiplies base_orders_per_day (default 1)")
    p.add_argument("--days", type=int, default=None, help="horizon in days (default: the scenario's 365)")
    p.add_argument("--scenario", type=Path, default=SCENARIO, help="scenario (default docs/examples/shop.yaml)")
    p.add_argument("--clean", action="store_true", help="no dirt: the export as the simulation made it")
    args = p.parse_args(argv)
    if not 0 < args.scale <= 50:
        p.error(f"--scale must be in (0, 50], not {args.scale}")
    if args.days is not None and not 3 <= args.days <= 3660:
        p.error(f"--days must be in 3..3660, not {args.days}")
    return args


def load(args: argparse.Namespace) -> Scenario:
    """The scenario with the base rate scaled (and the horizon cut with ``--days``)."""
    base = load_scenario(args.scenario)
    overrides = [f"demand.base_orders_per_day={base.demand.base_orders_per_day * args.scale!r}"]
    if args.days is not None:
        overrides.append(f"horizon_days={args.days}")
    return load_scenario(args.scenario, overrides)


def stamp(times: pd.Series, suffix: str) -> np.ndarray:
    """ISO timestamps to the second with ``suffix`` ("+08:00", "Z"); empty where NaT."""
    values = times.to_numpy(dtype="datetime64[s]")
    text = np.datetime_as_string(values, unit="s").astype(object) + suffix
    text[np.isnat(values)] = ""
    return text


def merged_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per (order, SKU): lines of an order with the same SKU merged, quantities added."""
    first = lines.drop_duplicates(["order_id", "sku"]).set_index(["order_id", "sku"])
    qty = lines.groupby(["order_id", "sku"], sort=False)["quantity"].sum()
    out = first.assign(quantity=qty.reindex(first.index).to_numpy()).reset_index()
    return out[list(lines.columns)]


def returns_and_cancellations(t: pd.DataFrame, n_sku: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(line returned, order status text) per row: the shop's cancellations and customers' returns."""
    orders = t["order_id"].to_numpy()
    n_orders = int(orders.max()) + 1 if len(orders) else 0
    cancelled = (rng.random(n_orders) < CANCEL_RATE)[orders]
    high = rng.random(n_sku) < HIGH_RETURN_SHARE
    sku_index = t["sku_index"].to_numpy()
    rate = np.where(high[sku_index], RETURN_RATE_HIGH, RETURN_RATE)
    delivered = (t["status"].to_numpy() == "delivered") & ~cancelled
    returned = delivered & (rng.random(len(t)) < rate)
    all_returned = np.bincount(orders, weights=returned, minlength=n_orders) == np.bincount(orders, minlength=n_orders)
    status = pd.Series(t["status"]).map(STATUS).to_numpy(dtype=object)
    status[cancelled] = "Cancelled"
    status[delivered & all_returned[orders]] = "Returned"
    return returned, status


def export_frame(lines: pd.DataFrame, scenario: Scenario, seed: int) -> pd.DataFrame:
    """The clean export: one row per (order, SKU), the back office's columns, all text."""
    ids = catalog_for(scenario).index()
    t = merged_lines(lines)
    t["sku_index"] = t["sku"].map(ids).to_numpy(np.int64)
    returned, status = returns_and_cancellations(t, len(ids), np.random.default_rng([seed, 1]))
    cancelled = status == "Cancelled"
    delivered_at = stamp(t["delivered_at"], OFFSET)
    delivered_at[cancelled] = ""
    return pd.DataFrame(
        {
            "Order No": "SO" + (t["order_id"] + 10_000_001).astype(str).str.zfill(8),
            "Created At": stamp(t["placed_at"], OFFSET),
            "SKU Code": t["sku"].to_numpy(dtype=object),
            "Qty": t["quantity"].astype(str).to_numpy(dtype=object),
            "Unit Price": np.char.mod("%.2f", t["unit_price"].to_numpy(float)).astype(object),
            "Ship Region": t["region"].to_numpy(dtype=object),
            "Warehouse": t["warehouse"].to_numpy(dtype=object),
            "Carrier": t["carrier"].to_numpy(dtype=object),
            "Promised Date": np.datetime_as_string(t["promised_date"].to_numpy(dtype="datetime64[D]")).astype(object),
            "Delivered At": delivered_at,
            "Returned": np.where(returned, "yes", "no").astype(object),
            "Order Status": status,
        },
        columns=COLUMNS,
    ).assign(_placed=t["placed_at"].to_numpy())


def gap_days(scenario: Scenario, rng: np.random.Generator) -> list[dt.date]:
    """Two consecutive ordinary days (no promotion, no pre-sale dip or hangover) for the export outage."""
    horizon = scenario.horizon_days
    special = np.zeros(horizon + 1, dtype=bool)
    for first, end, promo in promotion_days(scenario):
        special[max(first - promo.pre_days, 0) : max(min(end + promo.post_days, horizon), 0)] = True
    ok = ~special[:-2] & ~special[1:-1]
    ok[: min(2, len(ok))] = False  # not the first days: the history has to start somewhere
    candidates = np.flatnonzero(ok[: horizon - 1])
    if not len(candidates):
        return []
    d = int(rng.choice(candidates))
    return [scenario.start_date + dt.timedelta(days=d + i) for i in range(2)]


def dirt_rows(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Disjoint random row sets for each row kind of ``ROW_DIRT`` (and for the rows to duplicate)."""
    sizes = {k: int(np.clip(round(rate * n), lo, hi)) for k, (rate, lo, hi) in ROW_DIRT.items()}
    sizes["duplicate"] = max(1, round(DUPLICATE_RATE * n))
    if sum(sizes.values()) > n // 2:
        sizes = {k: 0 for k in sizes}  # too few rows to dirty
    order = rng.permutation(n)
    out, at = {}, 0
    for kind, size in sizes.items():
        out[kind] = np.sort(order[at : at + size])
        at += size
    return out


def add_dirt(frame: pd.DataFrame, scenario: Scenario, seed: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The export with every kind of dirt, each on rows of its own; (frame, counts and gap dates)."""
    rng = np.random.default_rng([seed, 2])
    gap = gap_days(scenario, rng)
    local_day = frame["_placed"].dt.date
    dropped = local_day.isin(gap).to_numpy()
    f = frame.loc[~dropped].reset_index(drop=True)
    rows = dirt_rows(len(f), rng)
    qty, price, created, sku = (
        f[c].to_numpy(dtype=object).copy() for c in ("Qty", "Unit Price", "Created At", "SKU Code")
    )
    qty[rows["missing_qty"]] = ""
    qty[rows["bad_qty"]] = rng.choice(BAD_QTY, len(rows["bad_qty"]))
    price[rows["bad_price"]] = rng.choice(np.array(["N/A", ""], dtype=object), len(rows["bad_price"]))
    orders = f["Order No"].to_numpy()
    order_codes, inverse = np.unique(orders, return_inverse=True)
    utc_orders = (rng.random(len(order_codes)) < UTC_ORDER_RATE)[inverse]
    utc_orders[rows["bad_timestamp"]] = False
    created[utc_orders] = stamp(f.loc[utc_orders, "_placed"] - LOCAL_TO_UTC, "Z")
    created[rows["bad_timestamp"]] = rng.choice(BAD_TIMESTAMP, len(rows["bad_timestamp"]))
    sku[rows["sku_lower"]] = np.char.lower(sku[rows["sku_lower"]].astype(str)).astype(object)
    sku[rows["sku_trailing_space"]] = sku[rows["sku_trailing_space"]] + "  "
    f = f.assign(**{"Qty": qty, "Unit Price": price, "Created At": created, "SKU Code": sku})
    dup = rows["duplicate"]
    position = np.concatenate([np.arange(len(f)), dup + 0.5])  # each copy right after its row
    f = pd.concat([f, f.iloc[dup]], ignore_index=True).iloc[np.argsort(position, kind="stable")]
    counts = {
        "duplicated_rows": len(dup),
        **{k: len(rows[k]) for k in ROW_DIRT},
        "utc_timestamps": int(utc_orders.sum()),
        "utc_orders": len(np.unique(orders[utc_orders])),
        "gap_rows_dropped": int(dropped.sum()),
    }
    return f.reset_index(drop=True), {"counts": counts, "gap_days": [d.isoformat() for d in gap]}


def shown_path(path: Path) -> str:
    """``path`` relative to the repository when it is inside it (the truth file does not name the machine)."""
    try:
        return Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def truth(scenario: Scenario, args: argparse.Namespace, frame: pd.DataFrame, dirt: dict[str, Any]) -> dict[str, Any]:
    """The generating parameters and the dirt counts, for tests and for checking a fit."""
    d = scenario.demand
    return {
        "scenario": shown_path(args.scenario),
        "seed": args.seed,
        "scale": args.scale,
        "clean": bool(args.clean),
        "start_date": scenario.start_date.isoformat(),
        "horizon_days": scenario.horizon_days,
        "timezone": OFFSET,
        "rows": len(frame),
        "base_orders_per_day": d.base_orders_per_day,
        "weekday_factors": list(d.weekday_factors),
        "monthly_factors": list(d.monthly_factors),
        "promotions": [p.model_dump(mode="json", by_alias=True) for p in d.promotions],
        "regions": [{"name": r.name, "share": r.share} for r in d.regions],
        "sku_count": scenario.catalog.generate.count if scenario.catalog.generate else None,
        "pareto_alpha": scenario.catalog.generate.pareto_alpha if scenario.catalog.generate else None,
        "lines_per_order": d.lines_per_order.model_dump(mode="json", by_alias=True),
        "units_per_line": d.units_per_line.model_dump(mode="json", by_alias=True),
        "same_sku_lines_merged": True,
        "cancel_rate": CANCEL_RATE,
        "return_rate": {
            "most_skus": RETURN_RATE,
            "high_return_skus": RETURN_RATE_HIGH,
            "high_share": HIGH_RETURN_SHARE,
        },
        "dirt": dirt["counts"],
        "gap_days": dirt["gap_days"],
    }


def write_atomic(path: Path, write) -> None:
    """Write ``path`` through ``write(tmp)`` to a temp name beside it, then rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Simulate, export, dirty (unless --clean), write the CSV and its truth JSON; print what was done."""
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        scenario = load(args)
    except InputError as exc:
        print(exc, file=sys.stderr)
        return 2
    result = simulate(scenario, seed=args.seed, record_orders=True)
    frame = export_frame(order_lines(result, scenario), scenario, args.seed)
    if args.clean:
        kinds = ["duplicated_rows", *ROW_DIRT, "utc_timestamps", "utc_orders", "gap_rows_dropped"]
        dirt: dict[str, Any] = {"counts": dict.fromkeys(kinds, 0), "gap_days": []}
    else:
        frame, dirt = add_dirt(frame, scenario, args.seed)
    frame = frame.drop(columns=["_placed"])
    write_atomic(args.out, lambda tmp: frame.to_csv(tmp, index=False))
    info = truth(scenario, args, frame, dirt)
    truth_path = args.out.with_name(args.out.name + ".truth.json")
    write_atomic(truth_path, lambda tmp: tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8"))
    orders = frame["Order No"].nunique()
    print(
        f"wrote {args.out}: {len(frame):,} rows, {orders:,} orders, {scenario.horizon_days} days "
        f"({time.perf_counter() - start:.1f} s)"
    )
    for kind, count in dirt["counts"].items():
        print(f"  {kind}: {count}")
    if dirt["gap_days"]:
        print(f"  gap_days: {', '.join(dirt['gap_days'])}")
    print(f"wrote {truth_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
