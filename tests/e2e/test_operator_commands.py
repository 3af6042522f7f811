"""Operators steer one VM through the local host: pause, retry and cancel, and an opt-out from
failed (FAILED is never a dead end)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from local.estate import Estate, tag_event
from local.stack import aws_client
from tests.e2e.driving import asr_actions, drive, estate_with, mutations, replicating_slowly
from tests.e2e.test_ec2_events import launch

pytestmark = pytest.mark.integration
__all__ = ["estate_with"]  # the fixture


def failed_in_test_migration(estate_with: Callable[..., Estate], failures: int) -> tuple[Estate, str]:
    """A VM that failed in test_migration: its test failovers made to fail (one try per step)."""
    estate = estate_with(AZMIGRATE_RETRY_BACKOFF_SECONDS="1", AZMIGRATE_RETRY_LIMIT="1")
    estate.sim.vault.faults.update({"failScenarios": {"TestFailover": failures}})
    vm = launch(estate, {"azmigrate:enabled": "true"})
    estate.post("/api/ec2-events", tag_event(vm))
    drive(estate, [vm], {"failed"}, seconds=90)
    assert estate.record(vm)["failed_phase"] == "test_migration"
    return estate, vm


def test_a_failed_vm_whose_opt_in_tag_is_removed_stops_replicating(estate_with):
    """FAILED is not a dead end for opt-out: the item (and its cost) goes when the team says so."""
    estate, vm = failed_in_test_migration(estate_with, failures=5)
    assert f"azmigrate-{vm}" in estate.sim.vault.items
    aws_client(estate.moto.url, "ec2").delete_tags(Resources=[vm], Tags=[{"Key": "azmigrate:enabled"}])
    estate.post("/api/ec2-events", tag_event(vm, keys=("azmigrate:enabled",)))
    drive(estate, [vm], {"opted_out"})
    assert asr_actions(estate, vm)["remove"] == 1
    assert f"azmigrate-{vm}" not in estate.sim.vault.items


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
    estate, vm = failed_in_test_migration(estate_with, failures=1)
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
