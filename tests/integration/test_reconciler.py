"""The reconciler with real adapters over real protocols: moto, Azurite and the ASR simulator."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from local.asr_simulator.model import CLASSIC, RCM
from local.stack import Azurite, LocalService, aws_client
from shared.commands import Commands
from shared.model.phases import Phase
from tests.integration.asr_support import admin
from tests.integration.reconcile_support import Estate, build_estate

pytestmark = pytest.mark.integration
STEPS = ["", "testFailover", "testFailoverCleanup", "unplannedFailover", "failoverCommit", "remove"]


@pytest.fixture
def estate_factory(azurite: Azurite, moto_server: LocalService) -> Iterator[Callable[..., Estate]]:
    made: list[Estate] = []

    def make(**kwargs) -> Estate:
        made.append(build_estate(azurite, moto_server, **kwargs))
        return made[-1]

    yield make
    for estate in made:
        estate.client.close()
        estate.sim.stop()


@pytest.mark.parametrize("provider", [RCM, CLASSIC])
def test_a_tagged_instance_is_migrated_end_to_end(estate_factory, provider):
    estate = estate_factory(provider=provider)
    [vm] = estate.launch()
    estate.run({Phase.DONE}, [vm])

    record = estate.store.get(vm)
    assert record.phase is Phase.DONE and record.pending_action is None
    item = f"azmigrate-{vm}"
    assert estate.asr_mutations() == {(item, "PUT", ""): 1, **{(item, "POST", s): 1 for s in STEPS[1:]}}
    instance = estate.instance(vm)
    assert instance["State"]["Name"] == "stopped"
    assert {t["Key"]: t["Value"] for t in instance["Tags"]}[f"{estate.prefix}:status"] == "done"
    # An 8 GB disk replicates well within one 600 s pass, so initial replication is over when next seen.
    went = [e.to_phase for e in estate.store.history(vm) if e.to_phase and e.from_phase != e.to_phase]
    assert went == [
        Phase.OPTED_IN,
        Phase.PREFLIGHT,
        Phase.AGENT_INSTALL,
        Phase.AWAITING_DISCOVERY,
        Phase.QUEUED,
        Phase.ENABLING,
        Phase.PROTECTED,  # 8 GB replicate within one 600 s pass: initial replication is over when next seen
        Phase.TEST_MIGRATION,
        Phase.TEST_VALIDATION,
        Phase.TEST_CLEANUP,
        Phase.READY_FOR_CUTOVER,
        Phase.STOPPING_SOURCE,
        Phase.MIGRATING,
        Phase.COMMITTING,
        Phase.COMPLETING,
        Phase.DONE,
    ]
    assert any(e.job_id for e in estate.store.history(vm))


def test_opt_out_mid_replication_disables_replication(estate_factory):
    estate = estate_factory()
    [vm] = estate.launch()
    estate.run({Phase.PROTECTED, Phase.TEST_MIGRATION}, [vm])
    estate.tag(vm, "enabled", None)
    estate.run({Phase.OPTED_OUT}, [vm])
    item = f"azmigrate-{vm}"
    mutations = estate.asr_mutations()
    assert mutations[(item, "POST", "remove")] == 1
    assert item not in estate.sim.vault.items
    assert estate.instance(vm)["State"]["Name"] == "running"  # never touched


def test_approval_gates_the_cutover(estate_factory):
    estate = estate_factory()
    [vm] = estate.launch(tags={f"{estate.prefix}:cutover": "approval"})
    estate.run({Phase.READY_FOR_CUTOVER}, [vm])
    for _ in range(3):  # it keeps waiting, however much time passes
        estate.run({Phase.READY_FOR_CUTOVER}, [vm], passes=1)
    assert estate.instance(vm)["State"]["Name"] == "running"
    estate.tag(vm, "approved", "true")
    estate.run({Phase.DONE}, [vm])


def test_a_test_failover_that_fails_once_is_retried(estate_factory):
    estate = estate_factory(faults={"failScenarios": {"TestFailover": 1}})
    [vm] = estate.launch()
    estate.run({Phase.DONE}, [vm])
    item = f"azmigrate-{vm}"
    mutations = estate.asr_mutations()
    assert mutations[(item, "POST", "testFailover")] == 2
    assert mutations[(item, "POST", "testFailoverCleanup")] == 2
    assert estate.store.get(vm).attempts == {"test_migration": 1}


def test_a_failed_migration_rolls_back_and_starts_the_source(estate_factory):
    estate = estate_factory(faults={"failScenarios": {"UnplannedFailover": 1}})
    [vm] = estate.launch()
    estate.run({Phase.DONE}, [vm])
    [rollback] = [e for e in estate.store.history(vm) if e.event == "rolled_back"]
    assert rollback.from_phase is Phase.MIGRATING and rollback.to_phase is Phase.PROTECTED
    assert estate.asr_mutations()[(f"azmigrate-{vm}", "POST", "unplannedFailover")] == 2
    assert estate.store.get(vm).attempts == {"migrate": 1}


def test_after_a_rollback_the_source_runs_again(estate_factory):
    estate = estate_factory(faults={"failScenarios": {"UnplannedFailover": 1}})
    [vm] = estate.launch()
    estate.run_until(lambda: any(e.event == "rolled_back" for e in estate.store.history(vm)))
    assert estate.instance(vm)["State"]["Name"] in {"pending", "running"}
    assert estate.store.get(vm).phase is Phase.PROTECTED


def test_a_machine_whose_every_job_fails_ends_failed_with_the_reason(estate_factory):
    estate = estate_factory(faults={"failMachines": ["web"]})
    [vm] = estate.launch()
    estate.run({Phase.FAILED}, [vm])
    record = estate.store.get(vm)
    assert record.failed_phase is Phase.ENABLING
    assert record.last_error is not None and record.last_error.code == "InjectedFailure"
    # Three attempts in all (the retry limit): the enable, then two tries to remove the failed item,
    # whose jobs fail too, since every job of this machine does.
    mutations = estate.asr_mutations()
    assert mutations[(f"azmigrate-{vm}", "PUT", "")] == 1
    assert mutations[(f"azmigrate-{vm}", "POST", "remove")] == 2
    assert record.attempts == {"enable_replication": 3}


def test_concurrent_reconcilers_perform_every_asr_action_exactly_once(estate_factory):
    estate = estate_factory()
    vms = estate.launch(3)
    for _ in range(40):
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda _: estate.reconciler.reconcile(discover=True), range(2)))
        estate.bridge.sync()
        if all((r := estate.store.find(v)) is not None and r.phase is Phase.DONE for v in vms):
            break
        admin(estate.sim, "/admin/clock", {"advanceSeconds": 600})
    assert all(estate.store.get(v).phase is Phase.DONE for v in vms)
    mutations = estate.asr_mutations()
    for vm in vms:
        item = f"azmigrate-{vm}"
        assert mutations[(item, "PUT", "")] == 1
        for step in STEPS[1:]:
            assert mutations[(item, "POST", step)] == 1, (vm, step)


class SimulatedCrash(Exception):
    """The worker died between an ASR action's effect and the write that records what to track."""


@pytest.mark.parametrize("provider", [RCM, CLASSIC])
def test_a_crash_after_every_asr_effect_issues_nothing_twice(estate_factory, provider):
    """Operation ids are never job ids here, and jobs name their item by GUID and friendly name only:
    each lost write is healed by finding the job among the item's jobs, never by acting again."""
    estate = estate_factory(provider=provider)
    commands = estate.reconciler.commands
    crashed: set[tuple[str, str]] = set()
    record_effect = commands.record_effect

    def dies_once_per_step(record, act, effect):
        if effect.operation_id is not None and (record.instance_id, act) not in crashed:
            crashed.add((record.instance_id, act))
            raise SimulatedCrash(act)
        return record_effect(record, act, effect)

    commands.record_effect = dies_once_per_step
    # Distinct names: classic jobs tie to their item only by its friendly name (the VM's name).
    vms = estate.launch(1, name="web-a") + estate.launch(1, name="web-b")
    for _ in range(60):
        with contextlib.suppress(SimulatedCrash):  # a new worker picks up from the store next pass
            estate.reconciler.reconcile(discover=True)
        estate.bridge.sync()
        if all((r := estate.store.find(v)) is not None and r.phase is Phase.DONE for v in vms):
            break
        admin(estate.sim, "/admin/clock", {"advanceSeconds": 600})
    assert {estate.store.get(v).phase for v in vms} == {Phase.DONE}
    assert len(crashed) == 2 * len(STEPS)  # every ASR action of both VMs crashed once
    mutations = estate.asr_mutations(accepted_only=False)  # issued, whether accepted or refused
    for vm in vms:
        item = f"azmigrate-{vm}"
        assert mutations[(item, "PUT", "")] == 1
        assert all(mutations[(item, "POST", step)] == 1 for step in STEPS[1:]), mutations
        adopted = {e.reason.split()[2] for e in estate.store.history(vm) if e.event == "adopted"}
        # Every effect but the last is found among the item's jobs; the last removes the item (and
        # with it what its jobs are matched by): its effect shows as the item's absence instead.
        assert adopted == {
            "enable_replication",
            "test_failover",
            "test_failover_cleanup",
            "unplanned_failover",
            "commit_failover",
        }
    jobs = list(estate.sim.vault.jobs.values())
    assert all(job.operation_id != job.name and job.target_object_id != job.item_name for job in jobs)


def test_a_writer_paused_past_its_lease_sends_nothing_after_another_took_over(estate_factory):
    """Fencing: host A writes an intent and pauses (GC, a frozen VM) past its lease; host B re-issues
    the action; when A resumes, its fence check fails and it sends nothing: one command, not two."""
    estate = estate_factory()
    [vm] = estate.launch()
    a, b = estate.reconciler, copy.copy(estate.reconciler)
    b.commands = Commands(estate.store, clock=a.clock)
    confirm = a.commands.confirm_intent
    paused: list[str] = []

    def pause_then_confirm(record, now, lease_seconds):
        if not paused:
            paused.append(record.instance_id)
            admin(estate.sim, "/admin/clock", {"advanceSeconds": lease_seconds + 1})
            b.reconcile(discover=True)  # B finds the intent without a result past its lease
        return confirm(record, a.clock(), lease_seconds)

    a.commands.confirm_intent = pause_then_confirm
    report = a.reconcile(discover=True)
    assert paused == [vm] and report.conflicts + len(report.unfinished) >= 1
    commands = aws_client(estate.moto.url, "ssm").list_commands(InstanceId=vm)["Commands"]
    assert len(commands) == 1  # B's; A's was dropped at the fence
    assert estate.store.get(vm).pending_action.job_id == commands[0]["CommandId"]


def test_a_pass_with_site_recovery_down_completes_what_it_can_and_reports_the_rest(estate_factory):
    """A pass degrades, never aborts: with every ASR call failing, VMs that need no ASR view go on,
    the others are held and reported, and nothing raises."""
    estate = estate_factory()
    first = estate.launch(1, name="early")
    estate.run({Phase.QUEUED, Phase.ENABLING, Phase.INITIAL_REPLICATION, Phase.PROTECTED}, first)
    late = estate.launch(1, name="late")
    admin(estate.sim, "/admin/faults", {"serverErrorRate": 1.0})
    report = estate.reconciler.reconcile(discover=True)
    assert estate.store.get(late[0]).phase is Phase.PREFLIGHT  # taken in and assessed without ASR
    assert any(first[0] in line and "held" in line for line in report.unfinished)
    admin(estate.sim, "/admin/faults", {"serverErrorRate": 0.0})
    estate.run({Phase.DONE}, first + late)
