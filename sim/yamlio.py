"""YAML input with line numbers, deep merges, ``--set`` overrides and readable errors.

Every problem with an input file is reported as one line::

    scenarios/bad.yaml:14: inventory.policy.order_quantity: must be > 0 (got -5)

``InputError`` carries the list of such problems; the CLI prints them and exits 2.
YAML is read with the safe loader only: nothing in an input file is run as code.
"""
from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Key = tuple  # a key path: ("warehouses", 1, "pickers")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class InputError(Exception):
    """One or more problems in user input; ``str()`` gives one line per problem."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def format_path(path: Key) -> str:
    """``("warehouses", 1, "pickers")`` -> ``warehouses[1].pickers``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass
class Source:
    """Merged YAML data plus where each key path came from: path -> (file, line)."""

    data: Any
    origin: dict[Key, tuple[str, int]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def locate(self, path: Key, default_file: str) -> tuple[str, int | None]:
        """File and line of the longest prefix of ``path`` that is known."""
        for n in range(len(path), -1, -1):
            hit = self.origin.get(tuple(path[:n]))
            if hit:
                return hit
        return default_file, None


def _walk_lines(node: yaml.Node, path: Key, file: str, out: dict, dups: list | None = None) -> None:
    out[path] = (file, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict = {}
        for k, v in node.value:
            key = k.value
            if dups is not None and key in seen and key != "<<":
                dups.append(Problem(file, k.start_mark.line + 1, format_path(path + (key,)),
                                    f"duplicate key (first given on line {seen[key]}); YAML would silently "
                                    f"keep only the last one"))
            seen.setdefault(key, k.start_mark.line + 1)
            out[path + (key,)] = (file, k.start_mark.line + 1)
            _walk_lines(v, path + (key,), file, out, dups)
            out[path + (key,)] = (file, k.start_mark.line + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _walk_lines(v, path + (i,), file, out, dups)


def read_yaml(path: str | Path) -> Source:
    """Read one YAML file safely, keeping the line of every key path."""
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Problem(name, None, "", "file not found")]) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise InputError([Problem(name, None, "", f"cannot read file ({exc.__class__.__name__})")]) from None
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        msg = f"YAML syntax error: {exc.problem or exc.context}"
        raise InputError([Problem(name, line, "", msg)]) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(name, None, "", f"YAML error: {exc}")]) from None
    if data is None:
        data = {}
    origin: dict = {}
    dups: list[Problem] = []
    if node is not None:
        _walk_lines(node, (), name, origin, dups)
    if dups:
        raise InputError(dups)
    return Source(data=data, origin=origin, files=[name])


def deep_merge(base: Any, over: Any) -> Any:
    """Merge ``over`` into ``base``: mappings merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = deep_merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(over)


def merge_sources(base: Source, over: Source) -> Source:
    data = deep_merge(base.data, over.data)
    origin = dict(base.origin)
    origin.update(over.origin)
    return Source(data=data, origin=origin, files=base.files + over.files)


_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_key_path(text: str) -> Key:
    """``"warehouses[1].pickers"`` -> ``("warehouses", 1, "pickers")``; raises ValueError."""
    if not text or text.startswith(".") or text.endswith(".") or ".." in text:
        raise ValueError(f"bad key path {text!r}")
    parts: list = []
    pos = 0
    for m in _TOKEN.finditer(text):
        if m.start() != pos and text[pos:m.start()] != ".":
            raise ValueError(f"bad key path {text!r}")
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if pos != len(text) or not parts or isinstance(parts[0], int):
        raise ValueError(f"bad key path {text!r}")
    return tuple(parts)


def parse_assignment(text: str) -> tuple[Key, Any]:
    """``"a.b[0].c=12"`` -> (("a", "b", 0, "c"), 12); the value is read as a YAML scalar/flow."""
    if "=" not in text:
        raise ValueError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        raise ValueError(f"cannot read the value of {text!r} as YAML") from None
    return parse_key_path(key.strip()), parsed


def set_path(data: dict, path: Key, value: Any) -> dict:
    """Return a copy of ``data`` with ``path`` set to ``value``; ValueError if a list index is missing."""
    data = copy.deepcopy(data)
    node = data
    for i, part in enumerate(path):
        last = i == len(path) - 1
        shown = format_path(path[: i + 1])
        if isinstance(part, int):
            if not isinstance(node, list):
                raise ValueError(f"{format_path(path[:i]) or 'top level'} is not a list")
            if part >= len(node):
                raise ValueError(f"{shown}: index {part} out of range (the list has {len(node)} items)")
            if last:
                node[part] = value
            else:
                node = node[part]
        else:
            if not isinstance(node, dict):
                raise ValueError(f"{format_path(path[:i]) or 'top level'} is not a mapping")
            if last:
                node[part] = value
            else:
                if not isinstance(node.get(part), (dict, list)):
                    node[part] = {}
                node = node[part]
    return data


def suggest(word: str, choices) -> str:
    """`` (did you mean 'pickers'?)`` or ``""``."""
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""
