"""Nothing stuck, nothing twice, in the pure core: every intent has a lease and an end, and a crash
is healed by identity, not by the clock (issue 12's defects, each of which held a VM on the old core)."""

from __future__ import annotations

from datetime import timedelta

from shared.core.actions import Act
from shared.core.decide import apply_decision, decide
from shared.model.facts import Facts, ItemFacts, JobFacts, Policy
from shared.model.phases import Phase
from shared.model.records import PendingAction
from tests.conftest import T0, record
from tests.unit.decide_world import PROTECTED_OPS, ec2_facts

POLICY = Policy(lease_seconds=600, retry_limit=3, backoff_seconds=60)


def intent(act: Act, at=T0, **more: object) -> PendingAction:
    return PendingAction(action=act.value, attempt_id="a1", started_at=at, **more)


def test_a_stop_intent_with_no_stop_behind_it_is_issued_again_after_its_lease():
    stopping = record().evolve(phase=Phase.STOPPING_SOURCE, pending_action=intent(Act.STOP_SOURCE))
    running = Facts(ec2=ec2_facts(state="running"))
    inside = decide(stopping, running, POLICY, T0 + timedelta(seconds=300))
    assert inside.action is None and "waiting for the source to stop" in inside.reason
    after = decide(stopping, running, POLICY, T0 + timedelta(seconds=601))
    assert after.action is Act.STOP_SOURCE and after.attempt == "stop_source"


def test_a_source_that_will_not_stop_fails_the_vm_with_the_reason():
    stuck = record().evolve(
        phase=Phase.STOPPING_SOURCE, pending_action=intent(Act.STOP_SOURCE), attempts={"stop_source": 2}
    )
    decision = decide(stuck, Facts(ec2=ec2_facts(state="running")), POLICY, T0 + timedelta(seconds=601))
    assert decision.next_phase is Phase.FAILED and decision.error is not None
    assert decision.error[0] == "SourceNotStopped"


def test_a_rollbacks_lost_start_is_issued_again_after_its_lease():
    rolled_back = record().evolve(phase=Phase.PROTECTED, pending_action=intent(Act.START_SOURCE))
    facts = Facts(ec2=ec2_facts(state="stopped"), item=ItemFacts("azmigrate-i-1", "Protected", PROTECTED_OPS))
    assert decide(rolled_back, facts, POLICY, T0 + timedelta(seconds=60)).action is None
    assert decide(rolled_back, facts, POLICY, T0 + timedelta(seconds=601)).action is Act.START_SOURCE


def test_a_later_attempt_never_adopts_an_earlier_attempts_job():
    """The first test failover failed; the second's intent lost its effect in a crash. The first job
    started within the clock skew of the second intent, but it is settled: nothing is adopted."""
    first = JobFacts("job-1", "TestFailover", "Failed", T0)
    failing = record().evolve(
        phase=Phase.TEST_MIGRATION, pending_action=intent(Act.TEST_FAILOVER, operation_id="op-1")
    )
    item = ItemFacts(
        "azmigrate-i-1", "Protected", frozenset({"testfailovercleanup"}), test_failover_state="Failed"
    )
    failed = decide(failing, Facts(ec2=ec2_facts(), item=item, job=first, item_jobs=(first,)), POLICY, T0)
    assert failed.settle_job == "job-1"
    after = apply_decision(failing, failed, T0, attempt_id="a2")
    assert after.settled_jobs == ["job-1"]
    retry = after.evolve(
        phase=Phase.TEST_MIGRATION, pending_action=intent(Act.TEST_FAILOVER, at=T0 + timedelta(seconds=60))
    )
    facts = Facts(
        ec2=ec2_facts(), item=ItemFacts("azmigrate-i-1", "Protected", PROTECTED_OPS), item_jobs=(first,)
    )
    decision = decide(retry, facts, POLICY, T0 + timedelta(seconds=90))
    assert decision.adopt_job_id is None and decision.event != "adopted"


def test_a_commit_whose_item_vanished_fails_instead_of_waiting():
    committing = record().evolve(phase=Phase.COMMITTING)
    decision = decide(committing, Facts(ec2=ec2_facts(state="stopped"), item=None), POLICY, T0)
    assert decision.next_phase is Phase.FAILED and decision.error is not None
    assert decision.error[0] == "ItemMissing"


def test_past_its_deadline_a_phase_that_made_progress_still_moves_on():
    """The deadline is looked at after what is true now: a commit that finished during an outage
    moves on instead of failing."""
    entered = T0 - timedelta(days=2)
    committing = record().evolve(phase=Phase.COMMITTING, phase_entered_at=entered)
    done = ItemFacts("azmigrate-i-1", "UnplannedFailoverCommitted", frozenset({"completemigration"}))
    decision = decide(committing, Facts(ec2=ec2_facts(state="stopped"), item=done), POLICY, T0)
    assert decision.next_phase is Phase.COMPLETING


def test_a_preflight_past_its_deadline_is_blocked_until_the_recheck_not_looped():
    entered = T0 - timedelta(hours=7)
    stuck = record().evolve(
        phase=Phase.PREFLIGHT,
        phase_entered_at=entered,
        pending_action=intent(Act.GUEST_CHECK, at=T0 - timedelta(hours=7), job_id="cmd-1"),
    )
    decision = decide(stuck, Facts(ec2=ec2_facts()), POLICY, T0)
    assert decision.next_phase is Phase.BLOCKED and decision.retry_at is not None and decision.retry_at > T0


def test_a_stop_past_its_deadline_fails_the_vm_and_starts_the_source_again():
    entered = T0 - timedelta(hours=3)
    stopping = record().evolve(
        phase=Phase.STOPPING_SOURCE, phase_entered_at=entered, pending_action=intent(Act.STOP_SOURCE, at=T0)
    )
    decision = decide(stopping, Facts(ec2=ec2_facts(state="stopping")), POLICY, T0)
    assert (decision.next_phase, decision.action) == (Phase.FAILED, Act.START_SOURCE)


def test_a_failed_vm_owed_a_start_gets_it_and_gives_up_at_the_limit():
    failed = record().evolve(
        phase=Phase.FAILED, pending_action=intent(Act.START_SOURCE, at=T0 - timedelta(hours=1))
    )
    stopped = Facts(ec2=ec2_facts(state="stopped"))
    assert decide(failed, stopped, POLICY, T0).action is Act.START_SOURCE
    tired = failed.evolve(attempts={"start_source": 2})
    decision = decide(tired, stopped, POLICY, T0)
    assert decision.action is None and decision.error is not None and decision.error[0] == "SourceNotStarted"
