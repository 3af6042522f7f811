"""Transition events through the local Event Grid topic: every phase change published, at least once
and always with its id (exactly once for a consumer that dedupes by it), even when the topic was down
between the state write and the publish (the outbox)."""

from __future__ import annotations

from typing import Any

import pytest

from local.estate import Estate, running_estate, tag_event
from local.stack import Azurite, LocalService
from tests.e2e.driving import drive, retire_instances
from tests.e2e.test_ec2_events import launch

pytestmark = pytest.mark.integration
PREFIX = "com.contoso.migration"


def ours(estate: Estate, vm: str) -> list[dict[str, Any]]:
    return [e for e in estate.host.topic_events if e["type"].startswith(PREFIX) and e["subject"] == vm]


def version(event: dict[str, Any]) -> int:
    return int(event["id"].split("-")[2])  # i-<hex>-<version>-<kind>


def test_each_transition_is_published_once_though_the_topic_was_down(
    azurite: Azurite, moto_server: LocalService
):
    retire_instances(moto_server)
    settings = {"AZMIGRATE_EVENT_TYPE_PREFIX": PREFIX, "AZMIGRATE_CUTOVER_MODE": "approval"}
    with running_estate(azurite, moto_server, event_grid=True, settings=settings) as estate:
        vm = launch(estate, {"azmigrate:enabled": "true", "azmigrate:wave": "w9"})
        estate.host.topic_down = True  # a crash between write and publish looks the same to the record
        estate.post("/api/ec2-events", tag_event(vm))
        drive(estate, [vm], {"agent_install", "awaiting_discovery", "queued", "enabling"})
        kept = estate.record(vm)["outbox"]
        assert kept and ours(estate, vm) == []  # written with the transitions, not published
        estate.host.topic_down = False
        drive(estate, [vm], {"ready_for_cutover"}, seconds=90)
        assert estate.post(f"/api/migrations/{vm}/approve")[0] == 200
        drive(estate, [vm], {"done"}, seconds=90)
        events = ours(estate, vm)
        assert estate.record(vm)["outbox"] == []
        by_id: dict[str, dict[str, Any]] = {}
        for event in events:  # at least once; a repeat (a writer lost a race) is the same event
            assert by_id.setdefault(event["id"], event)["data"] == event["data"]
        events = list(by_id.values())
        assert {e["id"] for e in events} >= {e["id"] for e in kept}  # what waited went out
        timeline = estate.get(f"/api/migrations/{vm}")[1]["timeline"]
        moves = [
            (t["from_phase"], t["to_phase"])
            for t in timeline
            if t["from_phase"] and t["to_phase"] != t["from_phase"]
        ]
        changes = sorted((e for e in events if e["type"] == f"{PREFIX}.phase.changed"), key=version)
        assert [(e["data"]["previousPhase"], e["data"]["phase"]) for e in changes] == moves
        kinds = [e["type"].removeprefix(f"{PREFIX}.") for e in events]
        assert (kinds.count("approval.requested"), kinds.count("migration.completed")) == (1, 1)
        request = next(e for e in events if e["type"].endswith("approval.requested"))
        assert request["data"]["waitingFor"]["kind"] == "approval" and request["data"]["wave"] == "w9"
        assert all(e["specversion"] == "1.0" and e["source"] for e in events)
        assert estate.host.delivery_failures == []  # the app's own trigger drops them, never raises
