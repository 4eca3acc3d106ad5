#!/usr/bin/env python3
"""ecomlab command line: validate, simulate and run experiments on scenario files.

    python run.py validate scenarios/baseline.yaml
    python run.py simulate scenarios/classroom_sq.yaml --replications 20 --set inventory.policy.reorder_point=4
    python run.py experiment experiments/demo.yaml

Exit codes: 0 success, 1 a run failed, 2 bad input (nothing written), 3 infeasible optimization
(nothing written).
This file only builds the argument parser and dispatches to :mod:`experiments.cli` (one module
per command); no model logic lives here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from experiments.cli import args as A

ROOT = Path(__file__).resolve().parent


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command; each command's handler is ``experiments.cli.COMMANDS[command]``."""
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
            type=A.window,
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

    def plan_outputs(sp, out_help: str, verify_help: str, seed_help: str):
        sp.add_argument("--out", type=Path, default=None, help=out_help)
        sp.add_argument("--verify", type=A.verify, default=None, metavar="N", help=verify_help)
        sp.add_argument("--seed", type=A.seed, default=None, help=seed_help)

    def policy_args(sp):
        sp.add_argument("--policy", choices=["rQ", "sS", "RS"], required=True, help="the policy family searched")
        sp.add_argument("--classes", type=A.classes, default=None, metavar="A,B,C", help="ABC classes (default all)")
        sp.add_argument(
            "--grid",
            action="append",
            default=[],
            metavar="[CLASS.]PARAM=VALUES",
            help="values of a level, LO:HI[:STEP] or V1,V2,... (PARAM r, Q for rQ; s, S for sS; S for RS); "
            "default: around the scenario's own levels (repeatable)",
        )
        sp.add_argument("--search", choices=["grid", "coordinate"], default="grid", help="grid (default) or coordinate")
        sp.add_argument(
            "--levels",
            choices=["absolute", "relative"],
            default="absolute",
            help="absolute (default): the same units for every SKU of a class; relative: multipliers of each "
            "(SKU, warehouse)'s own levels (for classes of unlike SKUs)",
        )
        sp.add_argument("--replications", "-n", type=A.replications, default=10, help="per candidate (default 10)")
        sp.add_argument("--metric", default="total_cost", help="KPI to optimize (default total_cost)")
        sp.add_argument("--goal", choices=["min", "max"], default="min", help="min (default) or max")
        sp.add_argument("--fill-min", type=A.fraction, default=None, help="drop candidates whose fill CI is below")
        sp.add_argument("--fill-metric", default="unit_fill_rate", help="KPI of --fill-min (default unit_fill_rate)")
        sp.add_argument("--finalists", type=A.finalists, default=4, help="candidates passed to --select (default 4)")
        sp.add_argument("--select", choices=["kn", "ocba", "rinott"], default="kn", help="selection procedure")
        sp.add_argument("--indifference", type=A.positive, default=None, help="delta (default 1%% of the best mean)")
        sp.add_argument("--confidence", type=A.fraction, default=0.95, help="P* of the selection (default 0.95)")
        sp.add_argument(
            "--max-replications", type=A.replications, default=100, help="per finalist in the selection (default 100)"
        )

    v = sub.add_parser("validate", help="check a scenario file and print a summary")
    scenario_args(v)
    allow_large(v)

    s = sub.add_parser("simulate", help="simulate a scenario and write a run folder under results/")
    scenario_args(s)
    s.add_argument("--replications", "-n", type=A.replications, default=1, help="independent replications (default 1)")
    s.add_argument("--seed", type=A.seed, default=None, help="master seed (default: the scenario's seed)")
    s.add_argument("--out", type=Path, default=None, help="run folder to write (default results/<name>/<run-id>)")
    s.add_argument("--results", type=Path, default=ROOT / "results", help="results root (default results/)")
    s.add_argument("--workers", type=A.workers, default=1, help="parallel worker processes (default 1)")
    s.add_argument(
        "--long-run",
        type=A.long_run_days,
        default=None,
        metavar="DAYS",
        help="one replication of DAYS days after the warm-up, with batch-means intervals (prints only)",
    )
    s.add_argument(
        "--batches",
        type=A.batches,
        default=None,
        metavar="K",
        help="batches of the --long-run days (default 20; t with K-1 degrees of freedom)",
    )
    window(s)
    s.add_argument("--quiet", action="store_true", help="no progress output")
    allow_large(s)
    s.add_argument(
        "--orders",
        action="store_true",
        help="also write orders.csv/.parquet: one row per order (warehouse, carrier, dates, cost, status)",
    )
    s.add_argument(
        "--lines",
        action="store_true",
        help="also write order_lines.csv/.parquet: one row per order line (SKU, quantity, unit price, the order's "
        "warehouse, carrier, dates, status)",
    )

    e = sub.add_parser("experiment", help="run an experiment spec: variants x replications -> tables, plots, report")
    e.add_argument("spec", help="experiment spec YAML (e.g. experiments/demo.yaml)")
    e.add_argument(
        "--executor", choices=["serial", "process", "dask"], default=None, help="override the spec's executor"
    )
    e.add_argument("--workers", type=A.workers, default=None, help="worker count (process/dask)")
    e.add_argument("--scheduler", default=None, help="dask scheduler address (default: a LocalCluster)")
    e.add_argument("--replications", "-n", type=A.replications, default=None, help="override the spec's replications")
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

    o = sub.add_parser("optimize", help="optimize a decision; write a plan overlay; verify it by simulation")
    osub = o.add_subparsers(dest="decision", required=True, metavar="DECISION")
    r = osub.add_parser("reorder", help="reorder points per (SKU, warehouse) for a fill-rate target at least cost")
    scenario_args(r)
    r.add_argument(
        "--fill-target",
        type=A.fraction,
        default=None,
        help="demand-weighted fill rate to reach (default: that of the scenario's own reorder points)",
    )
    r.add_argument("--budget", type=A.money, default=None, help="cap on average inventory value")
    r.add_argument(
        "--class-min",
        action="append",
        default=[],
        metavar="CLASS=FILL",
        help="minimum fill rate of an ABC class, e.g. A=0.99 (repeatable)",
    )
    plan_outputs(
        r,
        "write the plan overlay (YAML) and a CSV beside it",
        "simulate the plan and the uniform plan N times with common random numbers",
        "master seed for --verify",
    )
    r.add_argument("--time-limit", type=A.time_limit, default=300.0, help="solver time limit (s)")
    r.add_argument("--quiet", action="store_true")
    allow_large(r)
    pr = osub.add_parser("promotion", help="marketing spend per channel and period within picking capacity")
    scenario_args(pr)
    money = pr.add_mutually_exclusive_group()
    money.add_argument(
        "--budget",
        type=A.money,
        default=None,
        help="total spend over the horizon (default: the scenario's current spend)",
    )
    money.add_argument("--target-roas", type=A.roas, default=None, help="revenue per unit of spend to keep")
    pr.add_argument("--period", choices=["day", "week"], default="day", help="spend decided per day or per week")
    pr.add_argument(
        "--capacity",
        choices=["priced", "hard", "blind"],
        default="priced",
        help="priced (default): orders beyond picking capacity wait and their late orders are charged; "
        "hard: a day's orders stay within capacity; blind: capacity is ignored",
    )
    pr.add_argument(
        "--late-price",
        type=A.late_prices,
        default=None,
        metavar="P1,P2,...",
        help="with --verify: solve and simulate the three plans at each price of a late order, plot profit against it",
    )
    pr.add_argument(
        "--objective",
        choices=["profit", "revenue"],
        default=None,
        help="what the plan maximizes (default profit; a course LP file's own objective)",
    )
    pr.add_argument(
        "--budget-use",
        choices=["at-most", "exactly"],
        default=None,
        help="spend at most the budget (default) or all of it (a course LP file's own budget_use)",
    )
    pr.add_argument(
        "--check-duals", action="store_true", help="check the duals against finite differences of the optimum"
    )
    pr.add_argument(
        "--max-utilization",
        type=A.share,
        default=1.0,
        help="share of a day's picking capacity its expected orders may use (default 1: all of it)",
    )
    plan_outputs(
        pr,
        "write the plan overlay (YAML) and a CSV beside it",
        "simulate the priced, hard and blind plans N times with common random numbers",
        "master seed for --verify",
    )
    pr.add_argument("--results", type=Path, default=ROOT / "results", help="results root for --verify")
    pr.add_argument("--quiet", action="store_true")
    allow_large(pr)

    po = osub.add_parser("policy", help="(r,Q), (s,S) or (R,S) levels per ABC class by simulation and selection")
    scenario_args(po)
    policy_args(po)
    plan_outputs(
        po,
        "write the chosen plan's overlay (YAML)",
        "simulate the chosen plan and the scenario as given N times on fresh streams (default 10)",
        "master seed of the search, the selection and --verify",
    )
    po.set_defaults(verify=10)
    po.add_argument("--quiet", action="store_true")
    allow_large(po)

    lg = osub.add_parser("logistics", help="warehouse and carrier per region at least cost within the promise")
    scenario_args(lg)
    lg.add_argument("--on-time-target", type=A.fraction, default=0.95, help="on-time share to reach (default 0.95)")
    lg.add_argument(
        "--scope",
        choices=["region", "overall"],
        default="region",
        help="the target holds in every region (default) or demand-weighted overall",
    )
    lg.add_argument("--allow-close", action="store_true", help="open/close warehouses (fixed costs), single sourcing")
    lg.add_argument(
        "--max-utilization",
        type=A.share,
        default=0.9,
        help="share of the picking capacity the lanes may use (0.9; 1 = all of it)",
    )
    plan_outputs(
        lg,
        "write the lane plan overlay (YAML)",
        "simulate the plan and the scenario's own routing N times with common random numbers",
        "seed of the pilot run and of --verify",
    )
    lg.add_argument(
        "--sweep",
        type=A.targets,
        default=None,
        metavar="T1,T2,...",
        help="solve for each on-time target, simulate each plan (--verify N replications, default 3) "
        "and plot cost vs on-time, predicted and simulated",
    )
    lg.add_argument("--results", type=Path, default=ROOT / "results", help="results root for --sweep")
    lg.add_argument("--quiet", action="store_true")
    allow_large(lg)

    add_textbook_parser(osub)

    sub.add_parser("list", help="the shipped scenarios and experiments, one line each")
    ex = sub.add_parser("explain", help="what a scenario sets up, in plain words")
    scenario_args(ex)
    sc = sub.add_parser("schema", help="every scenario key with type, default, range and meaning")
    sc.add_argument("--markdown", action="store_true", help="as the Markdown page docs/scenario-reference.md")
    sc.add_argument(
        "--json",
        action="store_true",
        help="the JSON Schema of scenario files (docs/schema/scenario.schema.json) for editors",
    )
    sc.add_argument("--spec", action="store_true", help="with --json: the JSON Schema of experiment specs")
    sc.add_argument(
        "--course", action="store_true", help="with --json: the JSON Schema of course LP files (promotion_lp:)"
    )

    ct = sub.add_parser("check-theory", help="simulate textbook cases and compare with their formulas")
    ct.add_argument("--replications", "-n", type=A.replications, default=30, help="replications per case (30)")
    ct.add_argument(
        "--case",
        action="append",
        choices=["eoq", "sq", "rs", "mmc", "md1", "mdc", "mg1", "little"],
        help="run only these cases (repeatable)",
    )
    ct.add_argument("--workers", type=A.workers, default=1, help="parallel worker processes (default 1)")
    ct.add_argument("--quiet", action="store_true", help="no progress output")

    ft = sub.add_parser(
        "fit",
        help="fit a scenario to an order-line export (CSV or Parquet); --check N backtests it",
        description="Reads one row per order line (order id, timestamp, SKU, quantity, unit price; optional "
        "region, warehouse, carrier, promised and delivered dates, returned flag, status, line number), cleans it "
        "by stated rules (one line per kind of problem, with counts and file lines) and writes a scenario with a "
        "comment on every fitted value. See docs/fit.md.",
    )
    ft.add_argument("file", metavar="ORDERS", help="order-line table: .csv or .parquet")
    ft.add_argument("--out", type=Path, required=True, help="scenario YAML to write")
    ft.add_argument(
        "--base", default=None, metavar="BASE.yaml", help="keep this scenario's warehouses, carriers, costs"
    )
    ft.add_argument("--mapping", default=None, metavar="MAPPING.yaml", help="column names, time zone, status values")
    ft.add_argument("--map", action="append", metavar="FIELD=COLUMN", help="map one field to a column (repeatable)")
    ft.add_argument("--calendar", type=Path, default=None, metavar="CAL.yaml", help="known promotions: no detection")
    ft.add_argument("--name", default=None, help="scenario name (default: the --out file's stem)")
    ft.add_argument("--check", type=A.replications, default=0, metavar="N", help="backtest: simulate N times, report")
    ft.add_argument("--seed", type=A.seed, default=1, help="master seed of the backtest (default 1)")
    ft.add_argument("--results", type=Path, default=ROOT / "results", help="results root for the backtest report")
    allow_large(ft)

    sv = sub.add_parser(
        "serve",
        help="the what-if page in the browser (local web app; 127.0.0.1 unless --host and --token)",
    )
    sv.add_argument("file", nargs="?", default=None, metavar="SCENARIO", help="scenario preselected on the page")
    sv.add_argument("--port", type=A.port, default=8501, help="TCP port (default 8501)")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    sv.add_argument(
        "--token",
        default=None,
        help="secret the page asks for (?token=... in the URL); required for a --host other machines can reach",
    )
    sv.add_argument("--results", type=Path, default=ROOT / "results", help="results root (default results/)")

    b = sub.add_parser(
        "bench",
        help="CPU and wall time of every part, interleaved with a bare-SimPy baseline, beside the targets",
        description="Every case is timed between runs of a bare SimPy M/M/c customer (A B A B ... A), "
        "5 repetitions (3 with --quick); ratios, medians, min-max, machine load and the targets of "
        "issue 16 are printed; bench.json keeps every repetition. On an idle 2-core machine the full run "
        "takes about 9 minutes (its 10M-order year about 4 minutes and 3-4 GB), --quick about 1.5; "
        "about twice that when the machine is loaded.",
    )
    b.add_argument("--quick", action="store_true", help="shorter horizons and 3 repetitions, no 10M-order year")
    b.add_argument(
        "--only",
        type=A.bench_groups,
        default=None,
        metavar="GROUPS",
        help="comma-separated groups to run: simulator, scaling, warehouses, optimizers, batch, whatif, fit (default all)",
    )
    b.add_argument(
        "--compare",
        type=Path,
        default=None,
        metavar="OLD.json",
        help="an earlier bench.json: print old, new and change per case (matched by case id)",
    )
    b.add_argument(
        "--against",
        type=Path,
        default=None,
        metavar="NEW.json",
        help="with --compare: compare this finished bench.json instead of running the bench (writes nothing)",
    )
    b.add_argument("--out", type=Path, default=None, help="output folder (default results/bench/<run-id>)")
    b.add_argument("--results", type=Path, default=ROOT / "results", help="results root (default results/)")
    return p


def add_textbook_parser(osub) -> None:
    """``optimize textbook MODEL``: the options of the four textbook models (names as in ``sim.theory``)."""
    tb = osub.add_parser(
        "textbook",
        help="a textbook model's optimum in the book's conventions: eoq-backorders, newsvendor, rq, ss",
        description="Prints the optimum and its cost as the book defines them; for rq and ss also the scenario "
        "keys (reorder_trigger, cost_basis, order_cost_per_unit) that simulate it (--out writes them).",
    )
    tb.add_argument("model", choices=["eoq-backorders", "newsvendor", "rq", "ss"], help="the textbook model")
    opt = tb.add_argument
    opt("--demand-rate", type=A.positive_amount, default=None, help="eoq-backorders, rq: demand per day")
    opt("--mean", type=A.amount, default=None, help="newsvendor: mean demand; ss: mean demand per period")
    opt("--sd", type=A.positive_amount, default=None, help="newsvendor: demand sd (normal demand; none: Poisson)")
    opt("--order-cost", type=A.amount, default=None, help="K, fixed cost per order")
    opt("--holding", type=A.positive_amount, default=None, help="h, per unit per day (ss: per unit per period)")
    opt("--backorder", type=A.positive_amount, default=None, help="p, per unit per day (ss: per unit per period)")
    opt("--lead-time", type=A.amount, default=None, help="rq: lead time in days; ss: in periods (default 0)")
    opt("--underage", type=A.positive_amount, default=None, help="newsvendor: cu, cost per unit short")
    opt("--overage", type=A.positive_amount, default=None, help="newsvendor: co, cost per unit left over")
    opt("--price", type=A.positive_amount, default=None, help="newsvendor: selling price (cu = price - cost)")
    opt("--cost", type=A.positive_amount, default=None, help="newsvendor: purchase cost (co = cost - salvage)")
    opt("--salvage", type=A.amount, default=None, help="newsvendor: salvage value per unit left over (default 0)")
    opt("--purchase-cost", type=A.amount, default=None, help="c per unit ordered (added to the cost; overlay)")
    opt(
        "--unit-cost", type=A.positive_amount, default=None, help="rq, ss: the SKU's unit_cost, to set the holding rate"
    )
    opt("--review-period-days", type=A.periods, default=1, help="ss: days in one period (the review period)")
    opt("--out", type=Path, default=None, help="rq, ss: write the scenario keys (YAML overlay for --plan)")
    opt("--verify", type=A.verify, default=None, metavar="N", help="rq, ss: simulate the optimum N times")
    opt("--seed", type=A.seed, default=None, help="master seed of --verify (default 1)")
    opt("--quiet", action="store_true", help="no progress output")
    opt("--allow-large", action="store_true", help="--verify even if the work estimate says it would take over an hour")


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the command line) and run the command; return its exit code."""
    from experiments.cli import dispatch

    return dispatch(build_parser().parse_args(argv))


def cli() -> None:
    """The ``ecomlab`` console script (``[project.scripts]``): ``main``'s return value is the exit code."""
    sys.exit(main())


if __name__ == "__main__":
    cli()
