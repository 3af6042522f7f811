# mypy: disable-error-code="union-attr,operator,arg-type,return-value,assignment,index"
# (SDK models type every field Optional; a None here fails the test at run time, which is the check.)
"""The ASR simulator driven by the real SiteRecoveryManagementClient 2.0.0 over HTTP on loopback."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.core.rest import HttpRequest
from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient
from azure.mgmt.recoveryservicessiterecovery import models as asr

from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Vault
from local.asr_simulator.server import OFFAZURE_API_VERSION, Simulator

pytestmark = pytest.mark.integration
SUB, RG, VAULT = "00000000-0000-0000-0000-000000000001", "rg-migrate", "demo-MigrateVault-1"
TARGET_RG = f"/subscriptions/{SUB}/resourceGroups/rg-target"
TEST_VNET = f"{TARGET_RG}/providers/Microsoft.Network/virtualNetworks/vnet-test"


class StaticToken:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("local-token", 4_102_444_800)


class LoopbackHttp(SansIOHTTPPolicy[Any, Any]):
    """Lets the bearer policy send a token over plain http: only ever for a loopback simulator."""

    def on_request(self, request: PipelineRequest[Any]) -> None:
        request.context["enforce_https"] = False


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    vault = Vault(SUB, RG, VAULT, SimClock(scale=0), job_seconds=30, bandwidth_mb_per_s=100)
    sim = Simulator(vault, page_size=100, retry_after=0).start()
    yield sim
    sim.stop()


@pytest.fixture
def client(simulator: Simulator) -> Iterator[SiteRecoveryManagementClient]:
    sdk = SiteRecoveryManagementClient(
        StaticToken(), SUB, base_url=simulator.url, per_call_policies=[LoopbackHttp()], polling_interval=0.01
    )
    yield sdk
    sdk.close()


def admin(sim: Simulator, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"{sim.url}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method="POST" if body else "GET",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def advance(sim: Simulator, seconds: float) -> None:
    admin(sim, "/admin/clock", {"advanceSeconds": seconds})


def register(sim: Simulator, n: int = 1, sizes: tuple[float, ...] = (64, 128)) -> str:
    machine = admin(
        sim,
        "/admin/machines",
        {
            "biosId": f"ec2{n:05d}-0000-0000-0000-000000000000",
            "displayName": f"web-{n}",
            "ipAddress": f"10.0.0.{n}",
            "osType": "Linux",
            "disks": [{"id": f"disk-{i}", "sizeGb": size} for i, size in enumerate(sizes)],
        },
    )
    return str(machine["id"])


def enable_input(
    client: SiteRecoveryManagementClient, sim: Simulator, machine_id: str
) -> asr.EnableProtectionInput:
    fabric = next(iter(client.replication_fabrics.list(RG, VAULT)))
    details = fabric.properties.custom_details
    assert isinstance(details, asr.InMageRcmFabricSpecificDetails)
    mapping = next(
        iter(
            client.replication_protection_container_mappings.list_by_replication_protection_containers(
                RG, VAULT, fabric.name, sim.vault.container
            )
        )
    )
    return asr.EnableProtectionInput(
        properties=asr.EnableProtectionInputProperties(
            policy_id=mapping.properties.policy_id,
            provider_specific_details=asr.InMageRcmEnableProtectionInput(
                fabric_discovery_machine_id=machine_id,
                process_server_id=details.process_servers[0].id,
                target_resource_group_id=TARGET_RG,
                target_vm_name="web-1",
                target_vm_size="Standard_D2s_v5",
                test_network_id=TEST_VNET,
            ),
        )
    )


def test_full_inmagercm_sequence_through_the_sdk(client: SiteRecoveryManagementClient, simulator: Simulator):
    sim, fabric, container = simulator, simulator.vault.fabric, simulator.vault.container
    machine_id = register(sim)
    site = client.replication_fabrics.get(RG, VAULT, fabric).properties.custom_details.physical_site_id
    discovered = client.send_request(
        HttpRequest("GET", f"{sim.url}{site}/machines?api-version={OFFAZURE_API_VERSION}")
    )
    assert [m["id"] for m in discovered.json()["value"]] == [machine_id]

    poller = client.replication_protected_items.begin_create(
        RG, VAULT, fabric, container, "ec2-i-0001", enable_input(client, sim, machine_id)
    )
    advance(sim, 30)
    item = poller.result(timeout=30)
    assert item.name == "ec2-i-0001"
    assert item.properties.protection_state == "InitialReplicationInProgress"
    rcm = item.properties.provider_specific_details
    assert isinstance(rcm, asr.InMageRcmReplicationDetails)
    assert rcm.initial_replication_progress_percentage == 0
    assert rcm.target_vm_size == "Standard_D2s_v5"
    assert rcm.fabric_discovery_machine_id == machine_id

    advance(sim, 1_000)  # 100 MB/s over 192 GiB: about half way
    rcm = client.replication_protected_items.get(
        RG, VAULT, fabric, container, "ec2-i-0001"
    ).properties.provider_specific_details
    assert 40 <= rcm.initial_replication_progress_percentage <= 60
    assert {d.disk_state for d in rcm.protected_disks} == {"InitialReplicationPending"}

    advance(sim, 2_000)
    item = client.replication_protected_items.get(RG, VAULT, fabric, container, "ec2-i-0001")
    assert item.properties.protection_state == "Protected"
    assert item.properties.allowed_operations == ["TestFailover", "UnplannedFailover", "DisableProtection"]
    assert item.properties.provider_specific_details.initial_replication_progress_percentage == 100
    assert {d.disk_state for d in item.properties.provider_specific_details.protected_disks} == {"Protected"}

    with pytest.raises(HttpResponseError) as refused:
        client.replication_protected_items.begin_test_failover_cleanup(
            RG,
            VAULT,
            fabric,
            container,
            "ec2-i-0001",
            asr.TestFailoverCleanupInput(
                properties=asr.TestFailoverCleanupInputProperties(comments="too early")
            ),
        )
    assert refused.value.status_code == 400
    assert refused.value.error is not None and refused.value.error.code == "OperationNotAllowed"

    poller = client.replication_protected_items.begin_test_failover(
        RG,
        VAULT,
        fabric,
        container,
        "ec2-i-0001",
        asr.TestFailoverInput(
            properties=asr.TestFailoverInputProperties(
                failover_direction="PrimaryToRecovery",
                network_type="VmNetworkAsInput",
                network_id=TEST_VNET,
                provider_specific_details=asr.InMageRcmTestFailoverInput(network_id=TEST_VNET),
            )
        ),
    )
    advance(sim, 30)
    item = poller.result(timeout=30)
    assert item.properties.test_failover_state == "WaitingForCompletion"
    assert item.properties.allowed_operations == ["TestFailoverCleanup"]

    poller = client.replication_protected_items.begin_test_failover_cleanup(
        RG,
        VAULT,
        fabric,
        container,
        "ec2-i-0001",
        asr.TestFailoverCleanupInput(properties=asr.TestFailoverCleanupInputProperties(comments="validated")),
    )
    advance(sim, 30)
    assert poller.result(timeout=30).properties.allowed_operations == [
        "TestFailover",
        "UnplannedFailover",
        "DisableProtection",
    ]

    poller = client.replication_protected_items.begin_unplanned_failover(
        RG,
        VAULT,
        fabric,
        container,
        "ec2-i-0001",
        asr.UnplannedFailoverInput(
            properties=asr.UnplannedFailoverInputProperties(
                failover_direction="PrimaryToRecovery",
                source_site_operations="NotRequired",
                provider_specific_details=asr.InMageRcmUnplannedFailoverInput(perform_shutdown="false"),
            )
        ),
    )
    advance(sim, 30)
    item = poller.result(timeout=30)
    assert item.properties.protection_state == "UnplannedFailoverCommitPendingStatesBegin"
    assert item.properties.active_location == "Recovery"

    poller = client.replication_protected_items.begin_failover_commit(
        RG, VAULT, fabric, container, "ec2-i-0001"
    )
    advance(sim, 30)
    assert poller.result(timeout=30).properties.protection_state == "UnplannedFailoverCommitted"

    poller = client.replication_protected_items.begin_delete(
        RG,
        VAULT,
        fabric,
        container,
        "ec2-i-0001",
        asr.DisableProtectionInput(
            properties=asr.DisableProtectionInputProperties(disable_protection_reason="MigrationComplete")
        ),
    )
    advance(sim, 30)
    assert poller.result(timeout=30) is None
    with pytest.raises(ResourceNotFoundError):
        client.replication_protected_items.get(RG, VAULT, fabric, container, "ec2-i-0001")

    jobs = list(client.replication_jobs.list(RG, VAULT))
    assert [j.properties.scenario_name for j in sorted(jobs, key=lambda j: j.properties.start_time)] == [
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
        assert job.properties.tasks and job.properties.tasks[0].state == "Succeeded"

    mutations = Counter(
        (e["method"], e["path"].rsplit("/", 1)[-1])
        for e in admin(sim, "/admin/ledger")["entries"]
        if e["status"] == 202
    )
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


def test_items_and_jobs_page_past_100_and_jobs_filter(
    client: SiteRecoveryManagementClient, simulator: Simulator
):
    sim = simulator
    for n in range(1, 131):
        machine_id = register(sim, n, sizes=(1,))
        if n == 1:
            template = enable_input(client, sim, machine_id)
        details = template.properties.provider_specific_details
        details.fabric_discovery_machine_id = machine_id
        client.replication_protected_items.begin_create(
            RG, VAULT, sim.vault.fabric, sim.vault.container, f"ec2-i-{n:04d}", template, polling=False
        )
    assert len(list(client.replication_protected_items.list(RG, VAULT))) == 130
    assert (
        sim.request_counts()["GET subscriptions/resourceGroups/providers/vaults/replicationProtectedItems"]
        == 2
    )
    assert len(list(client.replication_jobs.list(RG, VAULT, filter="JobStatus eq 'Succeeded'"))) == 0
    advance(sim, 30)
    assert len(list(client.replication_jobs.list(RG, VAULT, filter="JobStatus eq 'Succeeded'"))) == 130
    later = sim.vault.clock.now().isoformat()
    assert list(client.replication_jobs.list(RG, VAULT, filter=f"StartTime eq '{later}'")) == []
    with pytest.raises(HttpResponseError) as bad:
        list(client.replication_jobs.list(RG, VAULT, filter="Owner eq 'me'"))
    assert bad.value.status_code == 400


def test_request_counts_are_exact_under_concurrent_clients(simulator: Simulator):
    def hammer() -> None:
        for _ in range(50):
            admin(simulator, "/admin/clock")

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert simulator.request_counts()["GET admin"] == 400
