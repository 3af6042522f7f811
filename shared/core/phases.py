"""One handler per lifecycle phase: given what is true now, where the VM goes and what it does next.

Each returns a `Decision`; `decide` applies the allowed-operations gate and the transition check.
The ASR strings compared here, and their public sources, are in docs/asr-strings.md; where a state
string is known from another provider only, the job's outcome or the allowed operations decide too.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.assessment.assess import assess, instance_blockers, target_from
from shared.assessment.checks import Finding, as_result, unreachable_guest
from shared.assessment.guest import GuestFacts, parse_guest_output
from shared.core.actions import Act, Decision
from shared.core.context import Ctx, go, issue, job_failed, step
from shared.core.retry import WhenExhausted, rule
from shared.core.validation import FIXES, Verdict, smoke_check, summary, vm_checks
from shared.errors import ErrorCode, InvalidInput
from shared.model.phases import Phase
from shared.model.records import ValidationCheck

P = Phase
# Recorded InMageRcm states: initial replication, then the wait for the first recovery point.
REPLICATING_STATES = ("InitialReplicationInProgress", "InitialReplicationRecoveryCompletionPending")
# A failed enable: EnablingFailed was recorded; EnableProtectionFailed is unconfirmed (kept for safety).
ENABLE_FAILED_STATES = ("EnablingFailed", "EnableProtectionFailed")
GUEST_CHECK_COUNTERS = ("guest_check", "guest_check_refused")  # start again once a VM is assessed


def _opted_in(ctx: Ctx) -> Decision:
    return go(P.PREFLIGHT, "opted in by tag; assessing the instance")


def _preflight(ctx: Ctx) -> Decision:
    """Checks from EC2's description first; then guest checks through SSM; then the full assessment."""
    facts = ctx.facts
    assert facts.ec2 is not None
    if instance_blockers(facts.ec2):
        return _assessed(ctx, None)
    refused = ctx.attempts("guest_check_refused")
    refusals = rule("guest_check_refused")
    assert refusals.when_exhausted is WhenExhausted.BLOCK, "guest checks SSM keeps refusing block the VM"
    if refusals.exhausted(refused, ctx.policy) and not ctx.pending(Act.GUEST_CHECK):
        why = ctx.record.last_error.message if ctx.record.last_error else "SSM refused the command"
        return _assessed(ctx, None, unreachable_guest(f"SSM refused it {refused} times ({why})"))
    if not ctx.pending(Act.GUEST_CHECK):
        return issue(ctx, Act.GUEST_CHECK, "checking the guest through SSM")
    command = facts.command
    if command is None or not (command.succeeded or command.failed):
        return ctx.stay(f"guest checks: {command.status if command else 'waiting for the command'}")
    try:
        guest = parse_guest_output(command.output) if command.succeeded else None
        problem = "" if guest else f"the SSM command {command.command_id} ended {command.status}"
    except InvalidInput as error:
        guest, problem = None, f"the output of {command.command_id} is unreadable: {error}"
    if guest is not None:
        return _assessed(ctx, guest)
    retry, count = rule("guest_check"), ctx.attempts("guest_check") + 1
    assert retry.when_exhausted is WhenExhausted.BLOCK, "guest checks out of tries block the VM"
    if retry.exhausted(count, ctx.policy):
        return _assessed(ctx, None, unreachable_guest(problem))
    return ctx.stay(
        f"guest checks failed ({problem}); retrying after backoff",
        event="retry",
        error=(ErrorCode.GUEST_CHECK_FAILED, problem),
        attempt="guest_check",
        retry_at=retry.retry_at(ctx.now, count, ctx.policy),
        clear_pending=True,
    )


def _assessed(ctx: Ctx, guest: GuestFacts | None, extra: Finding | None = None) -> Decision:
    """Stores the assessment and its target settings, and routes: blocked, held (dry run) or on."""
    facts = ctx.facts
    assert facts.ec2 is not None
    assessment = assess(
        facts.ec2,
        guest,
        instance_type=facts.instance_type,
        utilisation=facts.utilisation,
        policy=ctx.policy,
        now=ctx.now,
        vm_name=facts.vm_name,
        name_taken_by=facts.vm_name_taken_by,
    )
    if extra is not None:
        assessment = assessment.evolve(checks=[as_result(extra), *assessment.checks])
    target = target_from(assessment, facts.ec2, ctx.record.target)
    codes = assessment.blocker_codes

    def stored(phase: Phase, reason: str, action: Act | None = None, **more: object) -> Decision:
        return go(
            phase,
            reason,
            action,
            assessment=assessment,
            target=target,
            reset_attempts=GUEST_CHECK_COUNTERS,
            **more,
        )

    if codes:
        detail = " ".join(f"{c.message} Fix: {c.fix}" for c in assessment.checks if c.severity == "blocker")
        recheck = ctx.now + timedelta(seconds=ctx.policy.blocked_recheck_seconds) if guest or extra else None
        reason = f"blocked by assessment: {', '.join(codes)}"
        return stored(P.BLOCKED, reason, error=(".".join(codes), detail), retry_at=recheck)
    size = f"{assessment.vm_size or 'chosen by ASR'} ({assessment.sizing_basis})"
    others = ", ".join(c.code for c in assessment.checks) or "none"
    summary = f"assessed: size {size}, findings: {others}"
    if ctx.dry_run:
        return stored(P.ASSESSED, f"{summary}; dry run: nothing is installed")
    if facts.discovered_machine_id:
        return stored(P.AGENT_INSTALL, f"{summary}; the agent is already registered")
    return stored(P.AGENT_INSTALL, summary, Act.INSTALL_AGENT)


def _dry_run_held(ctx: Ctx) -> Decision:
    if ctx.dry_run:
        return ctx.stay("dry run: assessed only; remove the dry-run tag or setting to migrate")
    return go(P.PREFLIGHT, "the dry run ended; assessing afresh before the agent install")


def _blocked(ctx: Ctx) -> Decision:
    """Blocks from EC2's description clear as soon as they are fixed; guest blocks on the recheck."""
    assert ctx.facts.ec2 is not None
    if instance_blockers(ctx.facts.ec2):
        return ctx.stay("still blocked: fix the findings and the VM goes on by itself")
    return go(P.PREFLIGHT, "assessing again")


def _agent_install(ctx: Ctx) -> Decision:
    facts = ctx.facts
    if facts.discovered_machine_id:
        return go(P.AWAITING_DISCOVERY, "the agent is registered with the appliance")
    if not ctx.pending(Act.INSTALL_AGENT):
        if ctx.dry_run:
            return ctx.stay("dry run: the agent is not installed")
        return ctx.stay(
            "installing the Mobility agent through SSM", event="action", actions=(Act.INSTALL_AGENT,)
        )
    command = facts.command
    if command is None or not (command.succeeded or command.failed):
        return ctx.stay(f"agent install: {command.status if command else 'waiting for the command'}")
    if command.succeeded:
        return go(P.AWAITING_DISCOVERY, "agent installed; waiting for the appliance to see the machine")
    retry, count = rule("agent_install"), ctx.attempts("agent_install") + 1
    assert retry.when_exhausted is WhenExhausted.FAIL, "an agent install out of tries fails the VM"
    error = (ErrorCode.AGENT_INSTALL_FAILED, f"the SSM command {command.command_id} ended {command.status}")
    if retry.exhausted(count, ctx.policy):
        return go(
            P.FAILED,
            f"agent install failed {count} times",
            error=error,
            attempt="agent_install",
            failed_phase=ctx.phase,
        )
    return ctx.stay(
        "agent install failed; retrying after backoff",
        event="retry",
        error=error,
        attempt="agent_install",
        retry_at=retry.retry_at(ctx.now, count, ctx.policy),
        clear_pending=True,
    )


def _awaiting_discovery(ctx: Ctx) -> Decision:
    if ctx.facts.discovered_machine_id:
        return go(P.QUEUED, "the appliance discovered the machine; queued for replication")
    waited = ctx.now - ctx.record.phase_entered_at
    if waited > timedelta(seconds=ctx.policy.discovery_timeout_seconds):
        advice = (
            "The agent was installed but the appliance does not see the machine. Check that the "
            "Mobility agent is registered to the appliance and that the instance reaches the appliance "
            "on TCP 443 and 9443 (security group rules)."
        )
        return go(
            P.FAILED,
            "not discovered in time",
            error=(ErrorCode.NOT_DISCOVERED, advice),
            failed_phase=ctx.phase,
        )
    return ctx.stay("waiting for the appliance to discover the machine")


def _queued(ctx: Ctx) -> Decision:
    if ctx.dry_run:
        return ctx.stay("dry run: replication is not enabled")
    if not ctx.facts.admission:
        return ctx.stay("waiting for a replication slot (capacity)")
    if ctx.facts.vault_setup:
        # Its own event, so the timeline says why the first enable waited (each step once).
        reason = f"waiting for the vault's set-up: {ctx.facts.vault_setup}"
        return ctx.stay(reason, event="vault_setup", waiting="cloud")
    disks = f", {ctx.facts.disk_note}" if ctx.facts.disk_note else ""
    return go(P.ENABLING, f"admitted; enabling replication{disks}", Act.ENABLE_REPLICATION)


def _enabling(ctx: Ctx) -> Decision:
    """Enable replication; a failed enable leaves an item that must be removed before the next try."""
    item, job = ctx.facts.item, ctx.facts.job
    enabling, removing = ctx.pending(Act.ENABLE_REPLICATION), ctx.pending(Act.DISABLE_REPLICATION)
    failed = job is not None and job.finished and not job.succeeded
    # The item saying its enable failed is as good as the job: the job may not be listed (yet).
    failed = failed or (enabling and item is not None and item.state_is(*ENABLE_FAILED_STATES))
    if item is not None and item.state_is("Protected"):
        return go(P.PROTECTED, "replication enabled; already protected")
    if item is not None and (item.state_is(*REPLICATING_STATES) or (enabling and job and job.succeeded)):
        return go(P.INITIAL_REPLICATION, "replication enabled; initial replication running")
    if removing:
        if item is None:
            return issue(ctx, Act.ENABLE_REPLICATION, "the failed item is gone; enabling again")
        if failed:
            return job_failed(ctx, "enable_replication", "removing the item whose enable failed")
        return ctx.stay("removing the item whose enable failed")
    if enabling:
        if failed:
            cleanup = (
                Act.DISABLE_REPLICATION if item is not None and item.allows("DisableProtection") else None
            )
            return job_failed(ctx, "enable_replication", "enabling replication", then=cleanup)
        return ctx.stay(f"enabling replication: {job.state if job else 'waiting for the job'}")
    if item is None:
        return issue(ctx, Act.ENABLE_REPLICATION, "enabling replication")
    if item.state_is(*ENABLE_FAILED_STATES):
        return issue(ctx, Act.DISABLE_REPLICATION, "removing the item whose enable failed")
    return ctx.stay(f"the item exists in state {item.protection_state}; waiting")


def _item_missing(ctx: Ctx, reason: str) -> Decision:
    """The protected item went away under us: nothing to replicate, a person must look."""
    return go(
        P.FAILED,
        reason,
        error=(ErrorCode.ITEM_MISSING, "The replicated item was removed outside the app."),
        failed_phase=ctx.phase,
    )


def _initial_replication(ctx: Ctx) -> Decision:
    item = ctx.facts.item
    if item is None:
        return _item_missing(ctx, "the protected item disappeared during initial replication")
    if item.state_is("Protected") and item.allows("TestFailover"):
        return go(P.PROTECTED, "initial replication complete; delta replication running")
    if item.state_is("InitialReplicationRecoveryCompletionPending"):
        return ctx.stay("initial replication done; waiting for the first recovery point (about 30 min)")
    return ctx.stay(f"initial replication {item.progress_percent}%")


def _protected(ctx: Ctx) -> Decision:
    item = ctx.facts.item
    if item is None:
        return _item_missing(ctx, "the protected item disappeared")
    restart = restart_source(ctx)
    if restart is not None:
        return restart
    if item.replication_health.lower() == "critical":
        return ctx.stay("replication health is Critical; waiting before a test migration")
    if not item.allows("TestFailover"):
        return ctx.stay(f"waiting for ASR to allow TestFailover ({item.protection_state})")
    return go(
        P.TEST_MIGRATION, "protected; running a test migration", Act.TEST_FAILOVER, test_validated=False
    )


def _test_migration(ctx: Ctx) -> Decision:
    job = ctx.facts.job
    # Done only when the item agrees: a succeeded job seen with an older item must not be judged a
    # failed test (it would run twice).
    if _test_vm_up(ctx):
        named = job.test_vm_name if job is not None else ""
        return go(P.TEST_VALIDATION, "test migration finished; validating", test_vm=named)
    if ctx.pending(Act.TEST_FAILOVER) and job is not None and job.finished and not job.succeeded:
        error = (
            job.error_code or ErrorCode.TEST_FAILOVER_FAILED,
            job.error_message or "test failover failed",
        )
        return go(
            P.TEST_CLEANUP,
            "test migration failed; cleaning up before a retry",
            Act.TEST_FAILOVER_CLEANUP,
            error=error,
            attempt="test_migration",
            event="retry",
        )
    if not ctx.pending(Act.TEST_FAILOVER):
        return issue(ctx, Act.TEST_FAILOVER, "running a test migration")
    return ctx.stay(f"test migration: {job.state if job else 'waiting for the job'}")


def _test_vm_up(ctx: Ctx) -> bool:
    """The item says a test failover is up: its state (WaitingForCompletion), or its job succeeded and
    the item allows the cleanup (both recorded, on another provider than InMageRcm)."""
    item, job = ctx.facts.item, ctx.facts.job
    if item is None:
        return False
    succeeded = ctx.pending(Act.TEST_FAILOVER) and job is not None and job.succeeded
    waiting = item.test_failover_state.lower() == "waitingforcompletion"
    return waiting or (succeeded and item.allows("TestFailoverCleanup"))


def _test_validation(ctx: Ctx) -> Decision:
    """The test VM must pass its checks (validation.py) before the deadline; a failure cleans up and
    counts as a failed test migration (retried, then FAILED with the check and its fix)."""
    item, job = ctx.facts.item, ctx.facts.job
    # A test failover that is up and not yet cleaned up (recorded: WaitingForCompletion, with
    # TestFailoverCleanup allowed; MarkedForDeletion once a cleanup began).
    ready = item is not None and (
        item.test_failover_state.lower() == "waitingforcompletion" or item.allows("TestFailoverCleanup")
    )
    if not ready or (job is not None and not job.succeeded and ctx.pending(Act.TEST_FAILOVER)):
        return _validation_failed(ctx, (), "The test failover is not waiting for completion.")
    verdict = vm_checks(ctx.facts.test_vm)
    checks = verdict.checks
    if verdict.failed is not None:
        return _validation_failed(
            ctx, checks, f"{verdict.failed.name}: {verdict.failed.detail}", verdict.failed
        )
    command = _smoke_command(ctx)
    if verdict.waiting is None and command:
        smoke = smoke_check(command, ctx.facts.smoke if ctx.pending(Act.SMOKE_TEST) else None)
        checks = (*checks, smoke)
        if smoke.passed is False:
            return _validation_failed(ctx, checks, f"smoke: {smoke.detail}", smoke)
        if not ctx.pending(Act.SMOKE_TEST):
            reason = f"test VM checks passed; running `{command}` in it"
            return ctx.stay(reason, event="action", actions=(Act.SMOKE_TEST,), test_checks=checks)
        verdict = Verdict(checks, waiting=None if smoke.passed else smoke)
    if verdict.waiting is not None:
        deadline = ctx.record.phase_entered_at + timedelta(seconds=ctx.policy.validation_seconds)
        if ctx.now >= deadline:
            limit = ctx.policy.validation_seconds
            took = f"{limit // 60} min" if limit >= 120 else f"{limit} s"
            why = f"{verdict.waiting.name} not passed in {took} ({verdict.waiting.detail})"
            return _validation_failed(ctx, checks, why, verdict.waiting)
        return ctx.stay(
            f"validating the test VM: {verdict.waiting.detail}",
            waiting="cloud",
            wait_until=deadline,
            test_checks=checks,
        )
    return go(
        P.TEST_CLEANUP,
        f"test VM validated ({summary(checks)}); cleaning up the test resources",
        Act.TEST_FAILOVER_CLEANUP,
        test_validated=True,
        test_checks=checks,
    )


def _smoke_command(ctx: Ctx) -> str:
    tagged = ctx.facts.ec2.tag("smoke-test") if ctx.facts.ec2 else None
    return (tagged or ctx.policy.smoke_command).strip()


def _validation_failed(
    ctx: Ctx, checks: tuple[ValidationCheck, ...], why: str, failed: ValidationCheck | None = None
) -> Decision:
    fix = f" Fix: {FIXES[failed.name]}" if failed is not None and failed.name in FIXES else ""
    return go(
        P.TEST_CLEANUP,
        f"test VM failed validation ({why}); cleaning up" + (f" [{summary(checks)}]" if checks else ""),
        Act.TEST_FAILOVER_CLEANUP,
        error=(ErrorCode.TEST_VALIDATION_FAILED, f"Test VM validation failed: {why}.{fix}"),
        attempt="test_migration",
        event="retry",
        test_checks=checks or None,
    )


def _test_cleanup(ctx: Ctx) -> Decision:
    item, job = ctx.facts.item, ctx.facts.job
    # A real InMageRcm item still said MarkedForDeletion after its cleanup had succeeded (and says it
    # as a cleanup begins): it counts as cleaned only with the gate open and no failed cleanup job.
    cleanup_failed = (
        ctx.pending(Act.TEST_FAILOVER_CLEANUP) and job is not None and job.finished and not job.succeeded
    )
    cleaned = (
        item is not None
        and not cleanup_failed
        and item.test_failover_state.lower() in {"none", "", "markedfordeletion"}
        and item.allows("UnplannedFailover")
    )
    waiting = step(ctx, Act.TEST_FAILOVER_CLEANUP, "test_cleanup", "test cleanup", cleaned)
    if waiting is not None:
        return waiting
    if ctx.record.test_validated_at is not None:
        return go(P.READY_FOR_CUTOVER, "test migration validated and cleaned up; ready for cutover")
    retry, count = rule("test_migration"), ctx.attempts("test_migration")
    assert retry.when_exhausted is WhenExhausted.FAIL, "a test migration out of tries fails the VM"
    if retry.exhausted(count, ctx.policy):
        return go(P.FAILED, f"test migration failed {count} times", failed_phase=P.TEST_MIGRATION)
    return go(
        P.PROTECTED,
        "cleaned up after a failed test migration; will test again",
        retry_at=retry.retry_at(ctx.now, count, ctx.policy),
        event="retry",
    )


def _ready_for_cutover(ctx: Ctx) -> Decision:
    ec2 = ctx.facts.ec2
    assert ec2 is not None
    mode = (ec2.tag("cutover") or ctx.facts.wave_cutover_mode or ctx.policy.cutover_mode).strip().lower()
    if mode not in {"auto", "approval"}:
        return ctx.stay(
            f"unknown cutover mode {mode!r}: tag cutover=auto or cutover=approval", waiting="person"
        )
    if mode == "approval" and not (ec2.approved or ctx.record.cutover_approved_at):
        return ctx.stay(
            "waiting for approval: tag approved=true or approve through the API", waiting="approval"
        )
    not_before = ec2.tag("not-before")
    if not_before:
        try:
            earliest = datetime.fromisoformat(not_before.replace("Z", "+00:00"))
        except ValueError:
            return ctx.stay(
                f"not-before tag {not_before!r} is not an ISO time; fix the tag", waiting="person"
            )
        if earliest.tzinfo is None:
            return ctx.stay(
                f"not-before tag {not_before!r} needs a time zone, e.g. 2026-12-01T22:00Z", waiting="person"
            )
        if ctx.now < earliest:
            return ctx.stay(
                f"cutover not before {earliest.isoformat()}", waiting="window", wait_until=earliest
            )
    if not ctx.facts.in_cutover_window:
        opens = ctx.facts.window_opens_at
        until = f" until {opens:%a %H:%M} UTC" if opens else ""
        whose = f"wave {ctx.facts.wave_windows}'s" if ctx.facts.wave_windows else "the"
        return ctx.stay(f"outside {whose} cutover window{until}", waiting="window", wait_until=opens)
    if ctx.facts.item is None or not ctx.facts.item.allows("UnplannedFailover"):
        return ctx.stay("waiting for ASR to allow UnplannedFailover")
    return go(P.STOPPING_SOURCE, "cutover: stopping the EC2 source", Act.STOP_SOURCE)


def _stopping_source(ctx: Ctx) -> Decision:
    ec2 = ctx.facts.ec2
    if ec2 is None or ec2.state in {"terminated", "shutting-down"}:
        return go(
            P.FAILED,
            "the source instance was terminated during cutover",
            error=(ErrorCode.SOURCE_TERMINATED, "The EC2 instance was terminated before failover."),
            failed_phase=ctx.phase,
        )
    if ec2.state == "stopped":
        stopped = "source stopped; migrating"
        return go(P.MIGRATING, stopped, Act.UNPLANNED_FAILOVER, reset_attempts=("stop_source",))
    if ec2.state == "stopping" or ctx.pending(Act.STOP_SOURCE):
        return ctx.stay(f"waiting for the source to stop ({ec2.state})")
    # No stop in flight (a crash before it, a failed call, or a lease out with the source running).
    retry, count = rule("stop_source"), ctx.attempts("stop_source") + 1
    assert retry.when_exhausted is WhenExhausted.FAIL, "a source that will not stop fails the VM"
    if retry.exhausted(count, ctx.policy):
        error = (ErrorCode.SOURCE_NOT_STOPPED, f"The EC2 instance is still {ec2.state} after {count} stops.")
        return go(
            P.FAILED, "the source did not stop", error=error, attempt="stop_source", failed_phase=ctx.phase
        )
    return ctx.stay("stopping the source", event="action", actions=(Act.STOP_SOURCE,), attempt="stop_source")


def restart_source(ctx: Ctx) -> Decision | None:
    """A rollback's start that may not have happened (a crash before it, a refusal) or that an
    operator asked for: see it through, within the retry rules; None when no start is owed (none
    pending, or the source runs)."""
    pending, ec2 = ctx.record.pending_action, ctx.facts.ec2
    if pending is None or pending.action != Act.START_SOURCE or ec2 is None:
        return None
    if ec2.state not in {"stopped", "stopping"}:
        return None
    if ctx.pending(Act.START_SOURCE) or ec2.state == "stopping":
        return ctx.stay(f"waiting for the source to start again ({ec2.state})")
    if not pending.issued:  # an operator's rollback: its first start, as the app's own is, uncounted
        return ctx.stay("rolled back: starting the source again", event="action", actions=(Act.START_SOURCE,))
    retry, count = rule("start_source"), ctx.attempts("start_source") + 1
    if retry.exhausted(count, ctx.policy):
        error = (ErrorCode.SOURCE_NOT_STARTED, f"The EC2 instance is still {ec2.state} after {count} starts.")
        return ctx.stay("the source did not start again; start it by hand", error=error, clear_pending=True)
    again = "starting the source again after the rollback"
    return ctx.stay(again, event="action", actions=(Act.START_SOURCE,), attempt="start_source")


def _migrating(ctx: Ctx) -> Decision:
    item, job = ctx.facts.item, ctx.facts.job
    failed_over = item is not None and item.state_is(
        "UnplannedFailoverCommitPendingStatesBegin", "UnplannedFailoverCommitted"
    )
    if failed_over or (job is not None and job.succeeded and ctx.pending(Act.UNPLANNED_FAILOVER)):
        return go(P.COMMITTING, "migrated; committing", Act.COMMIT_FAILOVER)
    if ctx.pending(Act.UNPLANNED_FAILOVER) and job is not None and job.finished:
        error = (job.error_code or ErrorCode.FAILOVER_FAILED, job.error_message or "the migration failed")
        retry, count = rule("migrate"), ctx.attempts("migrate") + 1
        assert retry.when_exhausted is WhenExhausted.ROLL_BACK, "a migration out of tries rolls back"
        if retry.exhausted(count, ctx.policy):
            return go(
                P.FAILED,
                f"migration failed {count} times; starting the source again",
                Act.START_SOURCE,
                error=error,
                attempt="migrate",
                event="rolled_back",
                failed_phase=P.READY_FOR_CUTOVER,
            )
        return go(
            P.PROTECTED,
            "migration failed; starting the source again and keeping replication",
            Act.START_SOURCE,
            error=error,
            attempt="migrate",
            event="rolled_back",
            retry_at=retry.retry_at(ctx.now, count, ctx.policy),
            test_validated=False,
        )
    if not ctx.pending(Act.UNPLANNED_FAILOVER):
        return issue(ctx, Act.UNPLANNED_FAILOVER, "migrating")
    return ctx.stay(f"migrating: {job.state if job else 'waiting for the job'}")


def _committing(ctx: Ctx) -> Decision:
    item = ctx.facts.item
    if item is None:
        return _item_missing(ctx, "the protected item disappeared before the commit")
    # Committed: the state says so, or Commit is no longer allowed where CompleteMigration is (recorded).
    committed = item is not None and (
        item.state_is("UnplannedFailoverCommitted")
        or (item.allows("CompleteMigration") and not item.allows("Commit"))
    )
    waiting = step(ctx, Act.COMMIT_FAILOVER, "commit", "commit", committed)
    if waiting is not None:
        return waiting
    return go(P.COMPLETING, "committed; completing the migration", Act.COMPLETE_MIGRATION)


def _completing(ctx: Ctx) -> Decision:
    waiting = step(
        ctx, Act.COMPLETE_MIGRATION, "complete", "completing the migration", ctx.facts.item is None
    )
    if waiting is not None:
        return waiting
    if ctx.facts.item is not None:
        return ctx.stay("replication stopped; waiting for the item to go")
    return go(P.DONE, "migration complete; replication stopped")


def _opting_out(ctx: Ctx) -> Decision:
    item = ctx.facts.item
    if item is None:
        return go(P.OPTED_OUT, "replication disabled and test resources cleaned up")
    if ctx.pending(Act.TEST_FAILOVER_CLEANUP) or ctx.pending(Act.DISABLE_REPLICATION):
        job = ctx.facts.job
        if job is None or not job.finished:
            return ctx.stay(f"opting out: {job.state if job else 'waiting for the job'}")
        if not job.succeeded:
            return job_failed(ctx, "opt_out", "opting out")
    if item.allows("TestFailoverCleanup"):
        return ctx.stay(
            "opting out: cleaning up the test migration", event="action", actions=(Act.TEST_FAILOVER_CLEANUP,)
        )
    if item.allows("DisableProtection"):
        return ctx.stay(
            "opting out: disabling replication", event="action", actions=(Act.DISABLE_REPLICATION,)
        )
    return ctx.stay(f"opting out: waiting for ASR to allow DisableProtection ({item.protection_state})")


def _never(ctx: Ctx) -> Decision:
    return ctx.stay(f"{ctx.phase}: handled before the phase table")


HANDLERS = {
    P.OPTED_IN: _opted_in,
    P.PREFLIGHT: _preflight,
    P.BLOCKED: _blocked,
    P.ASSESSED: _dry_run_held,
    P.AGENT_INSTALL: _agent_install,
    P.AWAITING_DISCOVERY: _awaiting_discovery,
    P.QUEUED: _queued,
    P.ENABLING: _enabling,
    P.INITIAL_REPLICATION: _initial_replication,
    P.PROTECTED: _protected,
    P.TEST_MIGRATION: _test_migration,
    P.TEST_VALIDATION: _test_validation,
    P.TEST_CLEANUP: _test_cleanup,
    P.READY_FOR_CUTOVER: _ready_for_cutover,
    P.STOPPING_SOURCE: _stopping_source,
    P.MIGRATING: _migrating,
    P.COMMITTING: _committing,
    P.COMPLETING: _completing,
    P.OPTING_OUT: _opting_out,
    P.DONE: _never,
    P.OPTED_OUT: _never,
    P.FAILED: _never,
    P.PAUSED: _never,
}
