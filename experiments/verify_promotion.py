"""Verification of promotion plans by simulation: priced, hard and blind capacity, at several late prices.

At each late price p the three plans are solved with ``late_delivery_cost_per_order = p``;
every distinct plan is simulated once per replication with the same seeds (common random
numbers) along with the no-marketing scenario. A late order's price changes no event of the
simulation, only its cost, so a run's profit at price p is its profit at the scenario's
price less (p - scenario price) x its late orders: the sweep simulates each distinct plan
once and prices the runs at every p.

Reported per price and plan: the plan's predicted profit from marketing (its extra orders'
margin less spend, less the late orders its pick backlog causes at p, after the warm-up),
the simulated profit from marketing (plan - no marketing, paired), late orders and the late
rate around the events; and the paired differences priced - blind and priced - hard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import yaml

from experiments.report import fmt_num
from experiments.stats import mean_ci
from sim.scenario.schema import warmup_days_of

__all__ = ["PriceSweep", "distinct_plans", "price_table", "sweep_report"]

PLANS = ("priced", "hard", "blind")


def distinct_plans(plans: dict[tuple[float, str], Any]) -> tuple[dict[str, dict], dict[tuple[float, str], str]]:
    """(variant name -> overlay, (price, mode) -> variant name): equal overlays are simulated once."""
    variants: dict[str, dict] = {}
    seen: dict[str, str] = {}
    which = {}
    for key, plan in plans.items():
        overlay = plan.to_overlay()
        text = yaml.safe_dump(overlay["demand"], sort_keys=True)
        if text not in seen:
            seen[text] = f"plan{len(seen)}"
            variants[seen[text]] = overlay
        which[key] = seen[text]
    return variants, which


def _at_price(run: pd.DataFrame, price: float, base_price: float) -> pd.Series:
    """Profit of each run (row) had a late order cost ``price`` instead of ``base_price``."""
    return run["profit"] - (price - base_price) * run["late_orders"]


def _predicted(scenario, plan, price: float) -> float:
    """The plan's profit from marketing after the warm-up, less its predicted backlog late orders at ``price``."""
    post = [s >= scenario.start_date + pd.Timedelta(days=warmup_days_of(scenario)) for s in plan.spend.start]
    return float(plan.spend.profit[post].sum()) - price * float(plan.late.get("late_orders", 0.0))


@dataclass
class PriceSweep:
    """The sweep's table (one row per price and plan) and the paired differences (one row per price and rival)."""

    table: pd.DataFrame
    differences: pd.DataFrame


def _row(price, mode, plan, scenario, run, none, base_price) -> dict:
    profit = _at_price(run, price, base_price)
    gain = mean_ci(profit - _at_price(none, price, base_price))
    late, event = mean_ci(run["late_orders"]), mean_ci(run["late_event"])
    total = mean_ci(profit)
    return {
        "late_price": price,
        "plan": mode,
        "predicted_profit_from_marketing": _predicted(scenario, plan, price),
        "profit_from_marketing": gain.mean,
        "profit_from_marketing_hw": gain.half_width,
        "profit": total.mean,
        "profit_hw": total.half_width,
        "late_orders": late.mean,
        "late_orders_hw": late.half_width,
        "late_rate_events": event.mean,
        "late_rate_events_hw": event.half_width,
        "predicted_backlog_late_orders": float(plan.late.get("late_orders", 0.0)),
        "extra_orders": float(mean_ci(run["orders"] - none["orders"]).mean),
    }


def price_table(scenario, plans: dict, which: dict, by: dict[str, pd.DataFrame], prices: list[float]) -> PriceSweep:
    """The sweep's figures from the simulated variants ``by`` (``which``: (price, mode) -> variant)."""
    base_price = scenario.inventory.costs.late_delivery_cost_per_order
    rows, diffs = [], []
    for p in prices:
        blind_profit = _at_price(by[which[p, "blind"]], p, base_price)
        for mode in PLANS:
            run = by[which[p, mode]]
            row = _row(p, mode, plans[p, mode], scenario, run, by["none"], base_price)
            d = mean_ci(_at_price(run, p, base_price) - blind_profit)  # paired: the same seeds
            row.update(profit_vs_blind=d.mean, profit_vs_blind_hw=0.0 if mode == "blind" else d.half_width)
            rows.append(row)
        priced = by[which[p, "priced"]]
        for rival in ("blind", "hard"):
            other = by[which[p, rival]]
            dp = mean_ci(_at_price(priced, p, base_price) - _at_price(other, p, base_price))
            dl = mean_ci(priced["late_orders"] - other["late_orders"])
            diffs.append(
                {
                    "late_price": p,
                    "versus": rival,
                    "profit_diff": dp.mean,
                    "profit_diff_low": dp.low,
                    "profit_diff_high": dp.high,
                    "late_orders_diff": dl.mean,
                    "late_orders_diff_low": dl.low,
                    "late_orders_diff_high": dl.high,
                    "same_plan": which[p, "priced"] == which[p, rival],
                }
            )
    return PriceSweep(pd.DataFrame(rows), pd.DataFrame(diffs))


def _ci(mean: float, hw: float, digits: int = 0) -> str:
    hw_text = "" if not np.isfinite(hw) else f" ± {fmt_num(hw, digits)}"
    return f"{fmt_num(mean, digits)}{hw_text}"


def sweep_report(sweep: PriceSweep, replications: int) -> str:
    """The sweep as text: per price, the three plans side by side, then priced - rival paired differences."""
    lines = [
        f"verification: {replications} replications on fresh streams, independent of the pilot (seeds "
        "verify_seed(master, r)), common random numbers, mean ± 95% CI half-width; "
        "predicted = the plan's own figure at that late price (after the warm-up)"
    ]
    for p, part in sweep.table.groupby("late_price", sort=True):
        lines.append(f"late price {fmt_num(p, 2)} per late order:")
        lines.append(f"  {'':<28}" + "".join(f"{m:>24}" for m in part.plan))
        for label, col, digits in (
            ("predicted profit, marketing", "predicted_profit_from_marketing", 0),
            ("profit from marketing", "profit_from_marketing", 0),
            ("late orders", "late_orders", 0),
            ("late rate, events ± 7 d", "late_rate_events", 4),
        ):
            cells = [
                _ci(r[col], r.get(f"{col}_hw", np.nan), digits)
                if col != "predicted_profit_from_marketing"
                else fmt_num(r[col])
                for _, r in part.iterrows()
            ]
            lines.append(f"  {label:<28}" + "".join(f"{c:>24}" for c in cells))
        for r in sweep.differences[sweep.differences.late_price == p].itertuples():
            same = " (the same plan)" if r.same_plan else ""
            lines.append(
                f"  priced - {r.versus}: profit {fmt_num(r.profit_diff)} [{fmt_num(r.profit_diff_low)}, "
                f"{fmt_num(r.profit_diff_high)}], late orders {fmt_num(r.late_orders_diff)} "
                f"[{fmt_num(r.late_orders_diff_low)}, {fmt_num(r.late_orders_diff_high)}]{same}"
            )
    return "\n".join(lines)
