"""Operators steer real migrations through the local host: the pause tag from AWS, and a wave
paused, resumed and approved while its VMs replicate."""

from __future__ import annotations

import pytest

from local.estate import tag_event
from local.stack import aws_client
from tests.e2e.driving import drive, estate_with, mutations, replicating_slowly, timeline
from tests.e2e.test_ec2_events import launch

pytestmark = pytest.mark.integration
__all__ = ["estate_with"]  # the fixture


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
