"""Closed-form textbook formulas the simulator is checked against.

Pure functions with no simulator imports. Inventory time is in days; queueing
formulas work in any time unit as long as rates and times use the same one.
Modules: ``normal`` (standard normal and Poisson functions), ``inventory`` (EOQ,
(r, Q) with Poisson demand, (R, S) with normal demand) and ``queues`` (Erlang C,
M/M/c, M/G/1 given the service variance or cv, M/D/1, and M/D/c exactly by Crommelin's method),
``textbook`` (EOQ with planned backorders, newsvendor, exact (r, Q) cost and Federgruen-Zheng optimum)
and ``periodic`` (exact cost of a periodic (s, S) policy and the Zheng-Federgruen optimum).
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
from sim.theory.periodic import SSPolicy, ss_poisson_cost, ss_poisson_optimal
from sim.theory.queues import MDcResult, MG1Result, MMcResult, erlang_c, md1, mdc, mdc_roots, mg1, mg1_cv, mmc
from sim.theory.textbook import (
    EOQBackordersResult,
    NewsvendorResult,
    RQOptimum,
    eoq_backorders,
    newsvendor_normal,
    newsvendor_poisson,
    poisson_newsvendor_cost,
    rq_poisson_cost,
    rq_poisson_optimal,
)

__all__ = [
    "EOQBackordersResult",
    "MDcResult",
    "MG1Result",
    "MMcResult",
    "NewsvendorResult",
    "RQOptimum",
    "RQPoissonResult",
    "RSNormalResult",
    "SSPolicy",
    "eoq",
    "eoq_backorders",
    "eoq_cost_per_day",
    "erlang_c",
    "md1",
    "mdc",
    "mdc_roots",
    "mg1",
    "mg1_cv",
    "mmc",
    "newsvendor_normal",
    "newsvendor_poisson",
    "normal_cdf",
    "normal_loss",
    "normal_pdf",
    "normal_ppf",
    "order_up_to_for_service",
    "poisson_cdf",
    "poisson_newsvendor_cost",
    "poisson_pmf",
    "rq_poisson",
    "rq_poisson_cost",
    "rq_poisson_fill_rate",
    "rq_poisson_optimal",
    "rs_normal",
    "ss_poisson_cost",
    "ss_poisson_optimal",
]
