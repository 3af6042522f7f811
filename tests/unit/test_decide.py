"""The decision core, pass by pass against a pure world: every path a VM can take."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from shared.core.actions import Act
from shared.core.decide import apply_decision, decide
from shared.errors import IllegalTransition
from shared.model.facts import Disk, Facts, ItemFacts, JobFacts, Policy
from shared.model.phases import Phase
from shared.model.records import PendingAction
from tests.conftest import T0, record
from tests.unit.decide_world import PROTECTED_OPS, World, advance_to, ec2_facts, run, step

P = Phase
HAPPY = [
    P.OPTED_IN,
    P.PREFLIGHT,
    P.AGENT_INSTALL,
    P.AWAITING_DISCOVERY,
    P.QUEUED,
    P.ENABLING,
    P.PROTECTED,
    P.TEST_MIGRATION,
    P.TEST_VALIDATION,
    P.TEST_CLEANUP,
    P.READY_FOR_CUTOVER,
    P.STOPPING_SOURCE,
    P.MIGRATING,
    P.COMMITTING,
    P.COMPLETING,
    P.DONE,
]


def phases(decisions) -> list[Phase]:
    seen = [P.OPTED_IN]
    for decision in decisions:
        if decision.next_phase != seen[-1]:
            seen.append(decision.next_phase)
    return seen


def test_happy_path_reaches_done_with_each_action_once():
    world = World()
    rec, decisions = run(world)
    assert rec.phase is P.DONE
    assert phases(decisions) == HAPPY
    assert world.performed == [
        Act.GUEST_CHECK,
        Act.INSTALL_AGENT,
        Act.ENABLE_REPLICATION,
        Act.TEST_FAILOVER,
        Act.TEST_FAILOVER_CLEANUP,
        Act.STOP_SOURCE,
        Act.UNPLANNED_FAILOVER,
        Act.COMMIT_FAILOVER,
        Act.COMPLETE_MIGRATION,
    ]
    assert rec.pending_action is None and rec.test_validated_at is not None


def test_done_is_terminal_and_quiet():
    world = World()
    rec, _ = run(world)
    decision = decide(rec, world.facts(rec), Policy(), world.now)
    assert decision.next_phase is P.DONE and decision.action is None


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"image_name": "amzn2-ami-hvm-2.0"}, "amazon-linux"),
        ({"platform": "Amazon Linux"}, "amazon-linux"),
        ({"virtualization_type": "paravirtual"}, "paravirtual"),
        ({"disks": (Disk("/dev/sda1", 3_000, True),)}, "os-disk-too-large"),
        (
            {"disks": (Disk("/dev/sda1", 30, True), *(Disk(f"/dev/x{n}", 10, False) for n in range(65)))},
            "data-disks-unsupported",
        ),
        ({"ssm_managed": False}, "ssm-unmanaged"),
        ({"architecture": "arm64"}, "unsupported-architecture"),
        ({"architecture": "i386"}, "unsupported-architecture"),
    ],
)
def test_preflight_blocks_with_a_reason_and_no_action(change, code):
    world = World(ec2=ec2_facts(**change))
    rec, _ = run(world)
    assert rec.phase is P.BLOCKED
    assert rec.last_error is not None and code in rec.last_error.code
    assert "Fix:" in rec.last_error.message
    assert world.performed == []


def test_uefi_allows_a_larger_os_disk():
    world = World(ec2=ec2_facts(boot_mode="uefi", disks=(Disk("/dev/sda1", 3_000, True),)))
    rec, _ = run(world)
    assert rec.phase is P.DONE


def test_blocked_goes_on_by_itself_once_the_cause_is_fixed():
    world = World(ec2=ec2_facts(virtualization_type="paravirtual"))
    rec, _ = run(world)
    assert rec.phase is P.BLOCKED
    world.ec2 = ec2_facts()
    rec, decisions = run(world, rec)
    assert rec.phase is P.DONE
    assert decisions[0].next_phase is P.PREFLIGHT


def test_opt_out_before_replication_needs_no_cleanup():
    world = World(discovered=False, admission=False)
    rec, _ = run(world, passes=5)
    assert rec.phase is P.QUEUED
    world.ec2 = ec2_facts(tags={"azmigrate:enabled": "false"})
    rec, _ = run(world, rec)
    assert rec.phase is P.OPTED_OUT


def test_opt_out_during_test_migration_cleans_up_then_disables():
    world = World()
    rec = advance_to(world, record(), P.TEST_VALIDATION)
    world.ec2 = ec2_facts(tags={})
    rec, _ = run(world, rec)
    assert rec.phase is P.OPTED_OUT
    assert world.performed[-2:] == [Act.TEST_FAILOVER_CLEANUP, Act.DISABLE_REPLICATION]
    assert world.item is None


def test_opt_out_is_ignored_once_the_source_is_stopping():
    world = World()
    rec = advance_to(world, record(), P.STOPPING_SOURCE)
    assert world.ec2 is not None
    world.ec2 = replace(world.ec2, tags={})
    rec, _ = run(world, rec)
    assert rec.phase is P.DONE


def test_approval_mode_waits_for_the_tag():
    world = World(ec2=ec2_facts(tags={"azmigrate:enabled": "true"}))  # default policy: approval
    rec, _ = run(world, policy=Policy(cutover_mode="approval"), passes=30)
    assert rec.phase is P.READY_FOR_CUTOVER
    assert Act.STOP_SOURCE not in world.performed
    assert world.ec2 is not None
    world.ec2 = replace(world.ec2, tags={**world.ec2.tags, "azmigrate:approved": "true"})
    rec, _ = run(world, rec, policy=Policy(cutover_mode="approval"))
    assert rec.phase is P.DONE


def test_approval_through_the_api_counts_too():
    world = World(ec2=ec2_facts(tags={"azmigrate:enabled": "true", "azmigrate:cutover": "approval"}))
    rec, _ = run(world, passes=30)
    assert rec.phase is P.READY_FOR_CUTOVER
    rec, _ = run(world, rec.evolve(cutover_approved_at=world.now))
    assert rec.phase is P.DONE


@pytest.mark.parametrize(
    ("tag", "waits"),
    [
        ("2099-01-01T00:00:00Z", True),
        ("2000-01-01T00:00:00Z", False),
        ("tomorrow", True),
        ("2099-01-01T00:00:00", True),
    ],
)
def test_not_before_delays_cutover(tag, waits):
    world = World(
        ec2=ec2_facts(
            tags={"azmigrate:enabled": "true", "azmigrate:cutover": "auto", "azmigrate:not-before": tag}
        )
    )
    rec, decisions = run(world, passes=30)
    assert (rec.phase is P.READY_FOR_CUTOVER) == waits
    if waits:
        assert "not-before" in decisions[-1].reason or "not before" in decisions[-1].reason


def test_test_failover_that_fails_once_is_cleaned_up_and_retried():
    world = World(fail_next={Act.TEST_FAILOVER})
    rec, decisions = run(world)
    assert rec.phase is P.DONE
    assert world.performed.count(Act.TEST_FAILOVER) == 2
    assert world.performed.count(Act.TEST_FAILOVER_CLEANUP) == 2
    assert rec.attempts == {"test_migration": 1}
    assert P.PROTECTED in phases(decisions)[phases(decisions).index(P.TEST_CLEANUP) :]


def test_failed_migration_rolls_back_and_starts_the_source():
    world = World(fail_next={Act.UNPLANNED_FAILOVER})
    rec = advance_to(world, record(), P.MIGRATING)
    assert world.ec2 is not None and world.ec2.state == "stopped"
    world.now += timedelta(minutes=5)
    rec, decision = step(world, rec, Policy())
    assert decision.next_phase is P.PROTECTED and decision.event == "rolled_back"
    assert world.ec2.state == "running"
    assert rec.test_validated_at is None and rec.last_error is not None
    rec, _ = run(world, rec)
    assert rec.phase is P.DONE  # re-tested, then migrated


def test_job_failures_past_the_limit_fail_the_vm_with_the_jobs_error():
    world = World(always_fail={Act.COMMIT_FAILOVER})
    policy = Policy(retry_limit=2, backoff_seconds=60)
    rec, _ = run(world, policy=policy)
    assert rec.phase is P.FAILED
    assert rec.failed_phase is P.COMMITTING
    assert world.performed.count(Act.COMMIT_FAILOVER) == 2
    assert rec.last_error is not None and rec.last_error.code == "InjectedFailure"
    assert not rec.last_error.retryable
    decision = decide(rec, world.facts(rec), policy, world.now)
    assert decision.action is None and "retry through the API" in decision.reason


def test_backoff_is_respected_then_doubles():
    world = World(always_fail={Act.COMMIT_FAILOVER})
    policy = Policy(retry_limit=5, backoff_seconds=100)
    rec = advance_to(world, record(), P.COMMITTING, policy)  # entering it issued the first, failing commit
    rec, _ = step(world, rec, policy)
    assert rec.next_attempt_at == world.now + timedelta(seconds=100)
    world.now += timedelta(seconds=50)
    rec, decision = step(world, rec, policy)
    assert decision.action is None and "backing off" in decision.reason
    world.now += timedelta(seconds=50)
    rec, decision = step(world, rec, policy)
    assert decision.action is Act.COMMIT_FAILOVER
    rec, _ = step(world, rec, policy)
    assert rec.next_attempt_at == world.now + timedelta(seconds=200)


def test_enable_failure_removes_the_failed_item_then_enables_again():
    world = World(fail_next={Act.ENABLE_REPLICATION})
    rec, _ = run(world)
    assert rec.phase is P.DONE
    enables = [a for a in world.performed if a in {Act.ENABLE_REPLICATION, Act.DISABLE_REPLICATION}]
    assert enables[:3] == [Act.ENABLE_REPLICATION, Act.DISABLE_REPLICATION, Act.ENABLE_REPLICATION]


def test_agent_install_failure_is_retried():
    world = World(fail_next={Act.INSTALL_AGENT})
    rec, _ = run(world)
    assert rec.phase is P.DONE
    assert world.performed.count(Act.INSTALL_AGENT) == 2


def test_not_discovered_in_time_fails_with_the_seeds_advice():
    world = World()
    world.fail_next.add(Act.INSTALL_AGENT)
    rec = advance_to(world, record(), P.AGENT_INSTALL)
    world.command = None
    rec = rec.evolve(phase=P.AWAITING_DISCOVERY, pending_action=None)
    world.now += timedelta(hours=2)
    rec, _ = step(world, rec, Policy(discovery_timeout_seconds=3_600))
    assert rec.phase is P.FAILED
    assert rec.last_error is not None and "9443" in rec.last_error.message


def test_queued_waits_for_admission():
    world = World(admission=False)
    rec, _ = run(world, passes=10)
    assert rec.phase is P.QUEUED
    assert Act.ENABLE_REPLICATION not in world.performed


def test_an_admitted_vm_waits_for_the_vaults_set_up_then_enables():
    world = World(vault_setup="creating the replication policy azmigrate-rcm-policy")
    rec, decisions = run(world, passes=10)
    assert rec.phase is P.QUEUED and Act.ENABLE_REPLICATION not in world.performed
    assert decisions[-1].event == "vault_setup" and decisions[-1].waiting == "cloud"
    assert rec.waiting_for is not None and "azmigrate-rcm-policy" in rec.waiting_for.message
    world.vault_setup = ""
    rec, _ = run(world, rec, passes=1)
    assert rec.phase is P.ENABLING and world.performed[-1] is Act.ENABLE_REPLICATION


def test_initial_replication_reports_progress_until_protected():
    rec = record().evolve(phase=P.INITIAL_REPLICATION)
    item = ItemFacts("ec2-i-1", "InitialReplicationInProgress", frozenset(), progress_percent=42)
    decision = decide(rec, Facts(ec2=ec2_facts(), item=item), Policy(), T0)
    assert decision.next_phase is P.INITIAL_REPLICATION and "42%" in decision.reason
    done = replace(item, protection_state="Protected", allowed_operations=PROTECTED_OPS)
    assert decide(rec, Facts(ec2=ec2_facts(), item=done), Policy(), T0).next_phase is P.PROTECTED


def test_every_asr_action_waits_for_its_allowed_operation():
    rec = record().evolve(phase=P.PROTECTED)
    item = ItemFacts("ec2-i-1", "Protected", frozenset({"disableprotection"}))
    decision = decide(rec, Facts(ec2=ec2_facts(), item=item), Policy(), T0)
    assert decision.action is None and "TestFailover" in decision.reason
    ready = record().evolve(phase=P.READY_FOR_CUTOVER)
    decision = decide(ready, Facts(ec2=ec2_facts(), item=item), Policy(cutover_mode="auto"), T0)
    assert decision.action is None and "UnplannedFailover" in decision.reason


def test_after_a_crash_the_effect_is_adopted_not_repeated():
    rec = record().evolve(
        phase=P.TEST_MIGRATION,
        pending_action=PendingAction(action="test_failover", attempt_id="a-1", started_at=T0),
    )
    job = JobFacts("job-77", "TestFailover", "InProgress", T0 + timedelta(seconds=3))
    item = ItemFacts("ec2-i-1", "Protected", frozenset())
    later = T0 + timedelta(hours=1)  # far past the lease: without the job it would issue again
    decision = decide(rec, Facts(ec2=ec2_facts(), item=item, item_jobs=(job,)), Policy(), later)
    assert decision.action is None and decision.adopt_job_id == "job-77" and decision.event == "adopted"
    adopted = apply_decision(rec, decision, later, "a-2")
    assert adopted.pending_action is not None and adopted.pending_action.job_id == "job-77"
    assert adopted.pending_action.attempt_id == "a-1"


def test_an_intent_inside_its_lease_is_not_repeated_and_after_it_is():
    rec = record().evolve(
        phase=P.TEST_MIGRATION,
        pending_action=PendingAction(action="test_failover", attempt_id="a-1", started_at=T0),
    )
    facts = Facts(ec2=ec2_facts(), item=ItemFacts("ec2-i-1", "Protected", PROTECTED_OPS))
    soon = decide(rec, facts, Policy(lease_seconds=600), T0 + timedelta(seconds=30))
    assert soon.action is None and "waiting for its result" in soon.reason
    old_job = JobFacts(
        "job-1", "TestFailover", "Succeeded", T0 - timedelta(days=1)
    )  # an earlier test: not ours
    late = decide(
        rec, replace(facts, item_jobs=(old_job,)), Policy(lease_seconds=600), T0 + timedelta(minutes=11)
    )
    assert late.action is Act.TEST_FAILOVER


def test_instance_gone_before_cutover_opts_out():
    rec = record().evolve(phase=P.PROTECTED)
    decision = decide(rec, Facts(ec2=None, item=ItemFacts("x", "Protected", PROTECTED_OPS)), Policy(), T0)
    assert decision.next_phase is P.OPTING_OUT and "no longer exists" in decision.reason


def test_illegal_transitions_raise_a_typed_error():
    from shared.core.actions import Decision

    with pytest.raises(IllegalTransition, match="cannot go from opted_in to done"):
        apply_decision(record(), Decision(P.DONE, "skip everything"), T0, "a")
    with pytest.raises(IllegalTransition):
        apply_decision(record().evolve(phase=P.DONE), Decision(P.PREFLIGHT, "again"), T0, "a")


def test_a_decision_carries_at_most_one_side_effect():
    from shared.core.actions import Decision

    with pytest.raises(ValueError, match="at most one"):
        Decision(P.OPTED_IN, "two", (Act.STOP_SOURCE, Act.START_SOURCE))


def test_when_removing_a_failed_item_fails_too_the_vm_fails_instead_of_waiting_forever():
    world = World(always_fail={Act.ENABLE_REPLICATION, Act.DISABLE_REPLICATION})
    rec, _ = run(world, policy=Policy(retry_limit=3, backoff_seconds=60))
    assert rec.phase is P.FAILED
    assert rec.failed_phase is P.ENABLING
    assert world.performed.count(Act.DISABLE_REPLICATION) >= 1


def test_a_finished_job_with_a_stale_item_does_not_count_as_a_validated_test():
    """The snapshot's item may be older than its job list: wait for the item to agree, never re-test."""
    rec = record().evolve(
        phase=P.TEST_MIGRATION,
        pending_action=PendingAction(action="test_failover", attempt_id="a", started_at=T0, job_id="job-1"),
    )
    job = JobFacts("job-1", "TestFailover", "Succeeded", T0)
    stale = ItemFacts("ec2-i-1", "Protected", frozenset(), test_failover_state="None")
    decision = decide(rec, Facts(ec2=ec2_facts(), item=stale, job=job, item_jobs=(job,)), Policy(), T0)
    assert decision.next_phase is P.TEST_MIGRATION and decision.action is None
    fresh = replace(
        stale,
        test_failover_state="WaitingForCompletion",
        allowed_operations=frozenset({"testfailovercleanup"}),
    )
    decision = decide(rec, Facts(ec2=ec2_facts(), item=fresh, job=job, item_jobs=(job,)), Policy(), T0)
    assert decision.next_phase is P.TEST_VALIDATION


def test_outside_the_cutover_window_a_ready_vm_waits():
    rec = record().evolve(phase=P.READY_FOR_CUTOVER)
    item = ItemFacts("ec2-i-1", "Protected", PROTECTED_OPS)
    facts = Facts(ec2=ec2_facts(), item=item, in_cutover_window=False)
    decision = decide(rec, facts, Policy(cutover_mode="auto"), T0)
    assert decision.action is None and "outside the cutover window" in decision.reason
    assert (
        decide(rec, replace(facts, in_cutover_window=True), Policy(cutover_mode="auto"), T0).action
        is Act.STOP_SOURCE
    )


def test_a_waves_own_mode_and_window_apply_and_the_instances_tag_still_wins():
    rec = record().evolve(phase=P.READY_FOR_CUTOVER, wave="wave-b")
    item = ItemFacts("ec2-i-1", "Protected", PROTECTED_OPS)
    untagged = ec2_facts(tags={"azmigrate:enabled": "true"})
    facts = Facts(ec2=untagged, item=item, wave_cutover_mode="approval")
    decision = decide(rec, facts, Policy(cutover_mode="auto"), T0)
    assert decision.action is None and decision.waiting == "approval"  # the wave asks for approval
    tagged = replace(facts, ec2=ec2_facts(tags={"azmigrate:enabled": "true", "azmigrate:cutover": "auto"}))
    assert decide(rec, tagged, Policy(cutover_mode="approval"), T0).action is Act.STOP_SOURCE  # tag wins
    closed = replace(tagged, in_cutover_window=False, wave_windows="wave-b")
    assert "outside wave wave-b's cutover window" in decide(rec, closed, Policy(), T0).reason


def test_a_failed_vm_whose_tag_is_removed_disables_its_replication_and_opts_out():
    world = World(always_fail={Act.TEST_FAILOVER})
    rec, _ = run(world, policy=Policy(retry_limit=2, backoff_seconds=60))
    assert (rec.phase, rec.failed_phase) == (P.FAILED, P.TEST_MIGRATION)
    replicating = world.item is not None  # (a name, so the check below is not narrowed away)
    assert replicating
    world.ec2 = ec2_facts(tags={})
    rec, _ = run(world, rec)
    assert rec.phase is P.OPTED_OUT
    assert world.item is None
    assert world.performed[-1] is Act.DISABLE_REPLICATION


@pytest.mark.parametrize(
    ("phase", "failed_phase", "opts_out"),
    [
        (P.PAUSED, None, True),
        (P.FAILED, P.ENABLING, True),
        (P.FAILED, P.READY_FOR_CUTOVER, True),  # a cutover rolled back: the source runs again
        (P.FAILED, None, True),
        (P.FAILED, P.STOPPING_SOURCE, False),  # the source may be stopped: a person decides
        (P.FAILED, P.COMMITTING, False),  # the Azure VM is live
    ],
)
def test_an_instance_gone_takes_out_a_paused_or_failed_vm_unless_its_cutover_began(
    phase: P, failed_phase: P | None, opts_out: bool
):
    rec = record().evolve(phase=phase, failed_phase=failed_phase)
    decision = decide(rec, Facts(ec2=None, item=ItemFacts("x", "Protected", PROTECTED_OPS)), Policy(), T0)
    assert decision.next_phase is (P.OPTING_OUT if opts_out else phase)
    assert decision.action is None
