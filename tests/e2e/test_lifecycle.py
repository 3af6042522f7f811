"""The lifecycle through the app's entry points: events in over HTTP, timers run by the local host."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from local.estate import Estate, running_estate, tag_event
from local.stack import Azurite, LocalService, aws_client
from tests.e2e.test_ec2_events import launch

pytestmark = pytest.mark.integration
STEPS = ("testFailover", "testFailoverCleanup", "unplannedFailover", "failoverCommit", "remove")
FINISHED = {"done", "blocked", "failed", "opted_out"}


def drive(
    estate: Estate,
    vms: list[str],
    until: set[str],
    *,
    seconds: float = 60,
    parallel: int = 1,
    at_least: int = 1,
) -> None:
    """Runs the reconcile timer (in `parallel`) until every VM is in `until`, polling up to a deadline."""
    deadline = time.monotonic() + seconds
    passes = 0
    while time.monotonic() < deadline:
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            list(pool.map(lambda _: estate.run_timer("reconcile_timer"), range(parallel)))
        passes += 1
        if passes >= at_least and all(estate.record(vm)["phase"] in until for vm in vms):
            return
    raise AssertionError({vm: estate.record(vm)["phase"] for vm in vms})


def asr_actions(estate: Estate, vm: str) -> Counter[str]:
    item = f"azmigrate-{vm}"
    return Counter(
        e["path"].rsplit("/", 1)[-1] if e["method"] == "POST" else e["method"]
        for e in estate.sim.vault.ledger
        if e["status"] == 202 and e["item"] == item
    )


def retire_instances(moto: LocalService) -> None:
    """Terminates the instances earlier tests left in the worker's moto server: a new estate would
    take them in (their opt-in tags say yes) and they would take a failure injected for this test."""
    ec2 = aws_client(moto.url, "ec2")
    alive = [
        i["InstanceId"]
        for page in ec2.get_paginator("describe_instances").paginate()
        for reservation in page["Reservations"]
        for i in reservation["Instances"]
        if i["State"]["Name"] != "terminated"
    ]
    if alive:
        ec2.terminate_instances(InstanceIds=alive)


@pytest.fixture
def estate_with(azurite: Azurite, moto_server: LocalService) -> Iterator[Callable[..., Estate]]:
    stack: list[Any] = []
    retire_instances(moto_server)

    def make(**settings: str) -> Estate:
        context = running_estate(azurite, moto_server, settings=settings)
        stack.append(context)
        return context.__enter__()

    yield make
    for context in reversed(stack):
        context.__exit__(None, None, None)


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


def test_a_failed_vm_whose_opt_in_tag_is_removed_stops_replicating(estate_with):
    """FAILED is not a dead end for opt-out: the item (and its cost) goes when the team says so."""
    estate = estate_with(AZMIGRATE_RETRY_BACKOFF_SECONDS="1", AZMIGRATE_RETRY_LIMIT="1")
    estate.sim.vault.faults.update({"failScenarios": {"TestFailover": 5}})
    vm = launch(estate, {"azmigrate:enabled": "true"})
    estate.post("/api/ec2-events", tag_event(vm))
    drive(estate, [vm], {"failed"}, seconds=90)
    assert f"azmigrate-{vm}" in estate.sim.vault.items
    aws_client(estate.moto.url, "ec2").delete_tags(Resources=[vm], Tags=[{"Key": "azmigrate:enabled"}])
    estate.post("/api/ec2-events", tag_event(vm, keys=("azmigrate:enabled",)))
    drive(estate, [vm], {"opted_out"})
    assert asr_actions(estate, vm)["remove"] == 1
    assert f"azmigrate-{vm}" not in estate.sim.vault.items


def mutations(estate: Estate, vm: str) -> int:
    return sum(asr_actions(estate, vm).values())


def replicating_slowly(estate: Estate, vms: list[str]) -> Callable[[], None]:
    """Takes `vms` in and drives them into an initial replication that takes its time; the answer
    lets replication complete at the simulator's usual speed."""
    bandwidth = estate.sim.vault.bandwidth_gb_per_s
    estate.sim.vault.bandwidth_gb_per_s = bandwidth / 10_000
    for vm in vms:
        estate.post("/api/ec2-events", tag_event(vm))
    drive(estate, vms, {"initial_replication"}, seconds=120)

    def complete() -> None:
        estate.sim.vault.bandwidth_gb_per_s = bandwidth

    return complete


def test_a_paused_vm_sends_site_recovery_nothing_until_resumed(estate_with):
    estate = estate_with()
    vm = launch(estate, {"azmigrate:enabled": "true"})
    complete_replication = replicating_slowly(estate, [vm])
    status, body = estate.post(f"/api/migrations/{vm}/pause", b'{"reason": "change freeze"}')
    assert (status, body["phase"], body["changed"]) == (200, "paused", True)
    assert estate.post(f"/api/migrations/{vm}/pause")[1]["changed"] is False  # sent twice: one entry
    before = mutations(estate, vm)
    complete_replication()  # replication completes while the VM is paused:
    drive(estate, [vm], {"paused"}, at_least=6)  # unpaused, these passes would start a test failover
    assert estate.sim.vault.items[f"azmigrate-{vm}"].state.protection_state == "Protected"
    assert mutations(estate, vm) == before
    status, body = estate.post(f"/api/migrations/{vm}/resume")
    assert (status, body["changed"], body["phase"]) == (200, True, "initial_replication")  # as paused
    drive(estate, [vm], {"done"})
    timeline = estate.get(f"/api/migrations/{vm}")[1]["timeline"]
    paused = [(e["event"], e["actor"], e["reason"]) for e in timeline if e["event"] in {"pause", "resume"}]
    assert paused == [
        ("pause", "key:operator", "change freeze"),
        ("resume", "key:operator", "resume through the API"),
    ]


def test_a_failed_vm_retried_through_the_api_ends_migrated(estate_with):
    estate = estate_with(AZMIGRATE_RETRY_BACKOFF_SECONDS="1", AZMIGRATE_RETRY_LIMIT="1")
    estate.sim.vault.faults.update({"failScenarios": {"TestFailover": 1}})
    vm = launch(estate, {"azmigrate:enabled": "true"})
    estate.post("/api/ec2-events", tag_event(vm))
    drive(estate, [vm], {"failed"}, seconds=90)
    assert estate.record(vm)["failed_phase"] == "test_migration"
    status, body = estate.post(f"/api/migrations/{vm}/retry")
    assert (status, body["phase"]) == (200, "test_migration")
    drive(estate, [vm], {"done"}, seconds=90)


def test_a_protected_vm_cancelled_through_the_api_loses_its_item_and_then_refuses_commands(estate_with):
    estate = estate_with(AZMIGRATE_CUTOVER_MODE="approval")
    vm = launch(estate, {"azmigrate:enabled": "true"})
    estate.post("/api/ec2-events", tag_event(vm))
    drive(
        estate, [vm], {"protected", "test_migration", "test_validation", "test_cleanup", "ready_for_cutover"}
    )
    status, body = estate.post(f"/api/migrations/{vm}/cancel")
    assert (status, body["phase"]) == (200, "opting_out")
    drive(estate, [vm], {"opted_out"})
    assert f"azmigrate-{vm}" not in estate.sim.vault.items
    status, body = estate.post(f"/api/migrations/{vm}/pause")
    assert (status, body["error"]["code"]) == (409, "CommandRefused")
    assert estate.post(f"/api/migrations/{vm}/launch")[0] == 400
    assert estate.post("/api/migrations/i-0fedcba9876543210/pause")[0] == 404
