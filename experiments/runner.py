"""Run variants x replications as independent tasks, on one machine or a Dask cluster.

Replication r uses the seed ``replication_seed(master, r)`` in every variant, so
variants see the same demand (common random numbers) and paired differences are
tight. Every finished replication is written at once to ``cache/`` keyed by
(scenario hash, simulator fingerprint, seed); running the same spec again only does
what is missing, and a change to the simulator's code (``sim/``) invalidates the cache.
A replication that raises is recorded (status ``failed``, its error and seed)
and the others go on. Results are identical whatever the executor and worker count.

>>> from experiments.spec import load_spec
>>> spec, points = load_spec("experiments/demo.yaml")
>>> len(tasks_for(points, replications=2, master_seed=spec.seed))
8
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from experiments.spec import Point
from sim.model import simulate
from sim.streams import replication_seed, simulator_fingerprint

SIM_FINGERPRINT = simulator_fingerprint()  # cached results of other simulator code are not reused


@dataclass(frozen=True)
class Task:
    point: Point
    replication: int
    seed: int

    @property
    def key(self) -> str:
        return f"{self.point.hash}-{SIM_FINGERPRINT}-{self.seed}"


def tasks_for(points: list[Point], replications: int, master_seed: int) -> list[Task]:
    seeds = [replication_seed(master_seed, r) for r in range(replications)]
    return [Task(p, r, seeds[r]) for p in points for r in range(replications)]


def run_task(scenario, seed: int, daily_columns: tuple[str, ...]) -> dict:
    """Simulate one replication; never raises (errors come back as data)."""
    start = time.perf_counter()
    try:
        result = simulate(scenario, seed)
        daily = {c: result.daily[c].tolist() for c in daily_columns}
        return {"status": "ok", "kpis": result.kpis, "daily": daily, "events": result.event_kpis, "error": "",
                "seconds": time.perf_counter() - start}
    except Exception as exc:  # a failed replication must not stop the others
        return {"status": "failed", "kpis": {}, "daily": {}, "seconds": time.perf_counter() - start,
                "error": f"{exc.__class__.__name__}: {exc}", "traceback": traceback.format_exc()}


class Cache:
    """One JSON file per finished replication, written atomically."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, task: Task) -> Path:
        return self.folder / f"{task.key}.json"

    def get(self, task: Task, daily_columns) -> dict | None:
        p = self.path(task)
        if not p.exists():
            return None
        try:
            out = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            return None  # a damaged entry is simply recomputed
        if out.get("status") != "ok" or any(c not in out.get("daily", {}) for c in daily_columns):
            return None
        return out

    def put(self, task: Task, out: dict) -> None:
        if out["status"] != "ok":
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        p = self.path(task)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**out, "seed": task.seed}))
        os.replace(tmp, p)


class Progress:
    """A bar with an ETA on a terminal, plain lines otherwise."""

    def __init__(self, total: int, done: int, quiet: bool = False, stream=sys.stderr):
        self.total, self.done, self.quiet, self.stream = total, done, quiet, stream
        self.start = time.perf_counter()
        self.start_done = done
        self.tty = stream.isatty()
        self._last_line = 0.0

    def step(self, label: str) -> None:
        self.done += 1
        if self.quiet:
            return
        elapsed = time.perf_counter() - self.start
        rate = (self.done - self.start_done) / elapsed if elapsed > 0 else 0
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta_txt = "--" if eta != eta else f"{eta:,.0f}s"
        if self.tty:
            width = 30
            filled = int(width * self.done / self.total)
            print(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} ETA {eta_txt}  ",
                  end="", file=self.stream, flush=True)
            if self.done == self.total:
                print(file=self.stream)
        elif self.done == self.total or time.perf_counter() - self._last_line > 2.0:
            self._last_line = time.perf_counter()
            print(f"{self.done}/{self.total} replications done ({label}); elapsed {elapsed:,.1f}s, ETA {eta_txt}",
                  file=self.stream, flush=True)


def _execute(todo: list[Task], executor: str, workers: int | None, scheduler: str | None,
             daily_columns: tuple, on_done: Callable[[Task, dict], None]) -> None:
    if not todo:
        return
    if executor == "serial" or (executor == "process" and (workers or os.cpu_count() or 1) == 1):
        for t in todo:
            on_done(t, run_task(t.point.scenario, t.seed, daily_columns))
        return
    if executor == "process":
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
        with ProcessPoolExecutor(max_workers=workers or os.cpu_count(), mp_context=ctx) as pool:
            futures = {pool.submit(run_task, t.point.scenario, t.seed, daily_columns): t for t in todo}
            try:
                for f in as_completed(futures):
                    on_done(futures[f], f.result())
            except KeyboardInterrupt:
                for f in futures:
                    f.cancel()
                raise
        return
    _execute_dask(todo, workers, scheduler, daily_columns, on_done)


def _execute_dask(todo, workers, scheduler, daily_columns, on_done) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise RuntimeError("the dask executor needs the 'dask' extra: pip install -e '.[dask]'") from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
        client = Client(cluster)
    try:
        futures = {}
        for t in todo:
            f = client.submit(run_task, t.point.scenario, t.seed, daily_columns, pure=False)
            futures[f] = t
        for f in as_completed(list(futures)):
            on_done(futures[f], f.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_tasks(tasks: list[Task], cache_dir: Path, executor: str = "process", workers: int | None = None,
              scheduler: str | None = None, daily_columns: Iterable[str] = (), quiet: bool = False,
              fresh: bool = False, events: list | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run what is not cached; return (runs table, daily long table) in task order.

    ``events``: a list to extend with the per-event KPIs (tidy rows), if the caller wants them."""
    daily_columns = tuple(daily_columns)
    cache = Cache(cache_dir)
    if fresh and cache.folder.exists():
        for p in cache.folder.glob("*.json"):
            p.unlink()
    results: dict[int, dict] = {}
    todo = []
    for i, t in enumerate(tasks):
        hit = cache.get(t, daily_columns)
        if hit is not None:
            results[i] = hit
        else:
            todo.append(t)
    index = {id(t): i for i, t in enumerate(tasks)}
    progress = Progress(len(tasks), len(tasks) - len(todo), quiet)
    if not quiet and len(todo) < len(tasks):
        print(f"resuming: {len(tasks) - len(todo)} of {len(tasks)} replications cached", file=sys.stderr)

    def on_done(task: Task, out: dict) -> None:
        cache.put(task, out)
        results[index[id(task)]] = out
        progress.step(f"{task.point.name} #{task.replication}")

    _execute(todo, executor, workers, scheduler, daily_columns, on_done)
    runs, daily = _tables(tasks, results, daily_columns, events)
    runs.attrs["from_cache"] = len(tasks) - len(todo)
    return runs, daily


def _tables(tasks, results, daily_columns, events: list | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs and daily tables; ``events`` (if given) is extended with the per-event KPIs as tidy
    rows (variant, replication, event, kpi, value)."""
    rows, dailies = [], []
    for i, t in enumerate(tasks):
        out = results[i]
        rows.append({"variant": t.point.name, "replication": t.replication, "seed": t.seed,
                     "status": out["status"], **t.point.params, **out["kpis"],
                     "error": out.get("error", "")})
        if events is not None:
            events.extend({"variant": t.point.name, "replication": t.replication, "event": label, "kpi": name,
                           "value": value}
                          for label, values in out.get("events", {}).items() for name, value in values.items())
        if out["status"] == "ok" and daily_columns:
            d = pd.DataFrame(out["daily"])
            d.insert(0, "day", range(len(d)))
            d.insert(0, "replication", t.replication)
            d.insert(0, "variant", t.point.name)
            dailies.append(d)
    daily = pd.concat(dailies, ignore_index=True) if dailies else pd.DataFrame()
    return pd.DataFrame(rows), daily
