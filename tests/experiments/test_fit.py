"""``run.py fit``: a known scenario's simulated order lines are fitted back to its parameters, within
the intervals the fit reports; messy exports are cleaned by stated rules; bad input is refused in one
line per problem with nothing written; the backtest tells a right model from a wrong one."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from experiments.fit import fit_history, write_scenario
from experiments.fit.backtest import backtest
from experiments.fit.mapping import FitMapping
from sim.model.order_lines import order_lines
from sim.model.shop import simulate
from sim.scenario.errors import InputError
from sim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
TRUTH = ROOT / "tests" / "data" / "fit_truth.yaml"
EXAMPLE = ROOT / "docs" / "examples"


def _gm(x) -> float:
    return float(np.exp(np.mean(np.log(np.asarray(x, dtype=float)))))


def _export(scenario, seed: int, path: Path) -> Path:
    """The simulated year's order lines (``sim.model.order_lines``, with line numbers) as a Parquet export."""
    lines = order_lines(simulate(scenario, seed=seed, record_orders=True), scenario)
    lines = lines.rename(columns={"placed_at": "timestamp"})
    lines.to_parquet(path)
    return path


def _checks(fit, truth) -> list[tuple[str, float, object]]:
    """(name, true value, Estimate) for every generating parameter, the truth normalized as the fit writes it."""
    d, p = truth.demand, fit.parts
    wd, mo = np.array(d.weekday_factors), np.array(d.monthly_factors)
    out = [("base", d.base_orders_per_day * _gm(wd) * _gm(mo), p.demand.base)]
    out += [(f"weekday[{i}]", wd[i] / _gm(wd), e) for i, e in enumerate(p.demand.weekday)]
    out += [(f"month[{i}]", mo[i] / _gm(mo), e) for i, e in enumerate(p.demand.monthly)]
    (promo,) = d.promotions
    (ev,) = p.demand.promotions
    out += [("uplift", promo.uplift, ev.uplift), ("pre_factor", promo.pre_factor, ev.pre_factor)]
    out += [("post_factor", promo.post_factor, ev.post_factor)]
    out += [("pareto_alpha", truth.catalog.generate.pareto_alpha, p.pareto.alpha)]
    out += [("lines mean", d.lines_per_order.mean, p.lines.mean), ("units mean", d.units_per_line.mean, p.units.mean)]
    out += [("units dispersion", d.units_per_line.dispersion, p.units.dispersion)]
    shares = dict((name, e) for name, e in p.regions)
    out += [(f"share {r.name}", r.share, shares[r.name]) for r in d.regions]
    return out


# The two statistical checks run untraced (slow, see tests/conftest.py): the tracer made them 2x slower
# (20 s of CPU) and the other tests of this file cover the same lines of experiments/ (checked with --cov).
@pytest.mark.slow
def test_round_trip_recovers_the_generating_parameters_within_the_reported_intervals(tmp_path):
    """Three simulated years of tests/data/fit_truth.yaml, each fitted from its order-line table.

    30 parameters x 3 years = 90 intervals at 95%: the number covering the truth is Binomial(90, 0.95)
    if the intervals are right (mean 85.5, sd 2.1); we require >= 77 (P(fail) < 1e-4), every estimate
    within 4 SE, and the event's windows and distributions found exactly. An interval that were 1 SE off
    (bias) would cover ~83% (75 of 90) and fail. Each base-rate interval also excludes the truth moved by 3%.
    """
    truth = load_scenario(TRUTH)
    covered, total = 0, 0
    for seed in (1, 2, 3):
        fit = fit_history(_export(truth, seed, tmp_path / f"lines{seed}.parquet"))
        (ev,) = fit.parts.demand.promotions
        assert (ev.name, ev.days, ev.pre_days, ev.post_days, ev.recurring) == ("double11", 2, 6, 4, "11-11")
        assert fit.parts.lines.dist["dist"] == "poisson" and fit.parts.units.dist["dist"] == "negative_binomial"
        assert abs(fit.parts.skus.discounts["double11"] - 0.15) < 0.005
        for name, true, est in _checks(fit, truth):
            total += 1
            covered += est.low <= true <= est.high
            assert abs(est.value - true) <= 4 * est.se, (seed, name, true, est)
        base = fit.parts.demand.base
        true_base = _checks(fit, truth)[0][1]
        assert not (base.low <= true_base * 1.03 <= base.high) and not (base.low <= true_base * 0.97 <= base.high)
    assert total == 90 and covered >= 77, f"{covered} of {total} intervals cover the truth"


def test_the_written_scenario_loads_and_simulates_the_fitted_rate(tmp_path):
    truth = load_scenario(TRUTH)
    fit = fit_history(_export(truth, 4, tmp_path / "lines.parquet"))
    scenario, text = write_scenario(fit, tmp_path / "fitted.yaml", "fitted", "run.py fit lines.parquet")
    assert (tmp_path / "fitted.yaml").read_text() == text
    assert "# Mon: ± " in text and "days (ordinary days)" in text and "lines, " in text
    assert scenario.horizon_days == 365 and len(scenario.catalog.skus) == len(fit.parts.skus.table)
    assert abs(sum(r.share for r in scenario.demand.regions) - 1) < 1e-9
    # the fitted scenario's own expected orders match the history's total within 1%
    from sim.model.demand import demand_plan

    expected = demand_plan(scenario).rate.sum()
    assert abs(expected / len(fit.history.orders) - 1) < 0.01


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> tuple[Path, dict]:
    """150 days of the dirty example export and its truth."""
    return _example(tmp_path_factory.mktemp("example"))


def _example(tmp_path: Path, *extra: str) -> tuple[Path, dict]:
    out = tmp_path / "history.csv"
    cmd = [sys.executable, str(EXAMPLE / "make_order_history.py"), "--out", str(out), "--days", "150", *extra]
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    return out, json.loads(Path(f"{out}.truth.json").read_text())


def test_the_dirty_example_gives_one_line_per_problem_kind_with_counts_and_still_fits(example):
    path, truth = example
    mapping = FitMapping.model_validate(
        __import__("yaml").safe_load((EXAMPLE / "order_history.mapping.yaml").read_text())
    )
    fit = fit_history(path, mapping)
    notes = {n.kind: n for n in fit.history.notes}
    dirt = truth["dirt"]
    by_kind = {
        "repeat an earlier line exactly (an export duplicate)": dirt["duplicated_rows"],
        "have no quantity": dirt["missing_qty"],
        "have a missing or malformed timestamp": dirt["bad_timestamp"],
        "differ from their SKU's main spelling only in case or spaces": dirt["sku_lower"] + dirt["sku_trailing_space"],
    }
    for kind, count in by_kind.items():
        assert notes[kind].count == count, kind
    bad_qty = notes["have a quantity that is not a number"].count + notes["have a quantity of zero or less"].count
    assert bad_qty == dirt["bad_qty"]
    assert notes["have no valid unit price"].count == dirt["bad_price"]
    # a line is counted under the first rule that drops it: a few UTC lines also lost their quantity
    assert 0 <= dirt["utc_timestamps"] - notes["carry another UTC offset"].count <= 0.01 * dirt["utc_timestamps"]
    gaps = fit.history.days.loc[fit.history.days["gap"], "date"].dt.strftime("%Y-%m-%d").tolist()
    assert gaps == truth["gap_days"]
    lines = fit.history.summary()
    assert all(line.startswith(str(path)) for line in lines)
    assert all(":" in line.split(" ", 1)[0] for line in lines[:-2]), "each kind names its first file line"
    # the clean rows still fit: the base rate is the truth's within 3%
    wd, mo = truth["weekday_factors"], truth["monthly_factors"]
    months = sorted(set(fit.history.days["date"].dt.month - 1))
    true_base = truth["base_orders_per_day"] * _gm(wd) * _gm([mo[m] for m in months])
    assert abs(fit.parts.demand.base.value / true_base - 1) < 0.03


def _run(*args: str) -> SimpleNamespace:
    """``run.py fit ARGS`` in this process (the handler is covered): exit code, stdout and stderr."""
    import run

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = run.main(["fit", *args])
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def test_bad_input_is_one_line_per_problem_exit_2_and_nothing_written(tmp_path):
    out = tmp_path / "fitted.yaml"
    r = _run(str(tmp_path / "missing.csv"), "--out", str(out))
    assert r.returncode == 2 and "missing.csv: no such file" in r.stderr and "Traceback" not in r.stderr
    table = tmp_path / "orders.csv"
    pd.DataFrame({"order_id": [1], "timestamp": ["2025-01-01"], "sku": ["A"], "qty": [1], "unit_price": [2.0]}).to_csv(
        table, index=False
    )
    r = _run(str(table), "--out", str(out))
    assert r.returncode == 2 and "orders.csv:1: column 'quantity' not found" in r.stderr
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  quantity: qty\n  colour: Colour\ntimezone: Mars/Base\n")
    r = _run(str(table), "--out", str(out), "--mapping", str(mapping))
    err = r.stderr.splitlines()
    assert r.returncode == 2 and any("map.yaml:3: columns.colour" in e for e in err)
    assert any("map.yaml:4: timezone" in e for e in err)
    r = _run(str(table), "--out", str(out), "--map", "quantity=qty")
    assert r.returncode == 2 and "1 days of history; the fit needs at least 28" in r.stderr
    r = _run(str(table), "--out", str(tmp_path / "fitted.txt"), "--map", "quantity=qty")
    assert r.returncode == 2 and "must be a .yaml file" in r.stderr
    r = _run(str(table), "--out", str(out), "--map", "qty")
    assert r.returncode == 2 and "expected FIELD=COLUMN" in r.stderr
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["map.yaml", "orders.csv"]


def test_a_history_that_is_mostly_unusable_is_refused_naming_its_problems(tmp_path):
    days = pd.date_range("2025-01-01", periods=60).strftime("%Y-%m-%dT10:00:00")
    table = tmp_path / "orders.csv"
    frame = pd.DataFrame({"order_id": range(60), "timestamp": days, "sku": "A", "quantity": "two", "unit_price": 1.0})
    frame.to_csv(table, index=False)
    r = _run(str(table), "--out", str(tmp_path / "f.yaml"))
    assert r.returncode == 2
    assert "only 0 of 60 lines are usable" in r.stderr or "no usable order lines" in r.stderr
    assert "60 lines have a quantity that is not a number" in r.stderr and not (tmp_path / "f.yaml").exists()


@pytest.mark.slow
def test_backtest_passes_the_right_model_and_flags_a_wrong_weekday_pattern(tmp_path):
    truth = load_scenario(TRUTH)
    fit = fit_history(_export(truth, 5, tmp_path / "lines.parquet"))
    right, _ = write_scenario(fit, tmp_path / "fitted.yaml", "fitted", "x")
    bt = backtest(fit.history, right, 19, seed=3)
    p = dict(zip(bt.table["comparison"], bt.table["Monte Carlo p"]))
    assert min(p.values()) > 0.05, p
    flat = right.model_copy(update={"demand": right.demand.model_copy(update={"weekday_factors": [1.0] * 7})})
    wrong = backtest(fit.history, flat, 19, seed=3)
    q = dict(zip(wrong.table["comparison"], wrong.table["Monte Carlo p"]))
    assert q["weekday profile"] == pytest.approx(1 / 20) and q["daily orders"] == pytest.approx(1 / 20)


def test_a_csv_can_carry_its_own_mapping_in_a_commented_yaml_header(tmp_path):
    rng = np.random.default_rng(0)
    days = pd.date_range("2025-03-01", periods=40)
    rows = [(f"O{d}-{i}", f"{day:%Y-%m-%d}T12:{i % 60:02d}:00+08:00", f"S{rng.integers(5)}", 1, 9.5)
            for d, day in enumerate(days) for i in range(int(rng.poisson(30)))]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["Order", "Created", "Sku", "Qty", "Price"]).astype({"Qty": str})
    frame.loc[10, "Qty"] = ""
    header = "# columns: {order_id: Order, timestamp: Created, sku: Sku, quantity: Qty, unit_price: Price}\n"
    path = tmp_path / "orders.csv"
    path.write_text(header + "# timezone: '+08:00'\n" + frame.to_csv(index=False))
    r = _run(str(path), "--out", str(tmp_path / "f.yaml"))
    assert r.returncode == 0, r.stderr
    # data row 10 is file line 10 + 2 header comment lines + the column line + 1
    assert f"{path}:14: column 'Qty' (quantity): 1 line has no quantity: dropped (lines 14)" in r.stdout
    path.write_text("# columns: {colour: Colour}\n" + frame.to_csv(index=False))
    r = _run(str(path), "--out", str(tmp_path / "g.yaml"))
    assert r.returncode == 2 and f"{path}:1: columns.colour: unknown key" in r.stderr


def test_fit_with_a_base_and_a_backtest_writes_the_scenario_and_the_report(example, tmp_path):
    path, _ = example
    mapping = str(EXAMPLE / "order_history.mapping.yaml")
    out = tmp_path / "shop.yaml"
    r = _run(str(path), "--mapping", mapping, "--base", str(EXAMPLE / "shop.yaml"), "--out", str(out),
             "--check", "4", "--results", str(tmp_path / "results"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    fitted, base = load_scenario(out), load_scenario(EXAMPLE / "shop.yaml")
    assert [w.name for w in fitted.warehouses] == [w.name for w in base.warehouses]
    assert fitted.warehouses[0].picking == base.warehouses[0].picking and fitted.inventory == base.inventory
    lanes = {(c.name, lane.warehouse, lane.region) for c in fitted.carriers for lane in c.lanes}
    assert lanes and all(lane.transit_days.dist == "empirical" for c in fitted.carriers for lane in c.lanes)
    assert {c.name: c.base_cost for c in fitted.carriers} == {c.name: c.base_cost for c in base.carriers}
    (page,) = (tmp_path / "results").glob("shop/*-fit/report.html")
    text = page.read_text()
    assert "Goodness of fit" in text and text.count("data:image/png;base64") == 3
    assert "backtest report:" in r.stdout and "daily orders" in r.stdout
    # without a base: warehouses and carriers from the columns, prices marked as not in the history
    r = _run(str(path), "--mapping", mapping, "--out", str(tmp_path / "alone.yaml"))
    alone = (tmp_path / "alone.yaml").read_text()
    assert r.returncode == 0 and "base_cost: 0.0  # not in the history: set it" in alone
    assert {w.name for w in load_scenario(tmp_path / "alone.yaml").warehouses} == {"east_dc", "south_dc"}


def test_a_calendar_names_the_events_and_a_bad_one_is_refused_at_its_line(example, tmp_path):
    path, _ = example
    mapping = str(EXAMPLE / "order_history.mapping.yaml")
    cal = tmp_path / "cal.yaml"
    cal.write_text("calendar:\n  - {name: spring_sale, date: 2025-04-20, days: 2}\n")
    r = _run(str(path), "--mapping", mapping, "--calendar", str(cal), "--out", str(tmp_path / "c.yaml"))
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "c.yaml").read_text()
    assert "- name: spring_sale  # from the calendar" in text and "double11" not in text
    cal.write_text("- {name: spring_sale, date: 2025-04-20, days: 0}\n")
    r = _run(str(path), "--mapping", mapping, "--calendar", str(cal), "--out", str(tmp_path / "d.yaml"))
    assert r.returncode == 2 and f"{cal}:1: [0].days" in r.stderr and not (tmp_path / "d.yaml").exists()


def test_the_mapping_knows_every_field_and_only_those():
    from experiments.fit.mapping import FIELDS, Columns, parse_map_args

    assert set(Columns.model_fields) == set(FIELDS)
    assert FitMapping().overlaid(FitMapping.model_validate({"columns": {"sku": "Item"}})).column("sku") == "Item"
    with pytest.raises(InputError, match="unknown field"):
        parse_map_args(["colour=Colour"])
