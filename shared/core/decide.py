"""decide(record, facts, policy, now) -> Decision: the whole migration logic, with no I/O.

Level-triggered: each call looks at the record and what is true now, and says where the VM goes next
and which one side effect (if any) moves it there. The reconciler writes the intent before the effect
and the job id after it; when a crash lost the second write, `decide` finds the effect among the
item's recent jobs and adopts it instead of repeating it. Every ASR action is gated on the item's
allowed operations, as Microsoft's own at-scale scripts do.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from shared.core.actions import (
    CLOCK_SKEW,
    DRY_RUN_REFUSES,
    GATE,
    JOB_SCENARIO,
    SSM_COMMANDS,
    Act,
    Decision,
    owes_start,
)
from shared.core.context import Ctx, go, job_backed, job_since
from shared.core.lifecycle import (
    PAUSABLE_PHASES,
    PHASE_DEADLINES,
    TRANSITIONS,
    can_opt_out,
    check_transition,
    deadline_exit,
)
from shared.core.phases import HANDLERS, restart_source
from shared.core.retry import WhenExhausted, refusal_rule
from shared.core.waiting import replication_of, wait_of, waiting_after, warning_of
from shared.errors import ErrorCode
from shared.model.facts import Facts, Policy
from shared.model.phases import Phase
from shared.model.records import (
    SETTLED_JOBS_KEPT,
    ErrorInfo,
    MigrationRecord,
    PendingAction,
    Replication,
    ReplicationWarning,
    to_token,
)

P = Phase


def decide(record: MigrationRecord, facts: Facts, policy: Policy, now: datetime) -> Decision:
    ctx = Ctx(record, facts, policy, now)
    decision = _gate(_decide(ctx), facts, dry_run=ctx.dry_run)
    check_transition(record.phase, decision.next_phase)
    job = facts.job
    if job is not None and job.warning and decision.next_phase != record.phase:
        # ASR said "Succeeded" with an error: a success, and its note belongs on the timeline.
        decision = replace(decision, reason=f"{decision.reason} (ASR warning {job.warning})")
    if job is not None and _ends_intent(record, decision):
        decision = replace(decision, settle_job=job.job_id)  # never adopted by a later attempt
    replication = replication_of(facts.item, record.replication, now)
    limits = (policy.stall_seconds, policy.rpo_warning_seconds)
    warning = warning_of(record, decision.next_phase, replication, now, limits)
    return _observed(record, decision, now, replication, warning)


def _observed(
    record: MigrationRecord,
    decision: Decision,
    now: datetime,
    replication: Replication | None,
    warning: ReplicationWarning | None,
) -> Decision:
    wait = wait_of(record, decision, now)
    return replace(decision, observed=True, wait=wait, replication=replication, warning=warning)


def _ends_intent(record: MigrationRecord, decision: Decision) -> bool:
    return record.pending_action is not None and (
        decision.next_phase != record.phase or decision.clear_pending or decision.action is not None
    )


def _gate(decision: Decision, facts: Facts, *, dry_run: bool) -> Decision:
    """The one place every action meets what allows it: ASR's allowed operations, and the dry run.

    An action ASR does not allow now is held back; the phase change stands, and the phase's handler
    issues the action on a later pass once the item allows it. Enable never goes to an existing item.
    A dry run never installs an agent or enables replication, whatever phase the VM is in.
    """
    act, item = decision.action, facts.item
    if act is None:
        return decision
    if dry_run and act in DRY_RUN_REFUSES:
        return replace(decision, actions=(), reason=f"{decision.reason}; dry run: {act} is not taken")
    if act in GATE and (item is None or not any(item.allows(op) for op in GATE[act])):
        wanted = " or ".join(GATE[act])
        return replace(
            decision, actions=(), reason=f"{decision.reason}; {act} waits for ASR to allow {wanted}"
        )
    if act == Act.ENABLE_REPLICATION and item is not None:
        return replace(decision, actions=(), reason=f"{decision.reason}; the item already exists")
    return decision


def _decide(ctx: Ctx) -> Decision:  # noqa: PLR0911 - the guards before the phase table, one return each
    record, facts = ctx.record, ctx.facts
    if record.phase.is_terminal:
        return ctx.stay(f"{record.phase}: nothing more to do")
    if record.phase in {P.FAILED, P.PAUSED} and (restart := restart_source(ctx)) is not None:
        return restart  # a rollback's start that may not have happened: a person waits on a running source
    if can_opt_out(record) and (facts.ec2 is None or not facts.ec2.opted_in):
        why = "the instance no longer exists" if facts.ec2 is None else "the opt-in tag was removed"
        if facts.item is None:
            return go(P.OPTED_OUT, f"{why}; nothing was replicating")
        return go(P.OPTING_OUT, f"{why}; disabling replication")
    if (paused := _pause_tag(ctx)) is not None:
        return paused
    if record.phase == P.FAILED:
        error = f": {record.last_error.code}" if record.last_error else ""
        steer = "retry or cancel" if can_opt_out(record) else "retry"
        failed = f"failed in {record.failed_phase or 'an earlier step'}{error}; {steer} through the API"
        if _started_again(ctx):
            return ctx.stay(f"the source runs again; {failed}", event="source_started", clear_pending=True)
        return ctx.stay(failed)
    if record.next_attempt_at and ctx.now < record.next_attempt_at:
        return ctx.stay(f"backing off until {record.next_attempt_at.isoformat()}")
    decision = _recover(ctx) or HANDLERS[record.phase](ctx)
    if decision.next_phase == record.phase and _past_deadline(ctx):
        return _deadline_exit(ctx)  # what is true now was looked at first: progress wins
    return decision


def _pause_tag(ctx: Ctx) -> Decision | None:
    """The pause tag holds a VM before its source is stopped, leaving its intent in flight; removing
    it resumes a VM the tag paused (one an operator paused waits for an operator)."""
    record, ec2 = ctx.record, ctx.facts.ec2
    if ec2 is None:
        return None
    tag = f"{ec2.tag_prefix}:pause"
    if record.phase in PAUSABLE_PHASES and ec2.paused:
        return go(P.PAUSED, f"the {tag} tag says true", event="pause", keep_pending=True)
    if record.phase != P.PAUSED:
        return None
    if not record.paused_by_tag:
        return ctx.stay("paused by an operator; resume through the API")
    if ec2.paused:
        return ctx.stay(f"paused by the {tag} tag; remove it to resume")
    resumed = record.paused_phase or P.OPTED_IN
    return go(resumed, f"the {tag} tag was removed", event="resume", keep_pending=True)


def _started_again(ctx: Ctx) -> bool:
    """A failed VM owed its source's start (a rollback) sees the instance running: nothing is owed."""
    ec2 = ctx.facts.ec2
    return owes_start(ctx.record) and ec2 is not None and ec2.described and ec2.state == "running"


def _past_deadline(ctx: Ctx) -> bool:
    """The phase's deadline counts from entering it, or from the end of a backoff inside it."""
    deadline = PHASE_DEADLINES.get(ctx.phase)
    if deadline is None:
        return False
    since = max(ctx.record.phase_entered_at, ctx.record.next_attempt_at or ctx.record.phase_entered_at)
    return ctx.now - since > deadline


def _deadline_exit(ctx: Ctx) -> Decision:
    """Past its deadline a phase leaves with the reason: failed, or blocked (checked again later),
    or, once the source was stopped for the cutover, failed with the source started again."""
    record, deadline = ctx.record, PHASE_DEADLINES[ctx.phase]
    last = record.pending_action.action if record.pending_action else "none"
    message = (
        f"No progress in {record.phase} for {deadline.total_seconds() / 3600:g} hours (last step: {last})."
    )
    error = (ErrorCode.PHASE_DEADLINE, message)
    reason = f"stuck in {record.phase} past its deadline"
    exit_to = deadline_exit(record.phase)
    if exit_to is P.BLOCKED:
        recheck = ctx.now + timedelta(seconds=ctx.policy.blocked_recheck_seconds)
        return go(P.BLOCKED, reason, error=error, retry_at=recheck, clear_pending=True)
    if record.phase is P.STOPPING_SOURCE:
        rollback = f"{reason}; starting the source again"
        return go(P.FAILED, rollback, Act.START_SOURCE, error=error, failed_phase=P.READY_FOR_CUTOVER)
    return go(exit_to, reason, error=error, failed_phase=record.phase)


def _recover(ctx: Ctx) -> Decision | None:
    """An intent without a result: adopt its effect if it happened, wait out the lease if it may still."""
    pending = ctx.record.pending_action
    if pending is None or pending.tracked:
        return None
    act = Act(pending.action)
    if not job_backed(act):
        return None  # stopping and starting the source: their handlers look at the instance
    if act in JOB_SCENARIO:
        settled = frozenset(ctx.record.settled_jobs)
        found = job_since(ctx.facts.item_jobs, JOB_SCENARIO[act], pending.started_at, settled)
        if found is not None:
            return ctx.stay(
                f"found the {act} already issued (job {found.job_id})",
                event="adopted",
                adopt_job_id=found.job_id,
            )
    elif (
        act in SSM_COMMANDS
        and ctx.facts.command
        and ctx.facts.command.sent_at >= pending.started_at - CLOCK_SKEW
    ):
        command = ctx.facts.command.command_id
        return ctx.stay(f"found the {act} already sent ({command})", event="adopted", adopt_job_id=command)
    if ctx.in_lease(pending.started_at):
        return ctx.stay(f"{act} was started at {pending.started_at.isoformat()}; waiting for its result")
    return None  # the lease ran out and no effect shows: the phase handler issues it again


def apply_decision(
    record: MigrationRecord, decision: Decision, now: datetime, attempt_id: str
) -> MigrationRecord:
    """The record after `decision`: what the reconciler writes (as a compare-and-swap) before the effect.

    A new action becomes the pending intent (its job id comes with the write after the effect); a phase
    change without one clears the intent; an adopted job completes the intent found after a crash.
    """
    check_transition(record.phase, decision.next_phase)
    moved = decision.next_phase != record.phase
    changes = _moved(record, decision, now) if moved else {}
    if decision.action is not None:
        changes["pending_action"] = PendingAction(
            action=decision.action.value, attempt_id=attempt_id, started_at=now
        )
    elif (moved and not decision.keep_pending) or decision.clear_pending:
        changes["pending_action"] = None
    elif decision.adopt_job_id and record.pending_action is not None:
        changes["pending_action"] = record.pending_action.evolve(job_id=decision.adopt_job_id)
    attempts = _attempts(record, decision)
    if attempts != record.attempts:
        changes["attempts"] = attempts
    if decision.error:
        code, message = decision.error
        retryable = (
            decision.next_phase != P.FAILED if decision.error_retryable is None else decision.error_retryable
        )
        changes["last_error"] = ErrorInfo(code=to_token(code), message=message, retryable=retryable, at=now)
    if decision.retry_at:
        changes["next_attempt_at"] = decision.retry_at
    changes |= _tested(record, decision, now)
    if decision.settle_job is not None and decision.settle_job not in record.settled_jobs:
        changes["settled_jobs"] = [*record.settled_jobs, decision.settle_job][-SETTLED_JOBS_KEPT:]
    if decision.assessment is not None:
        changes["assessment"] = decision.assessment
    if decision.target is not None:
        changes["target"] = decision.target
    if decision.observed:
        changes |= _seen(record, decision, now)
    return record.evolve(**changes) if changes else record


def _tested(record: MigrationRecord, decision: Decision, now: datetime) -> dict[str, object]:
    """The test migration's outcome, its test VM and that VM's checks, where the decision says."""
    changes: dict[str, object] = {}
    if decision.test_validated is not None:
        changes["test_validated_at"] = now if decision.test_validated else None
    if decision.test_vm is not None:  # a new test failover: its own VM ("" = its job named none)
        changes["test_vm"] = decision.test_vm or None
    if decision.test_checks is not None and list(decision.test_checks) != record.test_checks:
        changes["test_checks"] = list(decision.test_checks)
    return changes


def _seen(record: MigrationRecord, decision: Decision, now: datetime) -> dict[str, object]:
    """The waiting reason and replication health, where they changed (nothing else is written)."""
    changes: dict[str, object] = {}
    waiting = waiting_after(record, decision.wait, now)
    if waiting != record.waiting_for:
        changes["waiting_for"] = waiting
    if decision.replication != record.replication:
        changes["replication"] = decision.replication
    if decision.warning != record.warning:
        changes["warning"] = decision.warning
    return changes


def _moved(record: MigrationRecord, decision: Decision, now: datetime) -> dict[str, object]:
    """What a phase change sets: where a failed VM is retried into, where a paused one resumes."""
    changes: dict[str, object] = {
        "phase": decision.next_phase,
        "phase_entered_at": now,
        "next_attempt_at": None,
    }
    if decision.next_phase == P.PAUSED:  # decide pauses only for the pause tag
        changes |= {"paused_phase": record.phase, "paused_by_tag": True}
    elif record.phase == P.PAUSED:
        changes |= {"paused_phase": None, "paused_by_tag": False}
    if decision.next_phase == P.FAILED:
        changes["failed_phase"] = decision.failed_phase or record.phase
    return changes


def _attempts(record: MigrationRecord, decision: Decision) -> dict[str, int]:
    """The step counters after `decision`: some start again, one may count one more try."""
    attempts = {k: v for k, v in record.attempts.items() if k not in decision.reset_attempts}
    if decision.attempt:
        attempts[decision.attempt] = attempts.get(decision.attempt, 0) + 1
    return attempts


def decide_refusal(
    record: MigrationRecord, act: Act, refusal: tuple[str, str], policy: Policy, now: datetime
) -> Decision:
    """The cloud refused `act` as asked (a 4xx: nothing happened). Clear the intent and back off; at
    the retry limit fail the VM, where the lifecycle allows failing from its phase (elsewhere the
    phase's handler decides, e.g. preflight blocks a VM whose guest checks SSM keeps refusing)."""
    retry = refusal_rule(act)
    count = record.attempts.get(retry.key, 0) + 1
    fail = (
        retry.when_exhausted is WhenExhausted.FAIL
        and retry.exhausted(count, policy)
        and P.FAILED in TRANSITIONS[record.phase]
    )
    refused = Decision(
        P.FAILED if fail else record.phase,
        refusal[1],
        event="refused",
        error=refusal,
        attempt=retry.key,
        retry_at=retry.retry_at(now, count, policy),
        # The source's stop or start is still owed after a refusal: its intent stays, to be re-issued.
        clear_pending=act not in {Act.STOP_SOURCE, Act.START_SOURCE},
        failed_phase=record.phase if fail else None,
        error_retryable=False,
    )
    return _observed(record, refused, now, record.replication, record.warning)
