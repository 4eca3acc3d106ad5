"""The fitted scenario as YAML: every fitted value with a comment giving its estimate, interval and rows.

Without ``--base`` the scenario is complete on its own: the demand and catalogue fitted, one
warehouse per ``warehouse`` value (serving the regions it mostly shipped to), one carrier per
``carrier`` value with its lanes. What an order history cannot tell (unit costs, carrier
prices, pickers) is set to a stated placeholder and marked ``# not in the history: set it``.
With ``--base`` every section of the base scenario is kept except those the fit replaces:
``start_date``, ``horizon_days``, ``catalog`` and ``demand`` (whose ``channels``, ``scale``
and ``arrivals`` are kept; the history's marketing orders are already in the fitted rate, so a
base's channels count them twice, and their line says so). Lane transit times replace the base carriers' lanes of the same names.
SKUs the base lists keep their unit cost, weight and supplier.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import yaml

from experiments.fit.demand_fit import DemandFit, Estimate
from experiments.fit.mix_fit import CountFit, LaneFit, ParetoFit, SkuFit

__all__ = ["COST_RATIO_ASSUMED", "FittedParts", "scenario_yaml"]

COST_RATIO_ASSUMED = 0.6
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _num(x: float, digits: int = 4) -> float:
    """A float rounded to ``digits`` significant digits (plain in YAML)."""
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(f"{x:.{digits}g}")


def _flow(value: Any) -> str:
    """One YAML value on one line (flow style)."""
    return (
        yaml.safe_dump(value, default_flow_style=True, width=10**6, sort_keys=False).strip().removesuffix("...").strip()
    )


class FittedParts:
    """Everything the fit estimated, ready to be written (see :func:`experiments.fit.fit_history`)."""

    def __init__(
        self,
        source: str,
        first_day: dt.date,
        days: int,
        demand: DemandFit,
        lines: CountFit,
        units: CountFit,
        regions: list[tuple[str, Estimate]],
        skus: SkuFit,
        pareto: ParetoFit | None,
        lanes: list[LaneFit],
        return_rate: tuple[float, float, float, int] | None,
        warehouse_regions: dict[str, list[str]],
        counts: dict[str, int],
    ):
        """Keep the parts."""
        self.source, self.first_day, self.days = source, first_day, days
        self.demand, self.lines, self.units, self.regions = demand, lines, units, regions
        self.skus, self.pareto, self.lanes, self.return_rate = skus, pareto, lanes, return_rate
        self.warehouse_regions, self.counts = warehouse_regions, counts


def _header(p: FittedParts, name: str, command: str) -> list[str]:
    c = p.counts
    out = [
        f"# Fitted by `{command}` from {p.source}:",
        f"# {c['lines']:,} order lines, {c['orders']:,} orders, {p.days} days from {p.first_day} "
        f"({p.demand.gap_days} gap days left out of the rate fit).",
        "# Every fitted value has a comment: estimate ± standard error (SE) and a 95% interval, and the rows",
        "# (days, orders or lines) it came from. Weekday and monthly factors have geometric mean 1, so",
        "# base_orders_per_day is the rate of an ordinary day (see docs/fit.md for the method).",
        f"# Daily counts are over-dispersed by a factor {p.demand.dispersion:.2f} against Poisson (1 = Poisson).",
    ]
    if p.pareto is not None:
        a = p.pareto.alpha
        out.append(
            f"# SKU popularity follows a Pareto law of shape alpha = {a.value:.4f} ({a.comment(4)}, "
            f"{p.pareto.skus:,} SKUs sold; bias-corrected bootstrap)."
        )
    if p.return_rate is not None:
        r, lo, hi, n = p.return_rate
        out.append(f"# Returned: {r:.1%} of lines (95% CI [{lo:.1%}, {hi:.1%}], {n:,} lines); kept as demand.")
    return [*out, f"name: {name}", f"start_date: {p.first_day.isoformat()}", f"horizon_days: {p.days}"]


def _factor_block(key: str, ests: list, labels: tuple[str, ...], indent: str) -> list[str]:
    out = [f"{indent}{key}:"]
    for label, e in zip(labels, ests):
        if e is None:
            out.append(f"{indent}- 1.0  # {label}: no data in the history")
        else:
            out.append(f"{indent}- {_num(e.value)}  # {label}: {e.comment()}")
    return out


def _promotion_lines(p: FittedParts, indent: str) -> list[str]:
    out = [f"{indent}promotions:"] if p.demand.promotions else [f"{indent}promotions: []"]
    for ev in p.demand.promotions:
        how = "detected as outlier days" if ev.detected else "from the calendar"
        seen = f", seen {ev.occurrences} times" if ev.occurrences > 1 else ""
        date = ev.recurring if ev.occurrences > 1 or p.days <= 366 else ev.first.isoformat()
        out.append(f"{indent}- name: {_flow(ev.name)}  # {how}, first {ev.first}{seen}")
        out.append(f"{indent}  date: {_flow(date)}  # MM-DD repeats every year")
        out.append(f"{indent}  days: {ev.days}")
        out.append(f"{indent}  uplift: {_num(ev.uplift.value)}  # {ev.uplift.comment()}")
        discount = p.skus.discounts.get(ev.name, 0.0)
        if discount >= 0.005:
            out.append(
                f"{indent}  discount: {_num(discount, 3)}  # median of its lines' price against the regular price"
            )
        for part in ("pre", "post"):
            k, f = getattr(ev, f"{part}_days"), getattr(ev, f"{part}_factor")
            if k and f is not None:
                what = "dip before the event" if part == "pre" else "hangover after it"
                out.append(f"{indent}  {part}_days: {k}  # {what}: best window of 1-14 days (deviance test)")
                out.append(f"{indent}  {part}_factor: {_num(f.value)}  # {f.comment()}")
    return out


def _count_line(key: str, c: CountFit, indent: str) -> list[str]:
    disp = f"; dispersion {c.dispersion.comment()}" if c.dispersion is not None else ""
    return [
        f"{indent}{key}: {_flow(c.dist)}",
        f"{indent}  # {c.how}; mean {c.mean.value:.4f} {c.mean.comment()}{disp}; chi-square p = {c.chi2_p:.3g}",
    ]


def _demand(p: FittedParts, base: dict | None) -> list[str]:
    d = p.demand
    ind = "  "
    out = ["demand:", f"{ind}base_orders_per_day: {_num(d.base.value, 5)}  # {d.base.comment()} (ordinary days)"]
    out += _factor_block("weekday_factors", d.weekday, WEEKDAYS, ind)
    out += _factor_block("monthly_factors", d.monthly, MONTHS, ind)
    out += _count_line("lines_per_order", p.lines, ind)
    out += _count_line("units_per_line", p.units, ind)
    if p.regions:
        out.append(f"{ind}regions:")
        base_regions = {
            r.get("name"): r for r in (base or {}).get("demand", {}).get("regions", []) if isinstance(r, dict)
        }
        for name, e in p.regions:
            out.append(f"{ind}- name: {_flow(name)}")
            out.append(f"{ind}  share: {_num(e.value, 6)}  # {e.comment()}")
            if "promise_days" in base_regions.get(name, {}):
                out.append(f"{ind}  promise_days: {base_regions[name]['promise_days']}  # from the base")
    out += _promotion_lines(p, ind)
    for key in ("arrivals", "scale", "channels"):
        if base and key in base.get("demand", {}):
            note = "from the base"
            if key == "channels" and base["demand"][key]:
                note += ": their orders come on top of the fitted rate, which already holds the history's marketing"
            out.append(f"{ind}{key}: {_flow(base['demand'][key])}  # {note}")
    return _fix_shares(out, p)


def _fix_shares(out: list[str], p: FittedParts) -> list[str]:
    """Shares rounded to 6 digits must still sum to 1: the largest takes the rounding."""
    if not p.regions:
        return out
    shares = [_num(e.value, 6) for _, e in p.regions]
    first = next(i for i, line in enumerate(out) if line.strip().startswith("share:"))
    fixed = round(shares[0] + 1.0 - sum(shares), 8)
    out[first] = out[first].replace(f"share: {shares[0]}", f"share: {fixed}", 1)
    return out


def _catalog(p: FittedParts, base: dict | None) -> list[str]:
    known = {}
    for s in ((base or {}).get("catalog", {}) or {}).get("skus", []) or []:
        if isinstance(s, dict) and "id" in s:
            known[str(s["id"])] = s
    out = [
        "catalog:",
        f"  # {len(p.skus.table):,} SKUs by lines sold; popularity = share of lines; price = median regular-day price",
        "  skus:",
    ]
    rows: list[dict[Any, Any]] = p.skus.table.to_dict("records")
    for row in rows:
        b = known.get(str(row["sku"]), {})
        item: dict[str, Any] = {"id": str(row["sku"]), "price": round(float(row["price"]), 2)}
        if "unit_cost" in b:
            item["unit_cost"] = b["unit_cost"]
            cost_note = "cost from the base"
        else:
            item["unit_cost"] = round(float(row["price"]) * COST_RATIO_ASSUMED, 2)
            cost_note = f"unit_cost not in the history: {COST_RATIO_ASSUMED:.0%} of price, set it"
        for key in ("weight_kg", "supplier"):
            if key in b:
                item[key] = b[key]
        item["popularity"] = _num(float(row["popularity"]), 6)
        out.append(
            f"  - {_flow(item)}  # {int(row['lines']):,} lines, {int(row['units']):,} units, price of "
            f"{int(row['price_lines']):,} lines, revenue {row['revenue_share']:.2%} ({row['abc']}); {cost_note}"
        )
    return out


def _lane_item(lane: LaneFit, multiplier: float | None = None) -> tuple[dict, str]:
    item: dict[str, Any] = {"warehouse": lane.warehouse, "region": lane.region, "transit_days": lane.transit}
    if multiplier is not None:
        item["cost_multiplier"] = multiplier
    note = f"{lane.orders:,} delivered orders, mean {lane.transit_mean:.2f} days from the day after the order"
    if lane.on_time is not None:
        r, lo, hi = lane.on_time
        note += f"; on time {r:.1%} [{lo:.1%}, {hi:.1%}] against a {lane.promise_days}-day promise"
    return item, note


def _carriers_fresh(p: FittedParts) -> list[str]:
    if not p.lanes:
        return []
    out = ["carriers:"]
    for carrier in sorted({lane.carrier for lane in p.lanes}):
        lanes = [lane for lane in p.lanes if lane.carrier == carrier]
        main = max(lanes, key=lambda lane: lane.orders)
        out.append(f"- name: {_flow(carrier)}")
        out.append("  base_cost: 0.0  # not in the history: set it (price per shipment)")
        out.append(f"  transit_days: {_flow(main.transit)}  # its busiest lane's")
        promises = [lane.promise_days for lane in lanes if lane.promise_days is not None]
        if promises:
            out.append(
                f"  promise_days: {max(set(promises), key=promises.count)}  # most common promise in the history"
            )
        out.append("  lanes:")
        for lane in lanes:
            item, note = _lane_item(lane)
            out.append(f"  - {_flow(item)}  # {note}")
    return out


def _warehouses_fresh(p: FittedParts) -> list[str]:
    if not p.warehouse_regions:
        return []
    out = ["warehouses:"]
    for name, regions in p.warehouse_regions.items():
        out.append(f"- name: {_flow(name)}")
        out.append(f"  regions: {_flow(regions)}  # the regions it shipped most of their orders to")
    return out


def _merge_base_carriers(base: dict, p: FittedParts) -> None:
    """Base carriers of the same names get the fitted lanes (their cost multipliers kept)."""
    warehouses = {w.get("name") for w in base.get("warehouses", []) if isinstance(w, dict)}
    for c in base.get("carriers", []) or []:
        if not isinstance(c, dict):
            continue
        lanes = [lane for lane in p.lanes if lane.carrier == c.get("name") and lane.warehouse in warehouses]
        if not lanes:
            continue
        old = {(x.get("warehouse"), x.get("region")): x for x in c.get("lanes", []) or [] if isinstance(x, dict)}
        c["lanes"] = [
            _lane_item(lane, old.get((lane.warehouse, lane.region), {}).get("cost_multiplier"))[0] for lane in lanes
        ]


REPLACED = ("name", "description", "start_date", "horizon_days", "catalog", "demand", "kpi_window")


def scenario_yaml(p: FittedParts, name: str, command: str, base: dict | None = None, base_name: str = "") -> str:
    """The fitted scenario's YAML text (see the module docstring)."""
    out = _header(p, name, command)
    out.append(f"description: {_flow(f'Fitted to {p.source} ({p.first_day}, {p.days} days)')}")
    if base is not None:
        kept = {k: v for k, v in base.items() if k not in REPLACED and k != "extends"}
        if p.lanes:
            _merge_base_carriers(kept, p)
        if kept:
            out.append(f"# --- kept from the base scenario {base_name} (lanes' transit times fitted) ---")
            out += yaml.safe_dump(kept, sort_keys=False, default_flow_style=False, width=120).rstrip().splitlines()
            out.append("# --- fitted ---")
    else:
        out += _warehouses_fresh(p)
        out += _carriers_fresh(p)
    out += _demand(p, base)
    out += _catalog(p, base)
    return "\n".join(out) + "\n"
