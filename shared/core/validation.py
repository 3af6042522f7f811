"""What makes a test VM good enough to cut over to: the tutorial's "check that the test VM works",
as checks a machine can run. Pure: the facts come from Compute through the reconciler.

The VM must be provisioned and running, its VM agent Ready (Azure reaches into it; Run Command needs
it), and its serial log free of a failed boot (a kernel panic, emergency mode) when the log can be
read; then, when a smoke command is named (the instance's `azmigrate:smoke-test` tag, else
`AZMIGRATE_SMOKE_COMMAND`), that command, run inside the VM, must exit 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.model.facts import SmokeFacts, TestVmFacts
from shared.model.records import ValidationCheck

FIXES = {
    "provisioned": "Look at the test failover job and the VM's activity log in the target resource group.",
    "running": "Start the test VM, or look at why Azure stopped it (activity log).",
    "agent": "The Azure VM agent (waagent) must be installed and able to reach Azure: check the guest's "
    "agent service and outbound access to 168.63.129.16 in the test network.",
    "boot": "Open the test VM's serial console log (boot diagnostics): fix the boot (fstab, initramfs "
    "drivers for Hyper-V, the root device) on the source, let it replicate, then retry.",
    "smoke": "Run the smoke command in the test VM by hand (Run Command) and fix what it reports.",
}


@dataclass(frozen=True)
class Verdict:
    checks: tuple[ValidationCheck, ...]
    failed: ValidationCheck | None = None  # a check that failed for good
    waiting: ValidationCheck | None = None  # the first check not settled yet


def vm_checks(vm: TestVmFacts | None) -> Verdict:
    """The checks on the VM itself (the smoke command comes after them)."""
    if vm is None or not vm.found:
        name = vm.name if vm else "the test VM"
        pending = ValidationCheck(name="provisioned", detail=f"{name} not found yet")
        return Verdict((pending,), waiting=pending)
    checks = (
        _check(
            "provisioned",
            vm.provisioning == "succeeded",
            vm.provisioning in {"failed", "canceled"},
            f"provisioning {vm.provisioning or 'not reported'}",
        ),
        _check(
            "running",
            vm.power == "running",
            vm.power in {"stopped", "deallocated"},
            f"power state {vm.power or 'not reported'}",
        ),
        _check("agent", vm.agent.lower() == "ready", False, f"VM agent {vm.agent or 'not reported'}"),
        _boot(vm),
    )
    failed = next((c for c in checks if c.passed is False), None)
    waiting = next((c for c in checks if c.passed is None), None)
    return Verdict(checks, failed, waiting)


def smoke_check(command: str, smoke: SmokeFacts | None) -> ValidationCheck:
    if smoke is None or not smoke.finished:
        state = smoke.state if smoke else "not sent"
        return ValidationCheck(name="smoke", detail=f"`{command}`: {state}")
    passed = smoke.state.lower() == "succeeded" and smoke.exit_code == 0
    said = (smoke.error or smoke.output).strip().splitlines()
    tail = f": {said[-1]}" if said and not passed else ""
    return ValidationCheck(
        name="smoke", passed=passed, detail=f"`{command}` {smoke.state}, exit code {smoke.exit_code}{tail}"
    )


def summary(checks: tuple[ValidationCheck, ...]) -> str:
    marks = {True: "ok", False: "FAILED", None: "pending"}
    return "; ".join(f"{c.name} {marks[c.passed]} ({c.detail})" for c in checks)


def _check(name: str, passed: bool, failed: bool, detail: str) -> ValidationCheck:
    return ValidationCheck(name=name, passed=True if passed else (False if failed else None), detail=detail)


def _boot(vm: TestVmFacts) -> ValidationCheck:
    if vm.boot_failure:
        return ValidationCheck(name="boot", passed=False, detail=f"serial log: {vm.boot_failure}")
    if vm.boot_log:
        return ValidationCheck(name="boot", passed=True, detail="serial log shows no failed boot")
    if vm.power != "running" and not vm.problem:
        return ValidationCheck(name="boot", detail="serial log read once the VM runs")
    # No log (boot diagnostics off, or not readable): the check is skipped, not failed.
    return ValidationCheck(name="boot", passed=True, detail=vm.problem or "no serial log to read (skipped)")
