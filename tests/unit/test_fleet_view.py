"""The fleet summary an operator reads (API, CLI, dashboard), from records alone."""

from __future__ import annotations

from datetime import timedelta

from shared.app.fleet_view import summary
from shared.model.phases import Phase
from shared.model.records import ErrorInfo, HealthIssue, Replication, Waiting
from tests.conftest import T0, assessed, record

P = Phase


def test_counts_lists_and_problems_with_their_fixes():
    replicating = [
        record(n, wave="w1").evolve(
            phase=P.INITIAL_REPLICATION, replication=Replication(progress_percent=pct, health="Normal")
        )
        for n, pct in ((1, 80), (2, 10))
    ]
    blocked = assessed(3, wave="w1").evolve(phase=P.BLOCKED)
    error = ErrorInfo(code="InjectedFailure", message="the job failed", retryable=False, at=T0)
    failed = record(4, wave="w2").evolve(phase=P.FAILED, last_error=error)
    sick = record(5, wave="w2").evolve(
        phase=P.BLOCKED,
        replication=Replication(
            health="Critical", issues=[HealthIssue(code="78122", message="m", fix="port 443")]
        ),
    )
    waits = Waiting(kind="approval", message="waiting for approval", since=T0 + timedelta(hours=1))
    ready = record(6, wave=None).evolve(phase=P.READY_FOR_CUTOVER, waiting_for=waits)
    view = summary([*replicating, blocked, failed, sick, ready], limit=1)
    assert (view["total"], view["by_phase"]["blocked"], view["waiting"]) == (6, 2, {"approval": 1})
    assert view["by_wave"] == {
        "(no wave)": {"ready_for_cutover": 1},
        "w1": {"blocked": 1, "initial_replication": 2},
        "w2": {"blocked": 1, "failed": 1},
    }
    assert [row["progress"] for row in view["replicating"]] == [10]  # least progress first, cut at 1
    assert view["truncated"] is True
    full = summary([*replicating, blocked, failed, sick, ready])
    problems = {row["instanceId"]: row["problem"] for row in full["attention"]}
    assert problems[blocked.instance_id]["fix"] == "open 9443"  # its blocking check's fix
    assert problems[failed.instance_id]["code"] == "InjectedFailure"
    assert problems[sick.instance_id] == {"code": "78122", "message": "m", "fix": "port 443"}
    assert [row["instanceId"] for row in full["awaiting_approval"]] == [ready.instance_id]
    assert full["warnings"] == []
