"""An estimate (mean or difference, with its CI half-width) as text, from the KPI registry.

Shared by the report's headline table and the plots, so a number reads the same in
both: rates as percentages (differences in percentage points), money with thousands
separators and the scenario's currency, durations with their unit. The number of
decimals follows the half-width (two significant digits of it), so 0.9928 ± 0.0008
prints as ``99.28% ±0.08 pp`` and not as ``99.3% ±0.1 pp``.

>>> estimate_text("on_time_rate", 0.91342, 0.0049)
('91.34%', '±0.49 pp')
>>> estimate_text("on_time_rate", 0.0042, 0.005, signed=True)
('+0.42 pp', '±0.50 pp')
>>> estimate_text("total_cost", 1393847.2, 12808.0, currency="CNY")
('¥1,393,847', '±¥12,808')
>>> estimate_text("total_cost", -9699.0, 3016.0, currency="CNY", signed=True)
('-¥9,699', '±¥3,016')
>>> estimate_text("click_to_door_p95", 3.2351, float("nan"))
('3.24 days', '')
"""

from __future__ import annotations

import math

from sim.kpis import kpi, money

__all__ = ["estimate_text", "relative_change"]


def _usable(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def _decimals(half_width: float, lo: int, hi: int) -> int:
    """Decimals that show two significant digits of ``half_width``, clamped to [lo, hi]."""
    return min(max(1 - math.floor(math.log10(half_width)), lo), hi)


def estimate_text(
    name: str, value: float, half_width: float = math.nan, currency: str | None = None, signed: bool = False
) -> tuple[str, str]:
    """(value text, "±half-width" text or "") of KPI ``name``; ``signed`` for differences."""
    if value is None or not math.isfinite(float(value)):
        return "n/a", ""
    value = float(value)
    k = kpi(name)
    hw = float(half_width) if half_width is not None else math.nan
    ok = _usable(hw)
    sign = "+" if signed and value > 0 else ""
    if k.kind == "rate":
        d = _decimals(hw * 100, 1, 3) if ok else 1
        text = f"{sign}{value * 100:.{d}f}" + (" pp" if signed else "%")
        return text, (f"±{hw * 100:.{d}f} pp" if ok else "")
    if k.kind == "money":
        d = _decimals(hw, 0, 2) if ok else (2 if abs(value) < 100 else 0)
        return sign + money(value, currency, d), ("±" + money(hw, currency, d) if ok else "")
    if k.kind == "duration":
        d = _decimals(hw, 0, 3) if ok else (2 if abs(value) < 100 else 0)
        return f"{sign}{value:,.{d}f} {k.unit}", (f"±{hw:,.{d}f}" if ok else "")
    d = _decimals(hw, 0, 3) if ok else (0 if abs(value) >= 1000 or value.is_integer() else 3)
    return f"{sign}{value:,.{d}f}", (f"±{hw:,.{d}f}" if ok else "")


def relative_change(name: str, diff: float, base_mean: float) -> str:
    """ "(+1.1%)" for money, counts and durations; "" for rates (already in pp) or a zero base.

    >>> relative_change("total_cost", 7483.0, 680000.0), relative_change("on_time_rate", 0.004, 0.9)
    ('(+1.1%)', '')
    """
    if (
        kpi(name).kind == "rate"
        or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (diff, base_mean))
        or base_mean == 0
    ):
        return ""
    pct = 100 * diff / abs(base_mean)
    return f"({pct:+.1f}%)" if abs(pct) < 1000 else f"({pct:+,.0f}%)"
