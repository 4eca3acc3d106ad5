"""Marketing KPIs: every order's source, incremental orders, their revenue, ROAS and CAC.

An order's source comes from its position in the day's unit-rate Poisson process
(``sim.model.demand``), so the checks are exact: sources conserve orders and revenue, a
variant with more spend on the last channel keeps every other order, and the counts agree
with the plan's expected channel orders (a Poisson interval that excludes a 10% error).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.metrics import channel_kpis
from sim.model.catalog import catalog_for
from sim.model.demand import DemandGenerator, demand_plan
from sim.model.shop import simulate
from sim.scenario.loader import load_scenario

TWO_CHANNELS = (
    "demand.channels=[{name: search, spend_per_day: 3000, max_extra_orders_per_day: 60, half_saturation_spend: 4000},"
    " {name: social, spend_per_day: 1500, max_extra_orders_per_day: 40, half_saturation_spend: 2000,"
    " event_multiplier: 2}]"
)


def two_channels(*more: str):
    """The baseline scenario (backorders, one warehouse) with two channels, 60 days."""
    return load_scenario("scenarios/baseline.yaml", ["horizon_days=60", "warmup_days=7", TWO_CHANNELS, *more])


@pytest.fixture(scope="module")
def run():
    s = two_channels()
    return s, simulate(s, 5, record_orders=True)


def test_sources_conserve_orders_and_revenue(run):
    s, r = run
    k, t = r.kpis, r.orders
    source = t["source"].to_numpy()
    assert set(np.unique(source)) <= {-1, 0, 1} and (source >= 0).any() and (source == -1).any()
    per_day = np.bincount(np.floor(t["arrival"]).astype(int), weights=source >= 0, minlength=s.horizon_days)
    np.testing.assert_array_equal(per_day, r.daily["marketing_orders"])  # daily column = tagged orders
    ch = r.channel_kpis
    assert list(ch) == ["search", "social"]
    assert sum(c["orders"] for c in ch.values()) == k["marketing_orders"]
    assert sum(c["revenue"] for c in ch.values()) == pytest.approx(k["marketing_revenue"], rel=1e-12)
    assert sum(c["spend"] for c in ch.values()) == pytest.approx(k["marketing_cost"], rel=1e-12)
    after = t["arrival"].to_numpy() >= s.warmup_days
    assert ((source == -1) & after).sum() + k["marketing_orders"] == k["orders"]  # organic + channels = orders
    assert 0 < k["marketing_revenue"] < k["revenue"]
    assert (r.daily["marketing_revenue"] <= r.daily["revenue"] + 1e-9).all()


def test_marketing_revenue_is_the_shipped_value_of_the_incremental_orders(run):
    """Backorder mode: an order released to the warehouse had every unit shipped (revenue = its value);
    one still backordered at the end had only part; the horizon's marketing revenue lies between."""
    _, r = run
    t = r.orders
    paid = t["source"].to_numpy() >= 0
    released = t["stage"].to_numpy() != "backordered"
    total = r.daily["marketing_revenue"].sum()
    low, high = t["value"][paid & released].sum(), t["value"][paid].sum()
    assert low - 1e-6 <= total <= high + 1e-6
    assert low > 0.95 * high  # the test has teeth: few orders are still waiting


def test_roas_and_cac_are_the_exact_ratios(run):
    _, r = run
    k = r.kpis
    assert k["roas"] == k["marketing_revenue"] / k["marketing_cost"]
    assert k["cac"] == k["marketing_cost"] / k["marketing_orders"]
    for c in r.channel_kpis.values():
        assert c["roas"] == c["revenue"] / c["spend"] and c["cac"] == c["spend"] / c["orders"]


def test_no_spend_no_incremental_orders_and_ratios_are_nan():
    s = two_channels("demand.channels[search].spend_per_day=0", "demand.channels[social].spend_per_day=0")
    r = simulate(s, 5)
    assert r.kpis["marketing_orders"] == 0 and r.kpis["marketing_revenue"] == 0
    assert math.isnan(r.kpis["roas"]) and math.isnan(r.kpis["cac"])
    assert r.daily["marketing_orders"].sum() == 0
    plain = simulate(load_scenario("scenarios/classroom_sq.yaml", ["horizon_days=60"]), 3)
    assert plain.channel_kpis == {} and plain.kpis["marketing_orders"] == 0 and math.isnan(plain.kpis["roas"])


def _sources_by_day(r, days: int) -> np.ndarray:
    """(3, days): organic, search and social orders placed per day."""
    t = r.orders
    day = np.floor(t["arrival"].to_numpy()).astype(int)
    src = t["source"].to_numpy()
    return np.array([np.bincount(day[src == c], minlength=days) for c in (-1, 0, 1)])


def test_more_spend_on_a_channel_keeps_the_organic_orders_and_adds_to_that_channel(run):
    s, r = run
    more = two_channels("demand.channels[social].spend_per_day=4000")
    r2 = simulate(more, 5, record_orders=True)
    a, b = _sources_by_day(r, s.horizon_days), _sources_by_day(r2, s.horizon_days)
    np.testing.assert_array_equal(a[0], b[0])  # organic orders of every day identical
    np.testing.assert_array_equal(a[1], b[1])  # the other channel untouched (social is the last channel)
    assert (b[2] >= a[2]).all() and b[2].sum() > a[2].sum() * 1.3
    org1, org2 = r.orders[r.orders["source"] == -1], r2.orders[r2.orders["source"] == -1]
    np.testing.assert_array_equal(org1["value"].to_numpy(), org2["value"].to_numpy())  # the same orders
    first = two_channels("demand.channels[search].spend_per_day=8000")
    np.testing.assert_array_equal(_sources_by_day(simulate(first, 5, record_orders=True), s.horizon_days)[0], a[0])


def test_channel_orders_agree_with_the_plan():
    """Over 4 years of days, each channel's order count is Poisson with mean sum of its expected orders:
    the 99.9% interval holds it and excludes a 10% larger (or smaller) mean."""
    s = two_channels("horizon_days=1460")
    plan = demand_plan(s)
    gen = DemandGenerator(s, catalog_for(s), plan, seed=17)
    counts = np.zeros(2)
    organic = 0
    for d in range(s.horizon_days):
        src = gen.draw_day(d).source
        counts += np.bincount(src[src >= 0], minlength=2)
        organic += int((src == -1).sum())
    expected = plan.channel_orders.sum(axis=1)
    np.testing.assert_allclose(plan.channel_orders.sum(axis=0), plan.marketing_orders)
    z = 3.29
    for n, lam in zip(counts, expected):
        assert abs(n - lam) < z * math.sqrt(lam)
        for wrong in (1.1 * lam, 0.9 * lam):
            assert abs(n - wrong) > z * math.sqrt(wrong)
    assert abs(organic - plan.base_rate.sum()) < z * math.sqrt(plan.base_rate.sum())


def test_deterministic_arrivals_are_attributed_by_position():
    s = two_channels("demand.arrivals=deterministic")
    plan = demand_plan(s)
    gen = DemandGenerator(s, catalog_for(s), plan, seed=1)
    for d in range(20):
        src = gen.draw_day(d).source
        n = len(src)
        share = plan.base_rate[d] / plan.rate[d]
        assert abs(int((src == -1).sum()) - share * n) <= 1
        assert abs(int((src == 0).sum()) - plan.channel_orders[0, d] / plan.rate[d] * n) <= 1
        assert (np.diff(src) >= 0).all()  # organic first, then the channels in order


def test_kpi_window_is_respected(run):
    s0, r0 = run
    s = two_channels("kpi_window={start: 2026-02-03, end: 2026-02-16}")
    r = simulate(s, 5)
    a = (s.kpi_window.start - s.start_date).days
    b = a + 14
    d = r.daily.iloc[a:b]
    assert r.kpis["marketing_orders"] == d["marketing_orders"].sum()
    assert r.kpis["marketing_revenue"] == pytest.approx(d["marketing_revenue"].sum(), rel=1e-12)
    assert r.kpis["marketing_cost"] == pytest.approx(d["marketing_spend"].sum(), rel=1e-12)
    assert r.kpis["marketing_orders"] < 0.5 * r0.kpis["marketing_orders"]  # 14 of the 53 days
    spend = demand_plan(s).spend[:, a:b].sum(axis=1)
    assert [c["spend"] for c in r.channel_kpis.values()] == pytest.approx(spend.tolist(), rel=1e-12)
    whole = channel_kpis(s0, demand_plan(s0).spend, np.ones((2, s0.horizon_days)), np.zeros((2, s0.horizon_days)))
    assert [c["orders"] for c in whole.values()] == [53.0, 53.0]  # default span: the days after the warm-up
    assert sum(c["orders"] for c in r.channel_kpis.values()) == r.kpis["marketing_orders"]
    assert sum(c["revenue"] for c in r.channel_kpis.values()) == pytest.approx(r.kpis["marketing_revenue"], rel=1e-12)


def test_routed_split_lost_sales_orders_keep_their_source():
    """The routed path (split shipments over warehouses) and lost sales attribute revenue the same way."""
    s = load_scenario(
        "scenarios/multi_warehouse.yaml",
        [
            "horizon_days=40",
            TWO_CHANNELS,
            "routing.warehouse=nearest_with_stock",
            "routing.split_shipments=true",
            "inventory.unmet_demand=lost_sales",
        ],
    )
    r = simulate(s, 2, record_orders=True)
    k, t = r.kpis, r.orders
    paid = t["source"].to_numpy() >= 0
    assert k["marketing_orders"] > 0 and sum(c["orders"] for c in r.channel_kpis.values()) == k["marketing_orders"]
    assert sum(c["revenue"] for c in r.channel_kpis.values()) == pytest.approx(k["marketing_revenue"], rel=1e-12)
    total = r.daily["marketing_revenue"].sum()
    assert 0 < total <= t["value"][paid].sum() + 1e-6  # lost units earn nothing
    kept = t["stage"].to_numpy() != "lost"
    assert total >= 0.5 * t["value"][paid & kept].sum()


def test_simulate_writes_and_prints_the_channel_table(tmp_path, capsys):
    """``run.py simulate``'s library part: channels.csv per replication, its summary, the printed table."""
    from experiments.cli.simulate import print_result
    from experiments.report_marketing import marketing_tables
    from experiments.scenario_runs import simulate_to_folder

    s = two_channels("horizon_days=30")
    res = simulate_to_folder(s, 2, 11, tmp_path, tmp_path / "run", quiet=True)
    table = pd.read_csv(tmp_path / "run" / "channels.csv")
    assert list(table.columns) == ["replication", "channel", "spend", "orders", "revenue", "roas", "cac"]
    assert table["channel"].tolist() == ["search", "social", "search", "social"]
    kpis = pd.read_csv(tmp_path / "run" / "kpis.csv")
    per_rep = table.groupby("replication")[["orders", "revenue"]].sum()
    np.testing.assert_allclose(per_rep["orders"], kpis["marketing_orders"])
    np.testing.assert_allclose(per_rep["revenue"], kpis["marketing_revenue"], rtol=1e-12)
    assert (tmp_path / "run" / "channels_summary.csv").exists()
    print_result(res)
    out = capsys.readouterr().out
    assert "marketing channels" in out and "social" in out and "roas" in out
    runs = kpis.assign(variant="base", status="ok")
    summary = res.channels_summary.assign(variant="base")
    totals, per_channel = marketing_tables(runs, summary, "CNY")
    assert list(totals.columns)[-2:] == ["ROAS", "Cost per incremental order"]
    assert per_channel["channel"].tolist() == ["search", "social"]


def test_a_scenario_without_channels_writes_no_channel_table(tmp_path):
    from experiments.scenario_runs import simulate_to_folder

    s = load_scenario("scenarios/classroom_sq.yaml", ["horizon_days=60"])
    res = simulate_to_folder(s, 1, 1, tmp_path, tmp_path / "run", quiet=True)
    assert res.channels_summary is None and not (tmp_path / "run" / "channels.csv").exists()
    k = pd.read_csv(tmp_path / "run" / "kpis.csv")
    assert k["marketing_orders"].iloc[0] == 0 and k["roas"].isna().all()


def test_experiment_writes_channels_and_its_report_has_a_marketing_section(tmp_path):
    from experiments.api import run_experiment

    root = Path(__file__).resolve().parents[2]
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"name: ads\nbase: {root / 'scenarios' / 'baseline.yaml'}\n"
        f"set: {{horizon_days: 30, warmup_days: 7, {TWO_CHANNELS.replace('=', ': ', 1)}}}\n"
        "replications: 2\nvariants:\n  - name: base\n  - name: more_social\n"
        '    set: {"demand.channels[social].spend_per_day": 4000}\n'
        "metrics: [revenue, profit]\n",
        encoding="utf-8",
    )
    res = run_experiment(spec, executor="serial", results=tmp_path / "results")
    channels = pd.read_csv(res.folder / "channels.csv")
    assert len(channels) == 2 * 2 * 2 and set(channels["variant"]) == {"base", "more_social"}
    runs = pd.read_csv(res.folder / "runs.csv").set_index(["variant", "replication"])
    orders = channels.groupby(["variant", "replication"])["orders"].sum()
    np.testing.assert_allclose(orders.to_numpy(), runs.loc[orders.index, "marketing_orders"].to_numpy())
    report = (res.folder / "report.md").read_text(encoding="utf-8")
    assert "## Marketing" in report and "Per channel:" in report and "| more_social | social" in report
