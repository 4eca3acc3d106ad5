"""Tests for experiments.plots and experiments.report: files, formats, self-containment."""

import base64
import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from experiments.plots import (
    bar_ci,
    daily_series,
    paired_diff_forest,
    pareto_front,
    sweep_lines,
    tradeoff_scatter,
)
from experiments.report import fmt_mean_hw, fmt_num, markdown_table, write_report
from experiments.stats import paired_differences, summarize, summary_wide

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VARIANTS = ["baseline", "more_pickers_with_long_name", "express", "cheap_carrier"]


@pytest.fixture(scope="module")
def runs():
    rng = np.random.default_rng(3)
    rows = []
    for r in range(12):
        common = rng.normal(0.0, 30.0)
        for i, v in enumerate(VARIANTS):
            rows.append(
                {
                    "variant": v,
                    "replication": r,
                    "status": "error" if (v, r) == ("express", 5) else "ok",
                    "total_cost": 1000 + 40 * i + common + rng.normal(0, 3),
                    "on_time_rate": 0.85 + 0.03 * i * (-1) ** i + rng.normal(0, 0.01),
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def summary(runs):
    return summarize(runs, ["total_cost", "on_time_rate"])


@pytest.fixture(scope="module")
def paired(runs):
    return paired_differences(runs, ["total_cost", "on_time_rate"], baseline="baseline")


@pytest.fixture(scope="module")
def daily():
    rng = np.random.default_rng(4)
    return pd.DataFrame(
        [
            {"variant": v, "replication": r, "day": d, "backorders": rng.poisson(3 + i)}
            for i, v in enumerate(VARIANTS[:2])
            for r in range(5)
            for d in range(30)
        ]
    )


def _assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 5_000


def _assert_svg(path):
    text = path.read_text(encoding="utf-8")
    assert "<svg" in text and text.rstrip().endswith("</svg>")


def _only(folder, names):
    """No temp files left behind: the folder holds exactly the expected files."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


# --------------------------------------------------------------------------- plots
def test_every_plot_writes_png_and_svg(tmp_path, summary, paired, daily):
    sweep = pd.DataFrame(
        {
            "pickers": [5, 10, 15] * 2,
            "wave": [1] * 3 + [10] * 3,
            "metric": "cycle_h",
            "mean": [9.0, 5.0, 4.0, 10.0, 6.0, 5.0],
            "ci_low": [8.0, 4.5, 3.6, 9.1, 5.2, np.nan],
            "ci_high": [10.0, 5.5, 4.4, 10.9, 6.8, np.nan],
        }
    )
    calls = {
        "bar": lambda p: bar_ci(summary, "total_cost", p, baseline="baseline", ylabel="total cost (EUR)"),
        "sweep": lambda p: sweep_lines(sweep, "pickers", "cycle_h", p, series="wave", ylabel="order cycle time (h)"),
        "trade": lambda p: tradeoff_scatter(summary_wide(summary), "total_cost", "on_time_rate", p, minimize_y=False),
        "daily": lambda p: daily_series(daily, "backorders", p, ylabel="units"),
        "daily_minmax": lambda p: daily_series(daily, "backorders", p, band="minmax"),
        "forest": lambda p: paired_diff_forest(paired, "total_cost", p),
    }
    names = []
    for name, call in calls.items():
        for suffix in (".png", ".svg"):
            out = call(tmp_path / f"{name}{suffix}")
            assert out == tmp_path / f"{name}{suffix}"
            names.append(out.name)
            (_assert_png if suffix == ".png" else _assert_svg)(out)
    _only(tmp_path, names)
    assert plt.get_fignums() == []  # every figure closed


def test_plot_creates_missing_folder_and_overwrites(tmp_path, summary):
    target = tmp_path / "deep" / "er" / "bar.png"
    bar_ci(summary, "on_time_rate", target)
    first = target.read_bytes()
    bar_ci(summary, "total_cost", target)
    assert target.read_bytes() != first
    _only(target.parent, ["bar.png"])


def test_plot_rejects_bad_suffix_and_unknown_metric(tmp_path, summary):
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        bar_ci(summary, "total_cost", tmp_path / "bar.jpg")
    with pytest.raises(ValueError, match="no rows for metric"):
        bar_ci(summary, "nope", tmp_path / "bar.png")
    assert list(tmp_path.iterdir()) == []
    assert plt.get_fignums() == []


def test_sweep_without_series_needs_unique_x(tmp_path):
    s = pd.DataFrame(
        {"pickers": [5, 5], "metric": "m", "mean": [1.0, 2.0], "ci_low": [0.5, 1.5], "ci_high": [1.5, 2.5]}
    )
    with pytest.raises(ValueError, match="series"):
        sweep_lines(s, "pickers", "m", tmp_path / "s.png")
    assert plt.get_fignums() == []


def test_pareto_front():
    d = pd.DataFrame(
        {"cost": [1.0, 2.0, 3.0, 2.5, 1.0, np.nan], "late": [5.0, 3.0, 1.0, 4.0, 5.0, 0.0]}, index=list("abcdef")
    )
    front = pareto_front(d, "cost", "late")
    assert front.index.tolist() == list("abcdef")
    # d is dominated by b; e ties a exactly (neither dominates); NaN never efficient
    assert front.tolist() == [True, True, True, False, True, False]
    # maximise y: higher "late" is now better, so only the cheapest-highest survive
    assert pareto_front(d, "cost", "late", minimize_y=False).tolist() == [True, False, False, False, True, False]


# --------------------------------------------------------------------------- formatting
def test_number_formatting():
    assert fmt_num(1234567.891) == "1,234,568"
    assert fmt_num(0.0123456) == "0.01235"
    assert fmt_num(42) == "42" and fmt_num(np.int64(12345)) == "12,345"
    assert fmt_num(np.nan) == "–" and fmt_num(None) == "–"
    assert fmt_num(True) == "yes" and fmt_num("text") == "text"
    assert fmt_num(3.2e-7) == "3.200e-07"
    assert fmt_mean_hw(98.87, 3.61, 95.26, 102.48) == ("98.9 ± 3.6", "[95.3, 102.5]")
    assert fmt_mean_hw(5.0, np.nan, np.nan, np.nan) == ("5.000", "–")


def test_markdown_table_alignment_and_escaping():
    md = markdown_table(pd.DataFrame({"name": ["a|b", "c"], "value": [1234.5, 2.0]}))
    lines = md.splitlines()
    assert lines[0].startswith("| name") and "value |" in lines[0]
    assert lines[1].replace(" ", "") == "|:---|----:|"
    assert "a\\|b" in lines[2] and "1,234" in lines[2]
    assert len({len(line) for line in lines}) == 1  # padded columns


# --------------------------------------------------------------------------- report
@pytest.fixture
def plot_files(tmp_path, summary, paired):
    plot_dir = tmp_path / "plots"
    return [
        ("Total cost by variant", bar_ci(summary, "total_cost", plot_dir / "cost.png", baseline="baseline")),
        ("Cost difference vs baseline", paired_diff_forest(paired, "total_cost", plot_dir / "diff.png")),
        (
            "Trade-off",
            tradeoff_scatter(
                summary_wide(summary), "total_cost", "on_time_rate", plot_dir / "trade.svg", minimize_y=False
            ),
        ),
    ]


def test_report_html_is_self_contained(tmp_path, summary, paired, plot_files, runs):
    failures = runs.loc[runs["status"] != "ok", ["variant", "replication", "status"]]
    failures = failures.assign(error="RuntimeError: picker <queue> overflow")
    md_path, html_path = write_report(
        tmp_path / "out",
        "Staffing <study> & carriers",
        ["Scenario: base.yaml", "12 reps"],
        summary,
        paired,
        plot_files,
        extra_tables={"Settings": pd.DataFrame({"key": ["seed"], "value": [42]})},
        failures=failures,
    )
    assert (md_path.name, html_path.name) == ("report.md", "report.html")
    page = html_path.read_text(encoding="utf-8")
    pngs = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(pngs) == 2
    for (_, path), b64 in zip(plot_files[:2], pngs):
        assert base64.b64decode(b64) == path.read_bytes()
    assert page.count("<svg") == 1 and "<?xml" not in page  # SVG inlined
    for external in ('src="http', "src='http", 'href="http', "<link", "<script", '.png"', "url(http", "@import"):
        assert external not in page
    assert "Staffing &lt;study&gt; &amp; carriers" in page and "<study>" not in page
    assert "picker &lt;queue&gt; overflow" in page
    assert "Failed replications (1)" in page
    assert 'class="sig"' in page  # differences whose CI excludes zero are marked
    assert "±" in page and "1,0" in page  # CI format, thousands separators
    _only(tmp_path / "out", ["report.md", "report.html"])


def test_report_markdown_contains_tables(tmp_path, summary, paired, plot_files):
    md_path, _ = write_report(tmp_path / "out", "Study", ["intro"], summary, paired, plot_files)
    md = md_path.read_text(encoding="utf-8")
    assert "| metric" in md and "| variant" in md and "mean ± half-width" in md
    for v in VARIANTS:
        assert v in md
    assert "## Paired differences vs baseline" in md and "✱" in md
    assert "](../plots/cost.png)" in md and "](../plots/trade.svg)" in md
    assert "Failed replications" not in md
    for _, row in summary.iterrows():  # every summary row is in the table
        assert f"| {row['metric']}" in md


def test_report_without_paired_or_plots(tmp_path, summary):
    md_path, html_path = write_report(tmp_path, "Only summary", [], summary, None, [], failures=pd.DataFrame())
    assert "Paired" not in md_path.read_text() and "<figure" not in html_path.read_text()


def test_report_missing_plot_writes_nothing(tmp_path, summary, paired):
    with pytest.raises(FileNotFoundError):
        write_report(tmp_path / "out", "t", [], summary, paired, [("gone", tmp_path / "missing.png")])
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- what a reader sees
@pytest.fixture
def figures(monkeypatch):
    """Figures as they are saved (drawn), kept open for inspection, closed afterwards."""
    import experiments.plots as plots

    kept = []
    real, real_close = plots._save, plots.plt.close

    def keep(fig, path):
        kept.append(fig)
        path = real(fig, path)
        fig.canvas.draw()
        return path

    monkeypatch.setattr(plots, "_save", keep)
    monkeypatch.setattr(plots.plt, "close", lambda fig=None: None)
    yield kept
    for fig in kept:
        real_close(fig)


def _ticks(axis):
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text()]


def test_report_opens_with_the_headline_table(tmp_path, summary, paired, plot_files):
    md_path, html_path = write_report(
        tmp_path / "out",
        "Study",
        ["intro"],
        summary,
        paired,
        plot_files,
        metrics=["on_time_rate", "total_cost"],
        baseline="baseline",
        currency="CNY",
    )
    md = md_path.read_text(encoding="utf-8")
    assert md.index("## Results at a glance") < md.index("## Plots") < md.index("## Summary")
    assert "| variant | On-time delivery (%) | Total cost (¥) |" in md
    page = html_path.read_text(encoding="utf-8")
    top = page[page.index('<table class="data headline">') : page.index("</table>")]
    assert top.count("<tr") == 1 + len(VARIANTS)
    # more_pickers_with_long_name: cost +40 (worse, ▲ red), on-time -3 pp (worse, ▼ red); express: on-time +6 pp
    rows = top.split("<tr")[2:]
    assert re.search(r'class="chg worse">\+¥4\d\.\d \(\+4\.\d%\) ▲', rows[1]), rows[1]
    assert re.search(r'class="chg worse">-[23]\.\d+ pp ▼', rows[1]), rows[1]
    assert re.search(r'class="chg better">\+[56]\.\d+ pp ▲', rows[2]), rows[2]
    assert "baseline" in rows[0] and "%" in rows[0]


def test_plots_have_registry_labels_and_plain_ticks(tmp_path, figures):
    big = pd.DataFrame(
        {
            "variant": ["a", "b"],
            "metric": "total_cost",
            "n": 5,
            "mean": [2_382_664.0, 2_390_000.0],
            "std": 1.0,
            "half_width": 800.0,
            "ci_low": [2_381_864.0, 2_389_200.0],
            "ci_high": [2_383_464.0, 2_390_800.0],
        }
    )
    bar_ci(big, "total_cost", tmp_path / "cost.png", currency="CNY")
    rate = big.assign(metric="on_time_rate", mean=[0.91, 0.93], ci_low=[0.90, 0.92], ci_high=[0.92, 0.94])
    bar_ci(rate, "on_time_rate", tmp_path / "rate.png")
    cost_ax, rate_ax = figures[0].axes[0], figures[1].axes[0]
    assert cost_ax.get_title().startswith("Total cost by variant")
    assert cost_ax.get_ylabel().startswith("Total cost (¥)")
    assert cost_ax.yaxis.get_offset_text().get_text() == ""
    assert all("," in t for t in _ticks(cost_ax.yaxis)), _ticks(cost_ax.yaxis)
    assert rate_ax.get_ylabel().startswith("On-time delivery (%)")
    assert all(t.endswith("%") for t in _ticks(rate_ax.yaxis)) and "92%" in _ticks(rate_ax.yaxis)


def test_tradeoff_labels_do_not_overlap(tmp_path, figures):
    names = [f"promo_extra_pickers={p},service_level={s}" for p in (0, 2, 4, 8) for s in (0.95, 0.98)]
    wide = pd.DataFrame(
        {
            "variant": names,
            "labour_cost": [80808, 80808, 84952, 84952, 89096, 89096, 97384, 97384.0],
            "on_time_rate": [0.8139, 0.8139, 0.9211, 0.9252, 0.9248, 0.9295, 0.9248, 0.9295],
        }
    )
    tradeoff_scatter(wide, "labour_cost", "on_time_rate", tmp_path / "t.png", minimize_y=False)
    fig = figures[0]
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    labels = [t for t in ax.texts]
    assert [t.get_text() for t in labels] == [str(i) for i in range(1, 9)]  # numbered, a key names them
    legend_text = [t.get_text() for t in fig.legends[0].get_texts()]
    assert f"1  {names[0]}" in legend_text and f"8  {names[7]}" in legend_text
    boxes = [t.get_window_extent(renderer) for t in labels]
    axbox = ax.get_window_extent(renderer)
    for i, a in enumerate(boxes):
        assert axbox.x0 <= a.x0 and a.x1 <= axbox.x1 and axbox.y0 <= a.y0 and a.y1 <= axbox.y1
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)
    assert ax.xaxis.get_offset_text().get_text() == "" and "80,000" in _ticks(ax.xaxis)


def test_paired_plot_has_one_scale_per_variant(tmp_path, figures):
    paired = pd.DataFrame(
        {
            "variant": ["sQ_90", "sQ_98", "RS_weekly_95"],
            "metric": "total_cost",
            "n": 8,
            "mean_diff": [-9699.0, 12502.0, 988817.0],
            "half_width": [3016.0, 203.0, 8183.0],
            "ci_low": [-12715.0, 12299.0, 980634.0],
            "ci_high": [-6683.0, 12705.0, 997000.0],
            "excludes_zero": True,
            "unpaired_half_width": [5800.0, 6000.0, 30000.0],
        }
    )
    paired_diff_forest(paired, "total_cost", tmp_path / "p.png", baseline="sQ_95", currency="CNY")
    axes = figures[0].axes
    assert len(axes) == 3
    for ax, (_, row) in zip(axes, paired.iterrows()):
        lo, hi = ax.get_xlim()
        assert lo <= min(0, row["ci_low"]) and hi >= max(0, row["ci_high"])
        # the paired interval takes a readable share of its own panel
        assert (row["ci_high"] - row["ci_low"]) / (hi - lo) > 0.01
        assert row["variant"] in ax.get_title(loc="left") and "¥" in ax.get_title(loc="left")
        assert ax.xaxis.get_offset_text().get_text() == ""


def test_daily_plot_shows_dates_and_events(tmp_path, figures, daily):
    import datetime as dt

    daily_series(
        daily, "backorders", tmp_path / "d.png", start_date=dt.date(2026, 10, 25), events=[(17, 19, "double11")]
    )
    ax = figures[0].axes[0]
    ticks = _ticks(ax.xaxis)
    assert any(t.startswith("Nov") for t in ticks) and any(t.startswith("Oct") for t in ticks), ticks
    assert "double11" in [t.get_text() for t in ax.texts]
    assert figures[0].legends and ax.get_legend() is None  # the legend is outside the axes


def test_sweep_of_an_integer_factor_has_integer_ticks(tmp_path, figures):
    s = pd.DataFrame(
        {
            "pickers": [0, 2, 4, 8] * 2,
            "sl": [0.95] * 4 + [0.98] * 4,
            "metric": "on_time_rate",
            "mean": [0.81, 0.92, 0.925, 0.925, 0.81, 0.925, 0.93, 0.93],
        }
    )
    s["ci_low"], s["ci_high"] = s["mean"] - 0.005, s["mean"] + 0.005
    sweep_lines(s, "pickers", "on_time_rate", tmp_path / "s.png", series="sl", xlabel="extra pickers")
    ax = figures[0].axes[0]
    assert list(ax.get_xticks()) == [0, 2, 4, 8] and _ticks(ax.xaxis) == ["0", "2", "4", "8"]
    assert ax.get_ylabel() == "On-time delivery (%)"
