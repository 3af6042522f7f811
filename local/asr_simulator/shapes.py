"""ARM JSON shapes of the vault's resources, as api-version 2025-08-01 returns them.

Every shape names only properties the spec names; the server leaves absent (None) values out, so it
never answers null. The contract tests check each answer against the vendored spec
(`local/asr_simulator/spec.py`).
Discovered machines are OffAzure ServerSites machines (api-version 2023-06-06): `biosGuid` in lower
case, `displayName`, `fqdn`, `networkAdapters[].ipAddressList`, as the OffAzure spec names them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from local.asr_simulator.engine import Vault
from local.asr_simulator.model import (
    CLASSIC,
    CURRENT_SCENARIO,
    GIB,
    IDLE_SCENARIO_START,
    RCM,
    Disk,
    Event,
    Item,
    Job,
    Machine,
    Site,
)
from local.asr_simulator.setup import MICROSOFT_AZURE, MappingState, PolicyState

VAULT_TYPE = "Microsoft.RecoveryServices/vaults"
CONTAINER_TYPE = f"{VAULT_TYPE}/replicationFabrics/replicationProtectionContainers"
AGENT_VERSION = "9.63.0.0"


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def compact(value: Any) -> Any:
    """The shape without its absent (None) values, at every depth: the simulator never answers null."""
    if isinstance(value, dict):
        return {key: compact(inner) for key, inner in value.items() if inner is not None}
    if isinstance(value, list):
        return [compact(inner) for inner in value]
    return value


def _appliance(vault: Vault) -> str:
    return f"{vault.name}-appliance"


def fabric(vault: Vault, site: Site) -> dict[str, Any]:
    heartbeat = iso(vault.clock.now())
    count = sum(1 for item in vault.items.values() if item.site == site)
    if site.provider == RCM:
        custom: dict[str, Any] = {
            "instanceType": RCM,
            "physicalSiteId": vault.site_id,
            "processServers": [
                {
                    "id": site.process_server_id,
                    "name": "appliance-ps",
                    "ipAddresses": ["127.0.0.1"],
                    "health": "Normal",
                    "lastHeartbeatUtc": heartbeat,
                    "protectedItemCount": count,
                }
            ],
            "replicationAgents": [{"id": "agent-1", "name": _appliance(vault), "health": "Normal"}],
        }
    else:
        custom = {
            "instanceType": "VMware",
            "processServers": [
                {
                    "id": site.process_server_id,
                    "friendlyName": _appliance(vault),
                    "ipAddress": "127.0.0.1",
                    "osType": "Windows",
                    "agentVersion": AGENT_VERSION,
                    "lastHeartbeat": heartbeat,
                    "machineCount": str(len(vault.machines[CLASSIC])),
                    "replicationPairCount": str(count),
                    "psServiceStatus": "Running",
                    "health": "None",
                }
            ],
            "masterTargetServers": [
                {
                    "id": site.master_target_id,
                    "name": _appliance(vault),
                    "ipAddress": "127.0.0.1",
                    "osType": "Windows",
                    "agentVersion": AGENT_VERSION,
                    "lastHeartbeat": heartbeat,
                    "diskCount": 0,
                }
            ],
            "runAsAccounts": [{"accountId": site.run_as_account_id, "accountName": "guest"}],
            "processServerCount": "1",
            "agentCount": str(len(vault.machines[CLASSIC])),
            "protectedServers": str(count),
        }
    return {
        "id": vault.fabric_id(site),
        "name": site.fabric,
        "type": f"{VAULT_TYPE}/replicationFabrics",
        "location": "eastus",
        "properties": {
            "friendlyName": _appliance(vault),
            "internalIdentifier": site.fabric,
            "health": "Normal",
            "customDetails": custom,
        },
    }


def container(vault: Vault, site: Site) -> dict[str, Any]:
    return {
        "id": vault.container_id(site),
        "name": site.container,
        "type": CONTAINER_TYPE,
        "properties": {
            "friendlyName": site.container,
            "fabricFriendlyName": _appliance(vault),
            "fabricType": site.provider if site.provider == RCM else "VMware",
            "protectedItemCount": sum(1 for item in vault.items.values() if item.site == site),
            "pairingStatus": "Paired",
            "role": "Primary",
        },
    }


def mapping(vault: Vault, site: Site, state: MappingState) -> dict[str, Any]:
    """As recorded for a real InMageRcm mapping (Azure CLI V2A_RCMInMage recording, seq 18)."""
    properties: dict[str, Any] = {
        "targetProtectionContainerId": MICROSOFT_AZURE,
        "targetProtectionContainerFriendlyName": MICROSOFT_AZURE,
        "health": "Normal",
        "healthErrorDetails": [],
        "policyId": f"{vault.prefix}/replicationPolicies/{state.policy}",
        "state": "Paired",
        "sourceProtectionContainerFriendlyName": site.container,
        "sourceFabricFriendlyName": _appliance(vault),
        "targetFabricFriendlyName": MICROSOFT_AZURE,
        "policyFriendlyName": state.policy,
    }
    if state.details:
        properties["providerSpecificDetails"] = dict(state.details)
    return {
        "id": vault.mapping_id(site, state.name),
        "name": state.name,
        "type": f"{CONTAINER_TYPE}/replicationProtectionContainerMappings",
        "properties": properties,
    }


def policy(vault: Vault, state: PolicyState) -> dict[str, Any]:
    """As recorded for a real InMageRcm policy (Azure CLI V2A_RCMInMage recording, seq 12)."""
    return {
        "id": f"{vault.prefix}/replicationPolicies/{state.name}",
        "name": state.name,
        "type": f"{VAULT_TYPE}/replicationPolicies",
        "properties": {
            "friendlyName": state.name,
            "providerSpecificDetails": {"instanceType": state.provider, **state.details},
        },
    }


def appliance(vault: Vault, site: Site) -> dict[str, Any]:
    heartbeat = iso(vault.clock.now())
    return {
        "id": f"{vault.prefix}/replicationAppliances/{_appliance(vault)}",
        "name": _appliance(vault),
        "type": f"{VAULT_TYPE}/replicationAppliances",
        "properties": {
            "providerSpecificDetails": {
                "instanceType": RCM,
                "appliances": [
                    {
                        "id": site.process_server_id,
                        "name": _appliance(vault),
                        "fabricArmId": vault.fabric_id(site),
                        "processServer": {
                            "id": site.process_server_id,
                            "name": "appliance-ps",
                            "health": "Normal",
                            "lastHeartbeatUtc": heartbeat,
                        },
                        "replicationAgent": {
                            "id": "agent-1",
                            "name": _appliance(vault),
                            "health": "Normal",
                            "lastHeartbeatUtc": heartbeat,
                        },
                    }
                ],
            }
        },
    }


def discovered_machine(vault: Vault, machine: Machine) -> dict[str, Any]:
    """An OffAzure ServerSites machine: the appliance's view of a server whose agent registered."""
    return {
        "id": vault.machine_id(machine.name),
        "name": machine.name,
        "type": "Microsoft.OffAzure/ServerSites/machines",
        "properties": {
            "displayName": machine.display_name,
            "biosGuid": machine.name.lower(),
            "fqdn": machine.hostname or None,
            "operatingSystemDetails": {"osType": machine.os_type},
            "networkAdapters": [
                {"nicId": "nic-0", "ipAddressList": [machine.ip_address], "ipAddressType": "Static"}
            ],
            "disks": [
                {
                    "name": d.name or d.disk_id,
                    "generatedId": d.disk_id,
                    "maxSizeInBytes": int(d.size_gb * GIB),
                }
                for d in machine.disks
            ],
            "applianceNames": [_appliance(vault)],
            "isDeleted": False,
        },
    }


def protectable_item(vault: Vault, site: Site, machine: Machine) -> dict[str, Any]:
    protected = next((item for item in vault.items.values() if item.machine.name == machine.name), None)
    return {
        "id": vault.protectable_item_id(site, machine.name),
        "name": machine.name,
        "type": f"{CONTAINER_TYPE}/replicationProtectableItems",
        "properties": {
            "friendlyName": machine.display_name,
            "protectionStatus": "Protected" if protected else "Unprotected",
            "replicationProtectedItemId": vault.item_id(protected) if protected else None,
            "supportedReplicationProviders": [CLASSIC],
            "protectionReadinessErrors": [],
            "customDetails": {
                "instanceType": "VMwareVirtualMachine",
                "agentGeneratedId": machine.name,
                "agentInstalled": "true",
                "agentVersion": AGENT_VERSION,
                "osType": machine.os_type,
                "ipAddress": machine.ip_address,
                "poweredOn": "true",
                "discoveryType": "PhysicalMachine",
                "diskDetails": [
                    {
                        "diskId": d.disk_id,
                        "diskName": d.name or d.disk_id,
                        "diskSizeInMB": str(int(d.size_gb * 1024)),
                        "diskType": "Basic",
                        "diskConfiguration": "OsDisk" if d.is_os else "DataDisk",
                    }
                    for d in machine.disks
                ],
            },
        },
    }


def item(vault: Vault, it: Item) -> dict[str, Any]:
    if it.scenario:
        job = vault.jobs[it.scenario[1]]
        scenario = {
            "scenarioName": CURRENT_SCENARIO.get(job.action, it.scenario[0]),
            "jobId": f"{vault.prefix}/replicationJobs/{it.scenario[1]}",
            "startTime": iso(it.scenario[2]),
        }
    else:  # as a real idle item says
        scenario = {
            "scenarioName": "None",
            "jobId": f"{vault.prefix}/replicationJobs/None",
            "startTime": IDLE_SCENARIO_START,
        }
    state = it.state
    return {
        "id": vault.item_id(it),
        "name": it.name,
        "type": f"{CONTAINER_TYPE}/replicationProtectedItems",
        "properties": {
            "friendlyName": it.machine.display_name,
            "protectedItemType": it.site.provider,
            "protectableItemId": vault.protectable_item_id(it.site, it.machine.name)
            if it.site.provider == CLASSIC
            else None,
            "primaryFabricFriendlyName": _appliance(vault),
            "primaryFabricProvider": it.site.provider if it.site.provider == RCM else "VMware",
            "recoveryFabricFriendlyName": "Microsoft Azure",
            "primaryProtectionContainerFriendlyName": it.site.container,
            "protectionState": state.protection_state,
            "protectionStateDescription": state.state_description,
            "activeLocation": state.active_location,
            "testFailoverState": state.test_failover_state,
            "testFailoverStateDescription": state.test_failover_state,
            "allowedOperations": list(state.allowed_operations),
            "replicationHealth": "Critical" if it.health_errors else "Normal",
            "healthErrors": list(it.health_errors),
            "policyId": vault.policy_id(it.site),
            "policyFriendlyName": vault.policy_id(it.site).rsplit("/", 1)[-1],
            "currentScenario": scenario,
            "providerSpecificDetails": _rcm_details(vault, it)
            if it.site.provider == RCM
            else _classic_details(vault, it),
        },
    }


def _progress(it: Item) -> int:
    total = it.machine.total_gb
    return 100 if total == 0 else int(100 * it.replicated_gb / total)


def _rcm_details(vault: Vault, it: Item) -> dict[str, Any]:
    details = it.details_in
    protected = it.protected_at is not None
    return {
        "instanceType": RCM,
        "internalIdentifier": it.internal_id,
        "fabricDiscoveryMachineId": details["fabricDiscoveryMachineId"],
        "discoveryType": "PhysicalServer",
        "processServerId": details["processServerId"],
        "processServerName": "appliance-ps",
        "runAsAccountId": details.get("runAsAccountId"),
        "osType": it.machine.os_type,
        "primaryNicIpAddress": it.machine.ip_address,
        "targetVmName": details.get("targetVmName") or it.machine.display_name,
        "targetVmSize": details.get("targetVmSize"),
        "targetResourceGroupId": details["targetResourceGroupId"],
        "targetNetworkId": details.get("targetNetworkId"),
        "testNetworkId": details.get("testNetworkId"),
        "licenseType": details.get("licenseType", "NoLicenseType"),
        "initialReplicationProgressPercentage": _progress(it),
        "initialReplicationProcessedBytes": int(it.replicated_gb * GIB),
        "initialReplicationTransferredBytes": int(it.replicated_gb * GIB),
        "initialReplicationProgressHealth": "InProgress" if it.replicating else "None",
        "resyncRequired": "false",
        "lastRpoInSeconds": 30 if protected else None,
        "lastRecoveryPointReceived": iso(vault.clock.now()) if protected else None,
        "protectedDisks": [
            {
                "diskId": d.disk_id,
                "diskName": d.name or d.disk_id,
                "isOSDisk": "true" if d.is_os else "false",
                "capacityInBytes": int(d.size_gb * GIB),
                "diskState": "Protected" if protected else "InitialReplicationPending",
                "diskType": disk_type,
            }
            for d, disk_type in disk_types(it)
        ],
        "mobilityAgentDetails": {
            "version": AGENT_VERSION,
            "lastHeartbeatUtc": iso(vault.clock.now()),
            "isUpgradeable": "false",
        },
    }


def _classic_details(vault: Vault, it: Item) -> dict[str, Any]:
    details = it.details_in
    protected = it.protected_at is not None
    stage = "Protected" if protected else "Resynchronization"
    return {
        "instanceType": CLASSIC,
        "vmId": it.internal_id,
        "protectionStage": stage,
        "vmProtectionState": it.state.protection_state,
        "vmProtectionStateDescription": it.state.state_description,
        "resyncProgressPercentage": _progress(it),
        "rpoInSeconds": 30 if protected else None,
        "ipAddress": it.machine.ip_address,
        "agentVersion": AGENT_VERSION,
        "lastHeartbeat": iso(vault.clock.now()),
        "processServerId": details["processServerId"],
        "processServerName": _appliance(vault),
        "masterTargetId": details["masterTargetId"],
        "osType": it.machine.os_type,
        "discoveryType": "PhysicalMachine",
        "recoveryAzureVMName": details.get("targetAzureVmName") or it.machine.display_name,
        "recoveryAzureVMSize": details.get("targetVmSize"),
        "recoveryAzureResourceGroupId": details["targetAzureV2ResourceGroupId"],
        "selectedRecoveryAzureNetworkId": details.get("targetAzureNetworkId"),
        "licenseType": details.get("licenseType", "NoLicenseType"),
        "totalProgressHealth": "InProgress" if it.replicating else "None",
        "lastRecoveryPointReceived": iso(vault.clock.now()) if protected else None,
        "protectedDisks": [
            {
                "diskId": d.disk_id,
                "diskName": d.name or d.disk_id,
                "protectionStage": stage,
                "resyncRequired": "false",
                "resyncProgressPercentage": _progress(it),
                "diskCapacityInBytes": int(d.size_gb * GIB),
            }
            for d, _ in disk_types(it)
        ],
    }


def disk_types(it: Item) -> list[tuple[Disk, str]]:
    """The item's protected disks with their types: those disksToInclude named, else every disk with
    disksDefault's type (classic: the enable's diskType)."""
    details = it.details_in
    chosen = {str(d.get("diskId")): str(d.get("diskType") or "") for d in details.get("disksToInclude") or []}
    default = (details.get("disksDefault") or {}).get("diskType") or details.get("diskType") or "Standard_LRS"
    if chosen:
        return [(d, chosen[d.disk_id] or default) for d in it.machine.disks if d.disk_id in chosen]
    return [(d, default) for d in it.machine.disks]


def job(vault: Vault, jb: Job) -> dict[str, Any]:
    state = jb.state_at(vault.clock.now())
    errors = jb.errors or ([_warning_detail(jb)] if jb.warning and jb.finished else [])
    return {
        "id": f"{vault.prefix}/replicationJobs/{jb.name}",
        "name": jb.name,
        "type": f"{VAULT_TYPE}/replicationJobs",
        "properties": {
            "activityId": jb.name,
            "scenarioName": jb.scenario,
            "friendlyName": jb.friendly_name,
            "state": state,
            "stateDescription": state,
            "tasks": [
                {
                    "taskId": f"{jb.name}-1",
                    "name": jb.scenario,
                    "friendlyName": jb.friendly_name,
                    "state": state,
                    "stateDescription": state,
                    "startTime": iso(jb.start),
                    "endTime": iso(jb.end),
                    "taskType": "TaskDetails",
                    "errors": errors,
                }
            ],
            "errors": errors,
            "startTime": iso(jb.start),
            "endTime": iso(jb.end),
            "allowedActions": [],
            "targetObjectId": jb.target_object_id,
            "targetObjectName": jb.target_object_name,
            "targetInstanceType": "ProtectionEntity",
            "customDetails": _job_details(vault, jb),
        },
    }


def _job_details(vault: Vault, jb: Job) -> dict[str, Any]:
    """A test failover's job names the test VM (FailoverJobDetails.protectedItemDetails[].testVmName,
    as the spec defines it); other jobs carry AsrJobDetails."""
    item = vault.items.get(jb.item_name)
    if jb.action != "testFailover" or item is None:
        return {"instanceType": "AsrJobDetails", "affectedObjectDetails": {}}
    test_vm = vault.test_vm_name(item)
    return {
        "instanceType": "FailoverJobDetails",
        "affectedObjectDetails": {},
        "protectedItemDetails": [
            {
                "name": item.name,
                "friendlyName": item.machine.display_name,
                "testVmName": test_vm,
                "testVmFriendlyName": test_vm,
                "networkConnectionStatus": "Connected",
            }
        ],
    }


def _warning_detail(jb: Job) -> dict[str, Any]:
    assert jb.warning is not None
    return {
        "serviceErrorDetails": {"code": jb.warning["code"], "message": jb.warning["message"]},
        "errorLevel": "Warning",
        "creationTime": iso(jb.end),
    }


def event(vault: Vault, ev: Event) -> dict[str, Any]:
    return {
        "id": f"{vault.prefix}/replicationEvents/{ev.name}",
        "name": ev.name,
        "type": f"{VAULT_TYPE}/replicationEvents",
        "properties": {
            "eventCode": ev.code,
            "description": ev.description,
            "eventType": ev.event_type,
            "affectedObjectFriendlyName": ev.affected,
            "severity": ev.severity,
            "timeOfOccurrence": iso(ev.at),
            "fabricId": ev.fabric_id,
            "healthErrors": [],
        },
    }


def operation_status(vault: Vault, jb: Job) -> dict[str, Any]:
    """As recorded: {name: the operation id, status, startTime, endTime, error}. Succeeded may carry an
    error (a warning); a first poll says NotStarted with no start time."""
    state = jb.state_at(vault.clock.now())
    status = {"CompletedWithInformation": "Succeeded"}.get(state, state)
    body: dict[str, Any] = {
        "name": jb.operation_id,
        "status": status,
        "startTime": None if status == "NotStarted" else iso(jb.start),
        "endTime": iso(jb.end),
    }
    if jb.errors:
        service = jb.errors[0]["serviceErrorDetails"]
        body["error"] = {"code": service["code"], "message": service["message"]}
    elif jb.warning and jb.finished:
        body["error"] = {"code": jb.warning["code"], "message": jb.warning["message"]}
    return body
