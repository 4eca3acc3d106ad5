"""``run.py optimize textbook MODEL``: a textbook inventory model's optimum in the book's own conventions.

Models (closed forms and exact algorithms of :mod:`sim.theory`, each with its published example):

* ``eoq-backorders`` — EOQ with planned backorders (Snyder & Shen 2019, section 3.5);
* ``newsvendor`` — normal demand with ``--sd``, else Poisson (Snyder & Shen, section 4.3);
* ``rq`` — continuous-review (r, Q), Poisson demand, backorders: the Federgruen-Zheng (1992) optimum
  of the exact cost C(r, Q) (time averages; an order when the inventory position falls to r or below);
* ``ss`` — periodic-review (s, S), Poisson demand per period: the Zheng-Federgruen (1991) optimum of the
  exact cost c(s, S) (holding and backorders charged on the end-of-period net inventory).

For ``rq`` and ``ss`` the command also prints, and with ``--out`` writes, the scenario keys that
simulate the policy under the book's conventions (``reorder_trigger``, ``cost_basis``,
``order_cost_per_unit``): an overlay for ``run.py simulate ONE_SKU.yaml --plan plan.yaml``.
The simulator's holding cost is ``holding_rate_per_year`` x the SKU's ``unit_cost`` per year, so
``--unit-cost`` lets the overlay set the rate that gives the book's h.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml
from pydantic import ValidationError as PydanticError

from experiments.cli import EXIT_INPUT, EXIT_OK, refuse
from experiments.output import atomic_write_text

__all__ = ["REQUIRED", "overlay_for", "run", "solve"]

#: model -> the options it needs (argparse destinations)
REQUIRED = {
    "eoq-backorders": ("demand_rate", "order_cost", "holding", "backorder"),
    "newsvendor": ("mean",),
    "rq": ("demand_rate", "lead_time", "holding", "backorder", "order_cost"),
    "ss": ("mean", "holding", "backorder", "order_cost"),
}


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _missing(args) -> str | None:
    """One line naming the options the model needs and did not get, or None."""
    missing = [_flag(d) for d in REQUIRED[args.model] if getattr(args, d, None) is None]
    if args.model == "newsvendor":
        costs = (args.underage, args.overage) if args.underage is not None or args.overage is not None else None
        prices = (args.price, args.cost) if costs is None else None
        if costs is not None and None in costs:
            missing.append("--underage and --overage (both)")
        elif prices is not None and None in prices:
            missing.append("--underage/--overage or --price/--cost (and optionally --salvage)")
    bad_prices = not (args.salvage or 0.0) < (args.cost or 0.0) < (args.price or 0.0)
    if args.model == "newsvendor" and args.underage is None and not missing and bad_prices:
        return (
            "optimize textbook newsvendor: need --salvage < --cost < --price (cu = price - cost, co = cost - salvage)"
        )
    if args.model == "ss" and args.lead_time is not None and args.lead_time != int(args.lead_time):
        return "optimize textbook ss: --lead-time is in review periods and must be a whole number"
    return f"optimize textbook {args.model}: missing {', '.join(missing)}" if missing else None


def _newsvendor_costs(args) -> tuple[float, float]:
    """(underage cu, overage co): given, or cu = price - cost, co = cost - salvage."""
    if args.underage is not None:
        return args.underage, args.overage
    salvage = args.salvage or 0.0
    return args.price - args.cost, args.cost - salvage


Solved = tuple[list[str], dict | None, float]  # printed lines, overlay (None: no counterpart), book cost


def _eoq_backorders(args, c: float) -> Solved:
    from sim.theory import eoq_backorders

    r = eoq_backorders(args.demand_rate, args.order_cost, args.holding, args.backorder)
    return (
        [
            "EOQ with planned backorders (Snyder & Shen 2019, section 3.5; Hillier & Lieberman ch. 18)",
            f"  Q* = {r.order_quantity:.4f} units, most backordered {r.max_backorders:.4f} units, "
            f"stockout fraction {r.backorder_fraction:.4f}",
            f"  cost per day {r.cost_per_day:.4f} (ordering + holding + backorder)"
            + (f"; with purchase cost {r.cost_per_day + c * args.demand_rate:.4f}" if c else ""),
            "  no simulator counterpart written (reorder points are >= 0 in scenarios)",
        ],
        None,
        r.cost_per_day + c * args.demand_rate,
    )


def _newsvendor(args, c: float) -> Solved:
    from sim.theory import newsvendor_normal, newsvendor_poisson

    cu, co = _newsvendor_costs(args)
    if args.sd is not None:
        n = newsvendor_normal(args.mean, args.sd, cu, co)
        kind = f"normal demand N({args.mean:g}, {args.sd:g}^2)"
    else:
        n = newsvendor_poisson(args.mean, cu, co)
        kind = f"Poisson({args.mean:g}) demand"
    return (
        [
            f"Newsvendor, {kind} (Snyder & Shen 2019, section 4.3)",
            f"  underage cu = {cu:g}, overage co = {co:g}, critical ratio {n.critical_ratio:.4f}",
            f"  S* = {n.order_quantity:.4f} units, expected cost {n.expected_cost:.4f}",
            "  no simulator counterpart (a single period)",
        ],
        None,
        n.expected_cost,
    )


def _rq(args, c: float) -> Solved:
    from sim.theory import rq_poisson_optimal

    q = rq_poisson_optimal(args.demand_rate, args.lead_time, args.holding, args.backorder, args.order_cost)
    return (
        [
            "(r, Q) with Poisson demand, backorders: Federgruen & Zheng (1992); Snyder & Shen (2019), eq. 5.48",
            f"  r* = {q.reorder_point}, Q* = {q.order_quantity} (order Q when the inventory position is <= r)",
            f"  cost per day {q.cost_per_day:.4f} (holding + backorder, time averages, + ordering)"
            + (f"; with purchase cost {q.cost_per_day + c * args.demand_rate:.4f}" if c else ""),
        ],
        overlay_for(args, q.reorder_point, q.order_quantity),
        q.cost_per_day + c * args.demand_rate,
    )


def _ss(args, c: float) -> Solved:
    from sim.theory import ss_poisson_optimal

    p = ss_poisson_optimal(args.mean, args.holding, args.backorder, args.order_cost, int(args.lead_time or 0))
    return (
        [
            "Periodic (s, S) with Poisson demand, backorders: Zheng & Federgruen (1991); Snyder & Shen (2019), alg. 4.2",
            f"  s* = {p.reorder_point}, S* = {p.order_up_to} (at a review, order up to S when the position is <= s)",
            f"  cost per period {p.cost_per_period:.4f} (holding + backorder on end-of-period stock, + ordering)"
            + (f"; with purchase cost {p.cost_per_period + c * args.mean:.4f}" if c else ""),
        ],
        overlay_for(args, p.reorder_point, p.order_up_to),
        p.cost_per_period + c * args.mean,
    )


def solve(args) -> Solved:
    """The model's optimum as printed lines, the overlay that simulates it (None: no simulator
    counterpart) and the book's cost (per day; ss: per period; purchase cost included).

    Raises ValueError (from :mod:`sim.theory`) for parameters outside the model.
    """
    model = {"eoq-backorders": _eoq_backorders, "newsvendor": _newsvendor, "rq": _rq, "ss": _ss}[args.model]
    return model(args, args.purchase_cost or 0.0)


def overlay_for(args, level: int, second: int) -> dict:
    """Scenario keys that simulate the (r, Q) or (s, S) optimum with the book's conventions.

    (r, Q): sQ, continuous review, trigger at_or_below, time averages. (s, S): sS, periodic review
    every ``--review-period-days`` (a book period), trigger at_or_below, period_end costs; per-period
    rates become per-day rates (backorder p / R). ``--unit-cost`` adds ``holding_rate_per_year`` =
    365 h / (unit cost x days per period).
    """
    days = 1 if args.model == "rq" else args.review_period_days
    if args.model == "rq":
        policy = {"type": "sQ", "review": "continuous", "reorder_point": level, "order_quantity": second}
    else:
        policy = {"type": "sS", "review": "periodic", "review_period_days": days}
        policy.update({"reorder_point": level, "order_up_to": second})
    policy["reorder_trigger"] = "at_or_below"
    costs: dict[str, object] = {
        "order_cost": args.order_cost,
        "order_cost_per_unit": args.purchase_cost or 0.0,
        "backorder_cost_per_unit_day": args.backorder / days,
        "cost_basis": "time_average" if args.model == "rq" else "period_end",
    }
    if args.unit_cost is not None:
        costs["holding_rate_per_year"] = 365.0 * args.holding / (args.unit_cost * days)
    overlay = {"inventory": {"policy": policy, "unmet_demand": "backorder", "costs": costs}}
    return overlay


def _scenario_note(args) -> str:
    """What the one-SKU scenario the overlay goes on must say itself (demand, lead time, unit cost)."""
    if args.model == "rq":
        demand = (
            f"Poisson orders of one unit at {args.demand_rate:g}/day, a constant lead time of {args.lead_time:g} days"
        )
    else:
        r = args.review_period_days
        demand = (
            f"Poisson orders of one unit at {args.mean / r:g}/day ({args.mean:g} per {r}-day period), "
            f"a constant lead time of {int(args.lead_time or 0) * r} days"
        )
    unit = "" if args.unit_cost is not None else "; holding_rate_per_year x unit_cost = 365 h (or give --unit-cost)"
    return f"  on a one-SKU scenario with {demand}{unit}"


def run(args) -> int:
    """Solve, print the optimum and the overlay, write it with ``--out``; bad options: one line, exit 2."""
    problem = _missing(args)
    if problem:
        return refuse(problem)
    if args.out is not None and args.model not in ("rq", "ss"):
        return refuse(f"optimize textbook {args.model}: --out: the model has no simulator counterpart to write")
    if args.verify is not None and args.model not in ("rq", "ss"):
        return refuse(f"optimize textbook {args.model}: --verify: the model has no simulator counterpart")
    try:
        lines, overlay, book = solve(args)
        scenario = _verification_scenario(args, overlay) if args.verify else None
    except ValueError as exc:
        return refuse(f"optimize textbook {args.model}: {exc}")
    if scenario is not None and _too_large(args, scenario):
        return EXIT_INPUT
    print("\n".join(lines))
    if overlay is not None:
        print("scenario keys to simulate it (overlay for run.py simulate SCENARIO --plan PLAN.yaml):")
        print(_scenario_note(args))
        text = yaml.safe_dump(overlay, sort_keys=False)
        print("".join(f"    {line}\n" for line in text.splitlines()), end="")
        if args.out is not None:
            atomic_write_text(Path(args.out), text)
            print(f"wrote {args.out} (overlay for --plan)")
    if scenario is not None:
        print(_verify(args, scenario, book))
    return EXIT_OK


def _verification_scenario(args, overlay):
    """The one-SKU scenario of :mod:`experiments.textbook` for this case (ValueError if it is invalid)."""
    from experiments.textbook import textbook_scenario
    from sim.scenario.errors import InputError

    days = 1 if args.model == "rq" else args.review_period_days
    rate = args.demand_rate if args.model == "rq" else args.mean / days
    lead = args.lead_time if args.model == "rq" else int(args.lead_time or 0) * days
    try:
        return textbook_scenario(args.model, overlay, rate, lead, args.holding / days)
    except PydanticError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"--verify: cannot simulate this case: {where}: {first['msg']}") from None
    except InputError as exc:
        raise ValueError(f"--verify: cannot simulate this case: {exc.problems[0]}") from None


def _too_large(args, scenario) -> bool:
    """One line and True when the verification runs would take over an hour (work estimate)."""
    from sim.scenario.estimate import check_work, estimate_work

    workers = min(os.cpu_count() or 1, args.verify)
    label = f"optimize textbook {args.model} --verify"
    work, refused = check_work(label, [estimate_work(scenario)], args.verify, workers, args.allow_large)
    if refused:
        refuse(refused)
        return True
    if not args.quiet:
        print(work, file=sys.stderr)
    return False


def _verify(args, scenario, book: float) -> str:
    """Simulate the optimum ``--verify`` times (fresh seeds, the batch runner); the book's cost against the CI."""
    from experiments.stats import mean_ci
    from experiments.textbook import textbook_measure
    from experiments.verify import simulate_paired

    seed = 1 if args.seed is None else args.seed
    table = simulate_paired({"book": scenario}, textbook_measure, args.verify, seed, quiet=args.quiet)["book"]
    unit = "per day" if args.model == "rq" else "per period"
    ci = mean_ci(table["cost_per_day" if args.model == "rq" else "cost_per_period"], 0.95)
    verdict = "inside" if ci.contains(book) else "OUTSIDE"
    return (
        f"simulated ({args.verify} replications of {scenario.horizon_days - scenario.warmup_days} days after a "
        f"{scenario.warmup_days}-day warm-up, seed {seed}): cost {unit} {ci.mean:.4f} +- {ci.half_width:.4f} "
        f"(95% CI); the book's {book:.4f} is {verdict} it"
    )
