"""The order-line table: one row per order line of a replication, what was bought and how it went.

Built after the run, never in the event loop: the day's orders come from
``sim.model.demand.DemandGenerator``, whose streams depend only on the master seed and the
day, so replaying it day by day with the result's seed gives the very orders the run served
(orders are numbered in day order, ``first_order + i`` as in ``sim.model.shop``). Each line
is then joined on ``order_id`` to the per-order table (``sim.model.records.order_details``)
for where and how the order went.

Columns: ``order_id``, ``line_no`` (1, 2, ... within the order: an order may buy one SKU on two lines),
``placed_at`` (date and time), ``sku`` (the catalogue id),
``quantity`` (units, int), ``unit_price`` (catalogue price x the day's price factor: after the
promotion discount), ``region``, ``warehouse`` (the order's warehouse(s), ``+``-joined when
split, as in ``order_details``), ``carrier``, ``promised_date``, ``delivered_at`` and ``status``
(of the order).

Identities (tests check them): per order, the number of lines and the sum of ``quantity``
equal ``lines`` and ``units`` of the per-order table (which sums its shipments: a split
order's parcels share its lines); ``sum(quantity x unit_price)`` per order is its ``value``.

>>> from sim.scenario.loader import load_scenario
>>> from sim.model.shop import simulate
>>> s = load_scenario("scenarios/multi_warehouse.yaml", ["horizon_days=10", "warmup_days=0"])
>>> r = simulate(s, seed=3, record_orders=True)
>>> t, o = order_lines(r, s), order_details(r, s)
>>> len(t) == int(o["lines"].sum()), bool((t.groupby("order_id")["quantity"].sum() == o["units"]).all())
(True, True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.model.catalog import catalog_for
from sim.model.demand import DemandGenerator, demand_plan
from sim.model.records import order_details
from sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from sim.model.shop import SimulationResult

__all__ = ["COLUMNS", "order_lines", "replay_lines"]

COLUMNS = (
    "order_id",
    "line_no",
    "placed_at",
    "sku",
    "quantity",
    "unit_price",
    "region",
    "warehouse",
    "carrier",
    "promised_date",
    "delivered_at",
    "status",
)

#: The per-order columns copied onto each of the order's lines (line column <- order column).
FROM_ORDER = {
    "placed_at": "placed_at",
    "region": "region",
    "warehouse": "warehouses",
    "carrier": "carrier",
    "promised_date": "promised_date",
    "delivered_at": "delivered_at",
    "status": "status",
}


def replay_lines(scenario: Scenario, seed: int) -> dict[str, np.ndarray]:
    """Every order line of a run of ``scenario`` with master ``seed``, replayed from the demand streams.

    Returns arrays ``order`` (order id), ``day``, ``sku`` (SKU index) and ``quantity``, one
    element per line, in order-id order; one numpy batch per day, concatenated.
    """
    plan = demand_plan(scenario)
    generator = DemandGenerator(scenario, catalog_for(scenario), plan, seed)
    orders, days, skus, qtys = [], [], [], []
    first = 0
    for d in range(scenario.horizon_days):
        batch = generator.draw_day(d)
        per_order = np.diff(batch.line_start)
        orders.append(first + np.repeat(np.arange(batch.n, dtype=np.int64), per_order))
        days.append(np.full(len(batch.line_sku), d, dtype=np.int64))
        skus.append(batch.line_sku.astype(np.int64))
        qtys.append(batch.line_qty.astype(np.int64))
        first += batch.n
    empty = np.zeros(0, dtype=np.int64)
    return {
        "order": np.concatenate(orders) if orders else empty,
        "day": np.concatenate(days) if days else empty,
        "sku": np.concatenate(skus) if skus else empty,
        "quantity": np.concatenate(qtys) if qtys else empty,
    }


def order_lines(result: SimulationResult, scenario: Scenario) -> pd.DataFrame:
    """The order-line table of one replication (see the module docstring for the columns).

    ``result`` must come from ``simulate(scenario, seed, record_orders=True)``.
    """
    if result.orders is None:
        raise ValueError("order_lines needs simulate(..., record_orders=True)")
    details = order_details(result, scenario)
    lines = replay_lines(scenario, result.seed)
    n_replayed = int(lines["order"][-1]) + 1 if len(lines["order"]) else 0
    if n_replayed != len(details):  # every order has at least one line
        raise ValueError(
            f"order_lines: the replayed demand has {n_replayed} orders, the result {len(details)}; "
            "was it simulated from this scenario?"
        )
    catalog = catalog_for(scenario)
    order, sku = lines["order"], lines["sku"]
    price_factor = demand_plan(scenario).price_factor
    table = {
        "order_id": order,
        "line_no": np.arange(len(order)) - np.searchsorted(order, order) + 1,  # 1, 2, ... within each order
        "sku": np.array(catalog.ids, dtype=object)[sku],
        "quantity": lines["quantity"],
        "unit_price": catalog.price[sku] * price_factor[lines["day"]],
    }
    for col, src in FROM_ORDER.items():
        table[col] = details[src].to_numpy()[order]
    return pd.DataFrame(table, columns=list(COLUMNS))
