"""The plots of an experiment's report: the spec's ``plots`` (or sensible defaults) drawn into ``plots/``.

Each plot type (bar, paired, sweep, tradeoff, daily) has one function that draws it with
:mod:`experiments.plots` and returns its caption; labels and units come from the KPI registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pandas as pd

from experiments import plots as P
from experiments.spec import PlotSpec, Spec
from experiments.stats import summary_wide
from sim.kpis import KPIS, kpi
from sim.model.demand import promotion_days
from sim.scenario.yamlio import ALL, Select, parse_key_path

__all__ = ["PlotData", "make_plots", "slug"]


def _saved(result: Path | Any) -> Path:
    """The file a plot function wrote (it returns the path whenever it is given one)."""
    assert isinstance(result, Path), result
    return result


def slug(text: str) -> str:
    """``text`` as a safe file name: letters, digits, '-' and '_' kept, the rest '_', at most 80 characters."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text).strip("_")[:80]


#: axis labels of the common daily columns (the others get their name in words)
_DAILY_LABELS = {
    "backlog_end": "Shipments waiting to leave (day end)",
    "backorder_units_end": "Units on backorder (day end)",
    "on_hand_units": "Units on hand (day average)",
    "on_order_units_end": "Units on order (day end)",
    "orders": "Orders placed per day",
    "late_orders": "Late orders (by promised day)",
    "shipments_shipped": "Shipments leaving per day",
    "pick_queue_mean": "Pick jobs waiting (day average)",
}


def _daily_label(column: str) -> str:
    return _DAILY_LABELS.get(column) or KPIS.get(column, kpi(column)).label


def _key_label(key: str) -> str:
    """A readable axis label for a grid key: linked keys 'a.x,b.x' become 'x (2 keys)',
    'warehouses[*].picking.pickers' 'pickers (all warehouses)', 'warehouses[east_dc]...'
    'pickers (east_dc)', 'inventory.policy.reorder_point' 'reorder point'."""
    paths = [k.strip() for k in key.split(",")]
    last = paths[0].split(".")[-1].replace("_", " ")
    if len(paths) > 1:
        return f"{last} ({len(paths)} keys)"
    parts = parse_key_path(paths[0])
    where = [f"all {parts[i - 1]}" if p == ALL else p.name for i, p in enumerate(parts) if isinstance(p, Select)]
    return f"{last} ({', '.join(where)})" if where else last


@dataclass(frozen=True)
class PlotData:
    """The tables a report's plots are drawn from, and the baseline scenario (currency, calendar, events)."""

    summary: pd.DataFrame
    paired: pd.DataFrame | None
    daily: pd.DataFrame | None
    baseline: str
    group_cols: list[str]
    scenario: Any = None
    many_variants: bool = False

    @property
    def currency(self) -> str | None:
        """The baseline scenario's currency (None without a scenario)."""
        return getattr(self.scenario, "currency", None)


def _bar(p: PlotSpec, stem: Path, d: PlotData):
    metric = cast(str, p.metric)  # the spec's validation requires it for this type
    k = kpi(metric)
    path = P.bar_ci(
        d.summary, metric, stem, title=p.title or f"{k.label} by variant", baseline=d.baseline, currency=d.currency
    )
    return _saved(path), f"{k.axis_label(d.currency)}: mean and 95% CI per variant"


def _paired(p: PlotSpec, stem: Path, d: PlotData):
    metric = cast(str, p.metric)  # the spec's validation requires it for this type
    if d.paired is None or not len(d.paired):
        return None
    k = kpi(metric)
    path = P.paired_diff_forest(
        d.paired,
        metric,
        stem,
        baseline=d.baseline,
        currency=d.currency,
        title=p.title or f"{k.label}: change against {d.baseline}",
    )
    caption = (
        f"{k.label}: paired difference to {d.baseline} (common random numbers) with 95% CI, "
        "one panel per variant, each on its own scale"
    )
    return _saved(path), caption


def _sweep(p: PlotSpec, stem: Path, d: PlotData):
    metric, x = cast(str, p.metric), cast(str, p.x)  # the spec's validation requires them for this type
    k = kpi(metric)
    series = p.series or ("variant" if d.many_variants else None)
    x_label = _key_label(x)
    path = P.sweep_lines(
        d.summary,
        x,
        metric,
        stem,
        series=series,
        title=p.title or f"{k.label} by {x_label}",
        xlabel=x_label,
        series_label=_key_label(series) if series and series != "variant" else series,
        currency=d.currency,
    )
    return _saved(path), f"{k.label} by {x_label}: mean with 95% CI band"


def _tradeoff(p: PlotSpec, stem: Path, d: PlotData):
    x, y = cast(str, p.x), cast(str, p.y)  # the spec's validation requires them for this type
    wide = summary_wide(d.summary, d.group_cols)
    kx, ky = kpi(x), kpi(y)
    path = P.tradeoff_scatter(
        wide,
        x,
        y,
        stem,
        minimize_x=p.minimize_x,
        minimize_y=p.minimize_y,
        title=p.title or f"{ky.label} against {kx.label.lower()}",
        currency=d.currency,
    )
    return _saved(
        path
    ), f"Trade-off of {ky.label.lower()} against {kx.label.lower()}; Pareto-efficient variants highlighted"


def _daily_rows(p: PlotSpec, daily: pd.DataFrame) -> pd.DataFrame:
    """The daily rows a plot shows: its variants (and their grid points) and its day range."""
    if p.variants:
        daily = daily[
            daily["variant"].isin(p.variants) | daily["variant"].str.startswith(tuple(v + "[" for v in p.variants))
        ]
    if p.days:
        daily = daily[(daily["day"] >= p.days[0]) & (daily["day"] <= p.days[1])]
    return daily


def _daily(p: PlotSpec, stem: Path, d: PlotData):
    metric = cast(str, p.metric)  # the spec's validation requires it for this type
    if d.daily is None or not len(d.daily):
        return None
    start = getattr(d.scenario, "start_date", None)
    events = [(a, b, promo.name) for a, b, promo in promotion_days(d.scenario)] if start else None
    label = _daily_label(metric)
    path = P.daily_series(
        _daily_rows(p, d.daily),
        metric,
        stem,
        title=p.title or f"Daily: {label.lower()}",
        ylabel=label,
        start_date=start,
        events=events,
    )
    caption = f"{label} per day: mean over replications with 95% CI band" + (
        "; promotion days shaded" if events else ""
    )
    return _saved(path), caption


_DRAW: dict[str, Callable] = {"bar": _bar, "paired": _paired, "sweep": _sweep, "tradeoff": _tradeoff, "daily": _daily}


def _default_plots(spec: Spec, paired) -> list[PlotSpec]:
    """One bar chart per metric, and the paired differences of the first when there is a baseline."""
    plots = [PlotSpec(type="bar", metric=m) for m in spec.metrics]
    if paired is not None and len(paired):
        plots.append(PlotSpec(type="paired", metric=spec.metrics[0]))
    return plots


def make_plots(
    spec: Spec, out: Path, summary, paired, daily, baseline: str, group_cols, scenario=None
) -> list[tuple[str, Path]]:
    """The spec's plots (or one bar chart per metric and a paired plot) as (caption, path).

    Labels and units come from the KPI registry; ``scenario`` (the baseline's) gives the
    currency, and for daily plots the calendar (start_date + day) and the promotion days.
    """
    data = PlotData(summary, paired, daily, baseline, list(group_cols), scenario, len(spec.variants) > 1)
    made = []
    for i, p in enumerate(list(spec.plots) or _default_plots(spec, paired)):
        stem = out / "plots" / f"{i + 1:02d}_{p.type}_{slug(p.metric or f'{p.x}_vs_{p.y}')}.png"
        drawn = _DRAW.get(p.type, _daily)(p, stem, data)
        if drawn is not None:
            made.append((drawn[1], drawn[0]))
    return made
