"""The commands shown in the README and docs/*.md, as the doc tests run them.

A command is a line in a ```bash fenced block that starts with ``python run.py`` or
``python3 run.py``, or runs one of the example scripts (``python docs/examples/NAME.py``; a
tutorial makes its data with one), backslash continuations joined. A doc that shows an intentional
error ends the command line with a comment ``# exits N``; every other command must exit 0.
Skipped on purpose: the README's set-up lines (they create a venv and start with
``python3 -m venv``, so they do not match), ``bench`` without ``--quick`` (minutes long) and
``check-theory`` without ``--case`` (about two and a half CPU minutes; every case it runs is
checked by the theory tests: the M/D/2 and M/G/1 cases' own code at 30 replications on a
quarter of their customers in tests/sim/test_warehouse_theory.py, the others with their own
intervals in tests/sim/test_*_theory.py; the docs' ``check-theory --case ...`` lines still run).
"""

from __future__ import annotations

import json
import os
import re
import runpy
import shlex
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from helpers import ROOT

DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^\s*```(\S*)\s*$")
_EXITS = re.compile(r"#\s*exits\s+(\d+)\s*$")
_PREFIXES = ("python run.py ", "python3 run.py ", "python docs/examples/", "python3 docs/examples/")


@dataclass(frozen=True)
class DocCommand:
    """One documented command: where it is, its text and arguments, the exit code the doc promises."""

    doc: str  # path relative to the repository root
    line: int  # 1-based line of the command's first line
    text: str  # the command as written (continuations joined)
    args: tuple  # arguments after the program
    exit_code: int  # the exit code the doc promises
    program: str = "run.py"  # run.py, or an example script (docs/examples/NAME.py)

    @property
    def where(self) -> str:
        """``doc:line``, for messages."""
        return f"{self.doc}:{self.line}"


def _logical_lines(block: list[tuple[int, str]]):
    """Join backslash continuations; yield (first line number, text)."""
    start, parts = None, []
    for number, raw in block:
        line = raw.rstrip()
        if start is None:
            start = number
        if line.endswith("\\"):
            parts.append(line[:-1].strip())
            continue
        parts.append(line.strip())
        yield start, " ".join(p for p in parts if p)
        start, parts = None, []
    if parts:
        yield start, " ".join(p for p in parts if p)


def commands_in(path: Path) -> list[DocCommand]:
    """Every run.py command in the ```bash blocks of one Markdown file, in order."""
    out, block, lang = [], None, None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fence = _FENCE.match(line)
        if fence and block is None:
            block, lang = [], fence.group(1).lower()
            continue
        if fence and block is not None:
            if lang == "bash":
                out += _parse_block(path, block)
            block, lang = None, None
            continue
        if block is not None:
            block.append((number, line))
    return out


def _parse_block(path: Path, block) -> list[DocCommand]:
    """The run.py commands of one ```bash block (a list of (line number, text)) of ``path``."""
    found = []
    for number, text in _logical_lines(block):
        if not text.startswith(_PREFIXES):
            continue
        expected = _EXITS.search(text)
        words = shlex.split(text, comments=True)
        program, args = words[1], tuple(words[2:])
        if program != "run.py":
            found.append(DocCommand(str(path.relative_to(ROOT)), number, text, args, 0, program))
            continue
        if args and args[0] == "bench" and "--quick" not in args:
            continue
        if args and args[0] == "check-theory" and "--case" not in args:
            continue
        found.append(
            DocCommand(
                doc=str(path.relative_to(ROOT)),
                line=number,
                text=text,
                args=args,
                exit_code=int(expected.group(1)) if expected else 0,
            )
        )
    return found


def all_commands() -> dict[str, list[DocCommand]]:
    """Commands per doc file (files without commands are left out)."""
    out = {}
    for path in DOC_FILES:
        cmds = commands_in(path)
        if cmds:
            out[str(path.relative_to(ROOT))] = cmds
    return out


# --------------------------------------------------------------------------- running them
# tests/test_docs.py runs a document's commands in order in ONE interpreter (this file as a script, in a
# copy of the repository): run.py commands through ``run.main``, example scripts through ``runpy``. A
# fresh ``python run.py`` per command paid the packages' import (about 1.8 CPU seconds) 59 times; the
# commands themselves run as written, with their stdout and stderr (file descriptors 1 and 2, so the
# output of their worker processes too) in files of their own.


def _exit_code(exc: SystemExit) -> int:
    """The exit status Python gives ``raise SystemExit(code)`` (a message is printed to stderr, status 1)."""
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    print(exc.code, file=sys.stderr)
    return 1


def _run_one(program: str, args: list[str]) -> int:
    """Run one command in this process as ``python PROGRAM ARGS`` would; its exit code (1 after a traceback)."""
    sys.argv = [program, *args]
    try:
        if program != "run.py":
            runpy.run_path(program, run_name="__main__")
            return 0
        import run

        return run.main(list(args)) or 0
    except SystemExit as exc:
        return _exit_code(exc)
    except BaseException:  # what an uncaught exception does to a fresh interpreter: a traceback, exit 1
        traceback.print_exc()
        return 1


def run_here(plan_file: str) -> None:
    """Run the commands of ``plan_file`` (JSON: ``{"out": DIR, "commands": [[program, args], ...]}``) in order.

    Command ``i`` writes DIR/i.out and DIR/i.err; its exit code and seconds are appended to
    DIR/codes.jsonl as soon as it ends (a document that hangs keeps the earlier results).
    """
    plan = json.loads(Path(plan_file).read_text(encoding="utf-8"))
    out, cwd = Path(plan["out"]), os.getcwd()
    # the copy's run.py and packages first, as for `python run.py`; tests/ stays on the path because
    # Dask's worker processes (spawned) import this file again as their main module
    sys.path.insert(0, cwd)
    saved = os.dup(1), os.dup(2)
    for i, (program, args) in enumerate(plan["commands"]):
        start = time.perf_counter()
        with open(out / f"{i}.out", "wb") as fo, open(out / f"{i}.err", "wb") as fe:
            os.dup2(fo.fileno(), 1)
            os.dup2(fe.fileno(), 2)
            try:
                code = _run_one(program, args)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.chdir(cwd)
        with open(out / "codes.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps({"index": i, "code": code, "seconds": time.perf_counter() - start}) + "\n")


if __name__ == "__main__":
    run_here(sys.argv[1])
