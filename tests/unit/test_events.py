"""Transition events from the records before and after a write: which, with what id and data."""

from __future__ import annotations

from datetime import timedelta

from shared.core.events import transition_events, with_events
from shared.model.phases import Phase
from shared.model.records import OUTBOX_KEPT, ErrorInfo, Waiting
from tests.conftest import T0, record

P = Phase
NOW = T0 + timedelta(minutes=1)


def test_a_failure_is_a_phase_change_and_a_failure_with_one_id_each():
    before = record().evolve(phase=P.TEST_MIGRATION, version=7)
    error = ErrorInfo(code="InjectedFailure", message="m", retryable=False, at=NOW)
    after = before.evolve(phase=P.FAILED, last_error=error)
    events = transition_events(before, after, "the test failover failed 3 times", "com.contoso", NOW)
    assert [(e.type, e.id) for e in events] == [
        ("com.contoso.phase.changed", f"{before.instance_id}-8-phase.changed"),
        ("com.contoso.vm.failed", f"{before.instance_id}-8-vm.failed"),
    ]
    assert events[0].data | {"waitingFor": None} == {
        "instanceId": before.instance_id,
        "wave": "wave1",
        "phase": "failed",
        "previousPhase": "test_migration",
        "reason": "the test failover failed 3 times",
        "waitingFor": None,
        "asrJobId": None,
        "error": "InjectedFailure",
        "warning": None,
    }


def test_an_approval_request_once_and_nothing_for_a_write_that_moved_nothing():
    ready = record().evolve(phase=P.READY_FOR_CUTOVER)
    waiting = ready.evolve(waiting_for=Waiting(kind="approval", message="m", since=NOW))
    assert [e.type for e in transition_events(ready, waiting, "", "p.q", NOW)] == ["p.q.approval.requested"]
    assert transition_events(waiting, waiting.evolve(version=3), "", "p.q", NOW) == []


def test_the_outbox_keeps_the_newest_when_the_topic_stays_down():
    rec = record()
    for n in range(OUTBOX_KEPT + 5):
        moved = rec.evolve(phase=P.PREFLIGHT if n % 2 == 0 else P.OPTED_IN, version=n)
        rec = with_events(moved, transition_events(rec, moved, "", "p.q", NOW))
    assert len(rec.outbox) == OUTBOX_KEPT and rec.outbox[-1].id.endswith(f"-{OUTBOX_KEPT + 4}-phase.changed")
