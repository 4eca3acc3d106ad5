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

Formulation: a multiple-choice model — one 0/1 variable per candidate reorder
point and pair, exactly one chosen per pair — exact for the discrete model (a
brute-force enumeration gives the same plan); it handles ABC minimums, the inventory
budget and storage capacities in one model. Candidates: every reorder point that can
be optimal (:func:`pareto_front`; nothing is thinned). Its LP relaxation is the
piecewise-linear (convex-hull) model of B(r) and beta(r) and is almost integral
(only as many fractional pairs as coupling rows). With the fill target alone the
model is a multiple-choice knapsack: the LP is solved exactly by its Lagrangian (a
price of fill rate found by bisection, no solver), the fractional pair is rounded up
and the surplus spent on moves down. Otherwise HiGHS solves the LP and its plan is
rounded up. When the rounded plan costs more than ``mip_gap`` above the LP bound, a
MILP warm-started from it runs within the time limit. ``plan.gap`` =
(objective - lp_bound) / objective: the plan is at most that far above the optimum
over the same candidates (the objective includes the ordering cost, fixed by Q).
The duals reported are those of the LP relaxation: the marginal cost of one more
point of fill rate and the value of one more unit of budget.

>>> from sim.scenario.loader import load_scenario
>>> plan = solve(load_scenario("scenarios/classroom_sq.yaml"), fill_target=0.95)
>>> plan.status, int(plan.rows.reorder_point.iloc[0]), bool(plan.rows.fill_rate.iloc[0] >= 0.95)
('optimal', 5, True)
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optimize.solver import Infeasible, NoPlan, solve_matrix
from sim.model.catalog import catalog_for
from sim.model.demand import demand_plan, planning_plan
from sim.model.economics import holding_cost_per_unit_year, pair_order_costs
from sim.model.policy import resolve_policy, trigger_offset
from sim.scenario.schema import Scenario

# a hair above a target, against rounding in sums only: every plan is checked against its rows exactly,
# so the plan is the cheapest for the target itself (2e-6, once HiGHS's tolerance, made plans dearer)
TOL = 1e-12


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
    mean: float, var: float, Q: int, h: float, b: float, max_candidates: int | None = None, min_fill: float = 0.0
) -> Candidates:
    """Candidate reorder points 0.. of one pair with fill rate, on hand, backorders and cost (module formulas).

    Points with fill rate below ``min_fill`` and beyond the first with fill >= 1 - 1e-7 are dropped
    (each adds less than 1e-7 of the pair's fill at the price of more stock); more than
    ``max_candidates`` (None: no limit) are thinned evenly in log(1 - fill rate), which can cut
    off the optimum (the thinned sets made plans 0.1% dearer): :func:`solve` does not thin.
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
    if max_candidates is not None and len(r) > max_candidates:
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
    current_r: np.ndarray  # the scenario's own reorder points (uniform service level), as at_or_below points
    wh_index: np.ndarray
    r_offset: int = 0  # added to the model's r in the plan: 1 under reorder_trigger below (trigger_offset)


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
        current_r=pol.reorder_point - trigger_offset(scenario),
        wh_index=np.repeat(np.arange(W), n),
        r_offset=trigger_offset(scenario),
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
    lp_bound: float = float("nan")  # LP relaxation on the same candidates, ordering cost included
    gap: float = float("nan")  # (objective - lp_bound) / objective: how far above the optimum at most

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
                "lp_bound_per_year": round(self.lp_bound, 2),
                "gap": float(f"{self.gap:.3g}"),
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
    """Predicted performance of given reorder points (the same cost model as the optimizer; ``r`` as
    at_or_below points: a plan's reorder points less ``pairs.r_offset``)."""
    rows = []
    for i in range(len(pairs.mu)):
        c = rq_candidates(pairs.ltd_mean[i], pairs.ltd_var[i], pairs.Q[i], pairs.h[i], pairs.b, max_candidates=10**9)
        j = int(np.clip(np.searchsorted(c.r, r[i]), 0, len(c.r) - 1))
        rows.append((c.r[j], c.fill_rate[j], c.on_hand[j], c.cost[j]))
    a = np.array(rows)
    return pd.DataFrame({"reorder_point": a[:, 0], "fill_rate": a[:, 1], "on_hand": a[:, 2], "cost": a[:, 3]})


@dataclass(frozen=True)
class CandidateTable:
    """Every pair's candidate reorder points as flat columns, pair after pair (the model's variables).

    ``start[i]:start[i + 1]`` are the columns of pair ``i``, in increasing reorder point (and fill rate).
    """

    start: np.ndarray
    pair: np.ndarray
    r: np.ndarray
    fill_rate: np.ndarray
    on_hand: np.ndarray
    cost: np.ndarray

    @classmethod
    def of(cls, cands: list[Candidates]) -> CandidateTable:
        """The table of per-pair candidate sets."""
        sizes = np.array([len(c.r) for c in cands], dtype=np.int64)
        return cls(
            start=np.concatenate([[0], np.cumsum(sizes)]),
            pair=np.repeat(np.arange(len(cands)), sizes),
            r=np.concatenate([c.r for c in cands]).astype(float),
            fill_rate=np.concatenate([c.fill_rate for c in cands]),
            on_hand=np.concatenate([c.on_hand for c in cands]),
            cost=np.concatenate([c.cost for c in cands]),
        )


def pareto_front(c: Candidates) -> Candidates:
    """The candidates no other one beats: drop a reorder point when a higher one costs no more.

    Exact when every coupling row asks for fill rate (fill target, class minimums): a higher
    point has at least the fill rate, so swapping a dropped point for the cheaper higher one
    keeps any plan feasible and makes it no dearer. Not for budget or storage rows (a lower
    point holds less stock): :func:`solve` keeps every point then.
    """
    later_min = np.minimum.accumulate(c.cost[::-1])[::-1]
    keep = c.cost < np.append(later_min[1:], np.inf)
    return Candidates(c.r[keep], c.fill_rate[keep], c.on_hand[keep], c.backorders[keep], c.cost[keep])


def _pick(table: CandidateTable, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pair the column of least ``score`` (ties: the highest reorder point) and that least score."""
    heads = table.start[:-1]
    least = np.minimum.reduceat(score, heads)
    cols = np.where(score <= least[table.pair], np.arange(len(score)), -1)
    return np.maximum.reduceat(cols, heads), least


def _lagrangian(table: CandidateTable, wfill: np.ndarray, rhs: float) -> tuple[float, float, np.ndarray, np.ndarray]:
    """The LP relaxation with one fill row, exactly, by its Lagrangian dual (a multiple-choice knapsack).

    For a price ``lam`` of weighted fill each pair takes its least ``cost - lam * wfill``; the
    weighted fill grows with ``lam``. Bisection brackets the price where it reaches ``rhs``:
    returns (price, LP bound, choice at the upper price (feasible), choice at the lower price).
    Every ``L(lam) = sum of least scores + lam * rhs`` is a lower bound (weak duality); the
    largest found is the LP optimum (at the critical price the two agree to ~1e-12).
    """
    sel, least = _pick(table, table.cost)
    if wfill[sel].sum() >= rhs:
        return 0.0, float(least.sum()), sel, sel
    lo, hi, sel_lo, bound = 0.0, 1.0, sel, float(least.sum())
    sel_hi, least = _pick(table, table.cost - hi * wfill)
    for _ in range(200):
        if wfill[sel_hi].sum() >= rhs:
            break
        lo, sel_lo, bound = hi, sel_hi, max(bound, float(least.sum()) + hi * rhs)
        hi *= 2.0
        sel_hi, least = _pick(table, table.cost - hi * wfill)
    else:  # rhs within rounding of the best fill: every pair at its highest point (feasible, _best_fill)
        return hi, bound, table.start[1:] - 1, sel_lo
    bound = max(bound, float(least.sum()) + hi * rhs)
    while hi - lo > 1e-13 * hi:
        mid = 0.5 * (lo + hi)
        sel, least = _pick(table, table.cost - mid * wfill)
        bound = max(bound, float(least.sum()) + mid * rhs)
        if wfill[sel].sum() >= rhs:
            hi, sel_hi = mid, sel
        else:
            lo, sel_lo = mid, sel
    return hi, bound, sel_hi, sel_lo


def _cover(table: CandidateTable, wfill: np.ndarray, sel: np.ndarray, rhs: float) -> np.ndarray | None:
    """``sel`` made feasible by the cheapest single move that covers its fill shortfall (None if none does)."""
    short = rhs - wfill[sel].sum()
    if short <= 0:
        return sel
    extra = table.cost - table.cost[sel][table.pair]
    ok = wfill - wfill[sel][table.pair] >= short
    if not ok.any():
        return None
    j = int(np.argmin(np.where(ok, extra, np.inf)))
    out = sel.copy()
    out[table.pair[j]] = j
    return out


def _improve(table: CandidateTable, wfill: np.ndarray, sel: np.ndarray, rhs: float, rounds: int = 50) -> np.ndarray:
    """Spend the fill surplus over ``rhs``: repeatedly the single move down that saves most and stays feasible."""
    sel = sel.copy()
    for _ in range(rounds):
        surplus = wfill[sel].sum() - rhs
        saving = table.cost[sel][table.pair] - table.cost
        ok = (wfill[sel][table.pair] - wfill <= surplus) & (saving > 0)
        if not ok.any():
            break
        j = int(np.argmax(np.where(ok, saving, -np.inf)))
        sel[table.pair[j]] = j
    return sel


def _rounded_lp(table: CandidateTable, wfill: np.ndarray, rhs: float) -> tuple[float, float, np.ndarray]:
    """(fill price, LP bound, the best integer plan built from the LP): the choice at the upper price
    (the fractional pair rounded up) or the lower one plus the cheapest cover, then moves down."""
    lam, bound, sel_hi, sel_lo = _lagrangian(table, wfill, rhs)
    plans = [_improve(table, wfill, sel_hi, rhs)]
    covered = _cover(table, wfill, sel_lo, rhs)
    if covered is not None:
        plans.append(_improve(table, wfill, covered, rhs))
    best = min(plans, key=lambda s: float(table.cost[s].sum()))
    return lam, bound, best


@dataclass
class _Model:
    """The multiple-choice model in matrix form: rows 0..n-1 choose one column per pair, then named rows."""

    matrix: Any  # scipy.sparse CSC matrix
    lower: np.ndarray
    upper: np.ndarray
    names: list[str]


def _matrix_model(scenario, pairs: Pairs, table: CandidateTable, cands, weights, limits) -> _Model:
    """fill_target:all, class_min:CLASS, budget:all and storage:WAREHOUSE rows over the table's columns."""
    import scipy.sparse as sp

    fill_target, budget, class_min = limits
    n, cols, p = len(pairs.mu), np.arange(len(table.r)), table.pair
    entries = [(p, cols, np.ones(len(cols)))]
    lower, upper = [np.ones(n)], [np.ones(n)]
    names: list[str] = []

    def add(name, mask, values, lo, hi):
        entries.append((np.full(int(mask.sum()), n + len(names)), cols[mask], values[mask]))
        lower.append(np.array([lo], dtype=float))
        upper.append(np.array([hi], dtype=float))
        names.append(name)

    every = np.ones(len(cols), dtype=bool)
    add("fill_target:all", every, weights[p] * table.fill_rate, _rhs(fill_target, _best_fill(cands, weights)), np.inf)
    for cls, minimum in (class_min or {}).items():
        idx = np.flatnonzero(pairs.abc == cls)
        if len(idx) and pairs.mu[idx].sum() > 0:
            wc = np.where(pairs.abc == cls, pairs.mu, 0.0) / pairs.mu[idx].sum()
            best = _best_fill([cands[i] for i in idx], wc[idx])
            add(f"class_min:{cls}", pairs.abc[p] == cls, wc[p] * table.fill_rate, _rhs(minimum, best), np.inf)
    if budget is not None:
        add("budget:all", every, pairs.unit_cost[p] * table.on_hand, -np.inf, budget)
    for wi, w in enumerate(scenario.warehouses):
        if w.storage_units is not None:
            add(f"storage:{w.name}", pairs.wh_index[p] == wi, table.r + pairs.Q[p], -np.inf, w.storage_units)
    rows, cs, vals = (np.concatenate(a) for a in zip(*entries))
    matrix = sp.csc_matrix((vals, (rows, cs)), shape=(n + len(names), len(cols)))
    return _Model(matrix, np.concatenate(lower).astype(float), np.concatenate(upper).astype(float), names)


def _chosen(table: CandidateTable, x: np.ndarray) -> np.ndarray:
    """Per pair the column of largest value (an integer solution: the one at 1)."""
    return _pick(table, -x)[0]


def _lp_round_up(table: CandidateTable, x: np.ndarray) -> np.ndarray:
    """Per pair the lowest candidate at or above the LP's fractional choice (its mean fill rate)."""
    mean_fill = np.add.reduceat(x * table.fill_rate, table.start[:-1])
    ok = table.fill_rate >= mean_fill[table.pair] - 1e-12
    return np.minimum.reduceat(np.where(ok, np.arange(len(x)), len(x)), table.start[:-1])


def _lp_round(model: _Model, table: CandidateTable, x: np.ndarray, most: int = 4096) -> np.ndarray | None:
    """The cheapest integer plan from the LP that meets every row, or None: each fractional pair (at most
    one per coupling row at a vertex) takes one of the points it mixes or the one at/above their mean.

    At most ``most`` combinations are tried; pairs the LP already chose whole keep their point.
    """
    n = len(table.start) - 1
    base = _lp_round_up(table, x)
    frac = np.flatnonzero(np.maximum.reduceat(x, table.start[:-1]) < 1 - 1e-9)
    options = [
        sorted({int(base[i]), *(table.start[i] + np.flatnonzero(x[table.start[i] : table.start[i + 1]] > 1e-9))})
        for i in frac
    ]
    coupling = model.matrix[n:, :].tocsc()
    x0 = np.zeros(len(x))
    x0[base] = 1.0
    act0 = coupling @ x0
    lo, hi = model.lower[n:], model.upper[n:]
    best, best_cost = None, np.inf
    for combo in itertools.islice(itertools.product(*options), most):
        cols = np.array(combo, dtype=np.int64)
        delta = (coupling[:, cols].sum(axis=1).A1 - coupling[:, base[frac]].sum(axis=1).A1) if len(cols) else 0.0
        act = act0 + delta
        tol = 1e-9 * np.maximum(1.0, np.abs(act))
        cost = float(table.cost[cols].sum() - table.cost[base[frac]].sum()) if len(cols) else 0.0
        if np.all(act >= lo - tol) and np.all(act <= hi + tol) and cost < best_cost:
            best, best_cost = cols, cost
    if best is None:
        return None
    sel = base.copy()
    sel[frac] = best
    return sel


def _violation(act: np.ndarray, lo: np.ndarray, hi: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Relative violation of rows ``lo <= act <= hi`` (``act``: rows x columns, or a vector), summed over rows."""
    if act.ndim == 2:
        lo, hi, scale = lo[:, None], hi[:, None], scale[:, None]
    return ((np.maximum(lo - act, 0.0) + np.maximum(act - hi, 0.0)) / scale).sum(axis=0)


def _repair(model: _Model, table: CandidateTable, sel: np.ndarray, rounds: int = 60) -> np.ndarray | None:
    """Single-pair moves from ``sel``: while a coupling row is broken, the cheapest move that mends every
    row (else the one that mends most); then, while one saves cost and keeps every row, the best such.
    Returns the feasible plan, or None when the moves cannot mend it."""
    n = len(table.start) - 1
    dense = model.matrix[n:, :].toarray()
    lo, hi = model.lower[n:], model.upper[n:]
    scale = np.maximum(1.0, np.abs(np.where(np.isfinite(lo), lo, hi)))
    sel = sel.copy()
    for _ in range(rounds):
        act = dense[:, sel].sum(axis=1)
        now = float(_violation(act, lo, hi, scale))
        after = _violation(act[:, None] + dense - dense[:, sel[table.pair]], lo, hi, scale)
        extra = table.cost - table.cost[sel][table.pair]
        ok = (after <= 0.0) & (extra < 0 if now <= 0.0 else True)
        if ok.any():
            j = int(np.argmin(np.where(ok, extra, np.inf)))
        elif now > 0.0 and after.min() < now:
            j = int(np.argmin(after))
        else:
            break
        sel[table.pair[j]] = j
    act = dense[:, sel].sum(axis=1)
    return sel if float(_violation(act, lo, hi, scale)) <= 0.0 else None


@dataclass
class _Relaxation:
    """The LP relaxation's verdict: bound (candidate costs only), duals by row name, binding rows, an
    integer plan rounded from it (None when rounding breaks a stock row) and the seconds it took."""

    bound: float
    duals: dict[str, float]
    binding: list[str]
    incumbent: np.ndarray | None
    seconds: float


def _relax_fill_only(table: CandidateTable, weights: np.ndarray, rhs: float) -> _Relaxation:
    """Fill target only: the LP by its Lagrangian (no solver) and the rounded, improved plan."""
    t0 = time.perf_counter()
    lam, bound, sel = _rounded_lp(table, weights[table.pair] * table.fill_rate, rhs)
    binding = ["fill_target:all"] if lam > 0 else []
    return _Relaxation(bound, {"fill_target:all": lam}, binding, sel, time.perf_counter() - t0)


def _relax_lp(model: _Model, table: CandidateTable, time_limit: float, explain) -> _Relaxation:
    """The LP relaxation by HiGHS (class minimums, budget, storage), its duals and its rounded-up plan."""
    n = len(table.start) - 1
    lp = solve_matrix(table.cost, model.matrix, model.lower, model.upper, time_limit=time_limit)
    if lp.status == "infeasible":
        raise Infeasible(explain())
    if lp.status != "optimal":
        raise NoPlan(f"the LP relaxation stopped (status {lp.status}); raise --time-limit (now {time_limit:g} s)")
    duals = {name: float(lp.row_dual[n + k]) for k, name in enumerate(model.names)}
    binding = []
    for k, name in enumerate(model.names):
        value, lo, hi = lp.row_value[n + k], model.lower[n + k], model.upper[n + k]
        bound = lo if np.isfinite(lo) else hi
        if abs(value - bound) <= 1e-7 * max(1.0, abs(bound)):
            binding.append(name)
    rounded = _lp_round(model, table, lp.x)
    incumbent = _repair(model, table, _lp_round_up(table, lp.x) if rounded is None else rounded)
    return _Relaxation(lp.objective, duals, binding, incumbent, lp.seconds)


def _meets(model: _Model, table: CandidateTable, sel: np.ndarray) -> bool:
    """Does the integer plan ``sel`` meet every coupling row exactly (no tolerance)?"""
    n = len(table.start) - 1
    x = np.zeros(len(table.r))
    x[sel] = 1.0
    act = model.matrix[n:, :] @ x
    return bool(np.all(act >= model.lower[n:]) and np.all(act <= model.upper[n:]))


def _restrict(model: _Model, table: CandidateTable, prices: np.ndarray, incumbent: np.ndarray):
    """Reduced-cost fixing: drop every column no plan cheaper than ``incumbent`` can use.

    For prices ``y`` of the coupling rows (>= rows y >= 0, <= rows y <= 0), each pair's least
    ``cost - y A`` summed plus ``y b`` is a lower bound L (weak duality), and a plan that uses a
    column with reduced cost rc (above its pair's least) costs at least L + rc: columns with
    L + rc > the incumbent's cost cannot be in a better plan. Returns (model, table, kept columns).
    """
    n = len(table.start) - 1
    coupling = model.matrix[n:, :]
    lo, hi = model.lower[n:], model.upper[n:]
    y = np.where(np.isfinite(lo), np.maximum(prices, 0.0), np.minimum(prices, 0.0))
    score = table.cost - coupling.T @ y
    least = np.minimum.reduceat(score, table.start[:-1])
    bound = float(least.sum() + y @ np.where(np.isfinite(lo), lo, hi))
    upper = float(table.cost[incumbent].sum())
    keep = bound + (score - least[table.pair]) <= upper + 1e-9 * max(1.0, abs(upper))
    keep[incumbent] = True
    cols = np.flatnonzero(keep)
    counts = np.bincount(table.pair[cols], minlength=n)
    sub = CandidateTable(
        np.concatenate([[0], np.cumsum(counts)]),
        table.pair[cols],
        table.r[cols],
        table.fill_rate[cols],
        table.on_hand[cols],
        table.cost[cols],
    )
    return _Model(model.matrix[:, cols], model.lower, model.upper, model.names), sub, cols


def _milp_fixed(model: _Model, table: CandidateTable, start, prices, offset, settings, explain):
    """:func:`_milp`, over the columns :func:`_restrict` keeps when there is a start and LP prices."""
    if start is None or prices is None:
        return _milp(model, table, start, offset, settings, explain)
    sub_model, sub, cols = _restrict(model, table, np.asarray(prices, dtype=float), start)
    position = np.full(len(table.r), -1)
    position[cols] = np.arange(len(cols))
    sel, status, seconds = _milp(sub_model, sub, position[start], offset, settings, explain)
    return cols[sel], status, seconds


def _milp(model: _Model, table: CandidateTable, start, offset, settings, explain) -> tuple[np.ndarray, str, float]:
    """The MILP warm-started from ``start`` (a feasible plan or None): (plan, status, seconds).

    ``settings`` = (time limit, relative gap, absolute gap or None). A run stopped by the time limit returns its
    incumbent (or ``start``) with status ``time_limit``. HiGHS runs at a feasibility tolerance
    of 1e-9 and its plan is checked exactly (else repaired, else ``start`` is kept).
    """
    time_limit, mip_gap, abs_gap = settings
    options = {"mip_feasibility_tolerance": 1e-9, "primal_feasibility_tolerance": 1e-9}
    if abs_gap is not None:
        options["mip_abs_gap"] = abs_gap
    x0 = None
    if start is not None:
        x0 = np.zeros(len(table.r))
        x0[start] = 1.0
    sol = solve_matrix(
        table.cost,
        model.matrix,
        model.lower,
        model.upper,
        integer=True,
        offset=offset,
        time_limit=time_limit,
        mip_gap=mip_gap,
        start=x0,
        options=options,
    )
    if sol.status == "infeasible":
        raise Infeasible(explain())
    sel = _chosen(table, sol.x) if sol.status in ("optimal", "time_limit") else None
    if sel is not None and not _meets(model, table, sel):
        sel = _repair(model, table, sel)
    if sel is not None and (start is None or table.cost[sel].sum() <= table.cost[start].sum()):
        return sel, sol.status, sol.seconds
    if start is not None:
        return start, "time_limit" if sol.status != "optimal" else "optimal", sol.seconds
    raise NoPlan(f"the solver stopped without a plan (status {sol.status}); raise --time-limit (now {time_limit:g} s)")


def _relaxation(scenario, pairs, table, cands, weights, limits, time_limit, explain, t0):
    """The LP relaxation and its rounded plan: by bisection when the fill target is the only
    constraint, else by HiGHS on the matrix model; returns (relaxation, model or None, build seconds)."""
    fill_target, budget, class_min = limits
    if budget is None and not class_min and not _has_storage(scenario):
        best = _best_fill(cands, weights)
        if best < fill_target:
            raise Infeasible(explain())
        build = time.perf_counter() - t0
        return _relax_fill_only(table, weights, _rhs(fill_target, best)), None, build
    model = _matrix_model(scenario, pairs, table, cands, weights, limits)
    build = time.perf_counter() - t0
    return _relax_lp(model, table, time_limit, explain), model, build


def solve(
    scenario: Scenario,
    fill_target: float | None = None,
    budget: float | None = None,
    class_min: dict[str, float] | None = None,
    max_candidates: int | None = None,
    time_limit: float = 300.0,
    mip_gap: float = 1e-4,
) -> ReorderPlan:
    """Cheapest reorder points meeting the demand-weighted fill target; raises Infeasible.

    Candidates (every reorder point that can be optimal, :func:`pareto_front`; ``max_candidates``
    thins them as before, for comparison only) -> LP relaxation and a plan rounded from it
    (:func:`_relax_fill_only` or :func:`_relax_lp`) -> when its cost is more than ``mip_gap``
    (relative) above the LP bound, the MILP warm-started from it, within ``time_limit`` seconds
    in all -> read back (:func:`_read_plan`), with the gap to the LP bound.
    """
    t0 = time.perf_counter()
    pairs = pairs_from(scenario)
    weights = pairs.mu / pairs.mu.sum()
    full = [
        rq_candidates(pairs.ltd_mean[i], pairs.ltd_var[i], pairs.Q[i], pairs.h[i], pairs.b)
        for i in range(len(pairs.mu))
    ]
    notes = []
    if fill_target is None:
        fill_target = _own_fill(pairs, full, weights)
        notes.append(
            f"fill target = predicted fill rate of the scenario's own reorder points "
            f"(service level {scenario.inventory.policy.service_level:g}): {fill_target:.4f}"
        )
    cands = _model_candidates(scenario, pairs, full, budget, max_candidates)
    table = CandidateTable.of(cands)
    limits = (fill_target, budget, class_min)
    target = fill_target

    def explain() -> str:
        return _explain(pairs, cands, weights, target, budget, class_min, scenario)

    relax, model, build = _relaxation(scenario, pairs, table, cands, weights, limits, time_limit, explain, t0)
    offset = float(np.sum(pairs.K * 365 * pairs.mu / pairs.Q))
    sel, status, milp_seconds = relax.incumbent, "optimal", 0.0
    lp_bound = relax.bound + offset
    if sel is None or table.cost[sel].sum() + offset - lp_bound > mip_gap * (table.cost[sel].sum() + offset):
        if model is None:
            model = _matrix_model(scenario, pairs, table, cands, weights, limits)
        left = max(time_limit - (time.perf_counter() - t0 - build), 0.01)
        prices = [relax.duals.get(name, 0.0) for name in model.names]
        sel, status, milp_seconds = _milp_fixed(model, table, sel, prices, offset, (left, mip_gap, None), explain)
        notes.append(f"MILP {'warm-started from the rounded LP' if relax.incumbent is not None else 'from scratch'}")
    run = (fill_target, build, notes, status, milp_seconds)
    return _read_plan(pairs, table, weights, sel, relax, (budget, class_min), run, offset)


def _has_storage(scenario: Scenario) -> bool:
    """Has any warehouse a storage limit (a storage row)?"""
    return any(w.storage_units is not None for w in scenario.warehouses)


def _model_candidates(scenario, pairs: Pairs, full: list[Candidates], budget, max_candidates) -> list[Candidates]:
    """The candidates the model chooses from: the Pareto front of each pair (all of them when a
    budget or storage row can prefer lower stock), or the old thinned sets if ``max_candidates``."""
    if max_candidates is not None:
        return [
            rq_candidates(pairs.ltd_mean[i], pairs.ltd_var[i], pairs.Q[i], pairs.h[i], pairs.b, max_candidates)
            for i in range(len(pairs.mu))
        ]
    if budget is not None or _has_storage(scenario):
        return full
    return [pareto_front(c) for c in full]


def _own_fill(pairs: Pairs, full: list[Candidates], weights: np.ndarray) -> float:
    """Predicted demand-weighted fill rate of the scenario's own reorder points (as :func:`evaluate`)."""
    fill = [c.fill_rate[int(np.clip(np.searchsorted(c.r, r), 0, len(c.r) - 1))] for c, r in zip(full, pairs.current_r)]
    return float(np.dot(weights, fill))


def _read_plan(pairs, table, weights, sel, relax: _Relaxation, limits, request, offset) -> ReorderPlan:
    """The chosen reorder points as a :class:`ReorderPlan`, with the LP relaxation's duals per unit a planner
    uses and the gap to its bound.

    ``limits`` = (budget, class minimums); ``request`` = (fill target, build seconds, notes, status,
    MILP seconds); ``offset`` = the ordering cost per year (fixed by Q: in the objective and the bound).
    """
    budget, class_min = limits
    fill_target, build_seconds, notes, status, milp_seconds = request
    rows = _rows(pairs, table, sel)
    duals = {"fill_rate_point": relax.duals.get("fill_target:all", 0.0) * 0.01}
    if budget is not None:
        duals["budget_unit"] = -relax.duals.get("budget:all", 0.0)
    for cls in class_min or {}:
        if f"class_min:{cls}" in relax.duals:
            duals[f"class_{cls}_point"] = relax.duals[f"class_min:{cls}"] * 0.01
    objective = float(rows.cost_per_year.sum())
    lp_bound = relax.bound + offset
    return ReorderPlan(
        rows=rows,
        objective=objective,
        status=status,
        fill_target=fill_target,
        predicted_fill_rate=float(np.dot(weights, rows.fill_rate)),
        build_seconds=build_seconds,
        solve_seconds=relax.seconds + milp_seconds,
        duals=duals,
        binding=relax.binding,
        notes=notes,
        lp_bound=lp_bound,
        gap=max(objective - lp_bound, 0.0) / objective if objective > 0 else 0.0,
    )


def _rows(pairs: Pairs, table: CandidateTable, sel: np.ndarray) -> pd.DataFrame:
    r, oh = table.r[sel], table.on_hand[sel]
    return pd.DataFrame(
        {
            "sku": pairs.sku,
            "warehouse": pairs.warehouse,
            "abc": pairs.abc,
            "mean_daily_demand": pairs.mu,
            "reorder_point": r + pairs.r_offset,
            "order_quantity": pairs.Q,
            "safety_stock": r - pairs.ltd_mean,
            "fill_rate": table.fill_rate[sel],
            "expected_on_hand": oh,
            "inventory_value": oh * pairs.unit_cost,
            "cost_per_year": table.cost[sel] + pairs.K * 365 * pairs.mu / pairs.Q,
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
    """Least total of ``coef(i, candidates)`` over plans reaching the target: the discrete model (the LP
    bound can sit below it, then the message would not explain an infeasible plan), from the rounded
    Lagrangian plan, by the MILP when that is not within 0.49 (below the unit the message shows) of the
    LP bound; inf when unreachable."""
    import scipy.sparse as sp

    table = CandidateTable.of(cands)
    values = np.concatenate(
        [np.broadcast_to(np.asarray(coef(i, c), dtype=float), len(c.r)) for i, c in enumerate(cands)]
    )
    table = CandidateTable(table.start, table.pair, table.r, table.fill_rate, table.on_hand, values)
    wfill = weights[table.pair] * table.fill_rate
    if _best_fill(cands, weights) < target:
        return float("inf")
    lam, bound, sel = _rounded_lp(table, wfill, target)
    best = float(values[sel].sum())
    if best - bound <= 0.49:
        return best
    n, cols = len(cands), np.arange(len(values))
    rows = np.concatenate([table.pair, np.full(len(cols), n)])
    matrix = sp.csc_matrix((np.concatenate([np.ones(len(cols)), wfill]), (rows, np.concatenate([cols, cols]))))
    model = _Model(matrix, np.append(np.ones(n), target), np.append(np.ones(n), np.inf), ["fill_target:all"])
    plan, _, _ = _milp_fixed(model, table, sel, [lam], 0.0, (60.0, 0.0, 0.49), lambda: "")
    return float(values[plan].sum())
