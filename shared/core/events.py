"""Transition events: what a write changed, as CloudEvents 1.0 for people and their tools.

Pure: the records before and after a write give the events, which go into the written record's
outbox (so the transition and its events are one write). Types are reverse-DNS names under one
configurable prefix (CloudEvents' recommendation), the subject is the instance id, and the id names
the record version that made the event: a consumer that sees an id twice has seen one event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.model.phases import Phase
from shared.model.records import OUTBOX_KEPT, MigrationRecord, OutboxEvent

P = Phase
PHASE_CHANGED = "phase.changed"  # every phase change
BLOCKED = "vm.blocked"  # a check or a deadline holds the VM until someone fixes it
FAILED = "vm.failed"  # a step ran out of tries: a person retries, cancels or rolls back
APPROVAL_REQUESTED = "approval.requested"  # the cutover waits for approval
COMPLETED = "migration.completed"  # done: the VM runs in Azure, replication removed
WARNING = "warning.raised"  # replication stalled, or its RPO is above the limit (the fix is in the data)
ON_ENTERING = {P.BLOCKED: BLOCKED, P.FAILED: FAILED, P.DONE: COMPLETED}


def transition_events(
    before: MigrationRecord, after: MigrationRecord, reason: str, prefix: str, now: datetime
) -> list[OutboxEvent]:
    """The events of the write that turns `before` into `after` (none when nothing a person follows
    changed)."""
    kinds: list[str] = []
    if after.phase != before.phase:
        kinds.append(PHASE_CHANGED)
        if after.phase in ON_ENTERING:
            kinds.append(ON_ENTERING[after.phase])
    if _waits_for_approval(after) and not _waits_for_approval(before):
        kinds.append(APPROVAL_REQUESTED)
    if after.warning is not None and (before.warning is None or before.warning.code != after.warning.code):
        kinds.append(WARNING)
    version = before.version + 1  # the version this write gives the record
    data = summary(before, after, reason)
    return [
        OutboxEvent(id=f"{after.instance_id}-{version}-{kind}", type=f"{prefix}.{kind}", time=now, data=data)
        for kind in kinds
    ]


def with_events(record: MigrationRecord, events: list[OutboxEvent]) -> MigrationRecord:
    """`record` with `events` added to its outbox (the oldest dropped past OUTBOX_KEPT)."""
    if not events:
        return record
    return record.evolve(outbox=[*record.outbox, *events][-OUTBOX_KEPT:])


def summary(before: MigrationRecord, after: MigrationRecord, reason: str) -> dict[str, Any]:
    """An event's data (documented in the README): where the VM is, why, and what it waits for."""
    pending = after.pending_action
    return {
        "instanceId": after.instance_id,
        "wave": after.wave,
        "phase": after.phase.value,
        "previousPhase": before.phase.value,
        "reason": reason[:500],
        "waitingFor": after.waiting_for.model_dump(mode="json") if after.waiting_for else None,
        "asrJobId": (pending.job_id or pending.operation_id) if pending else after.asr_job_id,
        "error": after.last_error.code if after.last_error and after.phase in {P.BLOCKED, P.FAILED} else None,
        "warning": after.warning.model_dump(mode="json") if after.warning else None,
    }


def _waits_for_approval(record: MigrationRecord) -> bool:
    return record.waiting_for is not None and record.waiting_for.kind == "approval"
