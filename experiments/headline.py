"""The report's headline: one wide table, variants as rows and the chosen KPIs as columns.

Each cell holds the mean with its CI half-width and, for every variant but the
baseline, the change against the baseline from the paired differences (common random
numbers) — in percentage points for rates, with the relative change for money, counts
and durations. When the paired interval excludes 0 the change carries ▲ or ▼, coloured
green when the change is better and red when it is worse (by the KPI's ``better``
direction in :mod:`sim.kpis`; grey when neither direction is better).

>>> s = pd.DataFrame({"variant": ["a", "b"], "metric": "on_time_rate", "n": 5, "mean": [0.9, 0.95],
...                   "std": 0.01, "half_width": [0.01, 0.01], "ci_low": [0.89, 0.94], "ci_high": [0.91, 0.96]})
>>> d = pd.DataFrame({"variant": ["b"], "metric": ["on_time_rate"], "n": [5], "mean_diff": [0.05],
...                   "half_width": [0.004], "ci_low": [0.046], "ci_high": [0.054], "excludes_zero": [True]})
>>> t = headline(s, d, baseline="a")
>>> t.columns, [c.change for c in t.rows[1]]
(['On-time delivery (%)'], ['+5.00 pp ▲'])
>>> t.rows[1][0].tone, t.rows[0][0].change
('better', 'baseline')
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from experiments.kpi_format import estimate_text, relative_change
from sim.kpis import kpi

__all__ = ["Cell", "Headline", "headline"]

UP, DOWN = "▲", "▼"


@dataclass(frozen=True)
class Cell:
    """One cell of the headline table: the texts of a variant's estimate of one KPI."""

    mean: str
    half_width: str  # "±0.49 pp", or "" (one replication)
    change: str  # "+0.42 pp ▲", "baseline", or ""
    tone: str  # "better", "worse", "changed" (significant, no better direction) or ""


@dataclass(frozen=True)
class Headline:
    """The headline table (variants x KPIs) as texts, with its Markdown and HTML renderings."""

    variants: list[str]
    metrics: list[str]
    columns: list[str]  # "On-time delivery (%)"
    rows: list[list[Cell]]
    baseline: str | None
    level: float

    def note(self) -> str:
        """The sentence under the heading that says how to read a cell."""
        single = (
            ""
            if any(c.half_width for r in self.rows for c in r)
            else " With one replication per variant there are no confidence intervals."
        )
        base = f" against the baseline {self.baseline}" if self.baseline else ""
        return (
            f"Each cell: mean ± half-width of its {self.level:.0%} confidence interval; below it the "
            f"change{base}, paired on the replication (common random numbers). {UP}/{DOWN} mark a change "
            f"whose paired {self.level:.0%} interval excludes 0 (green: better, red: worse, grey: no "
            f"better direction); no mark: not distinguishable from the baseline with these "
            f"replications. Rates are in %, changes of rates in percentage points (pp)." + single
        )

    def markdown(self) -> str:
        """The table in GitHub Markdown; a cell's change goes on a second line (``<br>``)."""

        def esc(text: str) -> str:
            return text.replace("|", "\\|")

        lines = [
            "| variant | " + " | ".join(esc(c) for c in self.columns) + " |",
            "| :-- | " + " | ".join("--:" for _ in self.columns) + " |",
        ]
        for name, cells in zip(self.variants, self.rows):
            parts = []
            for c in cells:
                text = f"{c.mean} {c.half_width}".strip()
                if c.change:
                    text += f"<br>{c.change}"
                parts.append(esc(text))
            lines.append(f"| {esc(name)} | " + " | ".join(parts) + " |")
        return "\n".join(lines)

    def html(self) -> str:
        """The table as HTML (classes styled by the report's CSS): fixed layout, coloured changes."""
        longest = max((len(part) for v in self.variants for part in str(v).split(",")), default=8)
        cap = 26 if len(self.columns) < 6 else 18  # many KPI columns: give the numbers the room
        width = max(14, min(cap, max(100 // (len(self.columns) + 2) + 8, round(longest * 0.95))))
        out = [
            '<div class="headline-wrap"><table class="data headline"><colgroup>',
            f'<col style="width:{width}%">',
            '</colgroup><thead><tr><th class="txt">variant</th>',
        ]
        out += [f'<th class="num">{html.escape(c)}</th>' for c in self.columns]
        out.append("</tr></thead><tbody>")
        for name, cells in zip(self.variants, self.rows):
            row_class = ' class="base"' if name == self.baseline else ""
            out.append(f'<tr{row_class}><th class="txt vname" scope="row">{_breakable(name)}</th>')
            for c in cells:
                hw = f' <span class="hw">{html.escape(c.half_width)}</span>' if c.half_width else ""
                change = ""
                if c.change:
                    cls = f"chg {c.tone}".strip()
                    change = f'<span class="{cls}">{html.escape(c.change)}</span>'
                out.append(f'<td class="num cell"><span class="mean">{html.escape(c.mean)}</span>{hw}{change}</td>')
            out.append("</tr>")
        out.append("</tbody></table></div>")
        return "".join(out)


def _breakable(name: str) -> str:
    """A variant name that may wrap after its commas (grid points); CSS breaks longer parts."""
    text = html.escape(str(name))
    return text.replace(",", ",<wbr>")


def _tone(better: str | None, diff: float) -> str:
    if better is None:
        return "changed"
    return "better" if (diff > 0) == (better == "higher") else "worse"


def headline(
    summary: pd.DataFrame,
    paired: pd.DataFrame | None,
    metrics: list[str] | None = None,
    baseline: str | None = None,
    currency: str | None = None,
    level: float = 0.95,
) -> Headline:
    """Build the headline table from ``stats.summarize`` and ``stats.paired_differences`` tables.

    ``metrics`` default to those in ``summary`` (in order); ``baseline`` defaults to the
    variant that has no paired rows.
    """
    variants = [str(v) for v in pd.unique(summary["variant"])]
    metrics = [m for m in (metrics or list(pd.unique(summary["metric"]))) if m in set(summary["metric"])]
    if paired is not None and len(paired) == 0:
        paired = None
    if baseline is None and paired is not None:
        rest = [v for v in variants if v not in set(paired["variant"].astype(str))]
        baseline = rest[0] if rest else None
    mean_of: dict[tuple, Any] = {(str(r.variant), r.metric): r for r in summary.itertuples(index=False)}
    diff_of: dict[tuple, Any] = {}
    if paired is not None:
        diff_of = {(str(r.variant), r.metric): r for r in paired.itertuples(index=False)}
    rows = []
    for v in variants:
        cells = []
        for m in metrics:
            s = mean_of.get((v, m))
            mean, hw = estimate_text(m, getattr(s, "mean", math.nan), getattr(s, "half_width", math.nan), currency)
            change, tone = "", ""
            if v == baseline and paired is not None:
                change = "baseline"
            elif (v, m) in diff_of:
                d = diff_of[(v, m)]
                if d.mean_diff == 0 and not d.half_width > 0:  # identical in every replication
                    cells.append(Cell(mean, hw, "no change", ""))
                    continue
                diff, _dhw = estimate_text(m, d.mean_diff, d.half_width, currency, signed=True)
                base_row = mean_of.get((baseline, m))
                rel = relative_change(m, d.mean_diff, getattr(base_row, "mean", math.nan))
                change = " ".join(p for p in (diff, rel) if p)
                if bool(d.excludes_zero) and math.isfinite(d.mean_diff) and d.mean_diff != 0:
                    change += " " + (UP if d.mean_diff > 0 else DOWN)
                    tone = _tone(kpi(m).better, d.mean_diff)
            cells.append(Cell(mean, hw, change, tone))
        rows.append(cells)
    columns = [kpi(m).axis_label(currency) if kpi(m).unit_text(currency) else kpi(m).label for m in metrics]
    return Headline(variants, metrics, columns, rows, baseline, level)
