"""The generated references stay in sync, and the newcomer commands say what they promise.

* docs/scenario-reference.md equals ``run.py schema --markdown``;
* docs/kpis.md lists every KPI of ``sim.kpis.KPI_INFO`` and every daily column of
  ``sim.kpis.DAILY_COLUMNS_INFO`` with its unit and meaning;
* every command shown in the docs parses with run.py's own argument parser and names
  scenario and spec files that exist (the slow tests/test_docs.py runs them);
* ``run.py list``, ``run.py explain`` and ``run.py check-theory`` (a quick case).

``schema``, ``list`` and ``explain`` run in this process (``run.main``): they load files and print,
and a fresh interpreter per call (about 2 s of imports, 12 calls) was most of this module's time.
"""

from __future__ import annotations

import difflib
import importlib.util
import io
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from doc_commands import all_commands
from helpers import ROOT, run_cli

from sim.kpis import DAILY_COLUMNS_INFO, KPI_INFO

REGENERATE = "python run.py schema --markdown > docs/scenario-reference.md"


def run_here(*args: str) -> SimpleNamespace:
    """``run.py ARGS`` in this process: its exit code and what it printed (``returncode``, ``stdout``, ``stderr``)."""
    import run

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = run.main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def _description(path: Path) -> str:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return " ".join(str(data["description"]).split())


# --------------------------------------------------------------------------- generated pages
def test_scenario_reference_is_up_to_date():
    res = run_here("schema", "--markdown")
    assert res.returncode == 0, res.stderr
    committed = (ROOT / "docs" / "scenario-reference.md").read_text(encoding="utf-8")
    if res.stdout != committed:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(keepends=True),
                    res.stdout.splitlines(keepends=True),
                    "docs/scenario-reference.md (committed)",
                    "run.py schema --markdown (now)",
                )
            )[:40]
        )
        pytest.fail(
            f"docs/scenario-reference.md is stale (the schema in sim/scenario/schema.py changed).\n"
            f"Regenerate it from the repository root with:\n    {REGENERATE}\n"
            f"and commit the result. First lines of the difference:\n{diff}"
        )


@pytest.mark.parametrize("registry_name", ["KPI_INFO", "DAILY_COLUMNS_INFO"])
def test_kpi_glossary_lists_every_kpi_and_daily_column(registry_name):
    registry = {"KPI_INFO": KPI_INFO, "DAILY_COLUMNS_INFO": DAILY_COLUMNS_INFO}[registry_name]
    page = (ROOT / "docs" / "kpis.md").read_text(encoding="utf-8")
    missing = [
        f"| `{k}` | {unit} | {meaning} |"
        for k, (unit, meaning) in registry.items()
        if f"| `{k}` | {unit} | {meaning} |" not in page
    ]
    assert not missing, (
        f"docs/kpis.md is out of date with {registry_name} in sim/kpis.py; "
        "replace or add these rows:\n" + "\n".join(missing)
    )


# --------------------------------------------------------------------------- doc commands, statically
def _parser():
    spec = importlib.util.spec_from_file_location("ecomlab_run_cli", ROOT / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_parser()


def test_doc_commands_parse_and_name_existing_files():
    """Every documented command parses, and names files that exist or that an earlier command of its doc writes."""
    parser, problems = _parser(), []
    assert sum(len(c) for c in all_commands().values()) > 30, "the command extractor found suspiciously few commands"
    for cmds in all_commands().values():
        written: set[str] = set()  # --out of the doc's earlier commands
        for cmd in cmds:
            if cmd.program != "run.py":  # an example script: it exists; its --out is written for the next ones
                if not (ROOT / cmd.program).is_file():
                    problems.append(f"{cmd.where}: {cmd.text}\n  {cmd.program} does not exist")
                if "--out" in cmd.args:
                    written.add(cmd.args[cmd.args.index("--out") + 1])
                continue
            err = io.StringIO()
            try:
                with redirect_stderr(err):
                    args = parser.parse_args(list(cmd.args))
            except SystemExit:
                problems.append(f"{cmd.where}: {cmd.text}\n  {err.getvalue().strip().splitlines()[-1]}")
                continue
            for name in ("file", "spec"):
                value = getattr(args, name, None)
                if value is not None and not (ROOT / value).is_file() and str(value) not in written:
                    problems.append(f"{cmd.where}: {cmd.text}\n  {value} does not exist")
            if getattr(args, "out", None) is not None:
                written.add(str(args.out))
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- list, explain, check-theory
def test_list_shows_every_shipped_scenario_and_spec_with_its_description():
    res = run_here("list")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    shipped = sorted((ROOT / "scenarios").glob("*.yaml")) + sorted((ROOT / "experiments").glob("*.yaml"))
    assert len(shipped) >= 10
    for path in shipped:
        rel = f"{path.parent.name}/{path.name}"
        hits = [line for line in lines if rel in line.split()]
        assert hits, f"{rel} is missing from `run.py list`:\n{res.stdout}"
        assert _description(path) in hits[0], f"{rel}: description missing or changed in `run.py list`: {hits[0]!r}"


def test_explain_double11_names_what_the_scenario_sets_up():
    res = run_here("explain", "scenarios/double11.yaml")
    assert res.returncode == 0, res.stderr
    text = res.stdout
    for expected in (
        "300 SKU",  # catalogue
        "orders/day",  # demand per day
        "policy sQ",  # replenishment policy
        "Warehouse east_dc",
        "Warehouse south_dc",
        "Warehouse southwest_dc",
        "Carrier economy",
        "Carrier express",
        "Promotion double11",
        "Promotion 618",
        "Marketing livestream",
    ):
        assert expected in text, f"`run.py explain scenarios/double11.yaml` does not mention {expected!r}:\n{text}"


@pytest.mark.parametrize("scenario", sorted(p.name for p in (ROOT / "scenarios").glob("*.yaml")))
def test_explain_every_shipped_scenario(scenario):
    res = run_here("explain", f"scenarios/{scenario}")
    assert res.returncode == 0, res.stderr
    assert "SKU" in res.stdout and "policy" in res.stdout and "Warehouse" in res.stdout, res.stdout


def test_explain_reports_bad_input_without_traceback():
    res = run_here("explain", "scenarios/classroom_sq.yaml", "--set", "inventory.policy.reoder_point=4")
    assert res.returncode == 2
    assert "reoder_point" in res.stderr and "Traceback" not in res.stderr


def test_check_theory_quick_case_agrees():
    """The table and its verdict line. docs/formulas.md's ``check-theory --case eoq --case sq -n 10``
    runs in tests/test_docs.py (exit 0: every check agrees); here only the deterministic EOQ case,
    so that the same command does not run twice (the (r,Q) case has its intervals in the theory tests)."""
    res = run_cli("check-theory", "--case", "eoq")
    assert res.returncode == 0, res.stdout + res.stderr
    rows = [line for line in res.stdout.splitlines() if line.startswith("EOQ")]
    assert len(rows) == 2, res.stdout
    assert all(line.rstrip().endswith("yes") for line in rows), res.stdout
    assert "2 of 2 checks agree" in res.stdout


# --------------------------------------------------------------------------- links between the pages
def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.*)$", text, flags=re.M)}


def test_relative_links_in_the_docs_resolve():
    problems = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # http(s), mailto: not checked offline
            file_part, _, anchor = target.partition("#")
            dest = (page.parent / file_part).resolve() if file_part else page
            if not dest.exists():
                problems.append(f"{page.relative_to(ROOT)}: link to {target}: {file_part} does not exist")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                problems.append(f"{page.relative_to(ROOT)}: link to {target}: no heading with anchor #{anchor}")
    assert not problems, "\n".join(problems)
