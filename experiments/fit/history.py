"""An order-line export read and cleaned by stated rules, with a count of every line dropped or changed.

Messy data is the normal case. Each rule below either repairs a line (and counts it) or
drops it (and names its file line); ``History.notes`` holds one line per kind of problem:

* **duplicates** — a line identical in every mapped column to an earlier one (``line_no``
  included when the export has it) is an export artefact: dropped;
* **order id, timestamp, SKU missing or malformed** — the line is dropped;
* **quantity** missing, not a number or not positive: dropped; a fraction is rounded (at least 1);
* **unit price** missing or not a number: the SKU's median price of its other lines is used;
  a line whose SKU has no valid price is dropped;
* **time zones** — a timestamp with an offset (``+08:00``, ``Z``) is converted to the shop's
  local time (``timezone``; default: the most common offset); one without is taken as local;
* **SKU codes** are trimmed; codes that differ only in letter case are one SKU (its most
  common spelling);
* **cancelled lines** (``status`` in ``cancelled``) are not demand: dropped and counted;
* **returned lines** are demand (the sale happened): kept, and the return rate is reported;
* **gaps in the calendar** — a day without a single order amid busy days (its neighbours'
  median is >= 10 orders, so no orders by chance has probability < 5e-5) is missing data
  (an export outage): left out of the fit, not read as a day of zero demand.

Fatal problems (``InputError``, exit 2, nothing written): the file missing or unreadable, a
required column missing, more than half of the lines unusable (the mapping is probably
wrong), fewer than 28 days of history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.fit.mapping import OPTIONAL, REQUIRED, FitMapping, header_lines, tzinfo
from sim.scenario.errors import InputError, Problem

__all__ = ["MAX_FILE_BYTES", "MIN_DAYS", "History", "Note", "read_history"]

MAX_FILE_BYTES = 2 * 2**30  # 2 GiB (about 20 million lines): more needs --allow-large
MIN_DAYS = 28  # four weeks: every weekday seen four times
SHOWN_LINES = 5  # file lines named per kind of problem
GAP_NEIGHBOURS = 10.0  # a zero day amid days with this median is an export gap


SINGULAR = {"have": "has", "are": "is", "repeat": "repeats", "carry": "carries", "differ": "differs"}


@dataclass(frozen=True)
class Note:
    """One kind of problem: how many lines, what was done, the first file lines it hit."""

    kind: str
    count: int
    action: str
    lines: tuple[int, ...] = ()
    column: str = ""

    def text(self, file: str) -> str:
        """``FILE:LINE: column 'Qty' (quantity): N lines ...: ACTION (lines a, b, ...)``."""
        if self.count == 0:  # a finding about days or SKUs, not lines
            return f"{file}: {self.kind.removeprefix('— ')}: {self.action}"
        first = f":{self.lines[0]}" if self.lines else ""
        where = f"column {self.column}: " if self.column else ""
        more = f" (lines {', '.join(map(str, self.lines))}{', ...' if self.count > len(self.lines) else ''})"
        shown = more if self.lines else ""
        kind = self.kind
        if self.count == 1:  # "1 line has", "1 line is", ...
            verb, _, rest = kind.partition(" ")
            kind = f"{SINGULAR.get(verb, verb)} {rest}".strip()
        return f"{file}{first}: {where}{self.count:,} {'line' if self.count == 1 else 'lines'} {kind}: {self.action}{shown}"


@dataclass
class History:
    """The clean order lines (one row each) and what cleaning did.

    ``lines`` columns: ``order_id``, ``time`` (local, naive), ``date``, ``sku``, ``quantity`` (int),
    ``unit_price`` and every optional field present. ``orders``: one row per order (``order_id``,
    ``time``, ``date``, ``lines``, ``units``, ``value``, ``region``...). ``days``: the calendar
    from the first to the last day with ``orders`` and ``gap`` (missing data).
    """

    file: str
    lines: pd.DataFrame
    orders: pd.DataFrame
    days: pd.DataFrame
    rows_read: int
    notes: list[Note] = field(default_factory=list)
    timezone: str = ""
    present: tuple[str, ...] = ()

    def summary(self) -> list[str]:
        """One line per kind of problem, then the totals kept."""
        out = [n.text(self.file) for n in self.notes]
        kept = len(self.lines)
        out.append(
            f"{self.file}: {self.rows_read:,} lines read, {kept:,} kept ({len(self.orders):,} orders over "
            f"{len(self.days):,} days, {int(self.days['gap'].sum())} of them gaps); times in {self.timezone}"
        )
        return out


def _read_table(path: Path, columns: list[str], skip: int = 0) -> pd.DataFrame:
    """The mapped columns of a CSV (as text) or Parquet file; one Problem for a missing or bad file."""
    name = str(path)
    if not path.is_file():
        raise InputError([Problem(name, None, "", "no such file")])
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            have = pq.read_schema(path).names
            _check_columns(name, have, columns)
            return pd.read_parquet(path, columns=columns)
        if suffix in (".csv", ".txt", ".gz"):
            head = pd.read_csv(path, nrows=0, skiprows=skip)
            _check_columns(name, list(head.columns), columns, skip + 1)
            return pd.read_csv(path, usecols=columns, dtype=str, keep_default_na=False, na_filter=False, skiprows=skip)
    except InputError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError([Problem(name, None, "", f"cannot be read as {suffix[1:]}: {first}")]) from None
    raise InputError([Problem(name, None, "", f"unknown file type {suffix!r}: give a .csv or .parquet file")])


def _check_columns(name: str, have: list[str], wanted: list[str], line: int = 1) -> None:
    missing = [c for c in wanted if c not in have]
    if missing:
        shown = ", ".join(repr(c) for c in have[:30])
        raise InputError(
            [Problem(name, line, "", f"column {c!r} not found; the file's columns are {shown}") for c in missing]
        )


def _file_lines(frame: pd.DataFrame, mask: np.ndarray, first: int) -> tuple[int, ...]:
    """The first file lines (``first``: the file line of row 0) under ``mask``."""
    idx = np.flatnonzero(mask)[:SHOWN_LINES]
    return tuple(int(i) + first for i in frame.index.to_numpy()[idx])


class _Cleaner:
    """Applies the rules of the module docstring in order, keeping a Note for each kind of problem."""

    def __init__(self, frame: pd.DataFrame, mapping: FitMapping, present: list[str], first: int):
        self.f = frame
        self.m = mapping
        self.present = present
        self.first = first  # the file line (CSV) or row (Parquet) of the frame's row 0
        self.notes: list[Note] = []

    def col(self, field: str) -> str:
        """The column name of ``field`` as written in the mapping ('Qty (quantity)')."""
        name = self.m.column(field)
        return repr(name) if name == field else f"{name!r} ({field})"

    def drop(self, mask: np.ndarray, kind: str, field: str = "", action: str = "dropped") -> None:
        """Drop the rows under ``mask`` with a Note."""
        n = int(mask.sum())
        if n:
            self.notes.append(
                Note(kind, n, action, _file_lines(self.f, mask, self.first), self.col(field) if field else "")
            )
            self.f = self.f.loc[~mask]

    def note(self, mask: np.ndarray, kind: str, field: str, action: str) -> None:
        """A Note for rows repaired in place."""
        n = int(mask.sum())
        if n:
            self.notes.append(Note(kind, n, action, _file_lines(self.f, mask, self.first), self.col(field)))


def _text(series: pd.Series) -> pd.Series:
    return series.astype(str).str.strip() if series.dtype == object or series.dtype.kind in "OSU" else series


def _numbers(series: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """(values, missing, malformed) of a text or numeric column."""
    if series.dtype.kind in "iuf":
        values = series.astype(float)
        return values, values.isna().to_numpy(), np.zeros(len(series), dtype=bool)
    text = series.astype(str).str.strip()
    missing = text.str.lower().isin(["", "nan", "none", "null", "n/a", "na", "-"]).to_numpy()
    values = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
    return values, missing, values.isna().to_numpy() & ~missing


def _times(series: pd.Series, zone: str | None) -> tuple[pd.Series, np.ndarray, np.ndarray, str]:
    """(local naive times, missing, converted from another offset, zone used) of a timestamp column."""
    if series.dtype.kind == "M":
        t = pd.to_datetime(series)
        if t.dt.tz is not None:
            z = tzinfo(zone) if zone else t.dt.tz
            return t.dt.tz_convert(z).dt.tz_localize(None), t.isna().to_numpy(), np.zeros(len(t), bool), str(z)
        return t, t.isna().to_numpy(), np.zeros(len(t), bool), zone or "local (no offsets)"
    text = series.astype(str).str.strip()
    offset = text.str.extract(r"(Z|[+-]\d\d:?\d\d)$", expand=False)
    aware = offset.notna().to_numpy()
    if zone is None and aware.any():
        common = offset[aware].mode().iloc[0]
        zone = "+00:00" if common == "Z" else common
    out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    if aware.any():
        z = tzinfo(zone or "UTC")
        utc = pd.to_datetime(text[aware], utc=True, errors="coerce", format="ISO8601")
        out[aware] = utc.dt.tz_convert(z).dt.tz_localize(None).to_numpy()
    if (~aware).any():
        out[~aware] = pd.to_datetime(text[~aware], errors="coerce", format="ISO8601").to_numpy()
    local = dt.datetime(2000, 1, 1, tzinfo=tzinfo(zone)).strftime("%z") if zone else ""
    foreign = aware & (offset.str.replace(":", "").replace("Z", "+0000") != local).to_numpy()
    return out, out.isna().to_numpy(), foreign, zone or "local (no offsets)"


def _dedupe_and_ids(c: _Cleaner) -> None:
    """Exact duplicates, then missing order ids and SKUs; SKU codes trimmed and merged across letter case."""
    c.drop(c.f.duplicated(keep="first").to_numpy(), "repeat an earlier line exactly (an export duplicate)")
    raw_sku = c.f["sku"].astype(str)
    for name in ("order_id", "sku"):
        c.f[name] = _text(c.f[name])
        c.drop(c.f[name].isin(["", "nan", "None"]).to_numpy(), "have no value", name)
    raw_sku = raw_sku.loc[c.f.index]
    key = c.f["sku"].str.upper()
    spelling = c.f.groupby(key)["sku"].agg(lambda s: s.value_counts().index[0])
    canonical = key.map(spelling)
    c.note(
        (canonical != raw_sku).to_numpy(),
        "differ from their SKU's main spelling only in case or spaces",
        "sku",
        "merged into it",
    )
    c.f["sku"] = canonical


def _quantities_and_prices(c: _Cleaner) -> None:
    """Quantities must be whole and positive; missing prices come from the SKU's median."""
    q, missing, bad = _numbers(c.f["quantity"])
    c.f["quantity"] = q
    c.drop(missing, "have no quantity", "quantity")
    c.drop(bad[~missing], "have a quantity that is not a number", "quantity")
    q = c.f["quantity"]
    c.drop((q <= 0).to_numpy(), "have a quantity of zero or less", "quantity")
    q = c.f["quantity"]
    frac = (q != np.round(q)).to_numpy()
    c.note(frac, "have a fractional quantity", "quantity", "rounded to the nearest whole unit (at least 1)")
    c.f["quantity"] = np.maximum(np.round(c.f["quantity"]), 1).astype(np.int64)
    p, missing, bad = _numbers(c.f["unit_price"])
    p[(p < 0).to_numpy()] = np.nan
    invalid = p.isna().to_numpy()
    median = p.groupby(c.f["sku"]).transform("median")
    c.note(
        invalid & median.notna().to_numpy(), "have no valid unit price", "unit_price", "the SKU's median price is used"
    )
    c.f["unit_price"] = p.fillna(median)
    c.drop(c.f["unit_price"].isna().to_numpy(), "have no valid unit price and their SKU none either", "unit_price")


def _times_and_status(c: _Cleaner, zone: str | None) -> str:
    """Timestamps to local time (offsets honoured); cancelled lines out; returned flags parsed."""
    t, missing, foreign, used = _times(c.f["timestamp"], zone)
    c.f["time"] = t
    c.drop(missing, "have a missing or malformed timestamp", "timestamp")
    c.note(foreign[~missing], "carry another UTC offset", "timestamp", f"converted to the shop's time ({used})")
    c.f["date"] = c.f["time"].dt.normalize()
    if "status" in c.present:
        status = _text(c.f["status"]).str.lower()
        cancelled = status.isin([s.lower() for s in c.m.cancelled]).to_numpy()
        c.drop(cancelled, "are cancelled", "status", "not demand: dropped")
    if "returned" in c.present:
        flag = _text(c.f["returned"]).str.lower()
        c.f["returned"] = flag.isin([s.lower() for s in c.m.returned_values])
    return used


def _orders(lines: pd.DataFrame, present: list[str]) -> pd.DataFrame:
    """One row per order: its first line's time, lines, units, value and the first value of each optional field."""
    g = lines.groupby("order_id", sort=False)
    out = pd.DataFrame(
        {
            "time": g["time"].min(),
            "lines": g.size(),
            "units": g["quantity"].sum(),
            "value": (lines["quantity"] * lines["unit_price"]).groupby(lines["order_id"], sort=False).sum(),
        }
    )
    for name in ("region", "warehouse", "carrier", "promised_date", "delivered_at"):
        if name in present:
            out[name] = g[name].first()
    out["date"] = out["time"].dt.normalize()
    return out.reset_index()


def _calendar(orders: pd.DataFrame) -> pd.DataFrame:
    """Every day from the first to the last, its order count and whether it is a gap (see the module docstring)."""
    counts = orders.groupby("date").size()
    days = pd.date_range(counts.index.min(), counts.index.max(), freq="D")
    n = counts.reindex(days, fill_value=0).to_numpy()
    around = pd.Series(np.where(n > 0, n, np.nan)).rolling(15, center=True, min_periods=3).median().to_numpy()
    gap = (n == 0) & (np.nan_to_num(around) >= GAP_NEIGHBOURS)
    return pd.DataFrame({"date": days, "orders": n, "gap": gap})


def read_history(path: str | Path, mapping: FitMapping, allow_large: bool = False) -> History:
    """Read and clean an order-line table (CSV or Parquet) by the rules of the module docstring."""
    path = Path(path)
    name = str(path)
    if path.is_file() and path.stat().st_size > MAX_FILE_BYTES and not allow_large:
        size = path.stat().st_size
        raise InputError([Problem(name, None, "", f"{size:,} bytes is over {MAX_FILE_BYTES:,}; say --allow-large")])
    present = list(REQUIRED)
    skip = len(header_lines(path))  # a commented YAML header (the file's own mapping)
    if path.is_file() and path.suffix.lower() in (".csv", ".txt", ".gz"):
        try:
            header = list(pd.read_csv(path, nrows=0, skiprows=skip).columns)
        except (OSError, ValueError, UnicodeDecodeError):
            header = []
    elif path.is_file() and path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        header = list(pq.read_schema(path).names)
    else:
        header = []
    present += [f for f in OPTIONAL if mapping.column(f) in header]
    columns = [mapping.column(f) for f in present]
    frame = _read_table(path, columns, skip)
    frame = frame.rename(columns={mapping.column(f): f for f in present})[present]
    rows = len(frame)
    csv = path.suffix.lower() not in (".parquet", ".pq")
    c = _Cleaner(frame, mapping, present, first=skip + 2 if csv else 1)
    _dedupe_and_ids(c)
    _quantities_and_prices(c)
    used = _times_and_status(c, mapping.timezone)
    return _finish(name, c, rows, present, used)


def _finish(name: str, c: _Cleaner, rows: int, present: list[str], zone: str) -> History:
    """The orders and the calendar of the clean lines; fatal problems when too little is left."""
    lines = c.f.reset_index(drop=True)
    if rows == 0 or len(lines) == 0:
        raise InputError([Problem(name, None, "", f"no usable order lines ({rows:,} read)"), *_why(c, name)])
    if len(lines) < rows / 2:
        raise InputError(
            [
                Problem(name, None, "", f"only {len(lines):,} of {rows:,} lines are usable; check the column mapping"),
                *_why(c, name),
            ]
        )
    orders = _orders(lines, present)
    days = _calendar(orders)
    if len(days) < MIN_DAYS:
        raise InputError([Problem(name, None, "", f"{len(days)} days of history; the fit needs at least {MIN_DAYS}")])
    gaps = days.loc[days["gap"], "date"]
    notes = list(c.notes)
    if len(gaps):
        shown = ", ".join(d.strftime("%Y-%m-%d") for d in gaps[:SHOWN_LINES])
        notes.append(
            Note(
                f"— {len(gaps)} calendar day(s) without a single order amid busy days ({shown})",
                0,
                "taken as missing data (an export gap) and left out of the fit",
            )
        )
    return History(name, lines, orders, days, rows, notes, zone, tuple(present))


def _why(c: _Cleaner, name: str) -> list[Problem]:
    return [Problem(name, None, "", n.text(name).split(": ", 1)[1]) for n in c.notes]
