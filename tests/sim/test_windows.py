"""KPI windows, event KPIs and the per-day due/delivered counts (issue 14).

A window (``kpi_window`` or ``--window START:END``) restricts the order KPIs to the orders
placed on its days and the per-day KPIs to its days; each promotion event gets the same
KPIs over its days (``result.event_kpis``). The checks recompute the figures by hand from
the per-order and daily tables, state the identities that hold in any window, and show
that Double-11's own orders are served worse than the horizon's (a paired CI).
"""

from __future__ import annotations

import functools
import operator

import numpy as np
import pandas as pd
import pytest
from helpers import COST_PARTS

import run
from experiments.cli.simulate import format_kpi_table
from experiments.spec import DAILY_COLUMNS, load_spec
from experiments.stats import mean_ci
from sim.kpis import DAILY_COLUMNS_INFO
from sim.metrics import PER_ORDER, PER_ORDER_IN_WINDOW, event_windows
from sim.model.shop import simulate
from sim.model.streams import replication_seed
from sim.scenario.loader import load_scenario, window_override

DOUBLE11 = "scenarios/double11.yaml"
SHORT = ["start_date=2026-10-20", "horizon_days=40", "warmup_days=0"]
WINDOW = ["kpi_window={start: 2026-11-10, end: 2026-11-13}"]


@pytest.fixture(scope="module")
def windowed():
    scenario = load_scenario(DOUBLE11, SHORT + WINDOW)
    return scenario, simulate(scenario, seed=5, record_orders=True)


def _window_days(scenario) -> tuple[int, int]:
    w = scenario.kpi_window
    return (w.start - scenario.start_date).days, (w.end - scenario.start_date).days + 1


def test_window_on_time_rate_is_the_on_time_share_of_the_orders_placed_in_it(windowed):
    scenario, result = windowed
    a, b = _window_days(scenario)
    o, H = result.orders, scenario.horizon_days
    placed = (o["arrival"] >= a) & (o["arrival"] < b) & (o["stage"] != "lost")
    due = placed & (o["deadline"] <= H)
    on_time = due & (o["deliver"] <= o["deadline"])
    assert due.sum() > 1000
    assert result.kpis["on_time_rate"] == pytest.approx(on_time.sum() / due.sum(), abs=1e-12)
    assert result.kpis["late_orders"] == due.sum() - on_time.sum()
    c2d = (o["deliver"] - o["arrival"])[placed & (o["deliver"] <= H)]
    assert result.kpis["click_to_door_p95"] == pytest.approx(np.percentile(c2d, 95))
    # a nearby wrong answer is excluded: the whole horizon's orders give another share
    everyone = (o["stage"] != "lost") & (o["deadline"] <= H)
    whole = (everyone & (o["deliver"] <= o["deadline"])).sum() / everyone.sum()
    assert abs(result.kpis["on_time_rate"] - whole) > 0.005


def test_window_orders_and_daily_kpis_are_sums_over_its_days(windowed):
    scenario, result = windowed
    a, b = _window_days(scenario)
    days = result.daily[(result.daily["day"] >= a) & (result.daily["day"] < b)]
    assert len(days) == 4
    assert (
        result.kpis["orders"]
        == days["orders"].sum()
        == len(result.orders[(result.orders["arrival"] >= a) & (result.orders["arrival"] < b)])
    )
    assert result.kpis["labour_cost"] == pytest.approx(days["labour_cost"].sum())
    assert result.kpis["avg_on_hand_units"] == pytest.approx(days["on_hand_units"].mean())
    assert result.kpis["unit_fill_rate"] == pytest.approx(days["units_filled_now"].sum() / days["units_demanded"].sum())
    assert result.kpis["cost_per_day"] == pytest.approx(result.kpis["total_cost"] / 4)


@pytest.mark.parametrize("overrides", [SHORT, SHORT + WINDOW, [*SHORT, "event_kpis.margin_days=3"]])
def test_cost_identities_hold_in_every_window_and_event(overrides):
    result = simulate(load_scenario(DOUBLE11, overrides), seed=2)
    assert result.event_kpis, "double11 in the horizon gives event KPIs"
    for k in [result.kpis, *result.event_kpis.values()]:
        assert k["total_cost"] == pytest.approx(sum(k[c] for c in COST_PARTS))
        assert k["gross_margin"] == pytest.approx(k["revenue"] - k["cost_of_goods_sold"])
        assert k["profit"] == pytest.approx(k["gross_margin"] - k["total_cost"])
        assert k["shipping_cost_per_order"] == pytest.approx(k["shipping_cost"] / k["orders"])


def test_event_windows_label_margin_and_switch():
    s = load_scenario(DOUBLE11, SHORT)
    assert event_windows(s) == [("double11 2026-11-11", 22, 24)]  # Nov 11-12 = days 22-23
    wide = load_scenario(DOUBLE11, [*SHORT, "event_kpis.margin_days=3"])
    assert event_windows(wide) == [("double11 2026-11-11", 19, 27)]
    off = load_scenario(DOUBLE11, [*SHORT, "event_kpis.enabled=false"])
    assert event_windows(off) == [] and simulate(off, seed=1).event_kpis == {}
    year = load_scenario(DOUBLE11)  # the whole 2026: 618 and Double-11
    assert [label for label, _, _ in event_windows(year)] == ["618 2026-06-18", "double11 2026-11-11"]


def test_double11_orders_are_served_worse_than_the_horizon():
    """Paired over 5 replications: on-time rate of the whole run minus that of the event's orders."""
    s = load_scenario(DOUBLE11, SHORT)
    diffs, event_rates = [], []
    for r in range(5):
        res = simulate(s, seed=replication_seed(11, r))
        ev = res.event_kpis["double11 2026-11-11"]
        event_rates.append(ev["on_time_rate"])
        diffs.append(res.kpis["on_time_rate"] - ev["on_time_rate"])
        assert ev["orders"] == res.daily["orders"][22:24].sum()
    ci = mean_ci(diffs)
    assert ci.low > 0, (diffs, ci)  # the 95% interval excludes 0: the event's orders fare worse


def test_daily_due_and_delivered_counts(windowed):
    scenario, result = windowed
    d, o, H = result.daily, result.orders, scenario.horizon_days
    np.testing.assert_array_equal(d["orders_due"], d["delivered_on_time"] + d["late_orders"])
    assert d["orders_due"].sum() == ((o["stage"] != "lost") & (o["deadline"] <= H)).sum()
    assert d["delivered"].sum() == (o["stage"] == "delivered").sum()
    assert (
        d["delivered_on_time"].sum()
        == ((o["stage"] != "lost") & (o["deadline"] <= H) & (o["deliver"] <= o["deadline"])).sum()
    )


def test_daily_table_columns_are_the_registry(windowed):
    _, result = windowed
    assert list(result.daily.columns) == list(DAILY_COLUMNS_INFO)
    assert set(DAILY_COLUMNS) == set(DAILY_COLUMNS_INFO) - {"day", "date", "warmup"}
    assert not set(PER_ORDER) & set(PER_ORDER_IN_WINDOW)


# ------------------------------------------------------------------ input errors and the CLI
TINY = """\
name: windowed
horizon_days: 30
kpi_window:
  start: 2031-01-01
  end: 2031-01-05
catalog:
  skus:
    - {id: A, price: 10, unit_cost: 6}
demand:
  base_orders_per_day: 5
"""


def _one_error(rc: int, err: str) -> str:
    assert rc == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    return lines[0]


def _cli(capsys, *args) -> tuple[int, str, str]:
    try:
        rc = run.main([str(a) for a in args])
    except SystemExit as exc:
        rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_window_outside_the_horizon_is_refused_with_its_line(tmp_path, capsys):
    path = tmp_path / "shop.yaml"
    path.write_text(TINY, encoding="utf-8")
    rc, out, err = _cli(capsys, "simulate", path, "--out", tmp_path / "run")
    assert rc == 2 and out == "" and "Traceback" not in err
    assert f"{path}:4: kpi_window.start: 2031-01-01 is outside the horizon 2026-01-01..2026-01-30" in err
    assert f"{path}:5: kpi_window.end:" in err
    assert not (tmp_path / "run").exists()


def test_window_option_outside_the_horizon_names_the_option(tmp_path, capsys):
    rc, _out, err = _cli(
        capsys,
        "simulate",
        DOUBLE11,
        *functools.reduce(operator.iadd, (["--set", o] for o in SHORT), []),
        "--window",
        "2027-01-01:2027-01-02",
        "--out",
        tmp_path / "run",
    )
    assert rc == 2 and "--window: kpi_window.start: 2027-01-01 is outside the horizon" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("text", ["2026-11-10", "x:y", "2026-11-13:2026-11-10", "2026-11-10:2026-13-01", ""])
def test_malformed_window_is_one_argparse_line(text, tmp_path, capsys):
    for command in (["simulate", DOUBLE11], ["experiment", "experiments/demo.yaml"]):
        rc, _out, err = _cli(capsys, *command, "--window", text, "--out", tmp_path / "run")
        line = _one_error(rc, err)
        assert "--window" in line
    assert not (tmp_path / "run").exists()


def test_simulate_with_a_window_prints_the_window_and_the_event(tmp_path, capsys):
    rc, out, err = _cli(
        capsys,
        "simulate",
        DOUBLE11,
        *functools.reduce(operator.iadd, (["--set", o] for o in SHORT), []),
        "-n",
        "2",
        "--window",
        "2026-11-10:2026-11-13",
        "--out",
        tmp_path / "run",
    )
    assert rc == 0, err
    assert "over orders placed and days 2026-11-10..2026-11-13 (kpi_window)" in out
    assert "On-time delivery" in out and "%" in out and "¥" in out  # human labels, percentages, currency
    assert "event double11 2026-11-11" in out
    runs = pd.read_csv(tmp_path / "run" / "kpis.csv")
    assert "on_time_rate" in runs.columns  # CSV columns stay raw KPI names
    events = pd.read_csv(tmp_path / "run" / "events.csv")
    assert list(events.columns) == ["replication", "event", "kpi", "value"]
    summary = pd.read_csv(tmp_path / "run" / "events_summary.csv")
    assert {"event", "metric", "mean", "half_width"} <= set(summary.columns)
    assert "kpi_window" in (tmp_path / "run" / "scenario.yaml").read_text(encoding="utf-8")


def test_experiment_window_is_an_override_of_every_variant():
    _spec, plain = load_spec("experiments/demo.yaml")
    _, windowed = load_spec("experiments/demo.yaml", [window_override("2026-03-01", "2026-03-31")])
    assert [p.name for p in plain] == [p.name for p in windowed]
    for a, b in zip(plain, windowed):
        assert a.scenario.kpi_window is None and b.scenario.kpi_window is not None
        assert str(b.scenario.kpi_window.start) == "2026-03-01" and a.hash != b.hash  # a new cache key


def test_kpi_table_reads_as_a_person_reads_it():
    summary = pd.DataFrame(
        {
            "metric": ["on_time_rate", "total_cost", "click_to_door_p95"],
            "mean": [0.9134, 1234567.8, 2.345],
            "half_width": [0.004, 3400.0, float("nan")],
        }
    )
    text = format_kpi_table(summary, "CNY")
    assert "On-time delivery" in text and "91.3% ± 0.4 pp" in text
    assert "¥1,234,568 ± ¥3,400" in text and "2.35 days" in text
    assert "on_time_rate" in text  # the raw name beside the label, for the CSV files
