"""The overflow token buckets as arrays, advanced over a whole batch by one numba kernel.

Keys (`token:distinct_id` strings) get integer ids in a dict — the part numba cannot take — and
the kernel runs the reference's bucket rule (docs/pipeline.md, "overflow") over the id array in
batch order, in the same IEEE-754 operation order, so the decisions are identical.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def take_batch(ids, now_ms, tokens, last_ms, seen, capacity, rate):  # pragma: no cover - compiled
    """allowed[i] = whether record i gets a token; buckets updated in place, in order."""
    allowed = np.empty(ids.shape[0], dtype=np.bool_)
    for i in range(ids.shape[0]):
        k = ids[i]
        t = now_ms[i]
        if not seen[k]:
            seen[k] = True
            tokens[k] = capacity
            last_ms[k] = t
        elif t > last_ms[k]:
            tokens[k] = min(capacity, tokens[k] + ((t - last_ms[k]) * rate) / 1000.0)
            last_ms[k] = t
        if tokens[k] >= 1.0:
            tokens[k] -= 1.0
            allowed[i] = True
        else:
            allowed[i] = False
    return allowed


class ArrayBuckets:
    """Per-key bucket state in growable arrays; lives for the whole session like the reference's."""

    def __init__(self, capacity: float, replenish_per_s: float) -> None:
        self.capacity = float(capacity)
        self.rate = float(replenish_per_s)
        self.ids: dict[str, int] = {}
        self.tokens = np.zeros(1024, dtype=np.float64)
        self.last_ms = np.zeros(1024, dtype=np.int64)
        self.seen = np.zeros(1024, dtype=np.bool_)

    def _grow(self, size: int) -> None:
        new = max(size, 2 * len(self.tokens))
        self.tokens = np.resize(self.tokens, new)
        self.last_ms = np.resize(self.last_ms, new)
        seen = np.zeros(new, dtype=np.bool_)
        seen[: len(self.seen)] = self.seen
        self.seen = seen

    def take_many(self, keys: list[str], now_ms: list[int]) -> np.ndarray:
        ids_of = self.ids
        ids = np.fromiter((ids_of.setdefault(k, len(ids_of)) for k in keys), dtype=np.int64, count=len(keys))
        if len(ids_of) > len(self.tokens):
            self._grow(len(ids_of))
        return take_batch(ids, np.asarray(now_ms, dtype=np.int64), self.tokens, self.last_ms, self.seen,
                          self.capacity, self.rate)


def warm_up() -> None:
    """Compile (or load from cache) the kernel now, outside any timed region."""
    ArrayBuckets(2.0, 1.0).take_many(["a", "b", "a"], [0, 1, 2])
