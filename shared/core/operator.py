"""Operator commands on one VM: pause, resume, retry, cancel. Pure: the record after the command.

`operate` answers the record the command leaves (to be written as a compare-and-swap by the one write
path), None when the command changes nothing (sent twice: the same result, one timeline entry), or
raises `CommandRefused` (409) saying why the VM's phase does not allow it. Approval stamps a field
and moves nothing (`Commands.approve`). Rolling back a cutover by hand is not built yet.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from shared.core.actions import Act
from shared.core.lifecycle import PAUSABLE_PHASES, can_opt_out, check_transition
from shared.errors import CommandRefused, ErrorCode
from shared.model.phases import Phase
from shared.model.records import MigrationRecord

P = Phase


class Command(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    RETRY = "retry"
    CANCEL = "cancel"
    APPROVE = "approve"


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
    return _moved(record, record.paused_phase or P.OPTED_IN, now, paused_phase=None)


def _retry(record: MigrationRecord, now: datetime) -> MigrationRecord | None:
    if record.phase is not P.FAILED:
        _allowed(record, Command.RETRY, not record.phase.is_terminal)
        return None
    owed = record.pending_action
    restarting = owed is not None and Act(owed.action) is Act.START_SOURCE
    _allowed(record, Command.RETRY, not restarting, "its source is being started again; retry once it runs")
    target = record.failed_phase or P.OPTED_IN
    return _moved(record, target, now, attempts={}, pending_action=None, failed_phase=None)


def _cancel(record: MigrationRecord, now: datetime) -> MigrationRecord | None:
    if record.phase in {P.OPTING_OUT, P.OPTED_OUT}:
        return None
    _allowed(
        record, Command.CANCEL, can_opt_out(record), "its source was stopped for the cutover, or it is done"
    )
    return _moved(record, P.OPTING_OUT, now, pending_action=None)


_COMMANDS: dict[Command, Callable[[MigrationRecord, datetime], MigrationRecord | None]] = {
    Command.PAUSE: _pause,
    Command.RESUME: _resume,
    Command.RETRY: _retry,
    Command.CANCEL: _cancel,
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
