"""Argument checks shared by the closed-form formulas (ValueError with the name and value)."""

from __future__ import annotations

import math


# --------------------------------------------------------------------------- checks
def require(condition: bool, message: str) -> None:
    """Raise ``ValueError(message)`` unless ``condition`` holds."""
    if not condition:
        raise ValueError(message)


def require_int(value: float, name: str) -> int:
    """``value`` as an int; ValueError naming ``name`` if it has a fractional part."""
    require(float(value) == int(value), f"{name} must be an integer, got {value!r}")
    return int(value)


def nonnegative(**values: float) -> None:
    """ValueError for the first keyword argument that is not finite and >= 0."""
    for name, value in values.items():
        require(math.isfinite(value) and value >= 0, f"{name} must be finite and >= 0, got {value!r}")


def positive(**values: float) -> None:
    """ValueError for the first keyword argument that is not finite and > 0."""
    for name, value in values.items():
        require(math.isfinite(value) and value > 0, f"{name} must be finite and > 0, got {value!r}")
