"""The catalogue as numpy arrays: written-out SKUs or a seeded synthetic generator.

Popularity of generated SKUs follows a Pareto law (a few SKUs sell most);
ABC classes come from the cumulative revenue share (popularity x price) when not
given: A up to the first threshold (default 80%), B up to the second (95%),
C for the rest.

>>> from sim.scenario.schema import Catalog
>>> c = build_catalog(Catalog(generate={"count": 200, "seed": 3}), ["main"])
>>> len(c.ids), round(float(c.popularity.sum()), 6), sorted(set(c.abc.tolist()))
(200, 1.0, ['A', 'B', 'C'])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario.derived import derived_values
from sim.scenario.schema import Catalog as CatalogSpec
from sim.scenario.schema import CatalogGenerator


@dataclass(frozen=True)
class CatalogArrays:
    """The catalogue as arrays indexed by SKU position (``ids[i]`` is SKU i)."""

    ids: list[str]
    price: np.ndarray  # currency per unit
    unit_cost: np.ndarray  # currency per unit
    weight_kg: np.ndarray
    popularity: np.ndarray  # probabilities of being chosen by an order line (sum 1)
    abc: np.ndarray  # 'A' | 'B' | 'C'
    supplier: np.ndarray  # supplier index per SKU

    @property
    def n(self) -> int:
        """Number of SKUs."""
        return len(self.ids)

    def index(self) -> dict[str, int]:
        """SKU id -> its index in the arrays."""
        return {sku: i for i, sku in enumerate(self.ids)}


def abc_classes(revenue: np.ndarray, thresholds=(0.8, 0.95)) -> np.ndarray:
    """Classes by cumulative revenue share, largest first (Pareto / ABC analysis).

    >>> abc_classes(np.array([50.0, 30.0, 15.0, 5.0])).tolist()
    ['A', 'A', 'B', 'C']
    """
    order = np.argsort(-revenue, kind="stable")
    total = revenue.sum()
    share_before = np.concatenate([[0.0], np.cumsum(revenue[order])[:-1]]) / (total if total > 0 else 1)
    cls_sorted = np.where(share_before < thresholds[0], "A", np.where(share_before < thresholds[1], "B", "C"))
    out = np.empty(len(revenue), dtype="<U1")
    out[order] = cls_sorted
    return out


def _assign_suppliers(n: int, shares: list[float | None], rng: np.random.Generator) -> np.ndarray:
    k = len(shares)
    given = [s for s in shares if s is not None]
    rest = max(0.0, 1.0 - sum(given))
    n_missing = sum(1 for s in shares if s is None)
    p = np.array([s if s is not None else rest / n_missing for s in shares], dtype=float)
    if p.sum() <= 0:
        p = np.full(k, 1.0 / k)
    p = p / p.sum()
    return rng.choice(k, size=n, p=p)


def build_catalog(spec: CatalogSpec, supplier_names: list[str], supplier_shares=None) -> CatalogArrays:
    """Arrays for the catalogue; deterministic for a given spec (own seed)."""
    supplier_shares = supplier_shares or [None] * len(supplier_names)
    if spec.skus is not None:
        return _written_catalog(spec, supplier_names, supplier_shares)
    if spec.generate is None:
        raise ValueError("a catalog needs skus or generate")
    return _generated_catalog(spec, spec.generate, supplier_shares)


def _written_catalog(spec: CatalogSpec, supplier_names: list[str], supplier_shares: list) -> CatalogArrays:
    """The arrays of the SKUs written out in ``spec.skus`` (suppliers drawn by share where not named)."""
    skus = spec.skus or []
    sup_index = {name: i for i, name in enumerate(supplier_names)}
    price = np.array([s.price for s in skus], dtype=float)
    popularity = np.array([s.popularity for s in skus], dtype=float)
    rng = np.random.default_rng(0)
    assigned = _assign_suppliers(len(skus), supplier_shares, rng)
    supplier = np.array([sup_index[s.supplier] if s.supplier else assigned[i] for i, s in enumerate(skus)])
    derived = abc_classes(price * popularity, spec.abc_thresholds)
    abc = np.array([s.abc or derived[i] for i, s in enumerate(skus)])
    return CatalogArrays(
        ids=[s.id for s in skus],
        price=price,
        unit_cost=np.array([s.unit_cost for s in skus], dtype=float),
        weight_kg=np.array([s.weight_kg for s in skus], dtype=float),
        popularity=popularity / popularity.sum(),
        abc=abc,
        supplier=supplier,
    )


def _generated_catalog(spec: CatalogSpec, g: CatalogGenerator, supplier_shares: list) -> CatalogArrays:
    """The arrays of ``g.count`` synthetic SKUs drawn from ``g.seed`` (popularity: see the comment below)."""
    rng = np.random.default_rng(g.seed)
    n = g.count
    # Pareto(alpha) popularity at the quantiles (i - 0.5)/n of the upper tail: a deterministic,
    # smooth long tail without one random draw dominating; SKU00001 is the best seller. (The
    # infinite Pareto law puts p^(1 - 1/alpha) of demand on the top share p — 80% on 20% for
    # alpha 1.16; a finite catalogue is flatter: about 70% on the top 20% of 300 SKUs.)
    weights = ((np.arange(n) + 0.5) / n) ** (-1.0 / g.pareto_alpha)
    price: np.ndarray = np.round(np.maximum(g.price.sample(rng, n), 0.01), 2)
    ratio = np.clip(g.cost_ratio.sample(rng, n), 0.0, 1.0)
    weight: np.ndarray = np.round(np.maximum(g.weight_kg.sample(rng, n), 0.01), 3)
    supplier = _assign_suppliers(n, supplier_shares, rng)
    popularity = weights / weights.sum()
    width = max(5, len(str(n)))
    return CatalogArrays(
        ids=[f"{g.id_prefix}{i + 1:0{width}d}" for i in range(n)],
        price=price,
        unit_cost=np.round(price * ratio, 2),
        weight_kg=weight,
        popularity=popularity,
        abc=abc_classes(popularity * price, spec.abc_thresholds),
        supplier=supplier,
    )


def catalog_for(scenario) -> CatalogArrays:
    """The catalogue of a scenario (built once per scenario object, held by :mod:`sim.scenario.derived`)."""
    cache = derived_values(scenario)
    if "catalog" not in cache:
        cache["catalog"] = build_catalog(
            scenario.catalog, [s.name for s in scenario.suppliers], [s.share for s in scenario.suppliers]
        )
    return cache["catalog"]
