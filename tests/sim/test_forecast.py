"""Forecast-driven replenishment (``inventory.forecast``, ``sim.model.forecast``).

A planner turns the forecast on to see what forecasting the demand costs against a plan
that knows the true rate. These tests check that:

* forecast off is today's simulator, and a forecast that never refits changes nothing;
* the methods compute what their formulas say (moving average, SES, Holt-Winters);
* stationary demand: the fill-rate loss against the true-rate plan shrinks as the history
  grows (7 vs 112 days), and with 112 days the loss is within a fraction of a point;
* a trend: the seasonal (Holt-Winters, additive trend) forecast keeps the fill rate the
  moving average loses, with a paired CI far from 0;
* bad input gives one clear line; runs are reproducible and conserve units.

Statistical checks are paired over replications (common random numbers: replication r sees
the same customers under every plan) with 99.9% Student-t intervals, and each also shows
that a nearby wrong answer is excluded.
"""

from __future__ import annotations

import math
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from helpers import run_cli
from test_conservation import check_identities

from experiments.stats import mean_ci
from sim.kpis import FORECAST_KPIS
from sim.model.forecast import error_stats, holt_winters, moving_average, simple_exponential_smoothing
from sim.model.shop import ShopModel, simulate
from sim.model.streams import replication_seed
from sim.scenario.errors import InputError
from sim.scenario.loader import load_scenario

LEVEL = 0.999
N_REPS = 8

#: A small shop: 12 SKUs, ~40 orders/day, weekly (R, S) review, a constant 4-day lead time.
SHOP = """\
name: forecast_test
start_date: 2026-01-01
horizon_days: 240
warmup_days: 126
catalog:
  generate:
    count: 12
    pareto_alpha: 1.0
    price: {dist: lognormal, mean: 50, cv: 0.5}
    cost_ratio: 0.6
    weight_kg: 1.0
    seed: 7
demand:
  base_orders_per_day: 40
  arrivals: poisson
  units_per_line: {dist: poisson, mean: 3, shift: 1}
suppliers:
  - name: s
    lead_time_days: 4
inventory:
  policy: {type: RS, review_period_days: 7, service_level: 0.9}
  unmet_demand: backorder
"""
#: Demand that grows by a quarter of January's every month.
RAMP = "demand.monthly_factors=[1.0,1.25,1.5,1.75,2.0,2.25,2.5,2.75,3.0,3.25,3.5,3.75]"


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("forecast") / "shop.yaml"
    path.write_text(SHOP, encoding="utf-8")
    return path


def assert_same_kpis(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])), k


def fill_rates(path: Path, overrides: list[str], n: int = N_REPS) -> np.ndarray:
    scenario = load_scenario(path, overrides)
    return np.array([simulate(scenario, replication_seed(2026, r)).kpis["unit_fill_rate"] for r in range(n)])


# ---------------------------------------------------------------- (a) off = today
def test_forecast_off_has_no_forecast_kpis_and_a_forecast_that_never_refits_changes_nothing(shop):
    off = simulate(load_scenario(shop), seed=3)
    assert not set(FORECAST_KPIS) & set(off.kpis)
    idle = simulate(load_scenario(shop, ["inventory.forecast.history_days=1000"]), seed=3)  # no refit in 240 days
    assert all(math.isnan(idle.kpis[k]) for k in FORECAST_KPIS)
    assert_same_kpis({k: v for k, v in idle.kpis.items() if k not in FORECAST_KPIS}, off.kpis)
    assert idle.daily.equals(off.daily)
    for key in off.state:
        np.testing.assert_array_equal(idle.state[key], off.state[key])


def test_written_levels_still_win(tmp_path):
    # classroom_sq writes r = 3 and Q = 5: a forecast has nothing to derive, so nothing changes
    path = Path(__file__).resolve().parents[2] / "scenarios" / "classroom_sq.yaml"
    off = simulate(load_scenario(path, ["horizon_days=300"]), seed=2)
    on = simulate(load_scenario(path, ["horizon_days=300", "inventory.forecast.method=seasonal"]), seed=2)
    assert_same_kpis({k: v for k, v in on.kpis.items() if k not in FORECAST_KPIS}, off.kpis)
    assert on.kpis["forecast_mape"] > 0  # it did forecast


def test_levels_follow_the_forecast_with_the_policys_normal_approximation():
    # exactly 200 units a day: the moving average sees mu = 200 and no variance, so S = 200 x (R + L);
    # the true-rate plan assumes compound-Poisson variance mu x E[U^2] / E[U] = 40,000 a day
    path = Path(__file__).resolve().parents[2] / "scenarios" / "classroom_rs.yaml"
    over = ["horizon_days=120", "inventory.policy.order_up_to=null", "demand.units_per_line=200"]
    model = ShopModel(load_scenario(path, [*over, "inventory.forecast.history_days=28"]), seed=1)
    result = model.run()
    opening = math.ceil(2000 + NormalDist().inv_cdf(0.95) * math.sqrt(40_000 * 10))
    assert result.policy.order_up_to.tolist() == [opening]
    assert model.inv.S == [2000.0]
    assert result.kpis["forecast_mape"] == 0 and result.kpis["forecast_bias"] == 0


# ---------------------------------------------------------------- the methods' formulas
def test_moving_average_and_ses_follow_their_recursions():
    rng = np.random.default_rng(1)
    y = rng.poisson(5.0, size=(30, 4)).astype(float)
    mu, var = moving_average(y)
    np.testing.assert_allclose(mu, y.mean(axis=0))
    np.testing.assert_allclose(var, y.var(axis=0, ddof=1))
    alpha = 0.3
    level, mse = simple_exponential_smoothing(y, alpha)
    for k in range(4):  # one pair at a time, by hand
        lv, sq = y[:7, k].mean(), 0.0
        for t in range(30):
            sq += (y[t, k] - lv) ** 2
            lv = alpha * y[t, k] + (1 - alpha) * lv
        assert level[k] == pytest.approx(lv) and mse[k] == pytest.approx(sq / 30)


def test_holt_winters_extrapolates_a_trend_with_a_weekly_season():
    t = np.arange(56)
    week = np.array([1.0, 1.1, 1.0, 0.9, 1.2, 1.4, 0.4])
    y = (100 + 2.0 * t) * week[t % 7]
    _, path = holt_winters(y, 7, 14)
    truth = (100 + 2.0 * np.arange(56, 70)) * week[np.arange(56, 70) % 7]
    np.testing.assert_allclose(path, truth, rtol=0.02)
    flat = np.full(14, y.mean())  # the moving average's answer is far off: the test can tell them apart
    assert np.abs(flat - truth).mean() > 10 * np.abs(path - truth).mean()
    fitted, path = holt_winters(np.zeros(28), 7, 5)  # nothing to fit: the flat mean, no error
    assert fitted.tolist() == [0.0] * 28 and path.tolist() == [0.0] * 5


def test_error_stats_pool_mape_and_bias_per_abc_class():
    F = np.array([12.0, 8.0, 5.0, 1.0])
    A = np.array([10.0, 10.0, 0.0, 2.0])
    group = np.array([0, 0, 1, 2])  # A, A, B, C
    s = error_stats(F, A, group)
    assert s[0].tolist() == pytest.approx([0.2 + 0.2 + 0.5, 3, 26 - 22, 22])  # the zero-demand pair has no APE
    assert s[1].tolist() == pytest.approx([0.4, 2, 0, 20])
    assert s[2].tolist() == pytest.approx([0.0, 0, 5, 0])
    assert s[3].tolist() == pytest.approx([0.5, 1, -1, 2])


# ---------------------------------------------------------------- (b) stationary demand
def test_stationary_demand_the_fill_rate_gap_shrinks_as_history_grows(shop):
    true_rate = fill_rates(shop, [])
    short = fill_rates(shop, ["inventory.forecast.history_days=7"])
    long = fill_rates(shop, ["inventory.forecast.history_days=112"])
    gain = mean_ci(long - short, LEVEL)  # gap(7) - gap(112), paired
    assert gain.low > 0.005, gain  # more history: a smaller loss, by more than half a point
    gap_short, gap_long = mean_ci(true_rate - short, LEVEL), mean_ci(true_rate - long, LEVEL)
    assert gap_short.low > 0.01, gap_short  # 7 days cost more than a point of fill rate ...
    assert gap_long.high < 0.01, gap_long  # ... 112 days less than one


# ---------------------------------------------------------------- (c) a trend
def test_with_a_trend_holt_winters_beats_the_moving_average(shop):
    ma = fill_rates(shop, ["warmup_days=84", RAMP, "inventory.forecast.method=moving_average"], n=6)
    hw = fill_rates(shop, ["warmup_days=84", RAMP, "inventory.forecast.method=seasonal"], n=6)
    diff = mean_ci(hw - ma, LEVEL)
    assert diff.low > 0.02, diff  # the moving average lags the trend: several points of fill rate
    assert hw.mean() > 0.95


# ---------------------------------------------------------------- (d) bad input
@pytest.mark.parametrize(
    "override, needle",
    [
        (
            "inventory.forecast.history_days=3",
            "inventory.forecast.history_days: Input should be greater than or equal to 7",
        ),
        ("inventory.forecast.refit_every_days=0", "inventory.forecast.refit_every_days"),
        ("inventory.forecast.alpha=1.5", "inventory.forecast.alpha"),
        ("inventory.forecast.method=arima", "inventory.forecast.method"),
    ],
)
def test_bad_forecast_input_is_one_clear_line(shop, override, needle):
    with pytest.raises(InputError) as err:
        load_scenario(shop, [override])
    lines = str(err.value).splitlines()
    assert len(lines) == 1 and needle in lines[0], lines


def test_seasonal_needs_two_seasons_of_history(tmp_path, shop):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SHOP + "  forecast: {method: seasonal, history_days: 10}\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_scenario(bad)
    (line,) = str(err.value).splitlines()
    assert (
        line.startswith(f"{bad}:{len(SHOP.splitlines()) + 1}: inventory.forecast:")
        and "at least 2 x season_days (14)" in line
    )


def test_bad_forecast_on_the_command_line_exits_2_with_one_line_and_writes_nothing(tmp_path, shop):
    results = tmp_path / "results"
    res = run_cli("simulate", shop, "--set", "inventory.forecast.history_days=3", "--results", results)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    (line,) = [x for x in res.stderr.splitlines() if x.startswith("error:")]
    assert "--set: inventory.forecast.history_days: Input should be greater than or equal to 7 (got 3)" in line
    assert not results.exists()


# ---------------------------------------------------------------- (e) reproducible, conserved
@pytest.mark.parametrize(
    "overrides",
    [
        ["inventory.forecast.method=moving_average", "inventory.forecast.history_days=14"],
        ["inventory.forecast.method=exponential_smoothing", RAMP],
        ["inventory.forecast.method=seasonal", "inventory.unmet_demand=lost_sales", "warmup_days=0"],
        [  # continuous (s, Q) with EOQ: a refit orders at once where the position is below the new s
            "inventory.policy={type: sQ, review: continuous, order_quantity: eoq}",
            "inventory.forecast.history_days=21",
            "inventory.forecast.refit_every_days=3",
            "warmup_days=0",
        ],
    ],
)
def test_forecast_runs_are_reproducible_and_conserve_units(shop, overrides):
    scenario = load_scenario(shop, overrides)
    a, b = simulate(scenario, seed=9), simulate(scenario, seed=9)
    assert_same_kpis(a.kpis, b.kpis)
    assert a.daily.equals(b.daily)
    check_identities(scenario, a)
    assert 0 < a.kpis["forecast_mape"] < 2 and abs(a.kpis["forecast_bias"]) < 0.5


# ---------------------------------------------------------------- the report's section
def test_report_shows_forecast_error_only_with_a_forecast_and_a_true_rate_variant(tmp_path):
    from experiments.report import write_report
    from experiments.stats import paired_differences, summarize

    rng = np.random.default_rng(4)
    rows = []
    for v, has in (("true_rate", False), ("moving_average", True)):
        for r in range(5):
            row = {
                "variant": v,
                "replication": r,
                "status": "ok",
                "unit_fill_rate": 0.95 - 0.02 * has + rng.normal(0, 1e-3),
            }
            if has:
                row |= {"forecast_mape": 0.3, "forecast_bias": -0.05, "forecast_mape_a": 0.2, "forecast_bias_a": -0.04}
            rows.append(row)
    runs = pd.DataFrame(rows)
    summary = summarize(runs, ["unit_fill_rate"])
    paired = paired_differences(runs, ["unit_fill_rate"], "true_rate")
    md, _ = write_report(tmp_path / "with", "t", [], summary, paired, [], runs=runs, baseline="true_rate")
    text = md.read_text(encoding="utf-8")
    section = text[text.index("## Forecast error") :]
    assert "| moving_average | A     | 20.0%" in section and "| moving_average | all   | 30.0%" in section
    assert "| moving_average | true_rate | -2.0 ±" in section and "| yes " in section
    assert "| C " not in section  # no class-C pairs: no row
    only_fc = runs[runs["variant"] == "moving_average"]
    md, _ = write_report(tmp_path / "without", "t", [], summarize(only_fc, ["unit_fill_rate"]), None, [], runs=only_fc)
    assert "Forecast error" not in md.read_text(encoding="utf-8")
