"""The scenario language: pydantic models of the YAML schema.

Every key has a type, a unit in its name or description, a default and an
allowed range. Models are frozen: nothing mutates a scenario after validation.
Cross-field rules (names that must exist, s < S, shares that sum to one) are
checked in :mod:`sim.scenario.loader` so each problem gets its own precise key path.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sim.scenario.distributions import AnyDist, coerce_dist, reject_bool_for_numbers
from sim.scenario.errors import InputError, Problem

Dist = Annotated[AnyDist, BeforeValidator(coerce_dist)]
Prob = Annotated[float, Field(ge=0, le=1)]
NonNeg = Annotated[float, Field(ge=0)]

# Upper bounds: generous for any real shop, small enough that every product of them in a KPI
# (orders x lines x units x price x days, on-hand x unit cost x holding rate x days) stays finite.
MAX_MONEY = 1e9  # a price, cost or spend per unit, order, shipment, hour or day (currency)
MAX_BUDGET = 1e12  # a total over the horizon (currency)
MAX_ORDERS_PER_DAY = 1e7  # orders per day (base rate, marketing saturation)
MAX_UNITS = 1e12  # stock levels and order quantities (units)
MAX_DAYS = 36_500  # any span or day number (100 years)
MAX_COUNT = 100_000  # pickers, stations, aisles, batch sizes
MAX_FACTOR = 1e3  # rate multipliers (weekday, month, uplift, response, zone)
MAX_SECONDS = 1e6  # a work step (s)
Money = Annotated[float, Field(ge=0, le=MAX_MONEY)]
Factor = Annotated[float, Field(ge=0, le=MAX_FACTOR)]
Units = Annotated[float, Field(ge=0, le=MAX_UNITS)]


def as_written(value: object) -> Any:
    """A default in the form a scenario file writes it: a number for a constant distribution, a mapping.

    Models validate their defaults (``validate_default=True``), so ``Field(as_written(30))`` on a
    distribution holds ``Constant(value=30.0)``, and the reference shows ``30``, as a user writes it.

    >>> Picking(pickers=1).setup_seconds
    Constant(dist='constant', value=30.0)
    """
    return value


class Model(BaseModel):
    """Base of every scenario model: unknown keys, NaN, infinities and true-for-a-number are errors; frozen."""

    # allow_inf_nan=False: a YAML .inf or .nan is a typo, never a quantity the simulator can use.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans(cls, value: object, info: ValidationInfo) -> object:
        """``true`` where a number is expected is a typo (pydantic would read it as 1)."""
        assert info.field_name is not None  # a field validator always knows its field
        return reject_bool_for_numbers(cls, value, info.field_name)


# ---------------------------------------------------------------- catalogue
class Sku(Model):
    """One stock-keeping unit written out by hand."""

    id: str = Field(min_length=1, description="unique SKU name")
    price: float = Field(gt=0, le=MAX_MONEY, description="selling price per unit (currency)")
    unit_cost: Money = Field(description="purchase cost per unit (currency)")
    weight_kg: float = Field(1.0, ge=0, le=1e6, description="shipping weight per unit (kg)")
    popularity: float = Field(1.0, ge=0, le=1e12, description="relative chance that an order line picks this SKU")
    abc: Literal["A", "B", "C"] | None = Field(None, description="ABC class; derived from revenue share when omitted")
    supplier: str | None = Field(None, description="supplier name; default: assigned by supplier shares")


class CatalogGenerator(Model):
    """A synthetic catalogue: popularity is Pareto distributed (a few SKUs sell most)."""

    count: int = Field(ge=1, le=200_000, description="number of SKUs")
    pareto_alpha: float = Field(
        1.16,
        gt=0,
        le=100,
        description="Pareto shape of popularity (smaller = more "
        "concentrated; 1.16: the top 20% of 300 SKUs take ~70% of demand)",
    )
    price: Dist = Field(
        default_factory=lambda: as_written({"dist": "lognormal", "mean": 80, "cv": 0.8}),
        description="price per unit (currency)",
    )
    cost_ratio: Dist = Field(
        default_factory=lambda: as_written({"dist": "uniform", "low": 0.4, "high": 0.7}),
        description="unit cost as a fraction of price",
    )
    weight_kg: Dist = Field(
        default_factory=lambda: as_written({"dist": "lognormal", "mean": 1.0, "cv": 0.8}),
        description="weight per unit (kg)",
    )
    seed: int = Field(0, ge=0, description="seed of the generator (the catalogue is part of the scenario)")
    id_prefix: str = Field("SKU", description="SKU names are PREFIX00001, ...")


class Catalog(Model):
    """The catalogue: SKUs written out or a synthetic generator, and the ABC class limits."""

    skus: list[Sku] | None = Field(None, description="SKUs written out (or use generate)")
    generate: CatalogGenerator | None = Field(None, description="synthetic catalogue (or use skus)")
    abc_thresholds: tuple[Prob, Prob] = Field(
        (0.8, 0.95), description="cumulative revenue share closing classes A and B"
    )


# ---------------------------------------------------------------- demand
class Region(Model):
    """A customer region: its share of the orders and its delivery promise."""

    name: str = Field(min_length=1)
    share: Prob = Field(description="share of orders from this region (shares sum to 1)")
    promise_days: int = Field(
        3, ge=0, le=MAX_DAYS, description="delivery promise: delivered by the end of order day + N"
    )


class Promotion(Model):
    """A dated event such as 618 or Double-11: more orders, lower prices."""

    name: str = Field(min_length=1)
    date: dt.date | str = Field(description="first day, YYYY-MM-DD, or MM-DD to repeat every year")
    days: int = Field(1, ge=1, le=MAX_DAYS, description="length of the event (days)")
    uplift: Factor = Field(1.0, description="order-rate multiplier during the event (3 = triple)")
    discount: float = Field(0.0, ge=0, lt=1, description="price discount during the event (fraction)")
    pre_days: int = Field(0, ge=0, le=MAX_DAYS, description="days before the event with a dip (customers wait)")
    pre_factor: Factor = Field(1.0, description="order-rate multiplier before the event (e.g. 0.8)")
    post_days: int = Field(0, ge=0, le=MAX_DAYS, description="days after the event with a hangover")
    post_factor: Factor = Field(1.0, description="order-rate multiplier after the event")

    @field_validator("date")
    @classmethod
    def _date(cls, v: dt.date | str) -> dt.date | str:
        """A full date (quoted in resolved files) becomes a date; MM-DD must be a real day of a year."""
        if isinstance(v, str):
            try:
                if v.count("-") == 2:  # a quoted full date, as resolved scenarios are written
                    return dt.date.fromisoformat(v)
                dt.date(2001, *map(int, v.split("-")))  # a non-leap year rejects Feb 29
            except (TypeError, ValueError):
                raise ValueError("date must be YYYY-MM-DD or MM-DD") from None
        return v


class SpendPeriod(Model):
    """Marketing spend per day between two dates (inclusive)."""

    start: dt.date = Field(description="first day (YYYY-MM-DD)")
    end: dt.date = Field(description="last day, inclusive (YYYY-MM-DD)")
    spend_per_day: Money = Field(description="spend per day in this period (currency)")


class Channel(Model):
    """A marketing channel: extra orders per day = max * s^h / (k^h + s^h) (Hill curve)."""

    name: str = Field(min_length=1)
    spend_per_day: Money = Field(0.0, description="everyday spend (currency/day)")
    event_spend_per_day: Money = Field(0.0, description="extra spend on promotion-event days (currency/day)")
    schedule: list[SpendPeriod] = Field(
        default_factory=list, description="periods that set the spend (override the above)"
    )
    max_extra_orders_per_day: float = Field(
        ge=0, le=MAX_ORDERS_PER_DAY, description="saturation: extra orders/day at unlimited spend"
    )
    half_saturation_spend: float = Field(gt=0, le=MAX_MONEY, description="spend/day giving half the maximum (k)")
    hill_shape: float = Field(1.0, gt=0, le=1, description="Hill exponent h (<= 1 keeps the curve concave)")
    event_multiplier: Factor = Field(
        1.0, description="response multiplier on promotion-event days (shoppers convert better during the event)"
    )
    min_budget: float = Field(
        0.0, ge=0, le=MAX_BUDGET, description="promotion optimizer: least total spend over the horizon"
    )
    max_budget: Annotated[float, Field(ge=0, le=MAX_BUDGET)] | None = Field(
        None, description="promotion optimizer: most total spend over the horizon"
    )
    max_spend_per_day: Money | None = Field(
        None, description="promotion optimizer: most spend on one day (default 20 x half_saturation_spend)"
    )


class Demand(Model):
    """Customer orders: the base rate, its weekday, month and promotion factors, order sizes, regions, channels."""

    base_orders_per_day: float = Field(
        ge=0, le=MAX_ORDERS_PER_DAY, description="orders/day before weekday, season and promotion factors"
    )
    arrivals: Literal["poisson", "deterministic"] = Field(
        "poisson", description="poisson: random order count and times; deterministic: evenly spaced orders"
    )
    weekday_factors: list[Factor] = Field([1.0] * 7, min_length=7, max_length=7, description="Mon..Sun multipliers")
    monthly_factors: list[Factor] = Field([1.0] * 12, min_length=12, max_length=12, description="Jan..Dec multipliers")
    lines_per_order: Dist = Field(as_written(1), description="order lines per order (rounded, at least 1)")
    units_per_line: Dist = Field(as_written(1), description="units per line (rounded, at least 1)")
    regions: list[Region] = Field(default_factory=lambda: as_written([{"name": "all", "share": 1.0}]), min_length=1)
    promotions: list[Promotion] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list, description="marketing channels")
    scale: float = Field(
        1.0,
        ge=0,
        le=1000,
        description="what-if multiplier on every source of demand: base "
        "orders (so promotion orders too) and every channel's max_extra_orders_per_day "
        "(3 = demand triples); see inventory.plan_demand",
    )


# ---------------------------------------------------------------- network and supply
class DownPeriod(Model):
    """Days on which a warehouse or carrier ships nothing."""

    start_day: int = Field(ge=0, le=MAX_DAYS, description="first day it is down (0 = start_date)")
    days: int = Field(ge=1, le=MAX_DAYS, description="length (days)")


class Shift(Model):
    """A picking shift: hours, pickers and the weekdays it runs."""

    start_hour: float = Field(ge=0, lt=24, description="shift start, hours after midnight")
    end_hour: float = Field(gt=0, le=24, description="shift end, hours after midnight (after start)")
    pickers: int = Field(ge=0, le=MAX_COUNT, description="pickers working in this shift")
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default_factory=lambda: list(range(7)), description="days it runs, 0 = Monday"
    )


class Picking(Model):
    """Order picking: pickers follow shifts; a pick job takes setup + lines x per-line time + travel.

    Travel for a job of n lines over A aisles is base + per_aisle x A (1 - (1 - 1/A)^n): the
    expected number of distinct aisles visited when picks fall uniformly on the aisles.
    ``pick_time_seconds`` replaces the whole formula (e.g. exponential for an M/M/c queue).
    """

    pickers: int | None = Field(None, ge=0, le=MAX_COUNT, description="pickers all day, every day (or give shifts)")
    shifts: list[Shift] = Field(default_factory=list, description="shift schedule (sums where shifts overlap)")
    promo_extra_pickers: int = Field(
        0, ge=0, le=MAX_COUNT, description="extra pickers in every shift on promotion-event days"
    )
    setup_seconds: Dist = Field(as_written(30), description="per job: fetch a cart, print lists (s)")
    seconds_per_line: Dist = Field(as_written(15), description="per order line: find, pick, scan (s)")
    aisles: int = Field(20, ge=1, le=MAX_COUNT, description="aisles in the pick area")
    travel_seconds_base: float = Field(
        30.0, ge=0, le=MAX_SECONDS, description="per job: walk to and from the depot (s)"
    )
    travel_seconds_per_aisle: float = Field(12.0, ge=0, le=MAX_SECONDS, description="per aisle visited (s)")
    pick_time_seconds: Dist | None = Field(None, description="whole job time; replaces setup + lines + travel")
    release: Literal["discrete", "waves"] = Field("discrete", description="orders released one by one or in waves")
    wave_interval_minutes: float = Field(60.0, gt=0, le=MAX_DAYS * 1440, description="waves: minutes between releases")
    wave_max_orders: int = Field(
        200, ge=1, le=int(MAX_ORDERS_PER_DAY), description="waves: most orders released per wave"
    )
    batch_size: int = Field(1, ge=1, le=MAX_COUNT, description="waves: orders picked together in one job")
    packing_stations: int | None = Field(
        None, ge=1, le=MAX_COUNT, description="packing stations (none: no packing step)"
    )
    packing_seconds: Dist = Field(as_written(45), description="packing time per shipment (s)")
    labour_cost_per_picker_hour: Money = Field(25.0, description="paid per scheduled picker-hour")


class Warehouse(Model):
    """A warehouse: the regions it serves first, picking, carrier cut-offs, storage and its costs."""

    name: str = Field(min_length=1)
    regions: list[str] = Field(default_factory=list, description="regions this warehouse serves first")
    picking: Picking | None = Field(None, description="picking model; none = instant picking")
    cutoff_hours: list[Annotated[float, Field(ge=0, le=24)]] = Field(
        default_factory=list, description="carrier pick-up times each day; none = ships when packed"
    )
    down: list[DownPeriod] = Field(default_factory=list, description="periods in which it ships nothing")
    storage_units: int | None = Field(
        None,
        ge=1,
        description="storage capacity in units (none: unlimited); units "
        "on hand above it sit in overflow space, still available to ship, at "
        "overflow_cost_per_unit_day; the reorder optimizer makes sum of r + Q fit",
    )
    overflow_cost_per_unit_day: NonNeg = Field(
        0.10, description="cost per unit per day on hand above storage_units (rented overflow space; currency)"
    )
    handling_cost_per_order: NonNeg = Field(
        0.0,
        description="cost per shipment that leaves this warehouse "
        "(currency; in total_cost and the logistics optimizer)",
    )
    fixed_cost_per_day: NonNeg = Field(
        0.0,
        description="cost per day of keeping the warehouse open (currency; "
        "in total_cost and the logistics optimizer; under lane_plan routing a "
        "warehouse no lane names is closed)",
    )


class Lane(Model):
    """A carrier's transit time and price multiplier from one warehouse to one region."""

    warehouse: str
    region: str
    transit_days: Dist | None = Field(None, description="transit time on this lane (days)")
    cost_multiplier: Factor = Field(1.0, description="zone multiplier on the carrier's price")


class Carrier(Model):
    """A parcel carrier: cost = (base + per kg x weight) x lane multiplier; transit per lane."""

    name: str = Field(min_length=1)
    base_cost: Money = Field(description="per shipment (currency)")
    cost_per_kg: Money = Field(0.0, description="per kg (currency)")
    transit_days: Dist = Field(as_written(2), description="default transit time (days)")
    lanes: list[Lane] = Field(default_factory=list, description="per warehouse-region transit and zone price")
    promise_days: int | None = Field(
        None, ge=0, le=MAX_DAYS, description="delivery promise with this carrier (overrides region's)"
    )
    daily_capacity: int | None = Field(
        None, ge=0, le=int(MAX_ORDERS_PER_DAY), description="shipments per warehouse per day"
    )
    down: list[DownPeriod] = Field(default_factory=list)


class LaneShare(Model):
    """lane_plan routing: the share of a region's orders sent from a warehouse with a carrier."""

    region: str
    warehouse: str
    carrier: str
    share: Prob


class Routing(Model):
    """Which warehouse serves an order and which carrier takes it."""

    warehouse: Literal["own_region", "nearest_with_stock", "lane_plan"] = Field(
        "own_region", description="which warehouse serves an order"
    )
    split_shipments: bool = Field(False, description="nearest_with_stock: lines may ship from several warehouses")
    carrier: Literal["cheapest", "fastest", "rule"] = Field("cheapest", description="carrier choice")
    express_carrier: str | None = Field(None, description="rule: carrier for valuable orders")
    express_min_order_value: float = Field(
        300.0, ge=0, le=MAX_BUDGET, description="rule: orders worth at least this go express"
    )
    capacity_overflow: Literal["wait", "spill"] = Field("wait", description="carrier full: next day or another carrier")
    on_warehouse_down: Literal["reroute", "wait"] = Field("reroute")
    lane_plan: list[LaneShare] = Field(default_factory=list, description="lane_plan: shares per region")


class Disruption(Model):
    """Planned days on which a supplier ships nothing."""

    start_day: int = Field(ge=0, le=MAX_DAYS, description="first day the supplier ships nothing (0 = start_date)")
    days: int = Field(ge=1, le=MAX_DAYS, description="length (days)")


class RandomDisruptions(Model):
    """Random supplier outages: exponential up times and durations."""

    mean_days_between: float = Field(gt=0, le=1e6, description="mean up time between disruptions (days, exponential)")
    mean_duration_days: float = Field(gt=0, le=MAX_DAYS, description="mean length of a disruption (days, exponential)")


class Supplier(Model):
    """A supplier: lead time, order cost, its share of generated SKUs and its disruptions."""

    name: str = Field(min_length=1)
    lead_time_days: Dist = Field(as_written(7), description="time from shipping to receipt (days)")
    order_cost: Money | None = Field(
        None, description="cost per replenishment order; default inventory.costs.order_cost"
    )
    share: Prob | None = Field(None, description="share of generated SKUs bought here (default equal)")
    disruptions: list[Disruption] = Field(default_factory=list, description="periods in which nothing ships")
    random_disruptions: RandomDisruptions | None = None


# ---------------------------------------------------------------- inventory
class Policy(Model):
    """Replenishment policy for every (warehouse, SKU); numbers omitted are set from demand."""

    type: Literal["sQ", "sS", "RS", "RsS", "base_stock"] = Field("sQ", description="policy family")
    review: Literal["continuous", "periodic"] | None = Field(
        None, description="continuous (after every demand) or periodic; RS and RsS are periodic"
    )
    review_period_days: int = Field(7, ge=1, le=MAX_DAYS, description="R, days between reviews (periodic)")
    reorder_point: Units | None = Field(
        None, description="s: order when inventory position <= s (< s with reorder_trigger: below)"
    )
    reorder_trigger: Literal["at_or_below", "below"] = Field(
        "at_or_below",
        description="when sQ, sS and RsS order: at_or_below (inventory position <= s) or below (< s, as many "
        "textbooks write); sQ then orders the fewest multiples of Q that bring the position above s (at_or_below) "
        "or to at least s (below). RS and base-stock are unaffected (they order up to S whenever the position is "
        "below S). Levels derived from service_level are the same under both; optimize reorder writes its reorder "
        "points one higher under below, so its plan orders exactly as under at_or_below",
    )
    order_quantity: Annotated[float, Field(gt=0, le=MAX_UNITS)] | Literal["eoq"] | None = Field(
        None, description="Q (units) or 'eoq'"
    )
    order_up_to: Units | None = Field(None, description="S: order up to this inventory position")
    service_level: float = Field(
        0.95, gt=0, lt=1, description="cycle service level used for omitted s/S (normal approx.)"
    )

    @property
    def periodic(self) -> bool:
        """Whether stock is reviewed every ``review_period_days`` (RS and RsS always are)."""
        return self.type in ("RS", "RsS") or self.review == "periodic"


class SkuPolicy(Model):
    """Parameters for one SKU (optionally one warehouse); optimizers write these."""

    sku: str
    warehouse: str | None = None
    reorder_point: Units | None = None
    order_quantity: Annotated[float, Field(gt=0, le=MAX_UNITS)] | None = None
    order_up_to: Units | None = None


class Costs(Model):
    """Inventory cost rates: holding, ordering, backorder, lost-sale and late-delivery penalties."""

    holding_rate_per_year: float = Field(
        0.25, ge=0, le=100, description="holding cost per year as a fraction of unit cost"
    )
    order_cost: Money = Field(50.0, description="fixed cost per replenishment order (currency)")
    order_cost_per_unit: Money = Field(
        0.0,
        description="purchase cost per unit ordered, counted in ordering_cost (ordering_cost = order cost x orders "
        "+ order_cost_per_unit x units ordered; the textbook c); cost of goods sold is unaffected",
    )
    backorder_cost_per_unit_day: Money = Field(0.0, description="penalty per unit backordered per day")
    lost_sale_cost_per_unit: Money = Field(0.0, description="penalty per lost unit (on top of the lost margin)")
    late_delivery_cost_per_order: Money = Field(
        0.0, description="compensation per order delivered after its promised day (voucher, refund of shipping)"
    )
    cost_basis: Literal["time_average", "period_end"] = Field(
        "time_average",
        description="stock and backorders that holding and backorder costs (and avg_on_hand_units, "
        "avg_inventory_value, avg_backorder_units) are charged on: time_average (the integral over time) or "
        "period_end (as periodic-review textbooks: the stock and backorders at the end of each review period "
        "count for every day of it; with continuous review, those at the end of each day)",
    )


class Forecast(Model):
    """Forecast-driven levels: derived s, S (and EOQ Q) follow a forecast of each pair's observed demand."""

    method: Literal["moving_average", "exponential_smoothing", "seasonal"] = Field(
        "moving_average",
        description="moving_average (mean of the last history_days days per warehouse x SKU), "
        "exponential_smoothing (simple exponential smoothing per pair, weight alpha) or seasonal "
        "(Holt-Winters with additive trend and a season_days season on each warehouse's total, split over "
        "its SKUs by their share of the window's demand)",
    )
    history_days: int = Field(
        56,
        ge=7,
        le=MAX_DAYS,
        description="days of observed demand each forecast uses; the first refit is on day history_days "
        "(until then the levels come from the true demand rate, the shop's opening plan)",
    )
    refit_every_days: int = Field(
        7, ge=1, le=MAX_DAYS, description="days between refits after the first (levels change only at a refit)"
    )
    alpha: float = Field(0.2, gt=0, le=1, description="smoothing weight of the newest day (exponential_smoothing only)")
    season_days: int = Field(7, ge=2, le=366, description="length of the season in days (seasonal only; 7 = weekly)")

    @model_validator(mode="after")
    def _two_seasons(self) -> Forecast:
        """Holt-Winters needs two full seasons of history to start its seasonal indices."""
        if self.method == "seasonal" and self.history_days < 2 * self.season_days:
            raise ValueError(
                f"history_days ({self.history_days}) must be at least 2 x season_days "
                f"({2 * self.season_days}) for the seasonal method"
            )
        return self


class Inventory(Model):
    """Replenishment: the policy, per-SKU plan rows, unmet demand, start stock and costs."""

    policy: Policy = Field(default_factory=Policy)
    per_sku: list[SkuPolicy] = Field(default_factory=list, description="per-SKU parameters (plans write these)")
    unmet_demand: Literal["backorder", "lost_sales"] = Field("backorder")
    initial_on_hand: Literal["order_up_to", "reorder_point"] | Units = Field(
        "order_up_to", description="start stock: S (or s+Q), s, or a number of units per SKU"
    )
    costs: Costs = Field(default_factory=Costs)
    plan_demand: Literal["unscaled", "as_scaled"] = Field(
        "unscaled",
        description="demand that omitted reorder points, order-up-to levels and EOQ quantities are "
        "set from: unscaled (today's demand, demand.scale = 1: the plan does not know the future) or as_scaled "
        "(the demand after demand.scale)",
    )
    forecast: Forecast | None = Field(
        None,
        description="forecast the demand from what the run has seen and re-derive the omitted levels from it "
        "every refit_every_days (none: levels from the true demand rate for the whole run)",
    )


_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


def safe_name(value: str) -> str:
    """A name that becomes a folder (``results/<name>/``): a slug that cannot leave its root.

    Letters, digits, ``_``, ``.`` and ``-``; not starting with ``.`` or ``-``; no ``..``;
    at most 100 characters (so no ``/``, ``\\``, NUL, control characters or absolute paths).

    >>> safe_name("double11_v2.1")
    'double11_v2.1'
    """
    if not _SAFE_NAME.fullmatch(value) or ".." in value:
        raise ValueError(
            "must be a safe folder name: letters, digits, '_', '.' and '-', not starting with "
            "'.' or '-', no '..', at most 100 characters"
        )
    return value


SafeName = Annotated[str, Field(min_length=1), AfterValidator(safe_name)]


class KpiWindow(Model):
    """Calendar days the KPIs cover: orders placed on them, stock and costs of those days."""

    start: dt.date = Field(description="first day (YYYY-MM-DD), within the horizon")
    end: dt.date = Field(description="last day, inclusive (YYYY-MM-DD), within the horizon")


class EventKpis(Model):
    """KPIs over each promotion event (its days plus a margin), reported beside the main KPIs."""

    enabled: bool = Field(True, description="compute event KPIs for every promotion in the horizon")
    margin_days: int = Field(
        0,
        ge=0,
        le=MAX_DAYS,
        description="days added before and after the event days (0: only the orders placed on the event days)",
    )


class Scenario(Model):
    """A whole shop: catalogue, demand, warehouses, suppliers and inventory policy."""

    name: SafeName = Field(description="run name, also its folder results/NAME/ (letters, digits, _ . -)")
    description: str = ""
    start_date: dt.date = Field(dt.date(2026, 1, 1), description="calendar date of day 0")
    horizon_days: int = Field(365, ge=1, le=36_500, description="simulated days")
    warmup_days: Annotated[int, Field(ge=0, le=MAX_DAYS)] | Literal["auto"] = Field(
        0,
        description='days excluded from the KPIs; "auto": detected by MSER-5 on pilot replications '
        "(run.py simulate and run.py experiment resolve it before simulating)",
    )
    kpi_window: KpiWindow | None = Field(
        None, description="KPIs over these days only (replaces the warm-up cut); also --window START:END"
    )
    event_kpis: EventKpis = Field(default_factory=EventKpis, description="KPIs per promotion event")
    currency: str | None = Field(
        None, pattern=r"^[A-Za-z]{3}$", description="ISO code of the money amounts (e.g. CNY, shown as ¥); display only"
    )
    seed: int = Field(1, ge=0, description="default master seed")
    catalog: Catalog
    demand: Demand
    warehouses: list[Warehouse] = Field(default_factory=lambda: as_written([{"name": "main"}]), min_length=1)
    suppliers: list[Supplier] = Field(default_factory=lambda: as_written([{"name": "default"}]), min_length=1)
    carriers: list[Carrier] = Field(default_factory=list, description="none: delivered when shipped, at no cost")
    routing: Routing = Field(default_factory=Routing)
    inventory: Inventory = Field(default_factory=Inventory)


def warmup_days_of(s: Scenario) -> int:
    """The scenario's warm-up in days; ``InputError`` while it is still ``auto`` (the simulator needs a number).

    >>> from sim.scenario.loader import load_scenario
    >>> warmup_days_of(load_scenario("scenarios/classroom_queue.yaml"))
    5
    """
    if s.warmup_days == "auto":
        raise InputError(
            [
                Problem(
                    f"scenario {s.name}",
                    None,
                    "warmup_days",
                    '"auto" is resolved by `run.py simulate` and `run.py experiment` (MSER-5 on pilot '
                    "replications; in Python experiments.warmup.resolve_warmup); the simulator itself needs a "
                    "number of days",
                )
            ]
        )
    return s.warmup_days
