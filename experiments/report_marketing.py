"""The report's marketing section: spend, incremental orders, their revenue, ROAS and CAC.

Shown when the replications have marketing channels: one row per variant with the marketing
KPIs of ``sim.kpis`` (mean ± 95% CI half-width), and, with two or more channels, one row per
variant and channel from the per-channel summary (``experiments.channels``). CAC is spend per incremental order (there is no
customer model); a ratio without a denominator reads n/a.

>>> runs = pd.DataFrame({"variant": ["a", "a"], "replication": [0, 1], "status": "ok",
...     "marketing_cost": [100.0, 100.0], "marketing_orders": [4.0, 6.0], "marketing_revenue": [300.0, 500.0],
...     "roas": [3.0, 5.0], "cac": [25.0, 100 / 6]})
>>> totals, _ = marketing_tables(runs, None, "CNY")
>>> totals.values.tolist()
[['a', '¥100 ± ¥0', '5 ± 12.7', '¥400 ± ¥1,271', '4 ± 12.7', '¥20.83 ± ¥52.94']]
"""

from __future__ import annotations

import pandas as pd

from experiments.channels import format_channel_table
from experiments.stats import summarize
from sim.kpis import kpi

__all__ = ["MARKETING_KPIS", "marketing_tables"]

#: The marketing KPIs of the report, in the order shown.
MARKETING_KPIS = ("marketing_cost", "marketing_orders", "marketing_revenue", "roas", "cac")


def marketing_tables(
    runs: pd.DataFrame | None, channels: pd.DataFrame | None, currency: str | None = None, level: float = 0.95
) -> tuple[pd.DataFrame, pd.DataFrame | None] | None:
    """(per-variant marketing KPIs, per-variant-and-channel table or None) as display texts; None when
    the runs have no marketing KPIs or no variant spent anything."""
    if runs is None or not len(runs) or any(m not in runs for m in MARKETING_KPIS):
        return None
    summary = summarize(runs, list(MARKETING_KPIS), ["variant"], level)
    if not (summary[summary["metric"] == "marketing_cost"]["mean"] > 0).any():
        return None
    rows = []
    for variant, grp in summary.groupby("variant", sort=False):
        by = grp.set_index("metric")
        cells = [
            kpi(m).format_ci(float(by.at[m, "mean"]), _hw(by.at[m, "half_width"]), currency) for m in MARKETING_KPIS
        ]
        rows.append([str(variant), *cells])
    totals = pd.DataFrame(rows, columns=["variant", *(kpi(m).label for m in MARKETING_KPIS)])
    return totals, _channel_table(channels, currency)


def _hw(x) -> float | None:
    return None if pd.isna(x) else float(x)


def _channel_table(channels: pd.DataFrame | None, currency: str | None) -> pd.DataFrame | None:
    """Variant, channel, spend, orders, revenue, roas, cac as texts (None with fewer than two channels:
    one channel's row would repeat the totals)."""
    if channels is None or channels["channel"].nunique() < 2:
        return None
    rows = []
    for variant, grp in channels.groupby("variant", sort=False):
        header, *body = format_channel_table(grp, currency)
        rows += [[str(variant), *r] for r in body]
    return pd.DataFrame(rows, columns=["variant", *header])
