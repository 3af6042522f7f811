"""The operator CLI against the local host over HTTP: what an operator reads and the commands,
with the keys of their roles; refusals and an unreachable API made plain."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from typer.testing import CliRunner

from cli.autopilot import app
from local.estate import Estate
from local.stack import Azurite, LocalService
from shared.app.roles import KeyRole
from shared.model.phases import Phase
from shared.model.records import (
    Assessment,
    CheckResult,
    ErrorInfo,
    MigrationRecord,
    Replication,
    ReplicationWarning,
    ValidationCheck,
    Waiting,
)
from tests.e2e.seeded import opted_in, seeded_estate

pytestmark = pytest.mark.integration
REPLICATING, READY, BLOCKED, FAILED = (f"i-0c00000000000000{n}" for n in range(1, 5))


def records(now: datetime) -> list[MigrationRecord]:
    check = CheckResult(
        code="appliance-unreachable", severity="blocker", message="9443 closed", fix="open 9443"
    )
    error = ErrorInfo(code="InjectedFailure", message="the test failover failed", retryable=False, at=now)
    return [
        opted_in(REPLICATING, now, "w1").evolve(
            phase=Phase.INITIAL_REPLICATION,
            replication=Replication(progress_percent=42, health="Normal"),
            waiting_for=Waiting(kind="replication", message="initial replication 42%", since=now),
            warning=ReplicationWarning(
                code="ReplicationStalled",
                message="stayed at 42% for 130 minutes",
                fix="check TCP 9443",
                since=now,
            ),
        ),
        opted_in(READY, now, "w1").evolve(
            phase=Phase.READY_FOR_CUTOVER,
            waiting_for=Waiting(
                kind="approval", message="waiting for approval", since=now - timedelta(hours=2)
            ),
        ),
        opted_in(BLOCKED, now, "w2").evolve(
            phase=Phase.BLOCKED, assessment=Assessment(assessed_at=now, guest_checked=True, checks=[check])
        ),
        opted_in(FAILED, now, "w2").evolve(
            phase=Phase.FAILED,
            last_error=error,
            failed_phase=Phase.TEST_MIGRATION,
            test_checks=[
                ValidationCheck(name="running", passed=True, detail="power state running"),
                ValidationCheck(name="agent", passed=None, detail="VM agent Not Ready"),
            ],
        ),
    ]


@pytest.fixture(scope="module")
def estate(azurite: Azurite, moto_server: LocalService) -> Iterator[Estate]:
    with seeded_estate(azurite, moto_server, records) as running:
        yield running


def autopilot(estate: Estate, *args: str, **env: str) -> tuple[int, str]:
    keys = {
        "AUTOPILOT_URL": estate.host.url,
        "AUTOPILOT_READER_KEY": estate.keys.roles[KeyRole.READER],
        "AUTOPILOT_OPERATOR_KEY": estate.keys.roles[KeyRole.OPERATOR],
        "COLUMNS": "220",
    }
    result = CliRunner().invoke(app, list(args), env=keys | env)
    return result.exit_code, result.output


def test_fleet_shows_waves_progress_problems_and_approvals(estate: Estate):
    code, out = autopilot(estate, "fleet")
    assert code == 0, out
    assert "Fleet: 4 VMs" in out and "42" in out and "━" in out  # a progress bar, 42 %
    assert "appliance-unreachable" in out and "9443 closed" in out and "open 9443" in out
    assert "InjectedFailure" in out and "retry, or cancel" in out
    assert "Awaiting approval" in out and READY in out
    assert "ReplicationStalled: stayed at 42% for 130 minutes" in out and "check TCP 9443" in out
    code, narrowed = autopilot(estate, "fleet", "--wave", "w2")
    assert code == 0 and "Fleet: 2 VMs" in narrowed and REPLICATING not in narrowed


def test_show_tells_what_a_vm_waits_for_and_its_timeline(estate: Estate):
    code, out = autopilot(estate, "show", READY)
    assert code == 0, out
    assert "approval: waiting for approval" in out and "Timeline" in out
    code, out = autopilot(estate, "show", FAILED)  # the last test VM's checks
    assert code == 0 and "running passed: power state running" in out
    assert "agent pending: VM agent Not Ready" in out


def test_commands_on_a_vm_and_a_wave_with_the_operator_key(estate: Estate):
    code, out = autopilot(estate, "approve", READY, "--reason", "CAB-1")
    assert code == 0 and f"approve {READY}: done; now ready_for_cutover" in out
    assert estate.get(f"/api/migrations/{READY}")[1]["timeline"][-1]["reason"] == "CAB-1"
    code, out = autopilot(estate, "pause", "--wave", "w2")
    assert code == 0 and "pause wave w2: 1 changed" in out  # the blocked VM; the failed one refuses:
    assert f"{FAILED} │ 409" in out and "not allowed in failed" in out
    code, out = autopilot(estate, "retry", FAILED)
    assert code == 0 and "now test_migration" in out


def test_refusals_are_plain_and_change_nothing(estate: Estate):
    code, out = autopilot(estate, "rollback", REPLICATING)
    assert code == 1 and "409 CommandRefused" in out and "no cutover to roll back" in out
    code, out = autopilot(estate, "fleet", AUTOPILOT_READER_KEY="wrong")
    assert code == 1 and "the key was refused" in out
    code, out = autopilot(
        estate, "pause", REPLICATING, AUTOPILOT_OPERATOR_KEY=estate.keys.roles[KeyRole.READER]
    )
    assert code == 1 and "401" in out  # a reader key does not steer
    code, out = autopilot(estate, "rollback", "--wave", "w1")
    assert code == 2 and "works on one VM" in out
    code, out = autopilot(estate, "show", "i-0fffffffffffffff0")
    assert code == 1 and "404" in out
    code, out = autopilot(estate, "fleet", AUTOPILOT_URL="http://127.0.0.1:9")
    assert code == 2 and "did not answer" in out
    assert estate.record(REPLICATING)["phase"] == "initial_replication"


def test_export_and_watch(estate: Estate, tmp_path):
    target = tmp_path / "w2.csv"
    code, _ = autopilot(estate, "export", "--wave", "w2", "--format", "csv", "--output", str(target))
    assert code == 0 and BLOCKED in target.read_text()
    code, out = autopilot(estate, "watch", "--times", "1")
    assert code == 0 and "Fleet: 4 VMs" in out
