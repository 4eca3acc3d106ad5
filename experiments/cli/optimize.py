"""``run.py optimize DECISION SCENARIO``: solve, print the plan, write its overlay, verify it by simulation.

Verification (``--verify N``, :mod:`experiments.verify`) simulates the scenario as it is (or
a rival plan) and with the plan applied, with the same seeds (common random numbers) drawn from
the verification family ``verify_seed`` (fresh streams, independent of any pilot run), and
prints predicted against simulated figures and the paired differences. ``logistics --sweep``
solves for several on-time targets and simulates each plan.
"""

from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from experiments import verify
from experiments.cli import EXIT_INFEASIBLE, EXIT_INPUT, EXIT_OK, refuse
from experiments.output import atomic_write_text
from experiments.report import fmt_num
from sim.scenario.estimate import check_work, estimate_work
from sim.scenario.loader import load_scenario


def run(args) -> int:
    """Dispatch ``optimize reorder|logistics|promotion|policy|textbook``."""
    if args.decision == "policy":
        from experiments.cli import policy

        return policy.run(args)
    if args.decision == "textbook":
        from experiments.cli import textbook

        return textbook.run(args)
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
    print(f"simulated: {args.verify or 3} replications per target on {verify.FRESH} (seeds verify_seed(master, r))")
    print(sweep.table[cols].to_string(index=False, float_format=lambda x: f"{x:,.4f}"))
    print(f"wrote {sweep.folder / 'tradeoff.png'}")
    return EXIT_OK


# --------------------------------------------------------------------------- promotion
KIND = {"priced": "priced-capacity", "hard": "hard-capacity", "blind": "capacity-blind"}


def _print_capacity_days(cap) -> None:
    """The five (day, warehouse) pairs where one more picker-shift is worth most."""
    top = cap.sort_values("value_per_picker_shift", ascending=False).head(5)
    for r in top.itertuples():
        extra = (
            f"; base orders already exceed capacity by {fmt_num(r.base_over_capacity)}, which the first "
            f"added capacity serves"
            if r.base_over_capacity > 0
            else ""
        )
        print(
            f"  picking capacity is worth {fmt_num(r.value_per_order, 2)} per order on {r.day} at {r.warehouse}: "
            f"one more picker on its {r.shift_hours:g}-hour shift is worth {fmt_num(r.value_per_picker_shift)}{extra}"
        )


def _print_late(plan) -> None:
    """Priced mode: what a day in the pick backlog costs and what the plan's backlog is predicted to cost."""
    late = plan.late
    if not late.get("per_backlog_day"):
        return
    source = (
        "measured around the scenario's own pick backlog in pilot runs"
        if late.get("source") == "backlog"
        else "orders delivered with less than a day to spare"
    )
    print(
        f"  a backlog order-day makes {late['per_backlog_day']:.3f} orders late ({source}); a late order costs "
        f"{fmt_num(late['price'], 2)}: the plan adds {fmt_num(late['added_backlog_order_days'])} backlog order-days, "
        f"{fmt_num(late['late_orders'])} late orders ({fmt_num(late['late_orders'] * late['price'])})"
    )


def print_promotion_plan(args, scenario, plan, budget) -> None:
    """The promotion plan: profit, spend per channel, the margin's costs, the value of budget and capacity."""
    print(
        f"{KIND[plan.capacity]} promotion plan for {scenario.name}: status {plan.status}, solved in "
        f"{plan.seconds:.2f} s; expected profit from marketing {fmt_num(plan.objective)} (after spend"
        f"{' and late orders' if plan.capacity == 'priced' and plan.late.get('per_backlog_day') else ''})"
    )
    print(plan.channels.to_string(index=False, float_format=lambda x: f"{x:,.3f}"))
    c = plan.costs_per_order
    share = plan.late.get("calm_share" if plan.capacity == "priced" else "overall_share")
    late_text = f", late delivery {c['late_delivery']:.2f} ({share:.1%} of orders late in pilot runs)" if share else ""
    print(
        f"  variable cost of an extra order in the margin: fulfilment {c['fulfilment']:.2f}, "
        f"replenishment {c['replenishment']:.2f}{late_text}"
    )
    _print_late(plan)
    if "budget_unit" in plan.duals and budget is not None:
        spent = float(plan.spend.spend.sum())
        if abs(plan.duals["budget_unit"]) <= 1e-9 and spent < budget - 1e-6 * budget:
            print(f"  the budget does not bind: the plan spends {fmt_num(spent)} of {fmt_num(budget)}")
        else:
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


def _pilot(scenario, prices: list[float]):
    """Lateness from pilot runs, when some late price is above 0 and orders are delivered (else None)."""
    if max(prices) > 0 and scenario.carriers:
        from optimize.promotion import pilot_lateness

        return pilot_lateness(scenario)
    return None


def _print_wall(scenario, plan, kwargs) -> None:
    """Priced plans that add backlog: the late price at which keeping within capacity (the wall) pays."""
    from optimize.promotion import wall_price

    if plan.capacity != "priced" or plan.late.get("added_backlog_order_days", 0.0) <= 1e-6:
        return
    price = wall_price(scenario, kwargs)
    text = "above 1,000" if price is None else f"about {fmt_num(price, 2)}"
    print(
        f"  keeping every marketing order within picking capacity (--capacity hard) pays when a late order costs "
        f"{text} (now {fmt_num(scenario.inventory.costs.late_delivery_cost_per_order, 2)})"
    )


def _print_dual_check(scenario, plan, kwargs) -> None:
    """``--check-duals``: the duals against finite differences of the optimum."""
    from optimize.promotion import dual_check

    table = dual_check(scenario, plan, kwargs)
    if table.empty:
        print("  dual check: no budget or capacity dual is above 0")
    for r in table.to_dict("records"):
        smooth = abs(r["right"] - r["left"]) <= 1e-3 * abs(r["left"]) + 1e-12
        kink = "" if smooth else " (a kink: the dual may lie anywhere between)"
        print(
            f"  dual check {r['dual']}: {r['value']:.4f}; the optimum changes by {r['right']:.4f} per unit more, "
            f"{r['left']:.4f} per unit less{kink}: error {r['relative_error']:.2%}"
        )


def _verify_promotion(args, scenario, prices: list[float], solve_at) -> int:
    """Priced, hard and blind plans at each late price (and no marketing), common random numbers."""
    from experiments.output import RunFolder, atomic_write_csv, inside, manifest
    from experiments.plots import late_price_lines
    from experiments.verify_promotion import PLANS, distinct_plans, price_table, sweep_report
    from optimize.solver import Infeasible

    try:
        plans = {(p, m): solve_at(p, m) for p in prices for m in PLANS}
    except Infeasible as exc:
        print(f"infeasible: {exc}; nothing was written.", file=sys.stderr)
        return EXIT_INFEASIBLE
    overlays, which = distinct_plans(plans)
    variants = {name: _planned(args, ov) for name, ov in overlays.items()}
    variants["none"] = _planned(args, verify.no_marketing_overlay(scenario))
    measure = partial(verify.promotion_measure, window=verify.promotion_window(scenario))
    by = _verified(args, scenario, variants, measure)
    sweep = price_table(scenario, plans, which, by, prices)
    print(sweep_report(sweep, args.verify))
    root = inside(args.results, Path(args.results) / scenario.name)
    with RunFolder(root, "", "promo") as rf:
        atomic_write_csv(rf.path / "late_price.csv", sweep.table)
        atomic_write_csv(rf.path / "differences.csv", sweep.differences)
        runs = pd.concat([t.assign(variant=name) for name, t in by.items()], ignore_index=True)
        atomic_write_csv(rf.path / "runs.csv", runs)
        late_price_lines(sweep.table, rf.path / "late_price.png", scenario.currency)
        rf.write_json("manifest.json", manifest(kind="promotion_verify", late_prices=prices, replications=args.verify))
    print(f"wrote {rf.final} (late_price.csv, differences.csv, runs.csv, late_price.png)")
    return EXIT_OK


def run_promotion(args) -> int:
    """``optimize promotion``: marketing spend per channel and period; ``--verify`` priced, hard and blind plans."""
    from optimize.promotion import solve, with_late_price
    from optimize.promotion_course import is_course_file

    if is_course_file(args.file):
        return run_course(args)
    scenario = load_scenario(args.file, args.set, args.plan)
    base_price = scenario.inventory.costs.late_delivery_cost_per_order
    prices = args.late_price or [base_price]
    if args.late_price and not args.verify:
        return refuse(f"{args.file}: --late-price needs --verify N (the plans are compared by simulation)")
    if args.verify and _too_large(args, scenario, 3 * len(prices) + 1, args.verify):
        return EXIT_INPUT
    budget = _budget(args, scenario)
    kwargs = {
        "budget": budget,
        "target_roas": args.target_roas,
        "period": args.period,
        "max_utilization": args.max_utilization,
        "lateness": _pilot(scenario, [*prices, base_price]),
        "objective": args.objective or "profit",
        "budget_use": (args.budget_use or "at-most").replace("-", "_"),
    }

    def solve_at(price: float, mode: str):
        return solve(with_late_price(scenario, price), capacity=mode, **kwargs)

    plan, code = _solve_or_explain(args, lambda: solve_at(base_price, args.capacity))
    if plan is None:
        return code
    print_promotion_plan(args, scenario, plan, budget)
    _print_wall(scenario, plan, {**kwargs, "capacity": args.capacity})
    if args.check_duals:
        _print_dual_check(scenario, plan, {**kwargs, "capacity": args.capacity})
    if args.out:
        _write_plan(args.out, plan.to_overlay(), plan.spend)
    if args.verify:
        return _verify_promotion(args, scenario, prices, solve_at)
    return EXIT_OK


def print_course_plan(lp, plan) -> None:
    """The course LP's answer: spend per segment, objective, the budget's and the channels' duals."""
    print(
        f"course promotion LP: maximize {lp.objective}, spend {lp.budget_use.replace('_', ' ')} {fmt_num(lp.budget)}; "
        f"status {plan.status}; {lp.objective} {fmt_num(plan.objective, 2)}"
    )

    def fmt(x: float) -> str:
        return f"{x:,.4f}".rstrip("0").rstrip(".")

    print(plan.segments.to_string(index=False, float_format=fmt))
    print(plan.channels.to_string(index=False, float_format=fmt))
    print(f"  one more unit of budget is worth {plan.budget_dual:.4f} of {lp.objective} (the budget's dual)")
    for name, mu in plan.channel_duals.items():
        if abs(mu) > 1e-12:
            print(f"  the spend limits of {name} are worth {mu:.4f} per unit")
    print(
        "  reduced value: a segment's value per unit of spend beyond what the budget's last unit earns "
        "(> 0: bought in full, 0: at the margin, < 0: that much short of being worth buying)"
    )


def run_course(args) -> int:
    """``optimize promotion COURSE.yaml``: the coursework LP with its segments (``optimize.promotion_course``)."""
    from optimize.promotion_course import load_course, solve_course

    if args.verify or args.late_price or args.set or args.plan or args.capacity != "priced":
        return refuse(
            f"{args.file}: a course LP (promotion_lp:) has no simulator behind it: --verify, --late-price, "
            "--capacity, --set and --plan do not apply"
        )
    lp = load_course(args.file)
    changes = {
        "budget": args.budget,
        "objective": args.objective,
        "budget_use": args.budget_use.replace("-", "_") if args.budget_use else None,
    }
    lp = lp.model_copy(update={k: v for k, v in changes.items() if v is not None})
    plan, code = _solve_or_explain(args, lambda: solve_course(lp))
    if plan is None:
        return code
    print_course_plan(lp, plan)
    if args.out:
        overlay = {
            "plan_info": {
                "kind": "course_promotion",
                "objective": float(round(plan.objective, 6)),
                "budget_dual": float(round(plan.budget_dual, 6)),
            },
            "spend": {r.channel: float(r.spend) for r in plan.channels.itertuples()},
        }
        _write_plan(args.out, overlay, plan.segments)
    return EXIT_OK
