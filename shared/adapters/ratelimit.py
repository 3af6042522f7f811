"""Pacing calls to a cloud API: the `Pacer` the reconciler asks before each write, and a token bucket
for one process (`RateLimiter`). Budgets shared by every worker are `shared.state.budget.TableBudget`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from shared.errors import MAX_HOLD_SECONDS


class Pacer(Protocol):
    def acquire(self, key: str = "") -> float:
        """Takes one call from the budget of `key` (e.g. an AWS account and region), waiting for it;
        returns how long it waited."""
        ...

    def hold(self, seconds: float, key: str = "") -> None:
        """The cloud said "too many requests, retry after `seconds`": no call of `key` until then."""
        ...


class RateLimiter:
    """One process's token bucket (every key shares it)."""

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
        self._held_until = 0.0
        self._lock = threading.Lock()

    def acquire(self, key: str = "") -> float:
        """Takes one token, waiting for it if needed; returns how long it waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            self._tokens -= 1
            wait = max(0.0, -self._tokens / self._rate, self._held_until - now)
        if wait:
            self._sleep(wait)
        return wait

    def hold(self, seconds: float, key: str = "") -> None:
        with self._lock:
            self._held_until = max(self._held_until, self._clock() + min(seconds, MAX_HOLD_SECONDS))
