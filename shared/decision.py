"""The vocabulary of the decision core: the actions, their ASR gates, and what a decision says.

Also the per-VM context the phase handlers read, and the step helpers they share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.facts import Facts, JobFacts, Policy
from shared.lifecycle import Phase
from shared.models import Assessment, MigrationRecord, TargetSettings

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
class Decision:
    next_phase: Phase
    reason: str
    actions: tuple[Act, ...] = ()  # at most one: one intent, one effect, one result per write
    event: str = "transition"  # history: transition, waiting, retry, rolled_back, adopted, ...
    adopt_job_id: str | None = None  # the effect of the pending action was found: track this job
    error: tuple[str, str] | None = None  # (code, message) to record as the last error
    attempt: str | None = None  # which step's attempt counter to increase
    reset_attempts: tuple[str, ...] = ()  # counters that start again (the step succeeded)
    retry_at: datetime | None = None
    clear_pending: bool = False
    test_validated: bool | None = None  # True: set test_validated_at; False: clear it
    failed_phase: Phase | None = None  # with FAILED: where a retry resumes
    assessment: Assessment | None = None  # a new assessment to store
    target: TargetSettings | None = None  # the target settings it chose

    def __post_init__(self) -> None:
        if len(self.actions) > 1:
            raise ValueError("a decision carries at most one side effect")

    @property
    def action(self) -> Act | None:
        return self.actions[0] if self.actions else None


@dataclass(frozen=True)
class Ctx:
    record: MigrationRecord
    facts: Facts
    policy: Policy
    now: datetime

    @property
    def phase(self) -> Phase:
        return self.record.phase

    def stay(self, reason: str, **kwargs: object) -> Decision:
        return Decision(self.phase, reason, event=str(kwargs.pop("event", "waiting")), **kwargs)  # type: ignore[arg-type]

    @property
    def dry_run(self) -> bool:
        return self.facts.ec2 is not None and self.facts.ec2.dry_run(self.policy.dry_run)

    def attempts(self, key: str) -> int:
        return self.record.attempts.get(key, 0)

    def pending(self, act: Act) -> bool:
        """Is `act` in flight? A job-backed intent without its job id, still here after `_recover`, has
        outlived its lease with no effect found: it is not in flight, and the handler issues it again."""
        pending = self.record.pending_action
        if pending is None or pending.action != act.value:
            return False
        return pending.job_id is not None or not job_backed(act)


def go(phase: Phase, reason: str, action: Act | None = None, **kwargs: object) -> Decision:
    return Decision(phase, reason, (action,) if action else (), **kwargs)  # type: ignore[arg-type]


def job_backed(act: Act) -> bool:
    return act in JOB_SCENARIO or act in SSM_COMMANDS


def job_since(jobs: tuple[JobFacts, ...], scenario: str, since: datetime) -> JobFacts | None:
    matching = [
        j for j in jobs if j.scenario.lower() == scenario.lower() and j.start_time >= since - CLOCK_SKEW
    ]
    return max(matching, key=lambda j: j.start_time, default=None)


def job_failed(ctx: Ctx, key: str, what: str, *, then: Act | None = None) -> Decision:
    """A step's job failed: retry it after a growing backoff, or fail the VM at the limit."""
    job = ctx.facts.job
    error = (job.error_code or f"{key}-failed", job.error_message or f"{what} failed") if job else (key, what)
    count = ctx.attempts(key) + 1
    if count >= ctx.policy.retry_limit:
        return go(
            P.FAILED,
            f"{what} failed {count} times: {error[1]}",
            then,
            error=error,
            attempt=key,
            failed_phase=ctx.phase,
        )
    retry_at = ctx.now + timedelta(seconds=ctx.policy.backoff_seconds * 2 ** (count - 1))
    return ctx.stay(
        f"{what} failed ({error[0]}); try {count + 1} of {ctx.policy.retry_limit} after backoff",
        event="retry",
        error=error,
        attempt=key,
        retry_at=retry_at,
        clear_pending=then is None,
        actions=(then,) if then else (),
    )


def issue(ctx: Ctx, act: Act, reason: str) -> Decision:
    """Issue `act` now; `_gate` holds it back if ASR does not allow it yet."""
    return ctx.stay(reason, event="action", actions=(act,))


def step(ctx: Ctx, act: Act, key: str, what: str, observed_done: bool) -> Decision | None:
    """The common shape of a phase that waits on one action: None once it is done."""
    if observed_done:
        return None
    if not ctx.pending(act):
        return issue(ctx, act, f"{what}: issuing {act}")
    job = ctx.facts.job
    if job is None or not job.finished:
        return ctx.stay(f"{what}: {job.state if job else 'waiting for the job'}")
    if job.succeeded:
        return None
    return job_failed(ctx, key, what)
