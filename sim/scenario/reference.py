"""The scenario reference, generated from the pydantic schema: every key, type, default, range, meaning.

``python run.py schema --markdown > docs/scenario-reference.md`` regenerates the committed
page; a test fails when it is stale.

Every key changes the simulation, except the ones listed in ``OPTIMIZER_ONLY`` (read by an
optimizer only; the reference and ``explain`` say so) and ``LABEL_ONLY`` (text shown in
outputs); tests/sim/test_storage_and_costs.py checks that the simulator reads every other key.

>>> rows = reference_rows()
>>> next(r for r in rows if r.key == "warehouses[].picking.pickers").allowed
'>= 0, <= 100000'
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from sim.metrics import WAREHOUSE_COST_RULE
from sim.model.inventory import STORAGE_RULE
from sim.scenario.distributions import DIST_NAMES
from sim.scenario.schema import Scenario

# Keys the simulator never reads: key path -> the optimizer that reads it.
OPTIMIZER_ONLY: dict[str, str] = {
    "demand.channels[].min_budget": "promotion optimizer",
    "demand.channels[].max_budget": "promotion optimizer",
    "demand.channels[].max_spend_per_day": "promotion optimizer",
}
# Keys that are text for people (shown by explain, reports and manifests), not model inputs.
LABEL_ONLY: dict[str, str] = {
    "description": "shown by explain and in reports",
}

OPTIMIZER_ONLY_NOTE = "optimizer only: the simulation ignores it"


@dataclass(frozen=True)
class RefRow:
    """One row of the reference: a key path and its type, default, allowed range and meaning."""

    key: str
    type: str
    default: str
    allowed: str
    meaning: str


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _unwrap(tp: Any) -> tuple[Any, list[Any], bool]:
    """(type without Annotated/Optional/list, constraint metadata, is_list)."""
    meta: list[Any] = []
    is_list = False
    while True:
        if _is_dist(tp):
            break
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            args = typing.get_args(tp)
            tp, meta = args[0], meta + list(args[1:])
        elif origin in (list, tuple) and not _is_dist(tp):
            is_list = True
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [a for a in members if _is_model(a) and not _is_dist(a)]
            if len(members) == 1 or (models and len(models) == len(members)):
                tp = members[0]
            else:
                break
        else:
            break
    return tp, meta, is_list


def _is_dist(tp: Any) -> bool:
    """The distribution union (written {dist: ..., ...} in YAML)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _is_dist(typing.get_args(tp)[0])
    names = {getattr(a, "__name__", "") for a in typing.get_args(tp)}
    return {"Constant", "LogNormal"} <= names


def _type_name(tp: Any) -> str:
    """The type in words: number, integer, text, distribution, one of ..., list of ..."""
    if _is_dist(tp):
        return "distribution"
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        parts = [_type_name(_unwrap(a)[0]) for a in typing.get_args(tp) if a is not type(None)]
        return " or ".join(dict.fromkeys(parts))
    if origin is dict:
        k, v = typing.get_args(tp)
        return f"mapping {_type_name(k)} -> {_type_name(v)}"
    if isinstance(tp, type):
        return {
            "float": "number",
            "int": "integer",
            "str": "text",
            "bool": "true/false",
            "date": "date (YYYY-MM-DD)",
        }.get(tp.__name__, tp.__name__)
    return str(tp).replace("typing.", "")


def _range(meta: list[Any]) -> str:
    """The bounds and lengths in ``meta`` in words (``>= 0, <= 100000``)."""
    parts = []
    for m in meta:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            value = getattr(m, attr, None)
            if value is not None and isinstance(
                m,
                (
                    annotated_types.Ge,
                    annotated_types.Gt,
                    annotated_types.Le,
                    annotated_types.Lt,
                    annotated_types.Interval,
                ),
            ):
                parts.append(f"{sym} {value:g}" if isinstance(value, (int, float)) else f"{sym} {value}")
        if isinstance(m, annotated_types.MinLen) and m.min_length:
            parts.append(f"at least {m.min_length} item(s)")
        if isinstance(m, annotated_types.MaxLen):
            parts.append(f"at most {m.max_length} item(s)")
    return ", ".join(dict.fromkeys(parts))


def _default(field: FieldInfo) -> str:
    """The default in words: required, none, the value, or (defaults below) for a nested mapping."""
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        if field.default_factory_takes_validated_data:
            return "(derived)"
        value = field.get_default(call_default_factory=True)
    else:
        value = field.default
    if value is PydanticUndefined or value is None:
        return "none"
    if isinstance(value, (list, tuple)) and len(value) > 4:
        return f"[{', '.join(map(str, value[:3]))}, ...]"
    if isinstance(value, BaseModel):
        return "(defaults below)"
    return str(value)


def reference_rows(model: type[BaseModel] = Scenario, prefix: str = "") -> list[RefRow]:
    """One row per key of ``model`` and, depth first, of every model nested in it."""
    rows = []
    for name, field in model.model_fields.items():
        key_name = field.alias or name
        tp, meta, is_list = _unwrap(field.annotation)
        meta = meta + list(field.metadata)
        key = f"{prefix}{key_name}{'[]' if is_list else ''}"
        if _is_model(tp) and not _is_dist(tp):
            rows.append(
                RefRow(
                    key,
                    "list of mappings" if is_list else "mapping",
                    _default(field),
                    _range(meta),
                    field.description or (tp.__doc__ or "").strip().split("\n")[0],
                )
            )
            rows += reference_rows(tp, key + ".")
        else:
            type_text = ("list of " if is_list else "") + _type_name(tp)
            allowed = _range(meta)
            if type_text == "text":
                allowed = allowed.replace("at least 1 item(s)", "non-empty")
            meaning = field.description or ""
            if key in OPTIMIZER_ONLY:
                meaning = f"{meaning} ({OPTIMIZER_ONLY_NOTE})"
            rows.append(RefRow(key, type_text, _default(field), allowed, meaning))
    return rows


RULES = {"Storage capacity": STORAGE_RULE, "Warehouse handling and fixed costs": WAREHOUSE_COST_RULE}


def markdown() -> str:
    """The reference page (docs/scenario-reference.md): the key table and the rules the simulator applies."""
    lines = [
        "# Scenario reference",
        "",
        "Generated from the schema in `sim/scenario/schema.py` by `python run.py schema --markdown`; "
        "a test fails when this page is stale. Key paths use `[]` for list items "
        "(`warehouses[].picking.pickers` is written `warehouses[0].picking.pickers` in `--set`).",
        "",
        "A **distribution** is a number (a constant) or a mapping with `dist:` one of "
        + ", ".join(f"`{d}`" for d in DIST_NAMES)
        + " and its parameters: `constant {value}`, `uniform {low, high}`, `normal {mean, sd}` (truncated at 0), "
        "`lognormal {mean, cv}`, `gamma {mean, cv}`, `exponential {mean}`, `poisson {mean, shift}`, "
        "`negative_binomial {mean, dispersion, shift}`, `empirical {values, probs}`.",
        "",
        "| key | type | default | allowed | meaning |",
        "|---|---|---|---|---|",
    ]
    for r in reference_rows():
        cells = [f"`{r.key}`", r.type, r.default, r.allowed, r.meaning]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines += ["", "## Rules the simulator applies", ""]
    for title, text in RULES.items():
        lines += [f"**{title}.** {text}", ""]
    lines += [
        "**Optimizer-only keys.** "
        + ", ".join(f"`{k}` ({v})" for k, v in OPTIMIZER_ONLY.items())
        + ": the simulation ignores them; `run.py explain` lists those a scenario sets."
    ]
    return "\n".join(lines) + "\n"


def plain() -> str:
    """The reference as plain text, one key per line (``run.py schema``)."""
    width = max(len(r.key) for r in reference_rows())
    return "\n".join(
        f"{r.key:<{width}}  {r.type}; default {r.default}"
        + (f"; {r.allowed}" if r.allowed else "")
        + (f" — {r.meaning}" if r.meaning else "")
        for r in reference_rows()
    )
