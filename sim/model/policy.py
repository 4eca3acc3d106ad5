"""Replenishment parameters (s, Q, S) for every (warehouse, SKU), as flat numpy arrays.

Numbers written in the scenario win; omitted ones are set from the expected
demand with the textbook normal approximation (Silver, Pyke & Thomas, ch. 6):

* demand per day of SKU i at warehouse w: mu = orders/day x E[lines] x E[units] x p_i x share_w,
  variance sigma^2 = mu x E[U^2]/E[U] (compound Poisson lines, U = units per line);
* protection interval T = L (continuous review) or R + L (periodic review);
  lead-time demand mean mu*T, variance sigma^2*T + mu^2*Var(L);
* s (or S for order-up-to policies) = mean + z * sd with z = Phi^-1(service_level), rounded up;
* Q = EOQ = sqrt(2 K D / h) with D the yearly demand and h the holding cost per unit-year;
  S = s + Q for (s, S) policies when S is omitted.

Per-SKU rows in ``inventory.per_sku`` (written by the optimizers) override both.

The ``plan`` given to :func:`resolve_policy` is the demand to plan for; the simulator passes
``sim.model.demand.planning_plan`` (today's demand unless ``inventory.plan_demand: as_scaled``), so
``mean_daily_demand`` here is the planned demand, not necessarily the simulated one.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from sim.model.catalog import CatalogArrays
from sim.model.demand import DemandPlan
from sim.model.economics import holding_cost_per_unit_year, pair_order_costs
from sim.scenario.schema import Scenario


@dataclass(frozen=True)
class PolicyArrays:
    """The replenishment rule and its (s, Q, S) levels per pair k = w * n_sku + i, as used by the inventory."""

    kind: str  # sQ | sS | RS | RsS | base_stock
    periodic: bool
    review_period_days: int
    reorder_point: np.ndarray  # s, flat index k = w * n_sku + i
    order_quantity: np.ndarray  # Q (sQ)
    order_up_to: np.ndarray  # S (sS, RS, RsS, base_stock)
    initial_on_hand: np.ndarray
    mean_daily_demand: np.ndarray


def warehouse_shares(scenario: Scenario) -> np.ndarray:
    """(warehouses,) share of all orders each warehouse serves by default (own regions)."""
    share = np.zeros(len(scenario.warehouses))
    for r in scenario.demand.regions:
        share[region_warehouse(scenario)[r.name]] += r.share
    return share


def region_warehouse(scenario: Scenario) -> dict[str, int]:
    """The default warehouse of each region: the first that lists it, else the first warehouse."""
    out = {}
    for r in scenario.demand.regions:
        out[r.name] = next((i for i, w in enumerate(scenario.warehouses) if r.name in w.regions), 0)
    return out


def planned_daily_demand(scenario: Scenario, catalog: CatalogArrays, plan: DemandPlan) -> tuple[np.ndarray, np.ndarray]:
    """(mean, variance) of the units demanded per day of every pair k = w * n_sku + i under ``plan``.

    mu = orders/day x E[lines] x E[units] x p_i x share_w; sigma^2 = mu x E[U^2] / E[U] (compound Poisson).
    """
    d = scenario.demand
    u = d.units_per_line
    mu = (
        float(plan.rate.mean())
        * d.lines_per_order.mean
        * u.mean
        * warehouse_shares(scenario)[:, None]
        * catalog.popularity[None, :]
    ).ravel()
    return mu, mu * (u.variance + u.mean**2) / max(u.mean, 1e-12)


def protection_interval_days(scenario: Scenario, catalog: CatalogArrays) -> tuple[np.ndarray, np.ndarray]:
    """(T, Var(L)) of every pair: the protection interval T = E[L] (+ R when periodic) and the lead-time variance."""
    p, W = scenario.inventory.policy, len(scenario.warehouses)
    sup = [scenario.suppliers[j] for j in catalog.supplier]
    lt_mean = np.tile([s.lead_time_days.mean for s in sup], W)
    lt_var = np.tile([s.lead_time_days.variance for s in sup], W)
    return lt_mean + (p.review_period_days if p.periodic else 0), lt_var


def _protection_levels(
    scenario: Scenario, catalog: CatalogArrays, mu: np.ndarray, var_per_day: np.ndarray
) -> np.ndarray:
    """ceil(mean + z sd) of the demand over the protection interval T = L (+ R when periodic) of every pair."""
    T, lt_var = protection_interval_days(scenario, catalog)
    ltd_mean = mu * T
    ltd_sd = np.sqrt(var_per_day * T + mu**2 * lt_var)
    z = NormalDist().inv_cdf(scenario.inventory.policy.service_level)
    return np.ceil(ltd_mean + z * ltd_sd)


def _eoq(scenario: Scenario, catalog: CatalogArrays, mu: np.ndarray) -> np.ndarray:
    """EOQ = sqrt(2 K D / h) of every pair, rounded, at least 1 (D yearly demand, h holding cost per unit-year)."""
    h_year = holding_cost_per_unit_year(scenario, catalog)
    order_cost = pair_order_costs(scenario, catalog)
    return np.maximum(np.rint(np.sqrt(2 * order_cost * mu * 365 / h_year)), 1)


def _levels(p, protect: np.ndarray, eoq: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(s, Q, S) of every pair from the policy's written numbers, else the protection level and EOQ."""
    Q = eoq if p.order_quantity in (None, "eoq") else np.full(size, float(p.order_quantity))
    if p.type in ("sQ", "sS", "RsS"):
        s = protect if p.reorder_point is None else np.full(size, float(p.reorder_point))
    else:  # order-up-to policies order whenever the position is below S
        s = None
    if p.type in ("sS", "RsS"):
        S = s + eoq if p.order_up_to is None else np.full(size, float(p.order_up_to))
    elif p.type in ("RS", "base_stock"):
        S = protect if p.order_up_to is None else np.full(size, float(p.order_up_to))
    else:
        S = s + Q
    if s is None:
        s = S - 1
    return s.astype(float), Q.astype(float), S.astype(float)


def _apply_per_sku(scenario: Scenario, catalog: CatalogArrays, s: np.ndarray, Q: np.ndarray, S: np.ndarray) -> None:
    """Overwrite (in place) the pairs named by ``inventory.per_sku`` rows with the rows' numbers."""
    p = scenario.inventory.policy
    W, n = len(scenario.warehouses), catalog.n
    wh_index = {w.name: i for i, w in enumerate(scenario.warehouses)}
    sku_index = catalog.index()
    for row in scenario.inventory.per_sku:
        i = sku_index[row.sku]
        ws = [wh_index[row.warehouse]] if row.warehouse else range(W)
        for w in ws:
            k = w * n + i
            if row.reorder_point is not None:
                s[k] = row.reorder_point
            if row.order_quantity is not None:
                Q[k] = row.order_quantity
            if row.order_up_to is not None:
                S[k] = row.order_up_to
                if p.type in ("RS", "base_stock") and row.reorder_point is None:
                    s[k] = S[k] - 1
            if p.type == "sQ":
                S[k] = s[k] + Q[k]


def trigger_offset(scenario: Scenario) -> int:
    """1 when (s, Q), (s, S) and (R, s, S) order on IP < s (``reorder_trigger: below``), else 0.

    With whole-unit demand and whole-number levels, ordering when IP < s + 1 is ordering when
    IP <= s: a model written for the at_or_below trigger with reorder point r is run under
    ``below`` with reorder point r + trigger_offset (the reorder optimizer writes its plans so).
    Levels derived from ``service_level`` are not shifted.
    """
    p = scenario.inventory.policy
    return int(p.reorder_trigger == "below" and p.type in ("sQ", "sS", "RsS"))


def _initial_stock(start, s: np.ndarray, S: np.ndarray) -> np.ndarray:
    """Units on hand at time 0 of every pair: S, s or a number (``inventory.initial_on_hand``), floored at 0."""
    if start == "order_up_to":
        initial = S.copy()
    elif start == "reorder_point":
        initial = s.copy()
    else:
        initial = np.full(len(S), float(start))
    return np.floor(np.maximum(initial, 0))


def derived_levels(
    scenario: Scenario, catalog: CatalogArrays, mu: np.ndarray, var_per_day: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(s, Q, S) of every pair planned for daily demand mean ``mu`` and variance ``var_per_day``.

    The scenario's written numbers (policy and ``per_sku`` rows) win; the omitted ones come from the
    normal approximation of the module docstring. The opening plan and every forecast refit
    (``sim.model.forecast``) call this one function.
    """
    p = scenario.inventory.policy
    protect = _protection_levels(scenario, catalog, mu, var_per_day)
    s, Q, S = _levels(p, protect, _eoq(scenario, catalog, mu), len(scenario.warehouses) * catalog.n)
    _apply_per_sku(scenario, catalog, s, Q, S)
    return s, Q, S


def resolve_policy(scenario: Scenario, catalog: CatalogArrays, plan: DemandPlan) -> PolicyArrays:
    """The (s, Q, S) arrays of every (warehouse, SKU) pair, planned for ``plan`` (see the module docstring)."""
    p = scenario.inventory.policy
    mu, var_per_day = planned_daily_demand(scenario, catalog, plan)
    s, Q, S = derived_levels(scenario, catalog, mu, var_per_day)
    return PolicyArrays(
        kind=p.type,
        periodic=p.periodic,
        review_period_days=p.review_period_days,
        reorder_point=s,
        order_quantity=Q,
        order_up_to=S,
        initial_on_hand=_initial_stock(scenario.inventory.initial_on_hand, s, S),
        mean_daily_demand=mu,
    )
