"""A dry run through the app's entry points: every VM assessed and exported, nothing installed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.estate import Estate, running_estate, tag_event
from local.stack import Azurite, LocalService, aws_client
from tests.e2e.driving import drive
from tests.e2e.test_ec2_events import launch

pytestmark = pytest.mark.integration


@pytest.fixture
def estate(azurite: Azurite, moto_server: LocalService) -> Iterator[Estate]:
    with running_estate(azurite, moto_server, settings={"AZMIGRATE_DRY_RUN": "true"}) as running:
        yield running


def test_a_fleet_wide_dry_run_assesses_exports_and_installs_nothing(estate: Estate):
    ready = launch(estate, {"azmigrate:enabled": "true", "azmigrate:wave": "pilot"})
    closed = launch(
        estate, {"azmigrate:enabled": "true", "azmigrate:wave": "pilot", "sim:closed-ports": "443"}
    )
    later = launch(estate, {"azmigrate:enabled": "true", "azmigrate:wave": "later"})
    for vm in (ready, closed, later):
        assert estate.post("/api/ec2-events", tag_event(vm))[0] == 202
    drive(estate, [ready, closed, later], {"assessed", "blocked"}, seconds=30)
    assert (estate.record(ready)["phase"], estate.record(closed)["phase"]) == ("assessed", "blocked")

    commands = aws_client(estate.moto.url, "ssm").list_commands()["Commands"]
    ours = [c for c in commands if set(c["InstanceIds"]) & {ready, closed}]
    # Guest checks only (each comment names its attempt): no agent install.
    assert ours and all(c["Comment"].startswith("Migration Autopilot: guest checks [") for c in ours)
    assert not [
        e for e in estate.sim.vault.ledger if e["item"] in {f"azmigrate-{ready}", f"azmigrate-{closed}"}
    ]

    status, body = estate.get("/api/assessments?wave=pilot")
    assert status == 200 and body["count"] == 2  # the other wave's VM is assessed, but not listed
    rows = {row["instance_id"]: row for row in body["assessments"]}
    assert rows[ready]["dry_run"] is True and rows[ready]["blockers"] == []
    assert rows[closed]["blockers"] == ["appliance-unreachable"]
    assert "TCP 443" in " ".join(rows[closed]["fixes"])
