"""Experiment reports: Markdown and one self-contained HTML file.

``write_report`` turns the tables of :mod:`experiments.stats` and the figures of
:mod:`experiments.plots` into ``report.md`` (tables + relative image links) and
``report.html`` (inline CSS, PNGs embedded as base64 data URIs, SVGs inlined), so
the HTML can be mailed or archived as one file. Numbers are shown with thousands
separators and 4 significant digits; a mean with its CI as "mean ± half-width"
(half-width rounded to 2 significant digits, the mean to the same decimals) plus
"[low, high]". Both files are written atomically (:func:`experiments.output.atomic_write_text`).
"""

from __future__ import annotations

import base64
import html
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.forecast_error import forecast_tables
from experiments.headline import headline
from experiments.output import atomic_write_text
from experiments.report_marketing import marketing_tables

__all__ = ["fmt_mean_hw", "fmt_num", "markdown_table", "write_document", "write_report"]

MISSING = "–"
SIG_MARK = "✱"


# --------------------------------------------------------------------------- formatting
def fmt_num(x: object, sig: int = 4) -> str:
    """Human-readable cell text: ints with thousands separators, floats with ``sig``
    significant digits (scientific below 1e-4 or from 1e15), NaN/None as "–".

    >>> fmt_num(1234567.891), fmt_num(0.952349), fmt_num(12), fmt_num(float("nan"))
    ('1,234,568', '0.9523', '12', '–')
    """
    if x is None or x is pd.NA or x is pd.NaT:
        return MISSING
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    if not isinstance(x, (float, np.floating)):
        return str(x)
    x = float(x)
    if math.isnan(x):
        return MISSING
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    if mag >= 15 or mag < -4:
        return f"{x:.{sig - 1}e}"
    return f"{x:,.{max(sig - 1 - mag, 0)}f}"


def fmt_mean_hw(mean: float, half_width: float, low: float, high: float) -> tuple[str, str]:
    """("mean ± half_width", "[low, high]") with the half-width at 2 significant digits
    and mean and bounds rounded to the same decimal place.

    >>> fmt_mean_hw(12345.6, 153.2, 12192.4, 12498.8)
    ('12,346 ± 153', '[12,192, 12,499]')
    >>> fmt_mean_hw(0.95234, 0.01234, 0.94, 0.96468)
    ('0.952 ± 0.012', '[0.940, 0.965]')
    """
    if mean is None or math.isnan(mean):
        return MISSING, MISSING
    if half_width is None or not math.isfinite(half_width) or half_width <= 0:
        interval = MISSING if half_width is None or math.isnan(half_width) else f"[{fmt_num(low)}, {fmt_num(high)}]"
        return fmt_num(mean), interval
    decimals = max(1 - math.floor(math.log10(half_width)), 0)
    if decimals > 6:
        return f"{mean:.4g} ± {half_width:.2g}", f"[{low:.4g}, {high:.4g}]"

    def f(v: float) -> str:
        return f"{v:,.{decimals}f}"

    return f"{f(mean)} ± {f(half_width)}", f"[{f(low)}, {f(high)}]"


def _frame_cells(df: pd.DataFrame) -> tuple[list[str], list[list[str]], list[bool]]:
    """Header, formatted rows and right-alignment flags (numeric columns) of ``df``."""
    header = [str(c) for c in df.columns]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns]
    rows = [[fmt_num(v) for v in row] for row in df.itertuples(index=False, name=None)]
    return header, rows, numeric


def markdown_table(df: pd.DataFrame, right: list[bool] | None = None) -> str:
    """GitHub-flavoured Markdown table of ``df`` (cells formatted with :func:`fmt_num`,
    numeric columns right-aligned, columns padded for readable plain text).

    >>> print(markdown_table(pd.DataFrame({"variant": ["a"], "cost": [1234.5]})))
    | variant |  cost |
    | :------ | ----: |
    | a       | 1,234 |
    """
    header, rows, numeric = _frame_cells(df)
    right = numeric if right is None else right

    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")

    header = [esc(h) for h in header]
    rows = [[esc(c) for c in row] for row in rows]
    widths = [max([len(h), 3] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)) + " |"

    rule = (
        "| " + " | ".join(("-" * (w - 1) + ":") if r else (":" + "-" * (w - 1)) for w, r in zip(widths, right)) + " |"
    )
    return "\n".join([line(header), rule] + [line(r) for r in rows])


def _html_table(df: pd.DataFrame, right: list[bool] | None = None, row_classes: list[str] | None = None) -> str:
    header, rows, numeric = _frame_cells(df)
    right = numeric if right is None else right
    out = ['<div class="table-wrap"><table class="data"><thead><tr>']
    out += [f'<th class="{"num" if r else "txt"}">{html.escape(h)}</th>' for h, r in zip(header, right)]
    out.append("</tr></thead><tbody>")
    for i, row in enumerate(rows):
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        out.append(
            f"<tr{cls}>"
            + "".join(f'<td class="{"num" if r else "txt"}">{html.escape(c)}</td>' for c, r in zip(row, right))
            + "</tr>"
        )
    out.append("</tbody></table></div>")
    return "".join(out)


# --------------------------------------------------------------------------- tables
def _summary_display(summary: pd.DataFrame, level: float) -> tuple[pd.DataFrame, list[bool]]:
    """Summary as text, grouped by metric (metric order of first appearance)."""
    group_cols = list(summary.columns[: list(summary.columns).index("metric")])
    if "variant" in group_cols:  # grid values are in the variant names; their long keys would widen the table
        group_cols = ["variant"]
    order = {m: i for i, m in enumerate(pd.unique(summary["metric"]))}
    s = summary.assign(_k=summary["metric"].map(order)).sort_values("_k", kind="stable")
    pm = [fmt_mean_hw(*r) for r in s[["mean", "half_width", "ci_low", "ci_high"]].itertuples(index=False, name=None)]
    out = s[["metric", *group_cols]].astype(str).reset_index(drop=True)
    out["n"] = [fmt_num(int(v)) for v in s["n"]]
    out["mean ± half-width"] = [p[0] for p in pm]
    out[f"{level:.0%} CI"] = [p[1] for p in pm]
    out["std"] = [fmt_num(v) for v in s["std"]]
    return out, [False] * (1 + len(group_cols)) + [True] * 4


def _paired_display(paired: pd.DataFrame, level: float) -> tuple[pd.DataFrame, list[bool]]:
    pm = [
        fmt_mean_hw(*r)
        for r in paired[["mean_diff", "half_width", "ci_low", "ci_high"]].itertuples(index=False, name=None)
    ]
    gain = paired["unpaired_half_width"] / paired["half_width"]
    out = pd.DataFrame(
        {
            "variant": paired["variant"].astype(str),
            "metric": paired["metric"].astype(str),
            "n pairs": [fmt_num(int(v)) for v in paired["n"]],
            "difference ± half-width": [p[0] for p in pm],
            f"{level:.0%} CI": [p[1] for p in pm],
            "excludes 0": [f"{SIG_MARK} yes" if e else "no" for e in paired["excludes_zero"]],
            "unpaired ± (Welch)": [fmt_num(v, 2) for v in paired["unpaired_half_width"]],
            "pairing gain": [MISSING if not np.isfinite(g) else f"{g:.1f}×" for g in gain],
        }
    )
    return out, [False, False, True, True, True, False, True, True]


# --------------------------------------------------------------------------- figures
def _inline_svg(text: str, prefix: str) -> str:
    """SVG text ready to inline: no XML prolog/doctype, ids made unique per figure."""
    text = re.sub(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<metadata>.*?</metadata>", "", text, flags=re.S).strip()
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', text)
    return re.sub(
        r"#([A-Za-z_][\w.\-]*)", lambda m: f"#{prefix}{m.group(1)}" if m.group(1) in ids else m.group(0), text
    )


def _figure_html(caption: str, path: Path, index: int) -> str:
    cap = html.escape(caption)
    if path.suffix.lower() == ".png":
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        body = f'<img src="data:image/png;base64,{data}" alt="{cap}">'
    else:
        body = _inline_svg(path.read_text(encoding="utf-8"), f"fig{index}-")
    return f"<figure>{body}<figcaption>{cap}</figcaption></figure>"


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 color:#222;margin:0;background:#fafafa;line-height:1.45}
main{max-width:1150px;margin:0 auto;padding:1.5rem 2rem 3rem;background:#fff}
h1{font-size:1.7rem;margin-bottom:.4rem}h2{font-size:1.3rem;margin-top:2rem;
 border-bottom:2px solid #e4e4e4;padding-bottom:.2rem}
.table-wrap,.headline-wrap{max-width:100%;overflow-x:auto}
table.data{border-collapse:collapse;margin:.6rem 0 1.2rem;font-size:.92rem}
table.data td.txt{overflow-wrap:anywhere}
table.data.headline{table-layout:fixed;width:100%;font-size:.88rem}
table.data.headline th{white-space:normal;vertical-align:bottom;overflow-wrap:break-word}
table.data.headline th.vname{background:none;font-weight:600;font-size:.8rem;vertical-align:top;overflow-wrap:anywhere;
 word-break:break-word}
table.data.headline tr.base th.vname::after{content:" (baseline)";font-weight:400;color:#666}
table.data.headline td.cell{vertical-align:top;white-space:normal;overflow-wrap:normal;padding-left:.3rem}
table.data.headline td.cell span{display:block}
table.data.headline .mean{font-weight:600;font-size:.95rem;white-space:nowrap}
table.data.headline .hw{color:#666;font-size:.8rem}
table.data.headline .chg{font-size:.82rem;color:#444}
table.data.headline .chg.better{color:#1a7f37;font-weight:600}
table.data.headline .chg.worse{color:#c62828;font-weight:600}
table.data.headline .chg.changed{color:#555;font-weight:600}
table.data th,table.data td{padding:.3rem .65rem;border-bottom:1px solid #e6e6e6}
table.data th{background:#f0f2f5;text-align:left;white-space:nowrap}
table.data tbody tr:nth-child(even){background:#fafbfc}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th.num{text-align:right}
tr.sig td{background:#fff1e0;font-weight:600}
.warn{background:#fdecea;border-left:4px solid #d93025;padding:.6rem 1rem}
.note{color:#555;font-size:.9rem}
figure{margin:1.2rem 0 2rem}figure img,figure svg{max-width:min(100%,980px);height:auto}
figcaption{color:#444;font-size:.92rem;margin-top:.3rem}
pre{background:#f5f6f8;border:1px solid #e4e4e4;padding:.7rem 1rem;overflow-x:auto;font-size:.85rem}
"""


# --------------------------------------------------------------------------- report sections
Section = tuple[list[str], list[str]]  # (Markdown lines, HTML parts) of one part of the report


def _checked_plots(plots: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
    """(caption, Path) pairs; ValueError/FileNotFoundError unless each is an existing .png or .svg."""
    plots = [(str(c), Path(p)) for c, p in plots]
    for _, p in plots:
        if p.suffix.lower() not in (".png", ".svg"):
            raise ValueError(f"plot {p} must be a .png or .svg file")
        if not p.is_file():
            raise FileNotFoundError(f"plot file not found: {p}")
    return plots


def _intro_section(title: str, intro_lines: list[str], n_fail: int) -> Section:
    """The title, the intro lines and a warning when replications failed."""
    md = [f"# {title}", ""]
    body = [f"<h1>{html.escape(title)}</h1>"]
    for line in intro_lines:
        md += [str(line), ""]
        body.append(f"<p>{html.escape(str(line))}</p>")
    if n_fail:
        warn = f"{n_fail} replication(s) failed and are excluded from all statistics; see 'Failed replications' below."
        md += [f"> **Warning:** {warn}", ""]
        body.append(f'<p class="warn"><strong>Warning:</strong> {html.escape(warn)}</p>')
    return md, body


def _headline_section(
    summary: pd.DataFrame,
    paired: pd.DataFrame | None,
    metrics: list[str] | None,
    baseline: str | None,
    currency: str | None,
    level: float,
) -> Section:
    """The headline table (:mod:`experiments.headline`), when the summary has variants."""
    if "variant" not in summary.columns or not len(summary):
        return [], []
    top = headline(summary, paired, metrics, baseline, currency, level)
    md = ["## Results at a glance", "", top.note(), "", top.markdown(), ""]
    return md, ["<h2>Results at a glance</h2>", f'<p class="note">{html.escape(top.note())}</p>', top.html()]


def _plots_section(plots: list[tuple[str, Path]], out_dir: Path) -> Section:
    """The figures: linked relative to ``out_dir`` in Markdown, embedded in the HTML."""
    if not plots:
        return [], []
    md, body = ["## Plots", ""], ["<h2>Plots</h2>"]
    for i, (caption, p) in enumerate(plots):
        rel = Path(os.path.relpath(p.resolve(), out_dir.resolve())).as_posix()
        md += [f"![{caption}]({rel})", "", f"*{caption}*", ""]
        body.append(_figure_html(caption, p, i))
    return md, body


def _summary_section(summary: pd.DataFrame, level: float) -> Section:
    """The detailed summary table: mean ± half-width and the CI of every metric per group."""
    sum_df, sum_right = _summary_display(summary, level)
    note = (
        f"Mean over ok replications with Student-t {level:.0%} confidence interval "
        "(half-width = t·s/√n); n = number of ok replications."
    )
    md = ["## Summary", "", note, "", markdown_table(sum_df, sum_right), ""]
    return md, ["<h2>Summary</h2>", f'<p class="note">{html.escape(note)}</p>', _html_table(sum_df, sum_right)]


def _paired_section(paired: pd.DataFrame | None, level: float) -> Section:
    """The paired differences vs the baseline; rows whose CI excludes 0 marked ✱ (bold, highlighted)."""
    if paired is None or not len(paired):
        return [], []
    pair_df, pair_right = _paired_display(paired, level)
    pnote = (
        f"Differences variant − baseline paired on the replication number (common "
        f"random numbers); {SIG_MARK} marks a {level:.0%} CI that excludes 0. "
        "'pairing gain' = unpaired (Welch) half-width / paired half-width."
    )
    md_pair = pair_df.copy()
    md_pair["excludes 0"] = [f"**{v}**" if v.startswith(SIG_MARK) else v for v in md_pair["excludes 0"]]
    md = ["## Paired differences vs baseline", "", pnote, "", markdown_table(md_pair, pair_right), ""]
    classes = ["sig" if e else "" for e in paired["excludes_zero"]]
    body = [
        "<h2>Paired differences vs baseline</h2>",
        f'<p class="note">{html.escape(pnote)}</p>',
        _html_table(pair_df, pair_right, classes),
    ]
    return md, body


def _analysis_section(heading: str, note: str, table: pd.DataFrame | None) -> Section:
    """A heading, a note in words and (optionally) a table of display texts."""
    md = [f"## {heading}", "", note, ""]
    body = [f"<h2>{html.escape(heading)}</h2>", f'<p class="note">{html.escape(note)}</p>']
    if table is not None and len(table):
        md += [markdown_table(table, _text_right(table)), ""]
        body.append(_html_table(table, _text_right(table)))
    return md, body


def _table_section(heading: str, table: pd.DataFrame) -> Section:
    """A heading and a table (an extra table, the failed replications)."""
    return [f"## {heading}", "", markdown_table(table), ""], [
        f"<h2>{html.escape(str(heading))}</h2>",
        _html_table(table),
    ]


def _forecast_section(runs: pd.DataFrame | None, level: float) -> Section:
    """Forecast error per variant and ABC class, and the fill rate each forecast costs against the
    true-rate variant (paired), when the runs have both kinds (:mod:`experiments.forecast_error`)."""
    tables = forecast_tables(runs, level) if runs is not None and len(runs) else None
    if tables is None:
        return [], []
    errors, cost = tables
    note = (
        "MAPE = mean abs(F − A) / A over (warehouse, SKU) pairs and refit intervals with demand; "
        "bias = Σ(F − A) / ΣA (> 0: over-forecast); mean ± half-width over replications. "
        f"Fill-rate difference: forecast variant − {cost['vs'].iloc[0]} (the true-rate plan), paired on the "
        f"replication, {level:.0%} Student-t CI."
    )
    md = ["## Forecast error", "", note, "", markdown_table(errors), "", markdown_table(cost), ""]
    body = [
        "<h2>Forecast error</h2>",
        f'<p class="note">{html.escape(note)}</p>',
        _html_table(errors),
        _html_table(cost),
    ]
    return md, body


def _marketing_section(
    runs: pd.DataFrame | None, channels: pd.DataFrame | None, currency: str | None, level: float
) -> Section:
    """Marketing spend, incremental orders, their revenue, ROAS and CAC per variant, and per channel
    (:mod:`experiments.report_marketing`), when a variant spends on marketing."""
    tables = marketing_tables(runs, channels, currency, level)
    if tables is None:
        return [], []
    totals, per_channel = tables
    note = (
        "Incremental orders are the orders above the organic demand (each order's source is known "
        "exactly); marketing revenue is their shipped sales value; ROAS = marketing revenue / spend; "
        f"CAC = spend per incremental order (no customer model). Mean ± {level:.0%} CI half-width."
    )
    md = ["## Marketing", "", note, "", markdown_table(totals, _text_right(totals)), ""]
    body = ["<h2>Marketing</h2>", f'<p class="note">{html.escape(note)}</p>', _html_table(totals, _text_right(totals))]
    if per_channel is not None:
        md += ["Per channel:", "", markdown_table(per_channel, _text_right(per_channel)), ""]
        body += ["<p>Per channel:</p>", _html_table(per_channel, _text_right(per_channel))]
    return md, body


def _text_right(table: pd.DataFrame) -> list[bool]:
    """Right-align every column but the names (variant, channel)."""
    return [c not in ("variant", "channel") for c in table.columns]


def _failures_section(failures: pd.DataFrame | None) -> Section:
    """The table of failed replications, if any failed."""
    if failures is None or not len(failures):
        return [], []
    return _table_section(f"Failed replications ({len(failures)})", failures)


def _appendix_section(appendix: dict[str, str]) -> Section:
    """Preformatted texts (the spec, the manifest) under their headings."""
    md: list[str] = []
    body: list[str] = []
    for name, text in appendix.items():
        md += [f"## {name}", "", "```", str(text).rstrip(), "```", ""]
        body += [f"<h2>{html.escape(str(name))}</h2>", f"<pre>{html.escape(str(text))}</pre>"]
    return md, body


def _html_page(title: str, body: list[str]) -> str:
    """The self-contained HTML document: inline CSS and the body parts in a <main>."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        "<body><main>\n" + "\n".join(body) + "\n</main></body>\n</html>\n"
    )


# --------------------------------------------------------------------------- report
def write_report(
    out_dir: str | Path,
    title: str,
    intro_lines: list[str],
    summary: pd.DataFrame,
    paired: pd.DataFrame | None,
    plots: list[tuple[str, Path]],
    extra_tables: dict[str, pd.DataFrame] | None = None,
    failures: pd.DataFrame | None = None,
    level: float = 0.95,
    appendix: dict[str, str] | None = None,
    metrics: list[str] | None = None,
    baseline: str | None = None,
    currency: str | None = None,
    runs: pd.DataFrame | None = None,
    channels: pd.DataFrame | None = None,
    analysis: list[tuple[str, str, pd.DataFrame | None]] | None = None,
) -> tuple[Path, Path]:
    """Write ``report.md`` and a self-contained ``report.html`` into ``out_dir``.

    Sections: intro lines, a warning when replications failed, the headline table
    (:mod:`experiments.headline`: variants x ``metrics``, each cell the mean, its CI and
    the paired change against ``baseline``, formatted from the KPI registry with
    ``currency``), the plots, then the detailed summary table
    (from ``stats.summarize``; mean ± half-width and [low, high] at ``level``),
    the paired differences vs the baseline (from ``stats.paired_differences``;
    rows whose CI excludes 0 are marked ✱), the forecast error when ``runs`` (the runs
    table) holds forecast variants and a true-rate variant (:mod:`experiments.forecast_error`),
    the marketing KPIs per variant (and per channel from ``channels``, the per-channel summary of
    :mod:`experiments.channels`) when a variant spends on marketing,
    the extra tables and the failed replications. ``analysis`` parts (heading, note, table:
    the selected variant and its guarantee, sequential stopping, warm-up, control variates, from
    :mod:`experiments.report_analysis`) come right after the headline. Plots are (caption, path) pairs (.png embedded as base64, .svg
    inlined; Markdown links them relatively); every plot file is checked before
    anything is written. ``appendix`` maps a heading to preformatted text (the spec,
    the manifest) shown at the end. Returns (markdown_path, html_path).

    >>> md, page = write_report("results/demo", "Picker staffing", ["20 replications"],
    ...                         summary, paired, [("Cost", Path("results/demo/cost.png"))])
    ... # doctest: +SKIP
    """
    out_dir = Path(out_dir)
    plots = _checked_plots(plots)
    n_fail = 0 if failures is None else len(failures)
    summary_part = _summary_section(summary, level)
    sections = [
        _intro_section(title, intro_lines, n_fail),
        _headline_section(summary, paired, metrics, baseline, currency, level),
        *(_analysis_section(*part) for part in (analysis or [])),
        _plots_section(plots, out_dir),
        summary_part,
        _paired_section(paired, level),
        _forecast_section(runs, level),
        _marketing_section(runs, channels, currency, level),
        *(_table_section(name, table) for name, table in (extra_tables or {}).items()),
        _failures_section(failures),
        _appendix_section(appendix or {}),
    ]
    return _write_sections(out_dir, title, sections)


def _write_sections(out_dir: Path, title: str, sections: list[Section]) -> tuple[Path, Path]:
    """Write the sections as ``report.md`` and the self-contained ``report.html``; return both paths."""
    md = [line for part, _ in sections for line in part]
    body = [part for _, parts in sections for part in parts]
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path, html_path = out_dir / "report.md", out_dir / "report.html"
    atomic_write_text(md_path, "\n".join(md).rstrip() + "\n")
    atomic_write_text(html_path, _html_page(title, body))
    return md_path, html_path


def write_document(
    out_dir: str | Path,
    title: str,
    intro_lines: list[str],
    tables: list[tuple[str, str, pd.DataFrame]],
    plots: list[tuple[str, Path]],
    appendix: dict[str, str] | None = None,
) -> tuple[Path, Path]:
    """``report.md`` and a self-contained ``report.html`` in the experiments' style, for reports that are not
    variant comparisons (the backtest of ``run.py fit --check``): intro lines, then each (heading, note,
    table), the plots and the appendix. Returns (markdown_path, html_path)."""
    out_dir = Path(out_dir)
    plots = _checked_plots(plots)
    sections = [_intro_section(title, intro_lines, 0)]
    for heading, note, table in tables:
        md, body = _table_section(heading, table)
        if note:
            md.insert(2, note)
            md.insert(3, "")
            body.insert(1, f'<p class="note">{html.escape(note)}</p>')
        sections.append((md, body))
    sections += [_plots_section(plots, out_dir), _appendix_section(appendix or {})]
    return _write_sections(out_dir, title, sections)
