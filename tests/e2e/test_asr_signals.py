"""Job events through Event Grid and Azure Monitor alerts, end to end through the local host."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.estate import RG, SUB, VAULT, Estate, running_estate, tag_event
from local.stack import Azurite, LocalService
from tests.e2e.test_ec2_events import launch

pytestmark = pytest.mark.integration
JOB_EVENT = "MigrationAutopilot.AsrJob.StateChanged"
VAULT_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.RecoveryServices/vaults/{VAULT}"
FOREIGN_VAULT = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.RecoveryServices/vaults/other"
SAMPLES = Path(__file__).parents[1] / "contract" / "vendor" / "alerts" / "common-alert-schema.json"


def alert_about(targets: list[str] | None, *, sample: str = "metric") -> bytes:
    """One of Microsoft's sample alerts (tests/contract/README.md), with these targets (None: its own)."""
    alert = json.loads(SAMPLES.read_text())[sample]
    if targets is not None:
        alert["data"]["essentials"]["alertTargetIDs"] = targets
    return json.dumps(alert).encode()


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
    jobs = [e for e in delivered if e["type"] == JOB_EVENT]
    assert jobs, "no job event among what the topic delivered"  # the rest: the transition events
    # The timer's discovery also takes in instances other tests left tagged in the shared moto:
    # every job published is of a VM this estate migrates, ours among them.
    published = {e["data"]["instanceId"] for e in jobs}
    assert vm in published and all(estate.record(i)["instance_id"] == i for i in published)
    for _ in range(3):  # more watches: new states may appear (time runs), but never one twice
        estate.run_timer("job_watch")
    seen = [(e["data"]["jobId"], e["data"]["state"]) for e in estate.host.delivered if e["type"] == JOB_EVENT]
    assert len(seen) == len(set(seen))
    assert estate.host.delivery_failures == []


@pytest.fixture
def quiet(azurite: Azurite, moto_server: LocalService) -> Iterator[Estate]:
    """No queue workers: the work an alert queued stays on the queue, to be looked at."""
    with running_estate(azurite, moto_server, queues=False) as running:
        yield running


def test_an_alert_naming_one_of_our_items_reconciles_that_vm_only(quiet: Estate):
    vm = "i-0123456789abcdef0"
    container = f"{VAULT_ID}/replicationFabrics/f/replicationProtectionContainers/c"
    item = f"{container}/replicationProtectedItems/azmigrate-{vm}"
    other_vault = f"{FOREIGN_VAULT}/replicationProtectedItems/azmigrate-i-0fedcba9876543210"
    status, body = quiet.post(
        "/api/asr-alerts", alert_about([item.lower(), other_vault])
    )  # ids come lowercased
    assert (status, body["instances"]) == (202, [vm])
    assert [work["instances"] for work in quiet.queued()] == [[vm]]


@pytest.mark.parametrize(
    ("sample", "targets"),
    [
        ("metric", None),  # a VM's CPU alert, as Microsoft's sample sends it
        ("activityLog", None),
        ("serviceHealth", None),  # a subscription as the target, no configurationItems
        ("metric", [f"{FOREIGN_VAULT}/replicationProtectedItems/azmigrate-i-0123456789abcdef0"]),
        ("metric", [VAULT_ID]),  # our vault, but no item of ours named
        ("metric", []),
    ],
)
def test_an_alert_about_anything_else_is_acknowledged_and_starts_no_work(
    quiet: Estate, sample: str, targets: list[str] | None
):
    status, body = quiet.post("/api/asr-alerts", alert_about(targets, sample=sample))
    assert (status, body["accepted"], body["instances"]) == (200, False, [])
    assert quiet.queued() == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        json.dumps({"schemaId": "something-else"}).encode(),
        json.dumps({"schemaId": "azureMonitorCommonAlertSchema", "data": "essentials"}).encode(),
        json.dumps({"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": []}}).encode(),
        alert_about("not a list"),  # type: ignore[arg-type]
    ],
)
def test_alerts_in_another_schema_are_refused(quiet: Estate, body: bytes):
    status, answer = quiet.post("/api/asr-alerts", body)
    assert (status, answer["error"]["code"]) == (400, "InvalidAlert")
    assert quiet.queued() == []
