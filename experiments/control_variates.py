"""Control variates: sharper estimates from inputs whose mean is known.

A replication's output Y (say total cost) moves with its realised inputs: a replication that drew
more demand than expected costs more. When an input C has a known mean, the regression estimator

    Y_cv = mean(Y) - beta (mean(C) - E[C]),   beta fitted by least squares over the replications,

is the intercept of Y regressed on C - E[C]. Its standard error is the OLS one with n - q - 1
degrees of freedom (q controls), and the share of variance it removes is 1 - se_cv^2 / se^2 (Law
2015, section 11.4; Nelson 1990). The controls here have known mean 0:

- ``demand``: orders placed minus their expected number (``orders - expected_orders``, the NHPP
  count minus its mean over the KPI window);
- ``lead_time``: the sum over purchase orders placed in the window of (realised lead time - the
  supplier's mean lead time) (``lead_time_deviation_days``). Each lead time is drawn independently
  of the decision to order, so the sum has mean 0.

>>> rng = np.random.default_rng(0)
>>> c = rng.normal(size=200)
>>> y = 10 + 3 * c + rng.normal(scale=0.5, size=200)
>>> est = cv_estimate(y, c[:, None])
>>> round(est.mean, 1), est.half_width < est.plain_half_width / 4, est.variance_reduction > 0.9
(10.0, True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["CONTROLS", "CvEstimate", "control_columns", "control_values", "cv_estimate", "cv_summary"]

#: control name -> (what it is, the runs' columns whose combination has known mean 0)
CONTROLS: dict[str, tuple[str, tuple[str, ...]]] = {
    "demand": ("orders placed - expected orders", ("orders", "expected_orders")),
    "lead_time": ("sum of (lead time - mean lead time) over purchase orders", ("lead_time_deviation_days",)),
}


def control_columns(names: list[str]) -> list[str]:
    """The runs-table columns the named controls need."""
    return [c for n in names for c in CONTROLS[n][1]]


def control_values(runs: pd.DataFrame, name: str) -> np.ndarray:
    """Per replication, control ``name`` (mean 0 by construction)."""
    if name == "demand":
        return (runs["orders"] - runs["expected_orders"]).to_numpy(dtype=float)
    return runs["lead_time_deviation_days"].to_numpy(dtype=float)


@dataclass(frozen=True)
class CvEstimate:
    """The control-variate estimate beside the plain one, with their half-widths and the reduction."""

    mean: float
    half_width: float
    plain_mean: float
    plain_half_width: float
    beta: tuple[float, ...]
    variance_reduction: float  # 1 - se_cv^2 / se_plain^2 (negative when the controls only add noise)
    n: int


def cv_estimate(y: np.ndarray, controls: np.ndarray, level: float = 0.95) -> CvEstimate:
    """Regression control-variate estimate of E[Y] from ``y`` (n,) and centred ``controls`` (n, q)."""
    y = np.asarray(y, dtype=float)
    c = np.asarray(controls, dtype=float).reshape(len(y), -1)
    n, q = c.shape
    if n < q + 3:
        raise ValueError(f"control variates need at least {q + 3} replications ({q} control(s)); got {n}")
    x = np.column_stack([np.ones(n), c])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    dof = n - q - 1
    s2 = float(resid @ resid) / dof
    se_cv = math.sqrt(s2 * float(np.linalg.pinv(x.T @ x)[0, 0]))
    se_plain = float(np.std(y, ddof=1)) / math.sqrt(n)
    t_cv, t_plain = stats.t.ppf(0.5 + level / 2, dof), stats.t.ppf(0.5 + level / 2, n - 1)
    reduction = 1.0 - se_cv**2 / se_plain**2 if se_plain > 0 else 0.0
    return CvEstimate(
        mean=float(coef[0]),
        half_width=float(t_cv * se_cv),
        plain_mean=float(np.mean(y)),
        plain_half_width=float(t_plain * se_plain),
        beta=tuple(float(b) for b in coef[1:]),
        variance_reduction=float(reduction),
        n=n,
    )


def cv_summary(runs: pd.DataFrame, metrics: list[str], names: list[str], level: float = 0.95) -> pd.DataFrame:
    """Per variant and metric: the plain and the control-variate estimate, and the variance removed.

    A control that does not vary (constant lead times, say) is left out of that variant's fit and
    named in the ``controls`` column of the rows it could not help.
    """
    ok = runs[runs["status"] == "ok"]
    rows = []
    for variant, grp in ok.groupby("variant", sort=False):
        usable = [n for n in names if set(CONTROLS[n][1]) <= set(grp) and np.ptp(control_values(grp, n)) > 0]
        c = np.column_stack([control_values(grp, n) for n in usable]) if usable else np.zeros((len(grp), 0))
        for metric in metrics:
            y = grp[metric].to_numpy(dtype=float)
            if not usable or len(y) < len(usable) + 3 or not np.isfinite(y).all():
                continue
            est = cv_estimate(y, c, level)
            rows.append(
                {
                    "variant": variant,
                    "metric": metric,
                    "controls": ", ".join(usable),
                    "n": est.n,
                    "mean": est.plain_mean,
                    "half_width": est.plain_half_width,
                    "cv_mean": est.mean,
                    "cv_half_width": est.half_width,
                    "variance_reduction": est.variance_reduction,
                }
            )
    return pd.DataFrame(rows)
