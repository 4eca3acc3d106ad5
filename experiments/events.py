"""KPIs per promotion event: tidy rows from the replications' outputs and their summary tables.

A replication's output carries ``events``: {event label: {KPI: value}} over the orders placed
on the event's days (``sim.metrics.event_windows``). ``run.py simulate`` and experiments turn
them into one tidy table (ids..., replication, event, kpi, value) and a summary (mean and 95%
CI per event and KPI).

>>> rows = list(event_rows({"events": {"d11": {"orders": 5.0}}}, replication=0))
>>> rows
[{'replication': 0, 'event': 'd11', 'kpi': 'orders', 'value': 5.0}]
>>> event_summary(pd.DataFrame(rows))[["event", "metric", "n", "mean"]].values.tolist()
[['d11', 'orders', 1, 5.0]]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pandas as pd

from experiments.stats import summarize
from sim.metrics import KPI_INFO

__all__ = ["event_rows", "event_summary", "event_tables"]


def event_rows(out: dict, **ids) -> Iterator[dict]:
    """The tidy rows (``ids``..., event, kpi, value) of one replication's per-event KPIs."""
    for label, values in out.get("events", {}).items():
        for name, value in values.items():
            yield {**ids, "event": label, "kpi": name, "value": value}


def event_summary(events: pd.DataFrame, by: Sequence[str] = ("event",)) -> pd.DataFrame:
    """Mean and CI of every KPI per ``by`` group (default: per event) from the tidy table."""
    wide = events.pivot_table(
        index=[*by, "replication"], columns="kpi", values="value", sort=False, dropna=False
    ).reset_index()
    return summarize(wide, [m for m in KPI_INFO if m in wide], list(by))


def event_tables(rows: list[dict]) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """An experiment's tidy per-event table (variant, replication, event, kpi, value) and its summary
    (mean and 95% CI per variant, event and KPI); (None, None) without promotion events."""
    if not rows:
        return None, None
    events = pd.DataFrame(rows)
    return events, event_summary(events, ("variant", "event"))
