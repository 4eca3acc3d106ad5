"""The one place that talks to PuLP solvers: HiGHS by default, CBC as fallback.

``solve(problem, time_limit=...)`` returns a :class:`Solution` with the status,
objective, solve time and, for LPs, the duals (shadow prices) and slacks of every
constraint. Constraints are named ``group:detail`` (e.g. ``fill_target:all``,
``budget:all``, ``storage:east_dc``) so an infeasible model can be explained by
group. No optimizer calls ``prob.solve()`` directly.

>>> import pulp
>>> p = pulp.LpProblem("demo", pulp.LpMinimize)
>>> x = pulp.LpVariable("x", 0)
>>> p += 2 * x
>>> p += (x >= 3), "demand:all"
>>> s = solve(p)
>>> s.status, s.objective, s.duals["demand:all"]
('optimal', 6.0, 2.0)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pulp

STATUS = {
    pulp.LpStatusOptimal: "optimal",
    pulp.LpStatusInfeasible: "infeasible",
    pulp.LpStatusUnbounded: "unbounded",
    pulp.LpStatusNotSolved: "not_solved",
    pulp.LpStatusUndefined: "undefined",
}


class Infeasible(Exception):
    """The model has no solution; ``str()`` says which constraint group cannot be met."""

    def __init__(self, message: str, group: str | None = None):
        super().__init__(message)
        self.group = group


@dataclass
class Solution:
    """What a solve returns: status, objective, seconds, solver name, duals and slacks by constraint name."""

    status: str
    objective: float
    seconds: float
    solver: str
    duals: dict[str, float] = field(default_factory=dict)
    slacks: dict[str, float] = field(default_factory=dict)
    # duals: change of the objective per unit increase of the constraint's right-hand side

    def binding(self, tol: float = 1e-7) -> list[str]:
        """Names of constraints with (almost) no slack."""
        return [n for n, s in self.slacks.items() if abs(s) <= tol * max(1.0, abs(self.duals.get(n, 0.0)))]


def _solver(name: str, time_limit: float | None, mip_gap: float | None, method: str | None):
    if name == "highs":
        opts = {}
        if method:
            opts["solver"] = method
        return pulp.HiGHS(msg=False, timeLimit=time_limit, gapRel=mip_gap, **opts)
    return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, gapRel=mip_gap)


def available() -> list[str]:
    """Names of the installed solvers this module can use, preferred first (``highs``, ``cbc``)."""
    names = pulp.listSolvers(onlyAvailable=True)
    out = []
    if "HiGHS" in names:
        out.append("highs")
    if "PULP_CBC_CMD" in names:
        out.append("cbc")
    return out


def solve(
    problem: pulp.LpProblem,
    time_limit: float | None = 120.0,
    solver: str | None = None,
    mip_gap: float | None = None,
    method: str | None = None,
) -> Solution:
    """Solve with HiGHS (or CBC when HiGHS is missing); duals for LPs."""
    names = available()
    if not names:
        raise RuntimeError("no LP solver available: install highspy (pip install highspy)")
    name = solver or names[0]
    start = time.perf_counter()
    problem.solve(_solver(name, time_limit, mip_gap, method))
    seconds = time.perf_counter() - start
    status = STATUS.get(problem.status, "undefined")
    # A stopped solve with a feasible but unproven solution: PuLP's HiGHS reports it as
    # LpStatusOptimal (CBC as not solved); the solution status says it is only feasible.
    if status in ("optimal", "not_solved") and problem.sol_status == pulp.LpSolutionIntegerFeasible:
        status = "time_limit"
    obj = pulp.value(problem.objective) if status in ("optimal", "time_limit") else None
    duals, slacks = {}, {}
    is_mip = any(v.cat == pulp.LpInteger for v in problem.variables())
    sign = -1.0 if problem.sense == pulp.LpMaximize else 1.0  # always: objective change per unit of RHS
    for cname, c in problem.constraints.items():
        slacks[cname] = c.slack if c.slack is not None else float("nan")
        if not is_mip and c.pi is not None:
            duals[cname] = sign * c.pi
    return Solution(
        status=status,
        objective=float(obj) if obj is not None else float("nan"),
        seconds=seconds,
        solver=name,
        duals=duals,
        slacks=slacks,
    )


def group_of(constraint_name: str) -> str:
    """The group of a constraint named ``group:detail``.

    >>> group_of("storage:east_dc")
    'storage'
    """
    return constraint_name.split(":", 1)[0]
