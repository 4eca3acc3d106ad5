"""Values derived from a frozen scenario, computed once per scenario object.

A validated :class:`~sim.scenario.schema.Scenario` never changes, so what is computed from
it (the catalogue arrays, say) may be kept for as long as the object lives. The memo sits
here, keyed by the object's identity and dropped when the object is, not inside the model:
a scenario's fields, dumps, equality, copies and pickles hold only what its files said.

>>> class Thing:
...     pass
>>> thing = Thing()
>>> derived_values(thing)["answer"] = 42
>>> derived_values(thing)
{'answer': 42}
>>> derived_values(Thing())
{}
"""

from __future__ import annotations

import weakref
from typing import Any

_MEMOS: dict[int, dict[str, Any]] = {}  # id(object) -> its derived values, while the object lives


def derived_values(obj: object) -> dict[str, Any]:
    """The memo of values derived from ``obj``: a dict made on first use and dropped with ``obj``.

    ``obj`` must support weak references (pydantic models do). A forked worker inherits the
    memo with the objects; a pickled copy starts with an empty one.
    """
    key = id(obj)
    memo = _MEMOS.get(key)
    if memo is None:
        memo = _MEMOS[key] = {}
        # Runs as obj is freed, before its id can be reused; nothing to do at interpreter exit.
        weakref.finalize(obj, _MEMOS.pop, key, None).atexit = False
    return memo
