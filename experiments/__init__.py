"""ecomlab experiments: replications, experiment specs, tables, plots and reports.

The Python API (see docs/python-api.md) for notebooks and scripts:

* ``replicate(scenario, n, seed=None, workers=1)`` -> a DataFrame, one row per replication;
* ``run_experiment(spec_path, replications=None, ...)`` -> an ``ExperimentResult`` with
  ``.summary``, ``.paired``, ``.runs``, ``.daily`` DataFrames and ``.report_path``;
* ``plot(result, metric, kind="bar")`` -> a matplotlib Figure.

>>> from experiments import replicate
>>> replicate("scenarios/classroom_sq.yaml", n=2, seed=3)["seed"].nunique()
2

Every batch goes through :mod:`experiments.runner`, as the command line's do.
"""

__all__ = ["ExperimentResult", "plot", "replicate", "run_experiment"]


def __getattr__(name: str):
    """Import the API on first use, so ``import experiments.runner`` stays light."""
    if name in __all__:
        from experiments import api

        return getattr(api, name)
    raise AttributeError(f"module 'experiments' has no attribute {name!r}")
