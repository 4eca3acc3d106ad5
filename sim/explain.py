"""Plain-words descriptions of a scenario (for ``validate`` and ``explain``)."""
from __future__ import annotations

from collections import Counter

from sim.catalog import catalog_for
from sim.demand import demand_plan
from sim.schema import Scenario


def summary_line(s: Scenario) -> str:
    """One line: what the scenario sets up.

    >>> from sim.scenario import load_scenario
    >>> summary_line(load_scenario("scenarios/classroom_sq.yaml"))[:30]
    "scenario 'classroom_sq': 1 SKU"
    """
    cat = catalog_for(s)
    abc = Counter(cat.abc.tolist())
    plan = demand_plan(s)
    p = s.inventory.policy
    review = f"periodic every {p.review_period_days} d" if p.periodic else "continuous"
    return (f"scenario '{s.name}': {cat.n} SKU{'s' if cat.n != 1 else ''} "
            f"(A {abc['A']} / B {abc['B']} / C {abc['C']}), {len(s.warehouses)} warehouse(s), "
            f"{len(s.suppliers)} supplier(s), {s.horizon_days} days ({s.warmup_days} warm-up), "
            f"{plan.rate.mean():.1f} orders/day expected (peak {plan.rate.max():.1f}), "
            f"policy {p.type} {review}, unmet demand {s.inventory.unmet_demand}")
