"""The phases a VM's migration record can be in: the lifecycle's vocabulary.

The transitions between them, and the guard, are the core's (`shared.core.lifecycle`).
"""

from __future__ import annotations

from enum import StrEnum


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


# Blocked, failed and paused are not terminal: a person can fix the cause, retry or resume.
TERMINAL_PHASES: frozenset[Phase] = frozenset({Phase.DONE, Phase.OPTED_OUT})
