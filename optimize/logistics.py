"""Which warehouse serves each region with which carrier: least cost within the delivery promise.

Decision x[r, w, c] = share of region r's orders served from warehouse w by carrier c
(a transportation LP). With ``allow_close`` a binary open[w] (fixed cost per day) and
single sourcing per region (binary assign[r, w]) make it a MILP.

    minimize   sum d_r x[r,w,c] (ship[r,w,c] + handling_w)  (+ sum fixed_w open_w)
    subject to sum_{w,c} x[r,w,c] = 1                        demand:r
               sum_{r,c} d_r x[r,w,c] <= pick capacity_w     pick_capacity:w
               sum_r d_r x[r,w,c] <= daily capacity_c        carrier_capacity:c@w
               sum_{w,c} p[r,w,c] x[r,w,c] >= target         on_time:r   (or one overall row)

d_r is region r's orders per day; ship[r,w,c] = (base_c + per_kg_c x mean order weight) x
zone multiplier; pick capacity = scheduled picker-seconds per day / seconds per order x
``max_utilization``. p[r,w,c] is the probability that an order arrives by the end of
its promised day: P(transit <= promise + slack), where slack = (end of the order day) -
(departure), taken from a pilot simulation of the scenario at warehouse w (so shifts,
queues and cut-offs are in it) and transit is drawn from the lane's distribution.

>>> from sim.scenario.loader import load_scenario
>>> plan = solve(load_scenario("scenarios/multi_warehouse.yaml", ["horizon_days=120"]), on_time_target=0.9)
>>> plan.status, round(float(plan.lanes.groupby("region").share.sum().min()), 6)
('optimal', 1.0)
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
from sim.model.delivery import Carriers
from sim.model.demand import demand_plan
from sim.model.economics import mean_order_weight_kg, picking_capacity_per_day
from sim.model.shop import simulate
from sim.scenario.schema import Scenario, warmup_days_of

TIE_BREAK = 1e-3


@dataclass
class Network:
    """The transportation model's data: regions x warehouses x carriers, per day (see :func:`network_from`)."""

    regions: list[str]
    warehouses: list[str]
    carriers: list[str]
    demand: np.ndarray  # (R,) orders/day
    ship_cost: np.ndarray  # (R, W, C) per order
    handling: np.ndarray  # (W,)
    fixed: np.ndarray  # (W,) per day
    pick_capacity: np.ndarray  # (W,) orders/day (inf = no picking limit)
    carrier_capacity: np.ndarray  # (C,) orders/day per warehouse (inf = none)
    on_time: np.ndarray  # (R, W, C) probability of on-time delivery
    mean_weight: float


def _pilot_slack(scenario: Scenario, seed: int) -> list[np.ndarray]:
    """Per warehouse: (end of order day) - departure, for every shipment of a pilot run."""
    res = simulate(scenario, seed)
    shp = res.shipments
    order = shp["order"].astype(int)
    arrival = res.order_arrival
    ok = np.isfinite(shp["ship"]) & (shp["release"] >= warmup_days_of(scenario))
    slack = np.floor(arrival[order]) + 1.0 - shp["ship"]
    out = []
    for w in range(len(scenario.warehouses)):
        s = slack[ok & (shp["wh"] == w)]
        out.append(s if len(s) else np.array([0.5]))
    return out


def _pick_capacities(scenario: Scenario, event_days: np.ndarray, max_utilization: float) -> np.ndarray:
    """(W,) orders/day each warehouse can pick, averaged over the horizon (inf = no picking model).

    The horizon mean of ``sim.model.economics.picking_capacity_per_day``: scheduled
    picker-seconds per day / seconds of a one-order job x ``max_utilization``.
    """
    pick = np.full(len(scenario.warehouses), np.inf)
    for w, wh in enumerate(scenario.warehouses):
        if wh.picking is not None:
            pick[w] = float(np.mean(picking_capacity_per_day(scenario, wh, event_days, max_utilization)))
    return pick


def _on_time_probabilities(
    car: Carriers, slack: list[np.ndarray], rng: np.random.Generator, samples: int
) -> np.ndarray:
    """(R, W, C) P(transit <= promise + slack) of each lane: ``samples`` transit draws per lane
    (regions, then warehouses, then carriers, from one generator) against the pilot slack."""
    C, W, R = car.mult.shape
    on_time = np.zeros((R, W, C))
    for r in range(R):
        for w in range(W):
            for c in range(C):
                transit = np.sort(np.maximum(car.transit[c][w][r].sample(rng, samples), 0.0))
                allowed = car.promise(c, r) + slack[w]
                on_time[r, w, c] = float(np.searchsorted(transit, allowed, side="right").mean() / len(transit))
    return on_time


def network_from(
    scenario: Scenario, seed: int = 1, max_utilization: float = 0.9, transit_samples: int = 4000
) -> Network:
    """The transportation model's data from the scenario: demand per region, lane costs at the mean
    order weight, picking and carrier capacities, on-time probabilities from a pilot run (``seed``)."""
    s = scenario
    R, W = len(s.demand.regions), len(s.warehouses)
    cat = catalog_for(s)
    plan = demand_plan(s)
    rate = float(plan.rate[warmup_days_of(s) :].mean())
    demand = rate * np.array([r.share for r in s.demand.regions])
    mean_weight = mean_order_weight_kg(s, cat)
    rng = np.random.default_rng(12345)
    car = Carriers(s)
    C = car.n
    if C == 0:
        raise ValueError("the logistics optimizer needs at least one carrier (carriers: [...])")
    ship = np.zeros((R, W, C))
    for r, w, c in np.ndindex(R, W, C):
        ship[r, w, c] = car.cost(c, w, r, mean_weight)
    cap = np.array([c.daily_capacity if c.daily_capacity is not None else np.inf for c in s.carriers], dtype=float)
    return Network(
        regions=[r.name for r in s.demand.regions],
        warehouses=[w.name for w in s.warehouses],
        carriers=car.names,
        demand=demand,
        ship_cost=ship,
        handling=np.array([w.handling_cost_per_order for w in s.warehouses]),
        fixed=np.array([w.fixed_cost_per_day for w in s.warehouses]),
        pick_capacity=_pick_capacities(s, plan.event, max_utilization),
        carrier_capacity=cap,
        on_time=_on_time_probabilities(car, _pilot_slack(s, seed), rng, transit_samples),
        mean_weight=mean_weight,
    )


@dataclass
class LogisticsPlan:
    """The least-cost lane plan: shares per lane, per-region cost and on-time rate, loads and duals."""

    lanes: pd.DataFrame  # region, warehouse, carrier, share, orders_per_day, cost_per_order, on_time_prob
    regions: pd.DataFrame  # region, orders_per_day, cost_per_order, on_time
    loads: pd.DataFrame  # resource, load, capacity, dual
    open_warehouses: list[str]
    objective_per_day: float
    cost_per_order: float
    on_time: float
    status: str
    seconds: float
    duals: dict[str, float] = field(default_factory=dict)
    on_time_target: float = 0.0
    solve_seconds: float = 0.0  # of ``seconds``, the time inside the solver (the rest builds the model)

    def to_overlay(self) -> dict:
        """A YAML overlay of scenario keys: ``routing.warehouse: lane_plan`` with the plan's lanes."""
        lanes = self.lanes
        rows = [
            {"region": region, "warehouse": wh, "carrier": carrier, "share": round(float(share), 9)}
            for region, wh, carrier, share in zip(lanes.region, lanes.warehouse, lanes.carrier, lanes.share)
            if share > 1e-9
        ]
        # shares must sum to exactly 1 per region after rounding
        by_region: dict[str, list[dict]] = {}
        for row in rows:
            by_region.setdefault(row["region"], []).append(row)
        for region_rows in by_region.values():
            total = sum(x["share"] for x in region_rows)
            region_rows[-1]["share"] = round(region_rows[-1]["share"] + 1.0 - total, 9)
        return {
            "plan_info": {
                "kind": "logistics",
                "status": self.status,
                "on_time_target": self.on_time_target,
                "predicted_cost_per_order": round(self.cost_per_order, 4),
                "predicted_on_time": round(self.on_time, 6),
                "open_warehouses": self.open_warehouses,
                "duals": {k: round(v, 6) for k, v in self.duals.items()},
            },
            "routing": {"warehouse": "lane_plan", "lane_plan": rows},
        }


Lanes = dict[tuple[int, int, int], pulp.LpVariable]
"""(region, warehouse, carrier) -> share of the region's orders on that lane."""


def solve(
    scenario: Scenario,
    on_time_target: float = 0.95,
    allow_close: bool = False,
    scope: str = "region",
    seed: int = 1,
    max_utilization: float = 0.9,
    network: Network | None = None,
    time_limit: float = 120.0,
) -> LogisticsPlan:
    """Least-cost lane plan meeting the on-time target; raises Infeasible naming the regions at fault.

    Build (:func:`_build_model`) -> solve -> read back (:func:`_read_plan`).
    """
    if scope not in ("region", "overall"):
        raise ValueError(f"scope must be 'region' or 'overall', got {scope!r}")
    net = network or network_from(scenario, seed, max_utilization)
    t0 = time.perf_counter()
    prob, x, open_w = _build_model(net, on_time_target, allow_close, scope)
    sol = run_solver(prob, time_limit)
    if sol.status == "infeasible":
        raise Infeasible(_explain(net, on_time_target, scope))
    return _read_plan(net, x, open_w, sol, on_time_target, t0)


def _build_model(
    net: Network, on_time_target: float, allow_close: bool, scope: str
) -> tuple[pulp.LpProblem, Lanes, dict[int, pulp.LpVariable]]:
    """The transportation LP (a MILP with ``allow_close``) of the module docstring: (problem, lanes, open)."""
    R, W, C = net.ship_cost.shape
    prob = pulp.LpProblem("lane_plan", pulp.LpMinimize)
    x = {(r, w, c): pulp.LpVariable(f"x_{r}_{w}_{c}", 0, 1) for r in range(R) for w in range(W) for c in range(C)}
    # among lanes of equal cost prefer the more punctual one (a tie-break worth 0.001 per late order)
    cost_terms = [
        (
            x[r, w, c],
            float(
                net.demand[r] * (net.ship_cost[r, w, c] + net.handling[w] + TIE_BREAK * (1.0 - net.on_time[r, w, c]))
            ),
        )
        for r in range(R)
        for w in range(W)
        for c in range(C)
    ]
    open_w: dict[int, pulp.LpVariable] = {}
    if allow_close:
        open_w = _add_single_sourcing(prob, net, x)
        cost_terms += [(open_w[w], float(net.fixed[w])) for w in range(W)]
    prob += pulp.LpAffineExpression(cost_terms) + (float(net.fixed.sum()) if not allow_close else 0.0)
    for r in range(R):
        prob += pulp.lpSum(x[r, w, c] for w in range(W) for c in range(C)) == 1, f"demand:{net.regions[r]}"
    _add_capacity_rows(prob, net, x)
    _add_on_time_rows(prob, net, x, on_time_target, scope)
    return prob, x, open_w


def _add_single_sourcing(prob: pulp.LpProblem, net: Network, x: Lanes) -> dict[int, pulp.LpVariable]:
    """Binaries open[w] and assign[r, w]: each region served by one open warehouse. Returns open."""
    R, W, C = net.ship_cost.shape
    open_w = {w: pulp.LpVariable(f"open_{w}", cat=pulp.LpBinary) for w in range(W)}
    assign = {(r, w): pulp.LpVariable(f"assign_{r}_{w}", cat=pulp.LpBinary) for r in range(R) for w in range(W)}
    for r in range(R):
        prob += pulp.lpSum(assign[r, w] for w in range(W)) == 1, f"single_source:{net.regions[r]}"
        for w in range(W):
            prob += pulp.lpSum(x[r, w, c] for c in range(C)) <= assign[r, w], f"assign:{r}_{w}"
            prob += assign[r, w] <= open_w[w], f"open:{r}_{w}"
    return open_w


def _add_capacity_rows(prob: pulp.LpProblem, net: Network, x: Lanes) -> None:
    """pick_capacity:w and carrier_capacity:c@w rows (only where the capacity is finite)."""
    R, W, C = net.ship_cost.shape
    for w in range(W):
        if np.isfinite(net.pick_capacity[w]):
            load = pulp.LpAffineExpression([(x[r, w, c], float(net.demand[r])) for r in range(R) for c in range(C)])
            prob += load <= float(net.pick_capacity[w]), f"pick_capacity:{net.warehouses[w]}"
        for c in range(C):
            if np.isfinite(net.carrier_capacity[c]):
                load = pulp.LpAffineExpression([(x[r, w, c], float(net.demand[r])) for r in range(R)])
                prob += (
                    load <= float(net.carrier_capacity[c]),
                    f"carrier_capacity:{net.carriers[c]}@{net.warehouses[w]}",
                )


def _add_on_time_rows(prob: pulp.LpProblem, net: Network, x: Lanes, target: float, scope: str) -> None:
    """on_time:REGION rows (``scope='region'``) or one demand-weighted on_time:overall row."""
    R, W, C = net.ship_cost.shape
    if scope == "region":
        for r in range(R):
            share = pulp.LpAffineExpression(
                [(x[r, w, c], float(net.on_time[r, w, c])) for w in range(W) for c in range(C)]
            )
            prob += share >= target, f"on_time:{net.regions[r]}"
        return
    total = float(net.demand.sum())
    share = pulp.LpAffineExpression(
        [
            (x[r, w, c], float(net.demand[r] * net.on_time[r, w, c] / total))
            for r in range(R)
            for w in range(W)
            for c in range(C)
        ]
    )
    prob += share >= target, "on_time:overall"


# ------------------------------------------------------------------ reading the plan back
def _duals(net: Network, sol: Solution) -> dict[str, float]:
    """Capacity duals (saving per day of one more order/day) and on-time duals (per point), by our names."""
    # PuLP files constraints under names with "-+[] " replaced by "_"; report ours
    ours = (
        [f"pick_capacity:{w}" for w in net.warehouses]
        + [f"on_time:{r}" for r in net.regions]
        + [f"carrier_capacity:{c}@{w}" for w in net.warehouses for c in net.carriers]
    )
    label = {_pulp_name(n): n for n in ours}
    duals = {}
    for pulp_name, value in sol.duals.items():
        name = label.get(pulp_name, pulp_name)
        if name.startswith(("pick_capacity", "carrier_capacity")):
            duals[name] = -value  # saving per day of one more order/day of capacity
        elif name.startswith("on_time"):
            duals[name + " (per point)"] = value * 0.01
    return duals


def _lane_table(net: Network, xs: np.ndarray) -> pd.DataFrame:
    """One row per lane: share, orders per day, cost per order, on-time probability."""
    R, W, C = xs.shape
    return pd.DataFrame(
        [
            {
                "region": net.regions[r],
                "warehouse": net.warehouses[w],
                "carrier": net.carriers[c],
                "share": xs[r, w, c],
                "orders_per_day": xs[r, w, c] * net.demand[r],
                "cost_per_order": net.ship_cost[r, w, c] + net.handling[w],
                "on_time_prob": net.on_time[r, w, c],
            }
            for r in range(R)
            for w in range(W)
            for c in range(C)
        ]
    )


def _load_table(net: Network, xs: np.ndarray, duals: dict[str, float]) -> pd.DataFrame:
    """One row per picking and carrier capacity: load, capacity and dual (NaN when not binding or a MILP)."""
    _, W, C = xs.shape
    loads = [
        {
            "resource": f"pick_capacity:{net.warehouses[w]}",
            "load": float((xs[:, w, :].sum(axis=1) * net.demand).sum()),
            "capacity": float(net.pick_capacity[w]),
        }
        for w in range(W)
    ]
    loads += [
        {
            "resource": f"carrier_capacity:{net.carriers[c]}@{net.warehouses[w]}",
            "load": float((xs[:, w, c] * net.demand).sum()),
            "capacity": float(net.carrier_capacity[c]),
        }
        for w in range(W)
        for c in range(C)
    ]
    table = pd.DataFrame(loads)
    table["dual"] = [duals.get(n, np.nan) for n in table.resource]
    return table


def _read_plan(
    net: Network, x: Lanes, open_w: dict[int, pulp.LpVariable], sol: Solution, on_time_target: float, t0: float
) -> LogisticsPlan:
    """The solved model as a :class:`LogisticsPlan` (duals only for the LP: ``open_w`` empty)."""
    R, W, C = net.ship_cost.shape
    duals = _duals(net, sol) if not open_w else {}
    xs = np.array([[[x[r, w, c].value() or 0.0 for c in range(C)] for w in range(W)] for r in range(R)])
    xs[xs < 1e-12] = 0.0
    regions = pd.DataFrame(
        {
            "region": net.regions,
            "orders_per_day": net.demand,
            "cost_per_order": [(xs[r] * (net.ship_cost[r] + net.handling[:, None])).sum() for r in range(R)],
            "on_time": [(xs[r] * net.on_time[r]).sum() for r in range(R)],
        }
    )
    served = xs.sum(axis=(0, 2)) > 1e-9
    open_names = [net.warehouses[w] for w in range(W) if (open_w[w].value() > 0.5 if open_w else True) or served[w]]
    daily = float((regions.cost_per_order * net.demand).sum())
    fixed = float(sum(net.fixed[w] for w in range(W) if net.warehouses[w] in open_names))
    total = float(net.demand.sum())
    return LogisticsPlan(
        lanes=_lane_table(net, xs),
        regions=regions,
        loads=_load_table(net, xs, duals),
        open_warehouses=open_names,
        objective_per_day=daily + fixed,
        cost_per_order=daily / total,
        on_time=float((regions.on_time * net.demand).sum() / total),
        status=sol.status,
        seconds=time.perf_counter() - t0,
        duals=duals,
        on_time_target=on_time_target,
        solve_seconds=sol.seconds,
    )


def _pulp_name(name: str) -> str:
    """The name PuLP gives a constraint called ``name``."""
    return pulp.LpConstraint(pulp.LpAffineExpression(), name=name).name


def _explain(net: Network, target: float, scope: str) -> str:
    best = net.on_time.max(axis=(1, 2))
    if scope == "region":
        short = [f"{net.regions[r]} (best lane {best[r]:.3f})" for r in range(len(best)) if best[r] < target]
        if short:
            return f"on-time target {target:.3f} cannot be reached in region(s): " + ", ".join(short)
    elif float(np.dot(best, net.demand) / net.demand.sum()) < target:
        return f"on-time target {target:.3f} is above the best reachable overall {np.dot(best, net.demand) / net.demand.sum():.3f}"
    return (
        f"on-time target {target:.3f} needs more picking or carrier capacity on the fast lanes than there is "
        f"(capacities: " + ", ".join(f"{w} {c:,.0f}/day" for w, c in zip(net.warehouses, net.pick_capacity)) + ")"
    )
