"""Reorder points for every (SKU, warehouse): the cheapest plan that keeps a fill-rate promise.

Model (continuous-review (r, Q), backorders; Hadley & Whitin; Zipkin ch. 6):
lead-time demand D of a pair is Poisson when its variance equals its mean
(unit lines, constant lead time), else negative binomial with the same mean and
variance: mean = mu E[L], variance = mu E[L] E[U^2]/E[U] + mu^2 Var(L), where mu
is units/day, U units per line and L the lead time. With G(y) = E[(D - y)^+]:

    fill rate      beta(r) = 1 - (G(r) - G(r + Q)) / Q
    backorders     B(r)    = (1/Q) sum_{y=r+1}^{r+Q} G(y)
    on hand        I(r)    = r + (Q + 1)/2 - E[D] + B(r)
    cost per year  h I(r) + b B(r) + K 365 mu / Q

Formulation: a multiple-choice MILP — one binary per candidate reorder point and
pair, exactly one chosen per pair — because it is exact for the discrete model
(a brute-force enumeration gives the same plan), it handles ABC minimums, the
inventory budget and storage capacities in one model, and HiGHS solves it fast:
its LP relaxation is the piecewise-linear (convex-hull) model of B(r) and beta(r),
which is almost integral (only as many fractional pairs as coupling
constraints). The duals reported are those of that LP relaxation: the marginal
cost of one more point of fill rate and the value of one more unit of budget.

>>> from sim.scenario.loader import load_scenario
>>> plan = solve(load_scenario("scenarios/classroom_sq.yaml"), fill_target=0.95)
>>> plan.status, int(plan.rows.reorder_point.iloc[0]), bool(plan.rows.fill_rate.iloc[0] >= 0.95)
('optimal', 5, True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pulp

from optimize.solver import Infeasible, Solution
from optimize.solver import solve as run_solver
from sim.model.catalog import catalog_for
from sim.model.demand import demand_plan, planning_plan
from sim.model.economics import holding_cost_per_unit_year, pair_order_costs
from sim.model.policy import resolve_policy
from sim.scenario.schema import Scenario

TOL = 2e-6


# ------------------------------------------------------------------ lead-time demand
def ltd_pmf(mean: float, var: float, tail_sd: float = 12.0) -> np.ndarray:
    """pmf of lead-time demand on 0..kmax: Poisson if var <= mean, else negative binomial."""
    mean = max(mean, 1e-12)
    kmax = int(np.ceil(mean + tail_sd * np.sqrt(max(var, mean)) + 10))
    if var > mean * (1 + 1e-9):
        # an overdispersed NB (size < 1) has a geometric tail ~ (1 - p)^k far beyond mean + 12 sd:
        # reach e^-40 of it, or the cut-off tail biases mean and variance (0.05, 0.5: mean -14%)
        kmax = max(kmax, int(np.ceil(mean + 40.0 / -np.log1p(-mean / var))))
    k = np.arange(kmax + 1)
    if var <= mean * (1 + 1e-9):
        logp = -mean + np.concatenate([[0.0], np.cumsum(np.log(mean / k[1:]))])
    else:
        n = mean * mean / (var - mean)  # NB size
        p = mean / var  # success probability
        ratios = (k[:-1] + n) / (k[:-1] + 1) * (1 - p)
        logp = n * np.log(p) + np.concatenate([[0.0], np.cumsum(np.log(ratios))])
    pmf = np.exp(logp)
    return pmf / pmf.sum()


def loss_function(pmf: np.ndarray) -> np.ndarray:
    """G(y) = E[(D - y)^+] for y = 0..len(pmf) (first-order loss function)."""
    survival = 1.0 - np.cumsum(pmf)  # P(D > k)
    survival = np.clip(survival, 0.0, 1.0)
    g = np.concatenate([np.cumsum(survival[::-1])[::-1], [0.0]])
    return g


@dataclass(frozen=True)
class Candidates:
    """Candidate reorder points of one pair and their predicted performance."""

    r: np.ndarray
    fill_rate: np.ndarray
    on_hand: np.ndarray
    backorders: np.ndarray
    cost: np.ndarray  # holding + backorder per year (ordering cost is fixed by Q)


def rq_candidates(
    mean: float, var: float, Q: int, h: float, b: float, max_candidates: int = 60, min_fill: float = 0.0
) -> Candidates:
    """Candidate reorder points 0.. of one pair with fill rate, on hand, backorders and cost (module formulas).

    Points with fill rate below ``min_fill`` and beyond the first with fill ~ 1 are dropped; more than
    ``max_candidates`` are thinned evenly in log(1 - fill rate).
    """
    pmf = ltd_pmf(mean, var)
    g = loss_function(pmf)
    kmax = len(pmf) - 1
    Q = int(Q)
    cum_g = np.concatenate([[0.0], np.cumsum(np.concatenate([g, np.zeros(Q + 1)]))])
    r_all = np.arange(0, kmax + 1)

    def G(y):
        return np.where(y <= kmax + 1, g[np.minimum(y, kmax + 1)], 0.0)

    fill = 1.0 - (G(r_all) - G(r_all + Q)) / Q
    B = (cum_g[r_all + Q + 1] - cum_g[r_all + 1]) / Q
    keep = fill >= min_fill
    # drop the useless tail: beyond the first r with fill ~ 1 nothing improves
    top = int(np.argmax(fill >= 1 - 1e-7)) if (fill >= 1 - 1e-7).any() else len(r_all) - 1
    keep &= r_all <= top
    if not keep.any():
        keep[top] = True
    r, fill, B = r_all[keep], fill[keep], B[keep]
    if len(r) > max_candidates:
        # thin out evenly in log(1 - fill): dense where service is high (where plans live), keeping both ends
        short = np.log(np.maximum(1.0 - fill, 1e-9))
        levels = np.linspace(short[0], short[-1], max_candidates)
        idx = np.searchsorted(-short, -levels).clip(0, len(r) - 1)
        idx = np.unique(np.concatenate([[0, len(r) - 1], idx]))
        r, fill, B = r[idx], fill[idx], B[idx]
    on_hand = r + (Q + 1) / 2.0 - mean + B
    return Candidates(r=r, fill_rate=fill, on_hand=on_hand, backorders=B, cost=h * on_hand + b * B)


# ------------------------------------------------------------------ inputs from a scenario
@dataclass
class Pairs:
    """Per (warehouse, SKU) pair, flat index w * n_sku + i: demand, lead-time demand, Q and costs."""

    sku: list[str]
    warehouse: list[str]
    abc: np.ndarray
    mu: np.ndarray  # units/day
    ltd_mean: np.ndarray
    ltd_var: np.ndarray
    Q: np.ndarray
    unit_cost: np.ndarray
    h: np.ndarray  # holding per unit-year
    b: float  # backorder cost per unit-year
    K: np.ndarray  # order cost
    current_r: np.ndarray  # the scenario's own reorder points (uniform service level)
    wh_index: np.ndarray


def pairs_from(scenario: Scenario) -> Pairs:
    """The pairs of an (s, Q) scenario with the demand, Q and costs (K, h from ``sim.model.economics``)
    the simulator uses; raises ValueError for other policies."""
    p = scenario.inventory.policy
    if p.type != "sQ" or p.periodic:
        raise ValueError(
            f"the reorder optimizer plans continuous-review (s, Q) policies; this scenario uses "
            f"{p.type}{' (periodic)' if p.periodic else ''}: set inventory.policy.type=sQ"
        )
    cat = catalog_for(scenario)
    plan = demand_plan(scenario)
    # the scenario's own s and Q are those the simulator uses: set from the planned demand
    # (today's unless inventory.plan_demand is as_scaled); the optimizer plans for the demand
    # the scenario will see (demand.scale included)
    pol = resolve_policy(scenario, cat, planning_plan(scenario, plan))
    W, n = len(scenario.warehouses), cat.n
    u = scenario.demand.units_per_line
    mu = resolve_policy(scenario, cat, plan).mean_daily_demand
    sup = [scenario.suppliers[j] for j in cat.supplier]
    L = np.tile([s.lead_time_days.mean for s in sup], W)
    VL = np.tile([s.lead_time_days.variance for s in sup], W)
    eu, eu2 = max(u.mean, 1e-12), u.variance + u.mean**2
    costs = scenario.inventory.costs
    unit_cost = np.tile(cat.unit_cost, W)
    return Pairs(
        sku=list(cat.ids) * W,
        warehouse=[w.name for w in scenario.warehouses for _ in range(n)],
        abc=np.tile(cat.abc, W),
        mu=mu,
        ltd_mean=mu * L,
        ltd_var=mu * L * eu2 / eu + mu**2 * VL,
        Q=np.maximum(np.rint(pol.order_quantity), 1).astype(int),
        unit_cost=unit_cost,
        h=holding_cost_per_unit_year(scenario, cat),
        b=costs.backorder_cost_per_unit_day * 365.0,
        K=pair_order_costs(scenario, cat),
        current_r=pol.reorder_point,
        wh_index=np.repeat(np.arange(W), n),
    )


# ------------------------------------------------------------------ the plan
@dataclass
class ReorderPlan:
    """The cheapest reorder points: one row per pair, objective per year, predicted fill rate, duals."""

    rows: pd.DataFrame
    objective: float
    status: str
    fill_target: float
    predicted_fill_rate: float
    build_seconds: float
    solve_seconds: float
    duals: dict[str, float] = field(default_factory=dict)
    binding: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_overlay(self) -> dict:
        """A YAML overlay of scenario keys: the simulator runs exactly this plan."""
        rows = self.rows
        per_sku = [
            {"sku": sku, "warehouse": wh, "reorder_point": int(r), "order_quantity": int(q)}
            for sku, wh, r, q in zip(rows.sku, rows.warehouse, rows.reorder_point, rows.order_quantity)
        ]
        return {
            "plan_info": {
                "kind": "reorder",
                "status": self.status,
                "objective_per_year": round(self.objective, 2),
                "fill_target": self.fill_target,
                "predicted_fill_rate": round(self.predicted_fill_rate, 6),
                "duals": {k: round(v, 6) for k, v in self.duals.items()},
                "binding": self.binding,
            },
            "inventory": {"policy": {"type": "sQ", "review": "continuous"}, "per_sku": per_sku},
        }

    def by_class(self) -> pd.DataFrame:
        """Pairs, demand-weighted fill rate, inventory value and cost per year of each ABC class."""
        g = self.rows.assign(w=self.rows.mean_daily_demand)
        out = g.groupby("abc").apply(
            lambda x: pd.Series(
                {
                    "pairs": len(x),
                    "predicted_fill_rate": np.average(x.fill_rate, weights=x.w) if x.w.sum() else np.nan,
                    "inventory_value": x.inventory_value.sum(),
                    "cost_per_year": x.cost_per_year.sum(),
                }
            ),
            include_groups=False,
        )
        return out.reset_index()


def evaluate(pairs: Pairs, r: np.ndarray) -> pd.DataFrame:
    """Predicted performance of given reorder points (the same cost model as the optimizer)."""
    rows = []
    for i in range(len(pairs.mu)):
        c = rq_candidates(pairs.ltd_mean[i], pairs.ltd_var[i], pairs.Q[i], pairs.h[i], pairs.b, max_candidates=10**9)
        j = int(np.clip(np.searchsorted(c.r, r[i]), 0, len(c.r) - 1))
        rows.append((c.r[j], c.fill_rate[j], c.on_hand[j], c.cost[j]))
    a = np.array(rows)
    return pd.DataFrame({"reorder_point": a[:, 0], "fill_rate": a[:, 1], "on_hand": a[:, 2], "cost": a[:, 3]})


def solve(
    scenario: Scenario,
    fill_target: float | None = None,
    budget: float | None = None,
    class_min: dict[str, float] | None = None,
    max_candidates: int = 60,
    time_limit: float = 300.0,
) -> ReorderPlan:
    """Cheapest reorder points meeting the demand-weighted fill target; raises Infeasible.

    Build (:func:`_build_model`) -> solve the LP relaxation, then the MILP (:func:`_solve_model`)
    -> read back (:func:`_read_plan`).
    """
    t0 = time.perf_counter()
    pairs = pairs_from(scenario)
    weights = pairs.mu / pairs.mu.sum()
    notes = []
    if fill_target is None:
        current = evaluate(pairs, pairs.current_r)
        fill_target = float(np.dot(weights, current.fill_rate))
        notes.append(
            f"fill target = predicted fill rate of the scenario's own reorder points "
            f"(service level {scenario.inventory.policy.service_level:g}): {fill_target:.4f}"
        )
    cands = [
        rq_candidates(pairs.ltd_mean[i], pairs.ltd_var[i], pairs.Q[i], pairs.h[i], pairs.b, max_candidates)
        for i in range(len(pairs.mu))
    ]
    prob, y = _build_model(scenario, pairs, cands, weights, fill_target, budget, class_min)
    build = time.perf_counter() - t0
    target = fill_target

    def explain() -> str:
        return _explain(pairs, cands, weights, target, budget, class_min, scenario)

    relax, sol = _solve_model(prob, y, time_limit, explain)
    return _read_plan(pairs, cands, weights, y, (relax, sol), (budget, class_min), (fill_target, build, notes))


def _build_model(
    scenario: Scenario,
    pairs: Pairs,
    cands: list[Candidates],
    weights: np.ndarray,
    fill_target: float,
    budget: float | None,
    class_min: dict[str, float] | None,
) -> tuple[pulp.LpProblem, list[list[pulp.LpVariable]]]:
    """The multiple-choice MILP: one binary per candidate reorder point, one choice per pair, and the
    fill_target:all, class_min:CLASS, budget:all and storage:WAREHOUSE rows. Returns (problem, binaries)."""
    prob = pulp.LpProblem("reorder_points", pulp.LpMinimize)
    y = [[pulp.LpVariable(f"y_{i}_{j}", 0, 1, cat=pulp.LpBinary) for j in range(len(c.r))] for i, c in enumerate(cands)]
    prob += pulp.LpAffineExpression([(v, cost) for yi, c in zip(y, cands) for v, cost in zip(yi, c.cost)])
    for i, yi in enumerate(y):
        prob += pulp.LpConstraint(
            pulp.LpAffineExpression([(v, 1.0) for v in yi]), pulp.LpConstraintEQ, f"choose_{i}", 1.0
        )
    fill_expr = pulp.LpAffineExpression(
        [(v, w * f) for yi, c, w in zip(y, cands, weights) for v, f in zip(yi, c.fill_rate)]
    )
    # a hair above the target so the MIP's feasibility tolerance (1e-6) cannot land the plan below it
    prob += pulp.LpConstraint(
        fill_expr, pulp.LpConstraintGE, "fill_target:all", _rhs(fill_target, _best_fill(cands, weights))
    )
    _add_class_rows(prob, pairs, cands, y, class_min)
    if budget is not None:
        expr = pulp.LpAffineExpression(
            [(v, pairs.unit_cost[i] * oh) for i, (yi, c) in enumerate(zip(y, cands)) for v, oh in zip(yi, c.on_hand)]
        )
        prob += pulp.LpConstraint(expr, pulp.LpConstraintLE, "budget:all", budget)
    _add_storage_rows(prob, scenario, pairs, cands, y)
    return prob, y


def _add_class_rows(prob: pulp.LpProblem, pairs: Pairs, cands, y, class_min: dict[str, float] | None) -> None:
    """class_min:CLASS rows: the demand-weighted fill rate of an ABC class at least its minimum."""
    for cls, minimum in (class_min or {}).items():
        idx = np.flatnonzero(pairs.abc == cls)
        wc = pairs.mu[idx] / pairs.mu[idx].sum() if len(idx) and pairs.mu[idx].sum() > 0 else None
        if wc is None:
            continue
        expr = pulp.LpAffineExpression([(v, w * f) for i, w in zip(idx, wc) for v, f in zip(y[i], cands[i].fill_rate)])
        prob += pulp.LpConstraint(
            expr, pulp.LpConstraintGE, f"class_min:{cls}", _rhs(minimum, _best_fill([cands[i] for i in idx], wc))
        )


def _add_storage_rows(prob: pulp.LpProblem, scenario: Scenario, pairs: Pairs, cands, y) -> None:
    """storage:WAREHOUSE rows: the sum of r + Q of a warehouse's pairs within its storage_units."""
    for wi, w in enumerate(scenario.warehouses):
        cap = w.storage_units
        if cap is None:
            continue
        idx = np.flatnonzero(pairs.wh_index == wi)
        expr = pulp.LpAffineExpression([(v, float(r + pairs.Q[i])) for i in idx for v, r in zip(y[i], cands[i].r)])
        prob += pulp.LpConstraint(expr, pulp.LpConstraintLE, f"storage:{w.name}", cap)


def _solve_model(prob: pulp.LpProblem, y, time_limit: float, explain) -> tuple[Solution, Solution]:
    """(LP relaxation, MILP) solutions; raises Infeasible with ``explain()`` when either has none.

    The LP relaxation comes first: duals of the convex-hull model, and a fast feasibility verdict.
    """
    for yi in y:
        for v in yi:
            v.cat = pulp.LpContinuous
    relax = run_solver(prob, time_limit)
    if relax.status == "infeasible":
        raise Infeasible(explain())
    for yi in y:
        for v in yi:
            v.cat = pulp.LpInteger  # not LpBinary: PuLP only treats cat == LpInteger as integer (bounds stay 0..1)
    sol: Solution = run_solver(prob, time_limit)
    if sol.status == "infeasible":
        raise Infeasible(explain())
    if sol.status not in ("optimal", "time_limit"):
        raise RuntimeError(
            f"the solver stopped without a plan (status {sol.status}); raise --time-limit (now {time_limit:g} s)"
        )
    return relax, sol


def _read_plan(
    pairs: Pairs,
    cands: list[Candidates],
    weights: np.ndarray,
    y: list[list[pulp.LpVariable]],
    solutions: tuple[Solution, Solution],
    limits: tuple[float | None, dict[str, float] | None],
    request: tuple[float, float, list[str]],
) -> ReorderPlan:
    """The chosen reorder points as a :class:`ReorderPlan`, with the LP relaxation's duals per unit a planner uses.

    ``solutions`` = (LP relaxation, MILP); ``limits`` = (budget, class minimums); ``request`` =
    (fill target, seconds spent building the model, notes).
    """
    relax, sol = solutions
    budget, class_min = limits
    fill_target, build_seconds, notes = request
    chosen = [int(np.argmax([v.value() or 0.0 for v in yi])) for yi in y]
    rows = _rows(pairs, cands, chosen)
    duals = {"fill_rate_point": relax.duals.get("fill_target:all", 0.0) * 0.01}
    if budget is not None:
        duals["budget_unit"] = -relax.duals.get("budget:all", 0.0)
    for cls in class_min or {}:
        if f"class_min:{cls}" in relax.duals:
            duals[f"class_{cls}_point"] = relax.duals[f"class_min:{cls}"] * 0.01
    return ReorderPlan(
        rows=rows,
        objective=float(rows.cost_per_year.sum()),
        status=sol.status,
        fill_target=fill_target,
        predicted_fill_rate=float(np.dot(weights, rows.fill_rate)),
        build_seconds=build_seconds,
        solve_seconds=relax.seconds + sol.seconds,
        duals=duals,
        binding=[n for n in relax.binding() if not n.startswith("choose_")],
        notes=notes,
    )


def _rows(pairs: Pairs, cands: list[Candidates], chosen: list[int]) -> pd.DataFrame:
    r = np.array([c.r[j] for c, j in zip(cands, chosen)], dtype=float)
    fill = np.array([c.fill_rate[j] for c, j in zip(cands, chosen)])
    oh = np.array([c.on_hand[j] for c, j in zip(cands, chosen)])
    cost = np.array([c.cost[j] for c, j in zip(cands, chosen)]) + pairs.K * 365 * pairs.mu / pairs.Q
    return pd.DataFrame(
        {
            "sku": pairs.sku,
            "warehouse": pairs.warehouse,
            "abc": pairs.abc,
            "mean_daily_demand": pairs.mu,
            "reorder_point": r,
            "order_quantity": pairs.Q,
            "safety_stock": r - pairs.ltd_mean,
            "fill_rate": fill,
            "expected_on_hand": oh,
            "inventory_value": oh * pairs.unit_cost,
            "cost_per_year": cost,
        }
    )


def _best_fill(cands, weights) -> float:
    """The best reachable demand-weighted fill rate: every pair at its highest candidate reorder point,
    less a hair of room (HiGHS's MIP presolve declares a right-hand side within ~3e-8 of it infeasible)."""
    return float(sum(w * c.fill_rate[-1] for w, c in zip(weights, cands))) - 1e-7


def _rhs(target: float, best: float) -> float:
    """The constraint's right-hand side: target + TOL, but never above a reachable best (stays feasible)."""
    return target + TOL if target > best else min(target + TOL, best)


def _digits(a: float, b: float) -> tuple[str, str]:
    """a (as the user gave it) and b with enough decimals to tell them apart (0.99999999 vs 0.99999987,
    not 1.0000 vs 1.0000)."""
    d = 4
    while d < 12 and (round(a, d) != a or f"{a:.{d}f}" == f"{b:.{d}f}"):
        d += 1
    return f"{a:.{d}f}", f"{b:.{d}f}"


def _explain(pairs, cands, weights, target, budget, class_min, scenario) -> str:
    """Which constraint group makes the model infeasible, in words a planner can act on."""
    best = _best_fill(cands, weights)
    if best < target:
        t, b = _digits(target, best)
        return f"fill-rate target {t} is above the best reachable {b} (every pair at its highest reorder point)"
    for cls, minimum in (class_min or {}).items():
        idx = np.flatnonzero(pairs.abc == cls)
        if len(idx) and pairs.mu[idx].sum() > 0:
            wc = pairs.mu[idx] / pairs.mu[idx].sum()
            top = _best_fill([cands[i] for i in idx], wc)
            if top < minimum:
                m, t = _digits(minimum, top)
                return f"class {cls} minimum fill rate {m} is above the best reachable {t}"
    if budget is not None:
        need = _min_for_target(pairs, cands, weights, _rhs(target, best), lambda i, c: pairs.unit_cost[i] * c.on_hand)
        if need > budget:
            return (
                f"fill-rate target {target:.4f} needs at least {need:,.0f} of average inventory value; "
                f"budget is {budget:,.0f}"
            )
    for wi, w in enumerate(scenario.warehouses):
        if w.storage_units is None:
            continue
        need = _min_for_target(
            pairs,
            cands,
            weights,
            _rhs(target, best),
            lambda i, c, wi=wi: (c.r + pairs.Q[i]) * (pairs.wh_index[i] == wi),
        )
        if need > w.storage_units:
            return (
                f"storage at {w.name}: fill-rate target {target:.4f} needs room for at least {need:,.0f} "
                f"units (sum of r + Q); capacity is {w.storage_units:,}"
            )
    return "the fill-rate target, budget and storage limits cannot all be met together"


def _min_for_target(pairs, cands, weights, target, coef) -> float:
    """Least total of ``coef(i, candidates)`` over plans reaching the target (the discrete model, a MIP)."""
    prob = pulp.LpProblem("min_for_target", pulp.LpMinimize)
    # binaries: the least total of the discrete model (the LP bound can sit below it, then the message
    # would not explain an infeasible plan)
    y = [[pulp.LpVariable(f"y_{i}_{j}", cat=pulp.LpBinary) for j in range(len(c.r))] for i, c in enumerate(cands)]
    prob += pulp.LpAffineExpression(
        [(v, float(a)) for i, (yi, c) in enumerate(zip(y, cands)) for v, a in zip(yi, coef(i, c))]
    )
    for i, yi in enumerate(y):
        prob += pulp.lpSum(yi) == 1, f"choose_{i}"
    prob += (
        pulp.LpAffineExpression([(v, w * f) for yi, c, w in zip(y, cands, weights) for v, f in zip(yi, c.fill_rate)])
        >= target,
        "fill_target:all",
    )
    s = run_solver(prob)
    return s.objective if s.status == "optimal" else float("inf")
