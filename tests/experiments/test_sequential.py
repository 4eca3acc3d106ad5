"""Experiments that decide their own replications: ``stop_when`` and ``select`` in a spec.

What a researcher relies on: sequential batches stop exactly when every CI target is met (and
not a round earlier), the variants keep the same replications (so pairing holds) and the result
is the plain experiment of that size; a selection run picks the variant that is best by a wide
margin, writes what it chose with its guarantee, resumes from the cache, and bad keys are one
line each at their line.
"""

from __future__ import annotations

import json

import pytest
from exp_helpers import latest, read_csv, run_cli, write_spec

from experiments.api import run_experiment
from sim.scenario.errors import InputError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_stop_when_adds_batches_until_every_target_is_met_and_no_longer(tmp_path):
    rule = {"relative_half_width": {"total_cost": 0.03}, "max_replications": 60, "batch": 4}
    spec = write_spec(tmp_path, "seq", replications=4, stop_when=rule)
    res = run_experiment(spec, results=tmp_path / "r")
    n = res.stopping.replications
    assert res.stopping.met and 4 < n < 60
    counts = res.runs.groupby("variant").size()
    assert set(counts) == {n}  # the same replications on every variant
    assert res.runs.groupby("variant")["seed"].apply(tuple).nunique() == 1  # with the same seeds (pairing)
    cost = res.summary[res.summary["metric"] == "total_cost"]
    assert (cost["half_width"] <= 0.03 * cost["mean"].abs()).all()
    rounds = json.loads((res.folder / "manifest.json").read_text())["stopping"]["rounds"]
    assert [r["replications"] for r in rounds] == list(range(4, n + 1, 4))
    assert rounds[-1]["targets_not_met"] == "" and all(r["targets_not_met"] for r in rounds[:-1])
    # the same numbers as a plain experiment of n replications
    plain = run_experiment(write_spec(tmp_path / "p", "plain", replications=n), results=tmp_path / "p")
    assert plain.summary["mean"].tolist() == res.summary["mean"].tolist()
    assert (res.folder / "stopping.csv").is_file()


def test_stop_when_at_its_cap_says_the_targets_were_not_met(tmp_path, capsys):
    rule = {"half_width": {"total_cost": 1e-6}, "max_replications": 8, "batch": 4}
    spec = write_spec(tmp_path, "cap", replications=4, stop_when=rule)
    assert run_cli(spec, tmp_path / "out", "--quiet") == 0
    out = capsys.readouterr().out
    assert "stopped at max_replications = 8" in out and "total_cost" in out
    runs = read_csv(latest(tmp_path / "out") / "runs.csv")
    assert set(runs.groupby("variant").size()) == {8}
    stopping = read_csv(latest(tmp_path / "out") / "stopping.csv")
    assert not stopping["met"].any()


def _select_spec(tmp_path, procedure="kn", **select):
    # total cost falls steeply with the order quantity here (ordering dominates): q20 ~ 380, q10 ~ 730,
    # q5 ~ 1440 a year, sds 20-80, so with delta = 50 the best is certain and Rinott needs ~10 replications
    variants = [
        {"name": "q5"},
        {"name": "q20", "set": {"inventory.policy.order_quantity": 20}},
        {"name": "q10", "set": {"inventory.policy.order_quantity": 10}},
    ]
    rule = {"metric": "total_cost", "goal": "min", "procedure": procedure, "indifference": 50.0, **select}
    return write_spec(tmp_path, f"sel_{procedure}", variants=variants, replications=5, select=rule)


@pytest.mark.parametrize("procedure", ["kn", "rinott", "ocba"])
def test_selection_picks_the_variant_best_by_a_wide_margin_and_reports_it(tmp_path, procedure, capsys):
    spec = _select_spec(tmp_path, procedure)
    assert run_cli(spec, tmp_path / "out", "--quiet") == 0
    out = capsys.readouterr().out
    folder = latest(tmp_path / "out")
    assert "selected: q20" in out
    table = read_csv(folder / "selection.csv")
    assert table.loc[table["selected"], "variant"].tolist() == ["q20"]
    runs = read_csv(folder / "runs.csv")
    assert runs.groupby("variant").size().to_dict() == dict(zip(table["variant"], table["replications"]))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["selection"]["selected"] == "q20" and manifest["selection"]["procedure"] == procedure
    report = (folder / "report.md").read_text()
    assert f"## Selection of the best ({procedure.upper()})" in report and "MCB" in report
    # running again takes every replication from the cache and chooses the same
    res = run_experiment(spec, out=tmp_path / "out")
    assert res.selection.selected_name == "q20" and res.from_cache == len(runs)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"select": {"metric": "total_csot", "indifference": 1}}, "select.metric: unknown metric 'total_csot'"),
        (
            {"select": {"metric": "total_cost", "indifference": 1}, "stop_when": {"half_width": {"total_cost": 1}}},
            "stop_when: use select or stop_when, not both",
        ),
        ({"select": {"metric": "total_cost", "indifference": -1}}, "select.indifference"),
        (
            {"select": {"metric": "total_cost", "indifference": 1, "confidence": 0.4}},
            "select.confidence: must be above",
        ),
        ({"stop_when": {"half_width": {"fill": 0.1}}}, "stop_when.half_width.fill: unknown metric 'fill'"),
        ({"stop_when": {"max_replications": 10}}, "stop_when: name at least one target"),
    ],
)
def test_bad_sequential_keys_are_one_line_each_at_their_line(tmp_path, fields, expected):
    spec = write_spec(tmp_path, "bad", **fields)
    with pytest.raises(InputError) as err:
        run_experiment(spec, results=tmp_path / "r")
    text = str(err.value)
    assert expected in text and f"{spec}:" in text
    assert not (tmp_path / "r").exists()


def test_selection_needs_two_variants(tmp_path):
    spec = write_spec(tmp_path, "one", variants=[{"name": "only"}], select={"metric": "total_cost", "indifference": 1})
    with pytest.raises(InputError, match="selection needs at least two variants"):
        run_experiment(spec, results=tmp_path / "r")
