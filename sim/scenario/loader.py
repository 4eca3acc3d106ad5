"""Load, merge, override and validate scenario files.

``load_scenario(path, overrides=(), plans=())`` reads a YAML file, follows
``extends:`` (deep merge onto the base file; mappings merge, lists are
replaced), applies plan overlays and ``a.b[0].c=value`` overrides, and returns
a frozen :class:`sim.scenario.schema.Scenario`. Every problem is collected and raised
together as :class:`sim.scenario.yamlio.InputError`, one line each with file, line and
key path.

>>> s = load_scenario("scenarios/classroom_sq.yaml", overrides=["horizon_days=100"])
>>> s.horizon_days, s.inventory.policy.type
(100, 'sQ')
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from sim.scenario.distributions import DIST_NAMES
from sim.scenario.errors import InputError, Problem
from sim.scenario.schema import Scenario
from sim.scenario.yamlio import (
    Source,
    format_path,
    merge_sources,
    parse_assignment,
    parse_key_path,
    read_yaml,
    resolve_path,
    set_path,
    suggest,
    unshare,
)

MAX_EXTENDS_DEPTH = 10


def _read_with_extends(path: Path, seen: tuple[Path, ...] = ()) -> Source:
    """The file at ``path`` merged onto the chain of files its ``extends:`` names (base first)."""
    src = read_yaml(path)
    if not isinstance(src.data, dict):
        raise InputError([Problem(str(path), 1, "", "a scenario must be a mapping of keys to values")])
    base_ref = src.data.get("extends")
    if base_ref is None:
        return src
    file, line = src.origin.get(("extends",), (str(path), None))
    if not isinstance(base_ref, str):
        raise InputError([Problem(file, line, "extends", "must be a file name (string)")])
    base_path = (path.parent / base_ref).resolve()
    if base_path in seen or len(seen) > MAX_EXTENDS_DEPTH:
        raise InputError([Problem(file, line, "extends", f"circular or too deep extends chain at {base_ref!r}")])
    if not base_path.is_file():
        raise InputError(
            [Problem(file, line, "extends", f"base file {base_ref!r} not found (looked in {path.parent})")]
        )
    base = _read_with_extends(base_path, (*seen, path.resolve()))
    merged = merge_sources(base, src)
    merged.data.pop("extends", None)
    return merged


def _clean_loc(loc: tuple, data: Any) -> tuple:
    """Drop the union-tag parts pydantic adds to a location (e.g. 'lognormal')."""
    out: list = []
    node = data
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            out.append(part)
            node = node[part]
        elif isinstance(node, (dict, list)) or node is None:
            # a missing key (report it) or a tag that names a union member (skip it)
            if isinstance(part, str) and (not isinstance(node, dict) or _is_tag(part)):
                continue
            out.append(part)
            node = None
        # scalars: union-member names and the like; skip
    return tuple(out)


_TAGS = {
    *DIST_NAMES,
    "float",
    "str",
    "int",
    "date",
    "literal['eoq']",
    "function-after[_date(), union[date,str]]",
    "constrained-float",
    "list[...]",
}


def _is_tag(part: str) -> bool:
    """Whether a location part is a name pydantic gives a union member or a validator, not a key."""
    return part in _TAGS or part.startswith(("function-", "literal[", "constrained-", "tuple[", "list["))


def _model_at(model: type[BaseModel], path: tuple) -> type[BaseModel] | None:
    """The pydantic model class found at ``path`` inside ``model`` (for 'did you mean')."""
    import typing

    current = model
    for part in path:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return None
        ann = field.annotation
        candidates = [ann, *list(typing.get_args(ann))]
        nxt = None
        for c in candidates:
            for cc in [c, *list(typing.get_args(c))]:
                if isinstance(cc, type) and issubclass(cc, BaseModel):
                    nxt = cc
                    break
            if nxt:
                break
        if nxt is None:
            return None
        current = nxt
    return current


def _error_message(err: ErrorDetails, path: tuple, model: type[BaseModel]) -> str:
    """The message of one pydantic error in the words of a scenario file (unknown key, did you mean)."""
    kind = err["type"]
    if kind == "extra_forbidden":
        parent = _model_at(model, path[:-1])
        return f"unknown key{suggest(path[-1], list(parent.model_fields) if parent else [])}"
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        tag = err["input"].get("dist")
        return f"unknown distribution {tag!r}" + suggest(tag, DIST_NAMES)
    if kind == "union_tag_not_found":
        return "a distribution needs a 'dist:' key (e.g. {dist: lognormal, mean: 7, cv: 0.3}) or a number"
    return err["msg"].replace("Value error, ", "")


def pydantic_problems(
    exc: ValidationError, src: Source, main_file: str, model: type[BaseModel] = Scenario
) -> list[Problem]:
    """One Problem per key path; the alternatives of a union are joined with 'or'."""
    by_path: dict[tuple, list] = {}
    for err in exc.errors():
        path = _clean_loc(tuple(err["loc"]), src.data)
        entry = by_path.setdefault(path, [[], err.get("input")])
        msg = _error_message(err, path, model)
        if msg not in entry[0]:
            entry[0].append(msg)
    problems = []
    for path, (msgs, value) in by_path.items():
        prefix = "Input should be "
        if len(msgs) > 1 and all(m.startswith(prefix) for m in msgs):
            msg = prefix + " or ".join(m[len(prefix) :] for m in msgs)
        else:
            msg = "; ".join(msgs)
        if value is not None and not isinstance(value, (dict, list)) and "unknown" not in msg:
            msg += f" (got {value!r})"
        file, line = src.locate(path, main_file)
        problems.append(Problem(file, line, format_path(path), msg))
    return problems


MAX_REPAIR_ROUNDS = 4


def _without(data: Any, path: tuple) -> Any:
    """A copy of ``data`` without the key at ``path`` (so its default applies), or None when
    that would leave a required key missing or move list items (then cross-field rules wait)."""
    if not path or not isinstance(path[-1], str):
        return None
    out = unshare(data)
    parent = value_at(out, path[:-1])
    if not isinstance(parent, dict) or path[-1] not in parent:
        return None
    del parent[path[-1]]
    return out


def _repaired(data: Any, exc: ValidationError) -> Scenario | None:
    """The data with every key pydantic refused removed, if it then validates; else None.

    Lets the cross-field rules run on the rest of the file, so field and cross-field
    problems are reported in one pass."""
    for _round in range(MAX_REPAIR_ROUNDS):
        for err in exc.errors():
            path = _clean_loc(tuple(err["loc"]), data)
            if err["type"] == "missing":
                path = path[:-1]  # a required key is missing: drop its (optional) parent block
            fixed = _without(data, path)
            if fixed is None:
                return None
            data = fixed
        try:
            return Scenario.model_validate(data)
        except ValidationError as again:
            exc = again
        except (ValueError, TypeError):
            return None
    return None


def _cross_field(scenario: Scenario, src: Source, main_file: str) -> list[Problem]:
    """The cross-field rules of :mod:`sim.scenario.checks` as Problems located in the files."""
    from sim.scenario.checks import semantic_problems  # cross-field rules

    problems = []
    for path, msg in semantic_problems(scenario):
        file, line = src.locate(path, main_file)
        problems.append(Problem(file, line, format_path(path), msg))
    return problems


def validate_data(src: Source, main_file: str) -> Scenario:
    """Validate merged data: every field problem and, where they can still be evaluated on
    the rest of the data, every cross-field problem, all in one InputError."""
    try:
        scenario = Scenario.model_validate(src.data)
    except ValidationError as exc:
        problems = pydantic_problems(exc, src, main_file)
        partial = _repaired(src.data, exc)
        if partial is not None:
            shown = {p.path for p in problems}
            for p in _cross_field(partial, src, main_file):
                # a rule about a key whose value was refused would judge its default: skip it
                if not any(
                    p.path == s
                    or p.path.startswith(s + ".")
                    or p.path.startswith(s + "[")
                    or s.startswith(p.path + ".")
                    or s.startswith(p.path + "[")
                    or s.rsplit(".", 1)[-1] in p.message
                    for s in shown
                ):
                    problems.append(p)
        raise InputError(problems) from None
    problems = _cross_field(scenario, src, main_file)
    if problems:
        raise InputError(problems)
    return scenario


def value_at(data: Any, path: tuple) -> Any:
    """The value at the concrete key path ``path`` in plain YAML data, or None if there is none.

    >>> value_at({"warehouses": [{"name": "main"}]}, ("warehouses", 0, "name"))
    'main'
    >>> value_at({"warehouses": []}, ("warehouses", 0, "name")) is None
    True
    """
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def blame_override(origin: dict, old_data: Any, key: tuple, where: tuple) -> None:
    """From the first level an override creates or replaces, key paths come from the override."""
    n = next(
        n for n in range(1, len(key) + 1) if n == len(key) or not isinstance(value_at(old_data, key[:n]), (dict, list))
    )
    for p in [p for p in origin if p[:n] == key[:n]]:
        del origin[p]
    origin[key[:n]] = where


def _is_key_path(key: object) -> bool:
    """Whether a plan key is written as a key path (``a.b`` or ``a[x]``) rather than a plain key."""
    return isinstance(key, str) and any(c in key for c in ".[")


def _overlay(src: Source, overlay: Source, name: str, problems: list[Problem]) -> Source:
    """Merge a plan overlay: plain keys merge as mappings; keys written as key paths
    (``"warehouses[east_dc].picking.pickers": 4``) set exactly the node they name."""
    plain = {k: v for k, v in overlay.data.items() if not _is_key_path(k)}
    src = merge_sources(src, Source(data=plain, origin=overlay.origin, files=overlay.files))
    for key_text, value in overlay.data.items():
        if not _is_key_path(key_text):
            continue
        where = overlay.origin.get((key_text,), (name, None))
        try:
            key = parse_key_path(key_text)
            targets = resolve_path(src.data, key)
            old = src.data
            src.data = set_path(old, key, value)
            for target in targets:
                blame_override(src.origin, old, target, where)
        except ValueError as exc:
            problems.append(Problem(where[0], where[1], key_text, str(exc)))
    return src


def load_source(
    path: str | Path, overrides: Iterable[str] = (), plans: Iterable[str | Path] = (), overlays: Iterable[dict] = ()
) -> Source:
    """Merged raw data (extends, plans, overlay dicts, overrides applied) with line origins."""
    path = Path(path)
    src = _read_with_extends(path)
    problems: list[Problem] = []
    for overlay in overlays:
        data = {k: v for k, v in overlay.items() if k != "plan_info"}
        src = _overlay(src, Source(data=data, origin={}, files=["(plan)"]), "(plan)", problems)
    for plan in plans:
        plan_src = read_yaml(plan)
        if not isinstance(plan_src.data, dict):
            raise InputError([Problem(str(plan), 1, "", "a plan must be a mapping of scenario keys")])
        plan_src.data.pop("plan_info", None)
        src = _overlay(src, plan_src, str(plan), problems)
    src = apply_overrides(src, overrides, problems)
    if problems:
        raise InputError(problems)
    return src


def apply_overrides(src: Source, overrides: Iterable[str | tuple[str, str]], problems: list[Problem]) -> Source:
    """Apply ``KEY=VALUE`` overrides in order; an item may be ``(origin, text)`` so that a problem
    names the option it came from (``--window``) instead of ``--set``."""
    for item in overrides:
        origin, text = item if isinstance(item, tuple) else ("--set", item)
        try:
            key, value = parse_assignment(text)
            old = src.data
            targets = resolve_path(old, key)  # [east_dc] and [*] name concrete list positions
            src.data = set_path(old, key, value)
            for target in targets:
                blame_override(src.origin, old, target, (origin, None))
        except ValueError as exc:
            problems.append(Problem(origin, None, text.split("=", 1)[0], str(exc)))
    return src


def window_override(start: object, end: object) -> tuple[str, str]:
    """The override ``--window START:END`` stands for: ``kpi_window={start: START, end: END}``."""
    return ("--window", f"kpi_window={{start: {start}, end: {end}}}")


def load_scenario(
    path: str | Path, overrides: Iterable[str] = (), plans: Iterable[str | Path] = (), overlays: Iterable[dict] = ()
) -> Scenario:
    """Read, merge and validate a scenario file; raises InputError listing every problem.

    ``plans`` are overlay files written by the optimizers; ``overlays`` the same as dicts.
    """
    src = load_source(path, overrides, plans, overlays)
    return validate_data(src, str(path))


def scenario_to_dict(scenario: Scenario) -> dict:
    """Plain data (dates as ISO strings) that reloads to an equal scenario."""
    return json.loads(scenario.model_dump_json(by_alias=True, exclude_none=True))


def dump_scenario(scenario: Scenario) -> str:
    """The resolved scenario as YAML text (keys in schema order), as run folders keep it."""
    return yaml.safe_dump(scenario_to_dict(scenario), sort_keys=False, allow_unicode=True)


def scenario_hash(scenario: Scenario) -> str:
    """A short stable hash of the resolved scenario (for manifests and caches)."""
    text = json.dumps(scenario_to_dict(scenario), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def day_date(scenario: Scenario, day: int) -> dt.date:
    """The calendar date of simulated day ``day`` (day 0 is ``start_date``).

    >>> day_date(load_scenario("scenarios/classroom_sq.yaml"), 31)
    datetime.date(2026, 2, 1)
    """
    return scenario.start_date + dt.timedelta(days=day)
