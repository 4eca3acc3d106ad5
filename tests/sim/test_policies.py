"""Each replenishment policy does what its textbook definition says, on tiny hand-checkable shops.

The scenarios use deterministic arrivals (n evenly spaced orders a day) and
constant lead times, so every number can be worked out by hand. A ``Trace``
records every replenishment order together with the inventory position
(IP = on hand + on order - backorders) it was based on, every periodic review,
every receipt and every customer demand; the assertions are the definitions:

* (s, Q): order a multiple of Q when IP <= s, enough to lift IP above s;
* (s, S): when IP <= s, order S - IP;
* (R, S): every R days, order S - IP;
* (R, s, S): every R days, if IP <= s, order S - IP;
* base stock: replace every unit demanded (IP stays at S).

Plus lost sales vs backorders, supplier disruptions, and the documented order of
same-time events: receipts, then customer demand, then the periodic review.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import yaml

from sim.model.shop import ShopModel
from sim.scenario.loader import load_scenario


@dataclass
class Order:
    time: float
    k: int
    qty: float
    ip_before: float


@dataclass
class Review:
    time: float
    ip: np.ndarray
    on_hand: np.ndarray
    on_order: np.ndarray


class Trace:
    """Runs one replication and records what the inventory system did, event by event."""

    def __init__(self, scenario, seed: int = 1):
        self.model = ShopModel(scenario, seed)
        inv = self.inv = self.model.inv
        self.orders: list[Order] = []
        self.reviews: list[Review] = []
        self.receipts: list[tuple[float, int, float]] = []
        self.demands: list[tuple[float, int, float, float]] = []  # time, k, qty, IP after (continuous review)
        self.events: list[tuple] = []  # ("demand"|"order", time, qty) in order

        place, review, receive, demand = inv.place_order, inv.review_all, inv.receive, inv.demand_line

        def spy_place(k, q, now):
            self.orders.append(Order(now, int(k), float(q), float(inv.inventory_position[k])))
            self.events.append(("order", now, float(q)))
            place(k, q, now)

        def spy_review(now):
            self.reviews.append(
                Review(now, inv.inventory_position.copy(), np.array(inv.on_hand), np.array(inv.on_order))
            )
            review(now)

        def spy_receive(k, q, now):
            self.receipts.append((now, int(k), float(q)))
            receive(k, q, now)

        def spy_demand(order_id, k, qty, unit_price, now):
            self.events.append(("demand", now, float(qty)))
            out = demand(order_id, k, qty, unit_price, now)
            self.demands.append((now, k, float(qty), float(inv.inventory_position[k])))
            return out

        inv.place_order, inv.review_all, inv.receive, inv.demand_line = spy_place, spy_review, spy_receive, spy_demand
        self.result = self.model.run(record_orders=True)


def tiny(
    tmp_path,
    policy: dict,
    *,
    orders_per_day: float = 4,
    units=1,
    lead=2,
    horizon: int = 60,
    unmet: str = "backorder",
    initial="order_up_to",
    supplier_extra: dict | None = None,
    name="tiny",
):
    """One SKU, one warehouse, one supplier, deterministic arrivals, constant lead time."""
    data = {
        "name": name,
        "horizon_days": horizon,
        "catalog": {"skus": [{"id": "X", "price": 10, "unit_cost": 4}]},
        "demand": {"base_orders_per_day": orders_per_day, "arrivals": "deterministic", "units_per_line": units},
        "suppliers": [{"name": "sup", "lead_time_days": lead, **(supplier_extra or {})}],
        "inventory": {
            "policy": policy,
            "unmet_demand": unmet,
            "initial_on_hand": initial,
            "costs": {"backorder_cost_per_unit_day": 1.0, "lost_sale_cost_per_unit": 3.0},
        },
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_scenario(path)


LUMPY = {"dist": "empirical", "values": [1, 5, 12], "probs": [0.5, 0.3, 0.2]}  # demands larger than Q


def is_whole(x: float) -> bool:
    return abs(x - round(x)) < 1e-9


# ---------------------------------------------------------------- continuous review
def test_sQ_orders_multiples_of_Q_exactly_when_IP_is_at_or_below_s(tmp_path):
    s, Q = 10, 4
    t = Trace(
        tiny(
            tmp_path,
            {"type": "sQ", "reorder_point": s, "order_quantity": Q},
            units=LUMPY,
            orders_per_day=3,
            lead=3,
            horizon=120,
        )
    )
    assert len(t.orders) > 30
    for o in t.orders:
        assert o.ip_before <= s
        assert o.qty > 0 and o.qty % Q == 0
        assert s < o.ip_before + o.qty <= s + Q  # the fewest Qs that lift IP above s
    assert any(o.qty > Q for o in t.orders)  # a big demand needed several Qs at once
    # continuous review: after every demand IP is above s again
    assert all(ip > s for *_, ip in t.demands)
    assert t.result.daily["replenishment_orders"].sum() == len(t.orders)


def test_sS_raises_the_inventory_position_to_S(tmp_path):
    s, S = 10, 30
    t = Trace(
        tiny(
            tmp_path,
            {"type": "sS", "reorder_point": s, "order_up_to": S},
            units=LUMPY,
            orders_per_day=3,
            lead=3,
            horizon=120,
        )
    )
    assert len(t.orders) > 10
    for o in t.orders:
        assert o.ip_before <= s
        assert o.ip_before + o.qty == S
    assert len({o.qty for o in t.orders}) > 1  # order sizes vary with the undershoot: not a fixed Q
    assert all(ip > s for *_, ip in t.demands)


def test_base_stock_replaces_every_unit_demanded(tmp_path):
    S = 12
    t = Trace(
        tiny(tmp_path, {"type": "base_stock", "order_up_to": S}, units=LUMPY, orders_per_day=3, lead=2, horizon=60)
    )
    assert all(ip == S for *_, ip in t.demands)  # the position never moves from S
    # each demand is followed at once by an order for exactly the same units
    pairs = list(zip(t.events[::2], t.events[1::2]))
    assert len(t.events) == 2 * len(t.demands)
    for (kind_d, time_d, q_d), (kind_o, time_o, q_o) in pairs:
        assert (kind_d, kind_o) == ("demand", "order")
        assert time_o == time_d and q_o == q_d
    assert sum(o.qty for o in t.orders) == t.result.kpis["units_demanded"]


# ---------------------------------------------------------------- periodic review
def test_RS_orders_only_on_review_days_and_brings_IP_to_S(tmp_path):
    R, S = 5, 40
    t = Trace(
        tiny(tmp_path, {"type": "RS", "review_period_days": R, "order_up_to": S}, orders_per_day=4, lead=2, horizon=61)
    )
    assert [r.time for r in t.reviews] == list(range(0, 61, R))
    assert all(is_whole(o.time) and round(o.time) % R == 0 for o in t.orders)
    for o in t.orders:
        assert o.ip_before + o.qty == S
    # every review after the first finds IP below S (4 units/day were sold) and orders R days of demand
    assert [o.time for o in t.orders] == list(range(R, 61, R))
    assert all(o.qty == 4 * R for o in t.orders)


def test_RsS_orders_only_at_a_review_that_finds_IP_at_or_below_s(tmp_path):
    R, s, S = 2, 30, 70
    t = Trace(
        tiny(
            tmp_path,
            {"type": "RsS", "review_period_days": R, "reorder_point": s, "order_up_to": S},
            orders_per_day=10,
            lead=1,
            horizon=40,
        )
    )
    order_times = {o.time for o in t.orders}
    assert all(is_whole(o.time) and round(o.time) % R == 0 for o in t.orders)
    skipped = ordered = 0
    for r in t.reviews:
        if r.ip[0] <= s:
            ordered += 1
            assert r.time in order_times
        else:
            skipped += 1
            assert r.time not in order_times
    assert skipped >= 5 and ordered >= 5  # IP 70 -> 50 (skip) -> 30 (order) -> 50 (skip) ...
    for o in t.orders:
        assert o.ip_before <= s and o.ip_before + o.qty == S


def test_periodic_sQ_and_base_stock_order_only_on_review_days(tmp_path):
    t = Trace(
        tiny(
            tmp_path,
            {"type": "sQ", "review": "periodic", "review_period_days": 3, "reorder_point": 8, "order_quantity": 5},
            units=LUMPY,
            orders_per_day=2,
            horizon=60,
        )
    )
    assert t.orders and all(is_whole(o.time) and round(o.time) % 3 == 0 for o in t.orders)
    assert all(o.qty % 5 == 0 and 8 < o.ip_before + o.qty <= 13 for o in t.orders)
    t = Trace(
        tiny(
            tmp_path,
            {"type": "base_stock", "review": "periodic", "review_period_days": 3, "order_up_to": 30},
            orders_per_day=2,
            horizon=60,
            name="bs",
        )
    )
    assert all(is_whole(o.time) and round(o.time) % 3 == 0 for o in t.orders)
    assert all(o.qty == 6 for o in t.orders)  # exactly the 3 x 2 units sold since the last review


# ---------------------------------------------------------------- lost sales vs backorders
SHORT = {"type": "sQ", "reorder_point": 2, "order_quantity": 5}  # lead-time demand 12 >> s + Q: stock-outs


def test_lost_sales_lose_units_and_never_backorder(tmp_path):
    t = Trace(tiny(tmp_path, SHORT, orders_per_day=2, lead=6, horizon=200, unmet="lost_sales"))
    r, k = t.result, t.result.kpis
    assert k["lost_units"] > 0 and k["lost_sales_value"] == pytest.approx(10 * k["lost_units"])
    assert k["backordered_units"] == 0 and k["avg_backorder_units"] == 0
    assert np.all(r.state["backorders"] == 0) and np.all(r.daily["backorder_units_end"] == 0)
    assert r.order_status["backordered"] == 0 and r.order_status["lost"] > 0
    assert k["unit_fill_rate"] < 1
    assert k["shortage_cost"] == pytest.approx(3.0 * k["lost_units"])
    # whatever is sold is allocated at once; lost orders never reach the warehouse
    orders = r.orders
    released = orders["release"].notna()
    np.testing.assert_array_equal(orders.loc[released, "release"], orders.loc[released, "arrival"])
    assert (~released).sum() == r.order_status["lost"] == (orders["stage"] == "lost").sum()
    assert k["mean_order_delay_days"] == 0
    # with lost sales the position is on hand + on order, and (s, Q) still only orders when it is <= s
    assert all(o.ip_before <= 2 for o in t.orders)


def test_backorders_wait_for_stock_and_are_filled_first_come_first_served(tmp_path):
    t = Trace(tiny(tmp_path, SHORT, orders_per_day=2, lead=6, horizon=200, unmet="backorder"))
    r, k = t.result, t.result.kpis
    assert k["lost_units"] == 0 and r.order_status["lost"] == 0
    assert k["backordered_units"] > 0 and k["avg_backorder_units"] > 0
    assert k["mean_order_delay_days"] > 0
    assert k["shortage_cost"] == pytest.approx(1.0 * k["avg_backorder_units"] * 200)
    orders = r.orders  # 'release': when the order's last unit was allocated and it went to the warehouse
    waiting = (orders["stage"] == "backordered").to_numpy()
    assert waiting.sum() == r.order_status["backordered"] == r.state["backorders"].sum() > 0  # 1-unit orders
    assert not np.isfinite(orders.loc[waiting, "release"]).any()
    filled = orders[~waiting]
    late = filled[filled["release"] > filled["arrival"]]
    assert len(late) > 20
    receipt_times = {time for time, _, _ in t.receipts}
    assert set(late["release"]) <= receipt_times  # a waiting order is filled when stock arrives
    assert late["release"].is_monotonic_increasing  # first come, first served


def test_lost_sales_and_backorders_see_the_same_customers(tmp_path):
    lost = Trace(tiny(tmp_path, SHORT, orders_per_day=2, lead=6, horizon=200, unmet="lost_sales", name="a"))
    back = Trace(tiny(tmp_path, SHORT, orders_per_day=2, lead=6, horizon=200, unmet="backorder", name="b"))
    assert lost.result.kpis["units_demanded"] == back.result.kpis["units_demanded"]
    # lost sales keep more customers waiting less: fewer units reach customers, none late
    assert lost.result.kpis["units_shipped"] < back.result.kpis["units_shipped"]


# ---------------------------------------------------------------- supplier disruptions
DISRUPTED_POLICY = {"type": "sQ", "reorder_point": 20, "order_quantity": 20}


def test_a_disruption_delays_receipts_until_it_ends(tmp_path):
    start, days, lead = 30, 20, 2
    normal = Trace(tiny(tmp_path, DISRUPTED_POLICY, orders_per_day=5, lead=lead, horizon=100, name="normal"))
    hit = Trace(
        tiny(
            tmp_path,
            DISRUPTED_POLICY,
            orders_per_day=5,
            lead=lead,
            horizon=100,
            name="hit",
            supplier_extra={"disruptions": [{"start_day": start, "days": days}]},
        )
    )
    n, h = normal.result.daily, hit.result.daily
    window = slice(start + lead, start + days + lead)  # days 32..51: nothing can arrive
    assert n["units_received"].iloc[window].sum() > 0
    assert h["units_received"].iloc[window].sum() == 0
    # orders placed while the supplier is down leave when it is up again (day 50) and arrive on day 52
    placed_inside = [o for o in hit.orders if start <= o.time < start + days]
    assert placed_inside
    arrivals = sorted({time for time, _, _ in hit.receipts if time >= start + lead})
    assert arrivals[0] == start + days + lead
    assert h["units_received"].iloc[start + days + lead] == sum(o.qty for o in placed_inside)
    # the backlog builds up during the disruption and is cleared by the late deliveries
    bo = h["backorder_units_end"]
    assert np.all(n["backorder_units_end"] == 0)
    assert bo.iloc[start + days + lead - 1] > bo.iloc[start + lead + 5] > 0
    assert bo.iloc[start + days + lead] == 0
    assert hit.result.kpis["mean_order_delay_days"] > 0 == normal.result.kpis["mean_order_delay_days"]
    assert hit.result.kpis["unit_fill_rate"] < normal.result.kpis["unit_fill_rate"] == 1.0
    # orders placed before the disruption are not held back
    before = [o for o in hit.orders if o.time < start]
    assert before and all(any(abs(rt - (o.time + lead)) < 1e-9 for rt, _, _ in hit.receipts) for o in before)


def test_random_disruptions_never_ship_while_the_supplier_is_down(tmp_path):
    lead = 2
    t = Trace(
        tiny(
            tmp_path,
            DISRUPTED_POLICY,
            orders_per_day=5,
            lead=lead,
            horizon=400,
            supplier_extra={"random_disruptions": {"mean_days_between": 25, "mean_duration_days": 6}},
        )
    )
    spans = t.inv.suppliers.down[0]
    assert len(spans) >= 5
    shipped_at = np.array([time - lead for time, _, _ in t.receipts])
    inside = (shipped_at[:, None] > spans[None, :, 0] + 1e-9) & (shipped_at[:, None] < spans[None, :, 1] - 1e-9)
    assert not inside.any()
    delayed = [o for o in t.orders if not any(abs(rt - (o.time + lead)) < 1e-9 for rt, _, _ in t.receipts)]
    assert delayed  # some orders had to wait for the supplier


# ---------------------------------------------------------------- same-time events
def test_a_receipt_arriving_with_a_customer_serves_that_customer_from_stock(tmp_path):
    """Receipts come before demand at the same instant.

    One customer a day at d + 0.5 buys one unit; the shop holds one unit and orders one
    more (s = 0, Q = 1) whenever it sells one. With a lead time of exactly one day the
    unit ordered at d + 0.5 arrives at d + 1.5, the very instant of the next customer.
    Processing the receipt first serves every customer from stock.
    """
    t = Trace(
        tiny(
            tmp_path,
            {"type": "sQ", "reorder_point": 0, "order_quantity": 1},
            orders_per_day=1,
            lead=1,
            horizon=50,
            initial=1,
        )
    )
    arrivals = set(t.result.orders["arrival"])
    coincide = [time for time, _, _ in t.receipts if time in arrivals]
    assert len(coincide) == 49  # the premise: receipts and customers share instants
    k = t.result.kpis
    assert k["unit_fill_rate"] == 1.0 and k["order_fill_rate"] == 1.0
    assert k["backordered_units"] == 0 and k["mean_order_delay_days"] == 0
    assert k["cycle_service_level"] == 1.0


def test_a_review_at_the_instant_of_a_receipt_sees_the_received_stock(tmp_path):
    """Receipts come before the periodic review at the same instant, and the day close before both.

    (R, S) with R = 2, S = 20, lead time 2, ten units sold every two days: the order
    placed at a review arrives exactly at the next review, when the shelf is empty.
    """
    t = Trace(
        tiny(tmp_path, {"type": "RS", "review_period_days": 2, "order_up_to": 20}, orders_per_day=5, lead=2, horizon=40)
    )
    receipt_times = {time for time, _, _ in t.receipts}
    later = [r for r in t.reviews if r.time >= 4]
    assert all(r.time in receipt_times for r in later)  # the premise: every review meets a receipt
    for r in later:
        assert r.on_hand[0] == 10 and r.on_order[0] == 0  # the delivery is already on the shelf
    assert all(o.qty == 10 for o in t.orders)  # exactly what was sold: no over-ordering
    d = t.result.daily
    # a delivery at the instant day D starts is booked on day D (the day close of D - 1 comes first)
    assert list(d["units_received"].iloc[4:40:2]) == [10] * 18
    assert d["units_received"].iloc[5:40:2].sum() == 0
    assert t.result.kpis["unit_fill_rate"] == 1.0  # the delivery is on the shelf before the first sale
    assert np.all(d["on_order_units_end"].iloc[4:] == 10)
