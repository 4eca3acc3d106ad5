"""The errors of user input: one ``Problem`` per line, raised together as ``InputError``.

Every problem names the file, the line (when known) and the key path::

    >>> print(Problem("scenarios/bad.yaml", 14, "inventory.policy.order_quantity", "must be > 0 (got -5)"))
    scenarios/bad.yaml:14: inventory.policy.order_quantity: must be > 0 (got -5)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem with an input: where it is (file, line, key path) and what is wrong."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        """``file:line: key.path: message`` (the line and the path when known)."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class InputError(Exception):
    """One or more problems in user input; ``str()`` gives one line per problem."""

    def __init__(self, problems: list[Problem]) -> None:
        """Keep ``problems``; the message is one line per problem."""
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
