"""The one write path: every change to a VM's record goes through here, whoever asks for it.

A reconcile pass's decisions, an operator's approval, an event's receipt and the job watcher's
watermark are all written by `Commands`: the transition guard is applied (`apply_decision` checks it),
the record is written as a compare-and-swap on its ETag (which bumps its version), the timeline gets
one entry saying who did what and why, and the EC2 status tag follows the phase. Nothing else writes
the store: triggers call the app layer, which calls this.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from shared.adapters.ratelimit import Pacer, RateLimiter
from shared.core.actions import Act, Decision, Effect
from shared.core.decide import apply_decision
from shared.core.events import transition_events, with_events
from shared.core.lifecycle import check_approvable
from shared.core.operator import Command, operate
from shared.errors import (
    ActionRefused,
    AlreadyExists,
    CloudUnavailable,
    ConcurrencyConflict,
    LeaseExpired,
    RecordNotFound,
    ServiceBusy,
)
from shared.model.facts import Ec2Facts
from shared.model.phases import Phase
from shared.model.records import HistoryEntry, MigrationRecord, OutboxEvent, to_actor, to_token
from shared.state.store import StateStore, Watermark

log = logging.getLogger(__name__)
StatusWriter = Callable[[Ec2Facts, str], object]  # sets the instance's status tag
AMEND_TRIES = 3  # re-read and try again when a reconciler wrote in between


@dataclass(frozen=True)
class EventsOut:
    """Where transition events go: their types' prefix, and the topic's publish (raises
    CloudUnavailable when the topic did not take them: they stay in the outbox)."""

    prefix: str
    publish: Callable[[list[OutboxEvent]], None]


class Commands:
    def __init__(
        self,
        store: StateStore,
        *,
        clock: Callable[[], datetime],
        status: StatusWriter | None = None,
        status_writes: Pacer | None = None,
        events: EventsOut | None = None,
    ) -> None:
        self.store, self.clock = store, clock
        self._status = status
        self._status_writes: Pacer = status_writes or RateLimiter(10)
        self._events = events

    # --- the lifecycle ---------------------------------------------------------------------------

    def take_in(self, record: MigrationRecord, reason: str) -> MigrationRecord | None:
        """A new record for an opted-in instance; None when it has one already (any phase)."""
        try:
            created = self.store.create(record)
        except AlreadyExists:
            return None  # known already (done, opted out, or created by a concurrent pass)
        self._history(created, "opted_in", reason, actor="reconciler")
        return created

    def apply(
        self, record: MigrationRecord, decision: Decision, *, now: datetime, actor: str = "reconciler"
    ) -> MigrationRecord:
        """Writes `decision` (the intent, before its effect); a decision that changes nothing writes
        nothing. Raises `ConcurrencyConflict` when another writer moved the record first."""
        written = apply_decision(record, decision, now, attempt_id=uuid.uuid4().hex[:12])
        if written == record:
            return record
        updated = self.store.update(self._with_events(record, written, decision.reason, now))
        if updated.phase != record.phase or decision.event != "waiting":
            self._history(updated, decision.event, decision.reason, actor=actor, source=record.phase)
        return self.flush(updated)

    def flush(self, record: MigrationRecord) -> MigrationRecord:
        """Publishes the record's outbox and empties it. When the topic does not take them, or
        another writer came first, the events stay for the next pass (same ids: a consumer dedupes)."""
        if not record.outbox or self._events is None:
            return record
        try:
            self._events.publish(record.outbox)
        except CloudUnavailable as error:
            log.warning(
                "events kept for the next pass",
                extra={"instance_id": record.instance_id, "error": str(error)},
            )
            return record
        try:
            return self.store.update(record.evolve(outbox=[]))
        except ConcurrencyConflict:
            return record  # the newer record still holds them: published again later, same ids

    def _with_events(
        self, before: MigrationRecord, after: MigrationRecord, reason: str, now: datetime
    ) -> MigrationRecord:
        if self._events is None:
            return after
        return with_events(after, transition_events(before, after, reason, self._events.prefix, now))

    def record_effect(self, record: MigrationRecord, act: Act, effect: Effect) -> MigrationRecord:
        """The effect happened: what it left to track (an SSM command id, an ASR operation id, or
        "done at once") completes the pending intent. An effect with nothing to track writes nothing."""
        pending = record.pending_action
        assert pending is not None
        if not effect.tracked:
            return record
        done_at = self.clock() if effect.done else None
        updated = self.store.update(
            record.evolve(
                pending_action=pending.evolve(
                    job_id=effect.job_id, operation_id=effect.operation_id, done_at=done_at
                )
            )
        )
        reason = f"{act} done at once (ASR answered without an operation)" if effect.done else f"{act} issued"
        tracking = effect.job_id or effect.operation_id
        self._history(updated, "action", reason, actor="reconciler", source=record.phase, job_id=tracking)
        return updated

    def confirm_intent(self, record: MigrationRecord, now: datetime, lease_seconds: int) -> MigrationRecord:
        """Fencing, right before an effect: the intent is still this writer's (a conditional write:
        another writer's change since makes it raise ConcurrencyConflict) and inside its lease
        (LeaseExpired otherwise). Either way the effect is not sent."""
        pending = record.pending_action
        assert pending is not None
        if now - pending.started_at >= timedelta(seconds=lease_seconds):
            raise LeaseExpired(f"the {pending.action} intent of {record.instance_id} outlived its lease")
        return self.store.update(record)

    def sync_status(self, record: MigrationRecord, ec2: Ec2Facts | None) -> None:
        """The instance's status tag shows the phase (and a blocked or failed VM's error code)."""
        if ec2 is None or self._status is None:
            return
        status = record.phase.value
        if record.phase in {Phase.BLOCKED, Phase.FAILED} and record.last_error:
            status = f"{status}: {record.last_error.code}"
        if ec2.tag("status") == status:
            return
        self._status_writes.acquire(f"{ec2.account_id}/{ec2.region}")
        try:
            self._status(ec2, status)
        except ActionRefused as refused:  # e.g. IAM: the status is a courtesy, the record is the truth
            log.warning(
                "status tag refused", extra={"instance_id": record.instance_id, "error": str(refused)}
            )

    # --- operators -------------------------------------------------------------------------------

    def approve(
        self, instance_id: str, *, actor: str, reason: str, current: MigrationRecord | None = None
    ) -> tuple[MigrationRecord, bool]:
        """Approves a VM's cutover (the other way is the approved tag); refused once it has begun.
        Approved before: nothing changes (one approval, one timeline entry). `current`: the record
        as the caller read it (a wave's listing), tried first; a conflict re-reads."""
        return self._amend(
            instance_id,
            "approved",
            reason,
            actor=actor,
            check=check_approvable,
            change="cutover_approved_at",
            once=True,
            current=current,
        )

    def operate(
        self,
        instance_id: str,
        command: Command,
        *,
        actor: str,
        reason: str,
        current: MigrationRecord | None = None,
    ) -> tuple[MigrationRecord, bool]:
        """An operator's pause, resume, retry or cancel: the record after it, and whether it changed
        anything (a command sent twice changes nothing the second time and adds no timeline entry).
        `current`: the record as the caller read it, tried first; a conflict re-reads."""
        for _ in range(AMEND_TRIES):
            record = current or self._found(instance_id)
            current = None
            now = self.clock()
            changed = operate(record, command, now)
            if changed is None:
                return record, False
            try:
                updated = self.store.update(self._with_events(record, changed, reason, now))
            except ConcurrencyConflict:
                continue
            self._history(updated, command.value, reason, actor=actor, source=record.phase, at=now)
            return self.flush(updated), True
        raise ServiceBusy(f"the record of {instance_id} kept changing; try again")

    def note_poisoned(self, instance_id: str, reason: str) -> MigrationRecord:
        """Work on this VM kept failing and went to the poison queue: the record and timeline say so
        (the fleet pass still comes by; an operator reads why)."""
        return self._amend(instance_id, "work_poisoned", reason, actor="queue", change="work_poisoned_at")[0]

    def _amend(
        self,
        instance_id: str,
        event: str,
        reason: str,
        *,
        actor: str,
        change: Literal["cutover_approved_at", "work_poisoned_at"],
        check: Callable[[MigrationRecord], object] | None = None,
        once: bool = False,
        current: MigrationRecord | None = None,
    ) -> tuple[MigrationRecord, bool]:
        """Stamps one field with now (with `once`, only when it is not set yet), re-reading and trying
        again when a reconciler wrote in between; the phase does not move. Also: whether it wrote."""
        for _ in range(AMEND_TRIES):
            record = current or self._found(instance_id)
            current = None
            if check is not None:
                check(record)
            if once and getattr(record, change) is not None:
                return record, False
            now = self.clock()
            try:
                updated = self.store.update(record.evolve(**{change: now}))
            except ConcurrencyConflict:
                continue
            self._history(updated, event, reason, actor=actor, at=now, phase=None)
            return updated, True
        raise ServiceBusy(f"the record of {instance_id} kept changing; try again")

    def _found(self, instance_id: str) -> MigrationRecord:
        record = self.store.find(instance_id)
        if record is None:
            raise RecordNotFound("migration record", instance_id)
        return record

    # --- events and watermarks -------------------------------------------------------------------

    def receive_event(self, source: str, event_id: str, fingerprint: str) -> bool:
        """Remembers an event whose work is done: True the first time, False for a re-delivery; a
        replay (the same id, another payload) raises. Remember only after the work: an event
        remembered first and then lost to a crash or an outage would never be worked again."""
        return self.store.remember_event(source, event_id, fingerprint)

    def forget_stale_events(self) -> int:
        return self.store.forget_stale_events()

    def move_watermark(self, name: str, value: datetime, previous: Watermark | None) -> Watermark:
        return self.store.save_watermark(name, value, previous)

    # ---------------------------------------------------------------------------------------------

    def _history(
        self,
        record: MigrationRecord,
        event: str,
        reason: str,
        *,
        actor: str,
        source: Phase | None = None,
        job_id: str | None = None,
        at: datetime | None = None,
        phase: Phase | Literal["as written"] | None = "as written",
    ) -> None:
        """One line of the VM's timeline: `record` is as written, so its phase is where it went (an
        approval, which moves nothing, names no phase)."""
        self.store.append_history(
            HistoryEntry(
                instance_id=record.instance_id,
                at=at or self.clock(),
                event=to_token(event),
                from_phase=source,
                to_phase=record.phase if phase == "as written" else phase,
                reason=reason,
                actor=to_actor(actor),
                job_id=job_id,
                record_version=record.version,
            )
        )
