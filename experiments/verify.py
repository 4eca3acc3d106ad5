"""Verification of an optimizer's plan by simulation, and the logistics sweep.

A plan is checked by simulating the scenario as it is (or a rival plan) and with the plan
applied, replication r of every variant with the same seed (common random numbers), so the
differences between variants are paired. The seeds are ``verify_seed(master, r)``
(:func:`sim.model.streams.verify_seed`): fresh streams, a family disjoint from the
``replication_seed`` family that pilot runs, ``simulate``, experiments and searches use, so a
plan is never judged on the random numbers it was tuned on. Each decision has a *measure* (one simulation ->
a dict of numbers) and a report: predicted against simulated figures, mean ± 95% CI
half-width, and the paired differences. Every batch goes through :mod:`experiments.runner`.

>>> _ci_text([1.0, 2.0, 3.0])
'2.000 ± 2.5'
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.output import RunFolder, atomic_write_csv, inside, manifest
from experiments.report import fmt_num
from experiments.runner import Task, run_outputs, run_tasks
from experiments.spec import Point
from experiments.stats import mean_ci, summarize, summary_wide
from sim.model.shop import simulate
from sim.model.streams import verify_seed
from sim.scenario.loader import scenario_hash
from sim.scenario.schema import warmup_days_of

__all__ = [
    "Sweep",
    "logistics_measure",
    "logistics_report",
    "promotion_measure",
    "promotion_window",
    "reorder_measure",
    "reorder_report",
    "simulate_paired",
    "simulate_sweep",
    "sweep_points",
    "sweep_root",
    "verify_tasks",
]

FRESH = "fresh streams, independent of the pilot"

Measure = Callable[..., dict]  # (SimulationResult, scenario) -> {name: number}


def _ci_text(values, digits: int = 4) -> str:
    ci = mean_ci(values)
    hw = "" if np.isnan(ci.half_width) else f" ± {fmt_num(ci.half_width, 2)}"
    return f"{fmt_num(ci.mean, digits)}{hw}"


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def measured(measure: Measure, scenario, seed: int, _daily_columns) -> dict:
    """A runner job: simulate once and apply ``measure``; never raises (a failure comes back as data)."""
    try:
        return {"status": "ok", "measure": measure(simulate(scenario, seed), scenario)}
    except Exception as exc:  # reported by simulate_paired, after the other runs
        return {"status": "failed", "error": f"{exc.__class__.__name__}: {exc}"}


def simulate_paired(
    variants: dict, measure: Measure, replications: int, master_seed: int, quiet: bool = False
) -> dict[str, pd.DataFrame]:
    """Replication r of every variant with the same seed ``verify_seed(master_seed, r)`` (common random
    numbers on fresh streams, independent of any pilot run).

    ``measure(result, scenario)`` (a module-level function or a ``functools.partial`` of one, so
    it pickles) turns one simulation into a dict of numbers; returns one table per variant, row
    r = replication r, so ``a.x - b.x`` are paired differences. The runs go through the batch
    runner (one worker process per core; progress on stderr unless ``quiet``); the numbers do
    not depend on the number of processes. A failed run raises ``RuntimeError`` naming it.
    """
    points = [Point(name, sc, {}, name) for name, sc in variants.items()]
    tasks = [Task(p, r, verify_seed(master_seed, r)) for r in range(replications) for p in points]
    workers = min(os.cpu_count() or 1, len(tasks))
    outputs, _ = run_outputs(
        tasks,
        None,
        "process",
        workers,
        daily_columns=(),
        job=partial(measured, measure),
        unit="runs",
        quiet=quiet,
        desc="verifying",
    )
    failed = [(t, o) for t, o in zip(tasks, outputs) if o["status"] != "ok"]
    if failed:
        t, o = failed[0]
        raise RuntimeError(f"verification run {t.point.name} #{t.replication} (seed {t.seed}) failed: {o['error']}")
    rows = [{"variant": t.point.name, "replication": t.replication, **o["measure"]} for t, o in zip(tasks, outputs)]
    table = pd.DataFrame(rows)
    return {name: table[table.variant == name].reset_index(drop=True) for name in variants}


def verify_tasks(points: list[Point], replications: int, master_seed: int) -> list[Task]:
    """Every point x verification replication, replication r seeded ``verify_seed(master_seed, r)``."""
    seeds = [verify_seed(master_seed, r) for r in range(replications)]
    return [Task(p, r, seeds[r]) for p in points for r in range(replications)]


def _heading(replications: int) -> str:
    return (
        f"verification: {replications} replications on {FRESH} (seeds verify_seed(master, r)), "
        "common random numbers, mean ± 95% CI half-width"
    )


# --------------------------------------------------------------------------- reorder points
def _class_fill(result, scenario) -> dict[str, float]:
    """Unit fill rate per ABC class after the warm-up (NaN for a class without demand)."""
    from sim.model.catalog import catalog_for

    abc = np.tile(catalog_for(scenario).abc, len(scenario.warehouses))
    d, f = result.state["demanded_after_warmup"], result.state["filled_now_after_warmup"]
    return {
        c: float(f[abc == c].sum() / d[abc == c].sum()) if d[abc == c].sum() else float("nan") for c in ("A", "B", "C")
    }


def reorder_measure(res, sc) -> dict:
    """Fill rate (overall and per ABC class), inventory value and stock cost per year of one run."""
    k = res.kpis
    years = (sc.horizon_days - warmup_days_of(sc)) / 365.0
    return {
        "fill": k["unit_fill_rate"],
        "value": k["avg_inventory_value"],
        "cost": (k["holding_cost"] + k["ordering_cost"] + k["shortage_cost"]) / years,
        **{f"fill_{c}": v for c, v in _class_fill(res, sc).items()},
    }


def reorder_report(plan, by: dict[str, pd.DataFrame], replications: int) -> str:
    """The reorder plan's predictions against the simulated plan and uniform runs, and their differences."""
    u, p = by["uniform"], by["plan"]
    pred_class = plan.by_class().set_index("abc")["predicted_fill_rate"]
    lines = [
        _heading(replications),
        f"  {'':<26}{'predicted':>12}{'simulated plan':>22}{'simulated uniform':>22}",
        f"  {'unit fill rate':<26}{plan.predicted_fill_rate:>12.4f}{_ci_text(p.fill):>22}{_ci_text(u.fill):>22}",
    ]
    for c in ("A", "B", "C"):
        if c in pred_class:
            lines.append(
                f"  {'  class ' + c:<26}{pred_class[c]:>12.4f}{_ci_text(p[f'fill_{c}']):>22}"
                f"{_ci_text(u[f'fill_{c}']):>22}"
            )
    value = fmt_num(plan.rows.inventory_value.sum())
    dv, df = mean_ci(p.value - u.value), mean_ci(p.fill - u.fill)
    lines += [
        f"  {'inventory value':<26}{value:>12}{_ci_text(p.value):>22}{_ci_text(u.value):>22}",
        f"  {'cost per year':<26}{fmt_num(plan.objective):>12}{_ci_text(p.cost):>22}{_ci_text(u.cost):>22}",
        f"  plan - uniform: inventory value {fmt_num(dv.mean)} ± {fmt_num(dv.half_width, 2)} "
        f"({dv.mean / u.value.mean():+.1%}), fill rate {df.mean:+.4f} ± {df.half_width:.4f}",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- lanes (logistics)
def logistics_measure(res, sc) -> dict:
    """On-time rate, shipping + handling cost per order, cost per day (with fixed costs) and p95 click-to-door.

    The simulator's own cost KPIs (``shipping_cost``, ``handling_cost``, ``warehouse_fixed_cost``),
    the same totals that ``total_cost`` adds up, so the prediction is checked against what a
    ``simulate --plan`` run reports.
    """
    k = res.kpis
    days = sc.horizon_days - warmup_days_of(sc)
    return {
        "on_time": k["on_time_rate"],
        "cost": _ratio(k["shipping_cost"] + k["handling_cost"], k["orders"]),
        "per_day": (k["shipping_cost"] + k["handling_cost"] + k["warehouse_fixed_cost"]) / days,
        "c2d_p95": k["click_to_door_p95"],
    }


def logistics_report(scenario, plan, by: dict[str, pd.DataFrame], replications: int) -> str:
    """The lane plan's predictions against the simulated plan and the scenario's own routing."""
    u, p = by["default"], by["plan"]
    lines = [
        _heading(replications),
        f"  {'':<28}{'predicted':>12}{'simulated plan':>22}{'simulated default':>22}",
        f"  {'on-time rate':<28}{plan.on_time:>12.4f}{_ci_text(p.on_time):>22}{_ci_text(u.on_time):>22}",
        f"  {'cost per order':<28}{plan.cost_per_order:>12.3f}{_ci_text(p.cost):>22}{_ci_text(u.cost):>22}",
    ]
    if any(w.fixed_cost_per_day for w in scenario.warehouses):
        lines.append(
            f"  {'cost per day (incl. fixed)':<28}{plan.objective_per_day:>12,.1f}{_ci_text(p.per_day, 5):>22}"
            f"{_ci_text(u.per_day, 5):>22}"
        )
    dc, do = mean_ci(p.cost - u.cost), mean_ci(p.on_time - u.on_time)
    lines += [
        f"  {'click-to-door p95 (days)':<28}{'':>12}{_ci_text(p.c2d_p95):>22}{_ci_text(u.c2d_p95):>22}",
        f"  plan - default: cost per order {dc.mean:+.3f} ± {dc.half_width:.3f}, "
        f"on-time {do.mean:+.4f} ± {do.half_width:.4f}",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Sweep:
    """The logistics sweep's result: predicted and simulated figures per target, and its run folder."""

    table: pd.DataFrame  # variant, pred_* and simulated columns, one row per feasible target
    folder: Path


def sweep_points(scenario, targets: list[float], solve_target: Callable, planned: Callable):
    """One variant per feasible target: (points, predicted rows, skipped (target, reason)).

    ``solve_target(t)`` returns the lane plan for on-time target t (raising ``Infeasible``);
    ``planned(overlay)`` loads the scenario with the plan's overlay applied.
    """
    from optimize.solver import Infeasible

    points, predicted, skipped = [], [], []
    for t in targets:
        try:
            plan = solve_target(t)
        except Infeasible as exc:
            skipped.append((t, exc))
            continue
        sc = planned(plan.to_overlay())
        name = f"target={t:g}"
        points.append(Point(name=name, scenario=sc, params={"on_time_target": t}, hash=scenario_hash(sc)))
        predicted.append(
            {"variant": name, "pred_cost_per_order": plan.cost_per_order, "pred_on_time_rate": plan.on_time}
        )
    return points, predicted, skipped


def sweep_root(results: Path, scenario) -> Path:
    """``results/<name>_logistics_sweep``: the sweep's folder (its cache inside), checked to stay in ``results``."""
    root = inside(results, Path(results) / f"{scenario.name}_logistics_sweep")
    inside(root, root / "cache")
    return root


def simulate_sweep(root: Path, points, predicted, targets, replications: int, seed: int, quiet: bool) -> Sweep:
    """Simulate each target's plan (cached, through the batch runner), write runs, trade-off table and plot."""
    from experiments import plots as P

    runs, _ = run_tasks(verify_tasks(points, replications, seed), root / "cache", "process", quiet=quiet)
    # the plan's cost per order is shipping + handling: compare it with the same simulated total
    runs = runs.assign(cost_per_order=(runs["shipping_cost"] + runs["handling_cost"]) / runs["orders"])
    summary = summarize(runs, ["cost_per_order", "on_time_rate", "click_to_door_p95"])
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
        rf.write_json("manifest.json", manifest(kind="logistics_sweep", targets=targets, replications=replications))
    return Sweep(wide, rf.final)


# --------------------------------------------------------------------------- promotion
def no_marketing_overlay(scenario) -> dict:
    """The overlay that switches every channel's spend off (the baseline of the extra orders)."""
    channels = [
        dict(c.model_dump(mode="json", exclude_none=True), spend_per_day=0.0, event_spend_per_day=0.0, schedule=[])
        for c in scenario.demand.channels
    ]
    return {"demand": {"channels": channels}}


def promotion_window(scenario) -> np.ndarray:
    """Days within 7 of a promotion event (booleans per day of the horizon)."""
    from sim.model.demand import demand_plan

    event = demand_plan(scenario).event
    return np.convolve(event.astype(float), np.ones(15), mode="same") > 0  # events +- 7 days


def promotion_measure(res, sc, window: np.ndarray) -> dict:
    """Orders, revenue, profit, lateness (overall and within ``window``) and the peak pick backlog of one run."""
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
