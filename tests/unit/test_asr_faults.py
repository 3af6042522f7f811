"""The simulator's fault profile and token buckets, without a server."""

from __future__ import annotations

import pytest

from local.asr_simulator.faults import FaultProfile, Throttle, TokenBucket


def test_scenario_failures_are_counted_down_then_stop():
    faults = FaultProfile(fail_scenarios={"TestFailover": 2})
    outcomes = [faults.job_error("TestFailover", "vm") for _ in range(3)]
    assert [o is not None for o in outcomes] == [True, True, False]
    first = outcomes[0]
    assert first is not None
    assert first["serviceErrorDetails"]["code"] == "InjectedFailure"
    assert faults.job_error("UnplannedFailover", "vm") is None


def test_machine_failures_hit_every_job_of_that_machine_only():
    faults = FaultProfile(fail_machines={"db-1"})
    assert faults.job_error("EnableDr", "db-1") is not None
    assert faults.job_error("TestFailover", "db-1") is not None
    assert faults.job_error("EnableDr", "web-1") is None


def test_random_failures_follow_the_rate_and_repeat_with_the_seed():
    def run(seed: int) -> list[bool]:
        faults = FaultProfile(job_failure_rate=0.3, seed=seed)
        return [faults.job_error("EnableDr", "vm") is not None for _ in range(1_000)]

    first = run(7)
    assert first == run(7)
    assert 250 <= sum(first) <= 350
    assert first != run(8)


def test_admin_updates_change_only_what_they_name_and_refuse_bad_rates():
    faults = FaultProfile(fail_machines={"a"}, job_failure_rate=0.1)
    faults.update({"failScenarios": {"CommitFailover": 1}})
    assert faults.fail_machines == {"a"}
    assert faults.job_failure_rate == 0.1
    assert faults.fail_scenarios == {"CommitFailover": 1}
    with pytest.raises(ValueError, match="between 0 and 1"):
        faults.update({"serverErrorRate": 2})


def test_bucket_gives_its_capacity_then_asks_to_wait():
    bucket = TokenBucket(capacity=3, refill_per_second=10)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = bucket.take()
    assert 0 < wait <= 0.1  # one token refills in a tenth of a second


def test_throttle_sorts_methods_into_arm_buckets_and_rounds_retry_after_up():
    throttle = Throttle({"writes": (1.0, 0.5), "deletes": (1.0, 0.5)})
    assert throttle.retry_after("PUT") == 0
    assert throttle.retry_after("POST") == 2  # 0.5 per second: the next token in 2 s
    assert throttle.retry_after("GET") == 0  # reads are not limited in this profile
    assert throttle.retry_after("DELETE") == 0
    assert throttle.retry_after("DELETE") == 2
