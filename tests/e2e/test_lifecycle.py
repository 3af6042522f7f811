"""The lifecycle through the app's entry points: events in over HTTP, timers run by the local host."""

from __future__ import annotations

from collections import Counter

import pytest

from local.estate import tag_event
from local.stack import aws_client
from tests.e2e.driving import STEPS, asr_actions, drive, estate_with
from tests.e2e.test_ec2_events import launch

pytestmark = pytest.mark.integration
__all__ = ["estate_with"]  # the fixture


@pytest.mark.parametrize("provider", ["InMageRcm", "InMageAzureV2"])
def test_happy_path_through_the_entry_points(estate_with, provider: str):
    estate = estate_with(AZMIGRATE_ASR_PROVIDER=provider)
    vm = launch(estate, {"azmigrate:enabled": "true"})
    assert estate.post("/api/ec2-events", tag_event(vm))[0] == 202
    drive(estate, [vm], {"done"})
    assert asr_actions(estate, vm) == Counter({"PUT": 1, **dict.fromkeys(STEPS, 1)})
    assert estate.sim.vault.jobs  # and the item was of the provider asked for
    assert {j.fabric_id.rsplit("/", 1)[-1] for j in estate.sim.vault.jobs.values()} == {
        "rcm-fabric" if provider == "InMageRcm" else "vmware-fabric"
    }


def test_opt_out_mid_replication_through_a_tag_event(estate_with):
    estate = estate_with()
    vm = launch(estate, {"azmigrate:enabled": "true", "azmigrate:cutover": "approval"})
    estate.post("/api/ec2-events", tag_event(vm))
    drive(estate, [vm], {"ready_for_cutover"})
    aws_client(estate.moto.url, "ec2").delete_tags(Resources=[vm], Tags=[{"Key": "azmigrate:enabled"}])
    assert estate.post("/api/ec2-events", tag_event(vm, keys=("azmigrate:enabled",)))[0] == 202
    drive(estate, [vm], {"opted_out"})
    assert asr_actions(estate, vm)["remove"] == 1
    assert f"azmigrate-{vm}" not in estate.sim.vault.items


def test_approval_through_the_api_releases_the_cutover(estate_with):
    estate = estate_with()
    vm = launch(estate, {"azmigrate:enabled": "true", "azmigrate:cutover": "approval"})
    estate.post("/api/ec2-events", tag_event(vm))
    drive(estate, [vm], {"ready_for_cutover"})
    drive(estate, [vm], {"ready_for_cutover"}, at_least=3)  # however many passes: it waits
    assert asr_actions(estate, vm)["unplannedFailover"] == 0
    status, body = estate.post(f"/api/migrations/{vm}/approve")
    assert (status, body["command"], body["changed"]) == (200, "approve", True)
    drive(estate, [vm], {"done"})
    approvals = [e for e in estate.get(f"/api/migrations/{vm}")[1]["timeline"] if e["event"] == "approved"]
    assert [e["actor"] for e in approvals] == ["key:operator"]


def test_a_failing_test_failover_then_a_failing_migration_still_end_migrated(estate_with):
    estate = estate_with(AZMIGRATE_RETRY_BACKOFF_SECONDS="1")
    estate.sim.vault.faults.update({"failScenarios": {"TestFailover": 1, "UnplannedFailover": 1}})
    vm = launch(estate, {"azmigrate:enabled": "true"})
    estate.post("/api/ec2-events", tag_event(vm))
    drive(estate, [vm], {"done"}, seconds=90)
    actions = asr_actions(estate, vm)
    assert (actions["testFailover"], actions["unplannedFailover"]) == (
        3,
        2,
    )  # retried test; re-tested after rollback
    events = [e["event"] for e in estate.get(f"/api/migrations/{vm}")[1]["timeline"]]
    assert "rolled_back" in events


def test_two_concurrent_passes_and_duplicate_events_do_each_action_once(estate_with):
    estate = estate_with()
    vms = [launch(estate, {"azmigrate:enabled": "true"}) for _ in range(3)]
    for vm in vms:
        event = tag_event(vm)
        assert estate.post("/api/ec2-events", event)[1]["duplicate"] is False
        assert estate.post("/api/ec2-events", event)[1]["duplicate"] is True
    drive(estate, vms, {"done"}, parallel=2, seconds=120)  # each pass waits for two fan-outs
    for vm in vms:
        assert asr_actions(estate, vm) == Counter({"PUT": 1, **dict.fromkeys(STEPS, 1)}), vm
