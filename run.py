#!/usr/bin/env python3
"""ecomlab command line: validate, simulate and run experiments on scenario files.

    python run.py validate scenarios/baseline.yaml
    python run.py simulate scenarios/classroom_sq.yaml --replications 20 --set inventory.policy.reorder_point=4
    python run.py experiment experiments/demo.yaml

Exit codes: 0 success, 1 a run failed, 2 bad input (nothing written), 3 infeasible optimization
(nothing written).
This file only parses arguments, calls the packages and prints; no model logic lives here.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2


def _print_problems(exc) -> int:
    for problem in exc.problems:
        print(f"error: {problem}", file=sys.stderr)
    n = len(exc.problems)
    print(f"{n} problem{'s' if n != 1 else ''} found; nothing was written.", file=sys.stderr)
    return EXIT_INPUT


def cmd_validate(args) -> int:
    from sim.scenario.estimate import check_work, estimate_work
    from sim.scenario.explain import summary_line
    from sim.scenario.loader import load_scenario

    scenario = load_scenario(args.file, args.set, args.plan)
    work, refused = check_work(args.file, [estimate_work(scenario)], allow_large=args.allow_large)
    if refused:
        print(f"error: {refused}", file=sys.stderr)
        return EXIT_INPUT
    print(f"{args.file}: OK — {summary_line(scenario)}")
    print(work)
    return EXIT_OK


def cmd_simulate(args) -> int:
    from experiments.simulate import run_simulate

    return run_simulate(args)


def cmd_experiment(args) -> int:
    from experiments.cli import run_experiment_cli

    return run_experiment_cli(args)


def cmd_compare(args) -> int:
    from experiments.compare import run_compare_cli

    return run_compare_cli(args)


def cmd_optimize(args) -> int:
    from experiments.optimize_cli import run_logistics, run_promotion, run_reorder

    return {"reorder": run_reorder, "logistics": run_logistics, "promotion": run_promotion}[args.decision](args)


def cmd_list(args) -> int:
    from sim.scenario.errors import InputError
    from sim.scenario.yamlio import read_yaml

    for folder, kind in (("scenarios", "scenario"), ("experiments", "experiment")):
        print(f"{kind}s ({folder}/):")
        for path in sorted((ROOT / folder).glob("*.yaml")):
            try:
                data = read_yaml(path).data
            except InputError as exc:  # a broken file is listed with its first problem
                data = {"description": f"(cannot be read: {exc.problems[0]})"}
            text = " ".join(str(data.get("description", "")).split()) if isinstance(data, dict) else ""
            print(f"  {folder}/{path.name:<28} {text}")
    return EXIT_OK


def cmd_explain(args) -> int:
    from sim.scenario.explain import explain
    from sim.scenario.loader import load_scenario

    print(explain(load_scenario(args.file, args.set, args.plan)))
    return EXIT_OK


def cmd_schema(args) -> int:
    from sim.scenario.reference import markdown, plain

    if args.json:
        from experiments.json_schema import schema_text

        print(schema_text("spec" if args.spec else "scenario"), end="")
        return EXIT_OK
    if args.spec:
        print("error: --spec goes with --json (the JSON Schema of experiment specs)", file=sys.stderr)
        return EXIT_INPUT
    print(markdown() if args.markdown else plain(), end="\n" if not args.markdown else "")
    return EXIT_OK


def cmd_check_theory(args) -> int:
    from experiments.theory_check import run_check_theory_cli

    return run_check_theory_cli(args)


def cmd_bench(args) -> int:
    from experiments.bench import run_bench_cli

    return run_bench_cli(args)


def build_parser() -> argparse.ArgumentParser:
    prog = "ecomlab" if Path(sys.argv[0]).name == "ecomlab" else "run.py"
    p = argparse.ArgumentParser(prog=prog, description="ecomlab: e-commerce operations simulation lab")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def allow_large(sp):
        sp.add_argument(
            "--allow-large",
            action="store_true",
            help="run even if the work estimate says it would take over an hour or not fit in memory",
        )

    def window(sp):
        sp.add_argument(
            "--window",
            type=_window,
            default=None,
            metavar="START:END",
            help="KPIs over orders placed and days from START to END inclusive (YYYY-MM-DD:YYYY-MM-DD); "
            "sets kpi_window, replacing the warm-up cut",
        )

    def scenario_args(sp):
        sp.add_argument("file", help="scenario YAML file")
        sp.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override a scenario key, e.g. --set inventory.policy.reorder_point=4 (repeatable)",
        )
        sp.add_argument(
            "--plan",
            action="append",
            default=[],
            metavar="PLAN.yaml",
            help="apply an optimizer's plan overlay (repeatable)",
        )

    v = sub.add_parser("validate", help="check a scenario file and print a summary")
    scenario_args(v)
    allow_large(v)
    v.set_defaults(func=cmd_validate)

    s = sub.add_parser("simulate", help="simulate a scenario and write a run folder under results/")
    scenario_args(s)
    s.add_argument("--replications", "-n", type=_replications, default=1, help="independent replications (default 1)")
    s.add_argument("--seed", type=_seed, default=None, help="master seed (default: the scenario's seed)")
    s.add_argument("--out", type=Path, default=None, help="run folder to write (default results/<name>/<run-id>)")
    s.add_argument("--results", type=Path, default=ROOT / "results", help="results root (default results/)")
    s.add_argument("--workers", type=_workers, default=1, help="parallel worker processes (default 1)")
    window(s)
    s.add_argument("--quiet", action="store_true", help="no progress output")
    allow_large(s)
    s.add_argument(
        "--orders",
        action="store_true",
        help="also write orders.csv/.parquet: one row per order (warehouse, carrier, dates, cost, status)",
    )
    s.set_defaults(func=cmd_simulate)

    e = sub.add_parser("experiment", help="run an experiment spec: variants x replications -> tables, plots, report")
    e.add_argument("spec", help="experiment spec YAML (e.g. experiments/demo.yaml)")
    e.add_argument(
        "--executor", choices=["serial", "process", "dask"], default=None, help="override the spec's executor"
    )
    e.add_argument("--workers", type=_workers, default=None, help="worker count (process/dask)")
    e.add_argument("--scheduler", default=None, help="dask scheduler address (default: a LocalCluster)")
    e.add_argument("--replications", "-n", type=_replications, default=None, help="override the spec's replications")
    e.add_argument("--fresh", action="store_true", help="discard cached replications and start over")
    e.add_argument("--results", type=Path, default=ROOT / "results", help="results root (default results/)")
    e.add_argument("--out", type=Path, default=None, help="output folder (default results/<spec name>/)")
    e.add_argument("--quiet", action="store_true", help="no progress output")
    e.add_argument(
        "--orders",
        action="store_true",
        help="also write orders.csv/.parquet: one row per order of every variant and replication",
    )
    window(e)
    allow_large(e)
    e.set_defaults(func=cmd_experiment)

    cp = sub.add_parser("compare", help="two finished runs KPI by KPI: paired on common seeds, else Welch")
    cp.add_argument("run_a", metavar="RUN_A", help="run folder (simulate or experiment; RUN:VARIANT picks a variant)")
    cp.add_argument("run_b", metavar="RUN_B", help="the run to compare with A (differences are B - A)")
    cp.add_argument("--metric", action="append", default=[], metavar="KPI", help="only these KPIs (repeatable)")
    cp.add_argument("--out", type=Path, default=None, help="report folder (default results/compare/<run-id>)")
    cp.add_argument(
        "--results",
        type=Path,
        default=ROOT / "results",
        help="results root: where run names are also looked up (default results/)",
    )
    cp.set_defaults(func=cmd_compare)

    o = sub.add_parser("optimize", help="optimize a decision; write a plan overlay; verify it by simulation")
    osub = o.add_subparsers(dest="decision", required=True, metavar="DECISION")
    r = osub.add_parser("reorder", help="reorder points per (SKU, warehouse) for a fill-rate target at least cost")
    scenario_args(r)
    r.add_argument(
        "--fill-target",
        type=_fraction,
        default=None,
        help="demand-weighted fill rate to reach (default: that of the scenario's own reorder points)",
    )
    r.add_argument("--budget", type=_money, default=None, help="cap on average inventory value")
    r.add_argument(
        "--class-min",
        action="append",
        default=[],
        metavar="CLASS=FILL",
        help="minimum fill rate of an ABC class, e.g. A=0.99 (repeatable)",
    )
    r.add_argument("--out", type=Path, default=None, help="write the plan overlay (YAML) and a CSV beside it")
    r.add_argument(
        "--verify",
        type=_verify,
        default=None,
        metavar="N",
        help="simulate the plan and the uniform plan N times with common random numbers",
    )
    r.add_argument("--seed", type=_seed, default=None, help="master seed for --verify")
    r.add_argument("--time-limit", type=_time_limit, default=300.0, help="solver time limit (s)")
    r.add_argument("--quiet", action="store_true")
    allow_large(r)
    pr = osub.add_parser("promotion", help="marketing spend per channel and period within picking capacity")
    scenario_args(pr)
    money = pr.add_mutually_exclusive_group()
    money.add_argument(
        "--budget",
        type=_money,
        default=None,
        help="total spend over the horizon (default: the scenario's current spend)",
    )
    money.add_argument("--target-roas", type=_roas, default=None, help="revenue per unit of spend to keep")
    pr.add_argument("--period", choices=["day", "week"], default="day", help="spend decided per day or per week")
    pr.add_argument("--capacity-blind", action="store_true", help="drop the picking-capacity constraints")
    pr.add_argument(
        "--max-utilization",
        type=_share,
        default=1.0,
        help="share of a day's picking capacity its expected orders may use (default 1: all of it)",
    )
    pr.add_argument("--out", type=Path, default=None, help="write the plan overlay (YAML) and a CSV beside it")
    pr.add_argument(
        "--verify",
        type=_verify,
        default=None,
        metavar="N",
        help="simulate capacity-aware vs capacity-blind plans N times with common random numbers",
    )
    pr.add_argument("--seed", type=_seed, default=None, help="master seed for --verify")
    pr.add_argument("--quiet", action="store_true")
    allow_large(pr)

    lg = osub.add_parser("logistics", help="warehouse and carrier per region at least cost within the promise")
    scenario_args(lg)
    lg.add_argument("--on-time-target", type=_fraction, default=0.95, help="on-time share to reach (default 0.95)")
    lg.add_argument(
        "--scope",
        choices=["region", "overall"],
        default="region",
        help="the target holds in every region (default) or demand-weighted overall",
    )
    lg.add_argument("--allow-close", action="store_true", help="open/close warehouses (fixed costs), single sourcing")
    lg.add_argument(
        "--max-utilization",
        type=_share,
        default=0.9,
        help="share of the picking capacity the lanes may use (0.9; 1 = all of it)",
    )
    lg.add_argument("--out", type=Path, default=None, help="write the lane plan overlay (YAML)")
    lg.add_argument(
        "--verify",
        type=_verify,
        default=None,
        metavar="N",
        help="simulate the plan and the scenario's own routing N times with common random numbers",
    )
    lg.add_argument("--seed", type=_seed, default=None, help="seed of the pilot run and of --verify")
    lg.add_argument(
        "--sweep",
        type=_targets,
        default=None,
        metavar="T1,T2,...",
        help="solve for each on-time target, simulate each plan (--verify N replications, default 3) "
        "and plot cost vs on-time, predicted and simulated",
    )
    lg.add_argument("--results", type=Path, default=ROOT / "results", help="results root for --sweep")
    lg.add_argument("--quiet", action="store_true")
    allow_large(lg)
    o.set_defaults(func=cmd_optimize)

    ls = sub.add_parser("list", help="the shipped scenarios and experiments, one line each")
    ls.set_defaults(func=cmd_list)
    ex = sub.add_parser("explain", help="what a scenario sets up, in plain words")
    scenario_args(ex)
    ex.set_defaults(func=cmd_explain)
    sc = sub.add_parser("schema", help="every scenario key with type, default, range and meaning")
    sc.add_argument("--markdown", action="store_true", help="as the Markdown page docs/scenario-reference.md")
    sc.add_argument(
        "--json",
        action="store_true",
        help="the JSON Schema of scenario files (docs/schema/scenario.schema.json) for editors",
    )
    sc.add_argument("--spec", action="store_true", help="with --json: the JSON Schema of experiment specs")
    sc.set_defaults(func=cmd_schema)

    ct = sub.add_parser("check-theory", help="simulate textbook cases and compare with their formulas")
    ct.add_argument("--replications", "-n", type=_replications, default=30, help="replications per case (30)")
    ct.add_argument(
        "--case",
        action="append",
        choices=["eoq", "sq", "rs", "mmc", "md1", "little"],
        help="run only these cases (repeatable)",
    )
    ct.add_argument("--workers", type=_workers, default=1, help="parallel worker processes (default 1)")
    ct.add_argument("--quiet", action="store_true", help="no progress output")
    ct.set_defaults(func=cmd_check_theory)

    b = sub.add_parser("bench", help="measure speed as ratios to a bare-SimPy baseline run alongside")
    b.add_argument("--quick", action="store_true", help="a short run (under 2 minutes) for smoke tests")
    b.add_argument("--out", type=Path, default=None, help="output folder (default results/bench/<run-id>)")
    b.add_argument("--results", type=Path, default=ROOT / "results", help="results root (default results/)")
    b.set_defaults(func=cmd_bench)
    return p


def _number(cast, ok, requirement: str):
    """An argparse type: ``cast`` the text, then check ``ok(value)``; one clear message otherwise.

    Whole numbers only for ``int`` (``1e3`` is refused); ``inf`` and ``nan`` never pass.
    """

    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:  # also int("9" * 5000): Python's digit limit
            kind = "a whole number" if cast is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        if cast is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{requirement}, got {text.strip()}")
        return value

    return parse


# Upper bounds: far beyond any sensible run, low enough that nothing hangs or overflows before
# the work estimate speaks. Seeds go to numpy's SeedSequence, which takes any integer >= 0.
MAX_REPLICATIONS, MAX_WORKERS, MAX_VERIFY, MAX_SEED = 100_000, 256, 10_000, 2**63 - 1
MAX_MONEY, MAX_ROAS, MAX_TIME_LIMIT_S, MAX_SWEEP = 1e12, 1e3, 86_400, 50

_replications = _number(int, lambda v: 1 <= v <= MAX_REPLICATIONS, f"must be between 1 and {MAX_REPLICATIONS:,}")
_workers = _number(int, lambda v: 1 <= v <= MAX_WORKERS, f"must be between 1 and {MAX_WORKERS}")
_verify = _number(int, lambda v: 1 <= v <= MAX_VERIFY, f"must be between 1 and {MAX_VERIFY:,}")
_seed = _number(int, lambda v: 0 <= v <= MAX_SEED, "must be between 0 and 2**63 - 1")
_fraction = _number(float, lambda v: 0 < v < 1, "must lie strictly between 0 and 1")
_share = _number(float, lambda v: 0 < v <= 1, "must lie in (0, 1]")
_money = _number(float, lambda v: 0 < v <= MAX_MONEY, f"must be > 0 and at most {MAX_MONEY:g}")
_roas = _number(float, lambda v: 0 < v <= MAX_ROAS, f"must be > 0 and at most {MAX_ROAS:g}")
_time_limit = _number(float, lambda v: 0 < v <= MAX_TIME_LIMIT_S, f"must be > 0 and at most {MAX_TIME_LIMIT_S} s")
# generic ones (finite, bounded) for arguments without a domain bound of their own
_positive_int = _number(int, lambda v: 1 <= v <= 10**9, "must be between 1 and 1,000,000,000")
_nonneg_int = _number(int, lambda v: 0 <= v <= 10**9, "must be between 0 and 1,000,000,000")
_positive_float = _number(float, lambda v: 0 < v <= 1e12, "must be > 0 and at most 1e12")


def _window(text: str):
    """``--window 2026-11-10:2026-11-13`` -> (start, end) dates, end not before start."""
    import datetime as dt

    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        start, end = (dt.date.fromisoformat(p.strip()) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:END as YYYY-MM-DD:YYYY-MM-DD, got {text!r}") from None
    if end < start:
        raise argparse.ArgumentTypeError(f"the end {end} is before the start {start}")
    return start, end


def _targets(text: str) -> list[float]:
    """``--sweep 0.9,0.95``: at most MAX_SWEEP distinct on-time targets, each strictly between 0 and 1."""
    parts = text.split(",")
    if len(parts) > MAX_SWEEP:
        raise argparse.ArgumentTypeError(f"at most {MAX_SWEEP} targets, got {len(parts)}")
    try:
        values = [_fraction(part) for part in parts]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected on-time targets strictly between 0 and 1 separated by commas, got {text!r}"
        ) from None
    if len({f"{v:g}" for v in values}) != len(values):
        raise argparse.ArgumentTypeError(f"each target once, got {text!r}")
    return values


def _check_output_locations(args) -> None:
    """The folder or file each command will write is usable: checked before any work starts.

    Raises ``OutputPathError`` (one line naming the argument): a file where a folder goes,
    a path under a file, a folder that refuses a probe file, a plan ``--out`` that is a folder.
    """
    from experiments.output import OutputPathError, writable_file, writable_folder

    out = getattr(args, "out", None)
    if args.command in ("simulate", "experiment", "bench", "compare"):
        if out is not None:
            writable_folder(out, "--out")
        else:
            writable_folder(args.results, "--results")
    elif args.command == "optimize":
        if getattr(args, "sweep", None):
            writable_folder(args.results, "--results")
        elif out is not None:
            writable_file(out, "--out")
            if args.decision in ("reorder", "promotion"):  # the table goes beside the overlay
                csv = Path(out).with_suffix(".csv")
                if csv == Path(out):
                    raise OutputPathError(
                        f"--out: {out} would be overwritten by the plan's CSV table; give the overlay a .yaml name"
                    )
                writable_file(csv, "--out (its CSV table)")


def main(argv: list[str] | None = None) -> int:
    from experiments.output import OutputPathError
    from sim.scenario.errors import InputError

    args = build_parser().parse_args(argv)
    try:
        _check_output_locations(args)
        return args.func(args)
    except InputError as exc:
        return _print_problems(exc)
    except OutputPathError as exc:
        print(f"error: {exc}; nothing was written.", file=sys.stderr)
        return EXIT_INPUT
    except FileExistsError as exc:
        print(f"error: {exc}; nothing was written.", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def cli() -> None:
    """The ``ecomlab`` console script (``[project.scripts]``): ``main``'s return value is the exit code."""
    sys.exit(main())


if __name__ == "__main__":
    cli()
