"""The chaos suite, reduced: hosts as separate processes on one work queue, killed while holding
messages (right after an ASR mutation and at random), two at once, one paused past its lease, ASR
answering 5xx and failing some jobs, a small ARM write bucket, a Table Storage outage and an AWS
outage, every event delivered twice and out of order. The full run is `bench/chaos.py`. Judged by
the world's own records: the simulator's ledger, moto's commands, the state tables."""

from __future__ import annotations

import pytest

from local.chaos import Plan, run

pytestmark = pytest.mark.integration


@pytest.mark.timeout(480)  # about 3 minutes alone; more on a machine busy with the rest of the suite
def test_nothing_stuck_nothing_lost_nothing_twice_through_kills_pauses_and_outages():
    result = run(Plan(vms=3, hosts=2, kills=3, pause=True, outages=True, server_error_rate=0.1, rounds=60))
    print(result.line())
    assert (result.kills, result.pauses) == (3, 1)  # the trouble happened
    assert result.mid_pass_kills >= 1  # a host died holding work: its messages came back to another
    assert result.refused_in_outages > 0  # the hosts ran into both outages
    assert result.duplicate_asr == 0, (result.asr_twice, result.why_stuck)
    assert result.duplicate_ssm == 0, "an SSM command was sent twice for one attempt"
    assert result.lost == [], "an opted-in instance has no record"
    assert result.stuck == [], result.why_stuck
    assert result.phases == {"done": 3}  # healthy guests, auto cutover: every VM migrated, none parked
