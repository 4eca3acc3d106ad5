"""Order picking in a warehouse: pickers on shifts, pick jobs, waves, packing.

Pickers are a ``ServerPool`` (the semantics of a ``simpy.Resource``, FIFO, one
SimPy event per job) whose capacity follows the shift schedule: when a shift
ends, busy pickers finish their current job and no new job starts until
capacity frees up. A pick job takes

    setup + lines x seconds_per_line + travel(lines),
    travel(n) = base + per_aisle x A x (1 - (1 - 1/A)^n)

where A (1 - (1 - 1/A)^n) is the expected number of distinct aisles visited by
n picks spread uniformly over A aisles (random storage; cf. Bartholdi &
Hackman, Warehouse & Distribution Science). ``pick_time_seconds`` replaces the
formula, e.g. an exponential time makes the warehouse an M/M/c queue.

Orders are released one by one (``discrete``) or in waves (every N minutes at
most M orders, picked in batches of ``batch_size``). Each job uses one picker;
jobs are served first-come first-served. No SimPy process per job: a job is one
timeout event whose callback frees the picker and starts the next job.

>>> round(float(expected_aisles(1, 20)), 3), round(float(expected_aisles(200, 20)), 2)
(1.0, 20.0)
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import deque

import numpy as np
import simpy

from sim.model.streams import POS_BITS, POS_MASK, keyed_draws
from sim.scenario.schema import Picking, Scenario, Warehouse

SECONDS_PER_DAY = 86_400.0


def expected_aisles(n_picks, aisles: int):
    """Expected distinct aisles visited by ``n_picks`` uniform picks over ``aisles`` aisles."""
    return aisles * (1.0 - (1.0 - 1.0 / aisles) ** np.asarray(n_picks, dtype=float))


class ServerPool:
    """c identical servers with a FIFO queue whose capacity can change (shifts).

    The semantics of a ``simpy.Resource`` with a changing capacity: a job starts
    when fewer than ``capacity`` jobs are in service; when capacity drops, jobs in
    service finish and no new job starts until the count is below capacity. Each
    job costs ONE SimPy event (its completion timeout) instead of the request,
    timeout and release events of a Resource — measured about 3x cheaper per job
    (``run.py bench``), which keeps the full order chain within its speed budget.
    Also keeps the statistics a planner asks for: time-average and maximum queue,
    waits, busy time.
    """

    def __init__(self, env: simpy.Environment, capacity: int, on_done, on_start=None):
        self.env = env
        self.on_start = on_start  # callback(payload, now) when a job starts (optional)
        self.capacity = capacity
        self.busy = 0
        self.queue: deque = deque()  # (payload, duration, queued_at)
        self.on_done = on_done  # callback(payload, now) when a job ends
        self.queue_area = 0.0  # job-days waiting
        self.queue_max_today = 0
        self._last = 0.0
        self.busy_days = 0.0  # server-days in service
        self.jobs = 0
        self.jobs_waited = 0
        self.wait_total = 0.0

    def _queue_change(self, delta: int, now: float) -> None:
        self.queue_area += len(self.queue) * (now - self._last)
        self._last = now
        if delta > 0 and len(self.queue) + delta > self.queue_max_today:
            self.queue_max_today = len(self.queue) + delta

    def submit(self, payload, duration: float, now: float) -> bool:
        """Start the job at ``now`` if a server is free, else queue it; returns True if it waits.

        ``now`` may run ahead of the SimPy clock (an order served between events): the job's
        completion is scheduled at the absolute time ``now + duration``.
        """
        if self.busy < self.capacity:
            self._start(payload, duration, now, now)
            return False
        self._queue_change(+1, now)
        self.queue.append((payload, duration, now))
        return True

    def _start(self, payload, duration: float, queued_at: float, now: float) -> None:
        self.busy += 1
        self.jobs += 1
        self.wait_total += now - queued_at
        self.busy_days += duration
        if self.on_start is not None:
            self.on_start(payload, now)
        env = self.env
        env.timeout(now + duration - env.now, payload).callbacks.append(self._done)  # at now + duration

    def _done(self, ev) -> None:
        now = self.env.now
        self.busy -= 1
        self._drain(now)
        self.on_done(ev._value, now)

    def _drain(self, now: float) -> None:
        while self.queue and self.busy < self.capacity:
            self._queue_change(-1, now)
            payload, duration, queued_at = self.queue.popleft()
            self.jobs_waited += 1
            self._start(payload, duration, queued_at, now)

    def set_capacity(self, n: int) -> None:
        """Change the number of servers to n (a shift change); queued jobs start if servers are free."""
        self.capacity = n
        self._drain(self.env.now)

    def flush(self) -> None:
        """Accrue the queue's job-days up to now."""
        self._queue_change(0, self.env.now)


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
        on_start,
        keys,
    ):
        self.env = env
        self.index = index
        self.p: Picking = picking_of(scenario.warehouses[index])
        self.seed = int(seed)
        self.keys = keys  # shipment id -> order_key(order day, position): whose random numbers a job uses
        self.on_ready = on_ready  # callback(shipment_id, when packed): now or, after packing, later
        self.on_start = on_start
        self.times, self.caps = capacity_schedule(scenario, scenario.warehouses[index], event_days)
        self.pickers = ServerPool(env, int(self.caps[0]), self._picked, self._started)
        self.packers = FifoServers(self.p.packing_stations) if self.p.packing_stations else None
        self.lines_picked = 0
        self.pending: list[tuple[int, int]] = []  # waves: (shipment id, lines) not yet released
        self._formula = self.p.pick_time_seconds is None
        p = self.p
        self._job = self._draws_of("job", p.pick_time_seconds)
        self._setup = self._draws_of("setup", p.setup_seconds)
        self._line = self._draws_of("line", p.seconds_per_line)
        self._pack = self._draws_of("pack", p.packing_seconds if p.packing_stations else None)
        self._travel: list[float] = []  # travel seconds of a job by its number of lines
        env.process(self._shift_changes())
        if self.p.release == "waves":
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
        day_pos = (key >> POS_BITS, key & POS_MASK)
        if not self._formula:
            return max(self._job(*day_pos), 0.0) / SECONDS_PER_DAY
        travel = self._travel
        if lines >= len(travel):
            p = self.p
            travel.extend(
                p.travel_seconds_base + p.travel_seconds_per_aisle * p.aisles * (1.0 - (1.0 - 1.0 / p.aisles) ** n)
                for n in range(len(travel), lines + 1)
            )
        return max(self._setup(*day_pos) + lines * self._line(*day_pos) + travel[lines], 0.0) / SECONDS_PER_DAY

    # ------------------------------------------------------------ processes
    def _shift_changes(self):
        env = self.env
        for t, c in zip(self.times[1:].tolist(), self.caps[1:].tolist()):
            yield env.timeout(t - env.now)
            self.pickers.set_capacity(int(c))

    def _waves(self):
        env, p = self.env, self.p
        step = p.wave_interval_minutes / 1440.0
        while True:
            yield env.timeout(step)
            if not self.pending:
                continue
            release, self.pending = self.pending[: p.wave_max_orders], self.pending[p.wave_max_orders :]
            for i in range(0, len(release), p.batch_size):
                batch = release[i : i + p.batch_size]
                self._submit(tuple(sid for sid, _ in batch), sum(n for _, n in batch), env.now)

    # ------------------------------------------------------------ jobs
    def release(self, sid: int, lines: int, now: float) -> None:
        """A shipment whose stock is allocated enters the warehouse at ``now``."""
        if self.p.release == "waves":
            self.pending.append((sid, lines))
        else:
            self._submit((sid,), lines, now)

    def _submit(self, sids: tuple, lines: int, now: float) -> None:
        self.pickers.submit((sids, lines), self.job_days(lines, self.keys[sids[0]]), now)

    def _started(self, job, now: float) -> None:
        for sid in job[0]:
            self.on_start(sid, now)

    def _picked(self, job, now: float) -> None:
        sids, lines = job
        self.lines_picked += lines
        for sid in sids:
            if self.packers is None:
                self.on_ready(sid, now)
            else:
                key = self.keys[sid]
                self.on_ready(
                    sid, self.packers.finish(now, self._pack(key >> POS_BITS, key & POS_MASK) / SECONDS_PER_DAY)
                )

    # ------------------------------------------------------------ statistics
    def flush(self) -> None:
        """Accrue the pickers' queue statistics up to now."""
        self.pickers.flush()
