"""A token-bucket pacer: at most `rate` acquisitions per second, with a small burst allowance."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """`acquire()` blocks until a token is available. The bucket holds at most `burst` tokens
    (default: 10 ms worth), so an idle moment is not followed by a large catch-up burst."""

    def __init__(self, rate: float, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.capacity = max(1.0, burst if burst is not None else self.rate * 0.01)
        self._clock = clock
        self._sleep = sleep
        self._tokens = 1.0
        self._last = clock()

    def set_rate(self, rate: float) -> None:
        self._refill()
        self.rate = float(rate)
        self.capacity = max(1.0, self.rate * 0.01)
        self._tokens = min(self._tokens, self.capacity)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def acquire(self, n: float = 1.0) -> None:
        while True:
            self._refill()
            if self._tokens >= n - 1e-9:  # float rounding must not leave us a hair short for ever
                self._tokens = max(self._tokens - n, 0.0)
                return
            self._sleep((n - self._tokens) / self.rate)
