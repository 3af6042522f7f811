"""The migration lifecycle: phases, the transitions allowed between them, and the guard.

One record per EC2 instance moves through these phases. `TRANSITIONS` is the whole graph: a move not
listed here raises `IllegalTransition`, whoever asks for it. Terminal phases have no way out.
"""

from __future__ import annotations

from enum import StrEnum

from shared.errors import IllegalTransition


class Phase(StrEnum):
    OPTED_IN = "opted_in"
    PREFLIGHT = "preflight"
    ASSESSED = "assessed"  # dry run: assessed, and held before anything is installed
    AGENT_INSTALL = "agent_install"
    AWAITING_DISCOVERY = "awaiting_discovery"
    QUEUED = "queued"
    ENABLING = "enabling"
    INITIAL_REPLICATION = "initial_replication"
    PROTECTED = "protected"
    TEST_MIGRATION = "test_migration"
    TEST_VALIDATION = "test_validation"
    TEST_CLEANUP = "test_cleanup"
    READY_FOR_CUTOVER = "ready_for_cutover"
    STOPPING_SOURCE = "stopping_source"
    MIGRATING = "migrating"
    COMMITTING = "committing"
    COMPLETING = "completing"
    DONE = "done"
    # side paths
    BLOCKED = "blocked"
    FAILED = "failed"
    PAUSED = "paused"
    OPTING_OUT = "opting_out"
    OPTED_OUT = "opted_out"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_PHASES


P = Phase
# Blocked, failed and paused are not terminal: a person can fix the cause, retry or resume.
TERMINAL_PHASES: frozenset[Phase] = frozenset({P.DONE, P.OPTED_OUT})
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

TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    P.OPTED_IN: frozenset({P.PREFLIGHT, *_OUT}),
    P.PREFLIGHT: frozenset({P.AGENT_INSTALL, P.ASSESSED, P.BLOCKED, *_OUT}),
    P.ASSESSED: frozenset({P.PREFLIGHT, *_OUT}),  # the dry run ended: assess afresh, then go on
    P.AGENT_INSTALL: frozenset({P.AWAITING_DISCOVERY, P.FAILED, *_OUT}),
    P.AWAITING_DISCOVERY: frozenset({P.QUEUED, P.FAILED, *_OUT}),
    P.QUEUED: frozenset({P.ENABLING, *_OUT}),
    P.ENABLING: frozenset({P.INITIAL_REPLICATION, P.PROTECTED, P.FAILED, *_OUT}),
    P.INITIAL_REPLICATION: frozenset({P.PROTECTED, P.FAILED, *_OUT}),
    P.PROTECTED: frozenset({P.TEST_MIGRATION, P.FAILED, *_OUT}),
    P.TEST_MIGRATION: frozenset({P.TEST_VALIDATION, P.TEST_CLEANUP, P.FAILED, *_OUT}),
    P.TEST_VALIDATION: frozenset({P.TEST_CLEANUP, *_OUT}),
    P.TEST_CLEANUP: frozenset({P.READY_FOR_CUTOVER, P.PROTECTED, P.FAILED, *_OUT}),
    P.READY_FOR_CUTOVER: frozenset({P.STOPPING_SOURCE, *_OUT}),
    P.STOPPING_SOURCE: frozenset({P.MIGRATING, P.PROTECTED, P.FAILED}),
    P.MIGRATING: frozenset({P.COMMITTING, P.PROTECTED, P.FAILED}),
    P.COMMITTING: frozenset({P.COMPLETING, P.FAILED}),
    P.COMPLETING: frozenset({P.DONE, P.FAILED}),
    P.DONE: frozenset(),
    P.BLOCKED: frozenset({P.PREFLIGHT, P.AGENT_INSTALL, *_OUT}),
    # A person retries a failed VM into the phase it failed in (or takes it out).
    P.FAILED: frozenset(set(Phase) - {P.FAILED, P.DONE, P.OPTED_IN}),
    P.PAUSED: frozenset(set(Phase) - {P.PAUSED, P.DONE, P.OPTED_IN}),
    P.OPTING_OUT: frozenset({P.OPTED_OUT, P.FAILED}),
    P.OPTED_OUT: frozenset(),
}


def check_transition(source: Phase, target: Phase) -> None:
    """Staying put is always allowed; any move must be in TRANSITIONS."""
    if source != target and target not in TRANSITIONS[source]:
        raise IllegalTransition(source, target, sorted(TRANSITIONS[source]))
