"""``--verify`` runs on fresh streams: its seeds never coincide with a pilot's, a simulation's or a search's."""

from __future__ import annotations

import itertools

import pytest

import experiments.verify as V
import optimize.logistics as L
import run
from sim.model.streams import Streams, replication_seed, verify_seed

MULTI = "scenarios/multi_warehouse.yaml"


def test_verify_seeds_are_disjoint_from_every_replication_seed_family():
    """Structurally: verification seeds lie in [2**32, 2**33), replication seeds below 2**32, for any master."""
    masters = [0, 1, 2, 3, 7, 42, 2026, 2**31, 2**32 + 5, 2**63 - 1]
    pilot = {replication_seed(m, r) for m in masters for r in range(300)} | set(masters)
    fresh = {verify_seed(m, r) for m in masters for r in range(300)}
    assert len(fresh) == len(masters) * 300  # no two verification replications share a seed
    assert not fresh & pilot
    assert min(fresh) >= 2**32 > max(replication_seed(m, r) for m in masters for r in range(300))
    # the master seed itself (the logistics pilot simulates it) is never a verification seed
    assert all(verify_seed(m, r) != m for m in range(2**32, 2**32 + 50) for r in range(3))


def test_verify_streams_differ_from_the_replication_streams():
    """Independent streams, not just different numbers: the first demand draws of the two families differ."""
    for m, r in itertools.product([1, 42], range(3)):
        a, b = Streams(replication_seed(m, r)), Streams(verify_seed(m, r))
        assert float(a.demand.random()) != float(b.demand.random())


def test_logistics_verify_never_reuses_the_pilot_seeds_and_says_so(monkeypatch, capsys):
    """The optimizer's pilot run and the verification runs, as the command runs them."""
    pilot_seeds: list[int] = []
    verify_seeds: list[int] = []
    real_sim, real_run = L.simulate, V.run_outputs

    def pilot(scenario, seed, *a, **k):
        pilot_seeds.append(int(seed))
        return real_sim(scenario, seed, *a, **k)

    def outputs(tasks, *a, **k):
        verify_seeds.extend(t.seed for t in tasks)
        return real_run(tasks, *a, **k)

    monkeypatch.setattr(L, "simulate", pilot)
    monkeypatch.setattr(V, "run_outputs", outputs)
    args = ["optimize", "logistics", MULTI, "--set", "horizon_days=40", "--on-time-target", "0.9"]
    rc = run.main([*args, "--scope", "overall", "--verify", "3", "--seed", "5", "--quiet"])
    text = capsys.readouterr().out
    assert rc == 0
    assert pilot_seeds and len(set(verify_seeds)) == 3
    assert not set(verify_seeds) & set(pilot_seeds)
    assert not set(verify_seeds) & {replication_seed(5, r) for r in range(100)}  # nor `simulate` replications
    assert "verification: 3 replications on fresh streams, independent of the pilot" in text


@pytest.mark.parametrize("master", [0, 5, 2**40])
def test_verify_tasks_use_the_verification_family(master):
    assert V.verify_tasks([], 3, master) == []
    tasks = V.verify_tasks([_point()], 3, master)
    assert [t.seed for t in tasks] == [verify_seed(master, r) for r in range(3)]


def _point():
    from experiments.spec import Point
    from sim.scenario.loader import load_scenario

    sc = load_scenario("scenarios/classroom_sq.yaml", ["horizon_days=100"])
    return Point("p", sc, {}, "h")
