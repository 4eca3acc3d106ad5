"""``run.py validate SCENARIO``: check a scenario file, print a one-line summary and the work estimate."""

from __future__ import annotations

from experiments.cli import EXIT_OK, refuse
from sim.scenario.estimate import check_work, estimate_work
from sim.scenario.explain import summary_line
from sim.scenario.loader import load_scenario


def run(args) -> int:
    """Load and check the scenario (with ``--set`` and ``--plan``); 0 when it is valid and not too large."""
    scenario = load_scenario(args.file, args.set, args.plan)
    work, refused = check_work(args.file, [estimate_work(scenario)], allow_large=args.allow_large)
    if refused:
        return refuse(refused)
    print(f"{args.file}: OK — {summary_line(scenario)}")
    print(work)
    return EXIT_OK
