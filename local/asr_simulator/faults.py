"""What can go wrong, configured per run: ARM throttling, injected 5xx, failed and slow jobs.

Throttling uses ARM's per-subscription token buckets on real (not simulator) time, because the
client that is throttled waits in real time. Job outcomes are decided when a job starts, from a
seeded random generator, so a run is repeatable.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TokenBucket:
    capacity: float
    refill_per_second: float
    tokens: float = field(init=False)
    updated: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def take(self) -> float:
        """0 if a token was taken; otherwise the seconds until one will be there (Retry-After)."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.refill_per_second)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.refill_per_second


# ARM's documented limits per subscription and region: (bucket size, refill per second).
ARM_LIMITS = {"reads": (250.0, 25.0), "writes": (200.0, 10.0), "deletes": (200.0, 10.0)}


class Throttle:
    def __init__(self, limits: dict[str, tuple[float, float]] | None) -> None:
        self._buckets = {kind: TokenBucket(*limit) for kind, limit in (limits or {}).items()}
        self._lock = threading.Lock()

    @staticmethod
    def kind_of(method: str) -> str:
        return {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}.get(method, "writes")

    def retry_after(self, method: str) -> int:
        """0 when the request may proceed; else whole seconds to put in Retry-After (at least 1)."""
        bucket = self._buckets.get(self.kind_of(method))
        if bucket is None:
            return 0
        with self._lock:
            wait = bucket.take()
        return 0 if wait == 0 else max(1, math.ceil(wait))


@dataclass
class FaultProfile:
    """Injected failures. Every field defaults to 'none'."""

    server_error_rate: float = 0.0  # share of ARM requests answered 500/503 before anything changes
    job_failure_rate: float = 0.0  # share of jobs that fail
    fail_scenarios: dict[str, int] = field(default_factory=dict)  # scenario -> how many of the next to fail
    fail_machines: set[str] = field(default_factory=set)  # display names whose every job fails
    slow_scenarios: dict[str, float] = field(default_factory=dict)  # scenario -> job seconds instead
    # scenario -> how many of the next succeed with a warning (the operation: Succeeded with an error)
    warn_scenarios: dict[str, int] = field(default_factory=dict)
    process_server_capacity: int | None = None  # items a process server takes before enables fail
    seed: int = 0
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 - simulation, not security

    def server_error(self) -> int | None:
        if self.server_error_rate and self._random.random() < self.server_error_rate:
            return self._random.choice((500, 503))
        return None

    def job_error(self, scenario: str, machine: str) -> dict[str, Any] | None:
        """The error a starting job will end with, or None for success."""
        reason = None
        if self.fail_scenarios.get(scenario, 0) > 0:
            self.fail_scenarios[scenario] -= 1
            reason = f"Injected failure of {scenario}."
        elif machine in self.fail_machines:
            reason = f"Injected failure for machine {machine}."
        elif self.job_failure_rate and self._random.random() < self.job_failure_rate:
            reason = f"Injected random failure of {scenario}."
        return None if reason is None else job_error("InjectedFailure", reason)

    def job_warning(self, scenario: str) -> dict[str, Any] | None:
        """The warning a starting job will succeed with, or None. Recorded real ones: 310024 (a VM name
        unavailable) on an enable, 28175 (the VM renamed to avoid a conflict) on a failover."""
        if self.warn_scenarios.get(scenario, 0) <= 0:
            return None
        self.warn_scenarios[scenario] -= 1
        return {"code": "28175", "message": f"Injected warning: {scenario} succeeded with a note."}

    def update(self, body: dict[str, Any]) -> None:
        """Applies an admin request: only the keys given change."""
        if "serverErrorRate" in body:
            self.server_error_rate = _rate(body["serverErrorRate"])
        if "jobFailureRate" in body:
            self.job_failure_rate = _rate(body["jobFailureRate"])
        if "failScenarios" in body:
            self.fail_scenarios = {str(k): int(v) for k, v in dict(body["failScenarios"]).items()}
        if "failMachines" in body:
            self.fail_machines = {str(name) for name in body["failMachines"]}
        if "warnScenarios" in body:
            self.warn_scenarios = {str(k): int(v) for k, v in dict(body["warnScenarios"]).items()}
        if "slowScenarios" in body:
            self.slow_scenarios = {str(k): float(v) for k, v in dict(body["slowScenarios"]).items()}
        if "processServerCapacity" in body:
            capacity = body["processServerCapacity"]
            self.process_server_capacity = None if capacity is None else int(capacity)


def _rate(value: Any) -> float:
    rate = float(value)
    if not 0 <= rate <= 1:
        raise ValueError("a rate is between 0 and 1")
    return rate


def job_error(code: str, message: str) -> dict[str, Any]:
    """A job error as ASR reports it (JobErrorDetails with its service error)."""
    return {
        "serviceErrorDetails": {
            "code": code,
            "message": message,
            "possibleCauses": "",
            "recommendedAction": "",
        },
        "errorLevel": "Error",
        "taskId": "",
    }
