"""What a phase handler reads about one VM (`Ctx`), and the step helpers the handlers share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.core.actions import CLOCK_SKEW, JOB_SCENARIO, SSM_COMMANDS, Act, Decision
from shared.core.retry import WhenExhausted, rule
from shared.model.facts import Facts, JobFacts, Policy
from shared.model.phases import Phase
from shared.model.records import MigrationRecord

P = Phase


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
        """Is `act` in flight? An intent whose effect left something to track is; one that left
        nothing (a crash before the effect, or stopping and starting the source, which leave no job)
        is only inside its lease: after it, the handler looks at the world and issues it again. One an
        operator asked for is not in flight until the reconciler sends it."""
        pending = self.record.pending_action
        if pending is None or pending.action != act.value or not pending.issued:
            return False
        return pending.tracked or self.in_lease(pending.started_at)

    def in_lease(self, started_at: datetime) -> bool:
        return self.now - started_at < timedelta(seconds=self.policy.lease_seconds)


def go(phase: Phase, reason: str, action: Act | None = None, **kwargs: object) -> Decision:
    return Decision(phase, reason, (action,) if action else (), **kwargs)  # type: ignore[arg-type]


def job_backed(act: Act) -> bool:
    return act in JOB_SCENARIO or act in SSM_COMMANDS


def job_since(
    jobs: tuple[JobFacts, ...], scenario: str, since: datetime, settled: frozenset[str] = frozenset()
) -> JobFacts | None:
    """The newest job of `scenario` started since an intent, that no earlier attempt accounted for:
    identity (not settled before) decides, the clock only narrows."""
    matching = [
        j
        for j in jobs
        if j.scenario.lower() == scenario.lower()
        and j.job_id not in settled
        and j.start_time >= since - CLOCK_SKEW
    ]
    return max(matching, key=lambda j: j.start_time, default=None)


def job_failed(ctx: Ctx, key: str, what: str, *, then: Act | None = None) -> Decision:
    """A step's job failed: retry it after the rule's backoff, or fail the VM when tries run out."""
    job = ctx.facts.job
    error = (job.error_code or f"{key}-failed", job.error_message or f"{what} failed") if job else (key, what)
    retry, count = rule(key), ctx.attempts(key) + 1
    assert retry.when_exhausted is WhenExhausted.FAIL, f"{key}: a job's step fails the VM when out of tries"
    if retry.exhausted(count, ctx.policy):
        return go(
            P.FAILED,
            f"{what} failed {count} times: {error[1]}",
            then,
            error=error,
            attempt=key,
            failed_phase=ctx.phase,
        )
    return ctx.stay(
        f"{what} failed ({error[0]}); try {count + 1} of {retry.limit(ctx.policy)} after backoff",
        event="retry",
        error=error,
        attempt=key,
        retry_at=retry.retry_at(ctx.now, count, ctx.policy),
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
