"""Your order history in, a calibrated scenario out: ``run.py fit ORDERS.csv --out scenario.yaml``.

:func:`fit_history` reads and cleans an order-line table (:mod:`experiments.fit.history`), fits the
order rate (:mod:`experiments.fit.demand_fit`), the order mix, the catalogue and the lanes
(:mod:`experiments.fit.mix_fit`); :func:`write_scenario` writes the scenario with a comment on
every fitted value (:mod:`experiments.fit.scenario_out`), checked by the loader before it is
renamed into place; :mod:`experiments.fit.backtest` compares simulations of it with the history.

>>> from experiments.fit.mapping import FitMapping
>>> FitMapping().column("order_id")
'order_id'
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from experiments.fit.demand_fit import fit_demand
from experiments.fit.history import History, Note, read_history
from experiments.fit.mapping import FitMapping
from experiments.fit.mix_fit import fit_counts, fit_lanes, fit_pareto, fit_regions, fit_skus, wilson
from experiments.fit.scenario_out import FittedParts, scenario_yaml
from sim.scenario.errors import InputError, Problem
from sim.scenario.loader import load_scenario
from sim.scenario.schema import Scenario

__all__ = ["RARE_LINES", "FitResult", "fit_history", "write_scenario"]

RARE_LINES = 5  # a SKU sold on fewer lines is reported as part of the long tail


@dataclass
class FitResult:
    """The clean history and everything fitted to it."""

    history: History
    parts: FittedParts


def _warehouse_regions(orders) -> dict[str, list[str]]:
    """Warehouse -> the regions whose orders it shipped most of (every warehouse listed)."""
    if "warehouse" not in orders:
        return {}
    wh = orders["warehouse"].astype(str).str.strip()
    out: dict[str, list[str]] = {w: [] for w in sorted(set(wh) - {""})}
    if "region" in orders:
        pairs = orders.assign(warehouse=wh).groupby(["region", "warehouse"]).size()
        for region, g in pairs.groupby(level=0):
            w = g.droplevel(0).idxmax()
            if w in out:
                out[w].append(str(region))
    return out


def fit_history(path: str | Path, mapping: FitMapping | None = None, allow_large: bool = False) -> FitResult:
    """Read, clean and fit an order-line table; ``InputError`` (one line per problem) when it cannot be fitted."""
    history = read_history(path, mapping or FitMapping(), allow_large=allow_large)
    demand = fit_demand(history.days, (mapping or FitMapping()).calendar)
    dates = history.days["date"]
    events: dict[str, set] = {}
    day = dates.dt.strftime("%m-%d").to_numpy()
    for ev in demand.promotions:  # every occurrence: the days from each MM-DD on
        for first in np.flatnonzero(day == ev.recurring):
            events.setdefault(ev.name, set()).update(dates.iloc[first : first + ev.days])
    skus = fit_skus(history.lines, events)
    rare = int((skus.table["lines"] < RARE_LINES).sum())
    if rare:
        history.notes.append(
            Note(
                f"— {rare:,} SKU(s) sold on fewer than {RARE_LINES} lines (the long tail)",
                0,
                "kept at their observed share of lines (unbiased; the simulation draws them as often on average) "
                "and priced from their own lines",
            )
        )
    pareto = fit_pareto(skus.table["lines"].to_numpy()) if len(skus.table) >= 20 else None
    ret = None
    if "returned" in history.lines:
        k, n = int(history.lines["returned"].sum()), len(history.lines)
        ret = (k / n, *wilson(k, n), n)
    parts = FittedParts(
        source=Path(path).name,
        first_day=dates.iloc[0].date(),
        days=len(dates),
        demand=demand,
        lines=fit_counts(history.orders["lines"].to_numpy(), "orders"),
        units=fit_counts(history.lines["quantity"].to_numpy(), "lines"),
        regions=fit_regions(history.orders),
        skus=skus,
        pareto=pareto,
        lanes=fit_lanes(history.orders),
        return_rate=ret,
        warehouse_regions=_warehouse_regions(history.orders),
        counts={"lines": len(history.lines), "orders": len(history.orders)},
    )
    return FitResult(history, parts)


def write_scenario(
    result: FitResult, out: str | Path, name: str, command: str, base: str | Path | None = None
) -> tuple[Scenario, str]:
    """Write the fitted scenario to ``out`` (temp name, checked by the loader, renamed); return it and its text."""
    base_data = None
    if base is not None:
        from sim.scenario.loader import scenario_to_dict
        from sim.scenario.yamlio import read_yaml

        raw = read_yaml(base).data
        base_data = scenario_to_dict(load_scenario(base)) if "extends" in raw else raw
    text = scenario_yaml(result.parts, name, command, base_data, str(base or ""))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".yaml", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        try:
            scenario = load_scenario(tmp)
        except InputError as exc:
            problems = [Problem(str(out), p.line, p.path, p.message) for p in exc.problems]
            raise InputError(
                [Problem(str(out), None, "", "the fitted scenario does not validate"), *problems]
            ) from None
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return scenario, text
