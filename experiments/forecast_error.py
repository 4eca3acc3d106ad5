"""The report's "Forecast error" tables: what forecasting the demand costs against the true-rate plan.

An experiment whose variants include forecast variants (``inventory.forecast`` set: their
runs have finite ``forecast_*`` KPIs) and a variant without a forecast (the true-rate plan:
no ``forecast_*`` values) gets two tables:

* the forecast error per variant and ABC class: MAPE and bias, mean ± CI half-width over the
  replications (``sim.kpis`` formats them);
* the fill-rate cost: each forecast variant's unit fill rate minus the true-rate variant's,
  paired on the replication (common random numbers; ``experiments.stats.paired_differences``).

>>> runs = pd.DataFrame({"variant": ["true", "true", "ma", "ma"], "replication": [0, 1, 0, 1], "status": "ok",
...                      "unit_fill_rate": [0.95, 0.97, 0.93, 0.96], "forecast_mape": [None, None, 0.3, 0.32],
...                      "forecast_bias": [None, None, -0.05, -0.03]})
>>> errors, cost = forecast_tables(runs)
>>> errors.iloc[0].tolist(), cost.iloc[0, :3].tolist()
(['ma', 'all', '31.0% ± 12.7 pp', '-4.0% ± 12.7 pp'], ['ma', 'true', '-1.5 ± 6.4 pp'])
"""

from __future__ import annotations

import math

import pandas as pd

from experiments.stats import mean_ci, paired_differences
from sim.kpis import KPIS

__all__ = ["forecast_tables"]

#: (row label, KPI name suffix) of the forecast-error table's classes.
CLASSES = (("all", ""), ("A", "_a"), ("B", "_b"), ("C", "_c"))


def _ok(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["status"] == "ok"] if "status" in runs.columns else runs


def _forecast_variants(runs: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(variants with a forecast, variants without one), in order of first appearance."""
    ok = _ok(runs)
    if "forecast_mape" not in ok.columns or "variant" not in ok.columns:
        return [], list(pd.unique(ok["variant"])) if "variant" in ok.columns else []
    has = ok.groupby("variant", sort=False)["forecast_mape"].apply(lambda x: bool(x.notna().any()))
    return [str(v) for v, h in has.items() if h], [str(v) for v, h in has.items() if not h]


def _estimate(values: pd.Series, name: str, level: float) -> str:
    ci = mean_ci(values.astype(float), level)
    hw = None if math.isnan(ci.half_width) else ci.half_width
    return KPIS[name].format_ci(ci.mean, hw)


def forecast_tables(runs: pd.DataFrame, level: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(forecast error per variant and class, fill-rate cost vs the true-rate variant), or None
    when the runs lack a forecast variant or a variant without a forecast."""
    with_fc, without = _forecast_variants(runs)
    if not with_fc or not without:
        return None
    ok, ref = _ok(runs), without[0]
    rows = []
    for v in with_fc:
        mine = ok[ok["variant"] == v]
        for label, suffix in CLASSES:
            mape, bias = f"forecast_mape{suffix}", f"forecast_bias{suffix}"
            if mape not in mine.columns or not mine[mape].notna().any():
                continue  # a class without pairs
            rows.append(
                {
                    "variant": v,
                    "class": label,
                    "MAPE ± half-width": _estimate(mine[mape], mape, level),
                    "bias ± half-width": _estimate(mine[bias], bias, level),
                }
            )
    paired = paired_differences(ok[ok["variant"].isin([ref, *with_fc])], ["unit_fill_rate"], ref, level)
    fill = KPIS["unit_fill_rate"]
    cost = pd.DataFrame(
        {
            "variant": paired["variant"].astype(str),
            "vs": ref,
            "unit fill rate difference": [
                fill.format_ci(m, None if math.isnan(h) else h, signed=True)
                for m, h in zip(paired["mean_diff"], paired["half_width"])
            ],
            f"{level:.0%} CI": [
                f"[{fill.format(lo, signed=True)}, {fill.format(hi, signed=True)}]"
                for lo, hi in zip(paired["ci_low"], paired["ci_high"])
            ],
            "excludes 0": ["yes" if e else "no" for e in paired["excludes_zero"]],
            "n pairs": paired["n"].astype(int),
        }
    )
    return pd.DataFrame(rows), cost
