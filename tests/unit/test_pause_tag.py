"""The pause tag (teams that steer from AWS) and the source's start an operator's rollback owes, in
the pure core: what each pass decides, and what the write keeps."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from shared.core.actions import Act
from shared.core.decide import apply_decision, decide
from shared.core.operator import Command, operate
from shared.model.facts import Facts, ItemFacts, Policy
from shared.model.phases import Phase
from shared.model.records import MigrationRecord, PendingAction
from tests.conftest import T0, record
from tests.unit.decide_world import PROTECTED_OPS, ec2_facts

P = Phase
POLICY = Policy(lease_seconds=600, retry_limit=1, backoff_seconds=60)
NOW = T0 + timedelta(minutes=5)
TAGS = {"azmigrate:enabled": "true"}
JOB = PendingAction(action="test_failover", attempt_id="a1", started_at=T0, job_id="job-1")


def facts(*, pause: str | None = None, state: str = "running", **tags: str) -> Facts:
    tagged = TAGS | tags | ({"azmigrate:pause": pause} if pause is not None else {})
    item = ItemFacts("azmigrate-i-1", "Protected", PROTECTED_OPS)
    return Facts(ec2=ec2_facts(tags=tagged, state=state), item=item)


def step(rec: MigrationRecord, seen: Facts) -> MigrationRecord:
    return apply_decision(rec, decide(rec, seen, POLICY, NOW), NOW, "a2")


@pytest.mark.parametrize("value", ["true", " TRUE ", "yes", "1"])
def test_the_pause_tag_pauses_a_vm_and_keeps_its_job_in_flight(value: str):
    rec = record().evolve(phase=P.TEST_MIGRATION, pending_action=JOB)
    paused = step(rec, facts(pause=value))
    assert (paused.phase, paused.paused_phase, paused.paused_by_tag, paused.pending_action) == (
        P.PAUSED,
        P.TEST_MIGRATION,
        True,
        JOB,
    )
    held = step(paused, facts(pause=value))  # the wait now says how it ends
    assert held.waiting_for is not None and "remove it to resume" in held.waiting_for.message
    assert step(held, facts(pause=value)) == held  # held: nothing written again


def test_removing_the_pause_tag_resumes_where_it_paused_with_the_same_intent():
    paused = step(record().evolve(phase=P.TEST_MIGRATION, pending_action=JOB), facts(pause="true"))
    for removed in (facts(), facts(pause="false")):
        resumed = step(paused, removed)
        assert (resumed.phase, resumed.paused_phase, resumed.paused_by_tag) == (P.TEST_MIGRATION, None, False)
        assert resumed.pending_action == JOB


def test_removing_the_pause_tag_does_not_resume_an_operators_pause():
    by_operator = operate(record().evolve(phase=P.PROTECTED), Command.PAUSE, NOW)
    assert by_operator is not None and not by_operator.paused_by_tag
    for seen in (facts(pause="true"), facts()):
        decision = decide(by_operator, seen, POLICY, NOW)
        assert (decision.next_phase, decision.action) == (P.PAUSED, None)
        assert "resume through the API" in decision.reason


@pytest.mark.parametrize("phase", [P.STOPPING_SOURCE, P.MIGRATING, P.FAILED, P.DONE])
def test_the_pause_tag_does_not_hold_a_vm_whose_source_was_stopped_or_that_ended(phase: Phase):
    decision = decide(record().evolve(phase=phase), facts(pause="true"), POLICY, NOW)
    assert decision.next_phase is not P.PAUSED


def test_removing_the_opt_in_tag_takes_out_a_vm_the_pause_tag_holds():
    paused = step(record().evolve(phase=P.PROTECTED), facts(pause="true"))
    out = facts(pause="true")
    assert out.ec2 is not None
    gone = replace(out, ec2=replace(out.ec2, tags={"azmigrate:pause": "true"}))
    assert decide(paused, gone, POLICY, NOW).next_phase is P.OPTING_OUT


def rolled_back() -> MigrationRecord:
    rec = record().evolve(phase=P.FAILED, failed_phase=P.MIGRATING, attempts={"migrate": 1})
    after = operate(rec, Command.ROLLBACK, NOW)
    assert after is not None
    return after


def test_an_operators_rollback_starts_the_stopped_source_in_the_next_pass_without_a_lease_wait():
    decision = decide(rolled_back(), facts(state="stopped"), POLICY, NOW)  # retry limit 1: not counted
    assert (decision.next_phase, decision.action) == (P.FAILED, Act.START_SOURCE)
    sent = apply_decision(rolled_back(), decision, NOW, "a3")
    assert sent.pending_action is not None and sent.pending_action.issued
    waiting = decide(sent, facts(state="pending"), POLICY, NOW + timedelta(seconds=10))
    assert waiting.action is None and not waiting.clear_pending


def test_once_the_source_runs_nothing_is_owed_and_the_vm_may_be_retried():
    running = step(rolled_back(), facts(state="running"))
    assert (running.phase, running.pending_action) == (P.FAILED, None)
    retried = operate(running, Command.RETRY, NOW)
    assert retried is not None and retried.phase is P.READY_FOR_CUTOVER


def test_a_paused_vm_owed_its_sources_start_gets_it():
    owed = PendingAction(action="start_source", attempt_id="a1", started_at=T0 - timedelta(hours=1))
    paused = record().evolve(phase=P.PAUSED, paused_phase=P.PROTECTED, pending_action=owed)
    three = Policy(lease_seconds=600, retry_limit=3, backoff_seconds=60)  # the lost start: tried again
    assert decide(paused, facts(state="stopped"), three, NOW).action is Act.START_SOURCE
