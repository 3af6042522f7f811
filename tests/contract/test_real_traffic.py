"""What real traffic means to the app: responses recorded against Azure (vendor/, sources in README.md)
fed through the ASR adapter's parsers and the core, with the facts and decisions they must give.
No network: these are the real bytes, read from files."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.recoveryservicessiterecovery import models as asr

from local.asr_simulator import shapes
from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Vault
from local.asr_simulator.spec import spec
from shared.adapters.asr import (
    CLASSIC,
    RCM,
    ReplicationSettings,
    Site,
    Target,
    discovered_machine,
    enable_input,
    item_facts,
    job_facts,
    mapping_body,
    operation_facts,
    operation_id_of,
    policy_body,
)
from shared.core.actions import Act
from shared.core.decide import decide
from shared.model.facts import Ec2Facts, Facts, Policy, TestVmFacts
from shared.model.phases import Phase
from shared.model.records import MigrationRecord, PendingAction
from shared.reconcile.snapshot import Snapshot, jobs_by_item
from tests.contract.drive import enable_schema

VENDOR = Path(__file__).parent / "vendor"
CLI = json.loads((VENDOR / "recorded-cli-inmagercm.json").read_text())
NOW = datetime(2023, 8, 26, 5, 0, tzinfo=UTC)


def recorded(seq: int, section: str = "lifecycle") -> dict[str, Any]:
    entry: dict[str, Any] = next(e for e in CLI[section] if e["seq"] == seq)
    return entry


def item(seq: int) -> dict[str, Any]:
    return dict(recorded(seq)["responseBody"])


# --- items ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seq", "state", "allowed"),
    [
        (82, "InitialReplicationInProgress", {"disableprotection"}),
        (88, "InitialReplicationRecoveryCompletionPending", {"disableprotection"}),
        (94, "Protected", {"unplannedfailover", "disableprotection", "testfailover"}),
        (
            130,
            "UnplannedFailoverCommitPendingStatesBegin",
            {"completemigration", "commit", "disableprotection", "changepit", "switchprotection"},
        ),
    ],
)
def test_a_recorded_item_gives_its_state_gates_and_the_ids_its_jobs_use(
    seq: int, state: str, allowed: set[str]
):
    facts = item_facts(item(seq))
    assert (facts.protection_state, facts.allowed_operations) == (state, frozenset(allowed))
    assert facts.current_job_id is None  # idle: currentScenario.jobId ends in /replicationJobs/None
    assert (facts.internal_id, facts.friendly_name) == (
        "9564a42b-620d-531d-9f35-eb9617659b5b",
        "RCM-Win2K16-01",
    )


def test_recorded_initial_replication_progress_is_read():
    assert item_facts(item(82)).progress_percent == 0
    assert item_facts(item(88)).protection_state == "InitialReplicationRecoveryCompletionPending"


# --- operations ----------------------------------------------------------------------------------


def test_recorded_operation_headers_name_the_operation_not_a_job():
    for seq in (25, 107, 207):
        headers = recorded(seq)["responseHeaders"]
        operation = operation_id_of(headers)  # recorded header names are lower case
        assert operation and operation in headers["azure-asyncoperation"] and operation in headers["location"]
    assert operation_id_of({"Location": "https://x/items/i/operationresults/abc?api-version=1"}) == "abc"


def test_a_recorded_success_with_an_error_is_a_success_with_a_warning():
    enable = operation_facts(recorded(81)["responseBody"], "EnableDr")
    assert enable.succeeded and enable.finished and not enable.error_code
    assert enable.warning.startswith("310024:") and "unavailable" in enable.warning
    failover = operation_facts(recorded(129)["responseBody"], "UnplannedFailover")
    assert failover.succeeded and failover.warning.startswith("28175:")


def test_a_recorded_first_poll_is_not_started_and_has_no_start_time():
    first = operation_facts(recorded(16)["responseBody"], "EnableDr")
    assert first.state == "NotStarted" and not first.finished and first.start_time.year == 1


# --- jobs and discovered machines ----------------------------------------------------------------


def test_a_recorded_job_names_its_target_by_id_and_name():
    listed = asr.Job(recorded(27, "related")["responseBody"]["value"][0])
    facts = job_facts(listed)
    assert (facts.scenario, facts.state, facts.target_id) == (
        "RefreshVaultHealth",
        "Succeeded",
        "1112329827161952327",
    )
    assert facts.job_id == "8ef92677-cb79-4182-a1f3-11a8034e52fc" and facts.succeeded


def test_the_spec_examples_jobs_and_items_parse():
    jobs = json.loads((VENDOR / "examples" / "ReplicationJobs_List.2025-08-01.json").read_text())
    for body in jobs["responses"]["200"]["body"]["value"]:
        job = job_facts(asr.Job(body))
        assert job.job_id and job.scenario and job.state
    items = json.loads((VENDOR / "examples" / "ReplicationProtectedItems_List.2025-08-01.json").read_text())
    for body in items["responses"]["200"]["body"]["value"]:
        found = item_facts(body)
        assert found.name and found.protection_state and found.friendly_name


def test_a_recorded_offazure_machine_gives_the_fields_the_app_matches_on():
    page = recorded(21)["responseBody"]["value"][0]
    machine = discovered_machine(page)
    assert machine.bios_id == "4213d8ee-fda2-65e3-244f-682be2d6bd8a" == machine.bios_id.lower()
    assert "10.150.249.15" in machine.ip_addresses
    assert (machine.fqdn, machine.display_name) == ("WIN-CFTVCOV9FML", "RCM-Win2K16-01")  # VMware: vmFqdn


# --- what the app sends, beside what a real client sent ------------------------------------------


def test_the_apps_enable_body_has_the_shape_of_a_recorded_real_one():
    real = recorded(25)["requestBody"]
    schema = enable_schema()
    assert spec().check(schema, real, request=True) == []  # the checker agrees with a real client
    site = Site(RCM, "vault", "fabric", "container", "policy", "ps")
    target = Target(
        "vm", "rg", "net", "default", "test", log_storage_account_id="c", boot_diagnostics_account_id="b"
    )
    ours = enable_input(site, "machine", target).as_dict()
    assert spec().check(schema, ours, request=True) == []
    real_keys = set(real["properties"]["providerSpecificDetails"]) - {"runAsAccountId"}  # VMware sites only
    assert real_keys <= set(ours["properties"]["providerSpecificDetails"])
    assert set(real["properties"]["providerSpecificDetails"]["disksDefault"]) == set(
        ours["properties"]["providerSpecificDetails"]["disksDefault"]
    )


def test_perform_shutdown_is_a_string_as_a_real_client_sent_it():
    real = recorded(107)["requestBody"]["properties"]["providerSpecificDetails"]["performShutdown"]
    ours = asr.InMageRcmUnplannedFailoverInput(perform_shutdown="false").as_dict()["performShutdown"]
    assert real == "true" and ours == "false"


# --- decisions on real items ---------------------------------------------------------------------


def record_in(phase: Phase, pending: PendingAction | None = None) -> MigrationRecord:
    return MigrationRecord.opted_in(
        instance_id="i-0123456789abcdef0", account_id="123456789012", region="us-east-1", now=NOW
    ).evolve(phase=phase, pending_action=pending)


EC2 = Ec2Facts("i-0123456789abcdef0", "running", {"azmigrate:enabled": "true"})


def facts_with(seq: int, **more: Any) -> Facts:
    return Facts(ec2=EC2, item=item_facts(item(seq)), **more)


def test_a_real_item_waiting_for_its_first_recovery_point_holds_the_vm_then_lets_it_on():
    waiting = decide(record_in(Phase.INITIAL_REPLICATION), facts_with(88), Policy(), NOW)
    assert waiting.next_phase is Phase.INITIAL_REPLICATION and "first recovery point" in waiting.reason
    protected = decide(record_in(Phase.INITIAL_REPLICATION), facts_with(94), Policy(), NOW)
    assert protected.next_phase is Phase.PROTECTED


def test_a_real_failover_that_succeeded_with_a_warning_moves_on_and_says_so():
    pending = PendingAction(
        action=Act.UNPLANNED_FAILOVER.value, attempt_id="a1", started_at=NOW, operation_id="f3040a4d"
    )
    operation = operation_facts(recorded(129)["responseBody"], "UnplannedFailover")
    decision = decide(record_in(Phase.MIGRATING, pending), facts_with(130, job=operation), Policy(), NOW)
    assert decision.next_phase is Phase.COMMITTING and decision.action is Act.COMMIT_FAILOVER
    assert "28175" in decision.reason  # the warning reaches the timeline


def test_jobs_find_their_item_by_internal_id_and_friendly_name_not_by_item_name():
    items = {"cli-test-protected-item-V2ARCM-1": item_facts(item(94))}
    by_id = job_facts(
        asr.Job(
            {
                "name": "j1",
                "properties": {
                    "scenarioName": "TestFailover",
                    "state": "InProgress",
                    "targetObjectId": "9564a42b-620d-531d-9f35-eb9617659b5b",
                },
            }
        )
    )
    by_name = job_facts(
        asr.Job(
            {
                "name": "j2",
                "properties": {
                    "scenarioName": "CommitFailover",
                    "state": "Succeeded",
                    "targetObjectName": "RCM-Win2K16-01",
                },
            }
        )
    )
    vault_job = job_facts(asr.Job(recorded(27, "related")["responseBody"]["value"][0]))
    grouped = jobs_by_item(items, [by_id, by_name, vault_job])
    assert grouped == {"cli-test-protected-item-V2ARCM-1": (by_id, by_name)}


# --- Azure PowerShell's and the .NET SDK's recorded sessions --------------------------------------

PS = json.loads((VENDOR / "recorded-powershell.json").read_text())["cases"]


def ps_item(case: str) -> asr.ReplicationProtectedItem:
    return asr.ReplicationProtectedItem(PS[case]["responseBody"])


def ps_job(case: str) -> asr.Job:
    return asr.Job(PS[case]["responseBody"])


def test_recorded_inmagercm_jobs_name_their_item_by_internal_id_and_friendly_name():
    idle = item_facts(ps_item("rcm_item_idle"))
    assert (idle.internal_id, idle.friendly_name, idle.current_job_id) == (
        "422c0419-77bd-57c4-86da-05c51a9101b0",
        "Rcm-W2K19-152",
        None,
    )
    cases = ("rcm_test_failover_job", "rcm_test_failover_cleanup_job", "rcm_commit_job")
    jobs = [job_facts(ps_job(case)) for case in cases]
    assert [j.scenario for j in jobs] == ["TestFailover", "TestFailoverCleanup", "CommitFailover"]
    assert {(j.target_id, j.target_name) for j in jobs} == {(idle.internal_id, idle.friendly_name)}
    assert jobs_by_item({"vcenter67_50158471": idle}, jobs) == {"vcenter67_50158471": tuple(jobs)}


def test_a_recorded_commit_is_tracked_from_its_operation_to_its_job():
    operation = operation_id_of(PS["rcm_commit_post"]["responseHeaders"])
    commit = job_facts(ps_job("rcm_commit_job"))
    assert operation == commit.job_id  # so it was recorded; the app does not count on it
    pending = PendingAction(
        action=Act.COMMIT_FAILOVER.value, attempt_id="a", started_at=NOW, operation_id=operation
    )
    committing = record_in(Phase.COMMITTING, pending)
    after = item_facts(ps_item("rcm_item_after_cleanup_and_failover"))
    items = {"azmigrate-i-0123456789abcdef0": after}
    snapshot = Snapshot({committing.instance_id: committing}, {}, items, [commit], [])
    assert snapshot.tracked_job(committing) == commit


def test_a_recorded_failed_enable_is_removed_before_the_next_try():
    failed = item_facts(ps_item("rcm_item_enabling_failed"))
    assert (failed.protection_state, failed.current_scenario) == ("EnablingFailed", "EnableProtection")
    assert failed.current_job_id == "ff6b4a20-ccd2-47be-b1b0-1db96787cff6"  # the job on it, by its full id
    decision = decide(record_in(Phase.ENABLING), Facts(ec2=EC2, item=failed), Policy(), NOW)
    assert decision.action is Act.DISABLE_REPLICATION


def test_recorded_test_failover_states_drive_validation_and_cleanup():
    after = item_facts(ps_item("rcm_item_after_cleanup_and_failover"))
    assert after.test_failover_state == "MarkedForDeletion"  # still so long after the cleanup succeeded
    waiting = item_facts(ps_item("hyperv_item_waiting_for_cleanup"))  # HyperVReplicaAzure, not InMageRcm
    assert waiting.test_failover_state == "WaitingForCompletion" and waiting.allows("TestFailoverCleanup")
    unseen = decide(record_in(Phase.TEST_VALIDATION), Facts(ec2=EC2, item=waiting), Policy(), NOW)
    assert unseen.next_phase is Phase.TEST_VALIDATION and unseen.action is None  # the test VM is looked for
    healthy = TestVmFacts("vm-test", found=True, provisioning="succeeded", power="running", agent="Ready")
    facts = Facts(ec2=EC2, item=waiting, test_vm=healthy)
    decision = decide(record_in(Phase.TEST_VALIDATION), facts, Policy(), NOW)
    assert decision.next_phase is Phase.TEST_CLEANUP and decision.action is Act.TEST_FAILOVER_CLEANUP
    assert decision.test_validated is True


def test_recorded_replication_health_reaches_the_record():
    """RPO and the last recovery point from a recorded protected InMageRcm item (seven fractional
    digits and a Z); a recorded health error with its code, summary and recommended action."""
    protected = decide(record_in(Phase.PROTECTED), facts_with(94), Policy(), NOW)
    assert protected.replication is not None
    assert (protected.replication.rpo_seconds, protected.replication.last_recovery_point) == (
        541,
        datetime(2023, 8, 26, 4, 6, 46, 195848, tzinfo=UTC),
    )
    failed = item_facts(ps_item("rcm_item_enabling_failed"))
    [issue] = failed.health_issues
    assert (issue.code, issue.message) == ("310056", "Enable replication failed")
    assert issue.fix.startswith("Resolve the issue, disable protection")
    assert failed.replication_health == "Critical"


def test_the_vault_set_up_sends_the_recorded_policy_and_mapping_bodies():
    """With the recorded settings, the InMageRcm policy and mapping PUTs are the bodies a real set-up
    sent (seq 9 and 15), and the classic policy the one a real classic set-up sent."""
    settings = ReplicationSettings(history_minutes=1440, crash_consistent_minutes=5, app_consistent_minutes=0)
    policy, mapping = recorded(9)["requestBody"], recorded(15)["requestBody"]
    assert policy_body(RCM, settings) == policy
    assert mapping_body(RCM, mapping["properties"]["policyId"], settings) == mapping
    classic = json.loads((VENDOR / "recorded-cli-inmageazurev2-policy.json").read_text())["lifecycle"][0]
    assert policy_body(CLASSIC, replace(settings, history_minutes=2880)) == classic["requestBody"]


def test_the_simulators_policy_and_mapping_answer_as_the_recorded_ones():
    """The simulator's GET answers carry the recorded answers' properties (seq 12 and 18)."""
    vault = Vault("s", "rg", "v", SimClock(scale=0))
    site = vault.site(RCM)
    assert site is not None
    state = vault.setup.mapping(site)
    assert state is not None
    ours = {
        "policy": shapes.policy(vault, vault.setup.policy(state.policy)),
        "mapping": shapes.mapping(vault, site, state),
    }
    for kind, seq in (("policy", 12), ("mapping", 18)):
        real = recorded(seq)["responseBody"]
        assert set(ours[kind]) == set(real), kind
        extra = set(ours[kind]["properties"]) - set(real["properties"])
        assert not extra, (kind, extra)  # nothing the real answer does not carry
    real_policy = recorded(12)["responseBody"]["properties"]["providerSpecificDetails"]
    assert set(ours["policy"]["properties"]["providerSpecificDetails"]) <= set(real_policy)
