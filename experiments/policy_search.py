"""Simulation-based search of replenishment levels per ABC class: (r, Q), (s, S) or (R, S).

For cases outside the reorder LP's model (lost sales, disruptions, picking limits, a cost
objective with no fill target), the levels are searched by simulation:

1. **Candidates** are scenario overlays: the policy family (``rQ`` -> ``sQ``, ``sS``, ``RS``) and
   one ``inventory.per_sku`` row per SKU of each searched class, every SKU of a class with the
   same levels (the classes of similar SKUs a planner sets by hand). ``r``/``s`` is the reorder
   point (order when the inventory position is <= s, the simulator's convention), ``Q`` the order
   quantity, ``S`` the order-up-to level; R is the scenario's ``review_period_days``.
2. **Search**: a grid (every combination of the axes' values) or a coordinate search (from the
   scenario's own levels, move one class's parameter at a time to the neighbouring grid value
   while that improves the mean). Every candidate gets the same replications r = 0 .. n-1 with
   seeds ``replication_seed(master, r)`` (common random numbers), through the batch runner.
3. **Feasibility**: with a floor on the fill rate, a candidate whose 95% CI of the fill rate lies
   wholly below the floor is dropped.
4. **Selection**: the best ``finalists`` feasible candidates go to a ranking-and-selection
   procedure (:func:`experiments.sequential.run_selection`, KN / OCBA / Rinott) on *new*
   replications (master seed :func:`selection_seed`), so the winner's curse of the search does not
   bias the choice; it reports the chosen plan and its guarantee.

The chosen plan is then verified on fresh streams (:func:`sim.model.streams.verify_seed`) by the
command (:mod:`experiments.cli.policy`).

>>> parse_grid(["r=1:3", "A.Q=8,12"], "rQ", ["A"])
{('A', 'r'): [1.0, 2.0, 3.0], ('A', 'Q'): [8.0, 12.0]}
>>> len(grid_candidates({("A", "r"): [1.0, 2.0], ("A", "Q"): [8.0, 12.0, 16.0]}, "rQ"))
6
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from experiments.runner import tasks_for
from experiments.selection import SelectConfig, Selection
from experiments.sequential import Batches, run_selection
from experiments.spec import Point
from experiments.stats import mean_ci
from sim.model.catalog import catalog_for
from sim.model.demand import planning_plan
from sim.model.policy import resolve_policy
from sim.scenario.loader import scenario_hash
from sim.scenario.schema import Scenario

__all__ = [
    "MAX_CANDIDATES",
    "POLICIES",
    "PolicySearch",
    "SearchConfig",
    "class_skus",
    "coordinate_evaluations",
    "coordinate_search",
    "default_grid",
    "grid_candidates",
    "incumbent_levels",
    "levels_name",
    "levels_overlay",
    "pair_levels",
    "parse_grid",
    "search_policy",
    "selection_seed",
]

#: --policy -> (the scenario's policy type, the parameters searched per class)
POLICIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "rQ": ("sQ", ("r", "Q")),
    "sS": ("sS", ("s", "S")),
    "RS": ("RS", ("S",)),
}
FIELD = {"r": "reorder_point", "s": "reorder_point", "Q": "order_quantity", "S": "order_up_to"}
MAX_CANDIDATES = 100  # a larger grid is refused unless --allow-large
SELECTION_KEY = 0x5345  # "SE": the selection's master seed is derived from the search's with this word

Axis = tuple[str, str]  # (ABC class, parameter)
Levels = dict[Axis, float]
PairLevels = dict[str, list[tuple[str, str, dict[str, float]]]]  # class -> [(sku, warehouse, {param: level})]


def selection_seed(master_seed: int) -> int:
    """The master seed of the selection stage: ``SeedSequence([master, SELECTION_KEY])``'s first word.

    Its replications ``replication_seed(selection_seed(m), r)`` are new random numbers, not the
    search's ``replication_seed(m, r)``, so the finalists are compared on data that did not pick them.
    """
    return int(np.random.SeedSequence([int(master_seed), SELECTION_KEY]).generate_state(1)[0])


def class_skus(scenario) -> dict[str, list[str]]:
    """The SKU ids of each ABC class present in the catalogue (``catalog[*].abc`` or derived from revenue)."""
    cat = catalog_for(scenario)
    out: dict[str, list[str]] = {}
    for sku, abc in zip(cat.ids, cat.abc):
        out.setdefault(str(abc), []).append(sku)
    return dict(sorted(out.items()))


def incumbent_levels(scenario, policy: str, classes: list[str]) -> Levels:
    """The scenario's own levels per class under ``policy`` (the class mean of s, Q and S, rounded).

    ``scenario`` must already carry the policy type (``levels_overlay(..., {})`` applied); the
    levels are those the simulator resolves (written numbers, else the normal approximation).
    """
    cat = catalog_for(scenario)
    arrays = resolve_policy(scenario, cat, planning_plan(scenario))
    abc = np.tile(cat.abc, len(scenario.warehouses))
    source = {"r": arrays.reorder_point, "s": arrays.reorder_point, "Q": arrays.order_quantity, "S": arrays.order_up_to}
    out: Levels = {}
    for c in classes:
        for p in POLICIES[policy][1]:
            value = float(np.rint(source[p][abc == c].mean()))
            out[c, p] = max(value, 1.0) if p in ("Q", "S") else max(value, 0.0)
    return out


def _values(text: str) -> list[float]:
    """``lo:hi[:step]`` (inclusive, step 1 by default) or ``v1,v2,...`` -> sorted distinct numbers >= 0."""
    if ":" in text:
        parts = [float(x) for x in text.split(":")]
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] <= 0) or parts[1] < parts[0]:
            raise ValueError
        step = parts[2] if len(parts) == 3 else 1.0
        count = math.floor((parts[1] - parts[0]) / step + 1e-9) + 1
        if count > 10_000:
            raise ValueError
        values = [parts[0] + i * step for i in range(count)]
    else:
        values = [float(x) for x in text.split(",")]
    if not values or not all(math.isfinite(v) and v >= 0 for v in values):
        raise ValueError
    return sorted(set(values))


def parse_grid(items: list[str], policy: str, classes: list[str]) -> dict[Axis, list[float]]:
    """``--grid [CLASS.]PARAM=VALUES`` items -> {(class, param): values}; ``ValueError`` naming a bad item.

    Without ``CLASS.`` the values apply to that parameter of every searched class.
    """
    params = POLICIES[policy][1]
    out: dict[Axis, list[float]] = {}
    for text in items:
        try:
            key, values = text.split("=", 1)
            cls, _, param = key.strip().rpartition(".")
            targets = [cls.upper()] if cls else classes
            if param not in params or any(c not in classes for c in targets):
                raise ValueError
            parsed = _values(values.strip())
        except ValueError:
            raise ValueError(
                f"--grid expects [CLASS.]PARAM=LO:HI[:STEP] or [CLASS.]PARAM=V1,V2,... with PARAM one of "
                f"{', '.join(params)} (--policy {policy}), CLASS one of {', '.join(classes)} and values >= 0, "
                f"got {text!r}"
            ) from None
        for c in targets:
            out[c, param] = parsed
    return out


def default_grid(
    incumbent: Levels, span: int = 2, share: float = 0.25, relative: bool = False
) -> dict[Axis, list[float]]:
    """Each axis: the incumbent +- ``span`` steps of ``share`` of its value (absolute levels: at least 1 unit,
    >= 0, >= 1 for Q and S; relative levels: multipliers around 1, above 0)."""
    if relative:
        return {
            a: [round(1.0 + k * share, 6) for k in range(-span, span + 1) if 1.0 + k * share > 0] for a in incumbent
        }
    out = {}
    for (c, p), v in incumbent.items():
        step = max(1.0, float(np.rint(share * v)))
        low = 1.0 if p in ("Q", "S") else 0.0
        out[c, p] = sorted({max(low, v + k * step) for k in range(-span, span + 1)})
    return out


def _valid(levels: Levels, relative: bool = False) -> bool:
    """(s, S): S > s in every class; order quantities and order-up-to levels at least 1 (multipliers: > 0)."""
    if relative:
        return all(v > 0 for v in levels.values())
    classes = {c for c, _ in levels}
    ok_ss = all(levels[c, "S"] > levels[c, "s"] for c in classes if (c, "s") in levels and (c, "S") in levels)
    return ok_ss and all(v >= 1 for (_, p), v in levels.items() if p in ("Q", "S"))


def grid_candidates(axes: dict[Axis, list[float]], policy: str, relative: bool = False) -> list[Levels]:
    """Every combination of the axes' values that is a valid ``policy`` (``relative``: the values are multipliers)."""
    keys = list(axes)
    combos = (dict(zip(keys, values)) for values in itertools.product(*(axes[k] for k in keys)))
    return [c for c in combos if _valid(c, relative)]


def coordinate_evaluations(axes: dict[Axis, list[float]], max_rounds: int) -> int:
    """At most how many candidates a coordinate search over ``axes`` simulates (for the work estimate)."""
    return min(1 + max_rounds * 2 * len(axes), math.prod(len(v) for v in axes.values()))


def levels_name(levels: Levels) -> str:
    """``A:r=2,Q=16 B:r=1,Q=8``: a candidate's name (classes in order, parameters in the policy's order)."""
    by_class: dict[str, list[str]] = {}
    for (c, p), v in levels.items():
        by_class.setdefault(c, []).append(f"{p}={v:g}")
    return " ".join(f"{c}:{','.join(parts)}" for c, parts in sorted(by_class.items()))


def levels_overlay(
    scenario, policy: str, levels: Levels, skus: dict[str, list[str]], relative_to: PairLevels | None = None
) -> dict:
    """The scenario overlay of a candidate: the policy type and ``per_sku`` rows for every SKU of each class.

    Absolute levels (``relative_to`` None): one row per SKU, the class's levels. Relative levels:
    ``levels`` are multipliers of each (SKU, warehouse) pair's own levels (:func:`pair_levels`),
    one row per pair, rounded (S kept above s). Rows the scenario already has for SKUs of other
    classes are kept; its review (continuous or periodic) and review period are the scenario's
    (RS is always periodic).
    """
    kind = POLICIES[policy][0]
    searched = {sku for c, _ in levels for sku in skus.get(c, [])}
    rows = [r.model_dump(mode="json", exclude_none=True) for r in scenario.inventory.per_sku if r.sku not in searched]
    for c in sorted({c for c, _ in levels}):
        mine = {p: v for (cc, p), v in levels.items() if cc == c}
        if relative_to is None:
            rows += [{"sku": sku, **{FIELD[p]: _number(v) for p, v in mine.items()}} for sku in skus.get(c, [])]
        else:
            rows += [_scaled_row(sku, wh, own, mine) for sku, wh, own in relative_to.get(c, [])]
    return {"inventory": {"policy": _policy_keys(scenario.inventory.policy, kind), "per_sku": rows}}


def _scaled_row(sku: str, warehouse: str, own: dict[str, float], factors: dict[str, float]) -> dict:
    """One pair's row: each level = round(factor x its own level), >= 0 (Q, S >= 1; S > s)."""
    row: dict = {"sku": sku, "warehouse": warehouse}
    values = {p: max(1.0 if p in ("Q", "S") else 0.0, float(np.rint(f * own[p]))) for p, f in factors.items()}
    if "s" in values and "S" in values:
        values["S"] = max(values["S"], values["s"] + 1)
    row.update({FIELD[p]: _number(v) for p, v in values.items()})
    return row


def pair_levels(scenario, policy: str, classes: list[str]) -> PairLevels:
    """Per class, every (SKU, warehouse) pair's own levels under ``policy``: [(sku, warehouse, {param: level})].

    ``scenario`` must already carry the policy type (as for :func:`incumbent_levels`).
    """
    cat = catalog_for(scenario)
    arrays = resolve_policy(scenario, cat, planning_plan(scenario))
    source = {"r": arrays.reorder_point, "s": arrays.reorder_point, "Q": arrays.order_quantity, "S": arrays.order_up_to}
    out: PairLevels = {c: [] for c in classes}
    for w, wh in enumerate(scenario.warehouses):
        for i, sku in enumerate(cat.ids):
            if cat.abc[i] in out:
                k = w * cat.n + i
                out[str(cat.abc[i])].append((sku, wh.name, {p: float(source[p][k]) for p in POLICIES[policy][1]}))
    return out


def _policy_keys(current, kind: str) -> dict:
    """The ``inventory.policy`` keys of family ``kind``: the type, the other family's level key cleared
    (an sQ policy has no S, the others no Q) and the scenario's review kept (RS always periodic)."""
    keys: dict = {"type": kind, "order_up_to" if kind == "sQ" else "order_quantity": None}
    if kind == "RS" or current.periodic:
        keys["review"] = "periodic"
    return keys


def _number(v: float) -> int | float:
    return int(v) if float(v).is_integer() else float(v)


@dataclass(frozen=True)
class SearchConfig:
    """What to search and how to judge it."""

    policy: str  # rQ | sS | RS
    axes: dict[Axis, list[float]]
    search: str = "grid"  # grid | coordinate
    replications: int = 10
    metric: str = "total_cost"
    goal: str = "min"
    fill_metric: str = "unit_fill_rate"
    fill_min: float | None = None
    finalists: int = 4
    select: SelectConfig | None = None  # the selection stage (metric and goal as above)
    max_rounds: int = 10
    start: Levels | None = None  # coordinate search: where to start (snapped to the axes' values)
    relative_to: PairLevels | None = None  # set: the levels are multipliers of these per-pair levels
    relative_indifference: float | None = None  # set: delta = this x |mean| of the best feasible candidate


@dataclass(frozen=True)
class PolicySearch:
    """The search's outcome: every candidate simulated, the selection over the finalists, the chosen levels."""

    table: (
        pd.DataFrame
    )  # candidate, per-axis levels, n, mean, half_width, fill, fill_low, fill_high, feasible, finalist
    selection: Selection | None  # None when a single candidate was feasible
    chosen: Levels
    overlay: dict


class _Evaluator:
    """Simulates candidates (each once, every one with the same replications) and keeps their statistics."""

    def __init__(
        self, planned: Callable[[dict], Scenario], make_overlay, cfg: SearchConfig, batches: Batches, seed: int
    ):
        self.planned, self.make_overlay, self.cfg, self.batches, self.seed = planned, make_overlay, cfg, batches, seed
        self.rows: dict[str, dict] = {}
        self.points: dict[str, Point] = {}

    def point(self, levels: Levels) -> Point:
        name = levels_name(levels)
        if name not in self.points:
            sc = self.planned(self.make_overlay(levels))
            self.points[name] = Point(name, sc, {}, scenario_hash(sc))
        return self.points[name]

    def evaluate(self, candidates: list[Levels]) -> None:
        todo = [c for c in candidates if levels_name(c) not in self.rows]
        if not todo:
            return
        runs = self.batches.run(tasks_for([self.point(c) for c in todo], self.cfg.replications, self.seed))
        failed = runs[runs["status"] != "ok"]
        if len(failed):
            r = failed.iloc[0]
            raise RuntimeError(f"run {r['variant']} #{r['replication']} (seed {r['seed']}) failed: {r['error']}")
        for c in todo:
            name = levels_name(c)
            grp = runs[runs["variant"] == name]
            ci, fill = mean_ci(grp[self.cfg.metric]), mean_ci(grp[self.cfg.fill_metric])
            floor = self.cfg.fill_min
            self.rows[name] = {
                "candidate": name,
                **{f"{a}.{p}": v for (a, p), v in c.items()},
                "n": int(ci.n),
                "mean": ci.mean,
                "half_width": ci.half_width,
                "fill": fill.mean,
                "fill_low": fill.low,
                "fill_high": fill.high,
                "feasible": bool(floor is None or not fill.high < floor),
                "levels": c,
            }

    def score(self, levels: Levels) -> float:
        """The candidate's mean in the direction of 'smaller is better'; +inf when infeasible."""
        row = self.rows[levels_name(levels)]
        if not row["feasible"]:
            return math.inf
        return row["mean"] if self.cfg.goal == "min" else -row["mean"]


def _nearest(values: list[float], target: float) -> float:
    """The value of ``values`` nearest ``target`` (the first of two equally near)."""
    return min(values, key=lambda x: abs(x - target))


def coordinate_search(ev, cfg: SearchConfig) -> None:
    """Coordinate search with ``ev`` (``evaluate(candidates)``, ``score(levels)``: smaller is better).

    From ``cfg.start`` (snapped to the grid), move one axis at a time to a better neighbouring value."""
    axes = cfg.axes
    start = cfg.start or {a: v[len(v) // 2] for a, v in axes.items()}
    current = {a: _nearest(axes[a], start.get(a, axes[a][0])) for a in axes}
    ev.evaluate([current])
    for _ in range(cfg.max_rounds):
        moved = False
        for a, values in axes.items():
            i = values.index(current[a])
            nbrs = [{**current, a: values[j]} for j in (i - 1, i + 1) if 0 <= j < len(values)]
            nbrs = [n for n in nbrs if _valid(n, cfg.relative_to is not None)]
            ev.evaluate(nbrs)
            best = min(nbrs, key=ev.score, default=None)
            if best is not None and ev.score(best) < ev.score(current):
                current, moved = best, True
        if not moved:
            return


def search_policy(
    scenario,
    planned: Callable[[dict], Scenario],
    cfg: SearchConfig,
    batches: Batches,
    master_seed: int,
    selection_batches: Batches | None = None,
) -> PolicySearch:
    """Search, keep the feasible, select among the best ``cfg.finalists`` (see the module docstring).

    ``planned(overlay)`` loads the scenario with one more overlay (as the command line gives it);
    ``batches`` runs every replication of the search through the batch runner, ``selection_batches``
    (default ``batches``) those of the selection. ``ValueError`` when no candidate is feasible (its
    message says why).
    """
    skus = class_skus(scenario)
    ev = _Evaluator(
        planned, lambda lv: levels_overlay(scenario, cfg.policy, lv, skus, cfg.relative_to), cfg, batches, master_seed
    )
    if cfg.search == "grid":
        ev.evaluate(grid_candidates(cfg.axes, cfg.policy, cfg.relative_to is not None))
    else:
        coordinate_search(ev, cfg)
    table = pd.DataFrame(list(ev.rows.values()))
    feasible = table[table["feasible"]]
    if feasible.empty:
        best_fill = table["fill_high"].max()
        raise ValueError(
            f"no candidate meets --fill-min {cfg.fill_min:g}: the highest upper 95% bound of "
            f"{cfg.fill_metric} is {best_fill:.4f}"
        )
    ranked = feasible.sort_values("mean", ascending=cfg.goal == "min", kind="stable")
    finalists = list(ranked["candidate"].head(max(1, cfg.finalists)))
    table["finalist"] = table["candidate"].isin(finalists)
    selection = None
    chosen_name = finalists[0]
    if len(finalists) > 1 and cfg.select is not None:
        select = cfg.select
        if cfg.relative_indifference is not None:
            delta = cfg.relative_indifference * abs(float(ranked["mean"].iloc[0]))
            select = replace(select, indifference=delta if delta > 0 else 1.0)
        points = [ev.points[n] for n in finalists]
        selection = run_selection(selection_batches or batches, points, selection_seed(master_seed), select)
        chosen_name = selection.selected_name
    chosen = ev.rows[chosen_name]["levels"]
    table = table.drop(columns="levels")
    return PolicySearch(table, selection, chosen, levels_overlay(scenario, cfg.policy, chosen, skus, cfg.relative_to))
