"""Waves with their own cutover windows cut over at their own times, and instances that share a Name
tag are replicated under distinct Azure VM names, all through the local host.

The app's clock is the real one here, so windows are written around the present: wave "early" has a
window open now, wave "late" one three days away. "Late"'s window arriving is an operator moving it
to now (a settings change, which in Azure restarts the app)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from local.estate import Estate, tag_event
from shared.core.windows import DAYS
from tests.e2e.driving import drive, estate_with
from tests.e2e.test_ec2_events import launch

pytestmark = pytest.mark.integration
__all__ = ["estate_with"]  # the fixture


def window_around(moment: datetime, hours: float = 1) -> str:
    start, end = moment - timedelta(hours=hours), moment + timedelta(hours=hours)
    return f"{DAYS[start.weekday()].title()} {start:%H:%M}-{end:%H:%M}"


def waves(early: str, late: str) -> str:
    return json.dumps(
        {"early": {"mode": "auto", "windows": early}, "late": {"mode": "auto", "windows": late}}
    )


def enable_body(estate: Estate, vm: str) -> dict[str, str]:
    puts = [e for e in estate.sim.vault.ledger if e["method"] == "PUT" and e["item"] == f"azmigrate-{vm}"]
    return dict(puts[0]["body"]["properties"]["providerSpecificDetails"])


def test_two_waves_cut_over_in_their_own_windows(estate_with):
    now = datetime.now(UTC)
    open_now, in_three_days = window_around(now), window_around(now + timedelta(days=3))
    estate = estate_with(
        AZMIGRATE_CUTOVER_MODE="approval",  # the waves' own mode (auto) applies
        AZMIGRATE_CUTOVER_WINDOWS=in_three_days,
        AZMIGRATE_WAVE_CUTOVERS=waves(open_now, in_three_days),
    )
    early = launch(estate, {"azmigrate:enabled": "true", "azmigrate:wave": "early"})
    late = launch(estate, {"azmigrate:enabled": "true", "azmigrate:wave": "late"})
    for vm in (early, late):
        estate.post("/api/ec2-events", tag_event(vm))
    drive(estate, [early, late], {"done", "ready_for_cutover"}, seconds=150)
    drive(estate, [early], {"done"}, seconds=60)

    waiting = estate.record(late)
    assert waiting["phase"] == "ready_for_cutover"
    assert waiting["waiting_for"]["kind"] == "window"
    assert "outside wave late's cutover window" in waiting["waiting_for"]["message"]
    opens = datetime.fromisoformat(waiting["waiting_for"]["until"])
    assert timedelta(days=2) < opens - now < timedelta(days=3)  # its own window, not "early"'s

    # Late's window arrives: the operator moves it to now; the next passes cut it over.
    estate.reconfigure(AZMIGRATE_WAVE_CUTOVERS=waves(open_now, window_around(datetime.now(UTC))))
    drive(estate, [late], {"done"}, seconds=60)


def test_instances_with_one_name_tag_get_distinct_azure_vm_names(estate_with):
    estate = estate_with()
    first = launch(estate, {"azmigrate:enabled": "true", "Name": "app-server"})
    estate.post("/api/ec2-events", tag_event(first))
    drive(estate, [first], {"enabling", "initial_replication", "protected"}, seconds=60)
    second = launch(estate, {"azmigrate:enabled": "true", "Name": "app-server"})
    estate.post("/api/ec2-events", tag_event(second))
    drive(estate, [second], {"enabling", "initial_replication", "protected"}, seconds=60)

    assert enable_body(estate, first)["targetVmName"] == "app-server"
    assert enable_body(estate, second)["targetVmName"] == f"app-server-{second[-8:]}"
    checks = {c["code"]: c for c in estate.record(second)["assessment"]["checks"]}
    assert first in checks["vm-name-suffixed"]["message"]
    assert "vm-name-suffixed" not in {c["code"] for c in estate.record(first)["assessment"]["checks"]}
