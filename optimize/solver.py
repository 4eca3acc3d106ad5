"""The one place that talks to PuLP solvers: HiGHS by default, CBC as fallback.

``solve(problem, time_limit=...)`` returns a :class:`Solution` with the status,
objective, solve time and, for LPs, the duals (shadow prices) and slacks of every
constraint. Constraints are named ``group:detail`` (e.g. ``fill_target:all``,
``budget:all``, ``storage:east_dc``) so an infeasible model can be explained by
group. No optimizer calls ``prob.solve()`` directly.

``solve_matrix(cost, matrix, row_lower, row_upper, ...)`` solves a model given as arrays
(a sparse constraint matrix) with HiGHS directly: no PuLP objects, so models with millions
of columns build in a second; it takes a MIP start, a time limit and a relative gap, and
returns a :class:`MatrixSolution` with the values, the row duals (LPs) and the MIP's bound.

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

import numpy as np
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


class NoPlan(RuntimeError):
    """The solver stopped (its time limit) before it had any plan; ``str()`` says what to raise."""


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


@dataclass
class MatrixSolution:
    """What :func:`solve_matrix` returns: status, objective (offset included), seconds, column values,
    row duals (LPs: objective change per unit of the row's bound), row activities and, for MIPs,
    the best proven lower bound (an LP's is its objective)."""

    status: str
    objective: float
    seconds: float
    x: np.ndarray
    row_dual: np.ndarray
    row_value: np.ndarray
    bound: float


def _highs_model(cost, matrix, row_lower, row_upper, integer: bool, offset: float):
    """A ``highspy.HighsLp`` of min cost x + offset, row_lower <= A x <= row_upper, 0 <= x <= 1."""
    import highspy

    a = matrix.tocsc()
    n_col, n_row = len(cost), len(row_lower)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_col, n_row
    lp.offset_ = float(offset)
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_ = np.zeros(n_col)
    lp.col_upper_ = np.ones(n_col)
    lp.row_lower_ = np.where(np.isfinite(row_lower), row_lower, -highspy.kHighsInf).astype(float)
    lp.row_upper_ = np.where(np.isfinite(row_upper), row_upper, highspy.kHighsInf).astype(float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * n_col
    return lp


def _matrix_status(h) -> str:
    """Our status words for a finished HiGHS run (a stopped MIP with a solution is ``time_limit``)."""
    import highspy

    ms = h.getModelStatus()
    feasible = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
    if ms == highspy.HighsModelStatus.kOptimal:
        return "optimal"
    if ms == highspy.HighsModelStatus.kInfeasible:
        return "infeasible"
    if ms == highspy.HighsModelStatus.kUnbounded:
        return "unbounded"
    if ms in (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kInterrupt) and feasible:
        return "time_limit"
    return "not_solved"


def solve_matrix(
    cost: np.ndarray,
    matrix,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    *,
    integer: bool = False,
    offset: float = 0.0,
    time_limit: float | None = 120.0,
    mip_gap: float | None = None,
    start: np.ndarray | None = None,
    options: dict | None = None,
) -> MatrixSolution:
    """Solve min cost x + offset s.t. row_lower <= matrix x <= row_upper, 0 <= x <= 1 (x integer if
    ``integer``) with HiGHS; ``start``: a feasible MIP start; infinite bounds mean none; ``options``:
    more HiGHS options by name (e.g. ``mip_feasibility_tolerance``).

    >>> import scipy.sparse as sp
    >>> s = solve_matrix(np.array([1.0, 2.0]), sp.csc_matrix([[1.0, 1.0]]), np.array([1.0]), np.array([np.inf]))
    >>> s.status, s.objective, s.row_dual.tolist()
    ('optimal', 1.0, [1.0])
    """
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if mip_gap is not None:
        h.setOptionValue("mip_rel_gap", float(mip_gap))
    for key, value in (options or {}).items():
        h.setOptionValue(key, value)
    h.passModel(_highs_model(cost, matrix, row_lower, row_upper, integer, offset))
    if start is not None and integer:
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(start, dtype=float)
        h.setSolution(sol)
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    status = _matrix_status(h)
    info, sol = h.getInfo(), h.getSolution()
    has_x = status in ("optimal", "time_limit")
    objective = float(info.objective_function_value) if has_x else float("nan")
    return MatrixSolution(
        status=status,
        objective=objective,
        seconds=seconds,
        x=np.asarray(sol.col_value, dtype=float) if has_x else np.zeros(len(cost)),
        row_dual=np.asarray(sol.row_dual, dtype=float) if has_x and not integer else np.zeros(len(row_lower)),
        row_value=np.asarray(sol.row_value, dtype=float) if has_x else np.zeros(len(row_lower)),
        bound=float(info.mip_dual_bound) if integer else objective,
    )


def group_of(constraint_name: str) -> str:
    """The group of a constraint named ``group:detail``.

    >>> group_of("storage:east_dc")
    'storage'
    """
    return constraint_name.split(":", 1)[0]
