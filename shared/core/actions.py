"""The vocabulary of the decision core: the actions, their ASR gates, and what a decision says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.model.phases import Phase
from shared.model.records import (
    Assessment,
    MigrationRecord,
    Replication,
    ReplicationWarning,
    TargetSettings,
    ValidationCheck,
    WaitKind,
)

P = Phase


class Act(StrEnum):
    GUEST_CHECK = "guest_check"
    INSTALL_AGENT = "install_agent"
    ENABLE_REPLICATION = "enable_replication"
    TEST_FAILOVER = "test_failover"
    TEST_FAILOVER_CLEANUP = "test_failover_cleanup"
    STOP_SOURCE = "stop_source"
    START_SOURCE = "start_source"
    UNPLANNED_FAILOVER = "unplanned_failover"
    COMMIT_FAILOVER = "commit_failover"
    COMPLETE_MIGRATION = "complete_migration"
    DISABLE_REPLICATION = "disable_replication"
    SMOKE_TEST = "smoke_test"  # a Run Command in the test VM


# The ASR job scenario that proves an action happened, to find it again after a crash.
JOB_SCENARIO: dict[Act, str] = {
    Act.ENABLE_REPLICATION: "EnableDr",
    Act.TEST_FAILOVER: "TestFailover",
    Act.TEST_FAILOVER_CLEANUP: "TestFailoverCleanup",
    Act.UNPLANNED_FAILOVER: "UnplannedFailover",
    Act.COMMIT_FAILOVER: "CommitFailover",
    Act.COMPLETE_MIGRATION: "DisableDr",
    Act.DISABLE_REPLICATION: "DisableDr",
}
# The allowed operation each ASR action needs (any one of them).
GATE: dict[Act, tuple[str, ...]] = {
    Act.TEST_FAILOVER: ("TestFailover",),
    Act.TEST_FAILOVER_CLEANUP: ("TestFailoverCleanup",),
    Act.UNPLANNED_FAILOVER: ("UnplannedFailover",),
    Act.COMMIT_FAILOVER: ("Commit",),
    Act.COMPLETE_MIGRATION: ("CompleteMigration", "DisableProtection"),
    Act.DISABLE_REPLICATION: ("DisableProtection",),
}
# Actions that are SSM Run Commands: their command id stands in for a job id.
SSM_COMMANDS = frozenset({Act.GUEST_CHECK, Act.INSTALL_AGENT})
# Actions a dry run never takes.
DRY_RUN_REFUSES = frozenset({Act.INSTALL_AGENT, Act.ENABLE_REPLICATION})
CLOCK_SKEW = timedelta(minutes=2)  # a job may be stamped a little before our intent was


@dataclass(frozen=True)
class Effect:
    """What an issued action left to track: an SSM command id (`job_id`), an ASR operation id, or,
    when ASR answered 200 or 204, nothing to wait for (`done`). Stopping or starting the source
    leaves nothing: the instance's state is the truth."""

    job_id: str | None = None
    operation_id: str | None = None
    done: bool = False

    @property
    def tracked(self) -> bool:
        return self.job_id is not None or self.operation_id is not None or self.done


@dataclass(frozen=True)
class Wait:
    kind: WaitKind
    message: str
    until: datetime | None = None


def owes_start(record: MigrationRecord) -> bool:
    """A rollback's start of the EC2 source is owed: the app's own, or one an operator asked for."""
    pending = record.pending_action
    return pending is not None and pending.action == Act.START_SOURCE


@dataclass(frozen=True)
class Decision:
    next_phase: Phase
    reason: str
    actions: tuple[Act, ...] = ()  # at most one: one intent, one effect, one result per write
    event: str = "transition"  # history: transition, waiting, retry, rolled_back, adopted, ...
    adopt_job_id: str | None = None  # the effect of the pending action was found: track this job
    settle_job: str | None = None  # the ended intent's job: no later attempt may adopt it
    error: tuple[str, str] | None = None  # (code, message) to record as the last error
    error_retryable: bool | None = None  # None: retryable unless the VM fails
    attempt: str | None = None  # which step's attempt counter to increase
    reset_attempts: tuple[str, ...] = ()  # counters that start again (the step succeeded)
    retry_at: datetime | None = None
    clear_pending: bool = False
    keep_pending: bool = False  # a move that leaves the intent in flight (pausing and resuming)
    waiting: WaitKind | None = None  # a handler's word on what the VM waits for (else worked out)
    wait_until: datetime | None = None  # when that wait ends, if known (a window opens, a date)
    # Filled in by `decide` (observed): what the VM waits for after this decision, and its item's
    # replication as seen; a decision not observed leaves both on the record as they were.
    observed: bool = False
    wait: Wait | None = None
    replication: Replication | None = None
    warning: ReplicationWarning | None = None
    test_validated: bool | None = None  # True: set test_validated_at; False: clear it
    test_checks: tuple[ValidationCheck, ...] | None = None  # the test VM's checks to keep
    test_vm: str | None = None  # entering validation: the test VM its job names ("" = none named)
    failed_phase: Phase | None = None  # with FAILED: where a retry resumes
    assessment: Assessment | None = None  # a new assessment to store
    target: TargetSettings | None = None  # the target settings it chose

    def __post_init__(self) -> None:
        if len(self.actions) > 1:
            raise ValueError("a decision carries at most one side effect")

    @property
    def action(self) -> Act | None:
        return self.actions[0] if self.actions else None
