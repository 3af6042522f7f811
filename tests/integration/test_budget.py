"""Budgets shared by every worker: four workers (each its own TableBudget, as separate instances
would be) spend one Table-held budget, and no window ever holds more calls than its allowance."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from azure.data.tables import TableServiceClient

from local.stack import Azurite
from shared.state.budget import TableBudget

pytestmark = pytest.mark.integration


def spend(
    azurite: Azurite, per_second: float, calls: dict[str, int], workers: int = 4
) -> Counter[tuple[str, int]]:
    """Each of `workers` spends `calls[key]` calls of each key; the calls seen per (key, window)."""
    prefix = f"bud{uuid.uuid4().hex[:8]}"
    seen: Counter[tuple[str, int]] = Counter()
    lock = threading.Lock()

    def spent(key: str, window: int) -> None:
        with lock:
            seen[(key, window)] += 1

    def worker(_: int) -> None:
        budget = TableBudget(
            TableServiceClient.from_connection_string(azurite.connection_string),
            prefix,
            "armWrites",
            per_second,
            on_spend=spent,
        )
        for key, count in calls.items():
            for _ in range(count):
                budget.acquire(key)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(worker, range(workers)))
    return seen


def test_four_workers_never_exceed_the_shared_budget(azurite: Azurite):
    seen = spend(azurite, 5.0, {"": 5})
    assert sum(seen.values()) == 20  # every call was made ...
    assert max(seen.values()) <= 5  # ... and no second held more than the budget
    assert len(seen) >= 4  # so 20 calls took at least four windows


def test_each_account_and_region_has_its_own_budget(azurite: Azurite):
    seen = spend(azurite, 4.0, {"111111111111/us-east-1": 2, "222222222222/eu-west-1": 2}, workers=2)
    for key in ("111111111111/us-east-1", "222222222222/eu-west-1"):
        per_key = {w: n for (k, w), n in seen.items() if k == key}
        assert sum(per_key.values()) == 4 and max(per_key.values()) <= 4


def test_a_rate_under_one_a_second_spreads_calls_over_longer_windows(azurite: Azurite):
    budget = TableBudget(
        TableServiceClient.from_connection_string(azurite.connection_string), "bud0", "slow", 0.5
    )
    assert (budget.window_seconds, budget.allowance) == (2.0, 1)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_429_one_worker_saw_holds_every_worker_until_its_retry_after(azurite: Azurite):
    time = FakeTime()
    prefix = f"bud{uuid.uuid4().hex[:8]}"

    def worker() -> TableBudget:
        service = TableServiceClient.from_connection_string(azurite.connection_string)
        return TableBudget(service, prefix, "armWrites", 5.0, clock=time.clock, sleep=time.sleep)

    throttled, other = worker(), worker()
    assert throttled.acquire() == 0.0 and other.acquire() == 0.0  # each spends its slice (one call)
    throttled.hold(7.0)  # ARM said 429, Retry-After: 7
    assert other.acquire() == pytest.approx(7.0)  # the other worker read the hold on the row
    assert throttled.acquire() == 0.0  # by now the hold is over for the throttled worker too
