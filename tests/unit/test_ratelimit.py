from __future__ import annotations

import pytest

from shared.adapters.ratelimit import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_burst_then_paced_at_the_rate():
    t = FakeTime()
    limiter = RateLimiter(per_second=5, burst=2, clock=t.clock, sleep=t.sleep)
    waits = [limiter.acquire() for _ in range(5)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2:] == pytest.approx([0.2, 0.2, 0.2])
    assert t.now == pytest.approx(0.6)  # 5 calls: 2 at once, then one every 0.2 s


def test_idle_time_refills_up_to_the_burst_only():
    t = FakeTime()
    limiter = RateLimiter(per_second=1, burst=3, clock=t.clock, sleep=t.sleep)
    for _ in range(3):
        limiter.acquire()
    t.now += 100
    assert [limiter.acquire() for _ in range(4)] == pytest.approx([0, 0, 0, 1])


def test_a_rate_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(per_second=0)


def test_a_hold_delays_the_next_call_until_its_retry_after():
    now = [0.0]
    limiter = RateLimiter(10, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    limiter.hold(3.0)
    assert limiter.acquire() == 3.0
    assert limiter.acquire() == 0.0  # the hold is over; the bucket still had tokens
