"""The lean engine computes what the event-by-event engine computed.

The order loop serves an order without waking the SimPy clock when no event is due
first; pick jobs and packing are FIFO queues computed at submission; the periodic
review checks only the pairs whose position changed; receipts at one instant share one
event. Each shortcut is checked here against the plain construction it replaces: a
SimPy ``Resource``-like pool driven by events, a clock woken for every order, a review
of every pair.
"""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from sim.model.logs import OrderLog, ShipmentLog
from sim.model.shop import ShopModel, simulate
from sim.model.streams import DAY_CHUNK, POS_BITS, POS_MASK, DayStream
from sim.model.warehouse import FifoServers, PickerQueue
from sim.scenario.loader import load_scenario


def event_driven_starts(arrivals, durations, times, caps):
    """Start times of FIFO jobs on a pool whose capacity follows (times, caps), simulated in SimPy
    event by event: a job starts when fewer than capacity jobs are in service; a drop lets the
    jobs in service finish (the semantics PickerQueue computes without events)."""
    env = simpy.Environment()
    state = {"cap": int(caps[0]), "busy": 0}
    queue: list[int] = []
    starts = [np.inf] * len(arrivals)

    def drain():
        while queue and state["busy"] < state["cap"]:
            j = queue.pop(0)
            starts[j] = env.now
            state["busy"] += 1
            env.timeout(durations[j]).callbacks.append(done)

    def done(_ev):
        state["busy"] -= 1
        drain()

    def shifts():
        for t, c in zip(times[1:], caps[1:]):
            yield env.timeout(t - env.now)
            state["cap"] = int(c)
            drain()

    def source():
        for j, a in enumerate(arrivals):
            yield env.timeout(a - env.now)
            queue.append(j)
            drain()

    env.process(shifts())
    env.process(source())
    env.run(until=times[-1] + 1000)
    return np.array(starts)


def test_picker_queue_starts_jobs_exactly_when_the_event_driven_pool_does():
    rng = np.random.default_rng(4)
    arrivals = np.sort(rng.uniform(0, 20, 3000))
    durations = rng.exponential(0.02, 3000)
    # shifts: 3, 1, 0 (closed), 4, 2 pickers: drops while jobs are in service, a closed spell
    times = np.array([0.0, 3.3, 6.1, 8.0, 14.5])
    caps = np.array([3, 1, 0, 4, 2])
    expected = event_driven_starts(arrivals, durations, times, caps)
    ends = []
    q = PickerQueue(times, caps, 30, lambda job, end: ends.append((job, end)))
    got = np.array([q.submit(j, 1, float(d), float(a))[0] for j, (a, d) in enumerate(zip(arrivals, durations))])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert (got > arrivals + 1e-9).mean() > 0.3  # a real queue: many jobs wait
    # jobs are handed on in order of their ends, each once, after the clock passes them
    for d in range(30):
        q.close_day(d)
    assert [j for j, _ in ends] == sorted(range(3000), key=lambda j: (got[j] + durations[j], j))
    # per-day statistics: lines completed per day sum to the jobs, waiting job-days to the waits
    assert sum(q.lines_picked) == 3000
    assert sum(q.queue_area) == pytest.approx(float(np.sum(got - arrivals)), rel=1e-9)


def test_fifo_servers_match_a_simpy_resource():
    rng = np.random.default_rng(5)
    arrivals = np.sort(rng.uniform(0, 50, 2000))
    durations = rng.gamma(2.0, 0.02, 2000)
    env = simpy.Environment()
    res = simpy.Resource(env, 2)
    ends = np.zeros(2000)

    def job(j):
        yield env.timeout(arrivals[j])
        with res.request() as req:
            yield req
            yield env.timeout(durations[j])
            ends[j] = env.now

    for j in range(2000):
        env.process(job(j))
    env.run()
    pack = FifoServers(2)
    got = [pack.finish(float(a), float(d)) for a, d in zip(arrivals, durations)]
    np.testing.assert_allclose(got, ends, rtol=0, atol=1e-9)


class WokenForEveryOrder(ShopModel):
    """The order loop before the lean engine: one SimPy timeout per order, the clock always woken."""

    def days(self):
        env = self.env
        serve = self._serve_whole if self._whole else self._serve_routed
        for d in range(self.scenario.horizon_days):
            day = self._start_day(d)
            for i in range(day.n):
                yield env.timeout(day.times[i] - env.now)
                self.inv.receive_due(env.now)
                serve(day, i, env.now)
            yield env.timeout(d + 1 - env.now)


class ReviewsEveryPair(ShopModel):
    """A periodic review that checks every (warehouse, SKU) pair, not only those that changed."""

    def __init__(self, scenario, seed):
        super().__init__(scenario, seed)
        inv = self.inv
        review = inv.review_all

        def every_pair(now):
            inv._dirty = list(range(len(inv.on_hand)))
            review(now)

        inv.review_all = every_pair


@pytest.mark.parametrize(
    "path, overrides",
    [
        ("scenarios/multi_warehouse.yaml", ["horizon_days=45"]),  # pickers, packing, constrained carriers
        ("scenarios/double11.yaml", ["horizon_days=60", "start_date=2026-10-20"]),  # shifts, the event
        (
            "scenarios/multi_warehouse.yaml",
            ["horizon_days=40", "routing.warehouse=nearest_with_stock", "routing.split_shipments=true"],
        ),
    ],
    ids=["multi_warehouse", "double11", "split"],
)
def test_serving_orders_between_events_changes_nothing(path, overrides):
    s = load_scenario(path, overrides)
    lean = ShopModel(s, 7).run()
    plain = WokenForEveryOrder(s, 7).run()
    for name, value in plain.kpis.items():
        assert lean.kpis[name] == pytest.approx(value, rel=1e-9, abs=1e-9, nan_ok=True), name
    for col in ("release", "pick_start", "ready", "ship", "deliver", "cost", "carrier", "wh"):
        np.testing.assert_allclose(lean.shipments[col], plain.shipments[col], rtol=0, atol=1e-9, err_msg=col)
    assert lean.order_status == plain.order_status


class BookedOneByOne(ShopModel):
    """The engine before block booking: every shipment booked in full as it is packed (carrier,
    departure, transit draw, charge, one scalar call each) and every pick job drawn as it is released."""

    def __init__(self, scenario, seed):
        super().__init__(scenario, seed)
        ful, car = self.fulfilment, self.fulfilment.carriers
        car.unconstrained = False  # the capacity loop then books as before, with nothing to limit it

        def ready_in_full(sid, now):
            log = ful.log
            log.ready[sid] = now
            w, r, weight = log.wh[sid], log.region[sid], log.weight[sid]
            if not car.names:
                log.ship[sid] = log.deliver[sid] = ful._leave_without_carrier(w, now)
                return
            c = log.carrier[sid]
            if c < 0:
                c = ful.choose_carrier(w, r, weight, log.value[sid])
            c, t = car.ship(c, w, r, now, weight)
            log.carrier[sid], log.ship[sid], key = c, t, log.key[sid]
            log.deliver[sid] = t + car.draw_transit(c, w, r, key >> POS_BITS, key & POS_MASK)
            log.cost[sid] = car.cost(c, w, r, weight)

        ful.ready = ready_in_full  # type: ignore[method-assign]
        for station in ful.stations:
            if station is not None:
                station.plan_day = lambda *args: None  # type: ignore[method-assign]


@pytest.mark.parametrize(
    "path, overrides",
    [
        ("scenarios/multi_warehouse.yaml", ["horizon_days=40"]),  # express capacity: booked in packing order
        ("scenarios/multi_warehouse.yaml", ["horizon_days=40", "carriers[1].daily_capacity=null"]),  # rule
        (
            "scenarios/multi_warehouse.yaml",
            ["horizon_days=40", "carriers[1].daily_capacity=null", "routing.carrier=fastest"],
        ),
        (
            "scenarios/multi_warehouse.yaml",
            ["horizon_days=40", "carriers[1].daily_capacity=null", "routing.carrier=cheapest"],
        ),
        ("scenarios/double11.yaml", ["horizon_days=50", "start_date=2026-10-25"]),
        (  # waves in batches: packing planned, pick jobs drawn per batch
            "scenarios/multi_warehouse.yaml",
            [
                "horizon_days=30",
                "warehouses[east_dc].picking.release=waves",
                "warehouses[east_dc].picking.batch_size=3",
                "warehouses[east_dc].picking.wave_interval_minutes=45",
            ],
        ),
        ("scenarios/classroom_queue.yaml", ["horizon_days=20"]),  # pick_time_seconds, one warehouse
        ("scenarios/baseline.yaml", ["horizon_days=30"]),  # no picking model
    ],
    ids=["constrained", "rule", "fastest", "cheapest", "double11", "waves", "pick_time", "no_picking"],
)
def test_booking_after_the_run_and_planned_pick_jobs_change_nothing(path, overrides):
    s = load_scenario(path, overrides)
    block = ShopModel(s, 11).run()
    scalar = BookedOneByOne(s, 11).run()
    assert block.order_status == scalar.order_status
    for col in ShipmentLog.SCHEMA:
        np.testing.assert_array_equal(block.shipments[col[0]], scalar.shipments[col[0]], err_msg=col[0])
    assert block.kpis == pytest.approx(scalar.kpis, rel=0, abs=0, nan_ok=True)
    assert np.isfinite(block.shipments["deliver"]).sum() > 100  # shipments were delivered and compared


def test_block_cut_offs_carriers_and_charges_equal_the_scalar_rules():
    from sim.model.delivery import Carriers, next_cutoff
    from sim.model.economics import carrier_rule, carrier_rule_block

    rng = np.random.default_rng(5)
    for kind in ("cheapest", "fastest", "rule"):
        s = load_scenario("scenarios/multi_warehouse.yaml", [f"routing.carrier={kind}"])
        car = Carriers(s, 3)
        n, W, R = 400, len(s.warehouses), len(s.demand.regions)
        w, r = rng.integers(0, W, n), rng.integers(0, R, n)
        weight = np.round(rng.exponential(3.0, n), 1)
        value = rng.choice([100.0, 299.99, 300.0, 450.0], n)  # at the express threshold too
        one = carrier_rule(s, car)
        chosen = carrier_rule_block(s, car)(w, r, weight, value)
        assert chosen.tolist() == [one(*args) for args in zip(w.tolist(), r.tolist(), weight.tolist(), value.tolist())]
        cuts = [c for wh in car.cutoffs for c in wh]
        t = np.concatenate([rng.uniform(0, 30, n - 3 * len(cuts)), [d + c for c in cuts for d in (0, 4, 9)]])
        got = car.next_cutoff_block(t, w)
        assert got.tolist() == [next_cutoff(ti, car.cutoffs[wi]) for ti, wi in zip(t.tolist(), w.tolist())]
        c = chosen.astype(np.int64)
        cost = car.cost_block(c, w, r, weight)
        assert cost.tolist() == [car.cost(*args) for args in zip(c.tolist(), w.tolist(), r.tolist(), weight.tolist())]
        day, pos = rng.integers(0, 40, n), rng.integers(0, 300, n)
        transit = car.transit_block(c, w, r, day, pos)
        assert transit.tolist() == [
            car.draw_transit(*args) for args in zip(c.tolist(), w.tolist(), r.tolist(), day.tolist(), pos.tolist())
        ]


@pytest.mark.parametrize("policy", ["RS", "RsS", "sQ"])
def test_reviewing_only_changed_pairs_orders_what_reviewing_every_pair_orders(policy):
    over = [
        "horizon_days=120",
        "catalog.generate.count=60",
        f"inventory.policy.type={policy}",
        "inventory.policy.review=periodic",
        "inventory.policy.review_period_days=3",
    ]
    if policy != "sQ":
        over.append("inventory.policy.order_quantity=null")
    s = load_scenario("scenarios/baseline.yaml", over)
    a, b = ShopModel(s, 3).run(), ReviewsEveryPair(s, 3).run()
    assert a.kpis["replenishment_orders"] > 100
    for name in ("replenishment_orders", "ordering_cost", "unit_fill_rate", "avg_on_hand_units", "total_cost"):
        assert a.kpis[name] == pytest.approx(b.kpis[name], rel=1e-12), name
    np.testing.assert_array_equal(a.state["received"], b.state["received"])


def test_receipts_at_one_instant_are_taken_together_in_the_order_placed():
    # every purchase order placed during the disruption leaves when it ends: with a constant lead
    # time they all arrive at one instant, and are received there, in the order they were placed
    s = load_scenario(
        "scenarios/baseline.yaml",
        [
            "horizon_days=60",
            "catalog.generate.count=40",
            "suppliers[*].lead_time_days=4",
            "suppliers[*].disruptions=[{start_day: 10, days: 15}]",
        ],
    )
    model = ShopModel(s, 2)
    inv = model.inv
    placed: list[tuple[float, int]] = []  # (arrival instant, pair) in the order placed
    received: list[tuple[float, int]] = []
    arrival, receive = inv.suppliers.arrival, inv.receive

    def spy_arrival(j, k, now):
        t = arrival(j, k, now)
        placed.append((t, k))
        return t

    def spy_receive(k, q, now):
        received.append((now, k))
        receive(k, q, now)

    inv.suppliers.arrival, inv.receive = spy_arrival, spy_receive
    r = model.run()
    assert len(received) == r.daily["cycles"].sum() > 0  # every receipt once
    assert [t for t, _ in received] == sorted(t for t, _ in received)  # in time order
    due = sorted((p for p in placed if p[0] < s.horizon_days), key=lambda p: p[0])  # stable: placing order
    assert received == due  # at their arrival instants, same instant: in the order placed
    at_end_of_disruption = [k for t, k in received if t == 29.0]
    assert len(at_end_of_disruption) >= 10  # the orders held by the disruption arrive together


def test_day_streams_depend_on_the_day_alone():
    s = DayStream(11, "demand", (2,))
    day_values = {d: s.at(d).random(4).tolist() for d in (0, 1, DAY_CHUNK - 1, DAY_CHUNK, 5 * DAY_CHUNK + 3)}
    again = DayStream(11, "demand", (2,))
    for d in reversed(list(day_values)):  # any order of asking, a fresh stream object
        assert again.at(d).random(4).tolist() == day_values[d]
    flat = [v for vals in day_values.values() for v in vals]
    assert len(set(flat)) == len(flat)  # days (across chunk boundaries) do not repeat each other
    assert DayStream(11, "demand", (3,)).at(1).random(4).tolist() != day_values[1]  # another quantity
    assert DayStream(12, "demand", (2,)).at(1).random(4).tolist() != day_values[1]  # another seed
    # and the numbers are uniform: a day's draws pass a coarse chi-square test
    u = np.concatenate([DayStream(13, "transit").at(d).random(50) for d in range(400)])
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert ((counts - 2000) ** 2 / 2000).sum() < 27.9  # chi-square(9) 0.999 quantile


def test_logs_grow_past_their_capacity_and_keep_every_row():
    log = ShipmentLog(16)
    for i in range(100):
        assert log.add(i, i % 3, 0, 1, 2.0, 0.5, 10.0 + i, -1, i) == i
        log.ready[i] = i / 10
    orders = OrderLog(16)
    first = orders.add_day(np.arange(40) / 40, np.zeros(40, dtype=np.int64), np.ones(40))
    assert first == 0 and orders.add_day(np.array([1.5]), np.array([1]), np.array([3.0])) == 40
    a, o = log.arrays(), orders.arrays()
    assert a["order"].dtype == np.int64 and a["ready"].dtype == np.float64 and len(a["wh"]) == 100
    np.testing.assert_array_equal(a["value"], 10.0 + np.arange(100))
    np.testing.assert_array_equal(a["ready"], np.arange(100) / 10)
    assert np.isnan(a["ship"]).all() and (a["carrier"] == -1).all()
    assert len(o["arrival"]) == 41 and o["region"][-1] == 1
    assert set(a) == {name for name, *_ in ShipmentLog.SCHEMA}


def test_memory_per_order_stays_small():
    s = load_scenario("scenarios/multi_warehouse.yaml", ["horizon_days=30"])
    model = ShopModel(s, 1)
    model.run()
    per_shipment = sum(getattr(model.fulfilment.log, name).itemsize for name, *_ in ShipmentLog.SCHEMA)
    per_order = sum(getattr(model.orders, name).itemsize for name, *_ in OrderLog.SCHEMA)
    assert per_shipment + per_order <= 160  # bytes: typed columns, not Python objects
    assert model.fulfilment.log.capacity <= 1.2 * model.fulfilment.log.n + 200  # sized from the plan


def test_simulate_is_reproducible_and_events_are_few():
    s = load_scenario("scenarios/multi_warehouse.yaml", ["horizon_days=30"])
    a, b = simulate(s, 9), simulate(s, 9)
    assert a.kpis == pytest.approx(b.kpis, nan_ok=True)
    np.testing.assert_array_equal(a.shipments["deliver"], b.shipments["deliver"])
    model = ShopModel(s, 9)
    steps = 0
    step = model.env.step

    def counting_step():
        nonlocal steps
        steps += 1
        step()

    model.env.step = counting_step  # type: ignore[method-assign]
    r = model.run()
    assert steps < 0.2 * r.order_status["orders"]  # pick and pack jobs cost no event
