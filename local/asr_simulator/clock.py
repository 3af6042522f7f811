"""The simulator's clock: real time times a scale, plus explicit jumps that tests make."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SimClock:
    def __init__(self, scale: float = 1.0, start: datetime | None = None) -> None:
        if scale < 0:
            raise ValueError("time scale must be >= 0 (0 freezes the clock between explicit advances)")
        self._scale = scale
        self._real_start = time.monotonic()
        self._sim_start = start or datetime.now(UTC)
        self._jumped = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            elapsed = (time.monotonic() - self._real_start) * self._scale + self._jumped
        return self._sim_start + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._jumped += seconds
        return self.now()
