"""The fleet as an operator reads it (`GET /api/fleet`, the CLI, the dashboard): counts by wave and
phase, what the VMs wait for, replication progress, the VMs that need a person and why, and the
cutovers awaiting approval. Pure: records in, a JSON-ready summary out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from shared.model.phases import Phase
from shared.model.records import MigrationRecord

P = Phase
LIST_LIMIT = 500  # rows per list: a 10,000-VM fleet's lists stay readable (the counts stay whole)
NEEDS_A_PERSON = (P.BLOCKED, P.FAILED, P.PAUSED)
NO_WAVE = "(no wave)"


def summary(records: Iterable[MigrationRecord], limit: int = LIST_LIMIT) -> dict[str, Any]:
    by_wave: dict[str, Counter[str]] = {}
    by_phase: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    replicating, attention, approval, warnings = [], [], [], []
    for record in records:
        by_phase[record.phase.value] += 1
        by_wave.setdefault(record.wave or NO_WAVE, Counter())[record.phase.value] += 1
        if record.waiting_for is not None:
            waiting[record.waiting_for.kind] += 1
        if record.phase is P.INITIAL_REPLICATION:
            replicating.append(vm_row(record))
        elif record.phase in NEEDS_A_PERSON:
            attention.append(vm_row(record) | {"problem": problem(record)})
        if record.waiting_for is not None and record.waiting_for.kind == "approval":
            approval.append(vm_row(record))
        if record.warning is not None:
            warnings.append(vm_row(record) | {"warning": record.warning.model_dump(mode="json")})
    replicating.sort(key=lambda row: (row["progress"] or 0, row["instanceId"]))
    for rows in (attention, approval, warnings):
        rows.sort(key=lambda row: (row["wave"], row["instanceId"]))
    return {
        "total": sum(by_phase.values()),
        "by_phase": dict(sorted(by_phase.items())),
        "by_wave": {wave: dict(sorted(c.items())) for wave, c in sorted(by_wave.items())},
        "waiting": dict(sorted(waiting.items())),
        "replicating": replicating[:limit],
        "attention": attention[:limit],
        "awaiting_approval": approval[:limit],
        "warnings": warnings[:limit],
        "truncated": any(len(rows) > limit for rows in (replicating, attention, approval, warnings)),
    }


def vm_row(record: MigrationRecord) -> dict[str, Any]:
    """One VM in a list: where it is, what it waits for, its replication."""
    health = record.replication
    wait = record.waiting_for
    return {
        "instanceId": record.instance_id,
        "wave": record.wave or NO_WAVE,
        "phase": record.phase.value,
        "waiting": wait.model_dump(mode="json") if wait else None,
        "progress": health.progress_percent if health else None,
        "rpoSeconds": health.rpo_seconds if health else None,
        "health": health.health if health else "",
    }


def problem(record: MigrationRecord) -> dict[str, str]:
    """What holds a VM that needs a person, and the fix: its blocking checks, its item's health
    errors, or its last error."""
    if record.phase is P.PAUSED:
        how = "remove the pause tag" if record.paused_by_tag else "resume it"
        return {"code": "Paused", "message": f"paused in {record.paused_phase}", "fix": how}
    blockers = [c for c in record.assessment.checks if c.severity == "blocker"] if record.assessment else []
    if record.phase is P.BLOCKED and blockers:
        first = blockers[0]
        return {"code": first.code, "message": first.message, "fix": first.fix}
    issues = record.replication.issues if record.replication else []
    error = record.last_error
    if issues and (error is None or record.phase is P.BLOCKED):
        return {"code": issues[0].code, "message": issues[0].message, "fix": issues[0].fix}
    if error is not None:
        steer = "retry, or cancel" if record.phase is P.FAILED else "fix it; it is checked again"
        return {"code": error.code, "message": error.message, "fix": steer}
    return {
        "code": record.phase.value,
        "message": record.waiting_for.message if record.waiting_for else "",
        "fix": "",
    }
