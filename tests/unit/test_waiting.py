"""Why a VM waits and its replication's health: what each decision records, and that a pass where
nothing changed writes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.core.actions import Act
from shared.core.decide import apply_decision, decide
from shared.core.windows import next_opening, parse_windows
from shared.model.facts import Facts, ItemFacts, Policy
from shared.model.phases import Phase
from shared.model.records import HealthIssue, MigrationRecord, PendingAction
from tests.conftest import T0, record
from tests.unit.decide_world import PROTECTED_OPS, ec2_facts

P = Phase
POLICY = Policy(cutover_mode="approval", lease_seconds=600, retry_limit=3, backoff_seconds=60)
NOW = T0 + timedelta(minutes=5)


def item(**changes: object) -> ItemFacts:
    base = ItemFacts("azmigrate-i-1", "Protected", PROTECTED_OPS | {"unplannedfailover"}, rpo_seconds=30)
    return replace(base, **changes)  # type: ignore[arg-type]


def seen(rec: MigrationRecord, facts: Facts, now: datetime = NOW) -> MigrationRecord:
    return apply_decision(rec, decide(rec, facts, POLICY, now), now, "a1")


def test_a_cutover_waiting_for_approval_says_so_and_a_second_pass_writes_nothing():
    rec = record().evolve(phase=P.READY_FOR_CUTOVER)
    facts = Facts(ec2=ec2_facts(tags={"azmigrate:enabled": "true"}), item=item())
    first = seen(rec, facts)
    assert first.waiting_for is not None
    assert (first.waiting_for.kind, first.waiting_for.since) == ("approval", NOW)
    assert "approve through the API" in first.waiting_for.message
    assert seen(first, facts, NOW + timedelta(minutes=5)) == first  # unchanged: no write


def test_outside_the_window_the_wait_ends_when_the_next_window_opens():
    rec = record().evolve(phase=P.READY_FOR_CUTOVER, cutover_approved_at=T0)
    opens = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)
    facts = Facts(ec2=ec2_facts(), item=item(), in_cutover_window=False, window_opens_at=opens)
    waiting = seen(rec, facts).waiting_for
    assert waiting is not None and (waiting.kind, waiting.until) == ("window", opens)
    assert "until Sat 22:00 UTC" in waiting.message


def test_next_opening_finds_the_next_start_across_midnight_and_the_week():
    windows = parse_windows("Sat 22:00-06:00, Wed 01:00-02:00")
    sunday = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # inside Saturday's window, past its start
    assert next_opening(sunday, windows) == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert next_opening(datetime(2026, 12, 5, 21, 59, tzinfo=UTC), windows) == datetime(
        2026, 12, 5, 22, 0, tzinfo=UTC
    )
    assert next_opening(sunday, ()) is None


@pytest.mark.parametrize(
    ("phase", "pending", "kind"),
    [
        (P.QUEUED, None, "capacity"),
        (P.PAUSED, None, "operator"),
        (P.TEST_MIGRATION, Act.TEST_FAILOVER, "job"),
        (P.STOPPING_SOURCE, Act.STOP_SOURCE, "source"),
        (P.FAILED, None, "person"),
    ],
)
def test_each_kind_of_wait(phase: Phase, pending: Act | None, kind: str):
    intent = (
        PendingAction(action=pending.value, attempt_id="a0", started_at=NOW, job_id="j") if pending else None
    )
    rec = record().evolve(phase=phase, pending_action=intent, paused_phase=P.PROTECTED)
    waiting = seen(rec, Facts(ec2=ec2_facts(state="stopping"), item=item())).waiting_for
    assert waiting is not None and waiting.kind == kind


def test_a_backoff_waits_until_the_retry_and_the_since_is_kept_while_the_kind_is():
    retry_at = NOW + timedelta(minutes=10)
    rec = record().evolve(phase=P.PROTECTED, next_attempt_at=retry_at)
    first = seen(rec, Facts(ec2=ec2_facts(), item=item()))
    assert first.waiting_for is not None and (first.waiting_for.kind, first.waiting_for.until) == (
        "backoff",
        retry_at,
    )
    later = seen(first, Facts(ec2=ec2_facts(), item=item()), NOW + timedelta(minutes=1))
    assert later.waiting_for is not None and later.waiting_for.since == NOW


def test_a_done_vm_waits_for_nothing():
    rec = record().evolve(phase=P.COMPLETING, waiting_for=None)
    done = replace(decide(rec, Facts(ec2=None), POLICY, NOW), next_phase=P.DONE)
    assert apply_decision(rec, done, NOW, "a1").waiting_for is None


def test_replication_health_is_written_when_it_matters_not_each_time_the_rpo_ticks():
    rec = record().evolve(phase=P.PROTECTED)
    point = NOW - timedelta(minutes=2)
    first = seen(rec, Facts(ec2=ec2_facts(), item=item(last_recovery_point=point)))
    assert first.replication is not None
    assert (first.replication.rpo_seconds, first.replication.last_recovery_point) == (30, point)
    ticked = item(rpo_seconds=55, last_recovery_point=point + timedelta(minutes=5))
    assert seen(first, Facts(ec2=ec2_facts(), item=ticked)).replication == first.replication
    worse = item(rpo_seconds=900, last_recovery_point=point + timedelta(minutes=20))
    after = seen(first, Facts(ec2=ec2_facts(), item=worse)).replication
    assert after is not None and (after.rpo_seconds, after.last_recovery_point) == (
        900,
        point + timedelta(minutes=20),
    )
    issue = HealthIssue(code="78122", message="Agent not reachable", fix="Check port 443")
    sick = item(replication_health="Critical", health_issues=(issue,))
    critical = seen(first, Facts(ec2=ec2_facts(), item=sick)).replication
    assert critical is not None and (critical.health, critical.issues) == ("Critical", [issue])


def test_initial_replication_that_stops_moving_gets_a_stall_warning_with_the_faqs_fix():
    policy = Policy(lease_seconds=600, retry_limit=3, backoff_seconds=60, stall_seconds=3_600)
    rec = record().evolve(phase=P.INITIAL_REPLICATION)
    stuck = item(protection_state="InitialReplicationInProgress", progress_percent=37, rpo_seconds=None)
    first = apply_decision(rec, decide(rec, Facts(ec2=ec2_facts(), item=stuck), policy, NOW), NOW, "a")
    assert first.replication is not None and first.replication.progress_since == NOW and first.warning is None
    later = NOW + timedelta(minutes=61)
    stalled = apply_decision(
        first, decide(first, Facts(ec2=ec2_facts(), item=stuck), policy, later), later, "a"
    )
    assert stalled.warning is not None and stalled.warning.code == "ReplicationStalled"
    assert "37% for 61 minutes" in stalled.warning.message and "TCP 9443" in stalled.warning.fix
    moving = item(protection_state="InitialReplicationInProgress", progress_percent=38)
    after = later + timedelta(minutes=1)
    going = apply_decision(
        stalled, decide(stalled, Facts(ec2=ec2_facts(), item=moving), policy, after), after, "a"
    )
    assert (
        going.warning is None and going.replication is not None and going.replication.progress_since == after
    )


def test_a_high_rpo_warns_until_it_comes_down_and_the_warning_is_an_event():
    from shared.core.events import transition_events

    policy = Policy(lease_seconds=600, retry_limit=3, backoff_seconds=60, rpo_warning_seconds=900)
    rec = record().evolve(phase=P.READY_FOR_CUTOVER)
    slow = Facts(ec2=ec2_facts(tags={"azmigrate:enabled": "true"}), item=item(rpo_seconds=2_000))
    warned = apply_decision(rec, decide(rec, slow, policy, NOW), NOW, "a")
    assert warned.warning is not None and (warned.warning.code, warned.warning.since) == ("RpoHigh", NOW)
    kinds = [e.type for e in transition_events(rec, warned, "", "p.q", NOW)]
    assert "p.q.warning.raised" in kinds
    later = NOW + timedelta(minutes=5)
    still = apply_decision(warned, decide(warned, slow, policy, later), later, "a")
    assert still == warned  # the same warning: nothing written again
    fine = Facts(ec2=slow.ec2, item=item(rpo_seconds=60))
    assert apply_decision(warned, decide(warned, fine, policy, later), later, "a").warning is None
