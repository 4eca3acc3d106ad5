"""``run.py schema --json [--spec]``: JSON Schemas of scenario and spec files, for editors.

The schema comes from the pydantic models (``sim.scenario.schema.Scenario``,
``experiments.spec.Spec``) and describes one *file*, as an editor sees it:

* a scenario file may ``extends:`` another and write only what it changes, so no key
  is required here (``run.py validate`` checks the merged scenario);
* a distribution may be written as a bare number (a constant), as the loader allows.

A course LP file (``promotion_lp:``, ``optimize.promotion_course``) has its own schema
(``--course``). The committed copies are docs/schema/scenario.schema.json,
docs/schema/spec.schema.json and docs/schema/promotion_lp.schema.json;
shipped YAML files point to them in their first line
(``# yaml-language-server: $schema=../docs/schema/scenario.schema.json``).

>>> schema("scenario")["properties"]["extends"]["type"]
'string'
"""

from __future__ import annotations

import json

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _file_view(node):
    """Drop ``required`` everywhere; let a distribution also be a bare number (recursively)."""
    if isinstance(node, list):
        return [_file_view(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _file_view(v) for k, v in node.items() if k != "required"}
    if out.get("discriminator", {}).get("propertyName") == "dist" and "oneOf" in out:
        alternatives = {"oneOf": out.pop("oneOf"), "discriminator": out.pop("discriminator")}
        out["anyOf"] = [{"type": "number", "description": "a constant"}, alternatives]
    return out


def schema(kind: str = "scenario") -> dict:
    """The JSON Schema (draft 2020-12) of a scenario (``kind="scenario"``), spec (``"spec"``) or course LP file."""
    if kind == "scenario":
        from sim.scenario.schema import Scenario

        body = _file_view(Scenario.model_json_schema())
        body["properties"]["extends"] = {
            "type": "string",
            "description": "scenario file this one builds on (relative to this file)",
        }
        title = "ecomlab scenario"
    elif kind == "spec":
        from experiments.spec import Spec

        body = _file_view(Spec.model_json_schema())
        title = "ecomlab experiment spec"
    elif kind == "course":
        from optimize.promotion_course import CourseFile

        body = CourseFile.model_json_schema()  # a whole file: its required keys stay required
        title = "ecomlab course promotion LP"
    else:
        raise ValueError(f"kind must be 'scenario', 'spec' or 'course', got {kind!r}")
    return {"$schema": DIALECT, "title": title, **{k: v for k, v in body.items() if k != "title"}}


def schema_text(kind: str = "scenario") -> str:
    """``schema(kind)`` as the committed file holds it: indented JSON, sorted keys, a final newline."""
    return json.dumps(schema(kind), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
