"""KPIs from the recorded daily arrays (days after warm-up only).

Every KPI is defined once here, with its unit and meaning (``KPI_INFO``), and
the accounting identities hold by construction and are asserted in tests:

    total_cost   = holding_cost + ordering_cost + shortage_cost + marketing_cost
    gross_margin = revenue - cost_of_goods_sold
    profit       = gross_margin - total_cost
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from sim.schema import Scenario

KPI_INFO: dict[str, tuple[str, str]] = {
    "orders": ("orders", "customer orders placed"),
    "units_demanded": ("units", "units ordered by customers"),
    "units_shipped": ("units", "units shipped to customers (backorders included when filled)"),
    "revenue": ("currency", "sales value of the units shipped (after promotion discounts)"),
    "cost_of_goods_sold": ("currency", "purchase cost of the units shipped"),
    "gross_margin": ("currency", "revenue - cost of goods sold"),
    "unit_fill_rate": ("fraction", "share of units met from stock on hand at once"),
    "line_fill_rate": ("fraction", "share of order lines met completely from stock at once"),
    "order_fill_rate": ("fraction", "share of orders met completely from stock at once"),
    "cycle_service_level": ("fraction", "share of replenishment cycles without a stock-out"),
    "lost_units": ("units", "units not sold because stock was out (lost-sales mode)"),
    "lost_sales_value": ("currency", "sales value of the lost units"),
    "backordered_units": ("units", "units that had to wait for stock (backorder mode)"),
    "avg_backorder_units": ("units", "time-average units on backorder"),
    "mean_order_delay_days": ("days", "mean time from order to allocation of its last unit"),
    "avg_on_hand_units": ("units", "time-average units on hand"),
    "avg_inventory_value": ("currency", "time-average value of stock on hand at unit cost"),
    "inventory_turnover": ("1/year", "cost of goods sold per year / average inventory value"),
    "days_of_supply": ("days", "average units on hand / units shipped per day"),
    "holding_cost": ("currency", "holding rate x inventory value x time"),
    "ordering_cost": ("currency", "fixed cost of the replenishment orders"),
    "shortage_cost": ("currency", "backorder penalty per unit-day + lost-sale penalty per unit"),
    "marketing_cost": ("currency", "marketing spend"),
    "total_cost": ("currency", "holding + ordering + shortage + marketing"),
    "cost_per_day": ("currency/day", "total cost per day"),
    "profit": ("currency", "gross margin - total cost"),
    "replenishment_orders": ("orders", "purchase orders placed with suppliers"),
}


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else float("nan")


def compute_kpis(scenario: Scenario, daily: pd.DataFrame, order_delay: np.ndarray) -> dict[str, float]:
    d = daily[~daily["warmup"]]
    days = len(d)
    S = {c: float(d[c].sum()) for c in d.columns if c not in ("date", "warmup", "day")}
    costs = scenario.inventory.costs
    holding = S["inventory_value"] * costs.holding_rate_per_year / 365.0
    shortage = (S["backorder_unit_days"] * costs.backorder_cost_per_unit_day
                + S["units_lost"] * costs.lost_sale_cost_per_unit)
    total = holding + S["ordering_cost"] + shortage + S["marketing_spend"]
    gross = S["revenue"] - S["cogs"]
    avg_value = S["inventory_value"] / days
    shipped_delay = order_delay[~np.isnan(order_delay)]
    k = {
        "orders": S["orders"],
        "units_demanded": S["units_demanded"],
        "units_shipped": S["units_shipped"],
        "revenue": S["revenue"],
        "cost_of_goods_sold": S["cogs"],
        "gross_margin": gross,
        "unit_fill_rate": _ratio(S["units_filled_now"], S["units_demanded"]),
        "line_fill_rate": _ratio(S["lines_filled_now"], S["lines"]),
        "order_fill_rate": _ratio(S["orders_filled_now"], S["orders"]),
        "cycle_service_level": 1.0 - _ratio(S["stockout_cycles"], S["cycles"]),
        "lost_units": S["units_lost"],
        "lost_sales_value": S["lost_value"],
        "backordered_units": S["units_backordered"],
        "avg_backorder_units": S["backorder_unit_days"] / days,
        "mean_order_delay_days": float(shipped_delay.mean()) if len(shipped_delay) else float("nan"),
        "avg_on_hand_units": S["on_hand_units"] / days,
        "avg_inventory_value": avg_value,
        "inventory_turnover": _ratio(S["cogs"] / days * 365.0, avg_value),
        "days_of_supply": _ratio(S["on_hand_units"] / days, S["units_shipped"] / days),
        "holding_cost": holding,
        "ordering_cost": S["ordering_cost"],
        "shortage_cost": shortage,
        "marketing_cost": S["marketing_spend"],
        "total_cost": total,
        "cost_per_day": total / days,
        "profit": gross - total,
        "replenishment_orders": S["replenishment_orders"],
    }
    assert list(k) == list(KPI_INFO), "KPI_INFO and compute_kpis must list the same KPIs"
    return k
