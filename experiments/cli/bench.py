"""``run.py bench``: measure speed as ratios to a bare-SimPy baseline run alongside; write bench.json/.md."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict

from experiments.bench import format_table, run_bench
from experiments.cli import EXIT_OK
from experiments.output import RunFolder, atomic_write_text, manifest


def run(args) -> int:
    """Run the benchmark cases (progress on stderr), print the table, write the bench folder."""
    start = time.perf_counter()
    cases = run_bench(quick=args.quick, log=lambda m: print(m, file=sys.stderr))
    table = format_table(cases)
    print(table)
    with RunFolder(args.results, "bench", "quick" if args.quick else "full", args.out) as rf:
        rf.write_json(
            "bench.json",
            {
                "cases": [asdict(c) for c in cases],
                "wall_seconds": time.perf_counter() - start,
                "manifest": manifest(kind="bench", quick=args.quick, cpus=os.cpu_count()),
            },
        )
        atomic_write_text(rf.path / "bench.md", "# ecomlab bench\n\n" + table + "\n")
    print(f"wrote {rf.final} in {time.perf_counter() - start:,.0f} s")
    return EXIT_OK
