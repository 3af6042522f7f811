"""ARM JSON shapes of the vault's resources, as api-version 2025-08-01 returns them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from local.asr_simulator.engine import GIB, PROVIDER, Item, Job, Machine, Vault

VAULT_TYPE = "Microsoft.RecoveryServices/vaults"
CONTAINER_TYPE = f"{VAULT_TYPE}/replicationFabrics/replicationProtectionContainers"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def fabric(vault: Vault) -> dict[str, Any]:
    heartbeat = _iso(vault.clock.now())
    return {
        "id": vault.fabric_id,
        "name": vault.fabric,
        "type": f"{VAULT_TYPE}/replicationFabrics",
        "location": "eastus",
        "properties": {
            "friendlyName": f"{vault.name}-appliance",
            "internalIdentifier": vault.fabric,
            "fabricType": PROVIDER,
            "health": "Normal",
            "customDetails": {
                "instanceType": PROVIDER,
                "physicalSiteId": vault.site_id,
                "processServers": [
                    {
                        "id": vault.process_server_id,
                        "name": "appliance-ps",
                        "ipAddresses": ["127.0.0.1"],
                        "health": "Normal",
                        "lastHeartbeatUtc": heartbeat,
                        "protectedItemCount": len(vault.items),
                    }
                ],
                "replicationAgents": [{"id": "agent-1", "name": "appliance", "health": "Normal"}],
            },
        },
    }


def container(vault: Vault) -> dict[str, Any]:
    return {
        "id": vault.container_id,
        "name": vault.container,
        "type": CONTAINER_TYPE,
        "properties": {
            "friendlyName": vault.container,
            "fabricFriendlyName": f"{vault.name}-appliance",
            "fabricType": PROVIDER,
            "protectedItemCount": len(vault.items),
            "pairingStatus": "Paired",
            "role": "Primary",
        },
    }


def mapping(vault: Vault) -> dict[str, Any]:
    return {
        "id": f"{vault.container_id}/replicationProtectionContainerMappings/{vault.mapping}",
        "name": vault.mapping,
        "type": f"{CONTAINER_TYPE}/replicationProtectionContainerMappings",
        "properties": {
            "policyId": vault.policy_id,
            "policyFriendlyName": vault.policy,
            "sourceFabricFriendlyName": f"{vault.name}-appliance",
            "sourceProtectionContainerFriendlyName": vault.container,
            "targetFabricFriendlyName": "Microsoft Azure",
            "state": "Paired",
            "health": "Normal",
        },
    }


def policy(vault: Vault) -> dict[str, Any]:
    return {
        "id": vault.policy_id,
        "name": vault.policy,
        "type": f"{VAULT_TYPE}/replicationPolicies",
        "properties": {
            "friendlyName": vault.policy,
            "providerSpecificDetails": {
                "instanceType": PROVIDER,
                "recoveryPointHistoryInMinutes": 4320,
                "appConsistentFrequencyInMinutes": 0,
                "crashConsistentFrequencyInMinutes": 5,
                "enableMultiVmSync": "true",
            },
        },
    }


def discovered_machine(vault: Vault, machine: Machine) -> dict[str, Any]:
    return {
        "id": vault.machine_id(machine.name),
        "name": machine.name,
        "type": "Microsoft.OffAzure/ServerSites/machines",
        "properties": {
            "displayName": machine.display_name,
            "biosId": machine.name,
            "operatingSystemDetails": {"osType": machine.os_type},
            "networkAdapters": [{"ipAddressList": [machine.ip_address]}],
            "disks": [{"name": d.disk_id, "maxSizeInBytes": int(d.size_gb * GIB)} for d in machine.disks],
        },
    }


def item(vault: Vault, it: Item) -> dict[str, Any]:
    total = it.machine.total_gb
    percent = 100 if total == 0 else int(100 * it.replicated_gb / total)
    protected = it.protected_at is not None
    details = it.details_in
    scenario = (
        {
            "scenarioName": it.scenario[0],
            "jobId": f"{vault.prefix}/replicationJobs/{it.scenario[1]}",
            "startTime": _iso(it.scenario[2]),
        }
        if it.scenario
        else {"scenarioName": "None"}
    )
    return {
        "id": vault.item_id(it.name),
        "name": it.name,
        "type": f"{CONTAINER_TYPE}/replicationProtectedItems",
        "properties": {
            "friendlyName": it.machine.display_name,
            "protectedItemType": PROVIDER,
            "primaryFabricFriendlyName": f"{vault.name}-appliance",
            "primaryFabricProvider": PROVIDER,
            "recoveryFabricFriendlyName": "Microsoft Azure",
            "primaryProtectionContainerFriendlyName": vault.container,
            "protectionState": it.protection_state,
            "protectionStateDescription": it.state_description,
            "activeLocation": it.active_location,
            "testFailoverState": it.test_failover_state,
            "testFailoverStateDescription": it.test_failover_state,
            "allowedOperations": list(it.allowed_operations),
            "replicationHealth": "Normal",
            "healthErrors": [],
            "policyId": it.policy_id,
            "policyFriendlyName": vault.policy,
            "currentScenario": scenario,
            "providerSpecificDetails": {
                "instanceType": PROVIDER,
                "internalIdentifier": it.name,
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
                "initialReplicationProgressPercentage": percent,
                "initialReplicationProcessedBytes": int(it.replicated_gb * GIB),
                "initialReplicationTransferredBytes": int(it.replicated_gb * GIB),
                "initialReplicationProgressHealth": "InProgress" if it.replicating else "None",
                "resyncRequired": "false",
                "lastRpoInSeconds": 30 if protected else None,
                "lastRecoveryPointReceived": _iso(vault.clock.now()) if protected else None,
                "protectedDisks": [
                    {
                        "diskId": d.disk_id,
                        "diskName": d.disk_id,
                        "isOSDisk": "true" if d.is_os else "false",
                        "capacityInBytes": int(d.size_gb * GIB),
                        "diskState": "Protected" if protected else "InitialReplicationPending",
                        "diskType": details.get("disksDefault", {}).get("diskType", "Standard_LRS"),
                    }
                    for d in it.machine.disks
                ],
                "mobilityAgentDetails": {
                    "version": "9.63.0.0",
                    "lastHeartbeatUtc": _iso(vault.clock.now()),
                    "isUpgradeable": "false",
                },
            },
        },
    }


def job(vault: Vault, jb: Job) -> dict[str, Any]:
    return {
        "id": f"{vault.prefix}/replicationJobs/{jb.name}",
        "name": jb.name,
        "type": f"{VAULT_TYPE}/replicationJobs",
        "properties": {
            "activityId": jb.name,
            "scenarioName": jb.scenario,
            "friendlyName": jb.friendly_name,
            "state": jb.state,
            "stateDescription": jb.state,
            "tasks": [
                {
                    "taskId": f"{jb.name}-1",
                    "name": jb.scenario,
                    "friendlyName": jb.friendly_name,
                    "state": jb.state,
                    "stateDescription": jb.state,
                    "startTime": _iso(jb.start),
                    "endTime": _iso(jb.end),
                    "taskType": "TaskDetails",
                }
            ],
            "errors": jb.errors,
            "startTime": _iso(jb.start),
            "endTime": _iso(jb.end),
            "allowedActions": [],
            "targetObjectId": jb.target_object_id,
            "targetObjectName": jb.target_object_name,
            "targetInstanceType": "ProtectionEntity",
            "customDetails": {"instanceType": "AsrJobDetails", "affectedObjectDetails": {}},
        },
    }


def operation_status(vault: Vault, jb: Job) -> dict[str, Any]:
    status = {"InProgress": "InProgress", "NotStarted": "InProgress"}.get(jb.state, jb.state)
    body: dict[str, Any] = {
        "id": f"{vault.prefix}/replicationOperationStatus/{jb.name}",
        "name": jb.name,
        "status": status,
        "startTime": _iso(jb.start),
        "endTime": _iso(jb.end),
    }
    if jb.state == "Failed":
        first = jb.errors[0] if jb.errors else {}
        body["error"] = {
            "code": first.get("errorCode", "JobFailed"),
            "message": first.get("errorMessage", ""),
        }
    return body
