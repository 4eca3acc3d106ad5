"""Independent random streams, one per stochastic concern, from one master seed.

Each concern gets its own ``numpy.random.Generator`` spawned from
``SeedSequence(seed)`` with a fixed spawn key, so common random numbers work:
changing the inventory policy or the number of pickers never changes the
demand a replication sees. New concerns are appended to ``CONCERNS`` (never
inserted) so existing streams keep their numbers.

Per-order quantities go further (``DayStream``, ``KeyedDraws``): the orders of day d,
their attributes, pick times and transit times come from streams spawned for that
day, and the value of order i of day d is element i of its stream. A variant that
adds orders on one day (more marketing) then leaves every other day's orders, and
the first orders of that day, exactly as they were: the variants differ only where
they really differ, which is what makes paired comparisons sharp.

>>> a, b = Streams(7), Streams(7)
>>> float(a.demand.random()) == float(b.demand.random())
True
>>> float(Streams(7).demand.random()) == float(Streams(7).lead_time.random())
False
>>> d = KeyedDraws(7, "transit", lambda rng, n: rng.random(n))
>>> d(3, 5) == KeyedDraws(7, "transit", lambda rng, n: rng.random(n))(3, 5) != d(3, 6)
True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

CONCERNS = ("demand", "lead_time", "disruption", "pick", "transit", "routing", "misc")


class Streams:
    """One ``numpy.random.Generator`` per concern of ``CONCERNS``, as attributes (``streams.demand``)."""

    demand: np.random.Generator
    lead_time: np.random.Generator
    disruption: np.random.Generator
    pick: np.random.Generator
    transit: np.random.Generator
    routing: np.random.Generator
    misc: np.random.Generator

    def __init__(self, seed: int):
        self.seed = int(seed)
        for i, name in enumerate(CONCERNS):
            seq = np.random.SeedSequence(entropy=self.seed, spawn_key=(i,))
            setattr(self, name, np.random.default_rng(seq))


POS_BITS = 20  # an order's key packs (day, position) into one int: day << POS_BITS | position
POS_MASK = (1 << POS_BITS) - 1


def order_key(day: int, pos: int) -> int:
    """One int for order ``pos`` of day ``day`` (kept per shipment: a tuple costs three objects)."""
    return (day << POS_BITS) | pos


DAY_CHUNK = 256  # days whose generator states one SeedSequence call produces


class DayStream:
    """The generator of one concern (and sub-key) on any simulated day, without building a generator a day.

    Day d's generator is a PCG64 whose 128-bit state and increment are four words that
    ``SeedSequence(seed, spawn_key=(concern, len(sub), *sub, d // DAY_CHUNK))`` produces
    for a chunk of ``DAY_CHUNK`` days at once; ``at(d)`` resets ONE reused generator to
    that state (about 3 us, against about 15 us for a new ``SeedSequence``/``PCG64``/
    ``Generator``). The numbers of day d depend only on (seed, concern, sub, d).

    ``at`` returns the same generator object each time: draw what the day needs before
    asking for another day.

    >>> s = DayStream(7, "demand", (1,))
    >>> a = s.at(3).random(3).tolist(); b = s.at(4).random(3).tolist()
    >>> a == s.at(3).random(3).tolist() != b
    True
    """

    def __init__(self, seed: int, concern: str, sub: tuple = ()):
        self.seed = int(seed)
        sub = tuple(map(int, sub))
        self.key = (CONCERNS.index(concern), len(sub), *sub)
        self._chunks: dict[int, list[int]] = {}
        self._bits = np.random.PCG64(0)
        self.rng = np.random.Generator(self._bits)

    def at(self, day: int) -> np.random.Generator:
        """The generator of ``day``, reset to the start of that day's stream."""
        chunk, i = divmod(int(day), DAY_CHUNK)
        words = self._chunks.get(chunk)
        if words is None:
            seq = np.random.SeedSequence(entropy=self.seed, spawn_key=(*self.key, chunk))
            words = self._chunks[chunk] = seq.generate_state(4 * DAY_CHUNK, dtype=np.uint64).tolist()
        a, b, c, e = words[4 * i : 4 * i + 4]
        self._bits.state = {
            "bit_generator": "PCG64",
            "state": {"state": (a << 64) | b, "inc": (c << 64) | e | 1},
            "has_uint32": 0,
            "uinteger": 0,
        }
        return self.rng


def day_rng(seed: int, concern: str, day: int, *sub: int) -> np.random.Generator:
    """The generator of one concern on one simulated day (``sub`` tells apart its quantities): a new
    object with the numbers ``DayStream(seed, concern, sub).at(day)`` gives (the model keeps the stream)."""
    return DayStream(seed, concern, sub).at(day)


class KeyedDraws:
    """Values of one random quantity indexed by (day, position): value i of day d is the
    i-th draw of day d's ``DayStream(seed, concern, sub)``.

    ``sample(rng, n)`` must draw element by element (numpy's samplers do), so a longer
    draw extends a shorter one: the value of (d, i) never depends on how many positions
    were asked for (a day that needs more values is drawn again from its start, longer).
    Recently used days are cached; an evicted day is drawn again, with the same values.
    """

    CACHE_DAYS = 8

    def __init__(self, seed: int, concern: str, sample, sub: tuple = ()):
        self.seed, self.concern, self.sample, self.sub = int(seed), concern, sample, tuple(sub)
        self.stream = DayStream(seed, concern, sub)
        self._days: dict[int, list] = {}  # day -> values (list)
        self._day: int | None = None  # the last day asked for (fast path) ...
        self._values: list[float] = []  # ... and its values
        self._n = 0
        self._size = 32  # values drawn for a new day: the most any day has needed so far

    def __call__(self, day: int, pos: int) -> float:
        """Value ``pos`` of day ``day``."""
        if day == self._day and pos < self._n:
            return self._values[pos]
        values = self._days.get(day)
        if values is None or pos >= len(values):
            n = max(pos + 1, self._size, 2 * len(values) if values else 0)
            values = self.sample(self.stream.at(day), n).tolist()  # prefix-consistent
            if day not in self._days and len(self._days) >= self.CACHE_DAYS:
                del self._days[next(iter(self._days))]
            self._days[day] = values
            self._size = max(self._size, n)
        self._day, self._values, self._n = day, values, len(values)
        return values[pos]

    def take(self, day: int, positions: np.ndarray) -> np.ndarray:
        """Values (day, i) for every i in ``positions`` at once: the values ``self(day, i)`` gives
        (day ``day`` drawn once, as long as the last position needs; nothing cached)."""
        if not len(positions):
            return np.zeros(0)
        return self.sample(self.stream.at(int(day)), int(positions.max()) + 1)[positions]


class DayArrayDraws:
    """Vectorized ``KeyedDraws``: ``take(day, positions)`` returns values (day, i) for an array of i.

    Value (day, i) is element i of day ``day``'s ``DayStream(seed, concern, sub)``; a day is drawn
    at least ``size`` long at once (numpy, no per-value Python work). Used where many
    positions are asked for together (the purchase orders of one review).
    """

    def __init__(self, seed: int, concern: str, sample, size: int, sub: tuple = (), cache: int | None = 8):
        self.seed, self.concern, self.sample, self.size, self.sub = int(seed), concern, sample, int(size), tuple(sub)
        self.cache = cache  # days kept (None: all)
        self._days: dict[int, np.ndarray] = {}
        self.stream = DayStream(seed, concern, sub)

    def take(self, day: int, positions: np.ndarray) -> np.ndarray:
        """Values (day, i) for every i in ``positions``."""
        values = self._days.get(day)
        need = int(positions.max()) + 1 if len(positions) else 0
        if values is None or need > len(values):
            n = max(need, self.size, 2 * len(values) if values is not None else 0)
            values = self.sample(self.stream.at(day), n)  # prefix-consistent
            if day not in self._days and self.cache is not None and len(self._days) >= self.cache:
                del self._days[next(iter(self._days))]
            self._days[day] = values
        return values[positions]

    def take_one(self, day: int, k: int) -> float:
        """Value (day, k) alone: the scalar fast path of ``take`` (one purchase order)."""
        values = self._days.get(day)
        if values is None or k >= len(values):
            self.take(day, np.array([k], dtype=np.int64))
            values = self._days[day]
        return float(values[k])


def keyed_draws(
    seed: int, concern: str, dist, sub: tuple = (), low: float | None = None
) -> Callable[[int, int], float]:
    """``KeyedDraws`` of a distribution (clipped below at ``low``); a constant needs no stream."""
    if getattr(dist, "dist", None) == "constant":
        value = float(dist.value) if low is None else max(float(dist.value), low)
        return lambda day, pos: value
    if low is None:
        return KeyedDraws(seed, concern, dist.sample, sub)
    return KeyedDraws(seed, concern, lambda rng, n: np.maximum(dist.sample(rng, n), low), sub)


def simulator_fingerprint() -> str:
    """A short hash of the simulator's source (every ``sim/**/*.py``: scenario, model, theory, metrics):
    results cached under another fingerprint came from other code and are not reused."""
    import hashlib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]  # sim/
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def replication_seed(master_seed: int, replication: int) -> int:
    """The seed of replication r: the same in every variant (common random numbers).

    >>> replication_seed(42, 0) == replication_seed(42, 0) != replication_seed(42, 1)
    True
    """
    return int(np.random.SeedSequence([int(master_seed), int(replication)]).generate_state(1)[0])


VERIFY_SPAWN_KEY = 0x5645  # "VE": the spawn key of the verification family (replication seeds use none)
VERIFY_BASE = 1 << 32  # every verification seed is >= 2**32; every replication seed is < 2**32


def verify_seed(master_seed: int, replication: int) -> int:
    """The seed of verification replication r: fresh streams, independent of every pilot run.

    Built like :func:`replication_seed` from ``SeedSequence([master_seed, r])`` but with the spawn key
    ``(VERIFY_SPAWN_KEY,)``, so its entropy pool (and every stream of :class:`Streams`) is unrelated
    to the replication family; and it is shifted into ``[2**32, 2**33)``, so it can never equal a
    ``replication_seed`` (a 32-bit number) of any master seed: not the seeds of ``simulate``,
    of an experiment, of an optimizer's pilot runs or of a policy search. It is never the master
    seed itself either (the logistics pilot simulates the master seed): in that one case its
    last bit is flipped. The same in every variant, so verification keeps common
    random numbers between the plan and the scenario as given.

    >>> v = verify_seed(42, 0)
    >>> v == verify_seed(42, 0) != verify_seed(42, 1), v >= 2**32 > replication_seed(42, 0)
    (True, True)
    """
    seq = np.random.SeedSequence([int(master_seed), int(replication)], spawn_key=(VERIFY_SPAWN_KEY,))
    seed = VERIFY_BASE + int(seq.generate_state(1)[0])
    return seed if seed != int(master_seed) else seed ^ 1  # flipping the last bit stays in [2**32, 2**33)
