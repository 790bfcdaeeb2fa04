"""Stage overflow: a token bucket per `token:distinct_id` key, advanced on message time."""

from __future__ import annotations

from typing import Any

DEFAULT_CAPACITY = 1000
DEFAULT_REPLENISH_PER_S = 1.0


class TokenBuckets:
    """Per-key buckets; state lives for the whole session (across batches)."""

    def __init__(self, capacity: float, replenish_per_s: float) -> None:
        self.capacity = float(capacity)
        self.replenish_per_s = float(replenish_per_s)
        self._state: dict[str, list[Any]] = {}  # key -> [tokens: float, last_ms: int]

    def take(self, key: str, now_ms: int) -> bool:
        """Consume one token at message time now_ms; False when the key is over its limit."""
        state = self._state.get(key)
        if state is None:
            state = self._state[key] = [self.capacity, now_ms]
        elif now_ms > state[1]:
            # (elapsed_ms * rate) / 1000.0, evaluated in this order in every implementation
            state[0] = min(self.capacity, state[0] + (now_ms - state[1]) * self.replenish_per_s / 1000.0)
            state[1] = now_ms
        if state[0] >= 1.0:
            state[0] -= 1.0
            return True
        return False


def settings_buckets(settings: dict[str, Any]) -> TokenBuckets | None:
    if not settings.get("overflow_enabled", True):
        return None
    return TokenBuckets(settings.get("overflow_bucket_capacity", DEFAULT_CAPACITY),
                        settings.get("overflow_replenish_per_s", DEFAULT_REPLENISH_PER_S))
