"""Typed records the app keeps: one migration record per EC2 instance, and its history.

Validation happens here, at the edge of the store, so a bad record is refused before any write.
Models are frozen: change one with `evolve`, which validates the result (pydantic's `model_copy`
does not).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    StringConstraints,
)

from shared.model.ids import AccountId, InstanceId, Region, Wave
from shared.model.phases import Phase

TRUNCATION_MARKER = "…[truncated {dropped} chars]"
MAX_ERROR_CHARS = 4_000
MAX_REASON_CHARS = 2_000
MAX_CHECK_CHARS = 350
SETTLED_JOBS_KEPT = 20


def truncate_text(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, saying how much was dropped, so stored texts stay bounded."""
    if len(text) <= limit:
        return text
    marker = TRUNCATION_MARKER.format(dropped=len(text))
    if len(marker) >= limit:  # no room to say what was cut
        return text[:limit]
    # The marker eats into the budget; count what is really dropped once the marker is in place.
    keep = limit - len(marker)
    return text[:keep] + TRUNCATION_MARKER.format(dropped=len(text) - keep)


def to_token(text: str, keep: str = "._:-") -> str:
    """Any code (an ARM error code, an event name) as a record token: letters, digits and `keep` only."""
    cleaned = "".join(ch if ch.isascii() and (ch.isalnum() or ch in keep) else "-" for ch in text)
    cleaned = cleaned.strip("-") or "error"
    return cleaned[:128] if cleaned[0].isalnum() else f"e{cleaned}"[:128]


def to_actor(text: str) -> str:
    """Who did it, as the timeline keeps it: a principal's name keeps its @."""
    return to_token(text, keep="._:@-")


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _truncator(limit: int) -> AfterValidator:
    return AfterValidator(lambda text: truncate_text(text, limit))


UtcTime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
Token = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")]
# Who did it: the app's own part, a key's role ("key:operator") or a signed-in principal (a UPN).
Actor = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")]
ArmText = Annotated[str, StringConstraints(min_length=1, max_length=1_024)]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def evolve(self, **changes: Any) -> Self:
        """A validated copy with `changes` applied (fields excluded from dumps, like etag, are kept)."""
        data = self.model_dump(mode="python")
        data.update(changes)
        copy = type(self).model_validate(data)
        for name, field in type(self).model_fields.items():
            if field.exclude and name not in changes:
                object.__setattr__(copy, name, getattr(self, name))
        return copy


class PendingAction(Model):
    """Intent recorded before a side effect, so a crash between effect and write can be recognised;
    then what the effect left to track: an SSM command id (`job_id`), an ASR operation id, an ASR job
    id found for it (`job_id`), or, when the service answered 200 or 204, the time it was done."""

    action: Token
    attempt_id: Token
    started_at: UtcTime
    job_id: ArmText | None = None
    operation_id: ArmText | None = None
    done_at: UtcTime | None = None
    # False: asked for by an operator (a rollback's start) and not sent yet; nothing is in flight,
    # so the next pass sends it at once instead of waiting out a lease.
    issued: bool = True

    @property
    def tracked(self) -> bool:
        """Did the effect leave something behind (so it happened)?"""
        return self.job_id is not None or self.operation_id is not None or self.done_at is not None


class ErrorInfo(Model):
    code: Token
    message: Annotated[str, _truncator(MAX_ERROR_CHARS)]
    retryable: bool
    at: UtcTime


class TargetSettings(Model):
    """Where and how the VM lands in Azure; empty fields fall back to configured defaults."""

    vm_name: ArmText | None = None
    vm_size: ArmText | None = None
    resource_group_id: ArmText | None = None
    network_id: ArmText | None = None
    subnet_name: ArmText | None = None
    test_network_id: ArmText | None = None
    test_subnet_name: ArmText | None = None
    disk_type: ArmText | None = None
    license_type: ArmText | None = None


class CheckResult(Model):
    code: Token
    severity: Literal["blocker", "warning", "note"]
    message: Annotated[str, _truncator(MAX_CHECK_CHARS)]
    fix: Annotated[str, _truncator(MAX_CHECK_CHARS)]


class DiskPlan(Model):
    device: Annotated[str, StringConstraints(max_length=64)]
    size_gb: NonNegativeInt
    source_type: Annotated[str, StringConstraints(max_length=32)]
    iops: NonNegativeInt = 0
    disk_type: Annotated[str, StringConstraints(max_length=32)]
    volume_id: Annotated[str, StringConstraints(max_length=32)] = ""


class Assessment(Model):
    """What the app found about one VM before touching it, and the target settings it chose."""

    assessed_at: UtcTime
    guest_checked: bool  # False: only EC2's description was available (the VM was blocked before)
    os_name: Annotated[str, _truncator(200)] = ""
    checks: Annotated[list[CheckResult], Field(max_length=25)] = Field(default_factory=list)
    vm_name: ArmText | None = None
    vm_size: ArmText | None = None
    sizing_basis: Literal["performance", "as-on-premises", "tag", "none"] = "none"
    sizing_reason: Annotated[str, _truncator(MAX_CHECK_CHARS)] = ""
    like_for_like_size: ArmText | None = None
    disk_type: ArmText | None = None
    disks: Annotated[list[DiskPlan], Field(max_length=66)] = Field(default_factory=list)
    bios_uuid: Annotated[str, StringConstraints(max_length=64)] = ""
    dry_run: bool = False

    @property
    def blocker_codes(self) -> list[str]:
        return [c.code for c in self.checks if c.severity == "blocker"]


# Why a VM is where it is. approval, window: a person or the calendar releases the cutover;
# capacity: replication slots; replication: initial replication runs; job: a cloud job or command
# runs; source: the EC2 source is being stopped or started; backoff: a step waits to be tried again;
# discovery: the appliance has not seen the agent yet; operator: paused; person: failed, blocked or
# assessed, a person acts; cloud: waiting for Site Recovery to allow the next step.
WaitKind = Literal[
    "approval", "window", "capacity", "replication", "job", "source", "backoff", "discovery",
    "operator", "person", "cloud",
]  # fmt: skip


class Waiting(Model):
    """What a VM waits for, since when (this kind of wait began), and until when if that is known."""

    kind: WaitKind
    message: Annotated[str, _truncator(MAX_REASON_CHARS)]
    since: UtcTime
    until: UtcTime | None = None


class ReplicationWarning(Model):
    """Replication that needs a look though nothing failed: stalled, or an RPO above the limit."""

    code: Literal["ReplicationStalled", "RpoHigh"]
    message: Annotated[str, _truncator(MAX_CHECK_CHARS)]
    fix: Annotated[str, _truncator(MAX_REASON_CHARS)]
    since: UtcTime


class ValidationCheck(Model):
    """One check of the test VM (provisioned, running, agent, boot log, smoke command): passed, failed,
    or not settled yet (None), with what was seen."""

    name: Annotated[str, _truncator(32)]
    passed: bool | None = None
    detail: Annotated[str, _truncator(MAX_CHECK_CHARS)] = ""


class HealthIssue(Model):
    """One of the protected item's health errors, as Site Recovery words it, with its fix."""

    code: Annotated[str, _truncator(64)]
    message: Annotated[str, _truncator(MAX_CHECK_CHARS)]
    fix: Annotated[str, _truncator(MAX_CHECK_CHARS)] = ""


class Replication(Model):
    """The protected item's replication, as last recorded. Written when what a person reads
    changes: progress, health or issues; the RPO when it moves by a quarter (at least a minute);
    the last recovery point when it moves by a quarter of an hour (it moves every few minutes)."""

    progress_percent: Annotated[int, Field(ge=0, le=100)] | None = None
    progress_since: UtcTime | None = None  # when the progress last moved (a stall is measured from it)
    rpo_seconds: NonNegativeInt | None = None
    last_recovery_point: UtcTime | None = None
    health: Annotated[str, _truncator(32)] = ""
    issues: Annotated[list[HealthIssue], Field(max_length=10)] = Field(default_factory=list)


class OutboxEvent(Model):
    """A transition event written with the transition itself (the outbox), published after the
    write and removed once the topic took it: a crash in between leaves it for the next pass. The id
    names the record version that made it, so a consumer dedupes a second delivery by it."""

    id: Annotated[str, StringConstraints(max_length=160)]
    type: Annotated[str, StringConstraints(max_length=160)]
    time: UtcTime
    data: dict[str, Any]


OUTBOX_KEPT = 20  # events waiting for the topic on one record (the oldest go first when it is down)


class MigrationRecord(Model):
    instance_id: InstanceId
    account_id: AccountId
    region: Region
    wave: Wave | None = None
    phase: Phase
    phase_entered_at: UtcTime
    attempts: dict[Token, NonNegativeInt] = Field(default_factory=dict)
    pending_action: PendingAction | None = None
    asr_item_name: ArmText | None = None
    asr_item_id: ArmText | None = None
    asr_job_id: ArmText | None = None
    target: TargetSettings = Field(default_factory=TargetSettings)
    last_error: ErrorInfo | None = None
    next_attempt_at: UtcTime | None = None
    test_validated_at: UtcTime | None = None  # the last test migration passed validation
    # The VM the last test failover created, as its job named it (a name or an ARM id; None: the job
    # named none). Kept so validation reads the same VM when the job is no longer listed.
    test_vm: ArmText | None = None
    # The last test VM validation's checks, as last seen (kept after it ends, for people to read).
    test_checks: Annotated[list[ValidationCheck], Field(max_length=8)] = Field(default_factory=list)
    cutover_approved_at: UtcTime | None = None  # approval given through the API (the tag is the other way)
    work_poisoned_at: UtcTime | None = None  # work on this VM last went to the poison queue (timeline: why)
    failed_phase: Phase | None = None  # where a failed VM resumes when a person retries it
    paused_phase: Phase | None = None  # where a paused VM resumes
    paused_by_tag: bool = False  # paused by the pause tag (its removal resumes), not by an operator
    waiting_for: Waiting | None = None  # None: nothing to wait for (done, out, or not decided yet)
    replication: Replication | None = None  # while its item exists
    warning: ReplicationWarning | None = None  # a stall or a high RPO (its fix says what to look at)
    outbox: Annotated[list[OutboxEvent], Field(max_length=OUTBOX_KEPT)] = Field(default_factory=list)
    # Jobs earlier attempts accounted for (newest last): crash recovery never adopts one of them.
    settled_jobs: Annotated[list[ArmText], Field(max_length=SETTLED_JOBS_KEPT)] = Field(default_factory=list)
    assessment: Assessment | None = None
    created_at: UtcTime
    updated_at: UtcTime
    version: NonNegativeInt = 0
    # The Table entity's ETag as last read; the store's compare-and-swap key. Never stored as data.
    etag: str | None = Field(default=None, exclude=True)

    @classmethod
    def opted_in(
        cls, *, instance_id: str, account_id: str, region: str, now: datetime, wave: str | None = None
    ) -> MigrationRecord:
        return cls(
            instance_id=instance_id,
            account_id=account_id,
            region=region,
            wave=wave,
            phase=Phase.OPTED_IN,
            phase_entered_at=now,
            created_at=now,
            updated_at=now,
        )


class HistoryEntry(Model):
    """One line of a VM's timeline: what changed, why, who did it, and the ASR job behind it."""

    instance_id: InstanceId
    at: UtcTime
    event: Token
    from_phase: Phase | None = None
    to_phase: Phase | None = None
    reason: Annotated[str, _truncator(MAX_REASON_CHARS)] = ""
    actor: Actor
    job_id: ArmText | None = None
    record_version: NonNegativeInt | None = None
