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

import re
import shlex
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
