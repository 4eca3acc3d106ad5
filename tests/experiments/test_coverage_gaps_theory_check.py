"""``run.py check-theory``'s queueing cases and its table, which the docs only run end to end.

The formulas are checked against hand-computed textbook values (not against sim.theory's own
output), and each row's verdict against its own interval.
"""

from __future__ import annotations

import pytest

from experiments.theory_check import CASES, LONG_CUSTOMERS, MU, SC, Row, format_rows, long_queue_overrides, run_cases
from sim.scenario.loader import load_scenario

MMC = "M/M/{} picking, Erlang C"
MD1 = "M/D/1 picking, Pollaczek-Khinchine"


def test_queue_cases_compare_the_simulated_waits_with_the_textbook_values():
    """M/M/1 at rho 0.8: P(wait) = 0.8, Wq = rho / (mu - lambda) = 20 min; M/D/1 at rho 0.7: Wq = 5.83 min."""
    rows = run_cases(["mmc", "md1"], replications=2)
    assert [(r.case, r.measure) for r in rows] == [
        (MMC.format(1), "P(wait)"),
        (MMC.format(1), "mean wait (minutes)"),
        (MMC.format(3), "P(wait)"),
        (MMC.format(3), "mean wait (minutes)"),
        (MD1, "mean wait (minutes)"),
    ]
    assert rows[0].formula == pytest.approx(0.8)
    assert rows[1].formula == pytest.approx(0.8 / (12 - 9.6) * 60)
    assert 0 < rows[2].formula < rows[0].formula  # three pickers at the same load wait less often
    assert rows[4].formula == pytest.approx(0.7 / (2 * 12 * (1 - 0.7)) * 60)
    for r in rows:
        assert r.rule == "99% CI"
        assert r.ci_low <= r.mean <= r.ci_high
        assert r.agrees == (r.ci_low <= r.formula <= r.ci_high)


def test_littles_law_holds_within_one_percent_on_the_simulated_warehouse():
    """L = lambda W on one replication of the queue classroom: a deterministic check, no interval."""
    (row,) = run_cases(["little"])
    assert (row.case, row.measure, row.rule) == ("Little's law (warehouse)", "L vs lambda x W", "within 1%")
    assert row.ci_low == row.mean == row.ci_high
    assert row.mean == pytest.approx(row.formula, rel=0.01) and row.agrees


def test_the_table_says_yes_or_no_and_shows_the_interval_or_the_tolerance():
    """A disagreeing row ends in NO; CI rows show [low, high], tolerance rows their rule."""
    rows = [
        Row("M/D/1 picking", "mean wait (minutes)", 5.833, 9.1, 8.0, 10.2, False, "99% CI"),
        Row("Little's law (warehouse)", "L vs lambda x W", 3.0, 3.01, 3.01, 3.01, True, "within 1%"),
    ]
    head, rule, bad, good = format_rows(rows).splitlines()
    assert head.split() == ["case", "measure", "formula", "simulated", "99%", "CI", "/", "tolerance", "agrees"]
    assert set(rule) == {"-"} and len(rule) == len(head)
    assert bad.endswith("NO") and "[8, 10.2]" in bad and "5.833" in bad
    assert good.endswith("yes") and "within 1%" in good


@pytest.mark.parametrize("replications", [30, 20, 7])
def test_exact_queue_cases_size_their_horizon_for_two_million_customers(replications):
    """mdc and mg1 fix the customers: n replications of (horizon - 1 warm-up day) hold >= 2.02e6 orders."""
    for pickers, pick in [(2, "300"), (1, "{dist: lognormal, mean: 300, cv: 0.5}")]:
        sc = load_scenario(SC / "classroom_queue.yaml", long_queue_overrides(pickers, pick, replications))
        p = sc.warehouses[0].picking
        rate = sc.demand.base_orders_per_day
        assert (p.pickers, sc.warmup_days) == (pickers, 1)
        assert rate == pytest.approx(0.8 * pickers * MU)  # rho = 0.8
        assert p.pick_time_seconds.mean == 300 and p.pick_time_seconds.std == pytest.approx(150 * (pickers == 1))
        expected = replications * (sc.horizon_days - sc.warmup_days) * rate
        assert LONG_CUSTOMERS <= expected < LONG_CUSTOMERS + replications * rate  # at most one day more each
    assert list(CASES)[-3:] == ["mdc", "mg1", "little"]
