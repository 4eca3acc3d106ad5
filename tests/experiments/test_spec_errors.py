"""Bad experiment specs: one ``error: FILE:LINE: key.path: message`` line per problem, exit 2, nothing written.

The cases the issue lists run the real command line (``python run.py experiment SPEC --out
DIR``) in subprocesses started together; the rest call ``run.main`` in-process. The shipped
specs must all load.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from exp_helpers import CLASSROOM_SQ
from helpers import ROOT, run_cli

from experiments.runner import tasks_for
from experiments.spec import load_spec
from sim.scenario.errors import InputError

SQ = str(CLASSROOM_SQ)
HEAD = f"name: bad\nbase: {SQ}\nset: {{horizon_days: 60}}\n"

# case -> (spec text, [(marker on the reported line | None, key path | None, message parts)])
# The marker is a substring of the spec line the error must point at; "@base" means the line
# of the 'base:' key. Key path None: the problem is not about one key (YAML syntax, top level).
CASES = {
    "unknown_top_level_key": (
        HEAD + "replicatons: 3\n",
        [("replicatons: 3", "replicatons", ["unknown key", "did you mean 'replications'"])],
    ),
    "unknown_metric": (
        HEAD + "metrics: [unit_fill_rate, unit_fil_rate]\n",
        [("metrics:", "metrics[1]", ["unknown metric 'unit_fil_rate'", "did you mean 'unit_fill_rate'"])],
    ),
    "unknown_variant_override_key": (
        HEAD + "variants:\n"
        "  - name: a\n"
        "  - name: b\n"
        "    set:\n"
        "      inventory.policy.reorder_point: 4\n"
        "      inventory.policy.service_levl: 0.9\n",
        [
            (
                "service_levl: 0.9",
                "inventory.policy.service_levl",
                ["variant 'b'", "unknown key", "did you mean 'service_level'"],
            )
        ],
    ),
    "wrong_type_of_replications": (
        HEAD + "replications: many\n",
        [("replications: many", "replications", ["integer", "many"])],
    ),
    "replications_below_one": (
        HEAD + "replications: 0\n",
        [("replications: 0", "replications", ["greater than or equal to 1"])],
    ),
    "baseline_names_missing_variant": (
        HEAD + "variants: [{name: sQ_95}, {name: sQ_98, set: {inventory.policy.service_level: 0.98}}]\n"
        "baseline: sQ_99\n",
        [("baseline: sQ_99", "baseline", ["unknown variant 'sQ_99'", "did you mean"])],
    ),
    "missing_base_scenario": (
        "name: bad\nbase: no_such_folder/shop.yaml\n",
        [("base: no_such_folder", "base", ["no_such_folder/shop.yaml", "not found"])],
    ),
    "plot_metric_not_in_metrics": (
        HEAD + "metrics: [unit_fill_rate]\nplots:\n  - {type: bar, metric: total_cost}\n",
        [("type: bar", "plots[0].metric", ["'total_cost' is not in metrics"])],
    ),
    "yaml_syntax_error": (HEAD + "seed: 1: 2\nreplications: 3\n", [("seed: 1: 2", None, ["YAML syntax error"])]),
    "not_a_mapping": ("- name: bad\n- base: x.yaml\n", [("- name: bad", None, ["must be a mapping"])]),
    "bad_executor": (
        HEAD + "executor: {type: threads}\n",
        [("executor:", "executor.type", ["'serial', 'process' or 'dask'", "threads"])],
    ),
    "override_value_out_of_range_and_wrong_type": (
        HEAD + "variants:\n"
        "  - name: a\n"
        "    set: {inventory.policy.reorder_point: -2}\n"
        "  - name: b\n"
        "    set:\n"
        "      inventory.policy.order_quantity: lots\n",
        [
            ("reorder_point: -2", "inventory.policy.reorder_point", ["variant 'a'", "greater than or equal to 0"]),
            ("order_quantity: lots", "inventory.policy.order_quantity", ["variant 'b'", "lots"]),
        ],
    ),
    "override_path_below_a_number": (  # reported at the spec's line, not at the base scenario's
        HEAD + "variants:\n  - name: a\n    set:\n      inventory.policy.order_quantity.size: 2\n",
        [("order_quantity.size", "inventory.policy.order_quantity", ["variant 'a'"])],
    ),
    "override_list_index_out_of_range": (
        HEAD + "variants:\n  - name: a\n    set:\n      suppliers[3].lead_time_days: 2\n",
        [("suppliers[3]", "variants[0].set.suppliers[3].lead_time_days", ["out of range"])],
    ),
    "grid_key_typo_reported_once": (
        HEAD + "grid:\n  inventory.policy.reorder_pont: [1, 2, 3]\n  inventory.policy.order_quantity: [4, 6]\n",
        [("reorder_pont:", "inventory.policy.reorder_pont", ["unknown key", "did you mean 'reorder_point'"])],
    ),
    "sweep_plot_x_not_a_grid_key": (
        HEAD + "grid: {inventory.policy.reorder_point: [2, 3]}\nmetrics: [unit_fill_rate]\n"
        "plots:\n  - {type: sweep, metric: unit_fill_rate, x: inventory.policy.order_quantity}\n",
        [("type: sweep", "plots[0].x", ["is not a grid key"])],
    ),
    "several_problems_at_once": (
        HEAD + "variants: [{name: a}, {name: b, set: {inventory.policy.reorder_point: 4}}]\n"
        "metrics: [unit_fill_rate, profitt]\n"
        "baseline: c\n"
        "plots:\n  - {type: daily, metric: orders}\n",
        [
            ("metrics:", "metrics[1]", ["unknown metric 'profitt'", "did you mean 'profit'"]),
            ("baseline: c", "baseline", ["unknown variant 'c'"]),
            ("type: daily", "plots[0].metric", ["not in daily_metrics"]),
        ],
    ),
}


# The cases the issue names run as real subprocesses (all started together); the others run
# the same ``run.main`` in-process, which is much cheaper than an interpreter start-up each.
VIA_SUBPROCESS = [
    "unknown_top_level_key",
    "unknown_metric",
    "unknown_variant_override_key",
    "wrong_type_of_replications",
    "baseline_names_missing_variant",
    "missing_base_scenario",
    "plot_metric_not_in_metrics",
    "yaml_syntax_error",
]


def _line_of(text: str, marker: str) -> int:
    hits = [i for i, line in enumerate(text.splitlines(), 1) if marker in line]
    assert len(hits) == 1, f"test bug: marker {marker!r} must occur on exactly one line"
    return hits[0]


def _argv(spec: Path, out: Path) -> list[str]:
    return ["experiment", str(spec), "--out", str(out), "--executor", "serial"]


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory):
    """Run the subprocess cases through the real command line, all at once."""
    folder = tmp_path_factory.mktemp("bad_specs")
    procs = {}
    for case in VIA_SUBPROCESS:
        spec = folder / f"{case}.yaml"
        spec.write_text(CASES[case][0], encoding="utf-8")
        out = folder / f"out_{case}"
        procs[case] = (
            spec,
            out,
            subprocess.Popen(
                [sys.executable, "run.py", *_argv(spec, out)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
    results = {}
    for case, (spec, out, proc) in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        results[case] = {"spec": spec, "out": out, "code": proc.returncode, "stdout": stdout, "stderr": stderr}
    return results


def _in_process(case: str, folder: Path, capsys) -> dict:
    import run

    spec, out = folder / f"{case}.yaml", folder / "out"
    spec.write_text(CASES[case][0], encoding="utf-8")
    code = run.main(_argv(spec, out))
    captured = capsys.readouterr()
    return {"spec": spec, "out": out, "code": code, "stdout": captured.out, "stderr": captured.err}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_spec_gives_one_clear_line_per_problem_and_writes_nothing(case, request, tmp_path, capsys):
    if case in VIA_SUBPROCESS:
        res = request.getfixturevalue("cli_results")[case]
    else:
        res = _in_process(case, tmp_path, capsys)
    text, expected = CASES[case]
    spec, stderr = str(res["spec"]), res["stderr"]
    assert res["code"] == 2, stderr
    assert "Traceback" not in stderr and "Traceback" not in res["stdout"]
    assert not res["out"].exists(), "nothing may be written for an invalid spec"
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(expected), stderr
    n = len(expected)
    assert f"{n} problem{'s' if n != 1 else ''} found; nothing was written." in stderr
    for marker, key_path, parts in expected:
        prefix = f"error: {spec}:{_line_of(text, marker)}: "
        if key_path is not None:
            prefix += f"{key_path}: "
        hits = [line for line in errors if line.startswith(prefix)]
        assert len(hits) == 1, f"expected one line starting {prefix!r}; got:\n{stderr}"
        for part in parts:
            assert part in hits[0], f"{part!r} not in {hits[0]!r}"


def test_missing_spec_file(tmp_path):
    res = run_cli("experiment", tmp_path / "nope.yaml", "--out", tmp_path / "out", timeout=120)
    assert res.returncode == 2
    assert res.stderr.startswith(f"error: {tmp_path / 'nope.yaml'}: file not found")
    assert "Traceback" not in res.stderr and not (tmp_path / "out").exists()


def test_load_spec_collects_all_problems(tmp_path):
    """In-process: the InputError carries every problem, each with file, line and key path."""
    spec = tmp_path / "s.yaml"
    text, expected = CASES["several_problems_at_once"]
    spec.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_spec(spec)
    got = {(p.file, p.line, p.path) for p in info.value.problems}
    assert got == {(str(spec), _line_of(text, m), k) for m, k, _ in expected}


# --------------------------------------------------------------------------- shipped specs
SHIPPED = sorted((ROOT / "experiments").glob("*.yaml"))


def test_there_are_shipped_specs():
    assert any(p.name == "demo.yaml" for p in SHIPPED)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_spec_loads(path):
    spec, points = load_spec(path)
    assert points, "a spec must expand to at least one point"
    names = [p.name for p in points]
    assert len(set(names)) == len(names)
    assert len(tasks_for(points, spec.replications, spec.seed)) == len(points) * spec.replications
