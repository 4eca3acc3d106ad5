"""ecomlab experiments: replications, experiment specs, tables, plots and reports.

The Python API (see docs/python-api.md) for notebooks and scripts:

* ``replicate(scenario, n, seed=None, workers=1)`` -> a DataFrame, one row per replication;
* ``run_experiment(spec_path, replications=None, ...)`` -> an ``ExperimentResult`` with
  ``.summary``, ``.paired``, ``.runs``, ``.daily`` DataFrames and ``.report_path``;
* ``plot(result, metric, kind="bar")`` -> a matplotlib Figure;
* the what-if layer (:mod:`experiments.whatif`): ``levers``, ``windows``, ``WhatIf``,
  ``run_whatif`` -> a ``WhatIfResult`` (KPI cards against the baseline, daily means), and its
  exports ``overlay_yaml``, ``tables_excel``, ``tables_csv``, ``saved_set_spec``.

>>> from experiments import replicate
>>> replicate("scenarios/classroom_sq.yaml", n=2, seed=3)["seed"].nunique()
2

Every batch goes through :mod:`experiments.runner`, as the command line's do.
"""

_API = ["ExperimentResult", "plot", "replicate", "run_experiment"]
_WHATIF = [
    "Lever",
    "WhatIf",
    "WhatIfCancelled",
    "WhatIfResult",
    "levers",
    "overlay_yaml",
    "run_whatif",
    "save_upload",
    "saved_set_spec",
    "shipped_scenarios",
    "tables_csv",
    "tables_excel",
    "windows",
]
__all__ = [*_API, *_WHATIF]


def __getattr__(name: str):
    """Import the API on first use, so ``import experiments.runner`` stays light."""
    if name in _API:
        from experiments import api

        return getattr(api, name)
    if name in _WHATIF:
        from experiments import whatif

        return getattr(whatif, name)
    raise AttributeError(f"module 'experiments' has no attribute {name!r}")
