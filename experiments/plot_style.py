"""Axis formatting and label layout for :mod:`experiments.plots`.

* :class:`PlainFormatter` — tick labels with thousands separators, never an offset or
  ``1e6``; rates as percentages (or percentage points for differences).
* :func:`grid_ticks` — a swept factor with few values gets exactly those ticks; integer
  factors never get ticks like 2.5.
* :func:`date_axis` and :func:`shade_events` — daily plots over calendar dates with the
  promotion days shaded and named.
* :func:`place_labels` — greedy placement of point labels: each label takes the first
  candidate position around its point that stays inside the axes and overlaps neither a
  marker nor a label placed before it.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from matplotlib.dates import DayLocator, MonthLocator, date2num, num2date
from matplotlib.ticker import FixedLocator, Formatter, FuncFormatter, MaxNLocator
from matplotlib.transforms import Bbox, blended_transform_factory

from sim.kpis import kpi

__all__ = ["PlainFormatter", "date_axis", "grid_ticks", "place_labels", "shade_events", "value_axis", "wrap_name"]


class PlainFormatter(Formatter):
    """``1234567`` -> ``'1,234,567'``; decimals follow the tick step; optional scale and suffix.

    >>> f = PlainFormatter(scale=100, suffix="%"); f.set_locs([0.90, 0.92, 0.94]); f(0.92)
    '92%'
    >>> f = PlainFormatter(); f.set_locs([0, 250_000, 500_000]); f(1_000_000)
    '1,000,000'
    """

    def __init__(self, scale: float = 1.0, suffix: str = "", signed: bool = False):
        self.scale, self.suffix, self.signed = scale, suffix, signed
        self.decimals = 0

    def set_locs(self, locs):
        """Take the tick locations; the decimals shown follow the smallest step between them."""
        super().set_locs(locs)
        steps = np.diff(np.sort(np.asarray(locs, float))) * self.scale
        steps = steps[np.isfinite(steps) & (steps > 0)]
        step = float(steps.min()) if steps.size else 1.0
        self.decimals = min(max(-math.floor(math.log10(step) + 1e-9), 0), 6)

    def __call__(self, x, pos=None):
        """The label of tick value ``x``: scaled, with thousands separators, sign and suffix."""
        v = x * self.scale
        if abs(v) < 0.5 * 10**-self.decimals:
            v = 0.0
        sign = "+" if self.signed and v > 0 else ""
        return f"{sign}{v:,.{self.decimals}f}{self.suffix}"


def value_axis(axis, metric: str, diff: bool = False) -> None:
    """Format a value axis of KPI ``metric`` (``axis`` is ``ax.xaxis`` or ``ax.yaxis``)."""
    if kpi(metric).kind == "rate":
        fmt = PlainFormatter(100, " pp" if diff else "%", signed=diff)
    else:
        fmt = PlainFormatter(signed=diff)
    axis.set_major_formatter(fmt)


def grid_ticks(axis, values) -> None:
    """Ticks at the factor values when there are at most 12 of them; else integer ticks
    when every value is an integer. Labels plain (no offset, no scientific notation)."""
    vals = np.unique(np.asarray(values, float))
    vals = vals[np.isfinite(vals)]
    integer = vals.size and np.all(np.isclose(vals, np.round(vals)))
    if 0 < vals.size <= 12:
        axis.set_major_locator(FixedLocator(vals))
    elif integer:
        axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}" if integer else f"{x:,.6g}"))


def wrap_name(name: str, width: int = 26) -> str:
    """Long grid-point names wrap after their commas: 'a=1,b=2' -> 'a=1,\\nb=2' (when long).

    >>> wrap_name("promo_extra_pickers=8,service_level=0.95")
    'promo_extra_pickers=8,\\nservice_level=0.95'
    """
    name = str(name)
    if len(name) <= width or "," not in name:
        return name
    return ",\n".join(part.strip() for part in name.split(","))


def _to_date(start: dt.date, days) -> np.ndarray:
    return np.datetime64(start, "D") + np.asarray(days).astype("timedelta64[D]")


def date_axis(ax, start_date: dt.date, first_day: float, last_day: float) -> None:
    """Calendar-date ticks ('Nov 11') for a daily plot whose x values are dates."""
    span = max(last_day - first_day, 1)
    if span > 120:
        ax.xaxis.set_major_locator(MonthLocator())
    else:
        ax.xaxis.set_major_locator(DayLocator(interval=max(1, math.ceil(span / 8))))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{num2date(x):%b} {num2date(x).day}"))
    lo, hi = _to_date(start_date, [first_day, last_day])
    ax.set_xlim(date2num(lo) - 0.5, date2num(hi) + 0.5)


def shade_events(ax, start_date: dt.date, events, first_day: float, last_day: float) -> int:
    """Shade every (first_day, end_day_exclusive, name) event inside the plotted days and
    write its name at the top. Returns how many were drawn."""
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    drawn = 0
    for first, end, name in events:
        a, b = max(first, first_day), min(end - 1, last_day)
        if a > b:
            continue
        x0, x1 = (date2num(d) for d in _to_date(start_date, [a, b]))
        ax.axvspan(x0 - 0.5, x1 + 0.5, color="#F2C14E", alpha=0.25, linewidth=0, zorder=0)
        ax.text(
            (x0 + x1) / 2,
            0.985,
            str(name),
            transform=trans,
            ha="center",
            va="top",
            fontsize=9,
            color="#7A5A00",
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8},
            zorder=5,
        )
        drawn += 1
    return drawn


def _overlap(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


# Where a point label may go: (dx, dy) offsets in points with the alignment that keeps the
# text clear of the point, round the point at growing distances, tried in this order.
_LABEL_SPOTS = [
    spot
    for dist in (7, 16, 28, 42)
    for spot in (
        (dist, 3, "left", "bottom"),
        (dist, -3, "left", "top"),
        (-dist, 3, "right", "bottom"),
        (-dist, -3, "right", "top"),
        (0, dist, "center", "bottom"),
        (0, -dist, "center", "top"),
    )
]


def place_labels(ax, xs, ys, texts, fontsize: float = 9.5) -> list:
    """Annotate point i with texts[i] without overlaps where a free spot exists.

    Candidates (offsets in points) go round the point at growing distances; the first
    that stays inside the axes and touches no marker and no earlier label wins, else the
    one with the least overlap. Call after the axis limits are final. Returns the
    annotations. The figure's layout is frozen afterwards so the placement holds.
    """
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    inner = ax.get_window_extent(renderer).padded(-3)
    pts = ax.transData.transform(np.column_stack([np.asarray(xs, float), np.asarray(ys, float)]))
    px = fig.dpi / 72.0
    r = 5 * px
    taken = [Bbox.from_extents(x - r, y - r, x + r, y + r) for x, y in pts if np.isfinite(x) and np.isfinite(y)]
    out = []
    for (x, y), (px_, py_), text in zip(zip(xs, ys), pts, texts):
        if not (np.isfinite(px_) and np.isfinite(py_)):
            continue
        ann = ax.annotate(
            str(text),
            (x, y),
            textcoords="offset points",
            xytext=(7, 3),
            fontsize=fontsize,
            zorder=6,
            annotation_clip=False,
        )
        spot, box = _best_spot(ann, renderer, inner, taken)
        _move(ann, *spot)
        taken.append(box)
        out.append(ann)
    fig.set_layout_engine("none")  # keep the axes where the labels were placed
    return out


def _move(ann, dx: float, dy: float, ha: str, va: str) -> None:
    """Put annotation ``ann`` at offset (dx, dy) points with the given alignment."""
    ann.set_position((dx, dy))
    ann.set_ha(ha)
    ann.set_va(va)


def _best_spot(ann, renderer, inner: Bbox, taken: list[Bbox]) -> tuple[tuple, Bbox]:
    """The first spot of ``_LABEL_SPOTS`` inside ``inner`` that overlaps nothing ``taken``, else the
    cheapest (outside the axes costs most, then overlapped area, then distance); with its box."""
    best: tuple[tuple, Bbox] | None = None
    best_cost = math.inf
    for spot in _LABEL_SPOTS:
        dx, dy = spot[0], spot[1]
        _move(ann, *spot)
        box = ann.get_window_extent(renderer)
        outside = 0.0 if inner.contains(box.x0, box.y0) and inner.contains(box.x1, box.y1) else 1e9
        cost = outside + sum(_overlap(box, t) for t in taken) + 0.01 * (abs(dx) + abs(dy))
        if cost < best_cost:
            best, best_cost = (spot, box), cost
        if outside == 0 and not any(_overlap(box, t) for t in taken):
            break
    assert best is not None  # every cost is finite, so the first spot is always taken
    return best
