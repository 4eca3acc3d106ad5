"""What a replication records while it runs: typed, preallocated columns of orders and shipments.

The event loop writes into ``OrderLog`` and ``ShipmentLog``; the KPIs
(``sim.metrics``) and the per-order table (``sim.model.records``) read the finished
columns as numpy arrays. A column is an ``array.array`` of one C type (8 bytes a
value, 1 for a small code such as an order's source, against 32 for a Python float in a list), sized from the expected number of
orders and doubled when a run needs more. A day's orders are written in one
vectorized block; per order the loop writes only what happens to it.

``ShipmentLog.SCHEMA`` and ``OrderLog.SCHEMA`` are the documented schemas:
(column, C type code, value before it is written, meaning). Times are days since
``start_date``; NaN means "not yet" (a shipment still backordered has no release).

>>> log = ShipmentLog(2)
>>> sid = log.add(order=0, wh=1, region=0, lines=2, units=3.0, weight=1.5, value=40.0, carrier=-1, key=7)
>>> log.ready[sid] = 0.25
>>> a = log.arrays()
>>> int(a["wh"][0]), float(a["ready"][0]), bool(np.isnan(a["ship"][0]))
(1, 0.25, True)
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np

NAN = float("nan")

#: numpy dtype of each column type code: 8-byte ints and floats, and 1-byte small codes (an order's source).
DTYPES = {"q": np.int64, "d": np.float64, "b": np.int8}


class _Columns:
    """Columns of one record type: one ``array.array`` per ``SCHEMA`` row, ``n`` rows written."""

    SCHEMA: tuple[tuple[str, str, float, str], ...] = ()

    def __init__(self, capacity: int):
        self.n = 0
        self.capacity = max(int(capacity), 16)
        for name, code, fill, _ in self.SCHEMA:
            setattr(self, name, array(code, [fill if code == "d" else int(fill)]) * self.capacity)

    def reserve(self, more: int) -> None:
        """Make room for ``more`` rows after the ``n`` written (doubling the capacity as needed)."""
        need = self.n + more
        if need <= self.capacity:
            return
        grow = max(need, 2 * self.capacity) - self.capacity
        for name, code, fill, _ in self.SCHEMA:
            getattr(self, name).extend(array(code, [fill if code == "d" else int(fill)]) * grow)
        self.capacity += grow

    def write_block(self, start: int, **columns: np.ndarray) -> None:
        """Write rows ``start:start + len`` of the named columns from numpy arrays (one vectorized copy each)."""
        for name, values in columns.items():
            col = getattr(self, name)
            view = np.frombuffer(col, dtype=DTYPES[col.typecode])
            view[start : start + len(values)] = values
            del view  # release the buffer: the column may grow later

    def arrays(self) -> dict[str, np.ndarray]:
        """The written rows of every column as numpy arrays (int64 or float64), without a copy.

        The arrays share the columns' memory (a million-order run would otherwise hold its
        records twice at its peak); while they exist the log cannot grow, so this is for a
        finished run.
        """
        out = {}
        for name, code, _, _ in self.SCHEMA:
            view = np.frombuffer(getattr(self, name), dtype=DTYPES[code])
            out[name] = view[: self.n]
        return out


class ShipmentLog(_Columns):
    """One row per shipment (a parcel: the lines of one order from one warehouse)."""

    SCHEMA = (
        ("order", "q", 0, "order id (row of the OrderLog)"),
        ("wh", "q", 0, "warehouse index"),
        ("region", "q", 0, "region index of the order"),
        ("lines", "q", 0, "order lines in the parcel"),
        ("units", "d", 0.0, "units in the parcel"),
        ("weight", "d", 0.0, "kg"),
        ("value", "d", 0.0, "value of the whole order (after discounts)"),
        ("carrier", "q", -1, "carrier index; -1 until chosen (or no carriers)"),
        ("key", "q", 0, "order_key(order day, position in the day): whose random numbers it uses"),
        ("release", "d", NAN, "all its stock allocated: enters the warehouse"),
        ("pick_start", "d", NAN, "its pick job starts"),
        ("ready", "d", NAN, "picked and packed"),
        ("ship", "d", NAN, "leaves with the carrier (inf: never finds room)"),
        ("deliver", "d", NAN, "delivered to the customer"),
        ("cost", "d", 0.0, "carrier charge"),
    )
    order: array
    wh: array
    region: array
    lines: array
    units: array
    weight: array
    value: array
    carrier: array
    key: array
    release: array
    pick_start: array
    ready: array
    ship: array
    deliver: array
    cost: array

    def add(
        self,
        order: int,
        wh: int,
        region: int,
        lines: int,
        units: float,
        weight: float,
        value: float,
        carrier: int,
        key: int,
    ) -> int:
        """Record a new shipment; returns its id (its row)."""
        sid = self.n
        if sid == self.capacity:
            self.reserve(1)
        self.order[sid] = order
        self.wh[sid] = wh
        self.region[sid] = region
        self.lines[sid] = lines
        self.units[sid] = units
        self.weight[sid] = weight
        self.value[sid] = value
        self.carrier[sid] = carrier
        self.key[sid] = key
        self.n = sid + 1
        return sid


class OrderLog(_Columns):
    """One row per customer order, written a day at a time (what the order is; how it went is in the shipments)."""

    SCHEMA = (
        ("arrival", "d", NAN, "placed at (days since start_date)"),
        ("region", "q", 0, "region index"),
        ("value", "d", 0.0, "value after the day's discount"),
        ("source", "b", -1, "what brought the order: -1 organic demand, c marketing channel c"),
    )
    arrival: array
    region: array
    value: array
    source: array

    def add_day(
        self, times: np.ndarray, region: np.ndarray, value: np.ndarray, source: np.ndarray | None = None
    ) -> int:
        """Record a day's orders (arrival-sorted); returns the id of the first. ``source`` None: all organic."""
        first = self.n
        self.reserve(len(times))
        src = np.full(len(times), -1, dtype=np.int8) if source is None else source
        self.write_block(first, arrival=times, region=region, value=value, source=src)
        self.n = first + len(times)
        return first


@dataclass(frozen=True)
class RunRecords:
    """Everything the KPIs read after a run (``sim.metrics`` takes this, never the model).

    ``orders``/``shipments``: the ``OrderLog``/``ShipmentLog`` columns as arrays;
    ``outstanding``: ids of the shipments still waiting for backordered stock at the end;
    ``promise``: (carriers + 1, regions) promised days, row c for carrier c (its own promise,
    else the region's) and the last row (index -1: no carrier chosen) the regions' own;
    ``pickers``: per warehouse with a picking model, its capacity schedule (breakpoint days,
    picker counts) and its labour cost per picker-hour.
    """

    orders: dict[str, np.ndarray]
    shipments: dict[str, np.ndarray]
    outstanding: np.ndarray
    promise: np.ndarray
    pickers: list[tuple[np.ndarray, np.ndarray, float]] = field(default_factory=list)
