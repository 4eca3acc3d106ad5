"""Run variants x replications as independent tasks, on one machine or a Dask cluster.

Replication r uses the seed ``replication_seed(master, r)`` in every variant, so
variants see the same demand (common random numbers) and paired differences are
tight. Every finished replication is written at once to ``cache/`` keyed by
(scenario hash, simulator fingerprint, seed); running the same spec again only does
what is missing, and a change to the simulator's code (``sim/``) invalidates the cache.
Each entry carries its key and a sha256 checksum; one that is damaged, edited by hand
or written for another key is recomputed with a warning, and temporary files left by
a killed run are removed by the next one. A replication that raises is recorded
(status ``failed``, its error and seed) and the others go on. Ctrl-C ends the workers
at once (queued replications never start, running ones are dropped) and keeps what
finished. Results are identical whatever the executor and worker count.

>>> from experiments.spec import load_spec
>>> spec, points = load_spec("experiments/demo.yaml")
>>> len(tasks_for(points, replications=2, master_seed=spec.seed))
8
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from threading import Event

import pandas as pd

from experiments.output import STALE_SECONDS, older_than, owner_alive
from experiments.spec import Point
from sim.model.shop import simulate
from sim.model.streams import replication_seed, simulator_fingerprint

SIM_FINGERPRINT = simulator_fingerprint()  # cached results of other simulator code are not reused


@dataclass(frozen=True)
class Task:
    """One replication to run: a variant (point), its replication number and seed."""

    point: Point
    replication: int
    seed: int

    @property
    def key(self) -> str:
        """The cache key: scenario hash, simulator fingerprint and seed."""
        return f"{self.point.hash}-{SIM_FINGERPRINT}-{self.seed}"


def tasks_for(points: list[Point], replications: int, master_seed: int) -> list[Task]:
    """Every variant x replication, replication r seeded ``replication_seed(master_seed, r)`` in each variant."""
    seeds = [replication_seed(master_seed, r) for r in range(replications)]
    return [Task(p, r, seeds[r]) for p in points for r in range(replications)]


def run_task(
    scenario, seed: int, daily_columns: tuple[str, ...] | None, record_orders: bool = False, record_lines: bool = False
) -> dict:
    """Simulate one replication; never raises (errors come back as data).

    ``daily_columns`` None keeps the whole daily table (a DataFrame; not cacheable);
    ``record_orders`` adds the per-order table (``sim.model.records.order_details``) as ``orders``,
    ``record_lines`` the order-line table (``sim.model.order_lines.order_lines``) as ``lines``.
    """
    start = time.perf_counter()
    try:
        recorded = record_orders or record_lines
        result = simulate(scenario, seed, record_orders=True) if recorded else simulate(scenario, seed)
        daily = result.daily if daily_columns is None else {c: result.daily[c].tolist() for c in daily_columns}
        out = {
            "status": "ok",
            "kpis": result.kpis,
            "daily": daily,
            "events": result.event_kpis,
            "channels": result.channel_kpis,
            "error": "",
            "seconds": time.perf_counter() - start,
        }
        if record_orders:
            from sim.model.records import order_details

            out["orders"] = order_details(result, scenario)
        if record_lines:
            from sim.model.order_lines import order_lines

            out["lines"] = order_lines(result, scenario)
        return out
    except Exception as exc:  # a failed replication must not stop the others
        return {
            "status": "failed",
            "kpis": {},
            "daily": {},
            "seconds": time.perf_counter() - start,
            "error": f"{exc.__class__.__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }


def _checksum(entry: dict) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces) of an entry without its checksum."""
    body = {k: v for k, v in entry.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _shape_problem(entry, days: int) -> str | None:
    """What is wrong with the shape of a parsed cache entry, or None."""
    if not isinstance(entry, dict):
        return f"has the wrong shape (a JSON {type(entry).__name__ if entry is not None else 'null'}, not an object)"
    if entry.get("status") != "ok":
        return "has the wrong shape (its status is not 'ok')"
    kpis = entry.get("kpis")
    if not isinstance(kpis, dict) or not kpis:
        return "has the wrong shape (no kpis)"
    if not all(isinstance(k, str) and _is_number(v) for k, v in kpis.items()):
        return "has the wrong shape (kpis that are not numbers)"
    daily = entry.get("daily")
    if not isinstance(daily, dict):
        return "has the wrong shape (no daily columns)"
    for name, column in daily.items():
        if not isinstance(column, list) or len(column) != days or not all(_is_number(v) for v in column):
            return f"has the wrong shape (daily column {name!r} is not {days} numbers)"
    return None


class Cache:
    """One JSON file per finished replication, written atomically and checked when read.

    An entry is the replication's output plus ``seed``, ``key`` (the task key it was
    written for) and ``checksum`` (sha256 of the canonical JSON of all the rest, see
    ``_checksum``). On read, an entry that does not parse, has the wrong shape, was
    written for another key or fails its checksum (an entry edited by hand, or an older
    format without one) is not used: ``get`` returns None, so it is recomputed, and
    ``warn`` gets one line naming the file and what is wrong. An entry that lacks a
    daily column asked for now is valid but incomplete: recomputed without a warning.
    """

    def __init__(self, folder: Path, warn: Callable[[str], None] | None = None):
        self.folder = Path(folder)
        self.warn = warn or (lambda message: print(message, file=sys.stderr, flush=True))

    def path(self, task: Task) -> Path:
        """The entry file of ``task``: ``KEY.json``."""
        return self.folder / f"{task.key}.json"

    def get(self, task: Task, daily_columns) -> dict | None:
        """The checked entry of ``task`` with ``daily_columns``, or None (missing, incomplete or rejected)."""
        p = self.path(task)
        try:
            entry = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:  # ValueError: bad JSON or bad UTF-8
            self._reject(p, "could not be read" if isinstance(exc, OSError) else "is not valid JSON")
            return None
        problem = _shape_problem(entry, task.point.scenario.horizon_days)
        if problem is None and "checksum" not in entry:
            problem = "has no checksum (an older cache format)"
        if problem is None and entry.get("key") != task.key:
            problem = f"was written for another key ({entry.get('key')})"
        if problem is None and entry["checksum"] != _checksum(entry):
            problem = "failed its checksum"
        if problem is not None:
            self._reject(p, problem)
            return None
        if any(c not in entry["daily"] for c in daily_columns):
            return None
        return entry

    def _reject(self, p: Path, problem: str) -> None:
        self.warn(f"warning: cache entry {p} {problem}; recomputing it")

    def put(self, task: Task, out: dict) -> None:
        """Write an ok output with its seed, key and checksum, atomically (failed outputs are not kept)."""
        if out["status"] != "ok":
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        entry = {**out, "seed": task.seed, "key": task.key}
        entry["checksum"] = _checksum(entry)
        p = self.path(task)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entry), encoding="utf-8")
        os.replace(tmp, p)

    def remove_stale_temp_files(self) -> list[Path]:
        """Delete the ``.KEY.json.PID.tmp`` files of writers killed mid-write; return them.

        A temporary file lives for milliseconds, so one whose process is gone, or that is
        older than ``STALE_SECONDS``, is a leftover; a live writer's file is left alone.
        """
        removed = []
        for p in sorted(self.folder.glob(".*.tmp")) if self.folder.is_dir() else []:
            pid = p.name.rsplit(".", 2)[-2]
            if (pid.isdigit() and not owner_alive(int(pid))) or older_than(p, STALE_SECONDS):
                p.unlink(missing_ok=True)
                removed.append(p)
        return removed


class _PlainLines:
    """A stream for tqdm that turns its carriage-return redraws into one plain line each (logs, pipes)."""

    def __init__(self, stream):
        self.stream = stream
        self.last = ""

    def write(self, text: str) -> None:
        line = text.replace("\r", "").rstrip()
        if line and line != self.last:  # tqdm redraws the final state on close: print it once
            self.stream.write(line + "\n")
            self.last = line

    def flush(self) -> None:
        self.stream.flush()


class Progress:
    """Progress of a batch, drawn by tqdm: a bar with an ETA on a terminal; on a pipe or log
    file one plain line (``n/total replications done, last LABEL; elapsed ..., ETA ...``) every
    ``PLAIN_SECONDS`` and at the end; nothing when ``quiet``.

    >>> import io
    >>> out = io.StringIO()
    >>> with Progress(2, 0, stream=out) as bar:
    ...     bar.step("a #0"); bar.step("a #1")
    >>> out.getvalue().splitlines()[-1].startswith("2/2 replications done, last a #1; elapsed")
    True
    """

    PLAIN_SECONDS = 3.0

    def __init__(
        self,
        total: int,
        done: int = 0,
        quiet: bool = False,
        stream=None,
        unit: str = "replications",
        desc: str | None = None,
    ):
        from tqdm import tqdm

        stream = sys.stderr if stream is None else stream
        self.total, self.done, self.quiet = total, done, quiet
        tty = bool(getattr(stream, "isatty", lambda: False)())
        prefix = f"{desc}: " if desc else ""
        if tty:
            fmt = prefix + "{bar:30} {n_fmt}/{total_fmt} " + unit + " [{elapsed}<{remaining}]{postfix}"
        else:
            fmt = prefix + "{n_fmt}/{total_fmt} " + unit + " done{postfix}; elapsed {elapsed}, ETA {remaining}"
        self._bar = tqdm(
            total=total,
            initial=done,
            disable=quiet,
            file=stream if tty else _PlainLines(stream),
            mininterval=0.2 if tty else self.PLAIN_SECONDS,
            bar_format=fmt,
            ascii=not tty,
            dynamic_ncols=tty,
            leave=True,
        )

    def step(self, label: str = "") -> None:
        """One more task done; ``label`` names it in the progress line."""
        self.done += 1
        if self.quiet:
            return
        if label:
            self._bar.set_postfix_str(f"last {label}", refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        """Draw the final state and release the bar."""
        self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _execute(
    todo: list[Task],
    executor: str,
    workers: int | None,
    scheduler: str | None,
    daily_columns: tuple | None,
    on_done: Callable[[Task, dict], None],
    job: Callable = run_task,
    cancel: Event | None = None,
) -> None:
    """Run ``job(scenario, seed, daily_columns)`` (never raising; ``run_task`` by default) for every task.

    ``cancel`` set (from another thread) raises ``KeyboardInterrupt`` here, as Ctrl-C would: serially
    before the next replication starts, on worker processes within ``CANCEL_POLL_SECONDS``."""
    if not todo:
        return
    if executor == "serial" or (executor == "process" and (workers or os.cpu_count() or 1) == 1):
        for t in todo:
            _check_cancel(cancel)
            on_done(t, job(t.point.scenario, t.seed, daily_columns))
        return
    if executor == "process":
        _execute_processes(todo, workers or os.cpu_count() or 1, daily_columns, on_done, job, cancel)
        return
    _execute_dask(todo, workers, scheduler, daily_columns, on_done, job, cancel)


#: How often a batch on worker processes or Dask looks at its cancel event (seconds).
CANCEL_POLL_SECONDS = 0.2


def _check_cancel(cancel: Event | None) -> None:
    """Raise ``KeyboardInterrupt`` (the Ctrl-C path: workers ended, finished work kept) if ``cancel`` is set."""
    if cancel is not None and cancel.is_set():
        raise KeyboardInterrupt


def _worker(conn, jobs: list, daily_columns: tuple | None, job: Callable = run_task) -> None:
    """A worker process: run the job indices sent over ``conn`` until told to stop (None)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it ends the workers
    parent = os.getppid()
    try:
        while True:
            if not conn.poll(1.0):
                if os.getppid() != parent:
                    return  # the parent was killed outright: do not linger
                continue
            i = conn.recv()
            if i is None:
                return
            scenario, seed = jobs[i]
            conn.send(job(scenario, seed, daily_columns))
    except (EOFError, OSError):
        return  # the parent went away


class _Workers:
    """The worker processes of one batch, each with its own pipe and one replication in flight at a time.

    ``jobs`` (scenario, seed) pairs are inherited by fork (or pickled once per worker); ``busy``
    maps a worker's connection to (process, job index).
    """

    def __init__(self, ctx, jobs: list, daily_columns: tuple | None, job: Callable):
        self.ctx, self.jobs, self.daily_columns, self.job = ctx, jobs, daily_columns, job
        self.pending = deque(range(len(jobs)))
        self.procs: list = []
        self.busy: dict = {}

    def give(self, conn, proc) -> None:
        """Send the worker the next job index, or None (nothing left: the worker exits)."""
        i = self.pending.popleft() if self.pending else None
        with contextlib.suppress(OSError):  # the worker just died: wait() sees its end of file
            conn.send(i)
        if i is None:
            conn.close()
        else:
            self.busy[conn] = (proc, i)

    def start(self) -> None:
        """Start one more worker and give it a job."""
        conn, child_end = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker, args=(child_end, self.jobs, self.daily_columns, self.job), daemon=True)
        proc.start()
        child_end.close()
        self.procs.append(proc)
        self.give(conn, proc)

    def receive(self, conn) -> tuple[int, dict]:
        """(job index, output) from a worker that is ready; a worker that died fails its job and is replaced."""
        proc, i = self.busy.pop(conn)
        try:
            out = conn.recv()
        except (EOFError, OSError):
            conn.close()
            _end_processes([proc])  # normally gone already
            out = {
                "status": "failed",
                "kpis": {},
                "daily": {},
                "seconds": 0.0,
                "error": f"WorkerDied: the worker process ended with exit code {proc.exitcode}",
            }
            if self.pending:
                self.start()
        else:
            self.give(conn, proc)
        return i, out

    def close(self, finished: bool) -> None:
        """Join the workers after a finished batch; otherwise end them at once. Close the pipes."""
        if finished:
            for proc in self.procs:
                proc.join()
        else:
            _end_processes(self.procs)
        for conn in self.busy:
            conn.close()


def _execute_processes(
    todo: list[Task],
    workers: int,
    daily_columns: tuple | None,
    on_done: Callable[[Task, dict], None],
    job: Callable = run_task,
    cancel: Event | None = None,
) -> None:
    """Run ``todo`` on worker processes that this function owns from start to end.

    Each worker has its own pipe and one replication in flight at a time. Workers ignore
    SIGINT; on Ctrl-C (or any error here) the parent terminates them at once (SIGTERM,
    then SIGKILL after a second), so queued replications never start, the running ones
    are dropped, and the exception propagates: finished ones are already in the cache.
    A worker that dies (killed, out of memory) fails only its replication and is replaced.
    ``cancel`` set ends the batch the same way as Ctrl-C, within ``CANCEL_POLL_SECONDS``.
    """
    import multiprocessing as mp
    from multiprocessing.connection import wait

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    pool = _Workers(ctx, [(t.point.scenario, t.seed) for t in todo], daily_columns, job)
    finished = False
    try:
        for _ in range(min(workers, len(todo))):
            pool.start()
        while pool.busy:
            _check_cancel(cancel)
            for conn in wait(list(pool.busy), timeout=CANCEL_POLL_SECONDS if cancel is not None else None):
                i, out = pool.receive(conn)
                on_done(todo[i], out)
        finished = True
    finally:
        pool.close(finished)


def _end_processes(procs, grace_seconds: float = 1.0) -> None:
    """Terminate processes now (SIGTERM), SIGKILL those still alive after ``grace_seconds``."""
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    deadline = time.monotonic() + grace_seconds
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join()


def _execute_dask(
    todo, workers, scheduler, daily_columns, on_done, job: Callable = run_task, cancel: Event | None = None
) -> None:
    """Run ``todo`` on Dask; on Ctrl-C (or ``cancel`` set) cancel every future and close the client
    (and cluster) at once."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise RuntimeError("the dask executor needs the 'dask' extra: pip install -e '.[dask]'") from None
    import multiprocessing as mp

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        before = set(mp.active_children())
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count(),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=50,  # CRITICAL only: a worker's heartbeat racing the shutdown logs a traceback at ERROR
        )
        client = Client(cluster)
    futures = {}
    finished = False
    try:
        for t in todo:
            f = client.submit(job, t.point.scenario, t.seed, daily_columns, pure=False)
            futures[f] = t
        _dask_collect(futures, on_done, as_completed, cancel)
        finished = True
    finally:
        if finished:
            client.close()
            if cluster is not None:
                cluster.close()
        else:  # interrupted: drop the queued and running tasks, do not wait for them
            _quietly(lambda: client.cancel(list(futures), force=True))
            _quietly(lambda: client.close(timeout=2))
            if cluster is not None:  # its worker processes would finish their task first: end them
                _end_processes(set(mp.active_children()) - before)
                _quietly(lambda: cluster.close(timeout=2))


def _dask_collect(futures: dict, on_done, as_completed, cancel: Event | None) -> None:
    """Hand each finished future's output to ``on_done``; look at ``cancel`` every ``CANCEL_POLL_SECONDS``."""
    pending = as_completed(list(futures))
    if cancel is None:
        for f in pending:
            on_done(futures[f], f.result())
        return
    while not pending.is_empty():
        _check_cancel(cancel)
        for f in pending.next_batch(block=False) or []:
            on_done(futures[f], f.result())
        if not pending.has_ready():
            time.sleep(CANCEL_POLL_SECONDS)


def _quietly(step: Callable[[], object]) -> None:
    """Run a clean-up step of an interrupted run; its own failure must not hide the interrupt."""
    with contextlib.suppress(Exception):
        step()


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a batch; ``outputs`` maps task index -> output of the replications that finished."""

    def __init__(self, outputs: dict[int, dict]):
        super().__init__()
        self.outputs = outputs


def _from_cache(
    tasks: list[Task], cache: Cache | None, daily_columns, fresh: bool, record_orders: bool
) -> tuple[dict[int, dict], list[Task]]:
    """(task index -> cached output, the tasks still to run); ``fresh`` empties the cache first.

    Stale temporary files of killed writers are removed; with ``record_orders`` every task runs
    (per-order tables are not cached).
    """
    results: dict[int, dict] = {}
    todo = []
    if cache is not None:
        cache.remove_stale_temp_files()
        if fresh and cache.folder.exists():
            for p in cache.folder.glob("*.json"):
                p.unlink()
    for i, t in enumerate(tasks):
        hit = cache.get(t, daily_columns) if cache is not None and not record_orders else None
        if hit is not None:
            results[i] = hit
        else:
            todo.append(t)
    return results, todo


def _check_cacheable(cache_dir: Path | None, daily_columns: tuple | None, job: Callable | None) -> None:
    """ValueError for outputs that cannot be cached: the whole daily table or a custom job's."""
    if daily_columns is None and cache_dir is not None:
        raise ValueError("daily_columns=None (the whole daily table) cannot be cached")
    if job is not None and cache_dir is not None:
        raise ValueError("the output of a custom job is not cached")


def run_outputs(
    tasks: list[Task],
    cache_dir: Path | None = None,
    executor: str = "process",
    workers: int | None = None,
    scheduler: str | None = None,
    daily_columns: Iterable[str] | None = (),
    quiet: bool = False,
    fresh: bool = False,
    desc: str | None = None,
    job: Callable | None = None,
    unit: str = "replications",
    record_orders: bool = False,
    *,
    on_progress: Callable[[int, int], None] | None = None,
    cancel: Event | None = None,
) -> tuple[list[dict], int]:
    """Run ``tasks`` (what is not cached) with a progress bar; return (outputs in task order, cached count).

    ``cache_dir`` None runs without a cache; ``daily_columns`` None keeps every daily column
    (only without a cache). ``job(scenario, seed, daily_columns) -> dict`` replaces ``run_task``
    (it must never raise and return a ``status``; only without a cache; with the process
    executor it reaches the workers by fork, so it may be a closure). Ctrl-C raises
    :class:`Interrupted` carrying the finished outputs. ``record_orders`` adds each
    replication's per-order table (``orders``); those tables are not cached, so every task
    runs (its KPIs are still cached for later runs). ``on_progress(done, total)`` is called once
    before anything runs (``done``: the cached ones) and after each finished replication; ``cancel``
    (a ``threading.Event``) set from another thread stops the batch as Ctrl-C does (:class:`Interrupted`).
    """
    daily_columns = None if daily_columns is None else tuple(daily_columns)
    _check_cacheable(cache_dir, daily_columns, job)
    cache = Cache(cache_dir) if cache_dir is not None else None
    if record_orders:
        job = job or partial(run_task, record_orders=True)
    results, todo = _from_cache(tasks, cache, daily_columns, fresh, record_orders)
    index = {id(t): i for i, t in enumerate(tasks)}
    if not quiet and len(todo) < len(tasks):
        print(f"resuming: {len(tasks) - len(todo)} of {len(tasks)} replications cached", file=sys.stderr)

    if on_progress is not None:
        on_progress(len(tasks) - len(todo), len(tasks))
    with Progress(len(tasks), len(tasks) - len(todo), quiet, unit=unit, desc=desc) as progress:

        def on_done(task: Task, out: dict) -> None:
            if cache is not None:
                cache.put(task, {k: v for k, v in out.items() if k != "orders"})
            results[index[id(task)]] = out
            progress.step(
                f"#{task.replication}" if task.point.name == desc else f"{task.point.name} #{task.replication}"
            )
            if on_progress is not None:
                on_progress(len(results), len(tasks))

        try:
            _check_cancel(cancel)
            _execute(todo, executor, workers, scheduler, daily_columns, on_done, job or run_task, cancel)
        except KeyboardInterrupt:
            raise Interrupted(dict(results)) from None
    return [results[i] for i in range(len(tasks))], len(tasks) - len(todo)


def run_tasks(
    tasks: list[Task],
    cache_dir: Path,
    executor: str = "process",
    workers: int | None = None,
    scheduler: str | None = None,
    daily_columns: Iterable[str] = (),
    quiet: bool = False,
    fresh: bool = False,
    events: list | None = None,
    orders: list | None = None,
    *,
    channels: list | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    cancel: Event | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run what is not cached; return (runs table, daily long table) in task order.

    ``events``: a list to extend with the per-event KPIs (tidy rows), if the caller wants them;
    ``channels``: likewise the per-channel KPIs (wide rows: variant, replication, channel, spend, ...);
    ``orders``: a list to extend with each replication's per-order table (variant and
    replication columns first); asking for it runs every task (per-order tables are not cached).
    ``on_progress`` and ``cancel``: as for :func:`run_outputs`."""
    daily_columns = tuple(daily_columns)
    outputs, cached = run_outputs(
        tasks,
        cache_dir,
        executor,
        workers,
        scheduler,
        daily_columns,
        quiet,
        fresh,
        record_orders=orders is not None,
        on_progress=on_progress,
        cancel=cancel,
    )
    runs, daily = _tables(tasks, dict(enumerate(outputs)), daily_columns, events)
    if channels is not None:
        for t, out in zip(tasks, outputs):
            channels.extend(
                {"variant": t.point.name, "replication": t.replication, "channel": name, **values}
                for name, values in out.get("channels", {}).items()
            )
    if orders is not None:
        for t, out in zip(tasks, outputs):
            if out["status"] == "ok":
                table = out["orders"].copy()
                table.insert(0, "replication", t.replication)
                table.insert(0, "variant", t.point.name)
                orders.append(table)
    runs.attrs["from_cache"] = cached
    return runs, daily


def _tables(tasks, results, daily_columns, events: list | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs and daily tables; ``events`` (if given) is extended with the per-event KPIs as tidy
    rows (variant, replication, event, kpi, value)."""
    rows, dailies = [], []
    for i, t in enumerate(tasks):
        out = results[i]
        rows.append(
            {
                "variant": t.point.name,
                "replication": t.replication,
                "seed": t.seed,
                "status": out["status"],
                **t.point.params,
                **out["kpis"],
                "error": out.get("error", ""),
            }
        )
        if events is not None:
            events.extend(
                {"variant": t.point.name, "replication": t.replication, "event": label, "kpi": name, "value": value}
                for label, values in out.get("events", {}).items()
                for name, value in values.items()
            )
        if out["status"] == "ok" and daily_columns:
            d = pd.DataFrame(out["daily"])
            d.insert(0, "day", range(len(d)))
            d.insert(0, "replication", t.replication)
            d.insert(0, "variant", t.point.name)
            dailies.append(d)
    daily = pd.concat(dailies, ignore_index=True) if dailies else pd.DataFrame()
    return pd.DataFrame(rows), daily
