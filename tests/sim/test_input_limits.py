"""Hostile or broken YAML is refused at once: one ``FILE:LINE: key: message`` line, exit 2.

Each case is one a fuzzing pass found to hang, run out of memory or end in a traceback.
The command line runs in-process (``run.main``) with a results root in a temporary
folder, so each test also checks that nothing was written.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from helpers import ROOT

import run
from sim.scenario.errors import InputError
from sim.scenario.yamlio import LIMITS, read_yaml

LINE = re.compile(r"^error: (?P<file>[^:]+)(?::(?P<line>\d+))?: (?:(?P<path>[\w.\[\]*]+): )?(?P<message>.+)$")


def refuse(capsys, tmp_path, *argv) -> list[re.Match]:
    """Run the CLI; assert exit 2, no traceback, nothing written; return the error lines."""
    results = tmp_path / "results"
    start = time.perf_counter()
    code = run.main([*argv, *(["--results", str(results)] if argv[0] == "simulate" else [])])
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert not results.exists()
    assert elapsed < 10, f"took {elapsed:.1f}s"  # a bound on hangs, not a timing assertion
    lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert lines and err.splitlines()[-1].endswith("nothing was written.")
    matches = [LINE.match(ln) or pytest.fail(f"not FILE:LINE: key: message: {ln}") for ln in lines]
    for m in matches:  # a file always comes with its line; --set names the key it was given
        assert m["line"] or m["file"] == "--set", m.group(0)
    return matches


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{','.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("command", ["validate", "simulate"])
def test_an_alias_bomb_is_refused_before_it_is_expanded(capsys, tmp_path, command):
    file = tmp_path / "bomb.yaml"
    file.write_text(billion_laughs())
    (m,) = refuse(capsys, tmp_path, command, str(file))
    assert "anchors and aliases are expanded" in m["message"] and 1 <= int(m["line"]) <= 9


def test_aliases_within_the_limit_still_read(tmp_path):
    file = tmp_path / "ok.yaml"
    file.write_text(billion_laughs(levels=3))  # 9**3 values
    assert len(read_yaml(file).data["c"]) == 9


def test_deep_nesting_is_refused_not_a_recursion_error(capsys, tmp_path):
    file = tmp_path / "deep.yaml"
    file.write_text("name: x\nd: " + "[" * 1000 + "]" * 1000 + "\n")
    (m,) = refuse(capsys, tmp_path, "validate", str(file))
    assert f"more than {LIMITS['depth']} levels" in m["message"]


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b"])
def test_control_characters_name_file_line_and_key(capsys, tmp_path, char):
    file = tmp_path / "ctrl.yaml"
    file.write_text(f"name: x\nhorizon_days: 10\ndescription: a{char}b\n")
    (m,) = refuse(capsys, tmp_path, "validate", str(file))
    assert (m["line"], m["path"]) == ("3", "description") and f"U+{ord(char):04X}" in m["message"]


def test_an_impossible_date_in_a_scenario_is_a_clean_error(capsys, tmp_path):
    file = tmp_path / "date.yaml"
    file.write_text("extends: " + str(ROOT / "scenarios" / "classroom_sq.yaml") + "\nstart_date: 2026-02-30\n")
    (m,) = refuse(capsys, tmp_path, "simulate", str(file))
    assert (m["line"], m["path"]) == ("2", "start_date") and "not a valid date" in m["message"]


def test_an_impossible_date_in_a_plan_and_in_set_is_a_clean_error(capsys, tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text("plan_info: {created: 2026-13-01}\n")
    (m,) = refuse(capsys, tmp_path, "validate", "scenarios/classroom_sq.yaml", "--plan", str(plan))
    assert m["file"] == str(plan) and m["line"] == "1"
    (m,) = refuse(capsys, tmp_path, "validate", "scenarios/classroom_sq.yaml", "--set", "start_date=2026-02-30")
    assert (m["file"], m["path"]) == ("--set", "start_date") and "not a valid date" in m["message"]


def test_an_impossible_date_in_a_spec_is_a_clean_error(capsys, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"name: s\nbase: {ROOT / 'scenarios' / 'classroom_sq.yaml'}\nset: {{start_date: 2026-02-30}}\n")
    (m,) = refuse(capsys, tmp_path, "experiment", str(spec), "--results", str(tmp_path / "results"))
    assert m["line"] == "3"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_opening_it(capsys, tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        read_yaml(fifo)


@pytest.mark.parametrize("target", ["folder", "/dev/zero"])
def test_only_regular_files_are_read(tmp_path, target):
    path = tmp_path if target == "folder" else Path(target)
    with pytest.raises(InputError, match=r"folder|not a regular file"):
        read_yaml(path)


def test_limits_on_file_size_and_string_length(tmp_path, monkeypatch):
    big = tmp_path / "big.yaml"
    big.write_text("description: " + "x" * 2_000 + "\n")
    monkeypatch.setitem(LIMITS, "string_chars", 1_000)
    with pytest.raises(InputError, match="longer than 1,000 characters"):
        read_yaml(big)
    monkeypatch.setitem(LIMITS, "file_bytes", 1_000)
    with pytest.raises(InputError, match="the limit is 1,000"):
        read_yaml(big)


def test_a_huge_set_value_is_refused(capsys, tmp_path):
    refuse(
        capsys,
        tmp_path,
        "validate",
        "scenarios/classroom_sq.yaml",
        "--set",
        "description=" + "x" * (LIMITS["value_chars"] + 1),
    )


def test_field_and_cross_field_problems_come_in_one_pass(capsys, tmp_path):
    """Region shares that do not sum to 1 are reported with a bad field elsewhere."""
    text = (ROOT / "scenarios" / "multi_warehouse.yaml").read_text()
    text = text.replace("share: 0.45", "share: 0.55") + "\nhorizon_days: -5\n"
    file = ROOT / "scenarios" / f"_tmp_{os.getpid()}.yaml"  # extends: resolves beside the shipped files
    file.write_text(text)
    try:
        lines = refuse(capsys, tmp_path, "validate", str(file))
    finally:
        file.unlink()
    assert sorted(m["path"] for m in lines) == ["demand.regions", "horizon_days"]


def test_a_cross_field_rule_about_a_refused_key_is_not_judged_on_its_default(capsys, tmp_path):
    file = tmp_path / "s.yaml"
    file.write_text(
        "extends: " + str(ROOT / "scenarios" / "classroom_sq.yaml") + "\nhorizon_days: -1\nwarmup_days: 50\n"
    )
    (m,) = refuse(capsys, tmp_path, "validate", str(file))
    assert m["path"] == "horizon_days"
