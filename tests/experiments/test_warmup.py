"""MSER-5 warm-up detection (White, Cobb & Spratt 2000) and ``warmup_days: auto``.

* on an AR(1) series with an exponential transient MSER-5 cuts where the bias has fallen below the
  noise, and on a stationary AR(1) series it cuts little;
* a trend (or a too short series) is reported as not settled, never as a warm-up;
* on a case started empty whose transient ends on a known day, the resolved warm-up is never
  shorter than that day and at most a stated margin longer;
* the simulator refuses an unresolved ``auto`` with one clear line; ``run.py simulate`` resolves it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_reference import run_here

from experiments.spec import Point
from experiments.warmup import WarmupUnresolved, choose_warmup, mser, resolve_warmup
from sim import InputError, load_scenario, simulate
from sim.scenario.loader import scenario_hash

EMPTY = Path(__file__).resolve().parent.parent / "data" / "empty_start.yaml"


def ar1(rng: np.random.Generator, n: int, phi: float = 0.5) -> np.ndarray:
    """A stationary AR(1) series x_t = phi x_{t-1} + e_t, e_t ~ N(0, 1) (marginal sd 1 / sqrt(1 - phi^2))."""
    e = rng.normal(0.0, 1.0, n)
    x = np.empty(n)
    x[0] = e[0] / np.sqrt(1 - phi**2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


def test_mser5_cuts_an_exponential_transient_where_its_bias_falls_below_the_noise():
    # y_t = 10 exp(-t/20) + AR(1): the bias is 2.2 (about 2 marginal sd) at t = 30 and 0.07 (the
    # standard error of the mean of the remaining ~900 days) at t = 100; MSER-5 must cut in between.
    t = np.arange(1000)
    cuts = [mser(10 * np.exp(-t / 20) + ar1(np.random.default_rng(seed), 1000)) for seed in range(40)]
    days = np.array([c.warmup_days for c in cuts])
    assert all(c.settled for c in cuts)
    assert 40 <= np.median(days) <= 70, days
    assert np.mean((days >= 30) & (days <= 100)) >= 0.9, days
    assert days.min() >= 25  # never keeps the steep start (bias > 2.8)


def test_mser5_cuts_little_from_a_stationary_series():
    days = np.array([mser(ar1(np.random.default_rng(100 + seed), 1000)).warmup_days for seed in range(40)])
    assert np.median(days) <= 5, days
    assert np.mean(days <= 30) >= 0.85, days


def test_a_trend_or_a_short_series_is_not_settled_and_the_statistic_is_mser():
    assert not mser(np.arange(300.0)).settled
    assert not mser(np.ones(20) + np.arange(20) % 2).settled  # 4 batches: too short to tell
    y = np.r_[np.full(10, 9.0), np.tile([1.0, 2.0, 3.0, 2.0, 2.0], 10)]
    r = mser(y)
    assert r.warmup_days == 10 and r.batches == 12 and len(r.statistic) == 7
    b = y.reshape(12, 5).mean(axis=1)
    assert r.statistic[1] == pytest.approx(((b[1:] - b[1:].mean()) ** 2).sum() / 11**2)


def test_choose_warmup_takes_the_slowest_series_and_skips_constant_ones():
    t = np.arange(200.0)
    fast = {"a": 5 * np.exp(-t / 3) + np.sin(t), "b": 5 * np.exp(-t / 15) + np.sin(t), "c": np.zeros(200)}
    c = choose_warmup([fast], ("a", "b", "c"))
    assert c.constant == ("c",) and c.warmup_days == c.results["b"].warmup_days > c.results["a"].warmup_days


def test_auto_warmup_on_a_case_started_empty_is_the_lead_time_or_a_little_more():
    # The transient ends on day 20 (tests/data/empty_start.yaml). Backorders show it sharply: MSER-5
    # on them cuts exactly 4 batches. Stock on hand afterwards fluctuates with the 20-day lead-time
    # demand (neighbouring days are correlated over 20 days), which can make MSER cut a few batches
    # more: the common warm-up lies in [20, 70] days, never below the true 20.
    sc = load_scenario(EMPTY)
    point = Point(sc.name, sc, {}, scenario_hash(sc))
    for seed in range(4):
        (resolved,), choice = resolve_warmup([point], seed, pilots=3, executor="serial", quiet=True)
        assert choice.results["backorder_units_end"].warmup_days == 20
        assert 20 <= choice.warmup_days <= 70 and resolved.scenario.warmup_days == choice.warmup_days
        assert choice.pilots == 3 and "backlog_end" in choice.constant


def test_auto_warmup_refuses_a_run_too_short_to_settle():
    sc = load_scenario(EMPTY, ["horizon_days=30"])  # the transient fills the first half
    with pytest.raises(WarmupUnresolved, match="too short"):
        resolve_warmup([Point(sc.name, sc, {}, scenario_hash(sc))], 1, pilots=2, executor="serial", quiet=True)


def test_the_simulator_refuses_an_unresolved_auto_with_one_clear_line():
    with pytest.raises(InputError) as exc:
        simulate(load_scenario(EMPTY), 1)
    assert len(exc.value.problems) == 1
    assert "warmup_days" in str(exc.value) and "run.py simulate" in str(exc.value)


def test_simulate_resolves_auto_and_says_so(tmp_path):
    res = run_here("simulate", str(EMPTY), "--results", str(tmp_path), "--quiet")
    assert res.returncode == 0, res.stderr
    line = next(x for x in res.stdout.splitlines() if x.startswith("warm-up: "))
    assert "MSER-5 on" in line and "over 5 pilot replications" in line
    days = int(line.split()[1])
    assert f"after {days} warm-up days" in res.stdout
    written = next(tmp_path.rglob("scenario.yaml")).read_text()
    assert f"warmup_days: {days}" in written


def test_an_experiment_resolves_auto_once_for_every_variant_and_reports_it(tmp_path):
    from exp_helpers import cache_files, latest, run_cli, write_spec

    spec = write_spec(
        tmp_path,
        "auto",
        base=str(EMPTY),
        set={},
        variants=[{"name": "r2300"}, {"name": "r2500", "set": {"inventory.policy.reorder_point": 2500}}],
        replications=2,
        metrics=["avg_on_hand_units", "unit_fill_rate"],
        executor={"type": "serial"},
    )
    out = tmp_path / "out"
    assert run_cli(spec, out, "--quiet") == 0
    folder = latest(out)
    info = json.loads((folder / "manifest.json").read_text())
    w = info["warmup"]
    assert w["method"] == "MSER-5" and w["pilot_replications"] == 5 and 20 <= w["days"] <= 70
    for name in ("r2300", "r2500"):  # one common warm-up: pairing across variants holds
        assert f"warmup_days: {w['days']}\n" in (folder / "variants" / f"{name}.yaml").read_text()
    assert f"Warm-up: {w['days']} days on every variant, detected by MSER-5" in (folder / "report.md").read_text()
    assert len(cache_files(out)) == 2 * 5 + 2 * 2  # the pilots are cached beside the replications
    assert run_cli(spec, out, "--quiet") == 0  # a second run finds every pilot and replication cached
    assert json.loads((latest(out) / "manifest.json").read_text())["warmup"] == w
