"""The JSON Schemas for editors stay fresh, and every shipped file validates against its own.

* docs/schema/scenario.schema.json and spec.schema.json equal ``run.py schema --json [--spec]``;
* every shipped scenario and spec names its schema in its first line (yaml-language-server)
  and validates against it, with YAML read as an editor reads it (dates stay strings).
"""

from __future__ import annotations

import json

import pytest
import yaml
from helpers import ROOT, run_cli

jsonschema = pytest.importorskip("jsonschema")

SCHEMAS = {
    "scenario": ROOT / "docs" / "schema" / "scenario.schema.json",
    "spec": ROOT / "docs" / "schema" / "spec.schema.json",
    "course": ROOT / "docs" / "schema" / "promotion_lp.schema.json",
}
#: docs/examples holds specs, these scenarios, and column mappings (``*.mapping.yaml``: neither)
EXAMPLE_SCENARIOS = {"shop.yaml", "ss_poisson.yaml"}
EXAMPLE_COURSE = {"promotion_lp.yaml"}
SHIPPED = (
    [(p, "scenario") for p in sorted((ROOT / "scenarios").glob("*.yaml"))]
    + [(p, "spec") for p in sorted((ROOT / "experiments").glob("*.yaml"))]
    + [
        (p, "scenario" if p.name in EXAMPLE_SCENARIOS else "course" if p.name in EXAMPLE_COURSE else "spec")
        for p in sorted((ROOT / "docs" / "examples").glob("*.yaml"))
        if not p.name.endswith(".mapping.yaml")
    ]
)


class _EditorLoader(yaml.SafeLoader):
    """Safe YAML without the timestamp resolver: ``2026-11-11`` stays a string, as in an editor."""


_EditorLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_committed_schema_is_up_to_date(kind):
    args = ["schema", "--json", *{"spec": ["--spec"], "course": ["--course"]}.get(kind, [])]
    res = run_cli(*args, timeout=120)
    assert res.returncode == 0, res.stderr
    path = SCHEMAS[kind]
    assert res.stdout == path.read_text(encoding="utf-8"), (
        f"{path.relative_to(ROOT)} is stale (the pydantic models changed). Regenerate it from the repository "
        f"root with:\n    python run.py {' '.join(args)} > {path.relative_to(ROOT)}\nand commit the result."
    )


@pytest.mark.parametrize("path,kind", SHIPPED, ids=[f"{p.parent.name}/{p.name}" for p, _ in SHIPPED])
def test_shipped_file_names_and_satisfies_its_schema(path, kind):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    target = (path.parent / first.partition("$schema=")[2]).resolve()
    assert first.startswith("# yaml-language-server: $schema=") and target == SCHEMAS[kind], first
    schema = json.loads(SCHEMAS[kind].read_text(encoding="utf-8"))
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_EditorLoader)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:200]}" for e in errors)


def test_schema_catches_a_misspelt_key():
    schema = json.loads(SCHEMAS["scenario"].read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors({"name": "x", "demnd": {}}))
    assert errors and "demnd" in errors[0].message
