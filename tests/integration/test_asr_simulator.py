# mypy: disable-error-code="union-attr,operator,arg-type,return-value,assignment,index"
# (SDK models type every field Optional; a None here fails the test at run time, which is the check.)
"""The ASR simulator driven by the real SiteRecoveryManagementClient 2.0.0 over HTTP on loopback."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient
from azure.mgmt.recoveryservicessiterecovery import models as asr

from local.asr_simulator.server import OFFAZURE_API_VERSION, Simulator
from tests.integration.asr_support import (
    CLASSIC,
    CLEANUP,
    COMPLETE,
    RCM,
    RG,
    VAULT,
    Provider,
    admin,
    advance,
    ledger_202s,
    register,
)

pytestmark = pytest.mark.integration
PROTECTED_OPS = ["UnplannedFailover", "DisableProtection", "TestFailover"]  # as a real item recorded


@pytest.mark.parametrize("provider", [RCM, CLASSIC], ids=lambda p: p.name)
def test_full_sequence_through_the_sdk(
    client: SiteRecoveryManagementClient, simulator: Simulator, provider: Provider
):
    sim = simulator
    bios = register(sim, 1, provider.name)
    fabric, container, _ = provider.site(client)
    items = client.replication_protected_items

    poller = items.begin_create(
        RG, VAULT, fabric.name, container, "ec2-i-0001", provider.enable_input(client, bios)
    )
    advance(sim, 30)
    item = poller.result(timeout=30)
    assert item.name == "ec2-i-0001"
    assert item.properties.protected_item_type == provider.name
    assert item.properties.provider_specific_details.instance_type == provider.name
    assert item.properties.protection_state == "InitialReplicationInProgress"
    assert provider.progress(item) == 0

    advance(sim, 1_000)  # 100 MB/s over 192 GiB: about half way
    item = items.get(RG, VAULT, fabric.name, container, "ec2-i-0001")
    assert 40 <= provider.progress(item) <= 60
    assert item.properties.allowed_operations == ["DisableProtection"]  # as recorded during IR

    advance(sim, 2_000)
    item = items.get(RG, VAULT, fabric.name, container, "ec2-i-0001")
    assert item.properties.protection_state == "Protected"
    assert item.properties.allowed_operations == PROTECTED_OPS
    assert provider.progress(item) == 100

    with pytest.raises(HttpResponseError) as refused:
        items.begin_test_failover_cleanup(RG, VAULT, fabric.name, container, "ec2-i-0001", CLEANUP)
    assert refused.value.status_code == 400
    assert refused.value.error.code == "OperationNotAllowed"

    poller = items.begin_test_failover(
        RG, VAULT, fabric.name, container, "ec2-i-0001", provider.test_failover_input()
    )
    advance(sim, 30)
    item = poller.result(timeout=30)
    assert item.properties.test_failover_state == "WaitingForCompletion"
    assert item.properties.allowed_operations == ["TestFailoverCleanup"]

    poller = items.begin_test_failover_cleanup(RG, VAULT, fabric.name, container, "ec2-i-0001", CLEANUP)
    advance(sim, 30)
    assert poller.result(timeout=30).properties.allowed_operations == PROTECTED_OPS

    poller = items.begin_unplanned_failover(
        RG, VAULT, fabric.name, container, "ec2-i-0001", provider.failover_input()
    )
    advance(sim, 30)
    item = poller.result(timeout=30)
    assert item.properties.protection_state == "UnplannedFailoverCommitPendingStatesBegin"
    assert item.properties.active_location == "Recovery"

    poller = items.begin_failover_commit(RG, VAULT, fabric.name, container, "ec2-i-0001")
    advance(sim, 30)
    assert poller.result(timeout=30).properties.protection_state == "UnplannedFailoverCommitted"

    poller = items.begin_delete(RG, VAULT, fabric.name, container, "ec2-i-0001", COMPLETE)
    advance(sim, 30)
    assert poller.result(timeout=30) is None
    with pytest.raises(ResourceNotFoundError):
        items.get(RG, VAULT, fabric.name, container, "ec2-i-0001")

    jobs = sorted(client.replication_jobs.list(RG, VAULT), key=lambda j: j.properties.start_time)
    assert [j.properties.scenario_name for j in jobs] == [
        "EnableDr",
        "TestFailover",
        "TestFailoverCleanup",
        "UnplannedFailover",
        "CommitFailover",
        "DisableDr",
    ]
    for job in jobs:
        assert job.properties.state == "Succeeded"
        assert job.properties.end_time > job.properties.start_time
        assert job.properties.target_object_name == "web-1"
        assert job.properties.tasks[0].state == "Succeeded"

    mutations = Counter((e["method"], e["path"].rsplit("/", 1)[-1]) for e in ledger_202s(sim))
    assert mutations == Counter(
        {
            ("PUT", "ec2-i-0001"): 1,
            ("POST", "testFailover"): 1,
            ("POST", "testFailoverCleanup"): 1,
            ("POST", "unplannedFailover"): 1,
            ("POST", "failoverCommit"): 1,
            ("POST", "remove"): 1,
        }
    )


def test_inmagercm_details_and_discovery(client: SiteRecoveryManagementClient, simulator: Simulator):
    bios = register(simulator, 1)
    fabric, container, _ = RCM.site(client)
    details = fabric.properties.custom_details
    assert isinstance(details, asr.InMageRcmFabricSpecificDetails)
    assert details.process_servers[0].health == "Normal"
    url = f"{simulator.url}{details.physical_site_id}/machines?api-version={OFFAZURE_API_VERSION}"
    machines = client.send_request(HttpRequest("GET", url)).json()["value"]
    assert [m["properties"]["biosGuid"] for m in machines] == [bios.lower()]

    client.replication_protected_items.begin_create(
        RG, VAULT, fabric.name, container, "rcm-1", RCM.enable_input(client, bios), polling=False
    )
    advance(simulator, 3_000)
    item = client.replication_protected_items.get(RG, VAULT, fabric.name, container, "rcm-1")
    rcm = item.properties.provider_specific_details
    assert isinstance(rcm, asr.InMageRcmReplicationDetails)
    assert rcm.target_vm_size == "Standard_D2s_v5"
    assert rcm.fabric_discovery_machine_id == machines[0]["id"]
    assert rcm.last_rpo_in_seconds == 30
    assert {d.disk_state for d in rcm.protected_disks} == {"Protected"}
    assert rcm.mobility_agent_details.last_heartbeat_utc is not None
    appliances = list(client.replication_appliances.list(RG, VAULT))
    assert appliances[0].properties.provider_specific_details.appliances[0].fabric_arm_id == fabric.id


def test_classic_details_and_protectable_items(client: SiteRecoveryManagementClient, simulator: Simulator):
    bios = register(simulator, 2, "InMageAzureV2")
    fabric, container, _ = CLASSIC.site(client)
    vmware = fabric.properties.custom_details
    assert isinstance(vmware, asr.VMwareDetails)
    assert vmware.master_target_servers[0].id and vmware.run_as_accounts[0].account_name == "guest"
    [protectable] = client.replication_protectable_items.list_by_replication_protection_containers(
        RG, VAULT, fabric.name, container
    )
    assert isinstance(protectable.properties.custom_details, asr.VMwareVirtualMachineDetails)
    assert protectable.properties.custom_details.agent_installed == "true"
    assert protectable.properties.protection_status == "Unprotected"

    client.replication_protected_items.begin_create(
        RG, VAULT, fabric.name, container, "classic-1", CLASSIC.enable_input(client, bios), polling=False
    )
    advance(simulator, 3_000)
    item = client.replication_protected_items.get(RG, VAULT, fabric.name, container, "classic-1")
    classic = item.properties.provider_specific_details
    assert isinstance(classic, asr.InMageAzureV2ReplicationDetails)
    assert classic.recovery_azure_vm_size == "Standard_D2s_v5"
    assert classic.master_target_id == vmware.master_target_servers[0].id
    assert classic.protection_stage == "Protected"
    assert [d.disk_capacity_in_bytes for d in classic.protected_disks] == [64 * 1024**3, 128 * 1024**3]
    [protectable] = client.replication_protectable_items.list_by_replication_protection_containers(
        RG, VAULT, fabric.name, container
    )
    assert protectable.properties.protection_status == "Protected"
    assert protectable.properties.replication_protected_item_id == item.id


def test_enable_refuses_what_the_service_would(client: SiteRecoveryManagementClient, simulator: Simulator):
    bios = register(simulator, 1)
    fabric, container, _ = RCM.site(client)
    good = RCM.enable_input(client, bios)
    unknown = RCM.enable_input(client, bios)
    unknown.properties.provider_specific_details.fabric_discovery_machine_id += "0"
    with pytest.raises(HttpResponseError) as refused:
        client.replication_protected_items.begin_create(RG, VAULT, fabric.name, container, "x", unknown)
    assert refused.value.error.code == "DiscoveredMachineNotFound"
    client.replication_protected_items.begin_create(
        RG, VAULT, fabric.name, container, "x", good, polling=False
    )
    with pytest.raises(HttpResponseError) as twice:
        client.replication_protected_items.begin_create(RG, VAULT, fabric.name, container, "y", good)
    assert (twice.value.status_code, twice.value.error.code) == (409, "MachineAlreadyProtected")
    assert [e["item"] for e in ledger_202s(simulator)] == ["x"]


def test_update_changes_target_settings_and_purge_removes(
    client: SiteRecoveryManagementClient, simulator: Simulator
):
    bios = register(simulator, 1)
    fabric, container, _ = RCM.site(client)
    items = client.replication_protected_items
    items.begin_create(
        RG, VAULT, fabric.name, container, "u-1", RCM.enable_input(client, bios), polling=False
    )
    advance(simulator, 3_000)
    poller = items.begin_update(
        RG,
        VAULT,
        fabric.name,
        container,
        "u-1",
        asr.UpdateReplicationProtectedItemInput(
            properties=asr.UpdateReplicationProtectedItemInputProperties(
                provider_specific_details=asr.InMageRcmUpdateReplicationProtectedItemInput(
                    target_vm_size="Standard_D4s_v5"
                )
            )
        ),
    )
    advance(simulator, 30)
    item = poller.result(timeout=30)
    assert item.properties.provider_specific_details.target_vm_size == "Standard_D4s_v5"
    assert item.properties.allowed_operations == PROTECTED_OPS

    poller = items.begin_purge(RG, VAULT, fabric.name, container, "u-1")
    advance(simulator, 30)
    poller.result(timeout=30)
    with pytest.raises(ResourceNotFoundError):
        items.get(RG, VAULT, fabric.name, container, "u-1")


def test_items_and_jobs_page_past_100_and_jobs_filter(
    client: SiteRecoveryManagementClient, simulator: Simulator
):
    sim = simulator
    fabric, container, _ = RCM.site(client)
    for n in range(1, 131):
        bios = register(sim, n, sizes=(1,))
        client.replication_protected_items.begin_create(
            RG, VAULT, fabric.name, container, f"ec2-i-{n:04d}", RCM.enable_input(client, bios), polling=False
        )
    assert len(list(client.replication_protected_items.list(RG, VAULT))) == 130
    assert (
        sim.request_counts()["GET subscriptions/resourceGroups/providers/vaults/replicationProtectedItems"]
        == 2
    )
    assert list(client.replication_jobs.list(RG, VAULT, filter="jobStatus eq 'Succeeded'")) == []
    assert len(list(client.replication_jobs.list(RG, VAULT, filter="jobStatus eq 'NotStarted'"))) == 130
    advance(sim, 3)  # past the NotStarted tenth of a 30 s job
    assert len(list(client.replication_jobs.list(RG, VAULT, filter="jobStatus eq 'InProgress'"))) == 130
    advance(sim, 30)
    assert len(list(client.replication_jobs.list(RG, VAULT, filter="jobStatus eq 'Succeeded'"))) == 130
    later = sim.vault.clock.now().isoformat()
    assert list(client.replication_jobs.list(RG, VAULT, filter=f"startTime eq '{later}'")) == []
    for unknown in ("Owner eq 'me'", f"StartTime eq '{later}'"):  # not a field, not the spec's spelling
        with pytest.raises(HttpResponseError) as bad:
            list(client.replication_jobs.list(RG, VAULT, filter=unknown))
        assert bad.value.status_code == 400
    events = list(client.replication_events.list(RG, VAULT, filter="eventType eq 'JobStatus'"))
    assert len(events) == 130
    assert {e.properties.severity for e in events} == {"Info"}


def test_request_counts_are_exact_under_concurrent_clients(simulator: Simulator):
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            for _ in range(50):
                admin(simulator, "/admin/clock")
        except BaseException as error:  # a thread's failure must fail the test, not vanish
            errors.append(error)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert simulator.request_counts()["GET admin"] == 400
