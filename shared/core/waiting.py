"""Why a VM waits, and its replication's health, as the record keeps them for people to read.

`decide` works both out for every decision; `apply_decision` writes them only when what a person
reads changed, so a pass over a fleet where nothing happened writes no record.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.core.actions import Act, Decision, Wait
from shared.model.facts import ItemFacts
from shared.model.phases import Phase
from shared.model.records import MigrationRecord, Replication, ReplicationWarning, Waiting, WaitKind

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


def replication_of(item: ItemFacts | None, previous: Replication | None, now: datetime) -> Replication | None:
    """The item's replication as the record keeps it: the RPO and the last recovery point only when
    they moved enough to matter (in Azure both move every few minutes; a write each pass for each
    VM would buy nothing); `progress_since` when the progress last moved."""
    if item is None:
        return None
    progress = min(max(item.progress_percent, 0), 100)
    moved = previous is None or previous.progress_percent != progress or previous.progress_since is None
    seen = Replication(
        progress_percent=progress,
        progress_since=now if moved or previous is None else previous.progress_since,
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


# From the seed's FAQ ("My replication status isn't progressing") and its network requirements.
STALL_FIX = (
    "Check that the replication appliance meets the requirements and is running; that the instance's "
    "security group and network let it reach the appliance on TCP 9443 (data) and HTTPS 443 (control); "
    "that the appliance reaches Azure on HTTPS 443 outbound; that no stale duplicate appliance is "
    "registered to the project; and that the Mobility agent service runs on the instance."
)
RPO_FIX = (
    "The instance writes faster than replication carries, or the appliance is overloaded: check the "
    "disk churn (write rate) against Site Recovery's limits, the appliance's CPU and memory, and its "
    "outbound HTTPS 443 bandwidth to Azure."
)
RPO_PHASES = frozenset(
    {P.PROTECTED, P.TEST_MIGRATION, P.TEST_VALIDATION, P.TEST_CLEANUP, P.READY_FOR_CUTOVER}
)


def warning_of(
    record: MigrationRecord,
    phase: Phase,
    replication: Replication | None,
    now: datetime,
    limits: tuple[int, int],
) -> ReplicationWarning | None:
    """A stalled initial replication or a high RPO, with what to look at; None when neither.
    `limits`: (stall seconds, RPO warning seconds). `since` is kept while the warning stays."""
    stall_seconds, rpo_limit = limits
    found: tuple[str, str, str] | None = None
    if replication is not None and phase is P.INITIAL_REPLICATION and replication.progress_since is not None:
        stuck = now - replication.progress_since
        if stuck >= timedelta(seconds=stall_seconds):
            minutes = int(stuck.total_seconds() // 60)
            said = f"initial replication has stayed at {replication.progress_percent}% for {minutes} minutes"
            found = ("ReplicationStalled", said, STALL_FIX)
    elif replication is not None and phase in RPO_PHASES and (replication.rpo_seconds or 0) > rpo_limit:
        found = ("RpoHigh", f"RPO {replication.rpo_seconds} s is above {rpo_limit} s", RPO_FIX)
    if found is None:
        return None
    code, message, fix = found
    previous = record.warning
    if previous is not None and previous.code == code:
        return previous if previous.message == message else previous.model_copy(update={"message": message})
    return ReplicationWarning(code=code, message=message, fix=fix, since=now)
