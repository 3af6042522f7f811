"""The migration lifecycle: the transitions allowed between phases, and the guards.

One record per EC2 instance moves through the phases (`shared.model.phases`). `TRANSITIONS` is the
whole graph: a move not listed here raises `IllegalTransition`, whoever asks for it. Terminal phases
have no way out. docs/lifecycle.md draws it (`shared.core.lifecycle_doc`).
"""

from __future__ import annotations

from datetime import timedelta

from shared.errors import CommandRefused, ErrorCode, IllegalTransition
from shared.model.phases import Phase
from shared.model.records import MigrationRecord

P = Phase
# Until the source is stopped, removing the opt-in tag takes the VM out; after that, cutover runs on.
OPT_OUT_PHASES: frozenset[Phase] = frozenset(
    {
        P.OPTED_IN,
        P.PREFLIGHT,
        P.ASSESSED,
        P.AGENT_INSTALL,
        P.AWAITING_DISCOVERY,
        P.QUEUED,
        P.ENABLING,
        P.INITIAL_REPLICATION,
        P.PROTECTED,
        P.TEST_MIGRATION,
        P.TEST_VALIDATION,
        P.TEST_CLEANUP,
        P.READY_FOR_CUTOVER,
        P.BLOCKED,
        P.FAILED,
        P.PAUSED,
    }
)
_OUT = {P.OPTING_OUT, P.OPTED_OUT}
# An operator may pause a VM until its source is stopped (a failed VM is retried, not paused).
PAUSABLE_PHASES: frozenset[Phase] = OPT_OUT_PHASES - {P.FAILED, P.PAUSED}

TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    P.OPTED_IN: frozenset({P.PREFLIGHT, P.PAUSED, *_OUT}),
    P.PREFLIGHT: frozenset({P.AGENT_INSTALL, P.ASSESSED, P.BLOCKED, P.PAUSED, *_OUT}),
    P.ASSESSED: frozenset({P.PREFLIGHT, P.PAUSED, *_OUT}),  # the dry run ended: assess afresh, then go on
    P.AGENT_INSTALL: frozenset({P.AWAITING_DISCOVERY, P.FAILED, P.PAUSED, *_OUT}),
    P.AWAITING_DISCOVERY: frozenset({P.QUEUED, P.FAILED, P.PAUSED, *_OUT}),
    P.QUEUED: frozenset({P.ENABLING, P.PAUSED, *_OUT}),
    P.ENABLING: frozenset({P.INITIAL_REPLICATION, P.PROTECTED, P.FAILED, P.PAUSED, *_OUT}),
    P.INITIAL_REPLICATION: frozenset({P.PROTECTED, P.FAILED, P.PAUSED, *_OUT}),
    P.PROTECTED: frozenset({P.TEST_MIGRATION, P.FAILED, P.PAUSED, *_OUT}),
    P.TEST_MIGRATION: frozenset({P.TEST_VALIDATION, P.TEST_CLEANUP, P.FAILED, P.PAUSED, *_OUT}),
    P.TEST_VALIDATION: frozenset({P.TEST_CLEANUP, P.PAUSED, *_OUT}),
    P.TEST_CLEANUP: frozenset({P.READY_FOR_CUTOVER, P.PROTECTED, P.FAILED, P.PAUSED, *_OUT}),
    P.READY_FOR_CUTOVER: frozenset({P.STOPPING_SOURCE, P.PAUSED, *_OUT}),
    P.STOPPING_SOURCE: frozenset({P.MIGRATING, P.PROTECTED, P.FAILED}),
    P.MIGRATING: frozenset({P.COMMITTING, P.PROTECTED, P.FAILED}),
    P.COMMITTING: frozenset({P.COMPLETING, P.FAILED}),
    P.COMPLETING: frozenset({P.DONE, P.FAILED}),
    P.DONE: frozenset(),
    P.BLOCKED: frozenset({P.PREFLIGHT, P.AGENT_INSTALL, P.PAUSED, *_OUT}),
    # A person retries a failed VM into the phase it failed in (or takes it out).
    P.FAILED: frozenset(set(Phase) - {P.FAILED, P.DONE, P.OPTED_IN}),
    P.PAUSED: frozenset(set(Phase) - {P.PAUSED, P.DONE}),  # back to where it paused, or out
    P.OPTING_OUT: frozenset({P.OPTED_OUT, P.FAILED}),
    P.OPTED_OUT: frozenset(),
}


# No phase waits without an end. A phase that waits on the clouds has a deadline, after which the VM
# leaves for its exit with the reason (a test proves each has one); a phase that waits for a person
# (approval, a fix, a retry) or for appliance capacity waits as long as it takes; an instant phase is
# always left in the pass that reaches it. Awaiting discovery and test validation have their own
# (configured) timeouts.
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
PHASE_DEADLINES: dict[Phase, timedelta] = {
    P.PREFLIGHT: 6 * HOUR,
    P.AGENT_INSTALL: 6 * HOUR,
    P.ENABLING: 6 * HOUR,
    P.INITIAL_REPLICATION: 14 * DAY,  # large disks over a thin link take days
    P.PROTECTED: DAY,
    P.TEST_MIGRATION: DAY,
    P.TEST_CLEANUP: DAY,
    P.STOPPING_SOURCE: 2 * HOUR,
    P.MIGRATING: DAY,
    P.COMMITTING: DAY,
    P.COMPLETING: DAY,
    P.OPTING_OUT: DAY,
}
OWN_TIMEOUT: frozenset[Phase] = frozenset({P.AWAITING_DISCOVERY, P.TEST_VALIDATION})
WAITS_FOR_PEOPLE: frozenset[Phase] = frozenset(
    {P.ASSESSED, P.BLOCKED, P.QUEUED, P.READY_FOR_CUTOVER, P.PAUSED, P.FAILED}
)
INSTANT: frozenset[Phase] = frozenset({P.OPTED_IN})


def deadline_exit(phase: Phase) -> Phase:
    """Where a phase past its deadline goes: failed where the lifecycle allows it, else blocked."""
    return P.FAILED if P.FAILED in TRANSITIONS[phase] else P.BLOCKED


def can_opt_out(record: MigrationRecord) -> bool:
    """Opting out (the tag removed, the instance gone, or a cancel) is possible until the source is
    stopped. A failed VM may go too when it failed before that (a rolled-back cutover counts as
    failed in ready_for_cutover: its source runs again); one that failed stopping its source, or
    after the failover, stays for a person."""
    if record.phase not in OPT_OUT_PHASES:
        return False
    return record.phase != P.FAILED or record.failed_phase is None or record.failed_phase in OPT_OUT_PHASES


def check_transition(source: Phase, target: Phase) -> None:
    """Staying put is always allowed; any move must be in TRANSITIONS."""
    if source != target and target not in TRANSITIONS[source]:
        raise IllegalTransition(source, target, sorted(TRANSITIONS[source]))


# An operator may approve a cutover until it has begun (the approved tag is the other way).
APPROVABLE_PHASES: frozenset[Phase] = frozenset(
    set(Phase) - {P.STOPPING_SOURCE, P.MIGRATING, P.COMMITTING, P.COMPLETING, P.DONE, *_OUT}
)


def check_approvable(record: MigrationRecord) -> None:
    if record.phase not in APPROVABLE_PHASES:
        raise CommandRefused(
            f"{record.instance_id} is {record.phase}: too late to approve", code=ErrorCode.NOT_APPROVABLE
        )
