"""Why a VM waits, and its replication's health, as the record keeps them for people to read.

`decide` works both out for every decision; `apply_decision` writes them only when what a person
reads changed, so a pass over a fleet where nothing happened writes no record.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.core.actions import Act, Decision, Wait
from shared.model.facts import ItemFacts
from shared.model.phases import Phase
from shared.model.records import MigrationRecord, Replication, Waiting, WaitKind

P = Phase
# Phases that wait for one thing whatever the handler said.
PHASE_WAITS: dict[Phase, WaitKind] = {
    P.PAUSED: "operator",
    P.FAILED: "person",
    P.BLOCKED: "person",
    P.ASSESSED: "person",
    P.QUEUED: "capacity",
    P.INITIAL_REPLICATION: "replication",
    P.AWAITING_DISCOVERY: "discovery",
    P.STOPPING_SOURCE: "source",
}
SOURCE_ACTIONS = frozenset({Act.STOP_SOURCE.value, Act.START_SOURCE.value})
RECOVERY_POINT_STEP = timedelta(minutes=15)  # a newer recovery point is written at this grain
RPO_STEP_SECONDS = 60  # and an RPO that moved by at least this (or a quarter of it)


def wait_of(record: MigrationRecord, decision: Decision, now: datetime) -> Wait | None:
    """What the VM waits for once `decision` is written; None once it ended."""
    phase = decision.next_phase
    if phase.is_terminal:
        return None
    if decision.waiting is not None:
        return Wait(decision.waiting, decision.reason, decision.wait_until)
    retry_at = decision.retry_at or (record.next_attempt_at if phase == record.phase else None)
    if retry_at is not None and retry_at > now and phase not in PHASE_WAITS:
        return Wait("backoff", decision.reason, retry_at)
    if phase in PHASE_WAITS:
        return Wait(PHASE_WAITS[phase], decision.reason)
    pending = record.pending_action if phase == record.phase and not decision.clear_pending else None
    acting = decision.action.value if decision.action else pending.action if pending else None
    if acting is None:
        return Wait("cloud", decision.reason)
    return Wait("source" if acting in SOURCE_ACTIONS else "job", decision.reason)


def waiting_after(record: MigrationRecord, wait: Wait | None, now: datetime) -> Waiting | None:
    """The record's `waiting_for` for `wait`: its `since` kept while the kind of wait is the same."""
    if wait is None:
        return None
    previous = record.waiting_for
    since = previous.since if previous is not None and previous.kind == wait.kind else now
    return Waiting(kind=wait.kind, message=wait.message, since=since, until=wait.until)


def replication_of(item: ItemFacts | None, previous: Replication | None) -> Replication | None:
    """The item's replication as the record keeps it: the RPO and the last recovery point only when
    they moved enough to matter (in Azure both move every few minutes; a write each pass for each
    VM would buy nothing)."""
    if item is None:
        return None
    seen = Replication(
        progress_percent=min(max(item.progress_percent, 0), 100),
        rpo_seconds=item.rpo_seconds,
        last_recovery_point=item.last_recovery_point,
        health=item.replication_health,
        issues=list(item.health_issues),
    )
    if previous is None:
        return seen
    rpo, point = seen.rpo_seconds, seen.last_recovery_point
    if rpo is not None and previous.rpo_seconds is not None:
        step = max(RPO_STEP_SECONDS, previous.rpo_seconds // 4)
        rpo = previous.rpo_seconds if abs(rpo - previous.rpo_seconds) < step else rpo
    if point is not None and previous.last_recovery_point is not None:
        point = (
            previous.last_recovery_point
            if point - previous.last_recovery_point < RECOVERY_POINT_STEP
            else point
        )
    return seen.model_copy(update={"rpo_seconds": rpo, "last_recovery_point": point})
