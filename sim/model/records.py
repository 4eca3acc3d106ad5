"""The per-order table: one row per customer order, how it went and how it ended.

Built after the run from what the records hold (``simulate(..., record_orders=True)``
gives the per-order arrays of ``sim.metrics.order_table`` in ``result.orders`` and the
shipment arrays in ``result.shipments``); nothing here runs in the event loop.

Columns: ``order_id``, ``day`` (0 = start_date), ``placed_at`` (date and time), ``warmup``
(placed in the warm-up, left out of the KPIs), ``region``, ``warehouses`` (the
warehouse(s) its parcels leave from, ``+``-joined when split), ``carrier``, ``shipments``,
``lines``, ``units``, ``value`` (after discounts), ``promised_date`` (delivered by the end
of this day is on time), ``delivered_at``, ``due`` (its promised day ended within the
horizon and it was not lost: it counts in ``on_time_rate``), ``on_time``,
``click_to_door_hours``, ``shipping_cost``, ``status``: delivered / in_transit /
in_warehouse / backordered / lost at the end of the horizon, and ``source``: ``organic`` or
the marketing channel that brought the order (``sim.model.demand``; the incremental orders
of the ``marketing_orders`` KPI).

The KPIs follow from it: over the orders placed after the warm-up, the statuses sum to
``orders``, ``on_time.sum() / due.sum()`` is ``on_time_rate`` and ``(due & ~on_time).sum()``
is ``late_orders``. (The ``shipping_cost`` KPI counts parcels by the day they leave, after
the warm-up; here each order carries the charges of its own parcels.)

>>> from sim.scenario.loader import load_scenario
>>> from sim.model.shop import simulate
>>> r = simulate(load_scenario("scenarios/classroom_sq.yaml", ["horizon_days=60"]), seed=3, record_orders=True)
>>> t = order_details(r, load_scenario("scenarios/classroom_sq.yaml", ["horizon_days=60"]))
>>> len(t) == r.order_status["orders"], bool(t["status"].isin(["delivered", "lost", "backordered"]).all())
(True, True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.scenario.schema import Scenario, warmup_days_of

if TYPE_CHECKING:
    from sim.model.shop import SimulationResult

COLUMNS = (
    "order_id",
    "day",
    "placed_at",
    "warmup",
    "region",
    "warehouses",
    "carrier",
    "shipments",
    "lines",
    "units",
    "value",
    "promised_date",
    "delivered_at",
    "due",
    "on_time",
    "click_to_door_hours",
    "shipping_cost",
    "status",
    "source",
)


def _names_per_order(order: np.ndarray, codes: np.ndarray, names: list[str], n: int) -> np.ndarray:
    """Per order, the distinct names of its shipments' codes (in shipment order, '+'-joined; -1 skipped)."""
    out = np.full(n, "", dtype=object)
    ok = codes >= 0
    order, codes = order[ok], codes[ok]
    if not len(order):
        return out
    label = np.array(names, dtype=object)
    counts = np.bincount(order, minlength=n)
    single = counts[order] == 1
    out[order[single]] = label[codes[single]]  # the common case: one parcel per order
    if (~single).any():
        many = pd.DataFrame({"order": order[~single], "name": label[codes[~single]]})
        joined = many.groupby("order", sort=False)["name"].agg(lambda x: "+".join(dict.fromkeys(x)))
        out[joined.index.to_numpy()] = joined.to_numpy()
    return out


def order_details(result: SimulationResult, scenario: Scenario) -> pd.DataFrame:
    """The per-order table of one replication (see the module docstring for the columns).

    ``result`` must come from ``simulate(scenario, seed, record_orders=True)``.
    """
    if result.orders is None:
        raise ValueError("order_details needs simulate(..., record_orders=True)")
    o, shp = result.orders, result.shipments
    H, start = scenario.horizon_days, pd.Timestamp(scenario.start_date)
    n = len(o)
    arrival = o["arrival"].to_numpy(float)
    order = shp["order"].astype(np.int64)
    lines = np.bincount(order, weights=shp["lines"], minlength=n)
    units = np.bincount(order, weights=shp["units"], minlength=n)
    cost = np.bincount(order, weights=shp["cost"], minlength=n)
    deliver, deadline = o["deliver"].to_numpy(float), o["deadline"].to_numpy(float)
    status = o["stage"].to_numpy()
    delivered = deliver <= H  # NaN (none yet) compares False
    due = (status != "lost") & (deadline <= H)
    day = np.floor(arrival).astype(np.int64)
    regions = [r.name for r in scenario.demand.regions]
    sources = np.array([*(c.name for c in scenario.demand.channels), "organic"], dtype=object)  # -1: the last
    return pd.DataFrame(
        {
            "order_id": np.arange(n, dtype=np.int64),
            "day": day,
            "placed_at": start + pd.to_timedelta(arrival, unit="D").round("s"),
            "warmup": arrival < warmup_days_of(scenario),
            "region": np.array(regions, dtype=object)[o["region"].to_numpy(np.int64)],
            "warehouses": _names_per_order(order, shp["wh"].astype(np.int64), [w.name for w in scenario.warehouses], n),
            "carrier": _names_per_order(order, shp["carrier"].astype(np.int64), [c.name for c in scenario.carriers], n),
            "shipments": o["shipments"].to_numpy(np.int64),
            "lines": lines.astype(np.int64),
            "units": units,
            "value": o["value"].to_numpy(float),
            "promised_date": (start + pd.to_timedelta(deadline - 1, unit="D")).normalize(),
            "delivered_at": start + pd.to_timedelta(np.where(delivered, deliver, np.nan), unit="D").round("s"),
            "due": due,
            "on_time": delivered & (deliver <= deadline),
            "click_to_door_hours": np.where(delivered, (deliver - arrival) * 24.0, np.nan),
            "shipping_cost": cost,
            "status": status,
            "source": sources[o["source"].to_numpy(np.int64)],
        },
        columns=list(COLUMNS),
    )
