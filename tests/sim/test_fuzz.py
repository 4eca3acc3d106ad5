"""Fuzzing the input language: every mutant of a shipped file is a clean run or a clean refusal.

A hypothesis-driven mutator changes the shipped scenarios and experiment specs the ways
users and tools break files: wrong types, out-of-range and non-finite numbers,
deleted keys, duplicated lines, unicode, anchors and aliases, impossible dates, deep
nesting, control characters, truncation. For every mutant:

* the command exits 0 or 2, never with a traceback (any other exception fails the test);
* on exit 2 each problem is one line ``FILE:LINE: key.path: message`` and nothing is written;
* a scenario mutant that loads is simulated (short horizon) and must conserve units and
  orders (the identities of ``test_conservation.check_identities``).

The default profile runs a few dozen mutants; ``pytest -m fuzz`` runs the long profile
(thousands) for a nightly-style run.
"""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import pytest
import yaml
from helpers import ROOT
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_conservation import check_identities

import run
from experiments.spec import load_spec
from sim.model.shop import simulate
from sim.scenario.errors import InputError
from sim.scenario.loader import load_scenario
from sim.scenario.yamlio import read_yaml

SCENARIOS = sorted(p.name for p in (ROOT / "scenarios").glob("*.yaml"))
SPECS = sorted(p.name for p in (ROOT / "experiments").glob("*.yaml"))
LINE = re.compile(r"^error: (?P<file>[^:]+):(?P<line>\d+): (?:(?P<path>[^:]+): )?(?P<message>.+)$")
MAX_ORDERS_SIMULATED = 40_000  # a mutant that loads is simulated only when it is small


def own_data(folder: str, name: str):
    return read_yaml(ROOT / folder / name).data  # the file's own keys, extends not merged


def key_paths(node, prefix=()):
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        yield (*prefix, k)
        yield from key_paths(v, (*prefix, k))


VALUES = [
    "oops",
    "",
    "ünïcødé 双十一",
    True,
    None,
    [1, 2],
    {"x": 1},
    [],
    {},
    3.7,
    -1,
    -0.5,
    0,
    1e308,
    -1e308,
    float("inf"),
    float("nan"),
    10**30,
    "2026-02-30",
    "../../x",
    "/abs/path",
    "a" * 300,
    {"dist": "gamma"},
    {"dist": "normal", "mean": -50, "sd": 1},
]
TEXT_EDITS = ["duplicate_line", "alias", "bad_date", "deep", "control", "truncate", "merge_key", "tab"]


def set_at(data, path, value):
    node = data
    for part in path[:-1]:
        node = node[part]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = copy.deepcopy(value)  # never the shared object in VALUES


_DELETE = object()


@st.composite
def mutants(draw):
    folder, name = draw(st.sampled_from([("scenarios", s) for s in SCENARIOS] + [("experiments", s) for s in SPECS]))
    data = own_data(folder, name)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(key_paths(data))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        value = draw(st.sampled_from([*VALUES, _DELETE]))
        set_at(data, path, value)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if draw(st.booleans()):
        lines = text.splitlines()
        edit = draw(st.sampled_from(TEXT_EDITS))
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        if edit == "duplicate_line" and lines:
            lines.insert(i, lines[i])
        elif edit == "alias":
            lines = ["x_anchor: &big [" + ", ".join(["1"] * 50) + "]", "x_use: [*big, *big, *big]", *lines]
        elif edit == "bad_date":
            lines.append(
                draw(st.sampled_from(["start_date: 2026-02-30", "start_date: 2026-13-01", "start_date: 10000-01-01"]))
            )
        elif edit == "deep":
            lines.append("deep: " + "[" * 300 + "]" * 300)
        elif edit == "control" and lines:
            lines[i] = lines[i] + draw(st.sampled_from(["\x00", "\x07", "\x1b", "\ufffe"]))
        elif edit == "truncate":
            text = "\n".join(lines)
            lines = text[: draw(st.integers(0, len(text)))].splitlines()
        elif edit == "merge_key":
            lines = ["base_block: &blk {name: shared}", "x_merge: {<<: *blk, extra: 1}", *lines]
        elif edit == "tab" and lines:
            lines[i] = "\t" + lines[i]
        text = "\n".join(lines) + "\n"
    return folder, name, text


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """Copies of the shipped folders, so relative `extends:` and `base:` resolve as shipped."""
    root = tmp_path_factory.mktemp("fuzz")
    for folder in ("scenarios", "experiments"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return root


def error_lines(err: str) -> list[re.Match]:
    lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert lines, err
    assert "Traceback" not in err
    return [LINE.match(ln) or pytest.fail(f"not 'FILE:LINE: key: message': {ln!r}") for ln in lines]


def check_mutant(sandbox: Path, capsys, folder: str, name: str, text: str) -> None:
    file = sandbox / folder / f"_mutant_{name}"
    file.write_bytes(text.encode("utf-8", "surrogatepass"))
    results = sandbox / "results"
    shutil.rmtree(results, ignore_errors=True)
    if folder == "experiments":
        try:
            load_spec(file)
            event("spec: valid")
            return  # a valid spec: running it is the experiment tests' job
        except InputError:
            pass
        code = run.main(["experiment", str(file), "--results", str(results), "--quiet"])
        assert code == 2
        error_lines(capsys.readouterr().err)
        assert not results.exists(), "an invalid spec must write nothing"
        event("spec: refused")
        return
    code = run.main(["validate", str(file)])
    captured = capsys.readouterr()
    assert code in (0, 2), captured.err
    if code == 2:
        error_lines(captured.err)
        assert run.main(["simulate", str(file), "--results", str(results)]) == 2
        capsys.readouterr()
        assert not results.exists(), "an invalid scenario must write nothing"
        event("scenario: refused")
        return
    scenario = load_scenario(file, ["warmup_days=0"])
    short = scenario.model_copy(update={"horizon_days": min(scenario.horizon_days, 21)})
    if short.demand.base_orders_per_day * short.horizon_days * 4 <= MAX_ORDERS_SIMULATED:
        check_identities(short, simulate(short, seed=3))
        event("scenario: simulated, identities hold")
    else:
        event("scenario: valid, too large to simulate here")


FAST = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
LONG = settings(
    max_examples=2_000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


@FAST
@given(case=mutants())
def test_mutants_of_shipped_files_run_or_are_refused_cleanly(sandbox, capsys, case):
    check_mutant(sandbox, capsys, *case)


@pytest.mark.fuzz
@LONG
@given(case=mutants())
def test_mutants_long_profile(sandbox, capsys, case):
    check_mutant(sandbox, capsys, *case)
