"""``run.py compare RUN_A RUN_B``: two finished runs KPI by KPI (paired on common seeds, else Welch)."""

from __future__ import annotations

from pathlib import Path

from experiments.cli import EXIT_OK, refuse
from experiments.compare import CompareError, compare_runs, format_table, method_line, write_compare
from experiments.output import inside


def run(args) -> int:
    """Read, compare, print, then write the report folder (nothing on bad input)."""
    try:
        a, b, c = compare_runs(args.run_a, args.run_b, args.results, args.metric or None)
    except CompareError as exc:
        return refuse(f"{exc}; nothing was written.")
    if args.out is None:
        inside(args.results, Path(args.results) / "compare")
    print(f"A: {a.label} ({c.n_a} replications)\nB: {b.label} ({c.n_b} replications)")
    print(method_line(a, b, c))
    print(format_table(a, b, c))
    folder = write_compare(a, b, c, args.results, args.out)
    print(f"wrote {folder / 'compare.md'}")
    return EXIT_OK
