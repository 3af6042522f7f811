"""The test VM's Compute shapes against what Microsoft publishes: a VM instance view as the Azure
docs print it (vendor/compute/, source inside the file) read by the Compute adapter, and the
simulator's instance view and Run Command states against that sample and azure-mgmt-compute's enums.
No network."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from azure.mgmt.compute import models as compute

from local.asr_simulator.clock import SimClock
from local.asr_simulator.compute import AGENT_SECONDS, RUN_SECONDS, Compute
from shared.adapters.compute import vm_facts

VENDOR = Path(__file__).parent / "vendor" / "compute"
SAMPLE = json.loads((VENDOR / "vm-instance-view.json").read_text())["sample"]


def test_the_published_instance_view_reads_as_a_healthy_vm():
    vm = compute.VirtualMachine({"location": "westus", "properties": {"instanceView": SAMPLE}})
    facts = vm_facts("vm-test", vm)
    assert (facts.provisioning, facts.power, facts.agent) == ("succeeded", "running", "Ready")


def test_the_simulators_healthy_instance_view_says_what_the_published_one_says():
    now = SimClock(scale=0).now()
    side = Compute("s")
    side.create_test_vm("vm-test", "rg", "azmigrate-i-1", now)
    ours = side.instance_view(side.vm("rg", "vm-test"), now + timedelta(seconds=AGENT_SECONDS), "http://x")

    def said(statuses: list[dict[str, str]]) -> list[tuple[str, str]]:
        return [(s["code"], s["displayStatus"]) for s in statuses]

    assert said(ours["statuses"]) == said(SAMPLE["statuses"])
    assert said(ours["vmAgent"]["statuses"]) == said(SAMPLE["vmAgent"]["statuses"])
    # The sample is condensed: computerName and bootDiagnostics are the SDK model's own properties.
    assert set(ours) - {"bootDiagnostics", "computerName"} <= set(SAMPLE)
    read = compute.VirtualMachineInstanceView(ours)
    assert read.computer_name == "vm-test" and read.boot_diagnostics is not None
    assert read.boot_diagnostics.serial_console_log_blob_uri


def test_the_simulators_run_command_states_are_the_sdks():
    now = SimClock(scale=0).now()
    side = Compute("s")
    states = {member.value for member in compute.ExecutionState}
    for fault in ("", "smoke_fails"):
        side.set_fault(f"azmigrate-{fault or 'ok'}", fault)
        side.create_test_vm(f"vm-{fault or 'ok'}", "rg", f"azmigrate-{fault or 'ok'}", now)
        vm = side.vm("rg", f"vm-{fault or 'ok'}")
        later = now + timedelta(seconds=AGENT_SECONDS)
        command = side.run(
            vm, "c1", {"location": "westus", "properties": {"source": {"script": "true"}}}, later
        )
        for moment in (later, later + timedelta(seconds=RUN_SECONDS)):
            view = side.command_shape(vm, command, moment, expand=True)["properties"]["instanceView"]
            assert view["executionState"] in states
