"""The KPI registry: one definition per KPI, used by console tables, plots, reports and docs.

Each KPI has a name (the column in ``runs.csv``), a human label, a unit, a better
direction and a description. ``format_value`` prints a value as a person reads it:
rates as percentages, money with thousands separators and the scenario's currency,
days and minutes with their unit.

>>> KPIS["on_time_rate"].label, KPIS["on_time_rate"].format(0.9134)
('On-time delivery', '91.3%')
>>> KPIS["total_cost"].format(1234567.8, currency="CNY"), KPIS["total_cost"].axis_label("CNY")
('¥1,234,568', 'Total cost (¥)')
>>> KPIS["click_to_door_p95"].format(2.345)
'2.35 days'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: ISO code -> symbol shown before amounts; other codes are shown after the amount.
CURRENCY_SYMBOLS = {"CNY": "¥", "RMB": "¥", "JPY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "INR": "₹", "KRW": "₩"}


def currency_symbol(code: str | None) -> str:
    """``"CNY"`` -> ``"¥"``; an unknown code is itself; None or empty -> ``""``."""
    if not code:
        return ""
    return CURRENCY_SYMBOLS.get(code.upper(), code)


def money(value: float, currency: str | None = None, decimals: int = 0) -> str:
    """``money(1234.5, "CNY")`` -> ``'¥1,235'``; ``money(-3, "SEK")`` -> ``'-3 SEK'``.

    The sign is that of the rounded amount: ``money(-0.001, "CNY", 2)`` -> ``'¥0.00'``, not ``'-¥0.00'``.
    """
    sym = currency_symbol(currency)
    sign = "-" if round(value, decimals) < 0 else ""
    body = f"{abs(value):,.{decimals}f}"
    if not sym:
        return sign + body
    return f"{sign}{sym}{body}" if len(sym) == 1 else f"{sign}{body} {sym}"


@dataclass(frozen=True)
class KPI:
    """One KPI of the registry: name, human label, unit, better direction, description; formats values."""

    name: str
    label: str
    unit: str  # fraction, currency, currency/order, currency/day, units, orders, days, minutes, ...
    better: str | None
    description: str

    @property
    def kind(self) -> str:
        """rate, money, duration or count: how a value is printed."""
        if self.unit == "fraction":
            return "rate"
        if self.unit.startswith("currency"):
            return "money"
        if self.unit in ("days", "minutes", "hours"):
            return "duration"
        return "count"

    def unit_text(self, currency: str | None = None) -> str:
        """The unit as shown on an axis: '%', '¥', '¥/order', 'days', 'units'."""
        if self.kind == "rate":
            return "%"
        if self.kind == "money":
            sym = currency_symbol(currency) or "currency"
            return sym + self.unit[len("currency") :]
        return self.unit

    def axis_label(self, currency: str | None = None) -> str:
        """The axis title of a plot of this KPI: ``'Total cost (¥)'``."""
        return f"{self.label} ({self.unit_text(currency)})"

    def format(self, value: float, currency: str | None = None, signed: bool = False) -> str:
        """A value as a person reads it (``signed`` for differences: '+1.2 pp', '+¥3,400')."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        plus = "+" if signed and value > 0 else ""
        if self.kind == "money" and round(value, 2 if abs(value) < 100 else 0) == 0:
            plus = ""  # a difference that rounds to nothing carries no sign
        if self.kind == "rate":
            return f"{plus}{value * 100:.1f} pp" if signed else f"{value * 100:.1f}%"
        if self.kind == "money":
            decimals = 2 if 0 < abs(value) < 100 else 0
            return plus + money(value, currency, decimals)
        if self.kind == "duration":
            return f"{plus}{value:,.2f} {self.unit}" if abs(value) < 100 else f"{plus}{value:,.0f} {self.unit}"
        if abs(value) >= 1000 or float(value).is_integer():
            return f"{plus}{value:,.0f}"
        return f"{plus}{value:,.3g}"

    def format_ci(
        self, mean: float, half_width: float | None, currency: str | None = None, signed: bool = False
    ) -> str:
        """Mean (or, ``signed``, a difference) and 95% CI half-width as a person reads them.

        >>> KPIS["on_time_rate"].format_ci(0.9134, 0.0042)
        '91.3% ± 0.4 pp'
        >>> KPIS["total_cost"].format_ci(1234567.8, 3400, "CNY"), KPIS["orders"].format_ci(812, None)
        ('¥1,234,568 ± ¥3,400', '812')
        >>> KPIS["click_to_door_p95"].format_ci(3.6, 1.44), KPIS["on_time_rate"].format_ci(0.012, 0.004, signed=True)
        ('3.60 ± 1.44 days', '+1.2 ± 0.4 pp')
        """
        text = self.format(mean, currency, signed)
        if half_width is None or (isinstance(half_width, float) and math.isnan(half_width)) or text == "n/a":
            return text
        if self.kind == "rate":
            return f"{text.removesuffix(' pp')} ± {half_width * 100:.1f} pp"
        if self.kind == "duration":
            unit = f" {self.unit}"
            return f"{text.removesuffix(unit)} ± {self.format(half_width, currency)}"
        return f"{text} ± {self.format(half_width, currency)}"


#: (name suffix, label suffix, which pairs) of the forecast-error KPIs: all pairs, then each ABC class.
_FORECAST_GROUPS = (
    ("", "", "all"),
    ("_a", ", class A", "class A"),
    ("_b", ", class B", "class B"),
    ("_c", ", class C", "class C"),
)

#: The KPI registry, one entry per KPI in the order of ``compute_kpis`` and ``runs.csv``:
#: KPI(name, human label, unit, better direction ("higher", "lower" or None), description).
KPIS: dict[str, KPI] = {
    k.name: k
    for k in (
        KPI("orders", "Orders", "orders", None, "customer orders placed"),
        KPI(
            "expected_orders",
            "Expected orders",
            "orders",
            None,
            "expected orders of the days (the demand rate with promotions and marketing): orders' known mean",
        ),
        KPI("units_demanded", "Units demanded", "units", None, "units ordered by customers"),
        KPI(
            "units_shipped",
            "Units shipped",
            "units",
            "higher",
            "units shipped to customers (backorders included when filled)",
        ),
        KPI("revenue", "Revenue", "currency", "higher", "sales value of the units shipped (after promotion discounts)"),
        KPI("cost_of_goods_sold", "Cost of goods sold", "currency", None, "purchase cost of the units shipped"),
        KPI("gross_margin", "Gross margin", "currency", "higher", "revenue - cost of goods sold"),
        KPI("unit_fill_rate", "Unit fill rate", "fraction", "higher", "share of units met from stock on hand at once"),
        KPI(
            "line_fill_rate",
            "Line fill rate",
            "fraction",
            "higher",
            "share of order lines met completely from stock at once",
        ),
        KPI(
            "order_fill_rate",
            "Order fill rate",
            "fraction",
            "higher",
            "share of orders met completely from stock at once",
        ),
        KPI(
            "cycle_service_level",
            "Cycle service level",
            "fraction",
            "higher",
            "share of replenishment cycles without a stock-out",
        ),
        KPI("lost_units", "Lost units", "units", "lower", "units not sold because stock was out (lost-sales mode)"),
        KPI("lost_sales_value", "Lost sales value", "currency", "lower", "sales value of the lost units"),
        KPI(
            "backordered_units",
            "Backordered units",
            "units",
            "lower",
            "units that had to wait for stock (backorder mode)",
        ),
        KPI(
            "avg_backorder_units",
            "Average backorders",
            "units",
            "lower",
            "time-average units on backorder (period-end with costs.cost_basis: period_end)",
        ),
        KPI(
            "mean_order_delay_days",
            "Mean order delay",
            "days",
            "lower",
            "mean time from order to allocation of its last unit",
        ),
        KPI(
            "avg_on_hand_units",
            "Average stock on hand",
            "units",
            None,
            "time-average units on hand (period-end with costs.cost_basis: period_end)",
        ),
        KPI(
            "avg_inventory_value",
            "Average inventory value",
            "currency",
            "lower",
            "time-average value of stock on hand at unit cost (period-end with cost_basis: period_end)",
        ),
        KPI(
            "avg_overflow_units",
            "Average overflow stock",
            "units",
            "lower",
            "time-average units on hand above the warehouses' storage_units (in overflow space; 0 without capacities)",
        ),
        KPI(
            "max_overflow_units",
            "Peak overflow stock",
            "units",
            "lower",
            "most units in one warehouse's overflow space at once",
        ),
        KPI(
            "inventory_turnover",
            "Inventory turnover",
            "1/year",
            "higher",
            "cost of goods sold per year / average inventory value",
        ),
        KPI("days_of_supply", "Days of supply", "days", None, "average units on hand / units shipped per day"),
        KPI("holding_cost", "Holding cost", "currency", "lower", "holding rate x inventory value x time"),
        KPI(
            "ordering_cost",
            "Ordering cost",
            "currency",
            "lower",
            "fixed cost of the replenishment orders + order_cost_per_unit x units ordered",
        ),
        KPI(
            "shortage_cost",
            "Shortage cost",
            "currency",
            "lower",
            "backorder penalty per unit-day + lost-sale penalty per unit",
        ),
        KPI(
            "overflow_cost",
            "Overflow storage cost",
            "currency",
            "lower",
            "overflow unit-days x warehouses[].overflow_cost_per_unit_day",
        ),
        KPI("marketing_cost", "Marketing spend", "currency", None, "marketing spend"),
        KPI("shipping_cost", "Shipping cost", "currency", "lower", "carrier charges of the shipments that left"),
        KPI(
            "handling_cost",
            "Handling cost",
            "currency",
            "lower",
            "shipments that left x their warehouse's handling_cost_per_order",
        ),
        KPI("labour_cost", "Picking labour cost", "currency", "lower", "scheduled picker-hours x wage"),
        KPI(
            "warehouse_fixed_cost",
            "Warehouse fixed cost",
            "currency",
            "lower",
            "days x fixed_cost_per_day of the open warehouses",
        ),
        KPI(
            "late_delivery_cost",
            "Late-delivery compensation",
            "currency",
            "lower",
            "late orders x inventory.costs.late_delivery_cost_per_order",
        ),
        KPI(
            "total_cost",
            "Total cost",
            "currency",
            "lower",
            "holding + ordering + shortage + overflow + marketing + shipping + handling + labour + warehouse fixed + late delivery",
        ),
        KPI("cost_per_day", "Cost per day", "currency/day", "lower", "total cost per day"),
        KPI("profit", "Profit", "currency", "higher", "gross margin - total cost"),
        KPI(
            "marketing_orders",
            "Incremental orders",
            "orders",
            "higher",
            "orders placed above the organic demand, brought by the marketing channels",
        ),
        KPI(
            "marketing_revenue",
            "Marketing revenue",
            "currency",
            "higher",
            "revenue (as revenue: units shipped, after discounts) of the incremental orders",
        ),
        KPI("roas", "ROAS", "ratio", "higher", "return on ad spend: marketing revenue / marketing spend"),
        KPI(
            "cac",
            "Cost per incremental order",
            "currency/order",
            "lower",
            "CAC: marketing spend / incremental orders (no customer model: per order, not per new customer)",
        ),
        KPI("replenishment_orders", "Purchase orders", "orders", None, "purchase orders placed with suppliers"),
        KPI(
            "lead_time_deviation_days",
            "Lead-time deviation",
            "days",
            None,
            "sum over purchase orders of (lead time drawn - the supplier's mean lead time): known mean 0",
        ),
        KPI("picks", "Lines picked", "lines", None, "order lines picked"),
        KPI(
            "picker_utilization",
            "Picker utilization",
            "fraction",
            None,
            "picker time spent on pick jobs / scheduled picker time",
        ),
        KPI("pick_queue_mean", "Average pick queue", "jobs", "lower", "time-average pick jobs waiting for a picker"),
        KPI("pick_queue_max", "Longest pick queue", "jobs", "lower", "most pick jobs waiting at once"),
        KPI(
            "mean_pick_wait_minutes",
            "Mean wait for a picker",
            "minutes",
            "lower",
            "mean time from release to the warehouse until picking starts",
        ),
        KPI(
            "prob_pick_wait",
            "Share waiting for a picker",
            "fraction",
            "lower",
            "share of shipments that waited for a picker",
        ),
        KPI(
            "order_cycle_time_days",
            "Order cycle time",
            "days",
            "lower",
            "mean time from order to departure of its last parcel",
        ),
        KPI(
            "click_to_door_days",
            "Click-to-door time",
            "days",
            "lower",
            "mean time from order to delivery (delivered orders)",
        ),
        KPI("click_to_door_p50", "Click-to-door, median", "days", "lower", "median click-to-door time"),
        KPI(
            "click_to_door_p90",
            "Click-to-door, 90th percentile",
            "days",
            "lower",
            "90th percentile of click-to-door time",
        ),
        KPI(
            "click_to_door_p95",
            "Click-to-door, 95th percentile",
            "days",
            "lower",
            "95th percentile of click-to-door time",
        ),
        KPI(
            "on_time_rate",
            "On-time delivery",
            "fraction",
            "higher",
            "orders delivered by their promised day / orders whose promised day has passed",
        ),
        KPI(
            "late_orders",
            "Late orders",
            "orders",
            "lower",
            "orders not delivered by their promised day (promised day within the horizon)",
        ),
        KPI("split_shipment_rate", "Split shipments", "fraction", "lower", "orders sent in more than one parcel"),
        KPI("shipping_cost_per_order", "Shipping cost per order", "currency/order", "lower", "shipping cost / orders"),
        KPI("total_cost_per_order", "Total cost per order", "currency/order", "lower", "total cost / orders"),
        *(
            KPI(
                f"forecast_mape{suffix}",
                f"Forecast MAPE{label}",
                "fraction",
                "lower",
                f"mean abs(F - A) / A over the {who} (warehouse, SKU) pairs and refit intervals with demand A > 0 "
                "(F: the forecast made at the previous refit; only with inventory.forecast)",
            )
            for suffix, label, who in _FORECAST_GROUPS
        ),
        *(
            KPI(
                f"forecast_bias{suffix}",
                f"Forecast bias{label}",
                "fraction",
                None,
                f"sum (F - A) / sum A over the {who} pairs and refit intervals (> 0: over-forecast; "
                "only with inventory.forecast)",
            )
            for suffix, label, who in _FORECAST_GROUPS
        ),
    )
}

#: The forecast-error KPIs (``sim.model.forecast``): they exist only when ``inventory.forecast`` is set,
#: so a run without a forecast has no such columns (and no empty rows in its tables).
FORECAST_KPIS: tuple[str, ...] = tuple(name for name in KPIS if name.startswith("forecast_"))

#: name -> (unit, description) of every KPI (``docs/kpis.md`` lists them).
KPI_INFO: dict[str, tuple[str, str]] = {name: (k.unit, k.description) for name, k in KPIS.items()}

#: The daily table (``result.daily``, ``daily.csv``): column -> (unit, meaning). One row per simulated
#: day d (warm-up days included and flagged). "Placed" counts belong to the day an order was placed,
#: "shipped"/"received" ones to the day it happened; ``*_unit_days`` are integrals over the day (the
#: day's time-average, as a day is 1 long).
DAILY_COLUMNS_INFO: dict[str, tuple[str, str]] = {
    "day": ("day", "day number, 0 = start_date"),
    "date": ("date", "calendar date of the day"),
    "warmup": ("flag", "true for the warm-up days (excluded from the KPIs unless a kpi_window is given)"),
    "expected_orders": ("orders", "expected orders of the day (demand rate incl. promotions and marketing)"),
    "marketing_spend": ("currency", "marketing spend of the day, all channels"),
    "marketing_orders": ("orders", "incremental orders placed that day (brought by the marketing channels)"),
    "marketing_revenue": ("currency", "revenue of the incremental orders' units shipped that day"),
    "orders": ("orders", "orders placed that day"),
    "lines": ("lines", "order lines of the orders placed that day"),
    "units_demanded": ("units", "units of the orders placed that day"),
    "units_filled_now": ("units", "of those, units met from stock on hand at once"),
    "lines_filled_now": ("lines", "of those, lines met completely from stock at once"),
    "orders_filled_now": ("orders", "of those, orders met completely from stock at once"),
    "units_shipped": ("units", "units allocated to customers that day (from stock at once or to a waiting backorder)"),
    "units_lost": ("units", "units of that day's orders lost for want of stock (lost-sales mode)"),
    "units_backordered": ("units", "units of that day's orders put on backorder (backorder mode)"),
    "orders_lost": ("orders", "orders placed that day of which nothing could be sold"),
    "revenue": ("currency", "sales value of the units_shipped"),
    "cogs": ("currency", "purchase cost of the units_shipped"),
    "lost_value": ("currency", "sales value of the units_lost"),
    "replenishment_orders": ("orders", "purchase orders placed with suppliers that day"),
    "ordering_cost": ("currency", "fixed cost of those purchase orders + order_cost_per_unit x their units"),
    "lead_time_deviation_days": (
        "days",
        "sum over those purchase orders of (lead time drawn - the supplier's mean lead time); mean 0",
    ),
    "units_ordered": ("units", "units in the purchase orders placed that day"),
    "units_received": ("units", "units received from suppliers that day"),
    "cycles": ("cycles", "replenishment cycles ended that day (receipts per warehouse x SKU)"),
    "stockout_cycles": ("cycles", "of those, cycles in which the pair ran out of stock"),
    "orders_shipped": ("orders", "not counted (always 0); see shipments_shipped"),
    "on_hand_units": ("unit-days", "integral of units on hand over the day (= the day's average stock)"),
    "inventory_value": ("currency-days", "integral of the stock's value at unit cost over the day"),
    "backorder_unit_days": ("unit-days", "integral of units on backorder over the day"),
    "backorder_units_end": ("units", "units on backorder at the end of the day"),
    "on_hand_units_end": ("units", "units on hand at the end of the day (costs.cost_basis: period_end)"),
    "inventory_value_end": ("currency", "value of the stock on hand at unit cost, end of the day"),
    "on_order_units_end": ("units", "units ordered from suppliers and not yet received, end of the day"),
    "overflow_unit_days": ("unit-days", "integral of units above storage_units over the day"),
    "overflow_cost": ("currency", "overflow space cost of the day"),
    "overflow_units_max": ("units", "most units in one warehouse's overflow space during the day"),
    "pick_queue_mean": ("jobs", "time-average pick jobs waiting for a picker that day (all warehouses)"),
    "pick_queue_max": ("jobs", "most pick jobs waiting at once in one warehouse that day"),
    "picks": ("lines", "order lines picked that day"),
    "picker_busy_days": ("picker-days", "picker time spent on pick jobs that day"),
    "shipping_cost": ("currency", "carrier charges of the shipments that left that day"),
    "handling_cost": ("currency", "handling cost of the shipments that left that day"),
    "labour_cost": ("currency", "scheduled picker-hours of the day x wage"),
    "warehouse_fixed_cost": ("currency", "fixed cost of the open warehouses for the day"),
    "scheduled_picker_days": ("picker-days", "scheduled picker time of the day"),
    "backlog_end": ("shipments", "shipments released to a warehouse and not yet left, end of the day"),
    "shipments_shipped": ("shipments", "shipments that left a warehouse that day"),
    "late_orders": ("orders", "orders due that day (promised day = this day) not delivered by its end"),
    "orders_due": ("orders", "orders whose promised day is that day (lost orders excluded)"),
    "delivered_on_time": (
        "orders",
        "orders due that day that were delivered by its end (orders_due = delivered_on_time + late_orders)",
    ),
    "delivered": ("orders", "orders whose last parcel was delivered that day"),
}


def kpi(name: str) -> KPI:
    """The registry entry of ``name``; an unknown name (a derived column) gets a plain entry."""
    return KPIS.get(name) or KPI(name, name.replace("_", " ").capitalize(), "", None, "")


def format_value(name: str, value: float, currency: str | None = None, signed: bool = False) -> str:
    """``value`` of KPI ``name`` as a person reads it (see ``KPI.format``)."""
    return kpi(name).format(value, currency, signed)
