"""``run.py list``: the shipped scenarios and experiment specs, one line each with its description."""

from __future__ import annotations

from pathlib import Path

from experiments.cli import EXIT_OK
from sim.scenario.errors import InputError
from sim.scenario.yamlio import read_yaml

ROOT = Path(__file__).resolve().parents[2]


def description(path: Path) -> str:
    """A YAML file's ``description`` on one line; a broken file gives its first problem instead."""
    try:
        data = read_yaml(path).data
    except InputError as exc:  # a broken file is listed with its first problem
        data = {"description": f"(cannot be read: {exc.problems[0]})"}
    return " ".join(str(data.get("description", "")).split()) if isinstance(data, dict) else ""


def run(args) -> int:
    """Print ``scenarios/*.yaml`` and ``experiments/*.yaml`` with their descriptions; 0."""
    for folder, kind in (("scenarios", "scenario"), ("experiments", "experiment")):
        print(f"{kind}s ({folder}/):")
        for path in sorted((ROOT / folder).glob("*.yaml")):
            print(f"  {folder}/{path.name:<28} {description(path)}")
    return EXIT_OK
