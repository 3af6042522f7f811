"""Assessment inside the lifecycle: guest checks, the stored assessment, blocks, rechecks, dry runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from shared.assessment.assess import with_tag_overrides
from shared.core.actions import Act, Decision
from shared.core.decide import _gate, decide
from shared.model.facts import Disk, InstanceTypeFacts, Policy, Utilisation
from shared.model.phases import Phase
from shared.model.records import ErrorInfo, TargetSettings
from tests.conftest import record
from tests.unit.decide_world import World, advance_to, ec2_facts, run, step

P = Phase
M5_2XLARGE = InstanceTypeFacts("m5.2xlarge", 8, 32_768, 4)
IDLE = Utilisation(cpu_p95=10, memory_p95=20, cpu_coverage=1, memory_coverage=1)


def tags(**extra: str) -> dict[str, str]:
    return {
        "azmigrate:enabled": "true",
        "azmigrate:cutover": "auto",
        **{f"azmigrate:{k}": v for k, v in extra.items()},
    }


def test_the_guest_is_checked_before_the_agent_and_the_assessment_is_stored():
    world = World(instance_type=M5_2XLARGE, utilisation=IDLE)
    rec = advance_to(world, record(), P.AGENT_INSTALL)
    assert world.performed == [Act.GUEST_CHECK, Act.INSTALL_AGENT]
    assessment = rec.assessment
    assert assessment is not None and assessment.guest_checked
    assert assessment.os_name.startswith("Red Hat Enterprise Linux 9")
    assert assessment.bios_uuid.startswith("ec2")
    assert (assessment.vm_size, assessment.sizing_basis) == ("Standard_E2s_v5", "performance")
    assert assessment.like_for_like_size == "Standard_D8s_v5"
    # What enable-replication will use is what the assessment chose.
    assert (rec.target.vm_size, rec.target.disk_type) == ("Standard_E2s_v5", assessment.disk_type)


def test_the_size_tag_wins_and_reaches_the_target():
    world = World(
        ec2=ec2_facts(tags=tags(size="Standard_D4s_v5")), instance_type=M5_2XLARGE, utilisation=IDLE
    )
    rec = advance_to(world, record(), P.AGENT_INSTALL)
    assert rec.target.vm_size == "Standard_D4s_v5"
    assert rec.assessment is not None and rec.assessment.sizing_basis == "tag"


def test_a_guest_blocker_blocks_with_its_fix_and_is_checked_again_after_the_recheck():
    policy = Policy(blocked_recheck_seconds=3_600)
    world = World(ec2=ec2_facts(tags={**tags(), "sim:closed-ports": "9443"}))
    rec = advance_to(world, record(), P.BLOCKED, policy)
    assert rec.last_error is not None and rec.last_error.code == "appliance-unreachable"
    assert "inbound rule to the appliance's security group" in rec.last_error.message
    assert rec.next_attempt_at == world.now + timedelta(hours=1)
    assert Act.INSTALL_AGENT not in world.performed
    world.ec2 = ec2_facts(tags=tags())  # the rule was added
    rec, decision = step(world, rec, policy)
    assert rec.phase is P.BLOCKED and "backing off" in decision.reason  # not before the recheck
    world.now += timedelta(hours=1, seconds=1)
    rec = advance_to(world, rec, P.AGENT_INSTALL, policy)
    assert world.performed.count(Act.GUEST_CHECK) == 2


def test_an_instance_level_block_needs_no_guest_check_and_is_still_assessed():
    world = World(ec2=ec2_facts(virtualization_type="paravirtual"), instance_type=M5_2XLARGE)
    rec, _ = run(world)
    assert rec.phase is P.BLOCKED and world.performed == []
    assert rec.assessment is not None and not rec.assessment.guest_checked
    assert rec.assessment.blocker_codes == ["paravirtual"]
    assert rec.assessment.vm_size == "Standard_D8s_v5"  # no metrics: as on premises
    assert rec.next_attempt_at is None  # fixing it is seen on the next pass


def test_a_failing_guest_check_is_retried_then_blocks_with_advice():
    world = World(always_fail={Act.GUEST_CHECK})
    rec, _ = run(world, policy=Policy(retry_limit=3, backoff_seconds=60))
    assert rec.phase is P.BLOCKED
    assert world.performed == [Act.GUEST_CHECK] * 3
    assert rec.assessment is not None and rec.assessment.blocker_codes == ["guest-check-failed"]
    assert rec.last_error is not None and "SSM agent" in rec.last_error.message


def test_unreadable_guest_output_counts_as_a_failed_check():
    world = World()
    rec = advance_to(world, record(), P.PREFLIGHT)
    rec, _ = step(world, rec, Policy())  # sends the guest check
    assert world.command is not None
    world.command = replace(world.command, output="Access denied\n")
    rec, decision = step(world, rec, Policy())
    assert rec.phase is P.PREFLIGHT and decision.event == "retry"
    assert rec.last_error is not None and "unreadable" in rec.last_error.message


def test_a_dry_run_assesses_and_never_installs_until_it_ends():
    policy = Policy(dry_run=True)
    world = World()
    rec, _ = run(world, policy=policy, passes=10)
    assert rec.phase is P.ASSESSED and world.performed == [Act.GUEST_CHECK]
    assert rec.assessment is not None and rec.assessment.dry_run
    rec, _ = run(world, rec, policy=replace(policy, dry_run=False))
    assert rec.phase is P.DONE
    assert world.performed[:3] == [Act.GUEST_CHECK, Act.GUEST_CHECK, Act.INSTALL_AGENT]  # assessed afresh


def test_the_dry_run_tag_wins_over_the_setting_both_ways():
    world = World(ec2=ec2_facts(tags=tags(**{"dry-run": "true"})))
    rec, _ = run(world, passes=10)
    assert rec.phase is P.ASSESSED
    world = World(ec2=ec2_facts(tags=tags(**{"dry-run": "false"})))
    rec, _ = run(world, policy=Policy(dry_run=True))
    assert rec.phase is P.DONE


def test_a_dry_run_tag_added_late_holds_the_vm_before_replication():
    world = World(admission=False)
    rec = advance_to(world, record(), P.QUEUED)
    world.admission = True
    world.ec2 = ec2_facts(tags=tags(**{"dry-run": "true"}))
    decision = decide(rec, world.facts(rec), Policy(), world.now)
    assert decision.next_phase is P.QUEUED and decision.action is None
    assert "dry run" in decision.reason


def test_the_gate_refuses_installs_and_enables_in_a_dry_run_whoever_asks():
    facts = World().facts(record())
    for act in (Act.INSTALL_AGENT, Act.ENABLE_REPLICATION):
        asked = Decision(P.AGENT_INSTALL, "asked", (act,))
        assert _gate(asked, facts, dry_run=True).action is None
        assert _gate(asked, facts, dry_run=False).action is act
    guest = Decision(P.PREFLIGHT, "asked", (Act.GUEST_CHECK,))
    assert _gate(guest, facts, dry_run=True).action is Act.GUEST_CHECK  # checking is what a dry run does


def test_the_ami_name_is_a_hint_and_the_guest_decides_the_os():
    """An instance upgraded in place keeps its old AMI: the guest's own report wins."""
    upgraded = ec2_facts(platform="Windows", image_name="Windows_Server-2003-R2_SP2-English-64Bit-Base")
    world = World(ec2=upgraded)  # the stand-in's guest answers as Windows Server 2022
    rec = advance_to(world, record(), P.AGENT_INSTALL)
    assert rec.assessment is not None and rec.assessment.os_name == "Microsoft Windows Server 2022 Datacenter"
    assert "unsupported-os" not in [c.code for c in rec.assessment.checks]


def test_an_unsupported_kernel_reported_by_the_guest_blocks_until_the_recheck():
    world = World(ec2=ec2_facts(tags={**tags(), "sim:guest-image": "ubuntu-22.04"}))
    rec = advance_to(world, record(), P.BLOCKED)
    assert rec.assessment is not None and rec.assessment.blocker_codes == ["unsupported-kernel"]
    assert rec.next_attempt_at is not None and Act.INSTALL_AGENT not in world.performed


def test_an_unreadable_dry_run_tag_keeps_the_dry_run_on_and_says_so():
    world = World(ec2=ec2_facts(tags=tags(**{"dry-run": "on"})))
    rec, _ = run(world, passes=10)
    assert rec.phase is P.ASSESSED and Act.INSTALL_AGENT not in world.performed
    assert rec.assessment is not None and "tag-value-unrecognised" in [c.code for c in rec.assessment.checks]


def test_tags_override_the_assessed_target_whenever_they_are_read():
    chosen = TargetSettings(vm_name="web-1", vm_size="Standard_E2s_v5", disk_type="StandardSSD_LRS")
    tagged = ec2_facts(
        tags=tags(size="Standard_D16s_v5", **{"disk-type": "Premium_LRS", "license": "WindowsServer"})
    )
    assert with_tag_overrides(chosen, tagged) == chosen.evolve(
        vm_size="Standard_D16s_v5", disk_type="Premium_LRS", license_type="WindowsServer"
    )
    junk = ec2_facts(tags=tags(**{"disk-type": "Gold", "license": "yes"}))
    assert with_tag_overrides(chosen, junk) == chosen  # values the app cannot use are not applied


def test_guest_checks_that_ssm_keeps_refusing_end_blocked_with_the_ssm_fix():
    """The reconciler counts refusals (an instance SSM does not manage, or one that is stopped)."""
    world = World()
    refused = record().evolve(
        phase=P.PREFLIGHT,
        attempts={"guest_check_refused": 3},
        last_error=ErrorInfo(code="InvalidInstanceId", message="not managed", retryable=False, at=world.now),
    )
    rec, _ = step(world, refused, Policy(retry_limit=3))
    assert rec.phase is P.BLOCKED and world.performed == []
    assert rec.assessment is not None and rec.assessment.blocker_codes == ["guest-check-failed"]
    assert "refused it 3 times (not managed)" in rec.assessment.checks[0].message
    assert rec.attempts == {}  # counters start again for the recheck
    assert rec.next_attempt_at is not None  # checked again after the recheck interval


def test_guest_check_counters_start_again_once_assessed():
    world = World(fail_next={Act.GUEST_CHECK})
    rec = advance_to(world, record(), P.PREFLIGHT)
    for _ in range(2):
        rec, _ = step(world, rec, Policy(backoff_seconds=0))
    assert rec.attempts == {"guest_check": 1}
    rec = advance_to(world, rec, P.AGENT_INSTALL, Policy(backoff_seconds=0))
    assert "guest_check" not in rec.attempts


def test_more_disks_than_the_plan_holds_still_blocks_with_the_disk_finding():
    """Nitro takes up to 128 EBS volumes; the stored plan keeps 66 and the blocker says why."""
    disks = (Disk("/dev/sda1", 30, True), *(Disk(f"/dev/sd{n}", 10, False) for n in range(70)))
    world = World(ec2=ec2_facts(disks=disks), instance_type=M5_2XLARGE)
    rec, _ = run(world)
    assert rec.phase is P.BLOCKED and rec.assessment is not None
    assert rec.assessment.blocker_codes == ["data-disks-unsupported", "no-azure-size"]  # both true
    assert len(rec.assessment.disks) == 66 and rec.assessment.disks[0].device == "/dev/sda1"
