"""Comparison plots for experiment results (matplotlib, Agg backend, no GUI).

Every function takes the data and an output path; the suffix (.png or .svg) picks
the format. Figures are sized and styled to be pasted into a 16:9 slide: a title,
labelled axes, 11-13 pt fonts, tight layout, 150 dpi for PNG. Files are written
atomically (:func:`experiments.output.atomic_write`) and the figure is closed, so
long batch runs do not leak memory. Each function returns the Path.

Input tables are those of :mod:`experiments.stats`: ``summarize`` (long: group
columns, metric, n, mean, std, half_width, ci_low, ci_high), ``summary_wide`` and
``paired_differences``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, overload

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from experiments.kpi_format import estimate_text
from experiments.output import atomic_write
from experiments.plot_style import (
    PlainFormatter,
    date_axis,
    grid_ticks,
    place_labels,
    shade_events,
    value_axis,
    wrap_name,
)
from experiments.stats import t_quantile
from sim.kpis import kpi

__all__ = [
    "bar_ci",
    "daily_series",
    "late_price_lines",
    "paired_diff_forest",
    "pareto_front",
    "sweep_lines",
    "tradeoff_scatter",
]

_RC: dict[Any, Any] = {  # matplotlib types its keys as a Literal of every rc name
    "font.size": 11,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "svg.hashsalt": "ecomlab",
    "svg.fonttype": "path",
}
_FIGSIZE = (8.0, 4.5)  # inches, 16:9
_COLOR = "#4C72B0"
_HIGHLIGHT = "#DD8452"
_MUTED = "#8C8C8C"


@overload
def _save(fig: Figure, path: None) -> Figure: ...
@overload
def _save(fig: Figure, path: str | Path) -> Path: ...
def _save(fig: Figure, path: str | Path | None) -> Path | Figure:
    """Write ``fig`` atomically to ``path`` (.png at 150 dpi or .svg) and close it; return ``path``.

    ``path`` None (the Python API's ``experiments.plot``): return the open Figure, unsaved.
    """
    if path is None:
        fig.tight_layout()
        return fig
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    try:
        if fmt not in ("png", "svg"):
            raise ValueError(f"plot path must end in .png or .svg, got {path.name!r}")
        if fig.get_layout_engine() is None:
            fig.tight_layout()
        metadata = {"Date": None} if fmt == "svg" else None
        atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=150, metadata=metadata))
    finally:
        plt.close(fig)
    return path


def _metric_rows(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    rows = table[table["metric"] == metric]
    if rows.empty:
        known = list(pd.unique(table["metric"])) if "metric" in table else []
        raise ValueError(f"no rows for metric {metric!r}; metrics present: {known}")
    return rows.reset_index(drop=True)


def _err(mean: pd.Series, low: pd.Series, high: pd.Series) -> np.ndarray:
    """Asymmetric error-bar lengths; NaN bounds (n < 2) become 0-length whiskers."""
    m = mean.to_numpy(float)
    lo = np.nan_to_num(m - low.to_numpy(float), nan=0.0)
    hi = np.nan_to_num(high.to_numpy(float) - m, nan=0.0)
    return np.vstack([lo, hi])


def _fig(figsize):
    """A figure with constrained layout: legends placed outside the axes get their own room."""
    return plt.subplots(figsize=figsize, layout="constrained")


def _axis_text(metric: str, given: str | None, currency: str | None) -> str:
    return given or kpi(metric).axis_label(currency)


def _legend_below(fig, handles=None, labels=None, ncol: int | None = None, title: str | None = None):
    """A legend under the axes (outside the data), in up to 4 columns."""
    if handles is None:
        handles, labels = fig.axes[0].get_legend_handles_labels()
    if not handles:
        return None
    ncol = ncol or min(len(handles), 4)
    return fig.legend(handles, labels, loc="outside lower center", ncol=ncol, title=title, frameon=False)


def bar_ci(
    summary: pd.DataFrame,
    metric: str,
    path: str | Path | None,
    title: str | None = None,
    ylabel: str | None = None,
    baseline: str | None = None,
    label_col: str = "variant",
    ci_label: str = "95% CI",
    currency: str | None = None,
) -> Path | Figure:
    """Bar per variant of the mean of ``metric`` with CI whiskers [ci_low, ci_high].

    The ``baseline`` bar is drawn in a highlight colour. With more than 6 variants
    or names longer than 12 characters the bars are horizontal so names stay
    readable (grid-point names wrap after their commas). The value axis is labelled
    from the KPI registry ("Total cost (¥)", rates in %) unless ``ylabel`` is given,
    with thousands separators and no offset notation.

    >>> bar_ci(summary, "unit_fill_rate", "out/fill.png", baseline="base")  # doctest: +SKIP
    """
    rows = _metric_rows(summary, metric)
    labels = rows[label_col].astype(str).tolist()
    err = _err(rows["mean"], rows["ci_low"], rows["ci_high"])
    colors = [_HIGHLIGHT if baseline is not None and lab == str(baseline) else _COLOR for lab in labels]
    horizontal = len(labels) > 6 or max(len(lab) for lab in labels) > 12
    shown = [wrap_name(lab) for lab in labels]
    lines = max(s.count("\n") + 1 for s in shown)
    height = max(_FIGSIZE[1], (0.32 + 0.2 * lines) * len(labels) + 1.6) if horizontal else _FIGSIZE[1]
    with plt.rc_context(_RC):
        fig, ax = _fig((_FIGSIZE[0], height))
        value_label = _axis_text(metric, ylabel, currency)
        _draw_bars(ax, rows["mean"], err, colors, shown, horizontal)
        value_axis(ax.xaxis if horizontal else ax.yaxis, metric)
        if _zoom_onto_whiskers(ax, rows, metric, horizontal):
            value_label += " (axis does not start at 0)"
        (ax.set_xlabel if horizontal else ax.set_ylabel)(value_label)
        if baseline is not None and str(baseline) in labels:
            text = "baseline" if str(baseline) == "baseline" else f"baseline ({baseline})"
            _legend_below(fig, [Patch(color=_HIGHLIGHT)], [text])
        ax.set_title(title or f"{kpi(metric).label} by {label_col} (mean, {ci_label})")
        return _save(fig, path)


def _draw_bars(ax, means: pd.Series, err: np.ndarray, colors: list[str], names: list[str], horizontal: bool) -> None:
    """Bars with CI whiskers; horizontal bars list the first variant on top."""
    pos = np.arange(len(names))
    if horizontal:
        ax.barh(pos, means, xerr=err, color=colors, capsize=4, ecolor="#333333")
        ax.set_yticks(pos, names)
        ax.invert_yaxis()  # first variant on top
        ax.grid(axis="y", visible=False)
    else:
        ax.bar(pos, means, yerr=err, color=colors, capsize=5, ecolor="#333333")
        ax.set_xticks(pos, names)
        ax.grid(axis="x", visible=False)


def _zoom_onto_whiskers(ax, rows: pd.DataFrame, metric: str, horizontal: bool) -> bool:
    """Zoom the value axis onto the whiskers when the bars differ by a few percent of their level.

    Bars from zero of fill rates near 1 look identical; True when the axis was zoomed (and so
    does not start at 0). A rate axis is not stretched past 100% by a CI that crosses it.
    """
    low_vals = rows["ci_low"].fillna(rows["mean"]).to_numpy(float)
    high_vals = rows["ci_high"].fillna(rows["mean"]).to_numpy(float)
    finite = np.isfinite(low_vals) & np.isfinite(high_vals)
    lo = float(low_vals[finite].min()) if finite.any() else 0.0
    hi = float(high_vals[finite].max()) if finite.any() else 0.0
    if not (lo > 0 and (hi - lo) < 0.25 * hi):
        return False
    pad = max(hi - lo, 1e-12) * 0.6
    limits = (max(lo - pad, 0.0), hi + pad)
    if kpi(metric).kind == "rate":  # a CI past 100% (few replications) must not stretch the axis
        limits = (limits[0], min(limits[1], 1.0 + 0.05 * (hi - lo)))
    (ax.set_xlim if horizontal else ax.set_ylim)(*limits)
    return True


def sweep_lines(
    summary: pd.DataFrame,
    x: str,
    metric: str,
    path: str | Path | None,
    series: str | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    ci_label: str = "95% CI",
    series_label: str | None = None,
    currency: str | None = None,
) -> Path | Figure:
    """Mean of ``metric`` over a swept numeric parameter ``x`` with a shaded CI band.

    ``summary`` must have the swept parameters as group columns (``summarize(runs,
    metrics, group_cols=["variant", "pickers", "wave_size"])``). One line per value
    of ``series`` when given (the legend, titled ``series_label``, sits below the
    axes); without it every x value must occur once. A factor with at most 12 values
    gets exactly those ticks (integer factors never get 2.5).

    >>> sweep_lines(summary, "pickers", "order_cycle_time_h", "out/sweep.svg",
    ...             series="wave_size")  # doctest: +SKIP
    """
    rows = _metric_rows(summary, metric)
    for col in [x] + ([series] if series else []):
        if col not in rows.columns:
            raise KeyError(f"summary has no column {col!r}; columns: {list(rows.columns)}")
    groups = [(None, rows)] if series is None else list(rows.groupby(series, sort=True))
    with plt.rc_context(_RC):
        fig, ax = _fig(_FIGSIZE)
        for key, part in groups:
            part = part.sort_values(x)
            if series is None and part[x].duplicated().any():
                plt.close(fig)
                raise ValueError(f"several rows per {x!r} value; pass series=<second parameter>")
            xs = part[x].to_numpy(float)
            mean = part["mean"].to_numpy(float)
            lo = np.where(np.isnan(part["ci_low"]), mean, part["ci_low"])
            hi = np.where(np.isnan(part["ci_high"]), mean, part["ci_high"])
            label = None if series is None else str(key)
            (line,) = ax.plot(xs, mean, marker="o", label=label)
            ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
        grid_ticks(ax.xaxis, rows[x].to_numpy(float))
        value_axis(ax.yaxis, metric)
        ax.set_xlabel(xlabel or x)
        ax.set_ylabel(_axis_text(metric, ylabel, currency))
        ax.set_title(title or f"{kpi(metric).label} by {xlabel or x} (mean, shaded {ci_label})")
        if series is not None:
            _legend_below(fig, title=series_label or series)
        return _save(fig, path)


def pareto_front(df: pd.DataFrame, x: str, y: str, minimize_x: bool = True, minimize_y: bool = True) -> pd.Series:
    """Boolean Series (same index as ``df``): True where the row is Pareto-efficient.

    Row i is dominated when some row j is at least as good in both x and y and
    strictly better in one. Rows with a NaN in x or y are never efficient.

    >>> d = pd.DataFrame({"cost": [1, 2, 3, 2.5], "late": [5, 3, 1, 4]})
    >>> pareto_front(d, "cost", "late").tolist()
    [True, True, True, False]
    """
    xs = df[x].to_numpy(float) * (1 if minimize_x else -1)
    ys = df[y].to_numpy(float) * (1 if minimize_y else -1)
    valid = ~(np.isnan(xs) | np.isnan(ys))
    xv, yv = xs[valid], ys[valid]
    no_worse = (xv[None, :] <= xv[:, None]) & (yv[None, :] <= yv[:, None])  # [i, j]: j vs i
    better = (xv[None, :] < xv[:, None]) | (yv[None, :] < yv[:, None])
    dominated = (no_worse & better).any(axis=1)
    efficient = np.zeros(len(df), dtype=bool)
    efficient[np.flatnonzero(valid)] = ~dominated
    return pd.Series(efficient, index=df.index, name="pareto")


def tradeoff_scatter(
    summary_wide: pd.DataFrame,
    x_metric: str,
    y_metric: str,
    path: str | Path | None,
    label_col: str = "variant",
    minimize_x: bool = True,
    minimize_y: bool = True,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    currency: str | None = None,
) -> Path | Figure:
    """Scatter of variants in the (x_metric, y_metric) plane with the Pareto front.

    Error bars in x and y come from f"{m}_ci_low"/f"{m}_ci_high" when present (see
    ``stats.summary_wide``). Efficient points (:func:`pareto_front`) are highlighted
    and joined in x order. Every point carries a label placed where it overlaps no
    other label or marker (:func:`experiments.plot_style.place_labels`); when the names
    are long or many, the points carry numbers and a key below the axes names them.
    Axis labels (from the KPI registry) say which direction is better.

    >>> tradeoff_scatter(summary_wide(s), "total_cost", "on_time_rate", "out/tradeoff.png",
    ...                  minimize_y=False)  # doctest: +SKIP
    """
    df = summary_wide.reset_index(drop=True)
    for col in (x_metric, y_metric, label_col):
        if col not in df.columns:
            raise KeyError(f"summary_wide has no column {col!r}; columns: {list(df.columns)}")
    front = pareto_front(df, x_metric, y_metric, minimize_x, minimize_y).to_numpy()
    names = df[label_col].astype(str).tolist()
    numbered = len(names) > 8 or max((len(n) for n in names), default=0) > 16
    with plt.rc_context(_RC):
        fig, ax = _fig(_FIGSIZE if not numbered else (_FIGSIZE[0], _FIGSIZE[1] + 0.22 * ((len(names) + 1) // 2)))
        handles = _scatter_front(ax, df, x_metric, y_metric, front)
        ax.margins(x=0.12, y=0.15)  # room for the point labels
        _cap_rate_axis(ax.get_xlim, ax.set_xlim, x_metric, df[x_metric])
        _cap_rate_axis(ax.get_ylim, ax.set_ylim, y_metric, df[y_metric])
        value_axis(ax.xaxis, x_metric)
        value_axis(ax.yaxis, y_metric)
        better = {True: "lower is better", False: "higher is better"}
        ax.set_xlabel(f"{_axis_text(x_metric, xlabel, currency)}, {better[minimize_x]}")
        ax.set_ylabel(f"{_axis_text(y_metric, ylabel, currency)}, {better[minimize_y]}")
        ax.set_title(title or f"Trade-off: {kpi(y_metric).label} vs {kpi(x_metric).label}")
        labels = [h.get_label() for h in handles]
        if numbered:
            key = [Line2D([], [], linestyle="none", marker="none") for _ in names]
            handles, labels = handles + key, labels + [f"{i + 1}  {n}" for i, n in enumerate(names)]
            _legend_below(fig, handles, labels, ncol=2)
        else:
            _legend_below(fig, handles, labels)
        place_labels(
            ax,
            df[x_metric].to_numpy(float),
            df[y_metric].to_numpy(float),
            [str(i + 1) for i in range(len(names))] if numbered else names,
        )
        return _save(fig, path)


def _ci_errs(df: pd.DataFrame, metric: str) -> np.ndarray | None:
    """Error-bar lengths of ``metric`` from its ``_ci_low``/``_ci_high`` columns, None without them."""
    lo, hi = f"{metric}_ci_low", f"{metric}_ci_high"
    return _err(df[metric], df[lo], df[hi]) if lo in df and hi in df else None


def _scatter_front(ax, df: pd.DataFrame, x_metric: str, y_metric: str, front: np.ndarray) -> list:
    """Dominated points (grey) and Pareto-efficient ones (highlighted, joined in x order) with
    their CI error bars; returns the scatter handles for the legend."""
    xerr, yerr = _ci_errs(df, x_metric), _ci_errs(df, y_metric)
    handles = []
    for mask, color, size, label in (
        (~front, _MUTED, 40, "dominated"),
        (front, _HIGHLIGHT, 70, "Pareto-efficient"),
    ):
        if not mask.any():
            continue
        xs, ys = df.loc[mask, x_metric], df.loc[mask, y_metric]
        ax.errorbar(
            xs,
            ys,
            xerr=None if xerr is None else xerr[:, mask],
            yerr=None if yerr is None else yerr[:, mask],
            fmt="none",
            ecolor=color,
            alpha=0.6,
            capsize=3,
        )
        handles.append(ax.scatter(xs, ys, s=size, color=color, label=label, zorder=3, edgecolor="white"))
    eff = df[front].sort_values(x_metric)
    ax.plot(eff[x_metric], eff[y_metric], color=_HIGHLIGHT, linewidth=1.5, zorder=2)
    return handles


def _cap_rate_axis(get, put, metric: str, values: pd.Series) -> None:
    """No axis of a rate past 100% when no point is above it (``get``/``put``: ax.get_xlim/set_xlim)."""
    lo_lim, hi_lim = get()
    top = float(np.nanmax(values.to_numpy(float))) if len(values) else hi_lim
    if kpi(metric).kind == "rate" and hi_lim > 1.0 and top <= 1.0:
        put(lo_lim, min(hi_lim, max(1.0, top) + 0.08 * (max(1.0, top) - lo_lim)))


def daily_series(
    daily: pd.DataFrame,
    metric: str,
    path: str | Path | None,
    by: str = "variant",
    x: str = "day",
    band: str = "ci",
    level: float = 0.95,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    start_date: dt.date | None = None,
    events: list[tuple[int, int, str]] | None = None,
) -> Path | Figure:
    """Daily mean of ``metric`` across replications, one line per ``by`` value.

    ``daily`` is long: columns variant, replication, day, <metrics>. The band is the
    Student-t CI of the daily mean (``band="ci"``: mean ± t_{(1+level)/2, n-1} s/sqrt(n))
    or the range over replications (``band="minmax"``). With ``start_date`` the x axis
    shows calendar dates (start_date + day) and ``events`` — (first_day, end_day_exclusive,
    name), e.g. from ``sim.model.demand.promotion_days`` — are shaded and named. The legend
    sits below the axes.

    >>> daily_series(daily, "backorders_units", "out/backorders.png",
    ...              ylabel="backordered units")  # doctest: +SKIP
    """
    _check_daily(daily, (x, metric), band)
    data = daily if by in daily.columns else daily.assign(**{by: metric})
    start = start_date if x == "day" else None  # the x axis shows calendar dates
    with plt.rc_context(_RC):
        fig, ax = _fig(_FIGSIZE)
        for key, part in data.groupby(by, sort=False):
            stats = part.groupby(x, sort=True)[metric].agg(["mean", "std", "count", "min", "max"])
            xs = stats.index.to_numpy()
            if start is not None:
                xs = np.datetime64(start, "D") + xs.astype(int).astype("timedelta64[D]")
            mean = stats["mean"].to_numpy(float)
            lo, hi = _daily_band(stats, band, level)
            (line,) = ax.plot(xs, mean, label=wrap_name(str(key), 40), linewidth=1.6)
            ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.18, linewidth=0)
        band_text = f"{level:.0%} CI" if band == "ci" else "min–max over replications"
        value_axis(ax.yaxis, metric)
        if start is not None:
            _calendar_x_axis(ax, data[x], start, events or [], xlabel)
        else:
            if pd.api.types.is_numeric_dtype(data[x]):
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
                ax.xaxis.set_major_formatter(PlainFormatter())
            ax.set_xlabel(xlabel or x)
        ax.set_ylabel(ylabel or kpi(metric).label)
        ax.set_title(title or f"Daily {kpi(metric).label.lower()} (mean, band: {band_text})")
        if by in daily.columns:
            _legend_below(fig)
        return _save(fig, path)


def _check_daily(daily: pd.DataFrame, columns: tuple[str, ...], band: str) -> None:
    """ValueError/KeyError for an unknown band, a missing column or an empty daily table."""
    if band not in ("ci", "minmax"):
        raise ValueError(f"band must be 'ci' or 'minmax', got {band!r}")
    for col in columns:
        if col not in daily.columns:
            raise KeyError(f"daily table has no column {col!r}; columns: {list(daily.columns)}")
    if daily.empty:
        raise ValueError("daily table is empty")


def _daily_band(stats: pd.DataFrame, band: str, level: float) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of the band around the daily means of ``stats`` (columns mean, std, count, min, max).

    ``"minmax"``: the range over replications; ``"ci"``: the Student-t CI of the mean,
    clipped to that range (a CI of a mean never leaves the data: no negative stock bands).
    """
    if band == "minmax":
        return stats["min"].to_numpy(float), stats["max"].to_numpy(float)
    mean = stats["mean"].to_numpy(float)
    tq = {n: t_quantile((1 + level) / 2, n - 1) if n >= 2 else np.nan for n in stats["count"].unique()}
    count = stats["count"].to_numpy(float)
    hw = np.nan_to_num(stats["count"].map(tq).to_numpy(float) * stats["std"].to_numpy(float) / np.sqrt(count), nan=0.0)
    return np.maximum(mean - hw, stats["min"].to_numpy(float)), np.minimum(mean + hw, stats["max"].to_numpy(float))


def _calendar_x_axis(ax, days: pd.Series, start_date: dt.date, events: list, xlabel: str | None) -> None:
    """Date ticks over the plotted days, the events shaded, the years in the axis label."""
    first, last = float(days.min()), float(days.max())
    date_axis(ax, start_date, first, last)
    shade_events(ax, start_date, events, first, last)
    years = sorted({start_date.year, (start_date + dt.timedelta(days=int(last))).year})
    ax.set_xlabel(xlabel or "date, " + "–".join(str(y) for y in years))


def paired_diff_forest(
    paired: pd.DataFrame,
    metric: str,
    path: str | Path | None,
    title: str | None = None,
    xlabel: str | None = None,
    baseline: str | None = None,
    ci_label: str = "95% CI",
    currency: str | None = None,
) -> Path | Figure:
    """Paired differences (variant - baseline) with their CIs, one small panel per variant.

    Each panel has its own x scale (always including 0, marked by a vertical line), so
    a variant with a huge difference does not shrink the others' intervals to dots; its
    title states the difference and half-width in words ("+¥12,502 ±¥203"). In each
    panel the paired CI is drawn over the wider, grey, unpaired (Welch) CI of the same
    difference, so the gain from common random numbers is visible; intervals that
    exclude zero are highlighted.

    >>> paired_diff_forest(paired_differences(runs, ["total_cost"], "base"),
    ...                    "total_cost", "out/diff.png")  # doctest: +SKIP
    """
    rows = _metric_rows(paired, metric)
    n = len(rows)
    k = kpi(metric)
    base = str(baseline) if baseline else "baseline"
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(n, 1, figsize=(_FIGSIZE[0], 1.0 + 1.05 * n), layout="constrained", squeeze=False)
        handles: dict = {}
        for ax, (_, row) in zip(axes[:, 0], rows.iterrows()):
            _forest_panel(ax, row, metric, ci_label, currency, handles)
        unit = "percentage points" if k.kind == "rate" else k.unit_text(currency)
        axes[-1, 0].set_xlabel(
            xlabel or f"{k.label}: variant − {base} ({unit}); each panel has its own scale", fontsize=11
        )
        fig.suptitle(title or f"{k.label}: paired difference to {base}", fontsize=13)
        order = [handles[key] for key in ("welch", "ns", "sig") if key in handles]
        _legend_below(fig, order, [h.get_label() for h in order])
        return _save(fig, path)


def _forest_panel(ax, row: pd.Series, metric: str, ci_label: str, currency: str | None, handles: dict) -> None:
    """One variant's panel: the grey unpaired (Welch) CI under the paired CI, 0 marked, its own scale.

    The drawn intervals are stored in ``handles`` ("welch", "sig" or "ns") for the shared legend.
    """
    mean = float(row["mean_diff"])
    lo = row["ci_low"] if np.isfinite(row["ci_low"]) else mean
    hi = row["ci_high"] if np.isfinite(row["ci_high"]) else mean
    uhw = float(row.get("unpaired_half_width", np.nan))
    uhw = uhw if np.isfinite(uhw) else 0.0
    if "unpaired_half_width" in row:
        handles["welch"] = ax.errorbar(
            [mean],
            [0],
            xerr=[[uhw], [uhw]],
            fmt="none",
            ecolor="#BBBBBB",
            elinewidth=7,
            zorder=1,
            label=f"unpaired (Welch) {ci_label}",
        )
    sig = bool(row["excludes_zero"])
    handles["sig" if sig else "ns"] = ax.errorbar(
        [mean],
        [0],
        xerr=[[mean - lo], [hi - mean]],
        fmt="o",
        color=_HIGHLIGHT if sig else _COLOR,
        capsize=5,
        elinewidth=2,
        markersize=7,
        zorder=3,
        label=f"paired {ci_label}" + (", excludes 0" if sig else ""),
    )
    ax.axvline(0.0, color="#333333", linewidth=1)
    span = [v for v in (0.0, lo, hi, mean - uhw, mean + uhw) if np.isfinite(v)]
    a, b = min(span), max(span)  # 0 is always there: no replication pair at all gives [0, 0]
    pad = (b - a) * 0.08 or (abs(a + b) * 0.05 or 1.0)
    ax.set_xlim(a - pad, b + pad)
    ax.set_ylim(-1, 1)
    ax.set_yticks([])
    ax.grid(axis="y", visible=False)
    ax.spines["left"].set_visible(False)
    value_axis(ax.xaxis, metric, diff=True)
    diff_text, hw_text = estimate_text(metric, mean, row["half_width"], currency, signed=True)
    ax.set_title(f"{wrap_name(row['variant'], 60)}:  {diff_text} {hw_text}".rstrip(), loc="left", fontsize=11)


def predicted_vs_simulated(
    table: pd.DataFrame,
    x: str,
    y: str,
    path: str | Path,
    label_col: str = "label",
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Path:
    """Optimizer predictions (hollow markers) against simulated means with 95% CI (filled).

    ``table`` has, per plan, columns ``pred_{x}``, ``pred_{y}``, ``{x}``, ``{y}`` and the CI
    columns ``{m}_ci_low``/``{m}_ci_high`` of the simulated metrics.
    """
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=_FIGSIZE)
        ax.plot(table[f"pred_{x}"], table[f"pred_{y}"], "o--", mfc="none", color="#555555", label="predicted")
        xerr = _err(table[x], table[f"{x}_ci_low"], table[f"{x}_ci_high"])
        yerr = _err(table[y], table[f"{y}_ci_low"], table[f"{y}_ci_high"])
        ax.errorbar(
            table[x], table[y], xerr=xerr, yerr=yerr, fmt="o-", color="#d95f02", capsize=3, label="simulated (95% CI)"
        )
        for _, row in table.iterrows():
            ax.annotate(str(row[label_col]), (row[x], row[y]), textcoords="offset points", xytext=(6, -10))
        ax.set_xlabel(xlabel or x)
        ax.set_ylabel(ylabel or y)
        ax.set_title(title or f"{y} vs {x}: predicted and simulated")
        ax.legend(loc="best")
        return _save(fig, path)


def late_price_lines(table: pd.DataFrame, path: str | Path, currency: str | None = None) -> Path:
    """Promotion plans against the price of a late order: profit from marketing, and each plan's paired
    difference to the capacity-blind plan (95% CI bars), simulated and predicted.

    ``table``: one row per (late_price, plan) with ``profit_from_marketing``, ``profit_vs_blind``,
    their ``_hw`` and ``predicted_profit_from_marketing``
    (``experiments.verify_promotion.price_table``).
    """
    from experiments.plot_style import PlainFormatter

    colors = {"priced": _HIGHLIGHT, "hard": _COLOR, "blind": _MUTED}
    money = currency or "currency"
    with plt.rc_context(_RC):
        fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.8), layout="constrained")
        prices = sorted(table.late_price.unique())
        step = (max(prices) - min(prices)) * 0.012 if len(prices) > 1 else 0.1
        for i, (plan, part) in enumerate(table.groupby("plan", sort=False)):
            part = part.sort_values("late_price")
            x = part.late_price + (i - 1) * step  # side by side, so the bars do not hide each other
            color = colors.get(str(plan), _COLOR)
            left.errorbar(
                x,
                part.profit_from_marketing,
                yerr=part.profit_from_marketing_hw,
                fmt="o-",
                capsize=3,
                color=color,
                label=f"{plan}: simulated (95% CI)",
            )
            left.plot(
                x, part.predicted_profit_from_marketing, "x--", color=color, alpha=0.7, label=f"{plan}: predicted"
            )
            right.errorbar(x, part.profit_vs_blind, yerr=part.profit_vs_blind_hw, fmt="o-", capsize=3, color=color)
        right.axhline(0.0, color=_MUTED, lw=1)
        for ax, title in ((left, "Profit from marketing"), (right, "Profit minus the blind plan's (paired)")):
            ax.set_xticks(prices)
            ax.yaxis.set_major_formatter(PlainFormatter(signed=ax is right))
            ax.set_xlabel(f"price of a late order ({money})")
            ax.set_title(title)
        left.set_ylabel(money)
        fig.suptitle("Promotion plans against the price of a late order")
        _legend_below(fig, ncol=3)
        return _save(fig, path)
