"""``run.py explain SCENARIO``: what a scenario sets up, in plain words."""

from __future__ import annotations

from experiments.cli import EXIT_OK
from sim.scenario.explain import explain
from sim.scenario.loader import load_scenario


def run(args) -> int:
    """Print :func:`sim.scenario.explain.explain` of the loaded scenario; 0."""
    print(explain(load_scenario(args.file, args.set, args.plan)))
    return EXIT_OK
