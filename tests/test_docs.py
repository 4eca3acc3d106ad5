"""Every command in README.md and docs/*.md runs and exits as the docs say.

The commands of one document run in order (a later command may use a file an earlier
one wrote, e.g. ``--out plan.yaml`` then ``--plan plan.yaml``) in a fresh copy of the
repository under tmp_path, so nothing is written into the working tree. One interpreter
per document runs them, each exactly as written, through ``run.main`` (see the end of
tests/doc_commands.py): the packages are imported once per document instead of once per
command, which was a quarter of the module's CPU time. A command exits 0 unless its line ends with ``# exits N``; no command may
print a traceback. Documents run two at a time (``ECOMLAB_DOC_JOBS`` changes that), which
keeps the whole module at a few minutes on 2 cores.

Extraction rules: tests/doc_commands.py. To see which commands run:
``python -c "import sys; sys.path.insert(0, 'tests'); import doc_commands as d; print(*[c.text for cs in d.all_commands().values() for c in cs], sep='\\n')"``
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import pytest
from doc_commands import DocCommand, all_commands
from helpers import ROOT

pytestmark = pytest.mark.slow

COMMANDS = all_commands()
TIMEOUT_SECONDS = 1200  # one document's commands together: ends a hang, not a budget
# Under ``pytest --cov`` (coverage's ``patch = ["subprocess"]``) these variables make every Python
# subprocess measure itself. The documented commands run without them: under a line tracer the
# simulator (pure Python) runs ~3x slower, and this test checks the docs, not which lines run;
# line coverage comes from the unit and CLI tests.
UNMEASURED = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")
# The documents that take longest start first; the rest follow by number of commands. Measured
# (CPU seconds, no coverage): README ~165 of the module's ~300, most of it on two cores; started last
# (by its command count) it ran alone at the end while the other core idled. (The full
# ``check-theory`` of docs/formulas.md, ~75 s on one core, is not run here: see tests/doc_commands.py.)
START_FIRST = ("README.md",)
# A document cut into parts at these lines: each part runs in order in a copy of its own, the parts side
# by side. Only where a later part uses no file an earlier part writes (test_split_parts_are_independent).
# README's optimizer commands (from the block that starts with the promotion command: ~60 s) read shipped
# scenarios only; run after its examples block (~55 s) they made README the module's long tail. A cut is
# the line of a command's text, so it follows the README as it is edited.
SPLIT_BEFORE = {
    "README.md": (
        "python run.py optimize promotion scenarios/double11.yaml --set start_date=2026-10-25 --set horizon_days=35 \\",
    )
}


def _cut_lines(doc: str) -> tuple[int, ...]:
    """The lines of ``doc`` where its SPLIT_BEFORE commands start."""
    lines = (ROOT / doc).read_text().splitlines()
    return tuple(
        next(i + 1 for i, line in enumerate(lines) if line.strip() == text) for text in SPLIT_BEFORE.get(doc, ())
    )


SPLIT_AT = {doc: _cut_lines(doc) for doc in SPLIT_BEFORE}
# what a copy of the repository leaves out: VCS data, environments, caches and old results
IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "results",
    "__pycache__",
    "*.egg-info",
    ".pytest_cache",
    ".hypothesis",
    "build",
    "dist",
    "dask-worker-space",
)


def _copy_repo(dest: Path) -> Path:
    """A copy of the repository at ``dest`` (no VCS data, environments, caches or old results); returns it."""
    shutil.copytree(ROOT, dest, ignore=IGNORE)
    (dest / "results").mkdir()
    shutil.copy2(ROOT / "results" / "README.md", dest / "results" / "README.md")
    return dest


def parts(doc: str) -> list[list[DocCommand]]:
    """The commands of ``doc`` in the parts that run side by side (one part unless SPLIT_AT cuts it)."""
    cuts = [0, *SPLIT_AT.get(doc, ()), 10**9]
    out = [[c for c in COMMANDS[doc] if lo <= c.line < hi] for lo, hi in pairwise(cuts)]
    return [part for part in out if part]


def _run_doc(
    doc: str, commands: list[DocCommand], workdir: Path
) -> list[tuple[DocCommand, subprocess.CompletedProcess | str, float]]:
    """Run ``commands`` of ``doc`` in order in their own copy; (command, result or error, seconds).

    One interpreter runs them all (tests/doc_commands.py as a script: ``run.main`` per command,
    output in files per command), so the packages are imported once per document, not per command.
    """
    repo = _copy_repo(workdir / "repo")
    out = workdir / "out"
    out.mkdir()
    plan = workdir / "plan.json"
    plan.write_text(json.dumps({"out": str(out), "commands": [[c.program, list(c.args)] for c in commands]}))
    env = {k: v for k, v in os.environ.items() if k not in UNMEASURED}
    env.update(MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    timeout = TIMEOUT_SECONDS
    try:
        driver = subprocess.run(
            [sys.executable, str(repo / "tests" / "doc_commands.py"), str(plan)],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        failure = f"the interpreter running the commands exited {driver.returncode}:\n{_tail(driver.stderr)}"
    except subprocess.TimeoutExpired:
        failure = f"timed out ({doc}'s commands together over {timeout} s)"
    codes = out / "codes.jsonl"
    done = [json.loads(line) for line in codes.read_text().splitlines()] if codes.exists() else []
    results: list[tuple[DocCommand, subprocess.CompletedProcess | str, float]] = []
    for i, cmd in enumerate(commands):
        if i >= len(done):  # the driver ended (or hung) in this command: it and the rest have no result
            results.append((cmd, failure if i == len(done) else "not run (an earlier command ended the run)", 0.0))
            continue
        text = [(out / f"{i}.{kind}").read_text(encoding="utf-8", errors="replace") for kind in ("out", "err")]
        res = subprocess.CompletedProcess([cmd.program, *cmd.args], done[i]["code"], *text)
        results.append((cmd, res, done[i]["seconds"]))
    return results


@pytest.fixture(scope="module")
def doc_runs(tmp_path_factory, request):
    """Start every selected document at once on a small pool; each test waits for its own."""
    selected = {
        item.callspec.params["doc"]
        for item in request.session.items
        if getattr(getattr(item, "module", None), "__name__", None) == __name__
        and hasattr(item, "callspec")
        and "doc" in item.callspec.params
    }
    jobs = max(1, int(os.environ.get("ECOMLAB_DOC_JOBS", "2")))
    pool = ThreadPoolExecutor(max_workers=jobs)
    # longest documents first, so the pool ends together (see START_FIRST)
    order = sorted(
        selected, key=lambda d: (START_FIRST.index(d) if d in START_FIRST else len(START_FIRST), -len(COMMANDS[d]))
    )
    futures = {
        doc: [
            pool.submit(_run_doc, doc, part, tmp_path_factory.mktemp(f"{Path(doc).stem}-{i}"))
            for i, part in enumerate(parts(doc))
        ]
        for doc in order
    }
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def _tail(text: str, lines: int = 15) -> str:
    """The last ``lines`` lines of ``text``."""
    return "\n".join(text.strip().splitlines()[-lines:])


@pytest.mark.parametrize("doc", sorted(COMMANDS))
def test_doc_commands_run(doc, doc_runs):
    """Every command of ``doc`` exits with the code the doc gives (0 unless ``# exits N``), without a traceback."""
    problems, timing = [], []
    for cmd, res, seconds in [run for part in doc_runs[doc] for run in part.result()]:
        timing.append(f"{seconds:6.1f} s  {cmd.where}  {cmd.text}")
        if isinstance(res, str):
            problems.append(f"{cmd.where}: {cmd.text}\n  {res}")
            continue
        if res.returncode != cmd.exit_code:
            problems.append(
                f"{cmd.where}: {cmd.text}\n  exit code {res.returncode}, the doc says {cmd.exit_code}\n"
                f"  stdout:\n{_tail(res.stdout)}\n  stderr:\n{_tail(res.stderr)}"
            )
        elif "Traceback (most recent call last)" in res.stderr:
            problems.append(f"{cmd.where}: {cmd.text}\n  printed a traceback:\n{_tail(res.stderr)}")
    print("\n".join(timing))
    assert not problems, f"{len(problems)} documented command(s) misbehave:\n\n" + "\n\n".join(problems)


def test_every_doc_page_is_covered():
    """The tutorial, exercises, output analysis and formulas pages all show runnable commands."""
    for page in ("docs/tutorial.md", "docs/exercises.md", "docs/output-analysis.md", "docs/formulas.md"):
        assert page in COMMANDS, f"{page} shows no ```bash block with a python run.py command"


def test_split_parts_are_independent():
    """A later part of a SPLIT_AT document reads no file an earlier part writes and resumes no experiment."""
    for doc in SPLIT_AT:
        assert doc in COMMANDS and len(parts(doc)) == len(SPLIT_AT[doc]) + 1, f"{doc}: a cut outside its commands"
        written: set[str] = set()  # --out files and the specs of experiments (their cache) of earlier parts
        for part in parts(doc):
            for cmd in part:
                used = set(cmd.args) & written
                assert not used, f"{cmd.where}: uses {used}, which an earlier part writes: move the cut"
            written |= {c.args[i + 1] for c in part for i, a in enumerate(c.args[:-1]) if a == "--out"}
            written |= {c.args[1] for c in part if c.args[:1] == ("experiment",)}
