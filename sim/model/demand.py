"""Customer demand: a non-homogeneous Poisson process of orders, drawn a day at a time.

The order rate is piecewise constant per day:

    rate(d) = base x weekday(d) x month(d) x promotion(d) + sum_channels g_c(d) hill(spend_c(d))

where ``promotion(d)`` is the event uplift (or the pre-event dip / post-event
hangover factor), g_c(d) is the channel's ``event_multiplier`` on promotion-event days
(1 otherwise) and ``hill`` is the saturating marketing response

    extra_orders(s) = max_extra * s^h / (k^h + s^h)      (Hill curve; concave for h <= 1)

``demand.scale`` (a what-if: "demand triples") multiplies ``base`` and every channel's
ceiling ``max_extra`` (:func:`channel_ceiling`), so promotion orders scale with the base.
The replenishment parameters that the scenario leaves to be derived from demand are set
from :func:`planning_plan`: today's demand (scale 1) unless ``inventory.plan_demand`` is
``as_scaled``.

The promotion optimizer uses these very functions. A day's orders are drawn in
one numpy batch: count, arrival times, region, lines, SKUs by popularity, units.

Arrivals are the points of a unit-rate Poisson process below the day's rate Lambda
(cumulative sums of Exp(1) gaps), scaled onto the day: their number is Poisson(Lambda)
and, given the number, they are uniform over the day, as for any Poisson day. Each
attribute has its own stream for the day (``sim.model.streams.DayStream``), so order i keeps
its region, lines, SKUs and units when the rate changes: a variant with more marketing
has the same orders plus some, which is what common random numbers need.

Each order knows its source (``DayOrders.source``: -1 organic, c for channel c), exactly and
without a random number of its own: a point at position x of the unit-rate process (x in
[0, Lambda)) is organic when x < base(d), and belongs to channel c when it falls in the c-th
of the consecutive intervals of widths ``DemandPlan.channel_orders[:, d]`` that follow. A
variant with more spend keeps the same organic orders; its extra orders are exactly the
"incremental orders" of the marketing KPIs (raising the last channel's spend leaves every
other source's orders unchanged; raising an earlier one shifts the later channels' intervals,
so their counts change, in distribution not at all). Deterministic arrivals are attributed
by the same rule on their evenly spaced positions.

>>> round(hill_response(100.0, max_extra=50, half_saturation=100), 3)
25.0
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from sim.model.catalog import CatalogArrays
from sim.model.streams import DayStream
from sim.scenario.schema import Channel, Promotion, Scenario


def hill_response(spend, max_extra, half_saturation, shape=1.0):
    """Extra orders per day bought by ``spend`` per day (Hill saturation curve)."""
    s = np.maximum(np.asarray(spend, dtype=float), 0.0)
    sh = s**shape
    out = max_extra * sh / (half_saturation**shape + sh)
    return float(out) if out.ndim == 0 else out


def hill_inverse(extra_orders, max_extra, half_saturation, shape=1.0):
    """Spend per day that buys ``extra_orders`` per day: s = k (y / (max - y))^(1/h).

    >>> round(hill_inverse(hill_response(250.0, 60, 4000, 0.9), 60, 4000, 0.9), 6)
    250.0
    """
    y = np.clip(np.asarray(extra_orders, dtype=float), 0.0, max_extra * (1 - 1e-12))
    out = half_saturation * (y / (max_extra - y)) ** (1.0 / shape)
    return float(out) if out.ndim == 0 else out


def promotion_days(scenario: Scenario) -> list[tuple[int, int, Promotion]]:
    """(first_day, last_day_exclusive, promotion) for every event occurrence in the horizon."""
    start, horizon = scenario.start_date, scenario.horizon_days
    out: list[tuple[int, int, Promotion]] = []
    for promo in scenario.demand.promotions:
        if isinstance(promo.date, dt.date):
            dates = [promo.date]
        else:
            month, day = map(int, promo.date.split("-"))
            dates = [dt.date(y, month, day) for y in range(start.year, start.year + horizon // 365 + 2)]
        for d in dates:
            first = (d - start).days
            if first + promo.days + promo.post_days > 0 and first - promo.pre_days < horizon:
                out.append((first, first + promo.days, promo))
    return out


def channel_spend(channel: Channel, scenario: Scenario, event_mask: np.ndarray) -> np.ndarray:
    """Spend per day of one channel over the horizon (currency/day)."""
    spend = np.full(scenario.horizon_days, channel.spend_per_day, dtype=float)
    spend[event_mask] += channel.event_spend_per_day
    for period in channel.schedule:
        a = max((period.start - scenario.start_date).days, 0)
        b = min((period.end - scenario.start_date).days + 1, scenario.horizon_days)
        if b > a:
            spend[a:b] = period.spend_per_day
    return spend


@dataclass(frozen=True)
class DemandPlan:
    """Per-day arrays over the horizon, computed once before the simulation."""

    base_rate: np.ndarray  # expected orders/day without marketing
    marketing_orders: np.ndarray  # expected extra orders/day from marketing (sum of channel_orders)
    spend: np.ndarray  # (channels, days) spend per day
    price_factor: np.ndarray  # 1 - discount, per day
    event: np.ndarray  # bool: a promotion event runs that day
    channel_orders: np.ndarray  # (channels, days) expected extra orders/day per channel

    @property
    def rate(self) -> np.ndarray:
        """Expected orders per day: base rate plus marketing orders."""
        return self.base_rate + self.marketing_orders


def channel_ceiling(channel: Channel, scale: float = 1.0) -> float:
    """A channel's saturation (extra orders/day at unlimited spend) under ``demand.scale``.

    >>> channel_ceiling(Channel(name="ads", max_extra_orders_per_day=40, half_saturation_spend=100), 3)
    120.0
    """
    return float(channel.max_extra_orders_per_day) * float(scale)


def demand_plan(scenario: Scenario, scale: float | None = None) -> DemandPlan:
    """Expected orders per day over the horizon (see the module docstring).

    ``scale`` replaces ``demand.scale`` (``scale=1``: today's demand, whatever the scenario says).
    """
    d, H = scenario.demand, scenario.horizon_days
    scale = d.scale if scale is None else float(scale)
    dates = [scenario.start_date + dt.timedelta(days=i) for i in range(H)]
    weekday = np.array([d.weekday_factors[x.weekday()] for x in dates])
    month = np.array([d.monthly_factors[x.month - 1] for x in dates])
    promo = np.ones(H)
    price_factor = np.ones(H)
    event = np.zeros(H, dtype=bool)
    for first, end, p in promotion_days(scenario):
        pre = slice(max(first - p.pre_days, 0), max(min(first, H), 0))
        promo[pre] *= p.pre_factor
        post = slice(max(end, 0), max(min(end + p.post_days, H), 0))
        promo[post] *= p.post_factor
        core = slice(max(first, 0), max(min(end, H), 0))
        promo[core] *= p.uplift
        price_factor[core] = 1 - p.discount
        event[core] = True
    spend = np.array([channel_spend(ch, scenario, event) for ch in d.channels]).reshape(len(d.channels), H)
    extra = np.zeros(H)
    per_channel = np.zeros((len(d.channels), H))
    for c, (ch, s) in enumerate(zip(d.channels, spend)):
        gain = np.where(event, ch.event_multiplier, 1.0)
        per_channel[c] = gain * hill_response(s, channel_ceiling(ch, scale), ch.half_saturation_spend, ch.hill_shape)
        extra += per_channel[c]
    return DemandPlan(
        base_rate=d.base_orders_per_day * scale * weekday * month * promo,
        marketing_orders=extra,
        spend=spend,
        price_factor=price_factor,
        event=event,
        channel_orders=per_channel,
    )


def plans_scaled_demand(scenario: Scenario) -> bool:
    """True when derived reorder points / order-up-to levels / EOQ follow ``demand.scale``."""
    return scenario.demand.scale == 1 or scenario.inventory.plan_demand == "as_scaled"


def planning_plan(scenario: Scenario, plan: DemandPlan | None = None) -> DemandPlan:
    """The demand the omitted replenishment parameters are set from (``sim.model.policy.resolve_policy``).

    ``inventory.plan_demand: unscaled`` (the default) plans for today's demand, scale 1: the
    what-if "demand triples, plan unchanged"; ``as_scaled`` plans for the scaled demand.
    ``plan`` is the scenario's own (scaled) plan when the caller already has it.
    """
    if plans_scaled_demand(scenario):
        return demand_plan(scenario) if plan is None else plan
    return demand_plan(scenario, scale=1.0)


@dataclass
class DayOrders:
    """One day's orders in CSR layout: order i has lines line_start[i]:line_start[i+1]."""

    times: np.ndarray  # arrival time (days since start), sorted
    region: np.ndarray  # region index per order
    line_start: np.ndarray  # (n+1,) offsets into the line arrays
    line_sku: np.ndarray  # SKU index per line
    line_qty: np.ndarray  # units per line (int)
    source: np.ndarray  # int8 per order: -1 organic, c for marketing channel c (see the module docstring)

    @property
    def n(self) -> int:
        """Number of orders of the day."""
        return len(self.times)


def draw_counts(dist, rng, size) -> np.ndarray:
    """``size`` draws of a count distribution, rounded, at least 1 (lines per order, units per line)."""
    return np.maximum(np.rint(dist.sample(rng, size)), 1).astype(np.int64)


def unit_rate_points(rng: np.random.Generator, rate: float) -> np.ndarray:
    """Points of a unit-rate Poisson process in [0, rate), divided by rate (sorted, in (0, 1)).

    Their number is Poisson(rate); a larger rate keeps every point of a smaller one
    (the gaps come from the same stream).

    >>> a = unit_rate_points(np.random.default_rng(3), 50.0) * 50.0
    >>> b = unit_rate_points(np.random.default_rng(3), 80.0) * 80.0
    >>> len(b) >= len(a) and bool(np.allclose(a, b[:len(a)]))
    True
    """
    if rate <= 0:
        return np.zeros(0)
    x = unit_rate_positions(rng, rate)
    u = x / rate
    u[u <= 0.0] = 1e-12  # arrivals lie strictly inside the day (see sim.model.shop)
    return u


def unit_rate_positions(rng: np.random.Generator, rate: float) -> np.ndarray:
    """The points of a unit-rate Poisson process in [0, rate) themselves (sorted; ``unit_rate_points`` x rate)."""
    if rate <= 0:
        return np.zeros(0)
    chunk = int(rate + 5.0 * np.sqrt(rate) + 16)
    cum = np.cumsum(rng.standard_exponential(chunk))
    while cum[-1] < rate:
        cum = np.concatenate([cum, cum[-1] + np.cumsum(rng.standard_exponential(chunk))])
    n = int(np.searchsorted(cum, rate, side="left"))
    return cum[:n]


def order_sources(positions: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Source of each point at ``positions`` of a day's [0, rate): -1 below ``edges[0]`` (the base rate),
    c in [edges[c], edges[c + 1]) (channel c); ``edges`` = base + cumulative channel orders (C + 1 values).

    >>> order_sources(np.array([0.5, 2.0, 2.9, 3.5]), np.array([1.0, 3.0, 4.0])).tolist()
    [-1, 0, 0, 1]
    """
    channels = len(edges) - 1
    if channels <= 0:
        return np.full(len(positions), -1, dtype=np.int8)
    src = np.searchsorted(edges, positions, side="right") - 1
    return np.minimum(src, channels - 1).astype(np.int8)


class DemandGenerator:
    """Draws each day's orders in one batch, from streams of that day (one per attribute)."""

    def __init__(self, scenario: Scenario, catalog: CatalogArrays, plan: DemandPlan, seed: int):
        self.d = scenario.demand
        self.plan = plan
        self.seed = int(seed)
        self.cum_region = np.cumsum([r.share for r in self.d.regions])
        self.cum_region[-1] = 1.0
        self.cum_pop = np.cumsum(catalog.popularity)
        self.cum_pop[-1] = 1.0
        self._carry = 0.0  # fractional orders carried over (deterministic arrivals)
        # (channels + 1, days): base rate, then base + cumulative channel orders (the source boundaries)
        self._edges = plan.base_rate + np.vstack(
            [np.zeros((1, len(plan.base_rate))), np.cumsum(plan.channel_orders, 0)]
        )
        # one stream per attribute: arrivals, region, lines, SKUs, units
        self._arrivals, self._region, self._lines, self._sku, self._qty = (
            DayStream(seed, "demand", (i,)) for i in range(5)
        )

    def draw_day(self, day: int) -> DayOrders:
        """The orders of day ``day``: Poisson (or evenly spaced deterministic) arrivals and their attributes."""
        rate = float(self.plan.rate[day])
        if self.d.arrivals == "poisson":
            x = unit_rate_positions(self._arrivals.at(day), rate)
            u = x / rate if rate > 0 else x
            u[u <= 0.0] = 1e-12  # as unit_rate_points: strictly inside the day
            n = len(u)
        else:
            total = rate + self._carry
            n = int(total)
            self._carry = total - n
            u = (np.arange(n) + 0.5) / max(n, 1)
            x = u * rate
        source = order_sources(x, self._edges[:, day])
        region = (
            np.searchsorted(self.cum_region, self._region.at(day).random(n), side="right")
            if len(self.cum_region) > 1
            else np.zeros(n, dtype=np.int64)
        )
        lines = draw_counts(self.d.lines_per_order, self._lines.at(day), n)
        line_start = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lines, out=line_start[1:])
        m = int(line_start[-1])
        sku = np.searchsorted(self.cum_pop, self._sku.at(day).random(m), side="right")
        qty = draw_counts(self.d.units_per_line, self._qty.at(day), m)
        return DayOrders(times=day + u, region=region, line_start=line_start, line_sku=sku, line_qty=qty, source=source)
