"""Experiment specs: a base scenario, variants and/or a grid sweep, replications, metrics, plots.

A spec is YAML validated with the same error style as scenarios (one line per
problem: ``FILE:LINE: key.path: message``). Example::

    name: demo
    base: ../scenarios/baseline.yaml      # relative to this file
    variants:
      - {name: service_95}
      - {name: service_98, set: {inventory.policy.service_level: 0.98}}
    grid:                                 # optional: cartesian product, crossed with the variants
      inventory.policy.review_period_days: [7, 14]
      "warehouses[0].picking.pickers,warehouses[1].picking.pickers": [3, 4]   # linked keys
    replications: 10
    seed: 42
    baseline: service_95
    metrics: [unit_fill_rate, avg_inventory_value, total_cost]
    plots:
      - {type: bar, metric: unit_fill_rate}
    executor: {type: process, workers: 2}

Every variant x grid point becomes one scenario (``expand``), validated up front
so a typo in a variant is reported before anything runs or is written.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.kpis import DAILY_COLUMNS_INFO
from sim.metrics import KPI_INFO
from sim.scenario.errors import InputError, Problem
from sim.scenario.loader import apply_overrides, load_source, pydantic_problems, scenario_hash, validate_data, value_at
from sim.scenario.schema import SafeName, Scenario
from sim.scenario.yamlio import (
    Source,
    format_path,
    parse_key_path,
    read_yaml,
    resolve_path,
    set_path,
    short_label,
    suggest,
)


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Variant(_M):
    """A named set of overrides of the base scenario."""

    name: str = Field(min_length=1, description="variant name (used in tables and plots)")
    set: dict[str, Any] = Field(default_factory=dict, description="overrides: key path -> value")
    description: str = ""


class PlotSpec(_M):
    """One figure of the report: its type and the metrics, grid keys or variants it shows."""

    type: Literal["bar", "sweep", "tradeoff", "daily", "paired"]
    metric: str | None = Field(None, description="KPI (bar, sweep, paired) or daily column (daily)")
    x: str | None = Field(None, description="sweep: grid key path; tradeoff: KPI on the x axis")
    y: str | None = Field(None, description="tradeoff: KPI on the y axis")
    series: str | None = Field(None, description="sweep: a second grid key path, one line per value")
    minimize_x: bool = True
    minimize_y: bool = True
    variants: list[str] | None = Field(None, description="daily: only these variants (default all)")
    days: tuple[int, int] | None = Field(None, description="daily: first and last day shown, e.g. [300, 330]")
    title: str | None = None


class Executor(_M):
    """Where the replications run: in this process, in worker processes or on a Dask cluster."""

    type: Literal["serial", "process", "dask"] = "process"
    workers: int | None = Field(None, ge=1, description="worker processes (default: CPU count)")
    scheduler: str | None = Field(None, description="dask scheduler address; default a LocalCluster")


HalfWidth = Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]  # a finite CI half-width > 0


class Select(_M):
    """Ranking and selection: pick the best variant with a probability-of-correct-selection guarantee.

    ``kn`` (Kim-Nelson, fully sequential, eliminates with common random numbers), ``rinott``
    (two-stage) and ``ocba`` (allocates a replication budget; its guarantee is an estimate) run the
    variants until the procedure stops; see ``experiments.selection`` and docs/output-analysis.md.
    """

    metric: str = Field(description="the KPI that decides which variant is best")
    goal: Literal["min", "max"] = Field("min", description="min: the smallest mean is best; max: the largest")
    procedure: Literal["kn", "ocba", "rinott"] = "kn"
    indifference: float = Field(
        gt=0, allow_inf_nan=False, description="delta: a difference smaller than this is not worth telling apart"
    )
    confidence: float = Field(
        0.95, gt=0, lt=1, description="P*: the probability of selecting the best (or a variant within delta of it)"
    )
    first_stage: int | None = Field(
        None,
        ge=2,
        le=10_000,
        description="n0: replications of every variant before the procedure decides (default: replications)",
    )
    max_replications: int = Field(
        1000, ge=2, le=100_000, description="per variant; hitting it ends without the guarantee"
    )
    budget: int | None = Field(
        None,
        ge=2,
        le=1_000_000,
        description="ocba: total replications over all variants (default max_replications per variant)",
    )
    increment: int | None = Field(
        None,
        ge=1,
        le=100_000,
        description="kn: replications added to every survivor per round (default 1); ocba: per round (default: one per variant)",
    )


class StopWhen(_M):
    """Sequential replications: add batches (the same replications on every variant) until every target is met."""

    half_width: dict[str, HalfWidth] = Field(default_factory=dict, description="metric -> CI half-width wanted")
    relative_half_width: dict[str, HalfWidth] = Field(
        default_factory=dict, description="metric -> CI half-width wanted as a share of |mean| (0.01 = 1%)"
    )
    max_replications: int = Field(200, ge=2, le=100_000, description="stop here even if a target is not met")
    batch: int | None = Field(
        None, ge=1, le=100_000, description="replications added per round (default: replications)"
    )


class Spec(_M):
    """An experiment: a base scenario, variants and/or a grid sweep, replications, metrics and plots."""

    name: SafeName = Field(description="experiment name, also its folder results/NAME/")
    description: str = ""
    base: str = Field(description="base scenario file, relative to the spec file")
    set: dict[str, Any] = Field(default_factory=dict, description="overrides applied to every variant")
    variants: list[Variant] = Field(default_factory=list)
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="key path -> values (cartesian product)")
    replications: int = Field(10, ge=1, le=100_000)
    seed: int = Field(1, ge=0)
    baseline: str | None = Field(None, description="variant the others are compared with (default: the first)")
    metrics: list[str] = Field(
        default_factory=lambda: ["unit_fill_rate", "avg_inventory_value", "total_cost"], min_length=1
    )
    daily_metrics: list[str] = Field(default_factory=list, description="daily columns kept for daily plots")
    plots: list[PlotSpec] = Field(default_factory=list)
    executor: Executor = Field(default_factory=Executor)
    target_half_width: dict[str, HalfWidth] = Field(
        default_factory=dict, description="metric -> CI half-width wanted (reports n needed)"
    )
    select: Select | None = Field(None, description="select the best variant with a guarantee (KN, OCBA, Rinott)")
    stop_when: StopWhen | None = Field(None, description="add replications until the CI targets are met")
    control_variates: list[Literal["demand", "lead_time"]] = Field(
        default_factory=list, description="controls with a known mean: realised demand, realised supplier lead times"
    )

    @property
    def most_replications(self) -> int:
        """The most replications any variant can get: ``replications``, or the cap of ``select`` / ``stop_when``."""
        if self.select is not None:
            return self.select.max_replications
        if self.stop_when is not None:
            return self.stop_when.max_replications
        return self.replications

    @property
    def reported_metrics(self) -> list[str]:
        """The spec's metrics, then the ones ``select`` and ``stop_when`` name (each once)."""
        extra = [self.select.metric] if self.select else []
        if self.stop_when:
            extra += [*self.stop_when.half_width, *self.stop_when.relative_half_width]
        return list(dict.fromkeys([*self.metrics, *extra]))


@dataclass(frozen=True)
class Point:
    """One simulated configuration: a variant (crossed with a grid point)."""

    name: str
    scenario: Scenario
    params: dict[str, Any]  # grid key path -> value
    hash: str


#: The daily columns a spec may request (``daily_metrics``): every numeric column of the daily table.
DAILY_COLUMNS = tuple(c for c in DAILY_COLUMNS_INFO if c not in ("day", "date", "warmup"))


MAX_POINTS = 10_000  # variants x grid points of one spec; each is validated (about 2 ms) and simulated


def count_points(spec: Spec) -> int:
    """Variants x grid points: the product of the list lengths, counted before anything is expanded.

    >>> count_points(Spec(name="g", base="b.yaml", grid={"a": [1, 2, 3], "b": list(range(10**5))}))
    300000
    """
    return max(len(spec.variants), 1) * math.prod(len(values) for values in spec.grid.values())


def _label(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def load_spec(path: str | Path, overrides: Iterable = ()) -> tuple[Spec, list[Point]]:
    """Read and validate a spec and every scenario it expands to; InputError lists all problems.

    ``overrides`` (``KEY=VALUE`` or ``(origin, text)``, as ``--window`` gives) apply to every variant
    after its own keys and the grid, so they are part of each resolved scenario and its hash."""
    path = Path(path)
    spec, src = _read_spec(path)
    problems, at = _collector(src, str(path))
    _check_names(spec, at)
    _check_size(spec, at)
    _check_plots(spec, at)
    base_path = path.parent / spec.base
    if not base_path.is_file():
        at(("base",), f"scenario file {spec.base!r} not found (looked in {path.parent})")
    if problems:
        raise InputError(problems)
    points = _expand(spec, src, path, base_path, tuple(overrides))
    _check_variant_names(spec, points, at)
    if problems:
        raise InputError(problems)
    return spec, points


def _read_spec(path: Path) -> tuple[Spec, Source]:
    """The validated :class:`Spec` of the YAML file ``path`` and its source (for line numbers)."""
    name = str(path)
    src = read_yaml(path)
    if not isinstance(src.data, dict):
        raise InputError([Problem(name, 1, "", "an experiment spec must be a mapping of keys to values")])
    try:
        return Spec.model_validate(src.data), src
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, src, name, model=Spec)) from None


At = Callable[[tuple, str], None]  # records a problem at a key path of the spec file


def _collector(src: Source, name: str) -> tuple[list[Problem], At]:
    """An empty problem list and the function that adds one at a key path (with its file and line)."""
    problems: list[Problem] = []

    def at(keypath: tuple, msg: str) -> None:
        file, line = src.locate(keypath, name)
        problems.append(Problem(file, line, format_path(keypath), msg))

    return problems, at


def _check_names(spec: Spec, at: At) -> None:
    """Metrics and daily columns that exist, unique variant names, a known baseline (without a grid)."""
    kpis = list(KPI_INFO)
    for i, m in enumerate(spec.metrics):
        if m not in KPI_INFO:
            at(("metrics", i), f"unknown metric {m!r}{suggest(m, kpis)}")
    for m in spec.target_half_width:
        if m not in KPI_INFO:
            at(("target_half_width", m), f"unknown metric {m!r}{suggest(m, kpis)}")
    _check_sequential(spec, at)
    for i, m in enumerate(spec.daily_metrics):
        if m not in DAILY_COLUMNS:
            at(("daily_metrics", i), f"unknown daily column {m!r}{suggest(m, DAILY_COLUMNS)}")
    names = [v.name for v in spec.variants] or ["base"]
    if len(set(names)) != len(names):
        at(("variants",), "variant names must be unique")
    if spec.baseline is not None and not spec.grid and spec.baseline not in names:
        at(("baseline",), f"unknown variant {spec.baseline!r}{suggest(spec.baseline, names)}")


def _check_sequential(spec: Spec, at: At) -> None:
    """``select`` and ``stop_when`` name known metrics, are not combined, selection has two or more variants,
    and control variates have replications enough to be fitted."""
    kpis = list(KPI_INFO)
    if spec.select is not None:
        if spec.select.metric not in KPI_INFO:
            at(("select", "metric"), f"unknown metric {spec.select.metric!r}{suggest(spec.select.metric, kpis)}")
        if count_points(spec) < 2:
            at(("select",), "selection needs at least two variants (or grid points)")
        if spec.select.confidence <= 1 / max(count_points(spec), 2):
            at(("select", "confidence"), f"must be above 1/k = {1 / max(count_points(spec), 2):.3g} (k variants)")
        n0 = spec.select.first_stage or spec.replications
        if n0 < 2:
            at(("select", "first_stage"), "needs at least 2 replications (set first_stage or replications)")
        if n0 > spec.select.max_replications:
            at(("select", "max_replications"), f"must be at least the first stage ({n0})")
        if spec.stop_when is not None:
            at(("stop_when",), "use select or stop_when, not both: a selection procedure decides its own replications")
    if spec.stop_when is not None:
        for group in ("half_width", "relative_half_width"):
            for m in getattr(spec.stop_when, group):
                if m not in KPI_INFO:
                    at(("stop_when", group, m), f"unknown metric {m!r}{suggest(m, kpis)}")
        if not spec.stop_when.half_width and not spec.stop_when.relative_half_width:
            at(("stop_when",), "name at least one target: half_width or relative_half_width")
        if spec.stop_when.max_replications < spec.replications:
            at(("stop_when", "max_replications"), f"must be at least replications ({spec.replications})")
    need = len(set(spec.control_variates)) + 3
    if spec.control_variates and spec.select is None and spec.replications < need:
        at(
            ("control_variates",),
            f"need at least {need} replications to fit the controls (replications is {spec.replications})",
        )


def _check_size(spec: Spec, at: At) -> None:
    """Every grid key has values, and variants x grid points stay within ``MAX_POINTS`` (counted, not expanded)."""
    for key, values in spec.grid.items():
        if not values:
            at(("grid", key), "needs at least one value")
    n_points = count_points(spec)
    if n_points > MAX_POINTS:
        sizes = " x ".join(f"{len(v):,}" for v in ([spec.variants] if spec.variants else []) + list(spec.grid.values()))
        at(
            ("grid",) if spec.grid else ("variants",),
            f"{n_points:,} points ({sizes}) is more than the {MAX_POINTS:,} one spec may run, even with "
            f"--allow-large; split the sweep into several specs or use fewer values",
        )


def _check_variant_names(spec: Spec, points: list[Point], at: At) -> None:
    """With a grid, the baseline and the variants a daily plot names are variants or grid points."""
    known = [v.name for v in spec.variants] + [p.name for p in points]
    if spec.baseline is not None and spec.grid and spec.baseline not in known:
        at(("baseline",), f"unknown variant {spec.baseline!r}{suggest(spec.baseline, known)}")
    for i, plot in enumerate(spec.plots):
        for j, v in enumerate(plot.variants or []):
            if v not in known:
                at(("plots", i, "variants", j), f"unknown variant {v!r}{suggest(v, known)}")


def _check_plots(spec: Spec, at: At) -> None:
    """Each plot names what its type needs, and only metrics, daily columns and grid keys of the spec."""
    kpis = list(KPI_INFO)
    for i, p in enumerate(spec.plots):
        base = ("plots", i)
        need = {
            "bar": ["metric"],
            "paired": ["metric"],
            "daily": ["metric"],
            "sweep": ["metric", "x"],
            "tradeoff": ["x", "y"],
        }[p.type]
        for key in need:
            if getattr(p, key) is None:
                at(base, f"a {p.type} plot needs '{key}'")
        if p.type in ("bar", "paired", "sweep") and p.metric and p.metric not in spec.reported_metrics:
            at((*base, "metric"), f"{p.metric!r} is not in metrics{suggest(p.metric, spec.reported_metrics)}")
        if p.type == "daily" and p.metric and p.metric not in spec.daily_metrics:
            at((*base, "metric"), f"{p.metric!r} is not in daily_metrics{suggest(p.metric, spec.daily_metrics)}")
        if p.type == "tradeoff":
            for key in ("x", "y"):
                v = getattr(p, key)
                if v and v not in spec.reported_metrics:
                    at((*base, key), f"{v!r} is not in metrics{suggest(v, kpis)}")
        if p.type == "sweep":
            for key in ("x", "series"):
                v = getattr(p, key)
                if v and v not in spec.grid:
                    at((*base, key), f"{v!r} is not a grid key{suggest(v, list(spec.grid))}")
        if p.days is not None and p.days[0] > p.days[1]:
            at((*base, "days"), "the first day must not be after the last")
        if p.type == "paired" and len(spec.variants) < 2 and not spec.grid:
            at(base, "a paired plot needs at least two variants")


def _apply(src: Source, overrides: dict, spec_src: Source, spec_file: str, where: tuple) -> Source:
    data, origin = src.data, dict(src.origin)
    problems = []
    for key_text, value in overrides.items():
        try:
            targets = resolve_path(data, parse_key_path(key_text))  # [name] and [*] -> positions
            data = set_path(data, parse_key_path(key_text), value)
        except ValueError as exc:
            file, line = spec_src.locate((*where, key_text), spec_file)
            problems.append(Problem(file, line, format_path((*where, key_text)), str(exc)))
            continue
        hit = spec_src.locate((*where, key_text), spec_file)
        for key in targets:
            for k in list(origin):
                if k[: len(key)] == key:
                    origin[k] = hit
            origin[key] = hit
            for n in range(1, len(key)):  # a scalar the override turned into a mapping is now the spec's
                if not isinstance(value_at(src.data, key[:n]), (dict, list)):
                    origin[key[:n]] = hit
    if problems:
        raise InputError(problems)
    return Source(data=data, origin=origin, files=src.files)


def _expand(spec: Spec, spec_src: Source, path: Path, base_path: Path, overrides: tuple = ()) -> list[Point]:
    spec_file = str(path)
    base = load_source(base_path)
    base = _apply(base, spec.set, spec_src, spec_file, ("set",))
    variants = spec.variants or [Variant(name="base")]
    keys = list(spec.grid)
    combos = list(itertools.product(*(spec.grid[k] for k in keys))) if keys else [()]
    points, problems, seen = [], [], set()
    for vi, variant in enumerate(variants):
        for combo in combos:
            params = dict(zip(keys, combo))
            label = ",".join(f"{short_label(k)}={_label(v)}" for k, v in params.items())
            name = (
                variant.name
                if not label
                else (label if len(variants) == 1 and not spec.variants else f"{variant.name}[{label}]")
            )
            try:
                src = _apply(base, variant.set, spec_src, spec_file, ("variants", vi, "set"))
                for k, v in params.items():  # "a.x,b.x": several keys set to the same value
                    src = _apply(src, {path.strip(): v for path in k.split(",")}, spec_src, spec_file, ("grid",))
                if overrides:
                    given: list[Problem] = []
                    src = apply_overrides(
                        Source(data=src.data, origin=dict(src.origin), files=src.files), overrides, given
                    )
                    if given:
                        raise InputError(given)
                scenario = validate_data(src, str(base_path))
            except InputError as exc:
                for p in exc.problems:
                    if p in seen:  # the same problem in several grid points: report it once
                        continue
                    seen.add(p)
                    tag = f"variant {name!r}: "
                    problems.append(Problem(p.file, p.line, p.path, tag + p.message))
                continue
            points.append(Point(name=name, scenario=scenario, params=params, hash=scenario_hash(scenario)))
    if problems:
        raise InputError(problems)
    return points


def baseline_name(spec: Spec, points: list[Point]) -> str:
    """The point the others are compared with: the spec's baseline (a variant's first grid point) or the first."""
    if spec.baseline is None:
        return points[0].name
    for p in points:
        if p.name == spec.baseline or p.name.startswith(spec.baseline + "["):
            return p.name
    return points[0].name
