"""The test VM a test failover created, through azure-mgmt-compute: its instance view, its boot
diagnostics serial log, and a managed Run Command inside it. Reads only what validation needs, and
never waits: a Run Command is sent (polling off) and read back on later passes.

Strings relied on, with their sources: instance view statuses `ProvisioningState/<state>` and
`PowerState/<state>`, and the VM agent's `displayStatus` "Ready" (the VM instance view sample of
"Modify an Azure virtual machine scale set", vendored in tests/contract/vendor/compute/;
azure-mgmt-compute's VirtualMachineInstanceView); a Run Command's `instanceView.executionState` and `exitCode`
(azure-mgmt-compute's VirtualMachineRunCommandInstanceView, ExecutionState enum).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute import models as compute

from shared.adapters.azure_http import arm_errors, is_loopback
from shared.errors import ActionRefused, CloudUnavailable
from shared.model.facts import SmokeFacts, TestVmFacts

# Lines of a Linux serial console log that mean the boot failed (Azure's boot troubleshooting pages
# quote them: "Kernel panic - not syncing", the emergency-mode prompt, a root fs that cannot mount).
BOOT_FAILURES = re.compile(
    r"kernel panic - not syncing|you are in emergency mode|welcome to emergency mode"
    r"|unable to mount root fs|give root password for maintenance|dracut-initqueue timeout",
    re.IGNORECASE,
)
SERIAL_LOG_BYTES = 1_000_000
SMOKE_TIMEOUT_SECONDS = 300


class ComputeAdapter:
    def __init__(self, client: ComputeManagementClient, *, log_timeout: float = 10.0) -> None:
        self._client, self._log_timeout = client, log_timeout

    def test_vm(self, resource_group: str, name: str) -> TestVmFacts:
        """The VM with its instance view and, once it runs, its boot log; `found` False while absent."""
        with _translated(f"reading test VM {name}"):
            try:
                vm = self._client.virtual_machines.get(resource_group, name, expand="instanceView")
            except ResourceNotFoundError:
                return TestVmFacts(name)
        facts = vm_facts(name, vm)
        if facts.power != "running":
            return facts
        try:
            log = self._serial_log(resource_group, name)
        except (CloudUnavailable, ActionRefused) as error:
            return replace(facts, problem=f"boot log unread: {error}")
        failure = next((line.strip() for line in log.splitlines() if BOOT_FAILURES.search(line)), "")
        return replace(facts, boot_log=True, boot_failure=failure[:300])

    def _serial_log(self, resource_group: str, name: str) -> str:
        with _translated(f"reading test VM {name}'s boot diagnostics"):
            found = self._client.virtual_machines.retrieve_boot_diagnostics_data(
                resource_group, name, sas_uri_expiration_time_in_minutes=5
            )
        uri = str(found.serial_console_log_blob_uri or "")
        parts = urlsplit(uri)
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname or "")):
            raise ActionRefused(
                "BootLogUnavailable", "the VM has no serial log to read (boot diagnostics off?)"
            )
        try:  # a SAS URL to the storage account: no ARM token goes with it
            response = requests.get(uri, timeout=self._log_timeout)
        except requests.RequestException as error:
            raise CloudUnavailable(f"boot log unreachable ({type(error).__name__})") from error
        if response.status_code != 200:
            raise CloudUnavailable(f"boot log answered {response.status_code}")
        return response.text[-SERIAL_LOG_BYTES:]  # the end of a long log shows how the boot ended

    def run_smoke(self, resource_group: str, name: str, command_name: str, script: str) -> None:
        """Sends `script` as a managed Run Command named `command_name` (one per attempt, so a repeat
        after a crash finds its own); never waits for it."""
        with _translated(f"running the smoke command in {name}"):
            vm = self._client.virtual_machines.get(resource_group, name)
            command = compute.VirtualMachineRunCommand(
                location=str(vm.location),
                properties=compute.VirtualMachineRunCommandProperties(
                    source=compute.VirtualMachineRunCommandScriptSource(script=script),
                    async_execution=False,
                    timeout_in_seconds=SMOKE_TIMEOUT_SECONDS,
                ),
            )
            self._client.virtual_machine_run_commands.begin_create_or_update(
                resource_group, name, command_name, command, polling=False
            )

    def smoke(self, resource_group: str, name: str, command_name: str) -> SmokeFacts | None:
        """The Run Command's outcome; None when there is none by that name."""
        with _translated(f"reading the smoke command in {name}"):
            try:
                found = self._client.virtual_machine_run_commands.get_by_virtual_machine(
                    resource_group, name, command_name, expand="instanceView"
                )
            except ResourceNotFoundError:
                return None
        view: Any = found.instance_view
        if view is None:
            return SmokeFacts(state="Pending")
        state = view.execution_state
        return SmokeFacts(
            state=str(getattr(state, "value", state) or "Unknown"),
            exit_code=view.exit_code,
            output=str(view.output or "")[-500:],
            error=str(view.error or "")[-500:],
        )


def vm_facts(name: str, vm: compute.VirtualMachine) -> TestVmFacts:
    """A VM (read with $expand=instanceView) as validation's facts, without its boot log."""
    view: Any = vm.instance_view
    codes = [str(s.code or "") for s in (view.statuses or [])] if view else []
    agent_statuses = (view.vm_agent.statuses or []) if view and view.vm_agent else []
    return TestVmFacts(
        name,
        found=True,
        provisioning=_state(codes, "ProvisioningState/") or str(vm.provisioning_state or "").lower(),
        power=_state(codes, "PowerState/"),
        agent=str(agent_statuses[0].display_status or "") if agent_statuses else "",
    )


def _state(codes: list[str], prefix: str) -> str:
    return next((c[len(prefix) :].lower() for c in codes if c.startswith(prefix)), "")


def _translated(what: str) -> contextlib.AbstractContextManager[None]:
    return arm_errors(what, "Compute")
