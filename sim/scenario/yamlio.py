"""YAML input with line numbers, limits, deep merges, ``--set`` overrides and readable errors.

Every problem with an input file is reported as one line::

    scenarios/bad.yaml:14: inventory.policy.order_quantity: must be > 0 (got -5)

``InputError`` carries the list of such problems; the CLI prints them and exits 2.
YAML is read with the safe loader only: nothing in an input file is run as code.
Reading is bounded before any work is done (:data:`LIMITS`: file size, nodes after
alias expansion, nesting depth, string length), only regular files are read, and
anchors, aliases and merge keys (``&picking``, ``*picking``, ``<<: *picking``) are
resolved into independent copies, so an override of one warehouse never changes
another that shared its block in the file.

Key paths address list items by position, by name or all at once::

    >>> parse_key_path("warehouses[east_dc].picking.pickers")
    ('warehouses', Select('east_dc'), 'picking', 'pickers')
    >>> data = {"warehouses": [{"name": "east_dc", "pickers": 3}, {"name": "south_dc", "pickers": 3}]}
    >>> set_path(data, parse_key_path("warehouses[*].pickers"), 6)["warehouses"]
    [{'name': 'east_dc', 'pickers': 6}, {'name': 'south_dc', 'pickers': 6}]
"""

from __future__ import annotations

import difflib
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.scenario.errors import InputError, Problem

Key = tuple  # a key path: ("warehouses", 1, "pickers") or ("warehouses", Select("east_dc"), "pickers")

#: Bounds checked before any YAML is composed into objects.
LIMITS = {
    "file_bytes": 20 * 2**20,  # 20 MiB: the largest shipped scenario is a few kB
    "nodes": 2_000_000,  # scalars + collections after alias expansion
    "depth": 64,  # nesting of mappings and lists
    "string_chars": 100_000,  # one scalar
    "value_chars": 100_000,  # one --set value
}


@dataclass(frozen=True)
class Select:
    """A list item chosen by its ``name`` (or ``id``/``sku``), or every item (``Select('*')``)."""

    name: str

    def __repr__(self) -> str:
        """``Select('east_dc')``."""
        return f"Select({self.name!r})"


ALL = Select("*")
NAME_KEYS = ("name", "id", "sku")  # the key that names a list item, in order of preference


def format_path(path: Key) -> str:
    """``("warehouses", 1, "pickers")`` -> ``warehouses[1].pickers``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, Select):
            out += f"[{part.name}]"
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


# ---------------------------------------------------------------- reading
_CONTROL = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, max(position, 0)) + 1


@dataclass
class _Open:
    """A mapping or list still open while the events stream past: its anchor and its values so far."""

    anchor: str | None
    size: int = 1


def _refused(name: str, line: int | None, message: str) -> InputError:
    """The InputError of a file refused as a whole (no key path)."""
    return InputError([Problem(name, line, "", message)])


def _finished_node(
    event: yaml.Event, stack: list[_Open], sizes: dict[str | None, int], name: str, line: int | None
) -> tuple[str | None, int] | None:
    """(anchor, values) of the node that ``event`` completes, or None when it completes none.

    Pops a closed collection off ``stack``; an alias counts the values of what its anchor named.
    """
    if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
        node = stack.pop()
        return node.anchor, node.size
    if isinstance(event, yaml.ScalarEvent):
        if len(event.value) > LIMITS["string_chars"]:
            raise _refused(
                name, line, f"a value longer than {LIMITS['string_chars']:,} characters ({len(event.value):,})"
            )
        return event.anchor, 1
    if isinstance(event, yaml.AliasEvent):
        return None, sizes.get(event.anchor, 1)
    return None


def _check_events(text: str, name: str) -> None:
    """One streaming pass over the YAML events: depth, string length and nodes after alias
    expansion are bounded before anything is composed (a 'billion laughs' file is refused here)."""
    stack: list[_Open] = []  # the open collections, outermost first
    sizes: dict[str | None, int] = {}  # anchor -> values in the node it names
    total = 0  # values in finished top-level nodes
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(stack) >= LIMITS["depth"]:
                raise _refused(name, line, f"nested more than {LIMITS['depth']} levels deep")
            stack.append(_Open(event.anchor))
            continue
        finished = _finished_node(event, stack, sizes, name, line)
        if finished is None:
            continue
        anchor, size = finished
        if anchor is not None:
            sizes[anchor] = size
        if stack:
            stack[-1].size += size
        else:
            total += size
        if (stack[0].size if stack else 0) + total > LIMITS["nodes"]:
            raise _refused(
                name,
                line,
                f"more than {LIMITS['nodes']:,} values once anchors and aliases are expanded; refusing to read it",
            )


class _Loader(yaml.SafeLoader):
    """The safe loader; a value its constructors cannot build (``2026-02-30``) is a marked error."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """The value of ``node``; a ConstructorError at its line when the value cannot be built."""
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, OverflowError, TypeError) as exc:
            raise yaml.constructor.ConstructorError(None, None, _plain_reason(node, exc), node.start_mark) from None


def _plain_reason(node: yaml.Node, exc: Exception) -> str:
    """Why a YAML value could not be built, in words (an impossible date: quote it if it is text)."""
    if getattr(node, "tag", "") == "tag:yaml.org,2002:timestamp":
        return f"{node.value!r} is not a valid date ({exc}); quote it if it is text"
    return f"cannot read {getattr(node, 'value', '')!r}: {exc}"


def unshare(obj: Any) -> Any:
    """A copy of plain YAML data in which no two places share a mapping or list (aliases become independent).

    >>> block = {"pickers": 3}
    >>> data = unshare({"east": block, "south": block})
    >>> data["east"] is data["south"], data["east"] == block
    (False, True)
    """
    if isinstance(obj, dict):
        return {k: unshare(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [unshare(v) for v in obj]
    return obj


def _walk_lines(node: yaml.Node, path: Key, file: str, out: dict, dups: list | None = None) -> None:
    out[path] = (file, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict = {}
        merges = [(k, v) for k, v in node.value if k.tag == "tag:yaml.org,2002:merge" or k.value == "<<"]
        for _k, v in merges:  # keys brought in by '<<: *anchor' sit at this path, explicit keys win
            for m in v.value if isinstance(v, yaml.SequenceNode) else [v]:
                if isinstance(m, yaml.MappingNode):
                    _walk_lines(m, path, file, out)
        out[path] = (file, node.start_mark.line + 1)
        for k, v in node.value:
            if (k, v) in merges:
                continue
            key = k.value
            if dups is not None and key in seen:
                dups.append(
                    Problem(
                        file,
                        k.start_mark.line + 1,
                        format_path((*path, key)),
                        f"duplicate key (first given on line {seen[key]}); YAML would silently keep only the last one",
                    )
                )
            seen.setdefault(key, k.start_mark.line + 1)
            here = (*path, key)
            out[here] = (file, k.start_mark.line + 1)
            _walk_lines(v, here, file, out, dups)
            out[here] = (file, k.start_mark.line + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _walk_lines(v, (*path, i), file, out, dups)


def _path_at_line(origin: dict, line: int | None) -> str:
    """The deepest key path given on ``line`` (for errors raised while building values)."""
    hits = [p for p, (_f, ln) in origin.items() if ln == line]
    return format_path(max(hits, key=len)) if hits else ""


def _read_text(path: Path) -> str:
    name = str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError([Problem(name, None, "", "file not found")]) from None
    except OSError as exc:
        raise InputError([Problem(name, None, "", f"cannot read file ({exc.__class__.__name__})")]) from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise InputError([Problem(name, None, "", f"cannot read it: it is {kind}")])
    if info.st_size > LIMITS["file_bytes"]:
        raise InputError(
            [Problem(name, None, "", f"file is {info.st_size:,} bytes; the limit is {LIMITS['file_bytes']:,}")]
        )
    try:
        with open(path, "rb") as fh:  # a regular file: open and read cannot block
            raw = fh.read(LIMITS["file_bytes"] + 1)
    except OSError as exc:
        raise InputError([Problem(name, None, "", f"cannot read file ({exc.__class__.__name__})")]) from None
    if len(raw) > LIMITS["file_bytes"]:
        raise InputError([Problem(name, None, "", f"file is larger than the limit of {LIMITS['file_bytes']:,} bytes")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(
            [Problem(name, line, "", f"not UTF-8 text (cannot decode byte 0x{raw[exc.start]:02x})")]
        ) from None


def parse_text(text: str, name: str) -> tuple[Any, dict, list[Problem]]:
    """Data (aliases resolved into independent copies), the line of every key path, and
    duplicate-key problems of one YAML text."""
    origin: dict = {}
    dups: list[Problem] = []
    try:
        _check_events(text, name)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is not None:  # before constructing: the constructor rewrites merge keys in place
                _walk_lines(node, (), name, origin, dups)
            try:
                data = loader.construct_document(node) if node is not None else None
            except yaml.constructor.ConstructorError as exc:
                line = exc.problem_mark.line + 1 if exc.problem_mark else None
                raise InputError(
                    [Problem(name, line, _path_at_line(origin, line), f"YAML value error: {exc.problem}")]
                ) from None
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as exc:  # NUL and other characters YAML does not allow
        line = _line_of(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        try:  # the key path of that line, read from the text with the offending characters blanked
            _d, origin, _dups = parse_text(_CONTROL.sub(" ", text), name)
        except InputError:
            origin = {}
        raise InputError(
            [
                Problem(
                    name,
                    line,
                    _path_at_line(origin, line),
                    f"control character U+{code:04X} is not allowed in YAML "
                    f"(column {exc.position - text.rfind(chr(10), 0, exc.position)})",
                )
            ]
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise InputError([Problem(name, line, "", f"YAML syntax error: {exc.problem or exc.context}")]) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(name, None, "", f"YAML error: {exc}")]) from None
    except RecursionError:
        raise InputError([Problem(name, None, "", "nested too deeply to read")]) from None
    return unshare(data), origin, dups


def read_yaml(path: str | Path) -> Source:
    """Read one YAML file safely and within :data:`LIMITS`, keeping the line of every key path."""
    path = Path(path)
    name = str(path)
    text = _read_text(path)
    data, origin, dups = parse_text(text, name)
    if data is None:
        data = {}
    origin.setdefault((), (name, 1))  # a key missing at the top level is reported at line 1
    if dups:
        raise InputError(dups)
    return Source(data=data, origin=origin, files=[name])


def deep_merge(base: Any, over: Any) -> Any:
    """Merge ``over`` into ``base``: mappings merge key by key, anything else is replaced.

    The result shares no mapping or list with either input."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = {k: unshare(v) for k, v in base.items()}
        for k, v in over.items():
            out[k] = deep_merge(base[k], v) if k in base else unshare(v)
        return out
    return unshare(over)


def merge_sources(base: Source, over: Source) -> Source:
    """``over`` deep-merged onto ``base``: the data merged, the line of each key from where it was last given."""
    data = deep_merge(base.data, over.data)
    origin = dict(base.origin)
    origin.update(over.origin)
    return Source(data=data, origin=origin, files=base.files + over.files)


# ---------------------------------------------------------------- key paths and overrides
_TOKEN = re.compile(r"([^.\[\]]+)|\[([^\[\]]*)\]")


def parse_key_path(text: str) -> Key:
    """``"warehouses[1].pickers"`` -> ``("warehouses", 1, "pickers")``; raises ValueError.

    ``[3]`` is a position, ``[east_dc]`` the item whose ``name`` (or ``id``, ``sku``) is
    ``east_dc``, and ``[*]`` every item of the list."""
    if not text or text.startswith(".") or text.endswith(".") or ".." in text:
        raise ValueError(f"bad key path {text!r}")
    parts: list = []
    pos = 0
    for m in _TOKEN.finditer(text):
        gap = text[pos : m.start()]
        if m.start() != pos and (gap != "." or m.group(1) is None):  # 'a.[0]' and 'a b' are typos
            raise ValueError(f"bad key path {text!r}")
        if m.group(1) is not None:
            parts.append(m.group(1))
        else:
            inner = m.group(2).strip()
            if not inner:
                raise ValueError(f"bad key path {text!r}: empty []")
            parts.append(int(inner) if inner.isdigit() else Select(inner))
        pos = m.end()
    if pos != len(text) or not parts or not isinstance(parts[0], str):
        raise ValueError(f"bad key path {text!r}")
    return tuple(parts)


def item_name(item: Any) -> str | None:
    """The name a list item answers to in ``[name]``: its ``name``, ``id`` or ``sku``."""
    if isinstance(item, dict):
        for key in NAME_KEYS:
            if isinstance(item.get(key), (str, int)) and not isinstance(item.get(key), bool):
                return str(item[key])
    return None


def resolve_path(data: Any, path: Key) -> list[Key]:
    """The concrete key paths (strings and positions only) that ``path`` names in ``data``.

    ValueError for a name that is not there (listing the names there are) or a part that
    does not fit the data; keys that do not exist yet are fine (an override may add them)."""
    out: list[Key] = []

    def walk(node: Any, i: int, done: tuple) -> None:
        if i == len(path):
            out.append(done)
            return
        part = path[i]
        here = format_path(done) or "top level"
        if isinstance(part, (int, Select)):
            if not isinstance(node, list):
                raise ValueError(f"{here} is not a list")
            if isinstance(part, int):
                if part >= len(node):
                    raise ValueError(
                        f"{format_path((*done, part))}: index {part} out of range (the list has {len(node)} items)"
                    )
                walk(node[part], i + 1, (*done, part))
            elif part == ALL:
                for j, item in enumerate(node):
                    walk(item, i + 1, (*done, j))
            else:
                names = [item_name(item) for item in node]
                hits = [j for j, n in enumerate(names) if n == part.name]
                if not hits:
                    there = [n for n in names if n is not None]
                    listed = ", ".join(there) if there else "none: its items have no name"
                    raise ValueError(
                        f"{format_path((*done, part))}: no item named {part.name!r}"
                        f"{suggest(part.name, there)}; the names there are: {listed}"
                    )
                for j in hits:
                    walk(node[j], i + 1, (*done, j))
        else:
            if isinstance(node, list):
                raise ValueError(f"{here} is not a mapping")
            # a scalar on the way is replaced by a mapping (the schema then says what it should be)
            walk(node.get(part) if isinstance(node, dict) else None, i + 1, (*done, part))

    walk(data, 0, ())
    return out


def _set_one(data: Any, path: Key, value: Any) -> None:
    node = data
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if isinstance(part, int):
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


def set_path(data: dict, path: Key, value: Any) -> dict:
    """A copy of ``data`` with every place ``path`` names set to (its own copy of) ``value``.

    ValueError if a position or name is not there. Nothing else in the copy changes."""
    targets = resolve_path(data, path)
    data = unshare(data)
    for target in targets:
        _set_one(data, target, unshare(value))
    return data


def parse_value(text: str) -> Any:
    """An override's value read as a YAML scalar or flow collection, within the same limits."""
    if len(text) > LIMITS["value_chars"]:
        raise ValueError(f"the value is longer than {LIMITS['value_chars']:,} characters")
    if not text.strip():
        return None
    try:
        data, _origin, _dups = parse_text(text, "value")
    except InputError as exc:
        reason = exc.problems[0].message
        raise ValueError(f"cannot read the value as YAML: {reason}") from None
    return data


def parse_assignment(text: str) -> tuple[Key, Any]:
    """``"a.b[0].c=12"`` -> (("a", "b", 0, "c"), 12); the value is read as a YAML scalar/flow."""
    if "=" not in text:
        raise ValueError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    return parse_key_path(key.strip()), parse_value(value)


def short_label(key_text: str) -> str:
    """A short label for an override key in grid point names and plot axes.

    >>> short_label("warehouses[east_dc].picking.promo_extra_pickers")
    'east_dc.promo_extra_pickers'
    >>> short_label("warehouses[0].picking.pickers"), short_label("warehouses[*].picking.pickers")
    ('pickers', 'pickers')
    """
    path = parse_key_path(key_text.split(",")[0].strip())
    names = [p.name for p in path if isinstance(p, Select) and p != ALL]
    last = next((p for p in reversed(path) if isinstance(p, str)), str(path[-1]))
    return ".".join([*names, last])


def suggest(word: str, choices) -> str:
    """`` (did you mean 'pickers'?)`` or ``""``."""
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""
