"""Bad input: one readable line per problem, exit code 2, no traceback, nothing written.

Each case writes a small scenario with one mistake, marks the offending line
with ``# <-`` and runs the real command line in a subprocess, exactly as a user
would: ``python run.py validate FILE`` and ``python run.py simulate FILE``. The
error line must name the file, that line and the key path.

A property test then mutates valid scenarios at random key paths and checks that
loading never fails with anything but :class:`sim.scenario.yamlio.InputError`.
"""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import ROOT, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model.shop import simulate
from sim.scenario.errors import InputError
from sim.scenario.loader import load_scenario, load_source

LINE = re.compile(r"^error: (?P<file>[^:]+):(?P<line>\d+): (?:(?P<path>[\w.\[\]]+): )?(?P<message>.+)$")

VALID = """\
name: tiny
horizon_days: 60
catalog:
  skus:
    - {id: A, price: 10, unit_cost: 6}
    - {id: B, price: 20, unit_cost: 12}
demand:
  base_orders_per_day: 20
  regions:
    - {name: east, share: 0.6}
    - {name: west, share: 0.4}
warehouses:
  - name: main
    regions: [east, west]
suppliers:
  - name: acme
    lead_time_days: 3
inventory:
  policy:
    type: sQ
    reorder_point: 10
    order_quantity: 20
"""


def variant(old: str, new: str, base: str = VALID) -> str:
    assert old in base, old
    return base.replace(old, new, 1)


# name -> (scenario text with '# <-' on the offending line, key path, message fragments)
CASES = {
    "wrong type (string for an integer)": (
        variant("horizon_days: 60", "horizon_days: sixty   # <-"),
        "horizon_days",
        ["valid integer", "'sixty'"],
    ),
    "wrong type (string for a list)": (
        variant("    regions: [east, west]", "    regions: east   # <-"),
        "warehouses[0].regions",
        ["valid list"],
    ),
    "wrong type (mapping for a number)": (
        variant("  base_orders_per_day: 20", "  base_orders_per_day: {a: 1}   # <-"),
        "demand.base_orders_per_day",
        ["valid number"],
    ),
    "unknown top-level key": (
        variant("horizon_days: 60", "horizon_dayz: 60   # <-"),
        "horizon_dayz",
        ["unknown key", "did you mean 'horizon_days'"],
    ),
    "unknown nested key": (
        variant("    reorder_point: 10", "    reorder_piont: 10   # <-"),
        "inventory.policy.reorder_piont",
        ["unknown key", "did you mean 'reorder_point'"],
    ),
    "unknown key in a list item": (
        variant("    - {id: B, price: 20, unit_cost: 12}", "    - {id: B, price: 20, unit_cots: 12}   # <-"),
        "catalog.skus[1].unit_cots",
        ["unknown key", "did you mean 'unit_cost'"],
    ),
    "negative order quantity": (
        variant("    order_quantity: 20", "    order_quantity: -20   # <-"),
        "inventory.policy.order_quantity",
        ["greater than 0", "-20"],
    ),
    "negative unit cost": (
        variant("    - {id: A, price: 10, unit_cost: 6}", "    - {id: A, price: 10, unit_cost: -6}   # <-"),
        "catalog.skus[0].unit_cost",
        ["greater than or equal to 0"],
    ),
    "negative demand": (
        variant("  base_orders_per_day: 20", "  base_orders_per_day: -20   # <-"),
        "demand.base_orders_per_day",
        ["greater than or equal to 0"],
    ),
    "negative lead time": (
        variant("    lead_time_days: 3", "    lead_time_days: -3   # <-"),
        "suppliers[0].lead_time_days",
        ["negative"],
    ),
    "region share above 1": (
        variant("    - {name: east, share: 0.6}", "    - {name: east, share: 1.5}   # <-"),
        "demand.regions[0].share",
        ["less than or equal to 1", "1.5"],
    ),
    "service level above 1": (
        variant("    type: sQ", "    type: sQ\n    service_level: 1.2   # <-"),
        "inventory.policy.service_level",
        ["less than 1", "1.2"],
    ),
    "region shares not summing to 1": (
        variant("  regions:", "  regions:   # <-").replace("share: 0.4}", "share: 0.3}"),
        "demand.regions",
        ["sum to 1", "0.9"],
    ),
    "s >= S for an sS policy": (
        variant(
            "    type: sQ\n    reorder_point: 10\n    order_quantity: 20",
            "    type: sS\n    reorder_point: 30   # <-\n    order_up_to: 25",
        ),
        "inventory.policy.reorder_point",
        ["must be below S", "25"],
    ),
    "unknown distribution": (
        variant("    lead_time_days: 3", "    lead_time_days: {dist: lognormel, mean: 3, cv: 0.2}   # <-"),
        "suppliers[0].lead_time_days",
        ["unknown distribution 'lognormel'", "did you mean 'lognormal'"],
    ),
    "distribution parameter out of range": (
        variant("    lead_time_days: 3", "    lead_time_days: {dist: gamma, mean: 3, cv: -0.2}   # <-"),
        "suppliers[0].lead_time_days.cv",
        ["greater than 0"],
    ),
    "unknown region of a warehouse": (
        variant("    regions: [east, west]", "    regions: [east, wset]   # <-"),
        "warehouses[0].regions[1]",
        ["unknown region 'wset'", "did you mean 'west'"],
    ),
    "unknown policy type": (variant("    type: sQ", "    type: SQ   # <-"), "inventory.policy.type", ["'sQ'", "'SQ'"]),
    "required key missing": (
        variant("  base_orders_per_day: 20\n", "").replace("demand:", "demand:   # <-"),
        "demand.base_orders_per_day",
        ["required key is missing"],
    ),
    "not a finite number": (
        variant("  base_orders_per_day: 20", "  base_orders_per_day: .inf   # <-"),
        "demand.base_orders_per_day",
        ["finite number"],
    ),
    "a boolean where a number belongs": (
        variant("  base_orders_per_day: 20", "  base_orders_per_day: yes   # <-"),
        "demand.base_orders_per_day",
        ["expected a number, not true/false"],
    ),
    "a boolean as a distribution parameter": (
        variant("    lead_time_days: 3", "    lead_time_days: {dist: gamma, mean: true, cv: 0.2}   # <-"),
        "suppliers[0].lead_time_days",
        ["mean: expected a number, not true/false"],
    ),
    "missing extends file": (
        "extends: no_such_base.yaml   # <-\nname: child\n",
        "extends",
        ["no_such_base.yaml", "not found"],
    ),
    "YAML syntax error (bad indentation)": (
        variant("  base_orders_per_day: 20", "  base_orders_per_day: 20\n   arrivals: poisson   # <-"),
        None,
        ["YAML syntax error"],
    ),
    "YAML syntax error (tab)": (
        variant("  base_orders_per_day: 20", "\tbase_orders_per_day: 20   # <-"),
        None,
        ["YAML syntax error"],
    ),
}


def marked_line(text: str) -> int:
    lines = [i + 1 for i, line in enumerate(text.splitlines()) if "# <-" in line]
    assert len(lines) == 1
    return lines[0]


def problem_lines(stderr: str) -> list[re.Match]:
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    matches = [LINE.match(line) for line in lines]
    assert all(matches), stderr
    return matches


def assert_clean_failure(proc: subprocess.CompletedProcess) -> list[re.Match]:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Traceback" not in out
    assert proc.stdout == ""
    assert "nothing was written" in proc.stderr
    return problem_lines(proc.stderr)


@pytest.fixture(scope="module")
def case_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    return {name: _write(folder / f"case{i}.yaml", text) for i, (name, (text, _, _)) in enumerate(CASES.items())}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_valid_template_is_valid(tmp_path):
    """The cases below differ from this file in one place only."""
    assert load_scenario(_write(tmp_path / "ok.yaml", VALID)).name == "tiny"


@pytest.mark.parametrize("name", list(CASES))
def test_validate_reports_file_line_and_key_path(case_files, name):
    text, key_path, fragments = CASES[name]
    file = case_files[name]
    proc = run_cli("validate", str(file))
    matches = assert_clean_failure(proc)
    # every problem points at the one broken line (a misspelt key may also leave a required key missing)
    assert {(m["file"], int(m["line"])) for m in matches} == {(str(file), marked_line(text))}, proc.stderr
    (m,) = [m for m in matches if m["path"] == key_path] or [None]
    assert m is not None, proc.stderr
    for fragment in fragments:
        assert fragment in m["message"], m["message"]


@pytest.mark.parametrize("name", list(CASES))
def test_simulate_rejects_bad_input_and_writes_nothing(case_files, name, tmp_path):
    file = case_files[name]
    results = tmp_path / "results"
    results.mkdir()
    proc = run_cli("simulate", str(file), "--results", str(results))
    matches = assert_clean_failure(proc)
    assert int(matches[0]["line"]) == marked_line(CASES[name][0])
    assert list(results.iterdir()) == []
    assert list(tmp_path.iterdir()) == [results]


def test_every_problem_is_reported_one_line_each(tmp_path):
    text = (
        VALID.replace("horizon_days: 60", "horizon_days: -1")
        .replace("share: 0.6", "share: 1.6")
        .replace("order_quantity: 20", "order_quantity: 0")
        .replace("lead_time_days: 3", "lead_time_dayz: 3")
    )
    file = _write(tmp_path / "many.yaml", text)
    proc = run_cli("validate", str(file))
    matches = assert_clean_failure(proc)
    got = {(m["path"], int(m["line"])) for m in matches}
    lines = text.splitlines()

    def line_of(fragment):
        return next(i + 1 for i, line in enumerate(lines) if fragment in line)

    assert got == {
        ("horizon_days", line_of("horizon_days")),
        ("demand.regions[0].share", line_of("share: 1.6")),
        ("inventory.policy.order_quantity", line_of("order_quantity")),
        ("suppliers[0].lead_time_dayz", line_of("lead_time_dayz")),
    }
    assert "4 problems found" in proc.stderr


def test_a_problem_in_an_extended_file_names_that_file(tmp_path):
    base = _write(tmp_path / "base.yaml", variant("    order_quantity: 20", "    order_quantity: -20   # <-"))
    child = _write(tmp_path / "child.yaml", "extends: base.yaml\nname: child\nhorizon_days: 90\n")
    matches = assert_clean_failure(run_cli("validate", str(child)))
    (m,) = matches
    assert Path(m["file"]).resolve() == base.resolve()
    assert int(m["line"]) == marked_line(base.read_text())
    assert m["path"] == "inventory.policy.order_quantity"


def test_a_bad_set_override_is_blamed_on_set(tmp_path):
    file = _write(tmp_path / "ok.yaml", VALID)
    results = tmp_path / "results"
    proc = run_cli(
        "simulate",
        str(file),
        "--set",
        "inventory.policy.reorder_piont=4",
        "--set",
        "catalog.skus[5].price=1",
        "--results",
        str(results),
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2 and "Traceback" not in out
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert lines == [
        "error: --set: catalog.skus[5].price: catalog.skus[5]: index 5 out of range (the list has 2 items)"
    ]
    assert not results.exists() or list(results.iterdir()) == []
    proc = run_cli("validate", str(file), "--set", "inventory.policy.reorder_piont=4")
    assert proc.returncode == 2
    assert (
        "error: --set: inventory.policy.reorder_piont: unknown key (did you mean 'reorder_point'?)"
        in proc.stderr.splitlines()
    )


def test_a_missing_scenario_file(tmp_path):
    proc = run_cli("validate", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr
    assert f"error: {tmp_path / 'nope.yaml'}: file not found" in proc.stderr.splitlines()


def test_a_valid_file_prints_a_summary_and_exits_0():
    proc = run_cli("validate", "scenarios/classroom_sq.yaml")
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout and "classroom_sq" in proc.stdout and proc.stderr == ""


def test_yaml_is_loaded_safely(tmp_path):
    file = _write(tmp_path / "evil.yaml", "name: !!python/object/apply:os.system ['touch pwned']   # <-\n")
    (m,) = assert_clean_failure(run_cli("validate", str(file)))
    assert int(m["line"]) == 1 and "YAML" in m["message"]
    assert not (ROOT / "pwned").exists()


# ---------------------------------------------------------------- property: random mutations
BASES = [
    "scenarios/classroom_sq.yaml",
    "scenarios/classroom_rs.yaml",
    "scenarios/double11.yaml",
    "tests/data/rich.yaml",
]


def key_paths(node, prefix=()):
    """Every key path inside plain YAML data (mapping keys and list indices)."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for k, v in items:
        yield (*prefix, k)
        yield from key_paths(v, (*prefix, k))


RAW = {base: load_source(ROOT / base).data for base in BASES}  # at import: no chdir yet
PATHS = {base: list(key_paths(data)) for base, data in RAW.items()}
WRONG_TYPED = ["oops", "", True, None, [1, 2], {"x": 1}, [], {}, 3.7, "2026-13-45", {"dist": "gamma"}]
NEGATIVE = [-1, -0.5, -1e9, -1e-9, 0]


def mutate(data, path, kind, value):
    data = copy.deepcopy(data)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if kind == "delete":
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return data


@st.composite
def mutants(draw):
    base = draw(st.sampled_from(BASES))
    data = RAW[base]
    n = draw(st.integers(1, 3))
    for _ in range(n):
        paths = list(key_paths(data)) or [("name",)]
        path = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(["delete", "wrong_type", "negative"]))
        value = draw(st.sampled_from(WRONG_TYPED if kind == "wrong_type" else NEGATIVE))
        data = mutate(data, path, kind, value) if isinstance(data, dict) else data
    return base, data


@pytest.fixture(scope="module")
def mutant_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("mutants")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=mutants())
def test_random_mutations_load_or_raise_input_error(mutant_dir, case):
    _base, data = case  # extends are already merged into the raw data (load_source)
    file = mutant_dir / "mutant.yaml"
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    try:
        scenario = load_scenario(file)
    except InputError as exc:
        assert exc.problems, "an InputError must list its problems"
        for p in exc.problems:
            assert p.message and "\n" not in str(p)
        return
    # a mutant that loads is a valid scenario: it must also simulate (a short horizon keeps this fast)
    short = scenario.model_copy(
        update={"horizon_days": min(scenario.horizon_days, 30), "warmup_days": min(scenario.warmup_days, 5)}
    )
    if len(short.catalog.skus or []) <= 20 and short.demand.base_orders_per_day <= 1000:
        result = simulate(short, seed=1)
        assert result.order_status["orders"] >= 0


@settings(max_examples=100, deadline=None)
@given(base=st.sampled_from(BASES), data=st.data())
def test_random_set_overrides_load_or_raise_input_error(base, data):
    """The same property through --set strings, as a user types them."""
    path = data.draw(st.sampled_from(PATHS[base]))
    value = data.draw(
        st.sampled_from(
            [
                "oops",
                "-1",
                "-0.5",
                "0",
                "null",
                "[1, 2]",
                "{x: 1}",
                "true",
                "1e400",
                ".nan",
                "'12-31'",
                "[",
                "{dist: normal, mean: -50, sd: 1}",
            ]
        )
    )
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") + "=" + value
    try:
        load_scenario(base, overrides=[text])
    except InputError as exc:
        assert exc.problems
