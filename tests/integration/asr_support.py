# mypy: disable-error-code="union-attr,arg-type,index,return-value"
# (SDK models type every field Optional; a None here fails the test at run time, which is the check.)
"""Helpers for driving the ASR simulator with the real SDK: client, admin calls, provider inputs."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import AccessToken
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient
from azure.mgmt.recoveryservicessiterecovery import models as asr

from local.asr_simulator.server import Simulator
from shared.adapters.azure_http import LoopbackHttpPolicy
from shared.adapters.compute import ComputeAdapter

SUB, RG, VAULT = "00000000-0000-0000-0000-000000000001", "rg-migrate", "demo-MigrateVault-1"
TARGET_RG = f"/subscriptions/{SUB}/resourceGroups/rg-target"
TARGET_VNET = f"{TARGET_RG}/providers/Microsoft.Network/virtualNetworks/vnet-prod"
TEST_VNET = f"{TARGET_RG}/providers/Microsoft.Network/virtualNetworks/vnet-test"


class StaticToken:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("local-token", 4_102_444_800)


def sdk_client(sim: Simulator, **kwargs: Any) -> SiteRecoveryManagementClient:
    return SiteRecoveryManagementClient(
        StaticToken(),
        SUB,
        base_url=sim.url,
        per_call_policies=[LoopbackHttpPolicy()],
        polling_interval=0.01,
        **kwargs,
    )


def compute_adapter(sim: Simulator) -> ComputeAdapter:
    """The Compute adapter over the real SDK, against the simulator's Compute side."""
    client = ComputeManagementClient(
        StaticToken(), SUB, base_url=sim.url, per_call_policies=[LoopbackHttpPolicy()]
    )
    return ComputeAdapter(client)


def admin(sim: Simulator, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{sim.url}{path}", data=data, method="POST" if body is not None else "GET"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def advance(sim: Simulator, seconds: float) -> None:
    admin(sim, "/admin/clock", {"advanceSeconds": seconds})


def register(
    sim: Simulator, n: int, provider: str = "InMageRcm", sizes: tuple[float, ...] = (64, 128)
) -> str:
    """Registers a machine's agent; returns its BIOS id (the machine's ARM name)."""
    bios = f"ec2{n:05d}-0000-0000-0000-000000000000"
    admin(
        sim,
        "/admin/machines",
        {
            "biosId": bios,
            "displayName": f"web-{n}",
            "ipAddress": f"10.0.0.{n}",
            "osType": "Linux",
            "provider": provider,
            "disks": [{"id": f"disk-{i}", "sizeGb": size} for i, size in enumerate(sizes)],
        },
    )
    return bios


def ledger_202s(sim: Simulator) -> list[dict[str, Any]]:
    return [entry for entry in admin(sim, "/admin/ledger")["entries"] if entry["status"] == 202]


@dataclass(frozen=True)
class Provider:
    """Everything that differs between InMageRcm and classic when driving one item through."""

    name: str
    fabric_type: str

    def site(self, client: SiteRecoveryManagementClient) -> tuple[asr.Fabric, str, str]:
        """The provider's fabric, its container name and the mapped policy id."""
        fabric = next(
            f
            for f in client.replication_fabrics.list(RG, VAULT)
            if f.properties.custom_details.instance_type == self.fabric_type
        )
        container = next(
            iter(client.replication_protection_containers.list_by_replication_fabrics(RG, VAULT, fabric.name))
        )
        mapping = next(
            iter(
                client.replication_protection_container_mappings.list_by_replication_protection_containers(
                    RG, VAULT, fabric.name, container.name
                )
            )
        )
        return fabric, container.name, mapping.properties.policy_id

    def enable_input(
        self, client: SiteRecoveryManagementClient, bios: str, *, size: str = "Standard_D2s_v5"
    ) -> asr.EnableProtectionInput:
        fabric, container, policy_id = self.site(client)
        details = fabric.properties.custom_details
        if self.name == "InMageRcm":
            machine_id = f"{details.physical_site_id}/machines/{bios}"
            specific: Any = asr.InMageRcmEnableProtectionInput(
                fabric_discovery_machine_id=machine_id,
                process_server_id=details.process_servers[0].id,
                target_resource_group_id=TARGET_RG,
                target_network_id=TARGET_VNET,
                test_network_id=TEST_VNET,
                target_vm_name="web",
                target_vm_size=size,
            )
            return asr.EnableProtectionInput(
                properties=asr.EnableProtectionInputProperties(
                    policy_id=policy_id, provider_specific_details=specific
                )
            )
        protectable = next(
            p
            for p in client.replication_protectable_items.list_by_replication_protection_containers(
                RG, VAULT, fabric.name, container
            )
            if p.name == bios
        )
        specific = asr.InMageAzureV2EnableProtectionInput(
            process_server_id=details.process_servers[0].id,
            master_target_id=details.master_target_servers[0].id,
            run_as_account_id=details.run_as_accounts[0].account_id,
            target_azure_v2_resource_group_id=TARGET_RG,
            target_azure_network_id=TARGET_VNET,
            target_azure_vm_name="web",
            target_vm_size=size,
        )
        return asr.EnableProtectionInput(
            properties=asr.EnableProtectionInputProperties(
                policy_id=policy_id, protectable_item_id=protectable.id, provider_specific_details=specific
            )
        )

    def test_failover_input(self) -> asr.TestFailoverInput:
        specific: Any = (
            asr.InMageRcmTestFailoverInput(network_id=TEST_VNET)
            if self.name == "InMageRcm"
            else asr.InMageAzureV2TestFailoverInput()
        )
        return asr.TestFailoverInput(
            properties=asr.TestFailoverInputProperties(
                failover_direction="PrimaryToRecovery",
                network_type="VmNetworkAsInput",
                network_id=TEST_VNET,
                provider_specific_details=specific,
            )
        )

    def failover_input(self) -> asr.UnplannedFailoverInput:
        specific: Any = (
            asr.InMageRcmUnplannedFailoverInput(perform_shutdown="false")
            if self.name == "InMageRcm"
            else asr.InMageAzureV2UnplannedFailoverInput()
        )
        return asr.UnplannedFailoverInput(
            properties=asr.UnplannedFailoverInputProperties(
                failover_direction="PrimaryToRecovery",
                source_site_operations="NotRequired",
                provider_specific_details=specific,
            )
        )

    def progress(self, item: asr.ReplicationProtectedItem) -> int:
        details: Any = item.properties.provider_specific_details
        if self.name == "InMageRcm":
            return int(details.initial_replication_progress_percentage)
        return int(details.resync_progress_percentage)


RCM = Provider("InMageRcm", "InMageRcm")
CLASSIC = Provider("InMageAzureV2", "VMware")
CLEANUP = asr.TestFailoverCleanupInput(
    properties=asr.TestFailoverCleanupInputProperties(comments="validated")
)
COMPLETE = asr.DisableProtectionInput(
    properties=asr.DisableProtectionInputProperties(disable_protection_reason="MigrationComplete")
)
