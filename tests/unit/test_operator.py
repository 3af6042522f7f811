"""Every operator command in every phase: allowed -> the phase it leads to; refused -> 409 and why."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.core.lifecycle import check_approvable
from shared.core.operator import Command, operate
from shared.errors import CommandRefused
from shared.model.phases import Phase
from shared.model.records import MigrationRecord, PendingAction
from tests.conftest import T0, record

P = Phase
NOW = T0 + timedelta(hours=1)
# Written out, not taken from the lifecycle module: the phases before the source is stopped.
BEFORE_THE_SOURCE_STOPS = {
    P.OPTED_IN,
    P.PREFLIGHT,
    P.ASSESSED,
    P.AGENT_INSTALL,
    P.AWAITING_DISCOVERY,
    P.QUEUED,
    P.ENABLING,
    P.INITIAL_REPLICATION,
    P.PROTECTED,
    P.TEST_MIGRATION,
    P.TEST_VALIDATION,
    P.TEST_CLEANUP,
    P.READY_FOR_CUTOVER,
    P.BLOCKED,
}
NOTHING, REFUSED = "no change", "refused"


def expected(command: Command, phase: Phase) -> Phase | str:  # noqa: PLR0911 - one rule a command
    if command is Command.PAUSE:
        return NOTHING if phase is P.PAUSED else P.PAUSED if phase in BEFORE_THE_SOURCE_STOPS else REFUSED
    if command is Command.RESUME:
        return P.PROTECTED if phase is P.PAUSED else NOTHING  # paused in protected, below
    if command is Command.RETRY:
        if phase is P.FAILED:
            return P.TEST_MIGRATION  # failed there, below
        return REFUSED if phase in {P.DONE, P.OPTED_OUT} else NOTHING
    if command is Command.ROLLBACK:  # a failed VM here failed in test_migration: no cutover
        return P.FAILED if phase in {P.STOPPING_SOURCE, P.MIGRATING} else REFUSED
    if phase in {P.OPTING_OUT, P.OPTED_OUT}:
        return NOTHING
    return P.OPTING_OUT if phase in BEFORE_THE_SOURCE_STOPS | {P.PAUSED, P.FAILED} else REFUSED


def in_phase(phase: Phase) -> MigrationRecord:
    return record().evolve(
        phase=phase,
        paused_phase=P.PROTECTED if phase is P.PAUSED else None,
        failed_phase=P.TEST_MIGRATION if phase is P.FAILED else None,
        attempts={"test_failover": 3} if phase is P.FAILED else {},
    )


OPERATED = (Command.PAUSE, Command.RESUME, Command.RETRY, Command.CANCEL, Command.ROLLBACK)
CASES = [(c, p) for c in OPERATED for p in Phase]


@pytest.mark.parametrize(("command", "phase"), CASES, ids=[f"{c}-{p}" for c, p in CASES])
def test_every_command_in_every_phase(command: Command, phase: Phase):
    want, rec = expected(command, phase), in_phase(phase)
    if want == REFUSED:
        with pytest.raises(CommandRefused) as refused:
            operate(rec, command, NOW)
        assert refused.value.http_status == 409 and str(phase) in str(refused.value)
        return
    after = operate(rec, command, NOW)
    if want == NOTHING:
        assert after is None
        return
    assert after is not None and (after.phase, after.phase_entered_at) == (want, NOW)
    again = operate(after, command, NOW)  # sent twice: the second changes nothing
    assert again is None


def test_pause_keeps_the_intent_in_flight_and_resume_returns_to_it():
    pending = PendingAction(action="test_failover", attempt_id="a1", started_at=T0, job_id="job-1")
    rec = record().evolve(phase=P.TEST_MIGRATION, pending_action=pending)
    paused = operate(rec, Command.PAUSE, NOW)
    assert paused is not None and (paused.phase, paused.paused_phase, paused.pending_action) == (
        P.PAUSED,
        P.TEST_MIGRATION,
        pending,
    )
    resumed = operate(paused, Command.RESUME, NOW)
    assert resumed is not None
    assert (resumed.phase, resumed.paused_phase, resumed.pending_action) == (P.TEST_MIGRATION, None, pending)


def test_retry_resets_attempts_and_backoff_and_clears_the_failed_step():
    rec = in_phase(P.FAILED).evolve(next_attempt_at=NOW + timedelta(hours=1))
    retried = operate(rec, Command.RETRY, NOW)
    assert retried is not None
    assert (retried.attempts, retried.next_attempt_at, retried.failed_phase) == ({}, None, None)


@pytest.mark.parametrize("command", [Command.RETRY, Command.CANCEL])
def test_retry_and_cancel_wait_while_a_rolled_back_source_is_still_being_started(command: Command):
    owed = PendingAction(action="start_source", attempt_id="a1", started_at=T0)
    rec = in_phase(P.FAILED).evolve(failed_phase=P.READY_FOR_CUTOVER, pending_action=owed)
    with pytest.raises(CommandRefused, match="started again"):
        operate(rec, command, NOW)


@pytest.mark.parametrize("failed_in", [P.STOPPING_SOURCE, P.MIGRATING, P.READY_FOR_CUTOVER])
def test_rollback_of_a_failed_cutover_owes_a_start_the_next_pass_sends_at_once(failed_in: Phase):
    rec = in_phase(P.FAILED).evolve(failed_phase=failed_in, attempts={"start_source": 3, "migrate": 2})
    rolled = operate(rec, Command.ROLLBACK, NOW)
    assert rolled is not None and rolled.pending_action is not None
    assert (rolled.phase, rolled.failed_phase, rolled.attempts) == (
        P.FAILED,
        P.READY_FOR_CUTOVER,
        {"migrate": 2},
    )
    assert (rolled.pending_action.action, rolled.pending_action.issued) == ("start_source", False)
    assert operate(rolled, Command.ROLLBACK, NOW) is None  # sent twice: one start owed


@pytest.mark.parametrize(
    ("phase", "failed_in", "why"),
    [
        (P.MIGRATING, None, "failover is running"),
        (P.FAILED, P.COMMITTING, "no cutover to roll back"),
        (P.FAILED, P.COMPLETING, "no cutover to roll back"),
        (P.FAILED, P.TEST_MIGRATION, "no cutover to roll back"),
    ],
)
def test_rollback_is_refused_once_the_failover_runs_or_was_committed(phase: Phase, failed_in, why: str):
    sent = PendingAction(action="unplanned_failover", attempt_id="a1", started_at=T0, job_id="job-9")
    rec = record().evolve(phase=phase, failed_phase=failed_in, pending_action=sent)
    with pytest.raises(CommandRefused, match=why):
        operate(rec, Command.ROLLBACK, NOW)


def test_a_vm_the_pause_tag_holds_is_resumed_by_removing_the_tag_not_by_a_command():
    rec = record().evolve(phase=P.PAUSED, paused_phase=P.PROTECTED, paused_by_tag=True)
    with pytest.raises(CommandRefused, match="remove the tag"):
        operate(rec, Command.RESUME, NOW)


@pytest.mark.parametrize("failed_in", [P.STOPPING_SOURCE, P.COMMITTING, P.COMPLETING])
def test_a_vm_that_failed_once_its_source_was_stopped_cannot_be_cancelled(failed_in: Phase):
    with pytest.raises(CommandRefused, match="source was stopped"):
        operate(in_phase(P.FAILED).evolve(failed_phase=failed_in), Command.CANCEL, NOW)


# Approval stamps the record and moves nothing; refused once the cutover has begun, or it ended.
TOO_LATE_TO_APPROVE = {P.STOPPING_SOURCE, P.MIGRATING, P.COMMITTING, P.COMPLETING, P.DONE}


@pytest.mark.parametrize("phase", list(Phase))
def test_approve_in_every_phase(phase: Phase):
    rec = in_phase(phase)
    if phase in TOO_LATE_TO_APPROVE | {P.OPTING_OUT, P.OPTED_OUT}:
        with pytest.raises(CommandRefused) as refused:
            check_approvable(rec)
        assert refused.value.http_status == 409 and str(phase) in str(refused.value)
    else:
        check_approvable(rec)
