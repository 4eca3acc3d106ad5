"""``run.py check-theory``: simulate textbook cases and compare with their formulas, one row per check."""

from __future__ import annotations

from experiments.cli import EXIT_FAILED, EXIT_OK
from experiments.theory_check import format_rows, run_cases


def run(args) -> int:
    """Run the chosen cases through the batch runner, print the table; 1 when a check disagrees."""
    rows = run_cases(
        args.case or None, args.replications, getattr(args, "workers", 1) or 1, quiet=getattr(args, "quiet", False)
    )
    print(format_rows(rows))
    bad = [r for r in rows if not r.agrees]
    print(f"{len(rows) - len(bad)} of {len(rows)} checks agree with the formulas")
    return EXIT_FAILED if bad else EXIT_OK
