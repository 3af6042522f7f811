# mypy: disable-error-code="union-attr,operator,arg-type,return-value,assignment,index"
"""Limits and faults of the simulator, met by the real SDK: throttling, 5xx, failed jobs, capacity."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient
from azure.mgmt.recoveryservicessiterecovery import models as asr

from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Vault
from local.asr_simulator.faults import FaultProfile
from local.asr_simulator.server import Simulator
from tests.integration.asr_support import (
    CLEANUP,
    RCM,
    RG,
    SUB,
    VAULT,
    admin,
    advance,
    ledger_202s,
    register,
    sdk_client,
)

pytestmark = pytest.mark.integration
PROTECTED_OPS = ["UnplannedFailover", "DisableProtection", "TestFailover"]  # as a real item recorded


def protected_item(client: SiteRecoveryManagementClient, sim: Simulator, n: int = 1) -> tuple[str, str, str]:
    bios = register(sim, n)
    fabric, container, _ = RCM.site(client)
    client.replication_protected_items.begin_create(
        RG, VAULT, fabric.name, container, f"item-{n}", RCM.enable_input(client, bios), polling=False
    )
    advance(sim, 3_000)
    return fabric.name, container, f"item-{n}"


@pytest.fixture
def throttled() -> Iterator[Simulator]:
    """A write bucket of 3 that refills 3 per second: the 4th write in a burst is throttled."""
    vault = Vault(SUB, RG, VAULT, SimClock(scale=0))
    sim = Simulator(vault, retry_after=0, limits={"writes": (3.0, 3.0)}).start()
    yield sim
    sim.stop()


def test_sdk_honours_retry_after_under_the_write_bucket_and_completes(throttled: Simulator):
    client = sdk_client(throttled)
    fabric, container, _ = RCM.site(client)
    inputs = [RCM.enable_input(client, register(throttled, n)) for n in range(1, 9)]
    for n, enable in enumerate(inputs, 1):
        client.replication_protected_items.begin_create(
            RG, VAULT, fabric.name, container, f"item-{n}", enable, polling=False
        )
    client.close()

    ledger = admin(throttled, "/admin/ledger")["entries"]
    throttled_puts = [e for e in ledger if e["status"] == 429]
    assert throttled_puts, "eight writes against a bucket of three must meet a 429"
    assert Counter(e["item"] for e in ledger_202s(throttled)) == {f"item-{n}": 1 for n in range(1, 9)}
    # After each 429 the same request came back no sooner than its Retry-After (>= 1 s).
    for refused in throttled_puts:
        retry = next(e for e in ledger if e["path"] == refused["path"] and e["real"] > refused["real"])
        assert retry["real"] - refused["real"] >= 0.95


def test_injected_server_errors_change_nothing_and_sdk_retries_through(simulator: Simulator):
    admin(simulator, "/admin/faults", {"serverErrorRate": 0.4})
    client = sdk_client(simulator, retry_backoff_factor=0.01)
    fabric, container, _ = RCM.site(client)
    for n in range(1, 11):
        client.replication_protected_items.begin_create(
            RG,
            VAULT,
            fabric.name,
            container,
            f"item-{n}",
            RCM.enable_input(client, register(simulator, n)),
            polling=False,
        )
    client.close()
    ledger = admin(simulator, "/admin/ledger")["entries"]
    assert {e["status"] for e in ledger} >= {202} and any(e["status"] in (500, 503) for e in ledger)
    assert Counter(e["item"] for e in ledger_202s(simulator)) == {f"item-{n}": 1 for n in range(1, 11)}


def test_failed_test_failover_needs_cleanup_then_succeeds(
    client: SiteRecoveryManagementClient, simulator: Simulator
):
    fabric, container, name = protected_item(client, simulator)
    admin(simulator, "/admin/faults", {"failScenarios": {"TestFailover": 1}})
    items = client.replication_protected_items
    poller = items.begin_test_failover(RG, VAULT, fabric, container, name, RCM.test_failover_input())
    advance(simulator, 30)
    with pytest.raises(HttpResponseError):
        poller.result(timeout=30)
    item = items.get(RG, VAULT, fabric, container, name)
    assert item.properties.test_failover_state == "Failed"
    assert item.properties.allowed_operations == ["TestFailoverCleanup"]
    [failed] = client.replication_jobs.list(RG, VAULT, filter="jobStatus eq 'Failed'")
    assert failed.properties.scenario_name == "TestFailover"
    assert failed.properties.errors[0].service_error_details.code == "InjectedFailure"
    assert [
        e.properties.severity
        for e in client.replication_events.list(RG, VAULT, filter="severity eq 'Critical'")
    ]

    poller = items.begin_test_failover_cleanup(RG, VAULT, fabric, container, name, CLEANUP)
    advance(simulator, 30)
    assert poller.result(timeout=30).properties.allowed_operations == PROTECTED_OPS
    poller = items.begin_test_failover(RG, VAULT, fabric, container, name, RCM.test_failover_input())
    advance(simulator, 30)
    assert poller.result(timeout=30).properties.test_failover_state == "WaitingForCompletion"


def test_failed_migration_leaves_the_item_protected_in_primary(
    client: SiteRecoveryManagementClient, simulator: Simulator
):
    fabric, container, name = protected_item(client, simulator)
    admin(simulator, "/admin/faults", {"failMachines": ["web-1"]})
    poller = client.replication_protected_items.begin_unplanned_failover(
        RG, VAULT, fabric, container, name, RCM.failover_input()
    )
    advance(simulator, 30)
    with pytest.raises(HttpResponseError):
        poller.result(timeout=30)
    item = client.replication_protected_items.get(RG, VAULT, fabric, container, name)
    assert item.properties.protection_state == "Protected"
    assert item.properties.active_location == "Primary"
    assert item.properties.allowed_operations == PROTECTED_OPS


def test_process_server_capacity_fails_the_extra_enable(
    client: SiteRecoveryManagementClient, simulator: Simulator
):
    admin(simulator, "/admin/faults", {"processServerCapacity": 1})
    protected_item(client, simulator, 1)
    fabric, container, _ = RCM.site(client)
    poller = client.replication_protected_items.begin_create(
        RG, VAULT, fabric.name, container, "item-2", RCM.enable_input(client, register(simulator, 2))
    )
    advance(simulator, 30)
    with pytest.raises(HttpResponseError):
        poller.result(timeout=30)
    item = client.replication_protected_items.get(RG, VAULT, fabric.name, container, "item-2")
    assert item.properties.protection_state == "EnablingFailed"  # as recorded
    assert item.properties.replication_health == "Critical"
    assert item.properties.health_errors[0].error_message == "The process server is at capacity."
    assert item.properties.allowed_operations == ["DisableProtection"]


def test_slow_scenarios_take_their_own_time():
    vault = Vault(SUB, RG, VAULT, SimClock(scale=0), faults=FaultProfile(slow_scenarios={"EnableDr": 600}))
    sim = Simulator(vault, retry_after=0, limits=None).start()
    try:
        client = sdk_client(sim)
        fabric, container, _ = RCM.site(client)
        client.replication_protected_items.begin_create(
            RG,
            VAULT,
            fabric.name,
            container,
            "slow",
            RCM.enable_input(client, register(sim, 1)),
            polling=False,
        )
        advance(sim, 300)
        [job] = client.replication_jobs.list(RG, VAULT)
        assert job.properties.state == "InProgress"
        advance(sim, 300)
        [job] = client.replication_jobs.list(RG, VAULT)
        assert job.properties.state == "Succeeded"
        client.close()
    finally:
        sim.stop()


def test_failed_update_leaves_the_settings_unchanged(
    client: SiteRecoveryManagementClient, simulator: Simulator
):
    fabric, container, name = protected_item(client, simulator)
    admin(simulator, "/admin/faults", {"failScenarios": {"UpdateVmProperties": 1}})
    resize = asr.UpdateReplicationProtectedItemInput(
        properties=asr.UpdateReplicationProtectedItemInputProperties(
            provider_specific_details=asr.InMageRcmUpdateReplicationProtectedItemInput(
                target_vm_size="Standard_E8s_v5"
            )
        )
    )
    poller = client.replication_protected_items.begin_update(RG, VAULT, fabric, container, name, resize)
    item = client.replication_protected_items.get(RG, VAULT, fabric, container, name)
    assert item.properties.provider_specific_details.target_vm_size == "Standard_D2s_v5"  # not while running
    advance(simulator, 30)
    with pytest.raises(HttpResponseError):
        poller.result(timeout=30)
    item = client.replication_protected_items.get(RG, VAULT, fabric, container, name)
    assert item.properties.provider_specific_details.target_vm_size == "Standard_D2s_v5"
    assert item.properties.allowed_operations == PROTECTED_OPS
