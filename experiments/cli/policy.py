"""``run.py optimize policy SCENARIO --policy rQ|sS|RS``: search replenishment levels per ABC class by simulation.

The search (:mod:`experiments.policy_search`) simulates candidate levels with common random
numbers, drops those whose fill-rate CI lies below ``--fill-min``, and ends with a selection
procedure (KN, OCBA or Rinott) over the best few; the chosen plan is printed with its guarantee,
verified on fresh streams (``verify_seed``) against the scenario as given, and written with ``--out``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

import pandas as pd
import yaml

from experiments import verify
from experiments.cli import EXIT_FAILED, EXIT_INFEASIBLE, EXIT_OK, refuse
from experiments.output import atomic_write_text
from experiments.policy_search import (
    MAX_CANDIDATES,
    PolicySearch,
    SearchConfig,
    class_skus,
    coordinate_evaluations,
    default_grid,
    grid_candidates,
    incumbent_levels,
    levels_name,
    levels_overlay,
    pair_levels,
    parse_grid,
    search_policy,
)
from experiments.report import fmt_num
from experiments.selection import SelectConfig
from experiments.sequential import Batches, SelectionFailed
from experiments.stats import mean_ci
from sim.kpis import KPI_INFO
from sim.scenario.estimate import check_work, estimate_work
from sim.scenario.loader import load_scenario
from sim.scenario.yamlio import suggest

__all__ = ["policy_measure", "run"]


def policy_measure(res, sc, metric: str, fill_metric: str) -> dict:
    """The searched metric and the fill rate of one run (the verification's measure)."""
    return {"metric": float(res.kpis[metric]), "fill": float(res.kpis[fill_metric])}


def _planned(args, overlay: dict):
    return load_scenario(args.file, args.set, args.plan, overlays=[overlay])


def _options_problem(args, classes: list[str]) -> str | None:
    """The first bad option as one line (naming it), or None."""
    for name in (args.metric, args.fill_metric):
        if name not in KPI_INFO:
            return f"unknown KPI {name!r}{suggest(name, KPI_INFO)}"
    wanted = args.classes or classes
    missing = [c for c in wanted if c not in classes]
    if missing:
        return f"--classes: the catalogue has no SKU of class {', '.join(missing)} (it has {', '.join(classes)})"
    if args.replications < 2:
        return "--replications must be at least 2 (a confidence interval needs two)"
    if args.max_replications < args.replications:
        return f"--max-replications ({args.max_replications}) must be at least --replications ({args.replications})"
    return None


def _axes(args, scenario, classes: list[str]):
    """(axes, incumbent, per-pair levels or None) from ``--grid`` (else the default grid around the incumbent).

    Absolute levels: the incumbent is the class mean of the scenario's own levels. Relative
    (``--levels relative``): multipliers of each pair's own levels, the incumbent 1.
    """
    base = _planned(args, levels_overlay(scenario, args.policy, {}, class_skus(scenario)))
    relative = args.levels == "relative"
    incumbent = incumbent_levels(base, args.policy, classes)
    if relative:
        incumbent = dict.fromkeys(incumbent, 1.0)
    share = 0.1 if args.search == "coordinate" else 0.25
    axes = default_grid(incumbent, span=4 if args.search == "coordinate" else 2, share=share, relative=relative)
    axes.update(parse_grid(args.grid, args.policy, classes))
    return axes, incumbent, pair_levels(base, args.policy, classes) if relative else None


def _too_large(args, scenario, evaluations: int) -> str | None:
    """The work check (estimate on stderr); the refusal line when the work is too large, else None."""
    runs = evaluations * args.replications + args.finalists * args.max_replications + 2 * (args.verify or 0)
    variants = max(1, -(-runs // args.replications))
    workers = min(os.cpu_count() or 1, runs)
    work, refused = check_work(
        str(args.file), [estimate_work(scenario)] * variants, args.replications, workers, args.allow_large
    )
    if refused is None and not args.quiet:
        print(f"at most {runs:,} runs: {work}", file=sys.stderr)
    return refused


def _config(args, axes, incumbent) -> SearchConfig:
    """The search of the command line; without ``--indifference`` delta is 1% of the best mean."""
    select = SelectConfig(
        metric=args.metric,
        goal=args.goal,
        procedure=args.select,
        indifference=args.indifference or 1.0,
        confidence=args.confidence,
        first_stage=args.replications,
        max_replications=args.max_replications,
    )
    return SearchConfig(
        policy=args.policy,
        axes=axes,
        search=args.search,
        replications=args.replications,
        metric=args.metric,
        goal=args.goal,
        fill_metric=args.fill_metric,
        fill_min=args.fill_min,
        finalists=args.finalists,
        select=select,
        start=incumbent,
        relative_indifference=None if args.indifference else 0.01,
    )


def print_search(args, result: PolicySearch) -> None:
    """The candidates (best first, at most 12), the selection's table and guarantee, the chosen levels."""
    t = result.table.sort_values("mean", ascending=args.goal == "min", kind="stable")
    print(
        f"policy search ({args.policy}, {args.search}, {args.levels} levels): {len(t)} candidates x {args.replications} replications, "
        f"common random numbers; {args.metric} ({args.goal}), mean ± 95% CI half-width"
        + (f"; fill floor {args.fill_metric} >= {args.fill_min:g}" if args.fill_min is not None else "")
    )
    for r in t.head(12).itertuples():
        flags = ("  finalist" if r.finalist else "") + ("" if r.feasible else "  infeasible (fill CI below floor)")
        print(
            f"  {r.candidate:<28}{fmt_num(r.mean, 4):>14} ± {fmt_num(r.half_width, 2):<10}"
            f"fill {r.fill:.4f} [{r.fill_low:.4f}, {r.fill_high:.4f}]{flags}"
        )
    if len(t) > 12:
        print(f"  ... {len(t) - 12} more")
    sel = result.selection
    if sel is not None:
        print(f"selection ({sel.config.procedure}) over {len(sel.names)} finalists on new replications:")
        table = sel.table()
        print(table.to_string(index=False, float_format=lambda x: f"{x:,.4f}"))
        print(f"  {sel.guarantee}")
    else:
        print("selection: one feasible finalist, nothing to select")
    print(f"chosen plan: {levels_name(result.chosen)}")


def print_verification(args, by: dict[str, pd.DataFrame]) -> None:
    """The chosen plan against the scenario as given, on fresh streams, with paired differences."""
    g, p = by["as given"], by["plan"]
    m, f = mean_ci(p.metric - g.metric), mean_ci(p.fill - g.fill)
    print(
        f"verification: {args.verify} replications on {verify.FRESH} (seeds verify_seed(master, r)), "
        "common random numbers, mean ± 95% CI half-width"
    )
    for label, col in ((args.metric, "metric"), (args.fill_metric, "fill")):
        a, b = mean_ci(p[col]), mean_ci(g[col])
        print(
            f"  {label:<22} plan {fmt_num(a.mean, 4)} ± {fmt_num(a.half_width, 2)}   "
            f"as given {fmt_num(b.mean, 4)} ± {fmt_num(b.half_width, 2)}"
        )
    print(
        f"  plan - as given: {args.metric} {fmt_num(m.mean, 4)} ± {fmt_num(m.half_width, 2)}, "
        f"{args.fill_metric} {f.mean:+.4f} ± {f.half_width:.4f}"
    )


def _plan_file(args, result: PolicySearch) -> dict:
    sel = result.selection
    info = {
        "kind": "policy_search",
        "policy": args.policy,
        "search": args.search,
        "metric": args.metric,
        "goal": args.goal,
        "chosen": levels_name(result.chosen),
        "guarantee": sel.guarantee if sel else "one feasible finalist",
    }
    return {"plan_info": info, **result.overlay}


def run(args) -> int:
    """``optimize policy``: check the options and the work, search, select, verify, write the plan."""
    scenario = load_scenario(args.file, args.set, args.plan)
    classes = list(class_skus(scenario))
    problem = _options_problem(args, classes)
    if problem:
        return refuse(f"{args.file}: {problem}")
    try:
        axes, incumbent, relative_to = _axes(args, scenario, args.classes or classes)
    except ValueError as exc:
        return refuse(f"{args.file}: {exc}")
    n = (
        len(grid_candidates(axes, args.policy, relative_to is not None))
        if args.search == "grid"
        else coordinate_evaluations(axes, 10)
    )
    if args.search == "grid" and n > MAX_CANDIDATES and not args.allow_large:
        return refuse(
            f"{args.file}: the grid has {n:,} candidates (more than {MAX_CANDIDATES}); narrow --grid, use "
            "--search coordinate, or pass --allow-large"
        )
    if n == 0:
        return refuse(f"{args.file}: the grid has no valid candidate (an (s, S) policy needs S > s)")
    refused = _too_large(args, scenario, n)
    if refused:
        return refuse(refused)
    seed = scenario.seed if args.seed is None else args.seed
    batches = Batches({"cache_dir": None, "executor": "process", "quiet": args.quiet})
    cfg = replace(_config(args, axes, incumbent), relative_to=relative_to)
    try:
        # KN asks for one replication per survivor per round: a worker pool per round costs more than it saves
        executor = "serial" if args.select == "kn" else "process"
        quiet = Batches({"cache_dir": None, "executor": executor, "quiet": True})
        result = search_policy(scenario, partial(_planned, args), cfg, batches, seed, quiet)
    except ValueError as exc:
        print(f"infeasible: {exc}; nothing was written.", file=sys.stderr)
        return EXIT_INFEASIBLE
    except (RuntimeError, SelectionFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print_search(args, result)
    if args.out:
        atomic_write_text(Path(args.out), yaml.safe_dump(_plan_file(args, result), sort_keys=False))
        print(f"wrote {args.out} (overlay for --plan)")
    if args.verify:
        variants = {"as given": scenario, "plan": _planned(args, result.overlay)}
        measure = partial(policy_measure, metric=args.metric, fill_metric=args.fill_metric)
        print_verification(args, verify.simulate_paired(variants, measure, args.verify, seed, quiet=args.quiet))
    return EXIT_OK
