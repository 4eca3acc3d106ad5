"""What-if analysis of one scenario: its levers, a run against its baseline, exports.

The public API behind the what-if page (``experiments/web/``); the page only calls these
functions. A what-if is a scenario plus ``--set`` overrides (``KEY=VALUE``), a number of
replications, an optional KPI window and a seed. :func:`run_whatif` runs it as a
two-variant experiment (``baseline``: the scenario as it is, and the what-if) through
:func:`experiments.api.run_experiment`, so both variants get the same replication seeds
(common random numbers: the paired differences are tight), every finished replication is
cached under ``<results>/whatif/runs/cache/`` (a repeated what-if is read from the cache,
and the baseline is shared by every what-if of the same scenario, window and seed), and
the run folder with its HTML report is the one ``run.py experiment`` writes.
:func:`saved_set_spec` writes saved what-ifs as an experiment spec that
``run.py experiment`` reruns to the same numbers.

>>> [lv.key for lv in levers("scenarios/classroom_sq.yaml")][:2]
['demand.scale', 'demand.base_orders_per_day']
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import threading
import time
import typing
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from pydantic import BaseModel

from experiments.api import ExperimentInterrupted, WorkRefused, run_experiment
from experiments.output import atomic_write, atomic_write_text
from experiments.spec import DAILY_COLUMNS
from experiments.stats import t_quantile
from sim.kpis import kpi
from sim.metrics import KPI_INFO, event_windows
from sim.scenario.errors import InputError, Problem
from sim.scenario.loader import day_date, load_scenario, window_override
from sim.scenario.schema import Channel, Demand, Picking, Policy, Promotion, Routing, Scenario, Shift, warmup_days_of
from sim.scenario.yamlio import Select, parse_assignment, parse_key_path, read_yaml

__all__ = [
    "CARD_METRICS",
    "DAILY_METRICS",
    "MAX_UPLOAD_BYTES",
    "MAX_WHATIFS",
    "Lever",
    "WhatIf",
    "WhatIfCancelled",
    "WhatIfResult",
    "levers",
    "overlay_yaml",
    "run_whatif",
    "save_upload",
    "saved_set_spec",
    "shipped_scenarios",
    "tables_csv",
    "tables_excel",
    "windows",
]

#: The largest scenario file :func:`save_upload` accepts (bytes).
MAX_UPLOAD_BYTES = 256 * 1024
#: The most what-ifs one saved set (and one comparison) may hold.
MAX_WHATIFS = 4
#: The KPIs of the cards, in this order; those the scenario does not produce (NaN) are left out.
CARD_METRICS = (
    "on_time_rate",
    "orders",
    "unit_fill_rate",
    "click_to_door_p95",
    "late_orders",
    "total_cost",
    "profit",
    "labour_cost",
    "marketing_cost",
    "shipping_cost_per_order",
    "picker_utilization",
    "avg_inventory_value",
)
#: The daily columns a what-if keeps for its charts (means and CI per variant and day).
DAILY_METRICS = (
    "orders",
    "backlog_end",
    "orders_due",
    "delivered_on_time",
    "late_orders",
    "backorder_units_end",
    "marketing_spend",
    "labour_cost",
)
BASELINE = "baseline"  # the variant name of the scenario without the what-if's overrides
_GROUPS = ("Demand", "Warehouses", "Inventory", "Marketing", "Delivery")


@dataclass(frozen=True)
class Lever:
    """One setting of a scenario a planner may change, as a form control shows it.

    ``key`` is an override key that ``load_scenario`` accepts (``KEY=VALUE``); ``value`` the
    scenario's current value; ``minimum``/``maximum`` the schema's bounds (an exclusive bound
    moved in by one ``step``); ``choices`` the allowed values of a ``"choice"`` lever;
    ``help`` the schema field's description.
    """

    key: str
    label: str
    group: str
    kind: str
    value: object
    minimum: float | None
    maximum: float | None
    step: float | None
    unit: str
    choices: tuple = ()
    help: str = ""

    def override(self, value: object) -> str:
        """The ``KEY=VALUE`` text that sets this lever to ``value``."""
        return f"{self.key}={value}"


def shipped_scenarios(root: str | Path = "scenarios") -> list[Path]:
    """The scenario YAML files shipped in ``root`` (``*.yaml``), sorted by name."""
    return sorted(Path(root).glob("*.yaml"))


def _as_scenario(scenario) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def _bounds(model: type[BaseModel], name: str, step: float | None) -> tuple[float | None, float | None]:
    """(minimum, maximum) of a schema field from its ge/gt/le/lt constraints (exclusive ones moved in by ``step``)."""
    info = model.model_fields[name]
    metadata = list(info.metadata)
    for arg in typing.get_args(info.annotation):  # Annotated[float, Field(...)] | None
        metadata += list(getattr(arg, "__metadata__", ()))
        for inner in getattr(arg, "__metadata__", ()):
            metadata += list(getattr(inner, "metadata", ()))
    low = high = None
    inward = step or 0
    for m in metadata:
        if getattr(m, "ge", None) is not None:
            low = float(m.ge)
        if getattr(m, "gt", None) is not None:
            low = float(m.gt) + inward
        if getattr(m, "le", None) is not None:
            high = float(m.le)
        if getattr(m, "lt", None) is not None:
            high = float(m.lt) - inward
    return low, high


def _choices(model: type[BaseModel], name: str) -> tuple:
    """The values of a ``Literal`` schema field."""
    return tuple(typing.get_args(model.model_fields[name].annotation))


def _lever(
    model: type[BaseModel], name: str, key: str, label: str, group: str, value, unit: str, step=None, **kw
) -> Lever:
    """A lever on the schema field ``model.name`` (kind, range and help taken from the schema)."""
    desc = model.model_fields[name].description or ""
    if "choices" in kw:
        return Lever(key, label, group, "choice", value, None, None, None, unit, tuple(kw["choices"]), desc)
    kind = "int" if isinstance(value, int) and not isinstance(value, bool) else "float"
    step = step if step is not None else (1 if kind == "int" else 0.01)
    low, high = _bounds(model, name, step)
    return Lever(key, label, group, kind, value, low, high, step, unit, (), desc)


def _item(name: str, position: int) -> str:
    """How an override names a list item: ``[name]`` where the key-path syntax can say it,
    else its position (a name of digits, such as promotion ``618``, would read as a position)."""
    try:
        if parse_key_path(f"x[{name}]") == ("x", Select(name)):
            return name
    except ValueError:
        pass
    return str(position)


def _title(name: str) -> str:
    """``east_dc`` -> ``East DC``."""
    words = name.replace("_", " ").replace("-", " ").split()
    return " ".join(w.upper() if w.lower() in ("dc", "fc", "cn", "us", "eu") else w.capitalize() for w in words)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _shift_text(shift: Shift) -> str:
    """``Mon-Fri 8-16h``: a shift's days and hours."""
    days = sorted(shift.weekdays)
    if days == list(range(days[0], days[-1] + 1)) and len(days) > 1:
        when = f"{_DAYS[days[0]]}-{_DAYS[days[-1]]}"
    else:
        when = ",".join(_DAYS[d] for d in days)
    return f"{when} {shift.start_hour:g}-{shift.end_hour:g}h"


def _demand_levers(s: Scenario) -> list[Lever]:
    d = s.demand
    out = [
        _lever(Demand, "scale", "demand.scale", "Demand scale (all sources)", "Demand", d.scale, "x", 0.05),
        _lever(
            Demand,
            "base_orders_per_day",
            "demand.base_orders_per_day",
            "Base orders per day",
            "Demand",
            d.base_orders_per_day,
            "orders/day",
            1.0,
        ),
    ]
    for i, p in enumerate(d.promotions):
        key = f"demand.promotions[{_item(p.name, i)}].uplift"
        out.append(_lever(Promotion, "uplift", key, f"{p.name}: demand uplift", "Demand", p.uplift, "x", 0.1))
    return out


def _warehouse_levers(s: Scenario) -> list[Lever]:
    out = []
    for i, w in enumerate(s.warehouses):
        pk, base, name = w.picking, f"warehouses[{_item(w.name, i)}].picking", _title(w.name)
        if pk is None:
            continue
        if pk.pickers is not None:
            out.append(
                _lever(Picking, "pickers", f"{base}.pickers", f"{name}: pickers", "Warehouses", pk.pickers, "pickers")
            )
        for i, shift in enumerate(pk.shifts):
            label = f"{name}: pickers, shift {i + 1} ({_shift_text(shift)})"
            out.append(
                _lever(Shift, "pickers", f"{base}.shifts[{i}].pickers", label, "Warehouses", shift.pickers, "pickers")
            )
        label = f"{name}: extra pickers on event days (every shift)"
        out.append(
            _lever(
                Picking,
                "promo_extra_pickers",
                f"{base}.promo_extra_pickers",
                label,
                "Warehouses",
                pk.promo_extra_pickers,
                "pickers",
            )
        )
    return out


def _inventory_levers(s: Scenario) -> list[Lever]:
    p, key = s.inventory.policy, "inventory.policy"
    out = []
    if p.reorder_point is None or (p.type in ("sS", "RS", "RsS", "base_stock") and p.order_up_to is None):
        out.append(
            _lever(
                Policy,
                "service_level",
                f"{key}.service_level",
                "Service level (sets omitted s/S)",
                "Inventory",
                p.service_level,
                "fraction",
                0.01,
            )
        )
    for name, label in (("reorder_point", "Reorder point s"), ("order_up_to", "Order-up-to level S")):
        value = getattr(p, name)
        if value is not None:
            out.append(_lever(Policy, name, f"{key}.{name}", label, "Inventory", value, "units", 1.0))
    if isinstance(p.order_quantity, float):
        out.append(
            _lever(
                Policy,
                "order_quantity",
                f"{key}.order_quantity",
                "Order quantity Q",
                "Inventory",
                p.order_quantity,
                "units",
                1.0,
            )
        )
    if p.periodic:
        out.append(
            _lever(
                Policy,
                "review_period_days",
                f"{key}.review_period_days",
                "Review period R",
                "Inventory",
                p.review_period_days,
                "days",
            )
        )
    return out


def _marketing_levers(s: Scenario) -> list[Lever]:
    out = []
    cur = s.currency or "currency"
    for i, c in enumerate(s.demand.channels):
        base, name = f"demand.channels[{_item(c.name, i)}]", _title(c.name)
        out.append(
            _lever(
                Channel,
                "spend_per_day",
                f"{base}.spend_per_day",
                f"{name}: everyday spend",
                "Marketing",
                c.spend_per_day,
                f"{cur}/day",
                100.0,
            )
        )
        out.append(
            _lever(
                Channel,
                "event_spend_per_day",
                f"{base}.event_spend_per_day",
                f"{name}: extra spend on event days",
                "Marketing",
                c.event_spend_per_day,
                f"{cur}/day",
                100.0,
            )
        )
    return out


def _delivery_levers(s: Scenario) -> list[Lever]:
    if not s.carriers:
        return []
    r, cur = s.routing, s.currency or "currency"
    out = [
        _lever(
            Routing,
            "carrier",
            "routing.carrier",
            "Carrier choice",
            "Delivery",
            r.carrier,
            "",
            choices=_choices(Routing, "carrier"),
        ),
    ]
    if r.carrier == "rule":
        out.append(
            _lever(
                Routing,
                "express_carrier",
                "routing.express_carrier",
                "Carrier of valuable orders",
                "Delivery",
                r.express_carrier,
                "",
                choices=tuple(c.name for c in s.carriers),
            )
        )
        out.append(
            _lever(
                Routing,
                "express_min_order_value",
                "routing.express_min_order_value",
                "Order value that goes express",
                "Delivery",
                r.express_min_order_value,
                cur,
                10.0,
            )
        )
    out.append(
        _lever(
            Routing,
            "capacity_overflow",
            "routing.capacity_overflow",
            "Carrier full",
            "Delivery",
            r.capacity_overflow,
            "",
            choices=_choices(Routing, "capacity_overflow"),
        )
    )
    return out


def levers(scenario) -> list[Lever]:
    """The levers of a scenario (a :class:`Scenario` or a path), grouped Demand, Warehouses, Inventory,
    Marketing, Delivery: demand scale, base rate and each promotion's uplift; per warehouse (by name)
    the pickers of each shift and the extra pickers on event days; the service level (when it sets
    s or S) or the policy's numbers; each channel's everyday and event-day spend; the carrier rule
    (choice, express carrier and threshold, overflow) when there are carriers."""
    s = _as_scenario(scenario)
    return [
        *_demand_levers(s),
        *_warehouse_levers(s),
        *_inventory_levers(s),
        *_marketing_levers(s),
        *_delivery_levers(s),
    ]


def windows(scenario) -> list[tuple[str, str, str]]:
    """(label, first ISO date, last ISO date inclusive): ``"whole horizon"`` (the days after the
    warm-up) first, then each promotion event's days with its margin (``sim.metrics.event_windows``;
    label as there, e.g. ``"double11 2026-11-11"``)."""
    s = _as_scenario(scenario)
    out = [("whole horizon", day_date(s, warmup_days_of(s)).isoformat(), day_date(s, s.horizon_days - 1).isoformat())]
    for label, first, end in event_windows(s):
        out.append((label, day_date(s, first).isoformat(), day_date(s, end - 1).isoformat()))
    return out


def _safe_stem(name: str) -> str:
    stem = Path(name.replace("\\", "/")).name
    for suffix in (".yaml", ".yml"):
        stem = stem.removesuffix(suffix)
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem).strip("_.-")[:60]
    return stem or "scenario"


def save_upload(name: str, data: bytes, results: str | Path = "results") -> Path:
    """Store an uploaded scenario file and check it; return its path.

    It goes to ``<results>/whatif/uploads/<sha256[:12]>-<safe name>.yaml`` (only the name's
    letters, digits, ``-`` and ``_`` are kept; the browser's path is never used). Raises
    ``InputError`` with one line per problem, leaving nothing on disk, for a file over
    ``MAX_UPLOAD_BYTES``, a file that is not a valid scenario (the loader's messages) or one
    that uses ``extends:`` (an upload must be self-contained: a base file would be looked up
    next to the stored upload, where none is).
    """
    shown = _safe_stem(name) + ".yaml"
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError(
            [Problem(shown, None, "", f"file is {len(data):,} bytes; an upload may be at most {MAX_UPLOAD_BYTES:,}")]
        )
    folder = Path(results) / "whatif" / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:12]}-{shown}"
    atomic_write(path, lambda tmp: tmp.write_bytes(data))
    try:
        src = read_yaml(path)
        if isinstance(src.data, dict) and "extends" in src.data:
            file, line = src.origin.get(("extends",), (str(path), None))
            msg = "an uploaded scenario must be self-contained (no extends:); upload the merged file"
            raise InputError([Problem(file, line, "extends", msg)])
        load_scenario(path)
    except InputError:
        path.unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class WhatIf:
    """A scenario with overrides, run over a window with a number of replications.

    ``overrides``: ``KEY=VALUE`` texts as ``--set`` takes them; ``window``: (start, end) ISO
    dates of the KPI window, None for the whole horizon; ``seed``: the master seed, None for
    the scenario's own; ``name``: the what-if's variant name (not ``"baseline"``).
    """

    scenario: str
    overrides: tuple[str, ...] = ()
    replications: int = 4
    window: tuple[str, str] | None = None
    seed: int | None = None
    name: str = "what-if"

    def validate(self) -> Scenario:
        """The scenario with the overrides and window applied; ``sim.InputError`` (one line per problem)."""
        overrides: list = [*self.overrides]
        if self.window:
            overrides.append(window_override(*self.window))
        return load_scenario(self.scenario, overrides)

    def baseline(self) -> WhatIf:
        """The same what-if without overrides: the scenario it is compared with."""
        return WhatIf(self.scenario, (), self.replications, self.window, self.seed, BASELINE)


class WhatIfCancelled(Exception):
    """A what-if run stopped by its cancel event; the finished replications stay cached."""


@dataclass(frozen=True, eq=False)
class WhatIfResult:
    """The outcome of :func:`run_whatif`.

    ``cards``: one row per KPI of ``CARD_METRICS`` the scenario produces: metric, label, unit,
    mean, ci_low, ci_high (95% CI of the what-if), baseline_mean, diff, diff_low, diff_high
    (paired difference what-if - baseline and its 95% CI), text (mean ± half-width as the
    command line prints it) and diff_text. ``runs``/``summary``/``paired``: the experiment's
    tables (variants ``baseline`` and the what-if). ``daily``: per variant and day the mean,
    ``_low`` and ``_high`` (95% CI) of each of ``DAILY_METRICS``, with ``day`` and ``date``.
    ``events``: (label, first, last ISO date) of each promotion event, for shading charts.
    """

    whatif: WhatIf
    cards: pd.DataFrame
    runs: pd.DataFrame
    summary: pd.DataFrame
    paired: pd.DataFrame | None
    daily: pd.DataFrame
    events: list[tuple[str, str, str]]
    report_path: Path
    folder: Path
    currency: str | None
    from_cache: int
    seconds: float


def _spec_data(whatifs: Sequence[WhatIf], name: str) -> dict:
    """The experiment spec (as data) of the baseline and ``whatifs``; ValueError (one line) for a mixed set."""
    if not whatifs:
        raise ValueError("a saved set needs at least one what-if")
    if len(whatifs) > MAX_WHATIFS:
        raise ValueError(f"a saved set holds at most {MAX_WHATIFS} what-ifs, got {len(whatifs)}")
    first = whatifs[0]
    for attr in ("scenario", "seed", "replications", "window"):
        values = {str(Path(w.scenario).resolve()) if attr == "scenario" else getattr(w, attr) for w in whatifs}
        if len(values) > 1:
            raise ValueError(f"the what-ifs of a set must share one {attr}; got {sorted(map(str, values))}")
    names = [w.name for w in whatifs]
    if BASELINE in names or len(set(names)) != len(names):
        raise ValueError(f"what-if names must be unique and not {BASELINE!r}; got {names}")
    scenario = first.validate()
    data: dict = {"name": _safe_stem(name) or "whatif", "base": str(Path(first.scenario).resolve())}
    if first.window:
        data["set"] = {"kpi_window": {"start": str(first.window[0]), "end": str(first.window[1])}}
    variants: list[dict] = [{"name": BASELINE}]
    for w in whatifs:
        w.validate()
        variants.append({"name": w.name, "set": _override_dict(w.overrides)})
    data.update(
        variants=variants,
        replications=first.replications,
        seed=scenario.seed if first.seed is None else first.seed,
        baseline=BASELINE,
        metrics=[m for m in CARD_METRICS if m in KPI_INFO],
        daily_metrics=[c for c in DAILY_METRICS if c in DAILY_COLUMNS],
        plots=_report_plots(scenario),
    )
    return data


def _report_plots(scenario: Scenario) -> list[dict]:
    """The report's figures: the headline KPIs by variant and against the baseline, the daily orders
    and backlog (a few figures, not one per KPI: the report is rewritten on every run)."""
    headline = ["on_time_rate", "total_cost"] if scenario.carriers else ["unit_fill_rate", "total_cost"]
    plots: list[dict] = [{"type": kind, "metric": m} for m in headline for kind in ("bar", "paired")]
    plots += [{"type": "daily", "metric": m} for m in ("orders", "backlog_end")]
    return plots


def _override_dict(overrides: Sequence[str]) -> dict:
    """``KEY=VALUE`` texts -> {key text: YAML value}, the form of a spec's ``set`` and a plan overlay."""
    out = {}
    for text in overrides:
        _, value = parse_assignment(text)  # the value read as --set reads it
        out[text.split("=", 1)[0].strip()] = value
    return out


def _yaml_value(value):
    """Dates as ISO strings (YAML would write them unquoted anyway); other values unchanged."""
    return value.isoformat() if isinstance(value, dt.date) else value


def saved_set_spec(whatifs: Sequence[WhatIf], name: str) -> str:
    """An experiment spec (YAML) of the saved what-ifs: the baseline and each what-if as a variant.

    ``base`` is the scenario's absolute path (so the file may be saved anywhere); replications,
    seed and window (``kpi_window`` in ``set``) are the what-ifs' own, which must be the same for
    all of them, with at most ``MAX_WHATIFS`` what-ifs of one scenario (else ValueError, one line).
    ``run.py experiment`` on it gives the numbers :func:`run_whatif` gave.
    """
    data = _spec_data(whatifs, name)
    for v in data["variants"]:
        if "set" in v:
            v["set"] = {k: _yaml_value(x) for k, x in v["set"].items()}
    head = f"# what-if set {name!r}: rerun with  python run.py experiment THIS_FILE\n"
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def overlay_yaml(whatif: WhatIf) -> str:
    """The what-if's overrides as a plan overlay, ``load_scenario(path, plans=[file])`` applies it.

    Keys are key paths (``"warehouses[east_dc].picking.promo_extra_pickers": 4``), which set
    exactly the node they name, as the optimizers' plans do; ``plan_info`` records where it came from.
    """
    info = {"kind": "what-if", "name": whatif.name, "scenario": str(whatif.scenario)}
    data = {"plan_info": info, **{k: _yaml_value(v) for k, v in _override_dict(whatif.overrides).items()}}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _spec_file(whatif: WhatIf, results: Path) -> Path:
    """Write the two-variant spec of ``whatif`` under ``<results>/whatif/specs/``; return its path."""
    text = saved_set_spec([whatif], whatif.name)
    folder = results / "whatif" / "specs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_safe_stem(whatif.name)}-{hashlib.sha256(text.encode()).hexdigest()[:12]}.yaml"
    if not path.exists():
        atomic_write_text(path, text)
    return path


def run_whatif(
    whatif: WhatIf,
    results: str | Path = "results",
    *,
    on_progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    executor: str = "process",
    workers: int | None = None,
) -> WhatIfResult:
    """Run the what-if and its baseline (same seeds, window, replications) as one experiment.

    The experiment's spec goes to ``<results>/whatif/specs/``, its run folders (report, tables)
    and the shared cache to ``<results>/whatif/runs/``. ``on_progress(done, total)`` is called
    once at the start (cached replications counted) and after each finished replication;
    ``cancel.set()`` from another thread stops the run and raises :class:`WhatIfCancelled`.
    Raises ``sim.InputError`` for a bad override or window (one line per problem, nothing run)
    and ``experiments.api.WorkRefused`` for a run the work estimate refuses.
    """
    results = Path(results)
    started = time.perf_counter()
    scenario = whatif.validate()
    spec_path = _spec_file(whatif, results)
    try:
        res = run_experiment(
            spec_path,
            executor=executor,
            workers=workers,
            out=results / "whatif" / "runs",
            on_progress=on_progress,
            cancel=cancel,
        )
    except WorkRefused as exc:  # name the scenario, not the spec written for it
        raise WorkRefused(str(exc).replace(str(spec_path), f"what-if {whatif.name!r} of {whatif.scenario}")) from None
    except ExperimentInterrupted:
        if cancel is not None and cancel.is_set():
            raise WhatIfCancelled(f"what-if {whatif.name!r} cancelled; finished replications are cached") from None
        raise
    return WhatIfResult(
        whatif=whatif,
        cards=_cards(res.summary, res.paired, whatif.name, scenario.currency),
        runs=res.runs,
        summary=res.summary,
        paired=res.paired,
        daily=_daily_means(res.daily, scenario),
        events=windows(scenario)[1:],
        report_path=res.report_path,
        folder=res.folder,
        currency=scenario.currency,
        from_cache=res.from_cache,
        seconds=time.perf_counter() - started,
    )


def _cards(summary: pd.DataFrame, paired: pd.DataFrame | None, variant: str, currency: str | None) -> pd.DataFrame:
    """One row per KPI of ``CARD_METRICS`` with a value: the what-if's mean and CI, the paired difference."""
    mine = summary[summary["variant"] == variant].set_index("metric")
    base = summary[summary["variant"] == BASELINE].set_index("metric")
    diffs = paired[paired["variant"] == variant].set_index("metric") if paired is not None else None
    rows = []
    for metric in CARD_METRICS:
        if metric not in mine.index or math.isnan(mine.at[metric, "mean"]):
            continue
        k, m = kpi(metric), mine.loc[metric]
        d = diffs.loc[metric] if diffs is not None and metric in diffs.index else None
        hw = None if pd.isna(m["half_width"]) else float(m["half_width"])
        dhw = None if d is None or pd.isna(d["half_width"]) else float(d["half_width"])
        diff = math.nan if d is None else float(d["mean_diff"])
        rows.append(
            {
                "metric": metric,
                "label": k.label,
                "unit": k.unit_text(currency),
                "mean": float(m["mean"]),
                "ci_low": float(m["ci_low"]),
                "ci_high": float(m["ci_high"]),
                "baseline_mean": float(base.at[metric, "mean"]) if metric in base.index else math.nan,
                "diff": diff,
                "diff_low": math.nan if d is None else float(d["ci_low"]),
                "diff_high": math.nan if d is None else float(d["ci_high"]),
                "better": k.better,
                "text": k.format_ci(float(m["mean"]), hw, currency),
                "diff_text": k.format_ci(diff, dhw, currency, signed=True),
            }
        )
    return pd.DataFrame(rows)


def _daily_means(daily: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Per variant and day: mean and 95% CI (``_low``, ``_high``) of each daily column, with ``date``."""
    if daily.empty:
        return pd.DataFrame(columns=["variant", "day", "date"])
    cols = [c for c in DAILY_METRICS if c in daily.columns]
    g = daily.groupby(["variant", "day"], sort=False)[cols]
    mean, std, n = g.mean(), g.std(ddof=1), g.count()
    out = mean.copy()
    t = {k: t_quantile(0.975, k - 1) if k > 1 else math.nan for k in pd.unique(n.to_numpy().ravel())}
    for c in cols:
        hw = n[c].map(t) * std[c] / n[c].pow(0.5)
        out[f"{c}_low"], out[f"{c}_high"] = mean[c] - hw, mean[c] + hw
    out = out.reset_index()
    out.insert(2, "date", [day_date(scenario, int(d)) for d in out["day"]])
    return out


def _tables(result: WhatIfResult) -> dict[str, pd.DataFrame | None]:
    return {
        "cards": result.cards,
        "summary": result.summary,
        "paired": result.paired,
        "runs": result.runs,
        "daily": result.daily,
    }


def tables_excel(result: WhatIfResult) -> bytes:
    """An Excel workbook (xlsx, openpyxl) with sheets cards, summary, paired (if any), runs and daily."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in _tables(result).items():
            if frame is not None:
                frame.to_excel(writer, sheet_name=name, index=False, freeze_panes=(1, 0))
    return buffer.getvalue()


def tables_csv(result: WhatIfResult) -> bytes:
    """A zip archive of ``cards.csv``, ``summary.csv``, ``paired.csv`` (with two or more variants),
    ``runs.csv`` and ``daily.csv`` (UTF-8, comma-separated, with a header row)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, frame in _tables(result).items():
            if frame is not None:
                zf.writestr(f"{name}.csv", frame.to_csv(index=False))
    return buffer.getvalue()
