"""Independent random streams, one per stochastic concern, from one master seed.

Each concern gets its own ``numpy.random.Generator`` spawned from
``SeedSequence(seed)`` with a fixed spawn key, so common random numbers work:
changing the inventory policy or the number of pickers never changes the
demand a replication sees. New concerns are appended to ``CONCERNS`` (never
inserted) so existing streams keep their numbers.

>>> a, b = Streams(7), Streams(7)
>>> float(a.demand.random()) == float(b.demand.random())
True
>>> float(Streams(7).demand.random()) == float(Streams(7).lead_time.random())
False
"""
from __future__ import annotations

import numpy as np

CONCERNS = ("demand", "lead_time", "disruption", "pick", "transit", "routing", "misc")


class Streams:
    def __init__(self, seed: int):
        self.seed = int(seed)
        for i, name in enumerate(CONCERNS):
            seq = np.random.SeedSequence(entropy=self.seed, spawn_key=(i,))
            setattr(self, name, np.random.default_rng(seq))


def replication_seed(master_seed: int, replication: int) -> int:
    """The seed of replication r: the same in every variant (common random numbers).

    >>> replication_seed(42, 0) == replication_seed(42, 0) != replication_seed(42, 1)
    True
    """
    return int(np.random.SeedSequence([int(master_seed), int(replication)]).generate_state(1)[0])
