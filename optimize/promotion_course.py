"""The textbook media-budget LP: channels given as piecewise-linear segments, as in coursework.

A course problem gives each channel's return directly: segments of spend (``width``) with a
revenue per unit of spend that falls from one segment to the next (diminishing returns),
instead of the simulator's response curves. The file has one key, ``promotion_lp``:

.. code-block:: yaml

    promotion_lp:
      budget: 50000
      budget_use: at_most        # or exactly: the whole budget is spent (the constraint is =)
      objective: revenue         # or profit: margin x revenue - spend
      margin: 0.35               # gross margin per unit of revenue (profit objective)
      channels:
        - name: search
          segments:
            - {width: 20000, revenue_per_spend: 5.0}
            - {width: 30000, revenue_per_spend: 3.0}
          min_spend: 0           # optional: spend at least / at most this on the channel
          max_spend: 40000

The LP, with x_ck the spend on segment k of channel c and r_ck its revenue per unit:

    maximize    sum r_ck x_ck                      (revenue)  or  sum (margin r_ck - 1) x_ck  (profit)
    subject to  0 <= x_ck <= width_ck
                sum x_ck <= budget   (or = budget)                    budget:all
                min_c <= sum_k x_ck <= max_c                          channel_min:c / channel_max:c

Returns fall along each channel, so the LP fills a channel's segments in order without
binaries; a file whose returns rise is refused at its line. The budget's dual is what one
more unit of budget is worth (negative when the whole budget must be spent on segments
that lose money); a segment's reduced value (its objective coefficient less the dual of
the budget and of its channel's rows) says how much better it would have to be to be bought.

>>> lp = CourseLP.model_validate({"budget": 50000, "channels": [{"name": "search", "segments": [
...     {"width": 20000, "revenue_per_spend": 5.0}, {"width": 30000, "revenue_per_spend": 3.0}]},
...     {"name": "social", "segments": [{"width": 10000, "revenue_per_spend": 4.0}]}]})
>>> plan = solve_course(lp)
>>> plan.objective, plan.budget_dual, plan.segments.spend.tolist()
(200000.0, 3.0, [20000.0, 20000.0, 10000.0])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
import pulp
from pydantic import Field, ValidationError, model_validator

from optimize.solver import Infeasible
from optimize.solver import solve as run_solver
from sim.scenario.errors import InputError
from sim.scenario.loader import pydantic_problems
from sim.scenario.schema import Model
from sim.scenario.yamlio import read_yaml

__all__ = [
    "CourseChannel",
    "CourseFile",
    "CourseLP",
    "CoursePlan",
    "CourseSegment",
    "is_course_file",
    "load_course",
    "solve_course",
]

MAX_AMOUNT = 1e12


class CourseSegment(Model):
    """One piece of a channel's return: ``width`` units of spend, each bringing ``revenue_per_spend``."""

    width: float = Field(gt=0, le=MAX_AMOUNT, description="spend this segment can take (currency)")
    revenue_per_spend: float = Field(ge=0, le=1e6, description="revenue per unit of spend on this segment")


class CourseChannel(Model):
    """A channel as a list of segments with falling returns, and optional minimum and maximum spend."""

    name: str = Field(min_length=1, max_length=100)
    segments: list[CourseSegment] = Field(min_length=1, max_length=1000)
    min_spend: float = Field(0.0, ge=0, le=MAX_AMOUNT)
    max_spend: float | None = Field(None, ge=0, le=MAX_AMOUNT)

    @model_validator(mode="after")
    def _falling_returns(self) -> CourseChannel:
        r = [s.revenue_per_spend for s in self.segments]
        for k in range(1, len(r)):
            if r[k] > r[k - 1]:
                raise ValueError(
                    f"segment {k + 1} returns {r[k]:g} per unit of spend, more than segment {k} ({r[k - 1]:g}): "
                    "returns must fall along a channel (diminishing returns), or the LP would skip segments"
                )
        if self.max_spend is not None and self.min_spend > self.max_spend:
            raise ValueError(f"min_spend {self.min_spend:g} is above max_spend {self.max_spend:g}")
        return self


class CourseLP(Model):
    """The coursework promotion LP of the module docstring."""

    budget: float = Field(gt=0, le=MAX_AMOUNT, description="total spend available (currency)")
    budget_use: Literal["at_most", "exactly"] = "at_most"
    objective: Literal["revenue", "profit"] = "revenue"
    margin: float = Field(1.0, gt=0, le=1, description="gross margin per unit of revenue (profit objective)")
    channels: list[CourseChannel] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _unique_names(self) -> CourseLP:
        names = [c.name for c in self.channels]
        if len(set(names)) != len(names):
            raise ValueError(f"channel names must be unique, got {names}")
        return self


@dataclass
class CoursePlan:
    """The solved course LP: spend per segment and channel, objective and duals."""

    segments: pd.DataFrame  # channel, segment, width, revenue_per_spend, spend, value, reduced_value
    channels: pd.DataFrame  # channel, spend, revenue, roas
    objective: float
    budget_dual: float
    channel_duals: dict[str, float]
    status: str


def is_course_file(path: str | Path) -> bool:
    """True when the YAML file is a course LP (its top level has the key ``promotion_lp``)."""
    src = read_yaml(path)
    return isinstance(src.data, dict) and "promotion_lp" in src.data


class CourseFile(Model):
    """A course LP file: the one key ``promotion_lp``."""

    promotion_lp: CourseLP


def load_course(path: str | Path) -> CourseLP:
    """The course LP of a file; ``InputError`` with one problem per key, naming its line."""
    src = read_yaml(path)
    try:
        return CourseFile.model_validate(src.data).promotion_lp
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, src, str(path), CourseFile)) from None


def _value(lp: CourseLP, seg: CourseSegment) -> float:
    return seg.revenue_per_spend if lp.objective == "revenue" else lp.margin * seg.revenue_per_spend - 1.0


def solve_course(lp: CourseLP) -> CoursePlan:
    """Solve the course LP; ``Infeasible`` when the channel minimums and maximums cannot meet the budget."""
    prob = pulp.LpProblem("course_promotion", pulp.LpMaximize)
    x = {
        (c, k): pulp.LpVariable(f"x_{c}_{k}", 0, seg.width)
        for c, ch in enumerate(lp.channels)
        for k, seg in enumerate(ch.segments)
    }
    prob += pulp.lpSum(_value(lp, lp.channels[c].segments[k]) * v for (c, k), v in x.items())
    total = pulp.lpSum(x.values())
    prob += (total == lp.budget) if lp.budget_use == "exactly" else (total <= lp.budget), "budget:all"
    for c, ch in enumerate(lp.channels):
        spend = pulp.lpSum(v for (ci, _), v in x.items() if ci == c)
        if ch.min_spend > 0:
            prob += spend >= ch.min_spend, f"channel_min:{ch.name}"
        if ch.max_spend is not None:
            prob += spend <= ch.max_spend, f"channel_max:{ch.name}"
    sol = run_solver(prob)
    if sol.status != "optimal":
        room = sum(min(sum(s.width for s in ch.segments), ch.max_spend or float("inf")) for ch in lp.channels)
        raise Infeasible(
            f"the channels can take {room:,.0f} at most and need {sum(c.min_spend for c in lp.channels):,.0f} "
            f"at least: the budget {lp.budget:,.0f} ({lp.budget_use.replace('_', ' ')}) cannot be met",
            "budget",
        )
    return _read(lp, x, sol)


def _read(lp: CourseLP, x: dict, sol) -> CoursePlan:
    """Tables and duals of the solved course LP."""
    budget_dual = sol.duals.get("budget:all", 0.0)
    channel_duals = {}
    rows = []
    for c, ch in enumerate(lp.channels):
        mu = sol.duals.get(f"channel_min:{ch.name}", 0.0) + sol.duals.get(f"channel_max:{ch.name}", 0.0)
        channel_duals[ch.name] = mu
        for k, seg in enumerate(ch.segments):
            spend = float(x[c, k].value() or 0.0)
            rows.append(
                {
                    "channel": ch.name,
                    "segment": k + 1,
                    "width": seg.width,
                    "revenue_per_spend": seg.revenue_per_spend,
                    "spend": spend,
                    "value": _value(lp, seg) * spend,
                    "reduced_value": _value(lp, seg) - budget_dual - mu,
                }
            )
    segments = pd.DataFrame(rows)
    segments["revenue"] = segments.spend * segments.revenue_per_spend
    channels = segments.groupby("channel", sort=False)[["spend", "revenue"]].sum().reset_index()
    channels["roas"] = channels.revenue / channels.spend.where(channels.spend > 0)
    return CoursePlan(
        segments=segments.drop(columns="revenue"),
        channels=channels,
        objective=float(segments.value.sum()),
        budget_dual=budget_dual,
        channel_duals=channel_duals,
        status=sol.status,
    )
