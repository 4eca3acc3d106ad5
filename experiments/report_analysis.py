"""The report's output-analysis parts: the selected variant with its guarantee, sequential stopping,
the detected warm-up and control variates, each as (heading, note, display table or None).

:func:`experiments.report.write_report` shows them right after the headline, so a reader sees
which variant was chosen, with what guarantee, before the detailed tables.
"""

from __future__ import annotations

import pandas as pd

from sim.kpis import kpi

__all__ = ["Part", "analysis_parts", "control_variates_part", "selection_part", "stopping_part"]

Part = tuple[str, str, pd.DataFrame | None]  # (heading, note, display table)


def selection_part(selection, currency: str | None = None) -> Part:
    """The selected variant, the procedure's guarantee and per variant its replications, mean,
    elimination stage and multiple-comparisons-with-the-best interval."""
    cfg = selection.config
    k = kpi(cfg.metric)
    best = "smallest" if cfg.goal == "min" else "largest"
    note = (
        f"Selected: {selection.selected_name} ({best} mean {k.label.lower()}). {selection.guarantee}"
        + ("" if selection.guaranteed else " The procedure stopped before its guarantee held (see replications).")
        + f" MCB: the interval for the variant's mean minus the best of the others, within the indifference "
        f"zone of {k.format(cfg.indifference, currency)}, all holding together with the same confidence; an "
        "interval that stops at 0 on the good side rules the variant out as the best, one reaching past 0 on "
        "the good side keeps it in contention."
    )
    t = selection.table()
    shown = pd.DataFrame(
        {
            "variant": t["variant"],
            "replications": t["replications"].astype(int),
            "mean": [k.format(v, currency) for v in t["mean"]],
            "eliminated after": ["" if pd.isna(v) else str(int(v)) for v in t["eliminated_after"]],
            "MCB interval": [
                f"[{k.format(lo, currency, signed=True)}, {k.format(hi, currency, signed=True)}]"
                for lo, hi in zip(t["mcb_lower"], t["mcb_upper"])
            ],
            "selected": ["✓" if s else "" for s in t["selected"]],
        }
    )
    return f"Selection of the best ({cfg.procedure.upper()})", note, shown


def stopping_part(stopping, currency: str | None = None) -> Part:
    """How the sequential replications ended and each target's final half-width."""
    t = stopping.table
    shown = pd.DataFrame(
        {
            "variant": t["variant"],
            "KPI": [kpi(m).label for m in t["metric"]],
            "n": t["n"].astype(int),
            "half-width": [kpi(m).format(v, currency) for m, v in zip(t["metric"], t["half_width"])],
            "target": [kpi(m).format(v, currency) for m, v in zip(t["metric"], t["target"])],
            "met": ["yes" if m else "no" for m in t["met"]],
        }
    )
    note = (
        "Sequential replications (stop_when): batches of the same replications on every variant, so the "
        f"pairing holds, until every target is met: {stopping.sentence()}"
    )
    return "Sequential stopping", note, shown


def control_variates_part(table: pd.DataFrame, currency: str | None = None) -> Part:
    """Per variant and metric: the plain mean and CI beside the control-variate one, and the variance removed."""
    shown = pd.DataFrame(
        {
            "variant": table["variant"],
            "KPI": [kpi(m).label for m in table["metric"]],
            "plain": [
                _mean_hw(m, a, b, currency) for m, a, b in zip(table["metric"], table["mean"], table["half_width"])
            ],
            "with controls": [
                _mean_hw(m, a, b, currency)
                for m, a, b in zip(table["metric"], table["cv_mean"], table["cv_half_width"])
            ],
            "variance removed": [f"{v:.0%}" for v in table["variance_reduction"]],
            "controls": table["controls"],
        }
    )
    note = (
        "Control variates: each estimate is corrected by how far the replication's realised inputs (demand: "
        "orders placed minus their expected number; lead_time: realised minus mean supplier lead times) "
        "fell from their known means, with the coefficient fitted over the replications (regression "
        "estimator, n - q - 1 degrees of freedom). The share of variance removed is 1 - (CI width with "
        "controls / plain CI width)^2; a negative share means the controls only added noise there."
    )
    return "Control variates", note, shown if len(shown) else None


def _mean_hw(metric: str, mean: float, hw: float, currency: str | None) -> str:
    """``mean ± half-width`` in the KPI's format."""
    k = kpi(metric)
    return f"{k.format(mean, currency)} ± {k.format(hw, currency)}"


def analysis_parts(
    selection=None,
    stopping=None,
    control_variates: pd.DataFrame | None = None,
    extra: list[Part] | None = None,
    currency: str | None = None,
) -> list[Part]:
    """The parts an experiment's report shows after its headline (empty for a plain experiment)."""
    parts = []
    if selection is not None:
        parts.append(selection_part(selection, currency))
    if stopping is not None:
        parts.append(stopping_part(stopping, currency))
    if control_variates is not None:
        parts.append(control_variates_part(control_variates, currency))
    return parts + list(extra or [])
