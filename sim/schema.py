"""The scenario language: pydantic models of the YAML schema.

Every key has a type, a unit in its name or description, a default and an
allowed range. Models are frozen: nothing mutates a scenario after validation.
Cross-field rules (names that must exist, s < S, shares that sum to one) are
checked in :mod:`sim.scenario` so each problem gets its own precise key path.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, field_validator

from sim.distributions import AnyDist, coerce_dist

Dist = Annotated[AnyDist, BeforeValidator(coerce_dist)]
Prob = Annotated[float, Field(ge=0, le=1)]
NonNeg = Annotated[float, Field(ge=0)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


# ---------------------------------------------------------------- catalogue
class Sku(Model):
    """One stock-keeping unit written out by hand."""

    id: str = Field(min_length=1, description="unique SKU name")
    price: float = Field(gt=0, description="selling price per unit (currency)")
    unit_cost: NonNeg = Field(description="purchase cost per unit (currency)")
    weight_kg: NonNeg = Field(1.0, description="shipping weight per unit (kg)")
    popularity: NonNeg = Field(1.0, description="relative chance that an order line picks this SKU")
    abc: Literal["A", "B", "C"] | None = Field(None, description="ABC class; derived from revenue share when omitted")
    supplier: str | None = Field(None, description="supplier name; default: assigned by supplier shares")


class CatalogGenerator(Model):
    """A synthetic catalogue: popularity is Pareto distributed (a few SKUs sell most)."""

    count: int = Field(ge=1, le=200_000, description="number of SKUs")
    pareto_alpha: float = Field(1.16, gt=0, description="Pareto shape of popularity (1.16 gives roughly 80/20)")
    price: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 80, "cv": 0.8},
                        description="price per unit (currency)")
    cost_ratio: Dist = Field(default_factory=lambda: {"dist": "uniform", "low": 0.4, "high": 0.7},
                             description="unit cost as a fraction of price")
    weight_kg: Dist = Field(default_factory=lambda: {"dist": "lognormal", "mean": 1.0, "cv": 0.8},
                            description="weight per unit (kg)")
    seed: int = Field(0, ge=0, description="seed of the generator (the catalogue is part of the scenario)")
    id_prefix: str = Field("SKU", description="SKU names are PREFIX00001, ...")


class Catalog(Model):
    skus: list[Sku] | None = Field(None, description="SKUs written out (or use generate)")
    generate: CatalogGenerator | None = Field(None, description="synthetic catalogue (or use skus)")
    abc_thresholds: tuple[Prob, Prob] = Field((0.8, 0.95), description="cumulative revenue share closing classes A and B")


# ---------------------------------------------------------------- demand
class Region(Model):
    name: str = Field(min_length=1)
    share: Prob = Field(description="share of orders from this region (shares sum to 1)")


class Promotion(Model):
    """A dated event such as 618 or Double-11: more orders, lower prices."""

    name: str = Field(min_length=1)
    date: Union[dt.date, str] = Field(description="first day, YYYY-MM-DD, or MM-DD to repeat every year")
    days: int = Field(1, ge=1, description="length of the event (days)")
    uplift: NonNeg = Field(1.0, description="order-rate multiplier during the event (3 = triple)")
    discount: float = Field(0.0, ge=0, lt=1, description="price discount during the event (fraction)")
    pre_days: int = Field(0, ge=0, description="days before the event with a dip (customers wait)")
    pre_factor: NonNeg = Field(1.0, description="order-rate multiplier before the event (e.g. 0.8)")
    post_days: int = Field(0, ge=0, description="days after the event with a hangover")
    post_factor: NonNeg = Field(1.0, description="order-rate multiplier after the event")

    @field_validator("date")
    @classmethod
    def _date(cls, v):
        if isinstance(v, str):
            try:
                dt.date(2001, *map(int, v.split("-")))  # a non-leap year rejects Feb 29
            except (TypeError, ValueError):
                raise ValueError(f"date must be YYYY-MM-DD or MM-DD, got {v!r}") from None
        return v


class SpendPeriod(Model):
    start: dt.date = Field(description="first day (YYYY-MM-DD)")
    end: dt.date = Field(description="last day, inclusive (YYYY-MM-DD)")
    spend_per_day: NonNeg = Field(description="spend per day in this period (currency)")


class Channel(Model):
    """A marketing channel: extra orders per day = max * s^h / (k^h + s^h) (Hill curve)."""

    name: str = Field(min_length=1)
    spend_per_day: NonNeg = Field(0.0, description="everyday spend (currency/day)")
    event_spend_per_day: NonNeg = Field(0.0, description="extra spend on promotion-event days (currency/day)")
    schedule: list[SpendPeriod] = Field(default_factory=list, description="periods that set the spend (override the above)")
    max_extra_orders_per_day: NonNeg = Field(description="saturation: extra orders/day at unlimited spend")
    half_saturation_spend: float = Field(gt=0, description="spend/day giving half the maximum (k)")
    hill_shape: float = Field(1.0, gt=0, le=1, description="Hill exponent h (<= 1 keeps the curve concave)")


class Demand(Model):
    base_orders_per_day: NonNeg = Field(description="orders/day before weekday, season and promotion factors")
    arrivals: Literal["poisson", "deterministic"] = Field(
        "poisson", description="poisson: random order count and times; deterministic: evenly spaced orders")
    weekday_factors: list[NonNeg] = Field([1.0] * 7, min_length=7, max_length=7, description="Mon..Sun multipliers")
    monthly_factors: list[NonNeg] = Field([1.0] * 12, min_length=12, max_length=12, description="Jan..Dec multipliers")
    lines_per_order: Dist = Field(1, description="order lines per order (rounded, at least 1)")
    units_per_line: Dist = Field(1, description="units per line (rounded, at least 1)")
    regions: list[Region] = Field(default_factory=lambda: [{"name": "all", "share": 1.0}], min_length=1)
    promotions: list[Promotion] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list, description="marketing channels")


# ---------------------------------------------------------------- network and supply
class Warehouse(Model):
    name: str = Field(min_length=1)
    regions: list[str] = Field(default_factory=list, description="regions this warehouse serves first")


class Disruption(Model):
    start_day: int = Field(ge=0, description="first day the supplier ships nothing (0 = start_date)")
    days: int = Field(ge=1, description="length (days)")


class RandomDisruptions(Model):
    mean_days_between: float = Field(gt=0, description="mean up time between disruptions (days, exponential)")
    mean_duration_days: float = Field(gt=0, description="mean length of a disruption (days, exponential)")


class Supplier(Model):
    name: str = Field(min_length=1)
    lead_time_days: Dist = Field(7, description="time from shipping to receipt (days)")
    order_cost: NonNeg | None = Field(None, description="cost per replenishment order; default inventory.costs.order_cost")
    share: Prob | None = Field(None, description="share of generated SKUs bought here (default equal)")
    disruptions: list[Disruption] = Field(default_factory=list, description="periods in which nothing ships")
    random_disruptions: RandomDisruptions | None = None


# ---------------------------------------------------------------- inventory
class Policy(Model):
    """Replenishment policy for every (warehouse, SKU); numbers omitted are set from demand."""

    type: Literal["sQ", "sS", "RS", "RsS", "base_stock"] = Field("sQ", description="policy family")
    review: Literal["continuous", "periodic"] | None = Field(
        None, description="continuous (after every demand) or periodic; RS and RsS are periodic")
    review_period_days: int = Field(7, ge=1, description="R, days between reviews (periodic)")
    reorder_point: NonNeg | None = Field(None, description="s: order when inventory position <= s")
    order_quantity: Union[Annotated[float, Field(gt=0)], Literal["eoq"], None] = Field(
        None, description="Q (units) or 'eoq'")
    order_up_to: NonNeg | None = Field(None, description="S: order up to this inventory position")
    service_level: float = Field(0.95, gt=0, lt=1, description="cycle service level used for omitted s/S (normal approx.)")

    @property
    def periodic(self) -> bool:
        return self.type in ("RS", "RsS") or self.review == "periodic"


class SkuPolicy(Model):
    """Parameters for one SKU (optionally one warehouse); optimizers write these."""

    sku: str
    warehouse: str | None = None
    reorder_point: NonNeg | None = None
    order_quantity: Annotated[float, Field(gt=0)] | None = None
    order_up_to: NonNeg | None = None


class Costs(Model):
    holding_rate_per_year: NonNeg = Field(0.25, description="holding cost per year as a fraction of unit cost")
    order_cost: NonNeg = Field(50.0, description="fixed cost per replenishment order (currency)")
    backorder_cost_per_unit_day: NonNeg = Field(0.0, description="penalty per unit backordered per day")
    lost_sale_cost_per_unit: NonNeg = Field(0.0, description="penalty per lost unit (on top of the lost margin)")


class Inventory(Model):
    policy: Policy = Field(default_factory=Policy)
    per_sku: list[SkuPolicy] = Field(default_factory=list, description="per-SKU parameters (plans write these)")
    unmet_demand: Literal["backorder", "lost_sales"] = Field("backorder")
    initial_on_hand: Union[Literal["order_up_to", "reorder_point"], NonNeg] = Field(
        "order_up_to", description="start stock: S (or s+Q), s, or a number of units per SKU")
    costs: Costs = Field(default_factory=Costs)


class Scenario(Model):
    """A whole shop: catalogue, demand, warehouses, suppliers and inventory policy."""

    name: str = Field(min_length=1)
    description: str = ""
    start_date: dt.date = Field(dt.date(2026, 1, 1), description="calendar date of day 0")
    horizon_days: int = Field(365, ge=1, le=36_500, description="simulated days")
    warmup_days: int = Field(0, ge=0, description="days excluded from the KPIs")
    seed: int = Field(1, ge=0, description="default master seed")
    catalog: Catalog
    demand: Demand
    warehouses: list[Warehouse] = Field(default_factory=lambda: [{"name": "main"}], min_length=1)
    suppliers: list[Supplier] = Field(default_factory=lambda: [{"name": "default"}], min_length=1)
    inventory: Inventory = Field(default_factory=Inventory)
    _cache: dict = PrivateAttr(default_factory=dict)  # derived arrays (catalogue), never serialized
