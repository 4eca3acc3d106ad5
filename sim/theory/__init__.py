"""Closed-form textbook formulas the simulator is checked against.

Pure functions with no simulator imports. Inventory time is in days; queueing
formulas work in any time unit as long as rates and times use the same one.
Modules: ``normal`` (standard normal and Poisson functions), ``inventory`` (EOQ,
(r, Q) with Poisson demand, (R, S) with normal demand) and ``queues`` (Erlang C,
M/M/c, M/G/1 given the service variance or cv, M/D/1, and M/D/c exactly by Crommelin's method).
"""

from sim.theory.inventory import (
    RQPoissonResult,
    RSNormalResult,
    eoq,
    eoq_cost_per_day,
    order_up_to_for_service,
    rq_poisson,
    rq_poisson_fill_rate,
    rs_normal,
)
from sim.theory.normal import normal_cdf, normal_loss, normal_pdf, normal_ppf, poisson_cdf, poisson_pmf
from sim.theory.queues import MDcResult, MG1Result, MMcResult, erlang_c, md1, mdc, mdc_roots, mg1, mg1_cv, mmc

__all__ = [
    "MDcResult",
    "MG1Result",
    "MMcResult",
    "RQPoissonResult",
    "RSNormalResult",
    "eoq",
    "eoq_cost_per_day",
    "erlang_c",
    "md1",
    "mdc",
    "mdc_roots",
    "mg1",
    "mg1_cv",
    "mmc",
    "normal_cdf",
    "normal_loss",
    "normal_pdf",
    "normal_ppf",
    "order_up_to_for_service",
    "poisson_cdf",
    "poisson_pmf",
    "rq_poisson",
    "rq_poisson_fill_rate",
    "rs_normal",
]
