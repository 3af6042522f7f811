"""Wave commands through the local host: one answer with each VM's outcome, each VM written through
the one write path (a timeline entry with the actor), nothing written for a refusal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from local.estate import Estate
from local.stack import Azurite, LocalService
from shared.model.phases import Phase
from shared.model.records import MigrationRecord
from tests.e2e.seeded import opted_in, seeded_estate

pytestmark = pytest.mark.integration
PHASES = {  # five VMs of wave w1, one of w2
    "i-0a000000000000001": (Phase.INITIAL_REPLICATION, "w1"),
    "i-0a000000000000002": (Phase.PROTECTED, "w1"),
    "i-0a000000000000003": (Phase.READY_FOR_CUTOVER, "w1"),
    "i-0a000000000000004": (Phase.MIGRATING, "w1"),  # the source is stopped: it cannot pause
    "i-0a000000000000005": (Phase.QUEUED, "w1"),
    "i-0a000000000000006": (Phase.PROTECTED, "w2"),
}


@pytest.fixture
def estate(azurite: Azurite, moto_server: LocalService) -> Iterator[Estate]:
    def records(now: datetime) -> list[MigrationRecord]:
        return [opted_in(vm, now, wave).evolve(phase=phase) for vm, (phase, wave) in PHASES.items()]

    with seeded_estate(azurite, moto_server, records) as running:
        yield running


def outcomes(body: dict[str, Any]) -> dict[str, tuple[int, str]]:
    return {r["instanceId"]: (r["status"], r.get("phase") or r["error"]["code"]) for r in body["results"]}


def test_a_wave_pause_answers_per_vm_and_a_resume_brings_each_back(estate: Estate):
    status, body = estate.post("/api/waves/w1/pause", b'{"reason": "freeze"}')
    assert (status, body["changed"]) == (200, 4)
    assert outcomes(body) == {
        "i-0a000000000000001": (200, "paused"),
        "i-0a000000000000002": (200, "paused"),
        "i-0a000000000000003": (200, "paused"),
        "i-0a000000000000004": (409, "CommandRefused"),
        "i-0a000000000000005": (200, "paused"),
    }
    assert estate.record("i-0a000000000000006")["phase"] == "protected"  # another wave
    assert estate.record("i-0a000000000000004")["phase"] == "migrating"
    assert estate.post("/api/waves/w1/pause")[1]["changed"] == 0  # sent twice: nothing more
    timeline = estate.get("/api/migrations/i-0a000000000000001")[1]["timeline"]
    assert [(e["event"], e["actor"], e["reason"]) for e in timeline] == [("pause", "key:operator", "freeze")]
    queued = sorted(vm for work in estate.queued() for vm in work["instances"])
    assert queued == [f"i-0a00000000000000{n}" for n in (1, 2, 3, 5)]

    status, body = estate.post("/api/waves/w1/resume")
    assert {vm: phase for vm, (_, phase) in outcomes(body).items()} == {
        vm: phase.value for vm, (phase, wave) in PHASES.items() if wave == "w1"
    }


def test_a_wave_approve_stamps_every_vm_that_can_still_be_approved(estate: Estate):
    status, body = estate.post("/api/waves/w1/approve")
    assert (status, body["changed"]) == (200, 4)
    assert outcomes(body)["i-0a000000000000004"] == (409, "NotApprovable")
    assert estate.record("i-0a000000000000003")["cutover_approved_at"] is not None


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/waves/w9/pause", 404, "NotFound"),
        ("/api/waves/w1/retry", 400, "UnknownCommand"),  # per VM only
        ("/api/waves/w1/launch", 400, "UnknownCommand"),
        ("/api/waves/w%201/pause", 400, "InvalidWave"),
    ],
)
def test_a_wave_command_that_cannot_be_taken_is_refused_and_changes_nothing(
    estate: Estate, path: str, status: int, code: str
):
    answer = estate.post(path)
    assert (answer[0], answer[1]["error"]["code"]) == (status, code)
    assert {vm: estate.record(vm)["phase"] for vm in PHASES} == {vm: p.value for vm, (p, _) in PHASES.items()}
    assert estate.queued() == []
