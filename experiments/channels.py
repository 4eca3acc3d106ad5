"""KPIs per marketing channel: wide rows from the replications' outputs and their summary tables.

A replication's output carries ``channels``: {channel: {spend, orders, revenue, roas, cac}} over
the KPI span (``sim.metrics.channel_kpis``; the columns are measured as the KPIs of
``sim.metrics.CHANNEL_COLUMNS``). ``run.py simulate`` and experiments write them as
``channels.csv`` (ids..., replication, channel, spend, orders, revenue, roas, cac) and a summary
(mean and 95% CI per channel and column) as ``channels_summary.csv``.

>>> rows = list(channel_rows({"channels": {"ads": {"spend": 10.0, "orders": 2.0}}}, replication=0))
>>> rows
[{'replication': 0, 'channel': 'ads', 'spend': 10.0, 'orders': 2.0}]
>>> channel_summary(pd.DataFrame(rows))[["channel", "metric", "n", "mean"]].values.tolist()
[['ads', 'spend', 1, 10.0], ['ads', 'orders', 1, 2.0]]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pandas as pd

from experiments.stats import summarize
from sim.kpis import kpi
from sim.metrics import CHANNEL_COLUMNS

__all__ = ["channel_rows", "channel_summary", "channel_tables", "format_channel_table"]


def channel_rows(out: dict, **ids) -> Iterator[dict]:
    """The wide rows (``ids``..., channel, spend, orders, revenue, roas, cac) of one replication's channels."""
    for name, values in out.get("channels", {}).items():
        yield {**ids, "channel": name, **values}


def channel_summary(channels: pd.DataFrame, by: Sequence[str] = ("channel",)) -> pd.DataFrame:
    """Mean and CI of every channel column per ``by`` group (default: per channel)."""
    return summarize(channels, [c for c in CHANNEL_COLUMNS if c in channels], list(by))


def channel_tables(rows: list[dict]) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """An experiment's per-channel table (variant, replication, channel, ...) and its summary
    (mean and 95% CI per variant, channel and column); (None, None) without marketing channels."""
    if not rows:
        return None, None
    channels = pd.DataFrame(rows)
    return channels, channel_summary(channels, ("variant", "channel"))


def format_channel_table(summary: pd.DataFrame, currency: str | None = None) -> list[list[str]]:
    """One row per channel (a header row first): channel, then spend, orders, revenue, ROAS and CAC as a
    person reads them (mean ± 95% CI half-width; n/a for a ratio without a denominator).

    >>> s = channel_summary(pd.DataFrame([{"replication": 0, "channel": "ads", "spend": 100.0, "roas": 2.5}]))
    >>> format_channel_table(s, "CNY")
    [['channel', 'spend', 'roas'], ['ads', '¥100', '2.5']]
    """
    columns = [c for c in CHANNEL_COLUMNS if c in set(summary["metric"])]
    rows = [["channel", *columns]]
    for name, grp in summary.groupby("channel", sort=False):
        by = grp.set_index("metric")
        cells = []
        for c in columns:
            hw = by.at[c, "half_width"]
            cells.append(
                kpi(CHANNEL_COLUMNS[c]).format_ci(float(by.at[c, "mean"]), None if pd.isna(hw) else float(hw), currency)
            )
        rows.append([str(name), *cells])
    return rows
