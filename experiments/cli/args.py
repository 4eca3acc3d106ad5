"""Argument types of the command line: each parses one option's text or gives one clear message.

argparse calls them while parsing, so a bad value is refused before any file is read.

>>> replications("20"), fraction("0.95")
(20, 0.95)
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
from collections.abc import Callable
from typing import Any

__all__ = [
    "MAX_MONEY",
    "MAX_REPLICATIONS",
    "MAX_ROAS",
    "MAX_SEED",
    "MAX_SWEEP",
    "MAX_TIME_LIMIT_S",
    "MAX_VERIFY",
    "MAX_WORKERS",
    "amount",
    "batches",
    "bench_groups",
    "classes",
    "finalists",
    "fraction",
    "long_run_days",
    "money",
    "periods",
    "port",
    "positive",
    "positive_amount",
    "replications",
    "roas",
    "seed",
    "share",
    "targets",
    "time_limit",
    "verify",
    "window",
    "workers",
]


def number(cast: Callable[[str], Any], ok: Callable[[Any], bool], requirement: str) -> Callable[[str], Any]:
    """An argparse type: ``cast`` the text, then check ``ok(value)``; one clear message otherwise.

    Whole numbers only for ``int`` (``1e3`` is refused); ``inf`` and ``nan`` never pass.
    """

    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:  # also int("9" * 5000): Python's digit limit
            kind = "a whole number" if cast is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        if cast is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{requirement}, got {text.strip()}")
        return value

    return parse


# Upper bounds: far beyond any sensible run, low enough that nothing hangs or overflows before
# the work estimate speaks. Seeds go to numpy's SeedSequence, which takes any integer >= 0.
MAX_REPLICATIONS, MAX_WORKERS, MAX_VERIFY, MAX_SEED = 100_000, 256, 10_000, 2**63 - 1
MAX_MONEY, MAX_ROAS, MAX_TIME_LIMIT_S, MAX_SWEEP = 1e12, 1e3, 86_400, 50

replications = number(int, lambda v: 1 <= v <= MAX_REPLICATIONS, f"must be between 1 and {MAX_REPLICATIONS:,}")
workers = number(int, lambda v: 1 <= v <= MAX_WORKERS, f"must be between 1 and {MAX_WORKERS}")
verify = number(int, lambda v: 1 <= v <= MAX_VERIFY, f"must be between 1 and {MAX_VERIFY:,}")
seed = number(int, lambda v: 0 <= v <= MAX_SEED, "must be between 0 and 2**63 - 1")
fraction = number(float, lambda v: 0 < v < 1, "must lie strictly between 0 and 1")
share = number(float, lambda v: 0 < v <= 1, "must lie in (0, 1]")
money = number(float, lambda v: 0 < v <= MAX_MONEY, f"must be > 0 and at most {MAX_MONEY:g}")
roas = number(float, lambda v: 0 < v <= MAX_ROAS, f"must be > 0 and at most {MAX_ROAS:g}")
port = number(int, lambda v: 1 <= v <= 65535, "must be a TCP port between 1 and 65535")
long_run_days = number(int, lambda v: 1 <= v <= 36_500, "must be between 1 and 36,500 days")
batches = number(int, lambda v: 2 <= v <= 10_000, "must be between 2 and 10,000 (t has K - 1 degrees of freedom)")
positive = number(float, lambda v: 0 < v <= 1e15, "must be > 0 and at most 1e15")
finalists = number(int, lambda v: 1 <= v <= 20, "must be between 1 and 20")


def classes(text: str) -> list[str]:
    """``A,B,C`` -> the ABC classes named (each once, in the order given)."""
    names = [c.strip().upper() for c in text.split(",") if c.strip()]
    if not names or any(c not in ("A", "B", "C") for c in names):
        raise argparse.ArgumentTypeError(f"expected ABC classes such as A,B,C, got {text!r}")
    return list(dict.fromkeys(names))


amount = number(float, lambda v: 0 <= v <= MAX_MONEY, f"must be >= 0 and at most {MAX_MONEY:g}")
positive_amount = number(float, lambda v: 0 < v <= MAX_MONEY, f"must be > 0 and at most {MAX_MONEY:g}")
periods = number(int, lambda v: 1 <= v <= 3650, "must be a whole number of days between 1 and 3650")
time_limit = number(float, lambda v: 0 < v <= MAX_TIME_LIMIT_S, f"must be > 0 and at most {MAX_TIME_LIMIT_S} s")


def window(text: str) -> tuple[dt.date, dt.date]:
    """``--window 2026-11-10:2026-11-13`` -> (start, end) dates, end not before start."""
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        start, end = (dt.date.fromisoformat(p.strip()) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:END as YYYY-MM-DD:YYYY-MM-DD, got {text!r}") from None
    if end < start:
        raise argparse.ArgumentTypeError(f"the end {end} is before the start {start}")
    return start, end


def _number_list(text: str, item, most: int, what: str, expected: str) -> list[float]:
    """Comma-separated numbers, each parsed by ``item``, at most ``most``, each once (``what``: their name)."""
    parts = text.split(",")
    if len(parts) > most:
        raise argparse.ArgumentTypeError(f"at most {most} {what}, got {len(parts)}")
    try:
        values = [item(part) for part in parts]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected {expected} separated by commas, got {text!r}") from None
    if len({f"{v:g}" for v in values}) != len(values):
        raise argparse.ArgumentTypeError(f"each {what.rstrip('s')} once, got {text!r}")
    return values


def targets(text: str) -> list[float]:
    """``--sweep 0.9,0.95``: at most MAX_SWEEP distinct on-time targets, each strictly between 0 and 1."""
    return _number_list(text, fraction, MAX_SWEEP, "targets", "on-time targets strictly between 0 and 1")


MAX_LATE_PRICES = 10
late_price = number(float, lambda v: 0 <= v <= MAX_MONEY, f"must be >= 0 and at most {MAX_MONEY:g}")


def late_prices(text: str) -> list[float]:
    """``--late-price 10,20,30``: at most MAX_LATE_PRICES distinct prices of a late order, each 0..MAX_MONEY."""
    return sorted(_number_list(text, late_price, MAX_LATE_PRICES, "late prices", "prices of a late order (>= 0)"))


def bench_groups(text: str) -> list[str]:
    """``--only simulator,scaling``: bench groups, each once, each one of ``experiments.bench.GROUPS``."""
    from experiments.bench import GROUPS

    names = [part.strip() for part in text.split(",")]
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown group {unknown[0]!r}; choose from {', '.join(GROUPS)}")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"each group once, got {text!r}")
    return names
