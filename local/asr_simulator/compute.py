"""The Compute side of a test failover: the test VM Site Recovery creates, its instance view, its boot
diagnostics serial log, and managed Run Commands inside it, on the vault's clock.

A successful test failover creates `<targetVmName>-test` in the item's target resource group (the
name is unconfirmed; the failover job's FailoverJobDetails names it as testVmName). The VM is
provisioned after `PROVISION_SECONDS`, and its agent is Ready after `AGENT_SECONDS`; the test failover
cleanup deletes it. Faults per item: `never_boots` (provisioned and running, a kernel panic in the
serial log, the agent never Ready), `agent_not_ready` (a clean boot, the agent never Ready),
`smoke_fails` (every Run Command exits 1).

Shapes as Azure documents them: instance view statuses `ProvisioningState/succeeded` and
`PowerState/running`, `vmAgent.statuses[].displayStatus` "Ready" (Microsoft Learn, "Modify an Azure
virtual machine scale set", the VM instance view sample; azure-mgmt-compute's VirtualMachineInstanceView);
"Not Ready" with ProvisioningState/Unavailable (unconfirmed wording); a Run Command's
`instanceView.executionState`, `exitCode`, `output`, `error` (azure-mgmt-compute's
VirtualMachineRunCommandInstanceView).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from local.asr_simulator.model import ArmError

COMPUTE_API_VERSION = "2026-04-01"  # what azure-mgmt-compute 39.0.0 sends
PROVISION_SECONDS = 30.0
AGENT_SECONDS = 90.0
RUN_SECONDS = 20.0
FAULTS = frozenset({"never_boots", "agent_not_ready", "smoke_fails"})
CLEAN_BOOT = (
    "[    0.000000] Linux version 5.14.0-427.el9.x86_64\n"
    "[    2.113201] EXT4-fs (sda1): mounted filesystem with ordered data mode\n"
    "[  OK  ] Reached target Multi-User System.\n"
)
PANIC_BOOT = (
    "[    0.000000] Linux version 5.14.0-427.el9.x86_64\n"
    '[    2.500412] VFS: Cannot open root device "UUID=3c1b" or unknown-block(0,0): error -6\n'
    "[    2.500419] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n"
)


@dataclass
class RunCommand:
    name: str
    script: str
    started: datetime
    exit_code: int


@dataclass
class TestVm:
    __test__ = False  # the simulator's test VM, not a test class
    name: str
    resource_group: str
    item_name: str
    created: datetime
    fault: str = ""
    vm_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    commands: dict[str, RunCommand] = field(default_factory=dict)


class Compute:
    def __init__(self, subscription: str) -> None:
        self.subscription = subscription
        self.vms: dict[str, TestVm] = {}  # by lower-case name
        self.faults: dict[str, str] = {}  # item name -> fault

    def set_fault(self, item_name: str, fault: str) -> None:
        if fault and fault not in FAULTS:
            raise ValueError(f"fault must be one of {sorted(FAULTS)} or empty")
        if fault:
            self.faults[item_name] = fault
        else:
            self.faults.pop(item_name, None)

    def create_test_vm(self, name: str, resource_group: str, item_name: str, now: datetime) -> None:
        self.vms[name.lower()] = TestVm(name, resource_group, item_name, now, self.faults.get(item_name, ""))

    def delete_test_vms(self, item_name: str) -> None:
        for key in [k for k, vm in self.vms.items() if vm.item_name == item_name]:
            del self.vms[key]

    def vm(self, resource_group: str, name: str) -> TestVm:
        found = self.vms.get(name.lower())
        if found is None or found.resource_group.lower() != resource_group.lower():
            where = f"'Microsoft.Compute/virtualMachines/{name}' under resource group '{resource_group}'"
            raise ArmError(404, "ResourceNotFound", f"The Resource {where} was not found.")
        return found

    def vm_id(self, vm: TestVm) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{vm.resource_group}"
            f"/providers/Microsoft.Compute/virtualMachines/{vm.name}"
        )

    # --- shapes ----------------------------------------------------------------------------------

    def vm_shape(self, vm: TestVm, now: datetime, expand: bool, blob_base: str) -> dict[str, Any]:
        provisioned = now >= vm.created + timedelta(seconds=PROVISION_SECONDS)
        properties: dict[str, Any] = {
            "vmId": vm.vm_id,
            "provisioningState": "Succeeded" if provisioned else "Creating",
            "diagnosticsProfile": {"bootDiagnostics": {"enabled": True}},
        }
        if expand:
            properties["instanceView"] = self.instance_view(vm, now, blob_base)
        return {
            "id": self.vm_id(vm),
            "name": vm.name,
            "type": "Microsoft.Compute/virtualMachines",
            "location": "westeurope",
            "properties": properties,
        }

    def instance_view(self, vm: TestVm, now: datetime, blob_base: str) -> dict[str, Any]:
        provisioned = now >= vm.created + timedelta(seconds=PROVISION_SECONDS)
        ready = vm.fault not in {"never_boots", "agent_not_ready"} and now >= vm.created + timedelta(
            seconds=AGENT_SECONDS
        )
        statuses = [
            {
                "code": "ProvisioningState/succeeded",
                "level": "Info",
                "displayStatus": "Provisioning succeeded",
            }
            if provisioned
            else {"code": "ProvisioningState/creating", "level": "Info", "displayStatus": "Creating"},
            {"code": "PowerState/running", "level": "Info", "displayStatus": "VM running"}
            if provisioned
            else {"code": "PowerState/starting", "level": "Info", "displayStatus": "VM starting"},
        ]
        agent = (
            {
                "code": "ProvisioningState/succeeded",
                "level": "Info",
                "displayStatus": "Ready",
                "message": "Guest Agent is running",
            }
            if ready
            else {
                "code": "ProvisioningState/Unavailable",
                "level": "Warning",
                "displayStatus": "Not Ready",
                "message": "VM Agent is unresponsive.",
            }
        )
        return {
            "computerName": vm.name,
            "vmAgent": {"vmAgentVersion": "2.2.54" if ready else "Unknown", "statuses": [agent]},
            "statuses": statuses,
            "bootDiagnostics": {"serialConsoleLogBlobUri": self.serial_uri(vm, blob_base)},
        }

    def serial_uri(self, vm: TestVm, blob_base: str) -> str:
        return f"{blob_base}/blobs/bootdiagnostics-{vm.vm_id[:8]}/{vm.name}.{vm.vm_id}.serialconsole.log"

    def serial_log(self, blob_path: str, now: datetime) -> str:
        vm = next(
            (v for v in self.vms.values() if blob_path.endswith(f"/{v.name}.{v.vm_id}.serialconsole.log")),
            None,
        )
        if vm is None:
            raise ArmError(404, "BlobNotFound", "The specified blob does not exist.")
        if now < vm.created + timedelta(seconds=PROVISION_SECONDS):
            return ""
        return PANIC_BOOT if vm.fault == "never_boots" else CLEAN_BOOT

    # --- Run Command -----------------------------------------------------------------------------

    def run(self, vm: TestVm, name: str, body: dict[str, Any], now: datetime) -> RunCommand:
        source = (body.get("properties") or {}).get("source") or {}
        script = source.get("script")
        if not isinstance(script, str) or not script.strip():
            raise ArmError(400, "InvalidParameter", "properties.source.script is required.")
        if not body.get("location"):
            raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
        if now < vm.created + timedelta(seconds=AGENT_SECONDS) or vm.fault in {
            "never_boots",
            "agent_not_ready",
        }:
            raise ArmError(
                409, "OperationNotAllowed", "The VM agent is not ready: Run Command cannot be executed."
            )
        command = vm.commands.get(name) or RunCommand(
            name, script, now, 1 if vm.fault == "smoke_fails" else 0
        )
        vm.commands[name] = command
        return command

    def command_shape(self, vm: TestVm, command: RunCommand, now: datetime, expand: bool) -> dict[str, Any]:
        done = now >= command.started + timedelta(seconds=RUN_SECONDS)
        properties: dict[str, Any] = {
            "source": {"script": command.script},
            "asyncExecution": False,
            "provisioningState": "Succeeded" if done else "Creating",
        }
        if expand:
            view: dict[str, Any] = {"executionState": "Running", "startTime": command.started.isoformat()}
            if done:
                failed = command.exit_code != 0
                view |= {
                    "executionState": "Failed" if failed else "Succeeded",
                    "exitCode": command.exit_code,
                    "output": "" if failed else "active\n",
                    "error": "curl: (7) Failed to connect to 127.0.0.1 port 80: Connection refused\n"
                    if failed
                    else "",
                    "endTime": (command.started + timedelta(seconds=RUN_SECONDS)).isoformat(),
                }
            properties["instanceView"] = view
        return {
            "id": f"{self.vm_id(vm)}/runCommands/{command.name}",
            "name": command.name,
            "type": "Microsoft.Compute/virtualMachines/runCommands",
            "location": "westeurope",
            "properties": properties,
        }
