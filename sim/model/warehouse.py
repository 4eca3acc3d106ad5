"""Order picking in a warehouse: pickers on shifts, pick jobs, waves, packing.

Pickers are a ``PickerQueue`` (the semantics of a ``simpy.Resource``, FIFO)
whose capacity follows the shift schedule: when a shift ends, busy pickers
finish their current job and no new job starts until capacity frees up. A pick
job takes

    setup + lines x seconds_per_line + travel(lines),
    travel(n) = base + per_aisle x A x (1 - (1 - 1/A)^n)

where A (1 - (1 - 1/A)^n) is the expected number of distinct aisles visited by
n picks spread uniformly over A aisles (random storage; cf. Bartholdi &
Hackman, Warehouse & Distribution Science). ``pick_time_seconds`` replaces the
formula, e.g. an exponential time makes the warehouse an M/M/c queue.

Orders are released one by one (``discrete``) or in waves (every N minutes at
most M orders, picked in batches of ``batch_size``). Each job uses one picker;
jobs are served first-come first-served. No SimPy event per job: jobs arrive in
time order and the shift schedule is known, so a job's start and end follow at
submission (``PickerQueue``, ``FifoServers`` for packing); what happens after a
job ends is done in order of the ends, once the clock has passed them.

>>> round(float(expected_aisles(1, 20)), 3), round(float(expected_aisles(200, 20)), 2)
(1.0, 20.0)
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import deque
from collections.abc import Callable

import numpy as np
import simpy

from sim.model.streams import POS_BITS, POS_MASK, keyed_draws
from sim.scenario.schema import Picking, Scenario, Warehouse

SECONDS_PER_DAY = 86_400.0
PLANNED_DAYS = 8  # order days whose planned pick-job durations a station keeps (later ones are drawn one by one)
INF = float("inf")


def expected_aisles(n_picks, aisles: int):
    """Expected distinct aisles visited by ``n_picks`` uniform picks over ``aisles`` aisles."""
    return aisles * (1.0 - (1.0 - 1.0 / aisles) ** np.asarray(n_picks, dtype=float))


class PickerQueue:
    """c(t) identical pickers, first-come first-served, c(t) following a capacity schedule (shifts).

    The semantics of a ``simpy.Resource`` whose capacity changes: a job starts when fewer
    than c(t) jobs are in service; when capacity drops, jobs in service finish and no new
    job starts until the count is below capacity. Jobs are submitted in time order and the
    schedule is known in advance, so each job's start follows at submission from the end
    times of the jobs in service (the Kiefer-Wolfowitz recursion with a changing c): no
    SimPy event per job. Completed jobs are handed on (``on_done(job, end)``) in order of
    their ends, once the clock has passed them (``flush``): no job submitted later can end
    earlier. Per-day statistics: job-days waiting, the longest queue, picker-days started,
    lines completed.

    >>> q = PickerQueue(np.array([0.0, 1.0]), np.array([1, 2]), 3, lambda job, end: None)
    >>> q.submit("a", 1, 0.5, 0.0), q.submit("b", 1, 0.5, 0.1), q.submit("c", 1, 0.5, 0.2)
    ((0.0, 0.5), (0.5, 1.0), (1.0, 1.5))
    """

    def __init__(self, times: np.ndarray, caps: np.ndarray, horizon: int, on_done):
        self.times, self.caps = times.tolist(), [int(c) for c in caps]
        self.on_done = on_done  # callback(job, end), in order of end
        self._seg = 0  # schedule segment of the last start, its capacity and when it ends
        self._cap = self.caps[0]
        self._change = self.times[1] if len(self.times) > 1 else INF
        self.in_service: list[float] = []  # heap: ends of started jobs not yet known to be over
        self.last_start = 0.0
        self._queued: deque = deque()  # (start, job entry) of jobs not yet started: starts never decrease
        self._done: list[tuple[float, int, object, int]] = []  # heap: (end, seq, job, lines) started, not handed on
        self._seq = 0
        self.horizon = horizon
        H = horizon + 1
        self.queue_area = [0.0] * H  # job-days waiting, per day (whole days added at each close)
        self._whole_days = [0] * (H + 1)  # difference array: jobs waiting all day, from day i on
        self._waiting_all_day = 0
        self.queue_max = [0] * H  # longest queue, per day
        self.busy_days = [0.0] * H  # picker-days of the jobs started that day
        self.lines_picked = [0] * H  # lines of the jobs completed that day

    def _capacity(self, t: float) -> tuple[int, float]:
        """Pickers at time t and when that count next changes (inf: never); t never decreases."""
        if t < self._change:  # still in the segment of the last call
            return self._cap, self._change
        times, i, last = self.times, self._seg, len(self.times) - 1
        while i < last and times[i + 1] <= t:
            i += 1
        self._seg, self._cap = i, self.caps[i]
        self._change = times[i + 1] if i < last else INF
        return self._cap, self._change

    def _start_time(self, now: float) -> float:
        t = now if now > self.last_start else self.last_start  # first come, first served
        busy = self.in_service
        while True:
            while busy and busy[0] <= t:
                heapq.heappop(busy)
            cap, change = self._capacity(t)
            if len(busy) < cap:
                return t
            t = min(busy[0] if busy else INF, change)
            if t == INF:
                return t  # no picker ever again: the job never starts

    def submit(self, job, lines: int, duration: float, now: float) -> tuple[float, float]:
        """Submit a pick job at ``now``; returns its (start, end)."""
        self.flush(now)
        start = self._start_time(now)
        end = start + duration
        self.last_start = start
        if start < INF:
            heapq.heappush(self.in_service, end)
        if start < self.horizon:
            self.busy_days[int(start)] += duration
        self._seq += 1
        entry = (end, self._seq, job, lines)
        if start > now:
            self._queued.append((start, entry))
            self._wait(now, start)
        else:
            heapq.heappush(self._done, entry)
        return start, end

    def _wait(self, now: float, start: float) -> None:
        """A job waits from ``now`` to ``start``: its job-days per day and the queue length it makes."""
        d = int(now)
        if len(self._queued) > self.queue_max[d]:
            self.queue_max[d] = len(self._queued)
        stop = min(start, float(self.horizon))
        e = int(stop)
        if e == d:
            self.queue_area[d] += stop - now
            return
        self.queue_area[d] += d + 1.0 - now  # the rest of its first day ...
        if e < self.horizon:
            self.queue_area[e] += stop - e  # ... the start of its last ...
        self._whole_days[d + 1] += 1  # ... and every day between, whole (counted in close_day)
        self._whole_days[e] -= 1

    def flush(self, now: float) -> None:
        """Hand on, in order of their ends, the jobs that ended by ``now`` (the queued jobs that started by
        then join the started ones first)."""
        done, queued = self._done, self._queued
        while queued and queued[0][0] <= now:
            heapq.heappush(done, queued.popleft()[1])
        while done and done[0][0] <= now:
            end, _, job, lines = heapq.heappop(done)
            if end < self.horizon:
                self.lines_picked[int(end)] += lines
                self.on_done(job, end)

    def close_day(self, d: int) -> None:
        """Day d ends (the clock is at d + 1): hand on its jobs; the queue then opens day d + 1's maximum."""
        self.flush(d + 1.0)
        self._waiting_all_day += self._whole_days[d]
        self.queue_area[d] += self._waiting_all_day
        if d + 1 < self.horizon:
            self.queue_max[d + 1] = max(self.queue_max[d + 1], len(self._queued))


class FifoServers:
    """c identical servers, first-come first-served, whose count never changes (packing stations).

    Jobs arrive in time order, so each job's end follows from the servers' next free times
    (the Kiefer-Wolfowitz recursion: start = max(arrival, earliest free server)); no SimPy
    event per job. The caller acts on the end (``Fulfilment.packed``).

    >>> pack = FifoServers(1)
    >>> pack.finish(0.0, 2.0), pack.finish(1.0, 2.0), pack.finish(5.0, 1.0)
    (2.0, 4.0, 6.0)
    """

    def __init__(self, servers: int):
        self.free = [0.0] * int(servers)  # a heap: when each server is next free

    def finish(self, arrival: float, duration: float) -> float:
        """When a job arriving at ``arrival`` that takes ``duration`` ends."""
        free = self.free
        start = arrival if arrival > free[0] else free[0]
        end = start + duration
        heapq.heapreplace(free, end)
        return end


def picking_of(wh: Warehouse) -> Picking:
    """The picking model of a warehouse that has one (``ValueError`` for a warehouse without)."""
    if wh.picking is None:
        raise ValueError(f"warehouse {wh.name!r} has no picking model")
    return wh.picking


def capacity_schedule(scenario: Scenario, wh: Warehouse, event_days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Breakpoints (days) and picker counts from time 0 to the horizon: capacity[i] holds from t[i]."""
    p = picking_of(wh)
    H = scenario.horizon_days
    down = np.zeros(H, dtype=bool)
    for period in wh.down:
        down[period.start_day : period.start_day + period.days] = True
    times, caps = [0.0], [0]
    pts: list[tuple[float, int]]
    for d in range(H):
        weekday = (scenario.start_date + dt.timedelta(days=d)).weekday()
        if down[d]:
            pts = [(0.0, 0)]
        elif not p.shifts:
            pts = [(0.0, (p.pickers or 0) + (p.promo_extra_pickers if event_days[d] else 0))]  # set: no shifts
        else:
            hours = sorted({0.0, *(s.start_hour for s in p.shifts), *(s.end_hour for s in p.shifts)} - {24.0})
            pts = []
            for h in hours:
                n = sum(
                    s.pickers + (p.promo_extra_pickers if event_days[d] else 0)
                    for s in p.shifts
                    if weekday in s.weekdays and s.start_hour <= h < s.end_hour
                )
                pts.append((h / 24.0, n))
        for frac, n in pts:
            if n != caps[-1]:
                times.append(d + frac)
                caps.append(n)
    t, c = np.array(times), np.array(caps)
    if len(t) > 1 and t[1] == 0.0:  # the first day sets the start capacity
        t, c = t[1:], c[1:]
    return t, c


def picker_days_per_day(times: np.ndarray, caps: np.ndarray, horizon: int) -> np.ndarray:
    """Scheduled picker-days on each day 0..horizon-1 of a piecewise-constant capacity schedule."""
    edges = np.clip(np.append(times, horizon), 0, horizon)
    cum = np.concatenate([[0.0], np.cumsum(caps * np.diff(edges))])
    return np.diff(np.interp(np.arange(horizon + 1), edges, cum))


def mean_job_seconds(p: Picking, lines: float) -> float:
    """Expected seconds of a one-order pick job with ``lines`` lines (the mean of ``job_days``)."""
    if p.pick_time_seconds is not None:
        return p.pick_time_seconds.mean
    return (
        p.setup_seconds.mean
        + lines * p.seconds_per_line.mean
        + p.travel_seconds_base
        + p.travel_seconds_per_aisle * float(expected_aisles(lines, p.aisles))
    )


class PickingStation:
    """One warehouse's pickers (and optional packing stations)."""

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        index: int,
        seed: int,
        event_days: np.ndarray,
        on_ready,
        pick_start,
        keys,
    ):
        self.env = env
        self.index = index
        self.p: Picking = picking_of(scenario.warehouses[index])
        self.seed = int(seed)
        self.keys = keys  # shipment id -> order_key(order day, position): whose random numbers a job uses
        self.on_ready = on_ready  # callback(shipment_id, when packed): now or, after packing, later
        self.pick_start = pick_start  # the shipments' pick-start column
        self.times, self.caps = capacity_schedule(scenario, scenario.warehouses[index], event_days)
        self.pickers = PickerQueue(self.times, self.caps, scenario.horizon_days, self._picked)
        self.packers = FifoServers(self.p.packing_stations) if self.p.packing_stations else None
        self.pending: list[tuple[int, int]] = []  # waves: (shipment id, lines) not yet released
        self._formula = self.p.pick_time_seconds is None
        p = self.p
        self._job = self._draws_of("job", p.pick_time_seconds)
        self._setup = self._draws_of("setup", p.setup_seconds)
        self._line = self._draws_of("line", p.seconds_per_line)
        self._pack = self._draws_of("pack", p.packing_seconds if p.packing_stations else None)
        self._travel: list[float] = []  # travel seconds of a job by its number of lines
        # order day -> the one-order job durations of that day's orders here, by position (``plan_day``)
        self._planned: dict[int, list[float]] = {}
        self._planned_pack: dict[int, list[float]] = {}  # ... and their packing durations
        self.before_wave: Callable[[float], None] | None = None  # a wave calls it first (the shop: receipts due)
        self._waves_on = self.p.release == "waves"
        if self._waves_on:
            env.process(self._waves())

    # ------------------------------------------------------------ random times (per order, common random numbers)
    def _draws_of(self, name: str, dist):
        if dist is None:
            return None
        return keyed_draws(self.seed, "pick", dist, (self.index, ("job", "setup", "line", "pack").index(name)))

    def job_days(self, lines: int, key: int) -> float:
        """Duration of a pick job of ``lines`` lines whose first shipment has ``key`` (days).

        ``key`` = ``sim.model.streams.order_key(order day, position in the day)``: every order has
        its own pick-time draws at each warehouse (common random numbers across variants).
        """
        day, pos = key >> POS_BITS, key & POS_MASK
        if not self._formula:
            return max(self._job(day, pos), 0.0) / SECONDS_PER_DAY
        travel = self._travel_seconds(lines)
        return max(self._setup(day, pos) + lines * self._line(day, pos) + travel, 0.0) / SECONDS_PER_DAY

    def _travel_seconds(self, lines: int) -> float:
        travel = self._travel
        if lines >= len(travel):
            p = self.p
            travel.extend(
                p.travel_seconds_base + p.travel_seconds_per_aisle * p.aisles * (1.0 - (1.0 - 1.0 / p.aisles) ** n)
                for n in range(len(travel), lines + 1)
            )
        return travel[lines]

    def plan_day(self, day: int, n: int, positions: np.ndarray, lines: np.ndarray) -> None:
        """The pick-job and packing durations of day ``day``'s orders at ``positions`` (of ``n``), each
        picked alone with its ``lines``, in one vectorized pass: ``release`` and ``_picked`` then look
        them up instead of drawing them one by one (the same values as ``job_days`` and the packing
        draw). Jobs are planned only when orders are released one by one (a wave's jobs are batches)."""
        if not len(positions):
            return
        if not self._waves_on:
            if not self._formula:
                days = np.maximum(self._draws(self._job, day, positions), 0.0) / SECONDS_PER_DAY
            else:
                self._travel_seconds(int(lines.max()))
                travel = np.array(self._travel)[lines]
                setup, per_line = self._draws(self._setup, day, positions), self._draws(self._line, day, positions)
                days = np.maximum(setup + lines * per_line + travel, 0.0) / SECONDS_PER_DAY
            self._keep(self._planned, day, n, positions, days)
        if self._pack is not None:
            self._keep(self._planned_pack, day, n, positions, self._draws(self._pack, day, positions) / SECONDS_PER_DAY)

    @staticmethod
    def _keep(planned: dict[int, list[float]], day: int, n: int, positions: np.ndarray, values: np.ndarray) -> None:
        by_position = np.full(n, np.nan)
        by_position[positions] = values
        if len(planned) >= PLANNED_DAYS:
            del planned[next(iter(planned))]
        planned[day] = by_position.tolist()

    @staticmethod
    def _draws(draws, day: int, positions: np.ndarray) -> np.ndarray:
        take = getattr(draws, "take", None)
        return take(day, positions) if take is not None else np.full(len(positions), draws(day, 0))

    # ------------------------------------------------------------ processes
    def _waves(self):
        env, p = self.env, self.p
        step = p.wave_interval_minutes / 1440.0
        while True:
            yield env.timeout(step)
            if self.before_wave is not None:
                self.before_wave(env.now)
            if not self.pending:
                continue
            release, self.pending = self.pending[: p.wave_max_orders], self.pending[p.wave_max_orders :]
            for i in range(0, len(release), p.batch_size):
                batch = release[i : i + p.batch_size]
                self._submit(tuple(sid for sid, _ in batch), sum(n for _, n in batch), env.now)

    # ------------------------------------------------------------ jobs
    def release(self, sid: int, lines: int, now: float) -> None:
        """A shipment whose stock is allocated enters the warehouse at ``now``."""
        if self._waves_on:
            self.pending.append((sid, lines))
            return
        key = self.keys[sid]
        planned = self._planned.get(key >> POS_BITS)
        days = planned[key & POS_MASK] if planned is not None else self.job_days(lines, key)
        self.pick_start[sid] = self.pickers.submit((sid,), lines, days, now)[0]

    def _submit(self, sids: tuple, lines: int, now: float) -> None:
        start, _ = self.pickers.submit(sids, lines, self.job_days(lines, self.keys[sids[0]]), now)
        col = self.pick_start
        for sid in sids:
            col[sid] = start

    def _picked(self, sids: tuple, now: float) -> None:
        for sid in sids:
            if self.packers is None:
                self.on_ready(sid, now)
            else:
                key = self.keys[sid]
                day, pos = key >> POS_BITS, key & POS_MASK
                planned = self._planned_pack.get(day)
                packing = planned[pos] if planned is not None else self._pack(day, pos) / SECONDS_PER_DAY
                self.on_ready(sid, self.packers.finish(now, packing))

    # ------------------------------------------------------------ statistics
    @property
    def lines_picked(self) -> int:
        """Lines of the pick jobs completed so far."""
        return sum(self.pickers.lines_picked)
