"""How an order-line export's columns map onto the fields ``run.py fit`` reads, and the rules it follows.

A mapping is written in a small YAML file (``--mapping FILE.yaml``) or given on the command
line (``--map quantity=Qty``, repeatable; it wins over the file)::

    columns:                 # field: the export's column name
      order_id: Order No
      timestamp: Created At
      sku: SKU Code
      quantity: Qty
      unit_price: Unit Price
      region: Ship Region     # optional fields: region, warehouse, carrier, promised_date,
      delivered_at: Delivered At  #   delivered_at, returned, status, line_no
    timezone: "+08:00"       # the shop's local time (an offset or an IANA name such as Asia/Shanghai)
    cancelled: [Cancelled]   # status values that mark a cancelled line
    returned_values: [yes]   # values of the returned column that mean returned

A field not named in the mapping is looked for under its own name (``order_id``, ...). The same
YAML may instead head the CSV file itself, each line commented out (``# columns:``, ``#   quantity: Qty``):
the file then carries its own mapping; ``--mapping`` and ``--map`` override it key by key.

>>> m = FitMapping.model_validate({"columns": {"quantity": "Qty"}})
>>> m.column("quantity"), m.column("sku")
('Qty', 'sku')
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sim.scenario.errors import InputError, Problem
from sim.scenario.loader import pydantic_problems
from sim.scenario.yamlio import read_yaml

__all__ = [
    "FIELDS",
    "OPTIONAL",
    "REQUIRED",
    "CalendarEvent",
    "Columns",
    "FitMapping",
    "header_lines",
    "header_mapping",
    "load_mapping",
    "parse_map_args",
    "tzinfo",
]

#: the fields every order-line table must have, and what each is
REQUIRED = {
    "order_id": "the order's id (its lines share it)",
    "timestamp": "when the order was placed (ISO date-time; an offset such as +08:00 or Z is honoured)",
    "sku": "the SKU code of the line",
    "quantity": "units on the line (a whole number >= 1)",
    "unit_price": "price paid per unit (after discounts)",
}
#: the fields a table may have; each one that is present feeds part of the fit
OPTIONAL = {
    "line_no": "the line's number within its order (tells a repeated line from an exported duplicate)",
    "region": "the delivery region of the order",
    "warehouse": "the warehouse it shipped from",
    "carrier": "the carrier that delivered it",
    "promised_date": "the date delivery was promised for (YYYY-MM-DD)",
    "delivered_at": "when it was delivered (date or date-time)",
    "returned": "whether the line was returned (see returned_values)",
    "status": "the order or line status (see cancelled)",
}
FIELDS = {**REQUIRED, **OPTIONAL}

_OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{1,2}):?(\d{2})?$")


def tzinfo(text: str) -> dt.tzinfo:
    """A time zone from ``+08:00`` / ``-0530`` / ``UTC`` / an IANA name; ``ValueError`` with one line otherwise.

    >>> tzinfo("+08:00").utcoffset(None)
    datetime.timedelta(seconds=28800)
    """
    text = text.strip()
    if text.upper() in ("UTC", "Z", "GMT"):
        return dt.timezone.utc
    m = _OFFSET.match(text)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        if hours > 14 or minutes > 59:
            raise ValueError(f"{text!r} is not a UTC offset (hours 0-14, minutes 0-59)")
        return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("neither a UTC offset such as +08:00 nor a time zone name such as Asia/Shanghai") from None


class CalendarEvent(BaseModel):
    """A promotion the shop ran: the fit measures its uplift instead of detecting it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.-]+$")
    date: dt.date = Field(description="first day of the event (YYYY-MM-DD)")
    days: int = Field(1, ge=1, le=60, description="length of the event (days)")
    pre_days: int | None = Field(None, ge=0, le=14, description="days of pre-event dip (none: chosen by the fit)")
    post_days: int | None = Field(None, ge=0, le=14, description="days of hangover (none: chosen by the fit)")


class Columns(BaseModel):
    """The export's column name of each field (None: the field's own name); an unknown field is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: str | None = None
    timestamp: str | None = None
    sku: str | None = None
    quantity: str | None = None
    unit_price: str | None = None
    line_no: str | None = None
    region: str | None = None
    warehouse: str | None = None
    carrier: str | None = None
    promised_date: str | None = None
    delivered_at: str | None = None
    returned: str | None = None
    status: str | None = None


class FitMapping(BaseModel):
    """Column names, the shop's time zone, the status values that mean cancelled, returned values, a calendar."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: Columns = Field(default_factory=Columns, description="field -> the export's column name")
    timezone: str | None = Field(None, description="the shop's local time; default: the most common offset")
    cancelled: list[str] = Field(default_factory=lambda: ["cancelled", "canceled"], max_length=50)
    returned_values: list[str] = Field(default_factory=lambda: ["yes", "y", "true", "1", "returned"], max_length=50)
    calendar: list[CalendarEvent] = Field(default_factory=list, max_length=200, description="known promotions")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        if v is not None:
            tzinfo(v)
        return v

    def column(self, field: str) -> str:
        """The export's column holding ``field`` (the field's own name unless mapped)."""
        return getattr(self.columns, field, None) or field

    def overlaid(self, other: FitMapping) -> FitMapping:
        """This mapping with what ``other`` sets explicitly on top (columns key by key)."""
        update = {k: getattr(other, k) for k in other.model_fields_set if k != "columns"}
        update["columns"] = self.columns.model_copy(update=other.columns.model_dump(exclude_none=True))
        return self.model_copy(update=update)

    def with_columns(self, extra: dict[str, str]) -> FitMapping:
        """This mapping with ``extra`` fields mapped (``--map`` wins over the file)."""
        return self.model_copy(update={"columns": self.columns.model_copy(update=extra)})


MAX_HEADER_LINES = 200


def header_lines(path: str | Path) -> list[str]:
    """The leading ``#`` lines of a CSV file (its YAML header), without the ``#`` and one space."""
    out: list[str] = []
    p = Path(path)
    if p.suffix.lower() not in (".csv", ".txt") or not p.is_file():
        return out
    with p.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.startswith("#") or len(out) >= MAX_HEADER_LINES:
                break
            text = line.rstrip("\n")[1:]
            out.append(text[1:] if text.startswith(" ") else text)
    return out


def header_mapping(path: str | Path) -> FitMapping:
    """The mapping in a CSV file's commented YAML header (none: every field under its own name)."""
    from sim.scenario.yamlio import Source, parse_text

    lines = header_lines(path)
    if not lines:
        return FitMapping()
    data, origin, problems = parse_text("\n".join(lines) + "\n", str(path))
    if problems:
        raise InputError(problems)
    if not isinstance(data, dict):
        raise InputError([Problem(str(path), 1, "", "the commented header is not a YAML mapping (columns:, ...)")])
    try:
        return FitMapping.model_validate(data)
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, Source(data, origin, [str(path)]), str(path), FitMapping)) from None


def load_mapping(path: str | Path | None) -> FitMapping:
    """The mapping in a YAML file (none: every field under its own name); ``InputError`` naming key and line."""
    if path is None:
        return FitMapping()
    src = read_yaml(path)
    if not isinstance(src.data, dict):
        raise InputError([Problem(str(path), 1, "", "a mapping file is a YAML mapping (columns:, timezone:, ...)")])
    try:
        return FitMapping.model_validate(src.data)
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, src, str(path), FitMapping)) from None


def parse_map_args(items: list[str] | None) -> dict[str, str]:
    """``["quantity=Qty", ...]`` -> ``{"quantity": "Qty"}``; one problem per bad item.

    >>> parse_map_args(["quantity=Qty", "sku = SKU Code"])
    {'quantity': 'Qty', 'sku': 'SKU Code'}
    """
    out: dict[str, str] = {}
    problems = []
    for item in items or []:
        field, sep, column = item.partition("=")
        field, column = field.strip(), column.strip()
        if not sep or not column:
            problems.append(Problem("--map", None, item, "expected FIELD=COLUMN, e.g. quantity=Qty"))
        elif field not in FIELDS:
            problems.append(Problem("--map", None, field, f"unknown field; the fields are {', '.join(FIELDS)}"))
        else:
            out[field] = column
    if problems:
        raise InputError(problems)
    return out
