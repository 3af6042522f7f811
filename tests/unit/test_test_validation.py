"""The test VM's validation, decided from Compute's facts: a healthy VM passes (with its smoke
command), a VM that never boots or whose smoke command fails is cleaned up and retried, then FAILED
with the check and its fix; one whose agent never gets Ready fails at the deadline."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from shared.core.actions import Act
from shared.model.facts import Policy
from shared.model.phases import Phase
from shared.reconcile.validating import place_of_test_vm
from tests.conftest import record
from tests.unit.decide_world import HEALTHY_VM, World, advance_to, ec2_facts, run, step

P = Phase
POLICY = Policy(cutover_mode="auto", retry_limit=2, backoff_seconds=60, validation_seconds=1_800)
SMOKE_TAGS = {
    "azmigrate:enabled": "true",
    "azmigrate:cutover": "auto",
    "azmigrate:smoke-test": "systemctl is-active nginx",
}
PANIC = "Kernel panic - not syncing: VFS: Unable to mount root fs"
GROUP = "/subscriptions/s/resourceGroups/rg-target"


def test_a_healthy_test_vm_and_its_smoke_command_pass_and_the_checks_are_kept():
    world = World(ec2=ec2_facts(tags=SMOKE_TAGS))
    rec, decisions = run(world, policy=POLICY)
    assert rec.phase is P.DONE
    assert world.performed.count(Act.SMOKE_TEST) == 1 and world.performed.count(Act.TEST_FAILOVER) == 1
    assert [(c.name, c.passed) for c in rec.test_checks] == [
        ("provisioned", True),
        ("running", True),
        ("agent", True),
        ("boot", True),
        ("smoke", True),
    ]
    validated = next(d.reason for d in decisions if d.reason.startswith("test VM validated"))
    assert "`systemctl is-active nginx` Succeeded, exit code 0" in validated


def test_a_test_vm_that_never_boots_is_cleaned_up_retried_then_fails_with_the_boot_line_and_a_fix():
    panic = replace(HEALTHY_VM, agent="Not Ready", boot_failure=PANIC)
    world = World(test_vm=panic)
    rec, _ = run(world, policy=POLICY)
    assert (rec.phase, rec.failed_phase) == (P.FAILED, P.TEST_MIGRATION)
    assert world.performed.count(Act.TEST_FAILOVER) == 2  # the retry limit
    assert world.performed.count(Act.TEST_FAILOVER_CLEANUP) == 2  # each test VM cleaned up
    assert Act.UNPLANNED_FAILOVER not in world.performed
    assert rec.last_error is not None and rec.last_error.code == "TestValidationFailed"
    assert "Kernel panic" in rec.last_error.message and "serial console" in rec.last_error.message
    assert [c.passed for c in rec.test_checks if c.name == "boot"] == [False]


def test_a_test_vm_whose_agent_is_not_ready_waits_then_fails_at_the_deadline():
    world = World(test_vm=replace(HEALTHY_VM, agent="Not Ready"))
    rec = advance_to(world, record(), P.TEST_VALIDATION, POLICY)
    rec, decision = step(world, rec, POLICY)
    assert rec.phase is P.TEST_VALIDATION and decision.waiting == "cloud"
    assert rec.waiting_for is not None and "VM agent Not Ready" in rec.waiting_for.message
    assert rec.waiting_for.until == rec.phase_entered_at + timedelta(seconds=1_800)
    world.now = rec.phase_entered_at + timedelta(seconds=1_800)
    rec, decision = step(world, rec, POLICY)
    assert rec.phase is P.TEST_CLEANUP and decision.action is Act.TEST_FAILOVER_CLEANUP
    assert rec.last_error is not None and "agent not passed in 30 min" in rec.last_error.message
    assert "waagent" in rec.last_error.message  # the fix


def test_a_failing_smoke_command_fails_the_validation_with_its_exit_code():
    world = World(ec2=ec2_facts(tags=SMOKE_TAGS), always_fail={Act.SMOKE_TEST})
    rec, _ = run(world, policy=POLICY)
    assert (rec.phase, rec.failed_phase) == (P.FAILED, P.TEST_MIGRATION)
    assert world.performed.count(Act.SMOKE_TEST) == 2
    assert rec.last_error is not None and "exit code 1" in rec.last_error.message


def test_without_a_smoke_command_no_run_command_is_sent():
    world = World()
    rec, _ = run(world, policy=POLICY)
    assert rec.phase is P.DONE and Act.SMOKE_TEST not in world.performed
    assert [c.name for c in rec.test_checks] == ["provisioned", "running", "agent", "boot"]


def test_the_test_vm_its_job_named_is_kept_for_the_whole_validation():
    """The job is listed only while its intent is open; once the smoke command is pending, the VM
    must still be the one the test failover's job named, not the name convention."""
    world = World(ec2=ec2_facts(tags=SMOKE_TAGS), test_vm_name="web-1-tfo-0042")
    rec = advance_to(world, record(), P.TEST_VALIDATION, POLICY)
    assert rec.test_vm == "web-1-tfo-0042"
    rec, decision = step(world, rec, POLICY)
    assert decision.action is Act.SMOKE_TEST and rec.test_vm == "web-1-tfo-0042"
    assert place_of_test_vm(rec, GROUP) == ("rg-target", "web-1-tfo-0042")
    named_by_id = rec.evolve(
        test_vm="/subscriptions/s/resourceGroups/rg-tests/providers/Microsoft.Compute/virtualMachines/t1"
    )
    assert place_of_test_vm(named_by_id, GROUP) == ("rg-tests", "t1")
    unnamed = rec.evolve(test_vm=None, target=rec.target.evolve(vm_name="web-1"))
    assert place_of_test_vm(unnamed, GROUP) == (
        "rg-target",
        "web-1-test",
    )
