"""Job events through Event Grid and Azure Monitor alerts, end to end through the local host."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from local.estate import Estate, running_estate, tag_event
from local.stack import Azurite, LocalService
from tests.e2e.test_ec2_events import launch

pytestmark = pytest.mark.integration


@pytest.fixture
def estate(azurite: Azurite, moto_server: LocalService) -> Iterator[Estate]:
    with running_estate(azurite, moto_server, event_grid=True) as running:
        yield running


def test_job_changes_reach_the_app_through_the_event_grid_topic(estate: Estate):
    vm = launch(estate, {"azmigrate:enabled": "true"})
    estate.post("/api/ec2-events", tag_event(vm))
    for _ in range(30):  # drive the VM until Site Recovery has jobs for it
        estate.run_timer("reconcile_timer")
        if any(job.item_name.endswith(vm) for job in estate.sim.vault.jobs.values()):
            break
    estate.run_timer("job_watch")
    delivered = estate.host.delivered
    assert delivered, "the job watcher published nothing"
    assert all(e["type"] == "MigrationAutopilot.AsrJob.StateChanged" for e in delivered)
    # The timer's discovery also takes in instances other tests left tagged in the shared moto:
    # every job published is of a VM this estate migrates, ours among them.
    published = {e["data"]["instanceId"] for e in delivered}
    assert vm in published and all(estate.record(i)["instance_id"] == i for i in published)
    for _ in range(3):  # more watches: new states may appear (time runs), but never one twice
        estate.run_timer("job_watch")
    seen = [(e["data"]["jobId"], e["data"]["state"]) for e in estate.host.delivered]
    assert len(seen) == len(set(seen))


def test_an_alert_naming_one_of_our_items_reconciles_that_vm(estate: Estate):
    vm = launch(estate, {"azmigrate:enabled": "true"})
    estate.post("/api/ec2-events", tag_event(vm))
    alert = {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {
                "alertRule": "ASR replication health",
                "severity": "Sev1",
                "alertTargetIDs": [
                    f"/subscriptions/x/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v"
                    f"/replicationFabrics/f/replicationProtectionContainers/c/replicationProtectedItems/azmigrate-{vm}"
                ],
                "configurationItems": [f"azmigrate-{vm}"],
            },
            "alertContext": {},
        },
    }
    status, body = estate.post("/api/asr-alerts", json.dumps(alert).encode())
    assert (status, body["instances"]) == (202, [vm])


@pytest.mark.parametrize("body", [b"not json", json.dumps({"schemaId": "something-else"}).encode()])
def test_alerts_in_another_schema_are_refused(estate: Estate, body: bytes):
    status, answer = estate.post("/api/asr-alerts", body)
    assert (status, answer["error"]["code"]) == (400, "InvalidAlert")
