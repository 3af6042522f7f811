"""A tiny pure world for the decision core: it answers actions the way EC2, SSM and ASR would.

Tests drive `decide` + `apply_decision` against it, pass by pass, with no I/O and a moved clock.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from local.guest_stand_in import guest_output
from shared.core.actions import Act, Decision
from shared.core.decide import apply_decision, decide
from shared.model.facts import (
    CommandFacts,
    Disk,
    Ec2Facts,
    Facts,
    InstanceTypeFacts,
    ItemFacts,
    JobFacts,
    Policy,
    SmokeFacts,
    TestVmFacts,
    Utilisation,
)
from shared.model.phases import Phase
from shared.model.records import MigrationRecord
from tests.conftest import T0, record

PROTECTED_OPS = frozenset({"testfailover", "unplannedfailover", "disableprotection"})
_ids = itertools.count(1)


def ec2_facts(**changes: object) -> Ec2Facts:
    base = Ec2Facts(
        instance_id="i-00000000000000001",
        state="running",
        tags={"azmigrate:enabled": "true", "azmigrate:cutover": "auto"},
        platform="Red Hat Enterprise Linux",
        image_name="RHEL-9.4.0_HVM-20240423-x86_64-62-Hourly2-GP3",
        disks=(Disk("/dev/sda1", 30, True), Disk("/dev/sdf", 100, False)),
        ssm_managed=True,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


HEALTHY_VM = TestVmFacts(
    "web-1-test", found=True, provisioning="succeeded", power="running", agent="Ready", boot_log=True
)


@dataclass
class World:
    ec2: Ec2Facts | None = field(default_factory=ec2_facts)
    item: ItemFacts | None = None
    jobs: dict[str, JobFacts] = field(default_factory=dict)
    command: CommandFacts | None = None
    instance_type: InstanceTypeFacts | None = None
    utilisation: Utilisation | None = None
    discovered: bool = False
    admission: bool = True
    vault_setup: str = ""
    test_vm: TestVmFacts | None = field(default_factory=lambda: HEALTHY_VM)
    smoke: SmokeFacts | None = None
    test_vm_name: str = ""  # what a test failover's job names as its test VM
    fail_next: set[Act] = field(default_factory=set)  # fail the next one of each
    always_fail: set[Act] = field(default_factory=set)
    now: datetime = T0
    performed: list[Act] = field(default_factory=list)

    def facts(self, rec: MigrationRecord) -> Facts:
        pending = rec.pending_action
        job = self.jobs.get(pending.job_id) if pending and pending.job_id else None
        return Facts(
            ec2=self.ec2,
            item=self.item,
            job=job,
            item_jobs=tuple(self.jobs.values()),
            command=self.command,
            instance_type=self.instance_type,
            utilisation=self.utilisation,
            discovered_machine_id="machine-1" if self.discovered else None,
            admission=self.admission,
            vault_setup=self.vault_setup,
            test_vm=self.test_vm,
            smoke=self.smoke,
        )

    def job(self, act: Act, scenario: str) -> str:
        job_id = f"job-{next(_ids)}"
        failed = act in self.fail_next or act in self.always_fail
        self.fail_next.discard(act)
        self.jobs[job_id] = JobFacts(
            job_id,
            scenario,
            "Failed" if failed else "Succeeded",
            self.now,
            "InjectedFailure" if failed else "",
            "boom" if failed else "",
            test_vm_name=self.test_vm_name if scenario == "TestFailover" else "",
        )
        return job_id

    def perform(self, act: Act) -> str | None:
        """Does what the real service would; returns the job or command id to record."""
        self.performed.append(act)
        if act == Act.SMOKE_TEST:  # the Run Command finishes at once here
            failed = act in self.fail_next or act in self.always_fail
            self.smoke = SmokeFacts("Failed" if failed else "Succeeded", 1 if failed else 0, error="refused")
            return f"smoke-{next(_ids)}"
        if act in {Act.GUEST_CHECK, Act.INSTALL_AGENT, Act.STOP_SOURCE, Act.START_SOURCE}:
            return self._aws(act)
        return self._asr(act)

    def _aws(self, act: Act) -> str | None:
        failed = act in self.fail_next or act in self.always_fail
        if act == Act.GUEST_CHECK:
            assert self.ec2 is not None
            output = (
                ""
                if failed
                else guest_output(self.ec2.instance_id, self.ec2.tags, self.ec2.platform, self.ec2.image_name)
            )
            self.command = CommandFacts(
                f"cmd-{next(_ids)}", "Failed" if failed else "Success", self.now, output
            )
            self.fail_next.discard(act)
            return self.command.command_id
        if act == Act.INSTALL_AGENT:
            self.command = CommandFacts(f"cmd-{next(_ids)}", "Failed" if failed else "Success", self.now)
            self.fail_next.discard(act)
            self.discovered = not failed
            return self.command.command_id
        if act == Act.STOP_SOURCE:
            self.ec2 = replace(self.ec2, state="stopped") if self.ec2 else None
        else:
            self.ec2 = replace(self.ec2, state="running") if self.ec2 else None
        return None

    def _asr(self, act: Act) -> str:
        failed = act in self.fail_next or act in self.always_fail
        item = self.item
        if act == Act.ENABLE_REPLICATION:
            job = self.job(act, "EnableDr")
            state = "EnableProtectionFailed" if failed else "Protected"
            ops = frozenset({"disableprotection"}) if failed else PROTECTED_OPS
            self.item = ItemFacts("ec2-i-1", state, ops, progress_percent=100)
            return job
        assert item is not None, f"{act} with no item"
        if act == Act.TEST_FAILOVER:
            job = self.job(act, "TestFailover")
            self.item = replace(
                item,
                test_failover_state="Failed" if failed else "WaitingForCompletion",
                allowed_operations=frozenset({"testfailovercleanup"}),
            )
        elif act == Act.TEST_FAILOVER_CLEANUP:
            job = self.job(act, "TestFailoverCleanup")
            if not failed:
                self.item = replace(item, test_failover_state="None", allowed_operations=PROTECTED_OPS)
        elif act == Act.UNPLANNED_FAILOVER:
            job = self.job(act, "UnplannedFailover")
            if not failed:
                self.item = replace(
                    item,
                    protection_state="UnplannedFailoverCommitPendingStatesBegin",
                    active_location="Recovery",
                    allowed_operations=frozenset({"commit", "completemigration", "disableprotection"}),
                )
        elif act == Act.COMMIT_FAILOVER:
            job = self.job(act, "CommitFailover")
            if not failed:
                self.item = replace(
                    item,
                    protection_state="UnplannedFailoverCommitted",
                    allowed_operations=frozenset({"completemigration", "disableprotection"}),
                )
        else:  # complete or disable
            job = self.job(act, "DisableDr")
            if not failed:
                self.item = None
        return job


def step(world: World, rec: MigrationRecord, policy: Policy) -> tuple[MigrationRecord, Decision]:
    """One reconcile of one VM: decide, write the intent, perform, write the result."""
    decision = decide(rec, world.facts(rec), policy, world.now)
    rec = apply_decision(rec, decision, world.now, attempt_id=f"a-{next(_ids)}")
    if decision.action is not None:
        result = world.perform(decision.action)
        if result is not None:
            assert rec.pending_action is not None
            rec = rec.evolve(pending_action=rec.pending_action.evolve(job_id=result))
    return rec, decision


def run(
    world: World,
    rec: MigrationRecord | None = None,
    policy: Policy | None = None,
    passes: int = 60,
    tick: float = 600,
) -> tuple[MigrationRecord, list[Decision]]:
    rec = rec or record()
    policy = policy or Policy(retry_limit=3, backoff_seconds=60)
    decisions = []
    for _ in range(passes):
        rec, decision = step(world, rec, policy)
        decisions.append(decision)
        world.now += timedelta(seconds=tick)
        if rec.phase.is_terminal or rec.phase in {Phase.FAILED, Phase.BLOCKED}:
            break
    return rec, decisions


def advance_to(
    world: World, rec: MigrationRecord, phase: Phase, policy: Policy | None = None, passes: int = 40
) -> MigrationRecord:
    """Steps without moving the clock until `rec` reaches `phase`; fails instead of looping forever."""
    for _ in range(passes):
        if rec.phase is phase:
            return rec
        rec, _ = step(world, rec, policy or Policy())
    raise AssertionError(f"never reached {phase}; stuck in {rec.phase}")
