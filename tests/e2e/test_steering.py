"""Operators steer real migrations through the local host: a rollback of a failed cutover, the pause
tag from AWS, and a wave paused, resumed and approved while its VMs replicate."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from local.estate import Estate, tag_event
from local.fault_proxy import FaultProxy
from local.stack import LocalService, aws_client
from tests.e2e.test_ec2_events import launch
from tests.e2e.test_lifecycle import asr_actions, drive, estate_with, mutations, replicating_slowly

pytestmark = pytest.mark.integration
__all__ = ["estate_with"]  # the fixture, shared with the lifecycle tests
CUTOVER_PHASES = {"protected", "test_migration", "test_validation", "test_cleanup", "ready_for_cutover"}


def drive_until(estate: Estate, done: Callable[[], bool], seconds: float = 90) -> None:
    """Runs the reconcile timer until `done`, polling up to a deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        estate.run_timer("reconcile_timer")
        if done():
            return
    raise AssertionError("not reached before the deadline")


def ec2_state(estate: Estate, vm: str) -> str:
    reservations = aws_client(estate.moto.url, "ec2").describe_instances(InstanceIds=[vm])["Reservations"]
    return str(reservations[0]["Instances"][0]["State"]["Name"])


def timeline(estate: Estate, vm: str) -> list[dict[str, str]]:
    return list(estate.get(f"/api/migrations/{vm}")[1]["timeline"])


@pytest.fixture
def aws_proxy(moto_server: LocalService) -> Iterator[FaultProxy]:
    proxy = FaultProxy(moto_server.url).start()
    yield proxy
    proxy.stop()


def test_a_failed_cutover_whose_source_aws_would_not_start_is_rolled_back_by_an_operator(
    estate_with, aws_proxy: FaultProxy
):
    """The failover fails; the app's own start of the source is refused (IAM) until it gives up; the
    operator fixes the policy and rolls back: the instance runs again and replication is kept, so a
    retry migrates without enabling replication again."""
    estate = estate_with(
        AZMIGRATE_AWS_ENDPOINT_URL=aws_proxy.url,
        AZMIGRATE_RETRY_LIMIT="1",
        AZMIGRATE_RETRY_BACKOFF_SECONDS="1",
        AZMIGRATE_LEASE_SECONDS="30",
    )
    estate.sim.vault.faults.update({"failScenarios": {"UnplannedFailover": 1}})
    denied = "You are not authorized to perform this operation."
    aws_proxy.refuse("StartInstances", "UnauthorizedOperation", denied)
    vm = launch(estate, {"azmigrate:enabled": "true"})
    estate.post("/api/ec2-events", tag_event(vm))
    drive(estate, [vm], {"failed"}, seconds=90)
    assert estate.record(vm)["pending_action"]["action"] == "start_source"  # the app's own rollback
    status, body = estate.post(f"/api/migrations/{vm}/rollback")
    assert (status, body["changed"]) == (200, False)  # owed already: nothing to add
    drive_until(estate, lambda: estate.record(vm)["pending_action"] is None)  # it gave up (one lease)
    record = estate.record(vm)
    assert (record["last_error"]["code"], ec2_state(estate, vm)) == ("SourceNotStarted", "stopped")
    assert aws_proxy.refused >= 1

    aws_proxy.allow("StartInstances")  # the team fixed the policy
    status, body = estate.post(f"/api/migrations/{vm}/rollback", b'{"reason": "IAM fixed, INC-4711"}')
    assert (status, body["changed"], body["phase"]) == (200, True, "failed")
    assert estate.post(f"/api/migrations/{vm}/rollback")[1]["changed"] is False  # sent twice: one entry
    assert estate.post(f"/api/migrations/{vm}/retry")[0] == 409  # not while the start is owed
    drive_until(estate, lambda: estate.record(vm)["pending_action"] is None)
    assert ec2_state(estate, vm) == "running"
    assert f"azmigrate-{vm}" in estate.sim.vault.items  # replication kept
    assert "remove" not in asr_actions(estate, vm)
    steps = [(e["event"], e["actor"], e["reason"]) for e in timeline(estate, vm) if e["event"] == "rollback"]
    assert steps == [("rollback", "key:operator", "IAM fixed, INC-4711")]

    status, body = estate.post(f"/api/migrations/{vm}/retry")
    assert (status, body["phase"]) == (200, "ready_for_cutover")
    drive(estate, [vm], {"done"}, seconds=90)
    actions = asr_actions(estate, vm)
    assert (actions["PUT"], actions["unplannedFailover"]) == (1, 2)  # one replication, two failovers


def test_the_pause_tag_holds_a_replicating_vm_and_its_removal_resumes_it(estate_with):
    estate = estate_with()
    vm = launch(estate, {"azmigrate:enabled": "true"})
    complete_replication = replicating_slowly(estate, [vm])
    ec2 = aws_client(estate.moto.url, "ec2")
    ec2.create_tags(Resources=[vm], Tags=[{"Key": "azmigrate:pause", "Value": "true"}])
    estate.post("/api/ec2-events", tag_event(vm, keys=("azmigrate:pause",)))
    drive(estate, [vm], {"paused"})
    assert estate.record(vm)["paused_by_tag"] is True
    before = mutations(estate, vm)
    complete_replication()  # replication completes while the VM is held
    drive(estate, [vm], {"paused"}, at_least=6)  # fleet passes read a paused VM's tags alone
    assert mutations(estate, vm) == before
    status, body = estate.post(f"/api/migrations/{vm}/resume")
    assert (status, body["error"]["code"]) == (409, "CommandRefused")  # the tag holds it
    ec2.delete_tags(Resources=[vm], Tags=[{"Key": "azmigrate:pause"}])
    estate.post("/api/ec2-events", tag_event(vm, keys=("azmigrate:pause",)))
    drive(estate, [vm], {"done"})
    steps = [(e["event"], e["actor"]) for e in timeline(estate, vm) if e["event"] in {"pause", "resume"}]
    assert steps == [("pause", "reconciler"), ("resume", "reconciler")]


def test_a_wave_is_paused_resumed_and_approved_while_its_vms_migrate(estate_with):
    estate = estate_with(AZMIGRATE_CUTOVER_MODE="approval")
    wave = [launch(estate, {"azmigrate:enabled": "true", "azmigrate:wave": "w5"}) for _ in range(5)]
    other = launch(estate, {"azmigrate:enabled": "true", "azmigrate:wave": "w6"})
    complete_replication = replicating_slowly(estate, [*wave, other])

    status, body = estate.post("/api/waves/w5/pause", b'{"reason": "change freeze"}')
    assert (status, body["changed"]) == (200, 5)
    assert {(r["instanceId"], r["status"], r["phase"]) for r in body["results"]} == {
        (vm, 200, "paused") for vm in wave
    }
    before = {vm: mutations(estate, vm) for vm in wave}
    complete_replication()
    drive(estate, [other], {"ready_for_cutover"}, seconds=120)  # the other wave goes on meanwhile
    assert {estate.record(vm)["phase"] for vm in wave} == {"paused"}
    assert {vm: mutations(estate, vm) for vm in wave} == before

    status, body = estate.post("/api/waves/w5/resume")
    assert (status, body["changed"]) == (200, 5)
    drive(estate, wave, {"ready_for_cutover"}, seconds=120)  # approval mode: each waits
    status, body = estate.post("/api/waves/w5/approve", b'{"reason": "CAB-1234"}')
    assert (status, body["changed"]) == (200, 5)
    drive(estate, wave, {"done"}, seconds=120)
    assert estate.record(other)["phase"] == "ready_for_cutover"  # not in the wave: not approved
    for vm in wave:
        steps = [(e["event"], e["actor"]) for e in timeline(estate, vm) if e["actor"] == "key:operator"]
        assert steps == [("pause", "key:operator"), ("resume", "key:operator"), ("approved", "key:operator")]
