"""The input language: scenario files, their schema, distributions and every check on them.

Reading a scenario goes YAML text -> :class:`~sim.scenario.yamlio.Source` (data plus the
line of every key) -> plans and ``--set`` overrides -> pydantic :class:`Scenario` ->
cross-field checks. Every problem on the way is a :class:`Problem` naming the file, the
line and the key path; they are raised together as one :class:`InputError`.

Modules: ``errors`` (Problem, InputError), ``yamlio`` (bounded YAML reading, key paths),
``schema`` (the pydantic model), ``distributions``, ``loader`` (extends, plans,
overrides, validation), ``checks`` (cross-field rules), ``derived`` (values computed once
per scenario object, kept outside the frozen model), ``estimate`` (work estimate),
``explain`` and ``reference`` (what a scenario means, the key reference).
"""

from sim.scenario.derived import derived_values
from sim.scenario.errors import InputError, Problem
from sim.scenario.loader import (
    apply_overrides,
    day_date,
    dump_scenario,
    load_scenario,
    load_source,
    scenario_hash,
    scenario_to_dict,
    validate_data,
    value_at,
    window_override,
)
from sim.scenario.schema import Scenario

__all__ = [
    "InputError",
    "Problem",
    "Scenario",
    "apply_overrides",
    "day_date",
    "derived_values",
    "dump_scenario",
    "load_scenario",
    "load_source",
    "scenario_hash",
    "scenario_to_dict",
    "validate_data",
    "value_at",
    "window_override",
]
