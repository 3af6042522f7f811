"""A token bucket that paces calls to a cloud API across threads (ARM writes, AWS mutations)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self,
        per_second: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self._rate, self._capacity = per_second, burst if burst is not None else max(1.0, per_second)
        self._tokens, self._clock, self._sleep = self._capacity, clock, sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Takes one token, waiting for it if needed; returns how long it waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            self._tokens -= 1
            wait = max(0.0, -self._tokens / self._rate)
        if wait:
            self._sleep(wait)
        return wait
