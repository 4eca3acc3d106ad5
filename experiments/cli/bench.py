"""``run.py bench``: run the cases (or read a finished run), print the table with targets, compare with an old run.

``--compare OLD.json`` is read before anything runs: a missing or foreign file is one line and
exit 2, with nothing written. ``--against NEW.json`` compares two finished runs without running.
"""

from __future__ import annotations

import math
import statistics
import sys

from experiments.bench import BenchFileError, compare_cases, read_bench, run_bench, to_json
from experiments.cli import EXIT_OK, refuse
from experiments.output import RunFolder, atomic_write_text, manifest


def run(args) -> int:
    """Run the bench (progress on stderr), print the table and the comparison, write the bench folder."""
    try:
        old = read_bench(args.compare) if args.compare else None
        new = read_bench(args.against, "--against") if args.against else None
    except BenchFileError as exc:
        return refuse(str(exc))
    if new is not None:
        if old is None:
            return refuse("--against needs --compare OLD.json (the run to compare with)")
        print(format_compare(old, new))
        return EXIT_OK
    result = run_bench(quick=args.quick, only=args.only, log=lambda m: print(m, file=sys.stderr))
    data = to_json(result)
    text = format_table(data) + ("\n\n" + format_compare(old, data) if old else "")
    print(text)
    with RunFolder(args.results, "bench", "quick" if args.quick else "full", args.out) as rf:
        rf.write_json("bench.json", {**data, "manifest": manifest(kind="bench", quick=args.quick)})
        atomic_write_text(rf.path / "bench.md", "# ecomlab bench\n\n" + text + "\n")
    print(f"wrote {rf.final} in {result.seconds:,.0f} s")
    return EXIT_OK


def number(value: float | None, digits: int = 4) -> str:
    """A figure with ``digits`` significant digits and thousands separators; empty if missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if math.isinf(value):
        return "inf"
    return f"{value:,.{digits}g}"


def span(low: float | None, high: float | None) -> str:
    """``low-high`` with 3 significant digits (empty if missing)."""
    return f"{number(low, 3)}-{number(high, 3)}" if low is not None and high is not None else ""


def verdict(target: dict) -> str:
    """``<= 1.5x ...: met (1.2)`` / ``NOT MET (3.1)`` / ``n/a (not measured)``."""
    if target["met"] is None:
        return f"{target['text']}: n/a (not measured)"
    return f"{target['text']}: {'met' if target['met'] else 'NOT MET'} ({number(target['value'], 3)})"


def memory(case: dict) -> str:
    """Peak RSS and memory per order of a case run in a fresh process (empty otherwise)."""
    figures = case.get("figures", {})
    parts = []
    if "peak_mib" in figures:
        parts.append(f"peak {figures['peak_mib']:,.0f} MiB")
    if "kib_per_order" in figures:
        parts.append(f"{figures['kib_per_order']:.3f} KiB/order")
    return ", ".join(parts)


def header(data: dict) -> list[str]:
    """The machine and the run: cores, load range, the baseline's CPU per customer; a warning if loaded."""
    cases, cores = data["cases"], data["cpu_count"]
    loads = [x for c in cases for x in (c.get("load") or ())]
    base = [u for c in cases for r in c.get("reps", []) for u in r.get("baseline_us", [])]
    lines = [
        f"ecomlab bench, {'quick' if data['quick'] else 'full'} mode ({', '.join(data['groups'])}): "
        f"{cores} cores, load {span(min(loads, default=None), max(loads, default=None))} "
        f"(1-min average before/after each case), bare SimPy M/M/c customer "
        f"{number(statistics_median(base), 3)} us CPU ({span(min(base, default=None), max(base, default=None))}), "
        f"{data['seconds']:,.0f} s",
        "x baseline: CPU per order over the CPU per customer of the baselines run just before and after "
        "(median and min-max over repetitions); targets read CPU time unless they say wall",
    ]
    loaded = [c["id"] for c in cases if c.get("load") and max(c["load"]) > cores]
    if loaded:
        which = "every case" if len(loaded) == sum(1 for c in cases if c.get("load")) else ", ".join(loaded)
        lines.append(
            f"warning: load above {cores} cores during {which}: wall times are inflated and CPU times less trustworthy"
        )
    return lines


def statistics_median(values: list[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None


def format_table(data: dict) -> str:
    """The run as a header and a Markdown table: figure, spreads, ratio, CPU/wall, memory, load, targets."""
    lines = [
        *header(data),
        "",
        "| id | case | figure | min-max | unit | x baseline | min-max | CPU s | wall s | memory | reps | load | target | note |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---|---:|---:|---|---|",
    ]
    for c in data["cases"]:
        cpu, wall, load = c.get("cpu_s"), c.get("wall_s"), c.get("load")
        lines.append(
            f"| {c['id']} | {c['name']} | {number(c['value'])} | {span(c['low'], c['high'])} | {c['unit']} | "
            f"{ratio_cells(c)} | "
            f"{number(cpu[0] if cpu else None, 3)} | {number(wall[0] if wall else None, 3)} | {memory(c)} | "
            f"{len(c.get('reps', []))} | {f'{load[0]:.1f}/{load[1]:.1f}' if load else ''} | "
            f"{'; '.join(verdict(t) for t in c.get('targets', []))} | {c.get('note', '')} |"
        )
    return "\n".join(lines)


def ratio_cells(case: dict) -> str:
    """``x baseline | min-max`` cells: shown for per-order figures only (elsewhere it is kept in bench.json)."""
    if case["unit"] != "us/order":
        return " | "
    return f"{number(case.get('ratio'), 3)}x | {span(case.get('ratio_low'), case.get('ratio_high'))}"


def percent(value: float | None) -> str:
    """A relative change as a signed percentage (empty if missing)."""
    return "" if value is None else f"{value:+.1%}"


def format_compare(old: dict, new: dict) -> str:
    """Per case id: old, new and change of the figure and of the ratio to the baseline (Markdown)."""
    lines = [f"compare: old {'quick' if old['quick'] else 'full'} run, new {'quick' if new['quick'] else 'full'} run"]
    if old["quick"] != new["quick"]:
        lines.append("warning: one run is quick and one full: their workloads differ (compare the ratios with care)")
    lines += [
        "",
        "| id | unit | old | new | change | old x baseline | new x baseline | ratio change |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in compare_cases(old["cases"], new["cases"]):
        found = r["found"]
        lines.append(
            f"| {r['id']} | {r['unit']} | {number(r['old'])} | {number(r['new'])} | "
            f"{percent(r['change']) if found == 'both' else found} | {number(r['old_ratio'], 3)} | "
            f"{number(r['new_ratio'], 3)} | {percent(r['ratio_change'])} |"
        )
    return "\n".join(lines)
