"""``run.py optimize DECISION SCENARIO``: solve, print the plan, write its overlay, verify it by simulation.

Verification (``--verify N``, :mod:`experiments.verify`) simulates the scenario as it is (or
a rival plan) and with the plan applied, with the same seeds (common random numbers), and
prints predicted against simulated figures and the paired differences. ``logistics --sweep``
solves for several on-time targets and simulates each plan.
"""

from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path

import numpy as np
import yaml

from experiments import verify
from experiments.cli import EXIT_INFEASIBLE, EXIT_INPUT, EXIT_OK, refuse
from experiments.output import atomic_write_text
from experiments.report import fmt_num
from sim.scenario.estimate import check_work, estimate_work
from sim.scenario.loader import load_scenario


def run(args) -> int:
    """Dispatch ``optimize reorder|logistics|promotion``."""
    return {"reorder": run_reorder, "logistics": run_logistics, "promotion": run_promotion}[args.decision](args)


# --------------------------------------------------------------------------- shared steps
def _master_seed(args, scenario) -> int:
    return scenario.seed if args.seed is None else args.seed


def _planned(args, overlay: dict):
    """The scenario of the command line (with its ``--set`` and ``--plan``) and one more overlay."""
    return load_scenario(args.file, args.set, args.plan, overlays=[overlay])


def _too_large(args, scenario, variants: int, replications: int) -> bool:
    """Estimate the verification runs (printed to stderr); True after one error line if they are too large.

    Checked before solving, so a refused run writes nothing. The variants are counted with the
    scenario's own work (a plan changes stock and routing, not the number of orders, much).
    """
    workers = min(os.cpu_count() or 1, variants * replications)
    work, refused = check_work(
        str(args.file), [estimate_work(scenario)] * variants, replications, workers, getattr(args, "allow_large", False)
    )
    if refused:
        refuse(refused)
        return True
    if not getattr(args, "quiet", False):
        print(work, file=sys.stderr)
    return False


def _solve_or_explain(args, solve_fn):
    """(plan, 0), or (None, exit code) after one clear line: 2 for unusable input, 3 for infeasible."""
    from optimize.solver import Infeasible

    try:
        return solve_fn(), EXIT_OK
    except ValueError as exc:
        return None, refuse(f"{args.file}: {exc}")
    except Infeasible as exc:
        print(f"infeasible: {exc}; nothing was written.", file=sys.stderr)
        return None, EXIT_INFEASIBLE


def _write_plan(out, overlay: dict, table=None) -> None:
    """Write the plan overlay to ``out`` (and ``table`` as the CSV beside it); say what was written."""
    atomic_write_text(Path(out), yaml.safe_dump(overlay, sort_keys=False))
    if table is None:
        print(f"wrote {out} (overlay for --plan)")
        return
    csv = Path(out).with_suffix(".csv")
    atomic_write_text(csv, table.to_csv(index=False))
    print(f"wrote {out} (overlay for --plan) and {csv}")


def _verified(args, scenario, variants: dict, measure) -> dict:
    """:func:`experiments.verify.simulate_paired` with the command line's ``--verify``, ``--seed``, ``--quiet``."""
    return verify.simulate_paired(
        variants, measure, args.verify, _master_seed(args, scenario), quiet=getattr(args, "quiet", False)
    )


# --------------------------------------------------------------------------- reorder
def parse_class_min(items: list[str]) -> dict[str, float]:
    """``--class-min A=0.99`` items -> {class: minimum fill}; ``ValueError`` naming a bad item."""
    out = {}
    for text in items:
        try:
            cls, value = text.split("=", 1)
            cls = cls.strip().upper()
            if cls not in ("A", "B", "C"):
                raise ValueError
            out[cls] = float(value)
            if not 0 < out[cls] < 1:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"--class-min expects CLASS=FILL with CLASS in A, B, C and 0 < FILL < 1, got {text!r}"
            ) from None
    return out


def teaching_view(scenario, plan) -> str:
    """For one or a few pairs: the optimizer's answer next to the textbook formulas."""
    from optimize.reorder import pairs_from
    from sim import theory

    pairs = pairs_from(scenario)
    lines = ["textbook view (per pair):"]
    for i, r in enumerate(plan.rows.itertuples()):
        mu, L = pairs.mu[i], pairs.ltd_mean[i] / max(pairs.mu[i], 1e-12)
        sd_L = float(np.sqrt(pairs.ltd_var[i]))
        K, h_day = pairs.K[i], pairs.h[i] / 365.0
        eoq = theory.eoq(mu, K, h_day)
        ss = r.reorder_point - pairs.ltd_mean[i]
        z = ss / sd_L if sd_L > 0 else float("nan")
        lines += [
            f"  {r.sku} @ {r.warehouse}: demand {mu:.4g} units/day, lead time {L:.4g} days, "
            f"lead-time demand mean {pairs.ltd_mean[i]:.4g}, sd sigma_L {sd_L:.4g}",
            f"    EOQ = sqrt(2 K D / h) = sqrt(2 x {K:g} x {mu:.4g} / {h_day:.4g}) = {eoq:.4g}; "
            f"Q used = {r.order_quantity:g}",
            f"    reorder point r = {r.reorder_point:g} = mean {pairs.ltd_mean[i]:.4g} + safety stock {ss:.4g} "
            f"(= z sigma_L with z = {z:.3f}; normal cycle service Phi(z) = {theory.normal_cdf(z):.4f})",
        ]
        if abs(pairs.ltd_var[i] - pairs.ltd_mean[i]) < 1e-9 * max(1.0, pairs.ltd_mean[i]):
            hw = theory.rq_poisson(int(r.reorder_point), int(r.order_quantity), mu, L)
            lines.append(
                f"    Hadley-Whitin (Poisson): fill rate {hw.fill_rate:.4f}, on hand {hw.expected_on_hand:.4f}, "
                f"backorders {hw.expected_backorders:.4f} (the optimizer's model: fill {r.fill_rate:.4f}, "
                f"on hand {r.expected_on_hand:.4f})"
            )
    return "\n".join(lines)


def print_reorder_plan(scenario, plan) -> None:
    """The reorder plan: status, targets, cost, what one more unit of each constraint is worth, per class."""
    rows = plan.rows
    print(
        f"reorder plan for {scenario.name}: {len(rows)} (SKU, warehouse) pairs, status {plan.status}, "
        f"built in {plan.build_seconds:.2f} s, solved in {plan.solve_seconds:.2f} s"
    )
    for note in plan.notes:
        print(f"  {note}")
    print(
        f"  LP bound {fmt_num(plan.lp_bound)} per year; gap {plan.gap:.2e} "
        f"((cost - LP bound) / cost: the plan is at most this far above the optimum)"
    )
    print(f"  fill-rate target {plan.fill_target:.4f}, predicted {plan.predicted_fill_rate:.4f}")
    print(
        f"  cost per year (holding + ordering + backorders): {fmt_num(plan.objective)}; "
        f"average inventory value {fmt_num(rows.inventory_value.sum())}"
    )
    d = plan.duals
    print(f"  one more point (0.01) of fill-rate target costs {fmt_num(d.get('fill_rate_point', 0.0))} per year")
    if "budget_unit" in d:
        print(f"  one more unit of inventory budget saves {fmt_num(d['budget_unit'])} per year")
    for key, value in d.items():
        if key.startswith("class_"):
            print(f"  one more point of the class {key[6]} minimum costs {fmt_num(value)} per year")
    print(f"  binding constraints: {', '.join(plan.binding) or 'none'}")
    classes = plan.by_class()
    classes["pairs"] = classes["pairs"].astype(int)
    formatters = {
        "predicted_fill_rate": "{:.4f}".format,
        "inventory_value": "{:,.0f}".format,
        "cost_per_year": "{:,.0f}".format,
    }
    print(classes.to_string(index=False, formatters=formatters))
    if len(rows) <= 3:
        print(teaching_view(scenario, plan))


def _reorder_plan(solve, args, scenario, class_min):
    """The reorder plan of the command line; a time limit too short for any plan is unusable input."""
    from optimize.solver import NoPlan

    try:
        return solve(
            scenario, fill_target=args.fill_target, budget=args.budget, class_min=class_min, time_limit=args.time_limit
        )
    except NoPlan as exc:
        raise ValueError(str(exc)) from None


def run_reorder(args) -> int:
    """``optimize reorder``: reorder points for a fill-rate target at least cost; ``--verify`` against uniform."""
    from optimize.reorder import solve

    try:  # a bad argument is reported before the scenario is even read
        class_min = parse_class_min(args.class_min)
    except ValueError as exc:
        return refuse(f"{exc}; nothing was written.")
    scenario = load_scenario(args.file, args.set, args.plan)
    if args.verify and _too_large(args, scenario, 2, args.verify):
        return EXIT_INPUT
    plan, code = _solve_or_explain(args, lambda: _reorder_plan(solve, args, scenario, class_min))
    if plan is None:
        return code
    print_reorder_plan(scenario, plan)
    if args.out:
        _write_plan(args.out, plan.to_overlay(), plan.rows.assign(plan_gap=plan.gap, plan_lp_bound=plan.lp_bound))
    if args.verify:
        variants = {"uniform": scenario, "plan": _planned(args, plan.to_overlay())}
        by = _verified(args, scenario, variants, verify.reorder_measure)
        print(verify.reorder_report(plan, by, args.verify))
    return EXIT_OK


# --------------------------------------------------------------------------- logistics
def print_lane_plan(args, scenario, plan) -> None:
    """The lane plan: status, predicted cost and on-time, the lanes used, the loads and the non-zero duals."""
    print(
        f"lane plan for {scenario.name}: status {plan.status}, solved in {plan.seconds:.2f} s; on-time target "
        f"{plan.on_time_target:.3f} per {args.scope}"
    )
    print(
        f"  predicted cost per order {fmt_num(plan.cost_per_order)} (shipping + handling), on-time "
        f"{plan.on_time:.4f}, open warehouses: {', '.join(plan.open_warehouses)}"
    )
    used = plan.lanes[plan.lanes.share > 1e-9]
    print(used.to_string(index=False, float_format=lambda x: f"{x:,.3f}"))
    print(plan.loads.to_string(index=False, float_format=lambda x: f"{x:,.3f}"))
    for name, value in plan.duals.items():
        if abs(value) > 1e-9:
            print(f"  dual {name}: {fmt_num(value)} per day")


def run_logistics(args) -> int:
    """``optimize logistics``: warehouse and carrier per region; ``--verify`` against the own routing, ``--sweep``."""
    from optimize.logistics import solve

    scenario = load_scenario(args.file, args.set, args.plan)
    if args.sweep:  # run.py's argument type checked the targets: each in (0, 1), at most 50
        targets = list(args.sweep)
        if _too_large(args, scenario, len(targets), args.verify or 3):
            return EXIT_INPUT
        return run_logistics_sweep(args, scenario, targets)
    if args.verify and _too_large(args, scenario, 2, args.verify):
        return EXIT_INPUT
    plan, code = _solve_or_explain(
        args,
        lambda: solve(
            scenario,
            on_time_target=args.on_time_target,
            allow_close=args.allow_close,
            scope=args.scope,
            seed=_master_seed(args, scenario),
            max_utilization=args.max_utilization,
        ),
    )
    if plan is None:
        return code
    print_lane_plan(args, scenario, plan)
    if args.out:
        _write_plan(args.out, plan.to_overlay())
    if args.verify:
        variants = {"default": scenario, "plan": _planned(args, plan.to_overlay())}
        by = _verified(args, scenario, variants, verify.logistics_measure)
        print(verify.logistics_report(scenario, plan, by, args.verify))
    return EXIT_OK


def run_logistics_sweep(args, scenario, targets: list[float]) -> int:
    """Solve for each on-time target, simulate each plan through the batch runner, plot the trade-off."""
    from optimize.logistics import network_from, solve

    root = verify.sweep_root(args.results, scenario)  # before any work
    seed = _master_seed(args, scenario)
    net = network_from(scenario, seed, args.max_utilization)
    points, predicted, skipped = verify.sweep_points(
        scenario,
        targets,
        lambda t: solve(scenario, t, args.allow_close, args.scope, network=net),
        lambda overlay: _planned(args, overlay),
    )
    for t, exc in skipped:
        print(f"target {t:g}: infeasible ({exc}); skipped", file=sys.stderr)
    if not points:
        print("infeasible: no target of the sweep can be met; nothing was written.", file=sys.stderr)
        return EXIT_INFEASIBLE
    sweep = verify.simulate_sweep(root, points, predicted, targets, args.verify or 3, seed, args.quiet)
    cols = ["variant", "pred_cost_per_order", "cost_per_order", "pred_on_time_rate", "on_time_rate"]
    print(sweep.table[cols].to_string(index=False, float_format=lambda x: f"{x:,.4f}"))
    print(f"wrote {sweep.folder / 'tradeoff.png'}")
    return EXIT_OK


# --------------------------------------------------------------------------- promotion
def _print_capacity_days(cap) -> None:
    """The five days where one more picker-shift is worth most (capacity-aware plans)."""
    top = cap.sort_values("value_per_picker_shift", ascending=False).head(5)
    for r in top.itertuples():
        extra = (
            f"; base orders already exceed capacity by {fmt_num(r.base_over_capacity)}, which the first "
            f"added capacity serves"
            if r.base_over_capacity > 0
            else ""
        )
        print(
            f"  picking capacity binds on {r.day}: one more picker-shift is worth {fmt_num(r.value_per_picker_shift)}"
            f" ({fmt_num(r.value_per_order)} per order){extra}"
        )


def print_promotion_plan(args, scenario, plan, budget, late_share) -> None:
    """The promotion plan: profit, spend per channel, the margin's costs, the value of budget and capacity."""
    kind = "capacity-blind" if args.capacity_blind else "capacity-aware"
    print(
        f"{kind} promotion plan for {scenario.name}: status {plan.status}, solved in {plan.seconds:.2f} s; "
        f"expected profit from marketing {fmt_num(plan.objective)} (after spend)"
    )
    print(plan.channels.to_string(index=False, float_format=lambda x: f"{x:,.3f}"))
    c = plan.costs_per_order
    late_text = (
        f", late delivery {c['late_delivery']:.2f} ({late_share:.1%} of orders late in a pilot run)"
        if late_share is not None
        else ""
    )
    print(
        f"  variable cost of an extra order in the margin: fulfilment {c['fulfilment']:.2f}, "
        f"replenishment {c['replenishment']:.2f}{late_text}"
    )
    if "budget_unit" in plan.duals and budget is not None:
        print(f"  one more unit of budget is worth {plan.duals['budget_unit']:.4f} of profit")
    cap = plan.capacity_days
    if cap is not None and len(cap):
        _print_capacity_days(cap)


def _budget(args, scenario) -> float | None:
    """``--budget``, or (without ``--target-roas``) the scenario's current marketing spend, said on screen."""
    from sim.model.demand import demand_plan

    budget = args.budget
    if budget is None and args.target_roas is None:
        budget = float(demand_plan(scenario).spend.sum())
        print(f"budget = the scenario's current marketing spend: {fmt_num(budget)}")
    return budget


def _late_share(scenario) -> float | None:
    """The share of late orders in a pilot run, when late deliveries cost something (else None)."""
    if scenario.inventory.costs.late_delivery_cost_per_order > 0 and scenario.carriers:
        from optimize.promotion import pilot_late_share

        return pilot_late_share(scenario)
    return None


def _verify_promotion(args, scenario, aware, solve_plan) -> None:
    """Capacity-aware vs capacity-blind plan (and no marketing, for the extra orders), common random numbers."""
    blind = solve_plan(capacity_aware=False)
    variants = {
        "aware": _planned(args, aware.to_overlay()),
        "blind": _planned(args, blind.to_overlay()),
        "none": _planned(args, verify.no_marketing_overlay(scenario)),
    }
    measure = partial(verify.promotion_measure, window=verify.promotion_window(scenario))
    by = _verified(args, scenario, variants, measure)
    print(verify.promotion_report(scenario, aware, blind, by, args.verify))


def run_promotion(args) -> int:
    """``optimize promotion``: marketing spend per channel and period; ``--verify`` aware against blind."""
    from optimize.promotion import solve

    scenario = load_scenario(args.file, args.set, args.plan)
    if args.verify and _too_large(args, scenario, 3, args.verify):
        return EXIT_INPUT
    budget = _budget(args, scenario)
    solve_plan = partial(
        solve,
        scenario,
        budget=budget,
        target_roas=args.target_roas,
        period=args.period,
        max_utilization=args.max_utilization,
        late_share=_late_share(scenario),
    )
    aware, code = _solve_or_explain(args, lambda: solve_plan(capacity_aware=not args.capacity_blind))
    if aware is None:
        return code
    print_promotion_plan(args, scenario, aware, budget, solve_plan.keywords["late_share"])
    if args.out:
        _write_plan(args.out, aware.to_overlay(), aware.spend)
    if args.verify:
        _verify_promotion(args, scenario, aware, solve_plan)
    return EXIT_OK
