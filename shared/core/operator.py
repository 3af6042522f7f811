"""Operator commands on one VM: pause, resume, retry, cancel, rollback. Pure: the record after it.

`operate` answers the record the command leaves (to be written as a compare-and-swap by the one write
path), None when the command changes nothing (sent twice: the same result, one timeline entry), or
raises `CommandRefused` (409) saying why the VM's phase does not allow it. Approval stamps a field
and moves nothing (`Commands.approve`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from shared.core.actions import Act, owes_start
from shared.core.lifecycle import PAUSABLE_PHASES, can_opt_out, check_transition
from shared.errors import CommandRefused, ErrorCode
from shared.model.phases import Phase
from shared.model.records import MigrationRecord, PendingAction

P = Phase


class Command(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    RETRY = "retry"
    CANCEL = "cancel"
    ROLLBACK = "rollback"
    APPROVE = "approve"


# A cutover may be rolled back until its failover is committed: while the source is being stopped,
# while migrating before the failover was sent, or once it failed in one of those (a rollback that
# already ran counts as failed in ready_for_cutover, and may be asked for again: its start may not
# have happened). A failover job in flight decides for itself: failed, the app rolls back.
CUTOVER_BEFORE_COMMIT = frozenset({P.STOPPING_SOURCE, P.MIGRATING})
ROLLED_BACK_FROM = CUTOVER_BEFORE_COMMIT | {P.READY_FOR_CUTOVER}


def operate(record: MigrationRecord, command: Command, now: datetime) -> MigrationRecord | None:
    """The record after `command`, None when it changes nothing; CommandRefused when not allowed."""
    if command not in _COMMANDS:
        raise ValueError(f"{command} is not an operate() command")
    return _COMMANDS[command](record, now)


def _pause(record: MigrationRecord, now: datetime) -> MigrationRecord | None:
    if record.phase is P.PAUSED:
        return None
    _allowed(record, Command.PAUSE, record.phase in PAUSABLE_PHASES)
    # The intent in flight stays: its job finishes, and the resumed phase reads its result.
    return _moved(record, P.PAUSED, now, paused_phase=record.phase)


def _resume(record: MigrationRecord, now: datetime) -> MigrationRecord | None:
    if record.phase is not P.PAUSED:
        return None
    _allowed(record, Command.RESUME, not record.paused_by_tag, "its pause tag holds it; remove the tag")
    return _moved(record, record.paused_phase or P.OPTED_IN, now, paused_phase=None)


def _retry(record: MigrationRecord, now: datetime) -> MigrationRecord | None:
    if record.phase is not P.FAILED:
        _allowed(record, Command.RETRY, not record.phase.is_terminal)
        return None
    _allowed(
        record,
        Command.RETRY,
        not owes_start(record),
        "its source is being started again; retry once it runs",
    )
    target = record.failed_phase or P.OPTED_IN
    return _moved(record, target, now, attempts={}, pending_action=None, failed_phase=None)


def _cancel(record: MigrationRecord, now: datetime) -> MigrationRecord | None:
    if record.phase in {P.OPTING_OUT, P.OPTED_OUT}:
        return None
    _allowed(
        record, Command.CANCEL, can_opt_out(record), "its source was stopped for the cutover, or it is done"
    )
    _allowed(
        record,
        Command.CANCEL,
        not owes_start(record),
        "its source is being started again; cancel once it runs",
    )
    return _moved(record, P.OPTING_OUT, now, pending_action=None)


def _rollback(record: MigrationRecord, now: datetime) -> MigrationRecord | None:
    if owes_start(record):
        return None  # the start is owed already (sent twice, or the app rolled back by itself)
    owed = record.pending_action
    failed = record.phase is P.FAILED and record.failed_phase in ROLLED_BACK_FROM
    failing_over = record.phase is P.MIGRATING and owed is not None  # the failover was sent
    _allowed(
        record,
        Command.ROLLBACK,
        (record.phase in CUTOVER_BEFORE_COMMIT and not failing_over) or failed,
        "its failover is running; if it fails the app starts the source again"
        if failing_over
        else "no cutover to roll back: only one stopping its source, migrating, or failed there",
    )
    start = PendingAction(
        action=Act.START_SOURCE.value,
        attempt_id=f"rollback-{now:%Y%m%dT%H%M%S}",
        started_at=now,
        issued=False,
    )
    return _moved(
        record,
        P.FAILED,
        now,
        pending_action=start,
        failed_phase=P.READY_FOR_CUTOVER,
        attempts={k: v for k, v in record.attempts.items() if k != "start_source"},
    )


_COMMANDS: dict[Command, Callable[[MigrationRecord, datetime], MigrationRecord | None]] = {
    Command.PAUSE: _pause,
    Command.RESUME: _resume,
    Command.RETRY: _retry,
    Command.CANCEL: _cancel,
    Command.ROLLBACK: _rollback,
}


def _moved(record: MigrationRecord, target: Phase, now: datetime, **changes: object) -> MigrationRecord:
    check_transition(record.phase, target)
    return record.evolve(phase=target, phase_entered_at=now, next_attempt_at=None, **changes)


def _allowed(record: MigrationRecord, command: Command, allowed: bool, why: str = "") -> None:
    if not allowed:
        reason = why or f"not allowed in {record.phase}"
        raise CommandRefused(
            f"cannot {command} {record.instance_id} ({record.phase}): {reason}",
            code=ErrorCode.COMMAND_REFUSED,
        )
