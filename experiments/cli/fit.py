"""``run.py fit ORDERS.csv|.parquet --out scenario.yaml [--base B.yaml] [--mapping M.yaml] [--map F=COL] [--check N]``.

Reads and cleans the order lines (one line per kind of problem, with counts and file lines),
fits the scenario and writes it (checked by the loader first: nothing is written on exit 2).
``--check N`` then simulates the fitted scenario's demand N times and writes a backtest report
(Markdown + HTML + plots) into ``results/<name>/<stamp>-fit/``.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from experiments.cli import EXIT_OK
from experiments.fit import fit_history, write_scenario
from experiments.fit.mapping import CalendarEvent, header_mapping, load_mapping, parse_map_args
from sim.scenario.errors import InputError, Problem
from sim.scenario.yamlio import read_yaml

__all__ = ["run"]


def _calendar(path: Path | None) -> list[CalendarEvent]:
    """The events of a calendar file: a YAML list of {name, date, days, ...} (or ``calendar:`` of one)."""
    if path is None:
        return []
    from pydantic import TypeAdapter, ValidationError

    from sim.scenario.loader import pydantic_problems

    src = read_yaml(path)
    data = src.data.get("calendar") if isinstance(src.data, dict) else src.data
    if not isinstance(data, list):
        raise InputError([Problem(str(path), 1, "", "a calendar is a YAML list of events (name, date, days)")])
    try:
        return TypeAdapter(list[CalendarEvent]).validate_python(data)
    except ValidationError as exc:
        problems = pydantic_problems(exc, src, str(path))
        if isinstance(src.data, dict):  # keys were read under calendar:
            problems = [
                Problem(p.file, p.line, f"calendar{p.path if p.path.startswith('[') else '.' + p.path}", p.message)
                for p in problems
            ]
        raise InputError(problems) from None


def _name(args) -> str:
    import re

    stem = args.name or Path(args.out).stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._-") or "fitted"


def run(args) -> int:
    """Fit, write the scenario, print what was cleaned and fitted; with ``--check`` backtest it."""
    t0 = time.perf_counter()
    mapping = header_mapping(args.file) if Path(args.file).is_file() else load_mapping(None)
    if args.mapping:
        mapping = mapping.overlaid(load_mapping(args.mapping))
    mapping = mapping.with_columns(parse_map_args(args.map))
    calendar = _calendar(args.calendar)
    if calendar:
        mapping = mapping.model_copy(update={"calendar": calendar})
    result = fit_history(args.file, mapping, allow_large=args.allow_large)
    for line in result.history.summary():
        print(line)
    name = _name(args)
    command = "run.py fit " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 else "run.py fit"
    scenario, _ = write_scenario(result, args.out, name, command, args.base)
    p = result.parts
    d = p.demand
    print(
        f"wrote {args.out}: {d.base.value:,.1f} orders/day on an ordinary day (± {d.base.se:.2g}), "
        f"{len(d.promotions)} promotion(s) ({', '.join(e.name for e in d.promotions) or 'none'}), "
        f"{len(p.skus.table):,} SKUs, {p.lines.mean.value:.2f} lines/order, {p.units.mean.value:.2f} units/line"
        f" — {time.perf_counter() - t0:.1f} s"
    )
    if args.check:
        return _check(args, result, scenario, name, command)
    return EXIT_OK


def _check(args, result, scenario, name: str, command: str) -> int:
    from experiments.fit.backtest import backtest, write_backtest
    from experiments.output import RunFolder

    bt = backtest(result.history, scenario, args.check, args.seed)
    intro = [
        f"The scenario fitted to {result.parts.source} ({result.parts.counts['lines']:,} order lines, "
        f"{len(result.history.days)} days) against {args.check} simulations of its demand (seed {args.seed}).",
        "Cleaning: " + "; ".join(result.history.summary()),
    ]
    with RunFolder(args.results, name, "fit") as rf:
        page = write_backtest(bt, rf.path, f"Backtest: {name}", intro, {"Command": command})
        rf.write_manifest(kind="fit", seed=args.seed, replications=args.check, source=str(args.file))
    final = rf.final / page.name
    print(bt.table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"backtest report: {final}")
    return EXIT_OK
