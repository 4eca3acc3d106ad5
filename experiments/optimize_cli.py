"""``run.py optimize DECISION SCENARIO``: solve, print the plan, write its overlay, verify by simulation.

Verification simulates the scenario as it is (the uniform-service-level plan)
and with the plan applied, with the same seeds (common random numbers), and
prints predicted against simulated figures and the paired differences.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from experiments.output import atomic_write_text
from experiments.report import fmt_num
from experiments.runner import Task, run_outputs
from experiments.spec import Point
from experiments.stats import mean_ci
from sim.model.shop import simulate
from sim.model.streams import replication_seed
from sim.scenario.loader import load_scenario

EXIT_INFEASIBLE = 3


def _ci_text(values, digits: int = 4) -> str:
    ci = mean_ci(values)
    hw = "" if np.isnan(ci.half_width) else f" ± {fmt_num(ci.half_width, 2)}"
    return f"{fmt_num(ci.mean, digits)}{hw}"


def simulate_paired(args, scenario, variants: dict, measure) -> dict[str, pd.DataFrame]:
    """Replication r of every variant with the same seed (common random numbers).

    ``measure(result, scenario)`` turns one simulation into a dict of numbers; returns one
    table per variant, row r = replication r, so ``a.x - b.x`` are paired differences.
    The runs go through the batch runner (one worker process per core, forked, so ``measure``
    may be a closure; progress on stderr unless ``--quiet``); the numbers do not depend on
    the number of processes.
    """
    master = scenario.seed if args.seed is None else args.seed
    points = [Point(name, sc, {}, name) for name, sc in variants.items()]
    tasks = [Task(p, r, replication_seed(master, r)) for r in range(args.verify) for p in points]

    def job(sc, seed: int, _daily_columns) -> dict:
        try:
            return {"status": "ok", "measure": measure(simulate(sc, seed), sc)}
        except Exception as exc:  # reported below, after the other runs
            return {"status": "failed", "error": f"{exc.__class__.__name__}: {exc}"}

    workers = min(os.cpu_count() or 1, len(tasks))
    executor = "process" if "fork" in mp.get_all_start_methods() else "serial"  # a closure needs fork
    outputs, _ = run_outputs(
        tasks,
        None,
        executor,
        workers,
        daily_columns=(),
        job=job,
        unit="runs",
        quiet=getattr(args, "quiet", False),
        desc="verifying",
    )
    failed = [(t, o) for t, o in zip(tasks, outputs) if o["status"] != "ok"]
    if failed:
        t, o = failed[0]
        raise RuntimeError(f"verification run {t.point.name} #{t.replication} (seed {t.seed}) failed: {o['error']}")
    rows = [{"variant": t.point.name, "replication": t.replication, **o["measure"]} for t, o in zip(tasks, outputs)]
    t = pd.DataFrame(rows)
    return {name: t[t.variant == name].reset_index(drop=True) for name in variants}


def _too_large(args, scenario, variants: int, replications: int) -> bool:
    """Estimate the verification runs (printed to stderr); True after one error line if they are too large.

    Checked before solving, so a refused run writes nothing. The variants are counted with the
    scenario's own work (a plan changes stock and routing, not the number of orders, much).
    """
    from sim.scenario.estimate import check_work, estimate_work

    workers = min(os.cpu_count() or 1, variants * replications)
    work, refused = check_work(
        str(args.file), [estimate_work(scenario)] * variants, replications, workers, getattr(args, "allow_large", False)
    )
    if refused:
        print(f"error: {refused}", file=sys.stderr)
        return True
    if not getattr(args, "quiet", False):
        print(work, file=sys.stderr)
    return False


def _solve_or_explain(args, solve_fn):
    """(plan, 0), or (None, exit code) after one clear line: 2 for unusable input, 3 for infeasible."""
    from optimize.solver import Infeasible

    try:
        return solve_fn(), 0
    except ValueError as exc:
        print(f"error: {args.file}: {exc}", file=sys.stderr)
        return None, 2
    except Infeasible as exc:
        print(f"infeasible: {exc}; nothing was written.", file=sys.stderr)
        return None, EXIT_INFEASIBLE


def _class_fill(result, scenario) -> dict[str, float]:
    from sim.model.catalog import catalog_for

    abc = np.tile(catalog_for(scenario).abc, len(scenario.warehouses))
    d, f = result.state["demanded_after_warmup"], result.state["filled_now_after_warmup"]
    return {
        c: float(f[abc == c].sum() / d[abc == c].sum()) if d[abc == c].sum() else float("nan") for c in ("A", "B", "C")
    }


def _parse_class_min(items: list[str]) -> dict[str, float]:
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
            raise ValueError(f"--class-min expects CLASS=FILL with CLASS in A, B, C and 0 < FILL < 1, got {text!r}")
    return out


def run_reorder(args) -> int:
    from optimize.reorder import solve

    try:  # a bad argument is reported before the scenario is even read
        class_min = _parse_class_min(args.class_min)
    except ValueError as exc:
        print(f"error: {exc}; nothing was written.", file=sys.stderr)
        return 2
    scenario = load_scenario(args.file, args.set, args.plan)
    if args.verify and _too_large(args, scenario, 2, args.verify):
        return 2
    plan, code = _solve_or_explain(
        args,
        lambda: solve(
            scenario, fill_target=args.fill_target, budget=args.budget, class_min=class_min, time_limit=args.time_limit
        ),
    )
    if plan is None:
        return code
    rows = plan.rows
    print(
        f"reorder plan for {scenario.name}: {len(rows)} (SKU, warehouse) pairs, status {plan.status}, "
        f"built in {plan.build_seconds:.2f} s, solved in {plan.solve_seconds:.2f} s"
    )
    for note in plan.notes:
        print(f"  {note}")
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
    print(
        classes.to_string(
            index=False,
            formatters={
                "predicted_fill_rate": "{:.4f}".format,
                "inventory_value": "{:,.0f}".format,
                "cost_per_year": "{:,.0f}".format,
            },
        )
    )
    if len(rows) <= 3:
        print(teaching_view(scenario, plan))
    if args.out:
        atomic_write_text(Path(args.out), yaml.safe_dump(plan.to_overlay(), sort_keys=False))
        atomic_write_text(Path(args.out).with_suffix(".csv"), rows.to_csv(index=False))
        print(f"wrote {args.out} (overlay for --plan) and {Path(args.out).with_suffix('.csv')}")
    if args.verify:
        verify_reorder(args, scenario, plan)
    return 0


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


def verify_reorder(args, scenario, plan) -> None:
    """Simulate the uniform plan and the optimized plan with common random numbers."""
    planned = load_scenario(args.file, args.set, args.plan, overlays=[plan.to_overlay()])

    def measure(res, sc):
        k = res.kpis
        years = (sc.horizon_days - sc.warmup_days) / 365.0
        return {
            "fill": k["unit_fill_rate"],
            "value": k["avg_inventory_value"],
            "cost": (k["holding_cost"] + k["ordering_cost"] + k["shortage_cost"]) / years,
            **{f"fill_{c}": v for c, v in _class_fill(res, sc).items()},
        }

    by = simulate_paired(args, scenario, {"uniform": scenario, "plan": planned}, measure)
    u, p = by["uniform"], by["plan"]
    pred_class = plan.by_class().set_index("abc")["predicted_fill_rate"]
    print(f"verification: {args.verify} replications, common random numbers, mean ± 95% CI half-width")
    print(f"  {'':<26}{'predicted':>12}{'simulated plan':>22}{'simulated uniform':>22}")
    print(f"  {'unit fill rate':<26}{plan.predicted_fill_rate:>12.4f}{_ci_text(p.fill):>22}{_ci_text(u.fill):>22}")
    for c in ("A", "B", "C"):
        if c in pred_class:
            print(
                f"  {'  class ' + c:<26}{pred_class[c]:>12.4f}{_ci_text(p[f'fill_{c}']):>22}"
                f"{_ci_text(u[f'fill_{c}']):>22}"
            )
    print(
        f"  {'inventory value':<26}{fmt_num(plan.rows.inventory_value.sum()):>12}{_ci_text(p.value):>22}"
        f"{_ci_text(u.value):>22}"
    )
    print(f"  {'cost per year':<26}{fmt_num(plan.objective):>12}{_ci_text(p.cost):>22}{_ci_text(u.cost):>22}")
    dv, df = mean_ci(p.value - u.value), mean_ci(p.fill - u.fill)
    print(
        f"  plan - uniform: inventory value {fmt_num(dv.mean)} ± {fmt_num(dv.half_width, 2)} "
        f"({dv.mean / u.value.mean():+.1%}), fill rate {df.mean:+.4f} ± {df.half_width:.4f}"
    )


def run_logistics(args) -> int:
    from optimize.logistics import solve

    scenario = load_scenario(args.file, args.set, args.plan)
    if args.sweep:  # run.py's argument type checked the targets: each in (0, 1), at most 50
        targets = list(args.sweep)
        if _too_large(args, scenario, len(targets), args.verify or 3):
            return 2
        return run_logistics_sweep(args, scenario, targets)
    if args.verify and _too_large(args, scenario, 2, args.verify):
        return 2
    plan, code = _solve_or_explain(
        args,
        lambda: solve(
            scenario,
            on_time_target=args.on_time_target,
            allow_close=args.allow_close,
            scope=args.scope,
            seed=scenario.seed if args.seed is None else args.seed,
            max_utilization=args.max_utilization,
        ),
    )
    if plan is None:
        return code
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
    if args.out:
        atomic_write_text(Path(args.out), yaml.safe_dump(plan.to_overlay(), sort_keys=False))
        print(f"wrote {args.out} (overlay for --plan)")
    if args.verify:
        verify_logistics(args, scenario, plan)
    return 0


def verify_logistics(args, scenario, plan) -> None:
    """Simulate the lane plan and the scenario's own routing with common random numbers.

    The simulated figures are the simulator's own cost KPIs (``shipping_cost``, ``handling_cost``,
    ``warehouse_fixed_cost``), the same totals that ``total_cost`` adds up, so the prediction is
    checked against what a ``simulate --plan`` run reports.
    """
    planned = load_scenario(args.file, args.set, args.plan, overlays=[plan.to_overlay()])

    def measure(res, sc):
        k = res.kpis
        days = sc.horizon_days - sc.warmup_days
        return {
            "on_time": k["on_time_rate"],
            "cost": _ratio(k["shipping_cost"] + k["handling_cost"], k["orders"]),
            "per_day": (k["shipping_cost"] + k["handling_cost"] + k["warehouse_fixed_cost"]) / days,
            "c2d_p95": k["click_to_door_p95"],
        }

    by = simulate_paired(args, scenario, {"default": scenario, "plan": planned}, measure)
    u, p = by["default"], by["plan"]
    print(f"verification: {args.verify} replications, common random numbers, mean ± 95% CI half-width")
    print(f"  {'':<28}{'predicted':>12}{'simulated plan':>22}{'simulated default':>22}")
    print(f"  {'on-time rate':<28}{plan.on_time:>12.4f}{_ci_text(p.on_time):>22}{_ci_text(u.on_time):>22}")
    print(f"  {'cost per order':<28}{plan.cost_per_order:>12.3f}{_ci_text(p.cost):>22}{_ci_text(u.cost):>22}")
    if any(w.fixed_cost_per_day for w in scenario.warehouses):
        print(
            f"  {'cost per day (incl. fixed)':<28}{plan.objective_per_day:>12,.1f}{_ci_text(p.per_day, 5):>22}"
            f"{_ci_text(u.per_day, 5):>22}"
        )
    print(f"  {'click-to-door p95 (days)':<28}{'':>12}{_ci_text(p.c2d_p95):>22}{_ci_text(u.c2d_p95):>22}")
    dc, do = mean_ci(p.cost - u.cost), mean_ci(p.on_time - u.on_time)
    print(
        f"  plan - default: cost per order {dc.mean:+.3f} ± {dc.half_width:.3f}, "
        f"on-time {do.mean:+.4f} ± {do.half_width:.4f}"
    )


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def run_logistics_sweep(args, scenario, targets: list[float]) -> int:
    """Solve for each on-time target, simulate each plan through the batch runner, plot the trade-off."""
    from experiments import plots as P
    from experiments.output import RunFolder, atomic_write_csv, inside, manifest
    from experiments.runner import run_tasks, tasks_for
    from experiments.spec import Point
    from experiments.stats import summarize, summary_wide
    from optimize.logistics import network_from, solve
    from optimize.solver import Infeasible
    from sim.scenario.loader import scenario_hash

    root = inside(args.results, Path(args.results) / f"{scenario.name}_logistics_sweep")  # before any work
    cache = inside(root, root / "cache")
    net = network_from(scenario, scenario.seed if args.seed is None else args.seed, args.max_utilization)
    points, predicted = [], []
    for t in targets:
        try:
            plan = solve(scenario, t, args.allow_close, args.scope, network=net)
        except Infeasible as exc:
            print(f"target {t:g}: infeasible ({exc}); skipped", file=sys.stderr)
            continue
        sc = load_scenario(args.file, args.set, args.plan, overlays=[plan.to_overlay()])
        name = f"target={t:g}"
        points.append(Point(name=name, scenario=sc, params={"on_time_target": t}, hash=scenario_hash(sc)))
        predicted.append(
            {"variant": name, "pred_cost_per_order": plan.cost_per_order, "pred_on_time_rate": plan.on_time}
        )
    if not points:
        print("infeasible: no target of the sweep can be met; nothing was written.", file=sys.stderr)
        return EXIT_INFEASIBLE
    reps = args.verify or 3
    runs, _ = run_tasks(
        tasks_for(points, reps, scenario.seed if args.seed is None else args.seed),
        cache,
        "process",
        None,
        None,
        (),
        quiet=args.quiet,
    )
    # the plan's cost per order is shipping + handling: compare it with the same simulated total
    runs = runs.assign(cost_per_order=(runs["shipping_cost"] + runs["handling_cost"]) / runs["orders"])
    metrics = ["cost_per_order", "on_time_rate", "click_to_door_p95"]
    summary = summarize(runs, metrics)
    wide = summary_wide(summary).merge(pd.DataFrame(predicted), on="variant")
    wide["label"] = wide["variant"]
    with RunFolder(root, "", "sweep", None) as rf:
        atomic_write_csv(rf.path / "runs.csv", runs)
        atomic_write_csv(rf.path / "tradeoff.csv", wide)
        P.predicted_vs_simulated(
            wide,
            "cost_per_order",
            "on_time_rate",
            rf.path / "tradeoff.png",
            title="Lane plans: cost per order vs on-time rate",
            xlabel="shipping + handling cost per order (currency)",
            ylabel="on-time rate (fraction)",
        )
        rf.write_json("manifest.json", manifest(kind="logistics_sweep", targets=targets, replications=reps))
    cols = ["variant", "pred_cost_per_order", "cost_per_order", "pred_on_time_rate", "on_time_rate"]
    print(wide[cols].to_string(index=False, float_format=lambda x: f"{x:,.4f}"))
    print(f"wrote {rf.final / 'tradeoff.png'}")
    return 0


def run_promotion(args) -> int:
    from optimize.promotion import solve
    from sim.model.demand import demand_plan

    scenario = load_scenario(args.file, args.set, args.plan)
    if args.verify and _too_large(args, scenario, 3, args.verify):
        return 2
    budget = args.budget
    if budget is None and args.target_roas is None:
        budget = float(demand_plan(scenario).spend.sum())
        print(f"budget = the scenario's current marketing spend: {fmt_num(budget)}")
    late_share = None
    if scenario.inventory.costs.late_delivery_cost_per_order > 0 and scenario.carriers:
        from optimize.promotion import pilot_late_share

        late_share = pilot_late_share(scenario)
    aware, code = _solve_or_explain(
        args,
        lambda: solve(
            scenario,
            budget=budget,
            target_roas=args.target_roas,
            period=args.period,
            capacity_aware=not args.capacity_blind,
            max_utilization=args.max_utilization,
            late_share=late_share,
        ),
    )
    if aware is None:
        return code
    kind = "capacity-blind" if args.capacity_blind else "capacity-aware"
    print(
        f"{kind} promotion plan for {scenario.name}: status {aware.status}, solved in {aware.seconds:.2f} s; "
        f"expected profit from marketing {fmt_num(aware.objective)} (after spend)"
    )
    print(aware.channels.to_string(index=False, float_format=lambda x: f"{x:,.3f}"))
    c = aware.costs_per_order
    late_text = (
        f", late delivery {c['late_delivery']:.2f} ({late_share:.1%} of orders late in a pilot run)"
        if late_share is not None
        else ""
    )
    print(
        f"  variable cost of an extra order in the margin: fulfilment {c['fulfilment']:.2f}, "
        f"replenishment {c['replenishment']:.2f}{late_text}"
    )
    if "budget_unit" in aware.duals and budget is not None:
        print(f"  one more unit of budget is worth {aware.duals['budget_unit']:.4f} of profit")
    cap = aware.capacity_days
    if cap is not None and len(cap):
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
    if args.out:
        atomic_write_text(Path(args.out), yaml.safe_dump(aware.to_overlay(), sort_keys=False))
        atomic_write_text(Path(args.out).with_suffix(".csv"), aware.spend.to_csv(index=False))
        print(f"wrote {args.out} (overlay for --plan) and {Path(args.out).with_suffix('.csv')}")
    if args.verify:
        blind = solve(
            scenario,
            budget=budget,
            target_roas=args.target_roas,
            period=args.period,
            capacity_aware=False,
            max_utilization=args.max_utilization,
            late_share=late_share,
        )
        verify_promotion(args, scenario, aware, blind)
    return 0


def verify_promotion(args, scenario, aware, blind) -> None:
    """Capacity-aware vs capacity-blind plan (and no marketing, for the extra orders), common random numbers."""
    none = {
        "demand": {
            "channels": [
                dict(
                    c.model_dump(mode="json", exclude_none=True),
                    spend_per_day=0.0,
                    event_spend_per_day=0.0,
                    schedule=[],
                )
                for c in scenario.demand.channels
            ]
        }
    }
    variants = {
        "aware": load_scenario(args.file, args.set, args.plan, overlays=[aware.to_overlay()]),
        "blind": load_scenario(args.file, args.set, args.plan, overlays=[blind.to_overlay()]),
        "none": load_scenario(args.file, args.set, args.plan, overlays=[none]),
    }
    from sim.model.demand import demand_plan

    event = demand_plan(scenario).event
    window = np.convolve(event.astype(float), np.ones(15), mode="same") > 0  # events +- 7 days

    def measure(res, sc):
        k, daily = res.kpis, res.daily
        due = daily["orders"][window].sum()
        return {
            "orders": k["orders"],
            "revenue": k["revenue"],
            "profit": k["profit"],
            "on_time": k["on_time_rate"],
            "late": 1 - k["on_time_rate"],
            "late_orders": k["late_orders"],
            "late_cost": k["late_delivery_cost"],
            "late_event": float(daily["late_orders"][window].sum() / due) if due else np.nan,
            "backlog_max": float(daily["backlog_end"].max()),
        }

    by = simulate_paired(args, scenario, variants, measure)
    warm = scenario.warmup_days

    def after_warmup(plan, column: str) -> float:
        """A plan's predicted total over the periods after the warm-up (the KPIs exclude the warm-up)."""
        post = [s_ >= scenario.start_date + pd.Timedelta(days=warm) for s_ in plan.spend.start]
        return float(plan.spend[column][post].sum())

    share = lambda plan: after_warmup(plan, "extra_orders")  # noqa: E731
    print(
        f"verification: {args.verify} replications, common random numbers, mean ± 95% CI half-width; "
        f"predicted = the plan's figures after the {warm}-day warm-up, as the KPIs count them"
    )
    print(f"  {'':<26}{'predicted aware':>16}{'simulated aware':>22}{'predicted blind':>16}{'simulated blind':>22}")
    ex_a = by["aware"].orders - by["none"].orders
    ex_b = by["blind"].orders - by["none"].orders
    print(
        f"  {'extra orders':<26}{fmt_num(share(aware)):>16}{_ci_text(ex_a):>22}{fmt_num(share(blind)):>16}"
        f"{_ci_text(ex_b):>22}"
    )
    pa, pb = by["aware"].profit - by["none"].profit, by["blind"].profit - by["none"].profit
    ra, rb = by["aware"].revenue - by["none"].revenue, by["blind"].revenue - by["none"].revenue
    print(
        f"  {'revenue from marketing':<26}{fmt_num(after_warmup(aware, 'revenue')):>16}{_ci_text(ra):>22}"
        f"{fmt_num(after_warmup(blind, 'revenue')):>16}{_ci_text(rb):>22}"
    )
    print(
        f"  {'profit from marketing':<26}{fmt_num(after_warmup(aware, 'profit')):>16}{_ci_text(pa):>22}"
        f"{fmt_num(after_warmup(blind, 'profit')):>16}{_ci_text(pb):>22}"
    )
    for key, label in (
        ("revenue", "revenue"),
        ("profit", "profit (all)"),
        ("on_time", "on-time rate"),
        ("late", "late-delivery rate"),
        ("late_event", "late rate, events +-7 d"),
        ("late_orders", "late orders"),
        ("late_cost", "late-delivery cost"),
        ("backlog_max", "peak pick backlog"),
    ):
        if key == "on_time":
            print(f"  {'on-time, no marketing':<26}{'':>16}{_ci_text(by['none'][key]):>22}")
        print(f"  {label:<26}{'':>16}{_ci_text(by['aware'][key]):>22}{'':>16}{_ci_text(by['blind'][key]):>22}")
    a, b = by["aware"], by["blind"]
    dl, dp = mean_ci(a.late - b.late), mean_ci(a.profit - b.profit)
    de = mean_ci(a.late_event - b.late_event)
    dn = mean_ci(a.late_orders - b.late_orders)
    print(
        f"  aware - blind: late-delivery rate {dl.mean:+.4f} ± {dl.half_width:.4f} (around the events "
        f"{de.mean:+.4f} ± {de.half_width:.4f}), late orders {dn.mean:+,.0f} ± {dn.half_width:,.0f}, "
        f"profit {fmt_num(dp.mean)} ± {fmt_num(dp.half_width, 2)}"
    )
    # what a late order must cost for the two plans to make the same profit
    before_late = (a.profit + a.late_cost) - (b.profit + b.late_cost)
    if dn.mean < 0 < -before_late.mean():
        print(
            f"  break-even: the capacity-aware plan makes at least as much profit when a late order costs more "
            f"than {fmt_num(-before_late.mean() / -dn.mean)} (scenario: "
            f"{fmt_num(scenario.inventory.costs.late_delivery_cost_per_order)}, "
            f"inventory.costs.late_delivery_cost_per_order)"
        )
