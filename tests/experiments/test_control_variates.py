"""Control variates: unbiased, their intervals hold their level, and they remove the variance theory says.

The estimator is the regression one (intercept of Y on centred controls). On a synthetic output
Y = a + b C + e with corr(Y, C) = rho, theory says it removes about rho^2 of the variance and its
t interval with n - q - 1 degrees of freedom covers a at the nominal rate. On the simulator the
demand control (orders placed minus their known expected number) must recover the expected
orders exactly when the KPI is the order count itself, and shrink the interval of total cost.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from exp_helpers import read_csv, run_cli, write_spec
from scipy import stats

from experiments.api import run_experiment
from experiments.control_variates import cv_estimate, cv_summary
from sim.scenario.errors import InputError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_the_regression_estimator_covers_the_true_mean_and_removes_rho_squared_of_the_variance():
    rho, n, macro, a = 0.8, 30, 400, 5.0
    rng = np.random.default_rng(19)
    covered, reduction = 0, []
    for _ in range(macro):
        c = rng.normal(size=n)
        y = a + rho * c + np.sqrt(1 - rho**2) * rng.normal(size=n)
        est = cv_estimate(y, c[:, None])
        covered += abs(est.mean - a) <= est.half_width
        reduction.append(est.variance_reduction)
    low, high = stats.binomtest(covered, macro).proportion_ci(0.95)
    assert low <= 0.95 <= high and low > 0.90  # nominal coverage; a 90% interval is excluded
    assert np.mean(reduction) == pytest.approx(rho**2, abs=0.05)  # 0.64, not 0.5 or 0.8


def test_an_uncorrelated_control_costs_a_little_precision_and_says_so():
    rng = np.random.default_rng(3)
    y, c = rng.normal(size=12), rng.normal(size=(12, 1))
    est = cv_estimate(y, c)
    assert est.variance_reduction < 0.3 and est.n == 12
    with pytest.raises(ValueError, match="at least 4 replications"):
        cv_estimate(y[:3], c[:3])


def test_the_demand_control_recovers_the_expected_orders_and_narrows_total_cost(tmp_path):
    spec = write_spec(
        tmp_path,
        "cv",
        replications=20,
        metrics=["orders", "total_cost", "unit_fill_rate"],
        control_variates=["demand"],
    )
    res = run_experiment(spec, results=tmp_path / "r")
    cv = res.control_variates.set_index(["variant", "metric"])
    expected = res.runs.groupby("variant")["expected_orders"].first()
    assert res.runs.groupby("variant")["expected_orders"].nunique().eq(1).all()  # a known constant
    for variant, known in expected.items():
        row = cv.loc[(variant, "orders")]
        assert row["cv_mean"] == pytest.approx(known, rel=1e-9)  # Y = C + E[orders]: no error left
        assert row["cv_half_width"] < 1e-6 * known and row["mean"] != pytest.approx(known, rel=1e-6)
        cost = cv.loc[(variant, "total_cost")]
        assert cost["variance_reduction"] > 0.3 and cost["cv_half_width"] < cost["half_width"]
    # written where a researcher looks: the table, the manifest and the report
    table = read_csv(res.folder / "control_variates.csv")
    assert set(table["metric"]) == {"orders", "total_cost", "unit_fill_rate"}
    manifest = json.loads((res.folder / "manifest.json").read_text())
    assert manifest["control_variates"]["r3/total_cost"]["controls"] == "demand"
    assert "## Control variates" in (res.folder / "report.md").read_text()


def test_a_control_that_never_varies_is_left_out():
    import pandas as pd

    runs = pd.DataFrame(
        {
            "variant": ["a"] * 6,
            "status": ["ok"] * 6,
            "orders": [10.0, 12, 9, 11, 13, 8],
            "expected_orders": [10.0] * 6,
            "lead_time_deviation_days": [0.0] * 6,  # constant lead times
            "total_cost": [100.0, 118, 92, 109, 121, 85],
        }
    )
    table = cv_summary(runs, ["total_cost"], ["demand", "lead_time"])
    assert table["controls"].tolist() == ["demand"]


def test_control_variates_need_replications_enough_to_fit(tmp_path):
    spec = write_spec(tmp_path, "few", replications=3, control_variates=["demand"])
    with pytest.raises(InputError) as err:
        run_experiment(spec, results=tmp_path / "r")
    assert "control_variates: need at least 4 replications" in str(err.value) and f"{spec}:" in str(err.value)
    assert not (tmp_path / "r").exists()


def test_an_unknown_control_is_one_line_naming_the_known_ones(tmp_path, capsys):
    spec = write_spec(tmp_path, "bad", control_variates=["demnd"])
    assert run_cli(spec, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "control_variates" in err and "demand" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists() or not any(latest_or_none(tmp_path / "out"))


def latest_or_none(out):
    """The run folders under ``out`` (none when the spec was refused)."""
    return [p for p in out.iterdir() if p.is_dir() and p.name != "cache"]


def test_the_lead_time_control_has_mean_zero_and_explains_backorders(tmp_path):
    random_lead = {"suppliers[0].lead_time_days": {"dist": "gamma", "mean": 3, "cv": 0.5}}
    spec = write_spec(
        tmp_path,
        "lt",
        set={"horizon_days": 400, **random_lead},
        variants=[{"name": "r3"}],
        replications=24,
        metrics=["avg_backorder_units", "unit_fill_rate"],
        control_variates=["demand", "lead_time"],
    )
    res = run_experiment(spec, results=tmp_path / "r")
    dev = res.runs["lead_time_deviation_days"]
    half = stats.t.ppf(0.975, len(dev) - 1) * dev.std(ddof=1) / np.sqrt(len(dev))
    assert abs(dev.mean()) <= half  # mean 0: each lead time is drawn independently of the decision to order
    per_order = dev.sum() / res.runs["replenishment_orders"].sum()
    assert abs(per_order) < 0.1  # a mean taken as 3.3 (not 3) would be excluded
    cv = res.control_variates.set_index("metric")
    assert cv.loc["avg_backorder_units", "controls"] == "demand, lead_time"
    assert cv.loc["avg_backorder_units", "variance_reduction"] > 0.3  # long lead times are what backorders are
