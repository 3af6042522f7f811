"""A new Azure Migrate project: the vault has its appliance but no replication policy and no container
mapping. The app creates both (as the tutorial's first "Replicate" does), then migrates a VM whose
test VM passes its checks and smoke command, while three whose test VMs are broken (never boot, an
agent that is never Ready, a failing smoke command) are cleaned up, retried and fail with the reason.
One estate for all of it: each VM is an independent migration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local.estate import Estate, running_estate, tag_event
from local.stack import Azurite, LocalService
from tests.e2e.driving import asr_actions, drive, retire_instances, timeline
from tests.e2e.test_ec2_events import launch

pytestmark = pytest.mark.integration
SETTINGS = {
    "AZMIGRATE_CUTOVER_MODE": "auto",
    "AZMIGRATE_RETRY_LIMIT": "2",
    "AZMIGRATE_RETRY_BACKOFF_SECONDS": "1",
    "AZMIGRATE_TEST_VALIDATION_SECONDS": "30",  # the app's clock is the real one
    "AZMIGRATE_POLICY_HISTORY_MINUTES": "2880",
    "AZMIGRATE_POLICY_APP_CONSISTENT_MINUTES": "60",
}


@pytest.fixture
def estate(azurite: Azurite, moto_server: LocalService) -> Iterator[Estate]:
    retire_instances(moto_server)
    with running_estate(azurite, moto_server, settings=SETTINGS, bare_vault=True) as running:
        yield running


def set_up_calls(estate: Estate) -> list[tuple[str, str, int, dict[str, Any]]]:
    return [
        (e["method"], e["path"].rsplit("/", 2)[-2], e["status"], e["body"])
        for e in estate.sim.vault.ledger
        if e["method"] == "PUT" and ("/replicationPolicies/" in e["path"] or "Mappings/" in e["path"])
    ]


SMOKE = "systemctl is-active nginx"


def test_a_bare_vault_is_set_up_then_a_vm_migrates_and_broken_test_vms_fail_validation(estate: Estate):
    vault = estate.sim.vault
    assert not vault.setup.policies and not vault.setup.mappings  # a new project
    vm = launch(estate, {"azmigrate:enabled": "true", "azmigrate:smoke-test": SMOKE})
    broken = {
        "never_boots": launch(estate, {"azmigrate:enabled": "true"}),
        "agent_not_ready": launch(estate, {"azmigrate:enabled": "true"}),
        "smoke_fails": launch(estate, {"azmigrate:enabled": "true", "azmigrate:smoke-test": SMOKE}),
    }
    for fault, instance in broken.items():
        vault.compute.set_fault(f"azmigrate-{instance}", fault)
    for instance in (vm, *broken.values()):
        assert estate.post("/api/ec2-events", tag_event(instance))[0] == 202
    drive(estate, [vm, *broken.values()], {"done", "failed"}, seconds=240)
    assert estate.record(vm)["phase"] == "done"
    check_validations(estate, vm, broken)

    calls = set_up_calls(estate)
    assert [(method, kind, status) for method, kind, status, _ in calls] == [
        ("PUT", "replicationPolicies", 202),
        ("PUT", "replicationProtectionContainerMappings", 202),
    ]
    policy_body, mapping_body = calls[0][3], calls[1][3]
    assert policy_body["properties"]["providerSpecificInput"] == {
        "instanceType": "InMageRcm",
        "recoveryPointHistoryInMinutes": 2880,
        "crashConsistentFrequencyInMinutes": 5,
        "appConsistentFrequencyInMinutes": 60,
        "enableMultiVmSync": "true",
    }
    assert mapping_body["properties"]["targetProtectionContainerId"] == "Microsoft Azure"
    assert mapping_body["properties"]["providerSpecificInput"] == {
        "instanceType": "InMageRcm",
        "enableAgentAutoUpgrade": "true",
    }
    site = vault.site("InMageRcm")
    assert site is not None
    policy = vault.setup.mapped_policy(site)
    assert policy is not None and policy.details["recoveryPointHistoryInMinutes"] == 2880
    # The enable came after the mapping, naming the policy the app created.
    puts = [e for e in vault.ledger if e["method"] == "PUT"]
    enable = next(e for e in puts if e["item"] == f"azmigrate-{vm}")
    assert puts.index(enable) > 1
    assert enable["body"]["properties"]["policyId"].endswith("/replicationPolicies/azmigrate-rcm-policy")
    # The first VMs admitted waited for the policy, then the mapping (each VM's timeline says what it
    # waited for; which VM saw which step depends on when each was admitted).
    waits = {
        e["reason"]
        for instance in (vm, *broken.values())
        for e in timeline(estate, instance)
        if e["event"] == "vault_setup"
    }
    assert any("creating the replication policy azmigrate-rcm-policy" in w for w in waits), waits
    assert all(w.startswith("waiting for the vault's set-up: ") for w in waits), waits

    # Set up once: the nightly batch (which also checks the vault) and later passes create nothing.
    estate.run_timer("nightly_batch")
    estate.settle()
    assert len(set_up_calls(estate)) == 2


def check_validations(estate: Estate, vm: str, broken: dict[str, str]) -> None:
    healthy = estate.record(vm)
    assert [(c["name"], c["passed"]) for c in healthy["test_checks"]] == [
        ("provisioned", True),
        ("running", True),
        ("agent", True),
        ("boot", True),
        ("smoke", True),
    ]
    runs = [
        e
        for e in estate.sim.vault.ledger
        if "/runCommands/" in e["path"] and f"/{healthy['target']['vm_name']}-test/" in e["path"]
    ]
    assert len(runs) == 1 and runs[0]["body"]["properties"]["source"]["script"] == SMOKE
    validated = [e["reason"] for e in timeline(estate, vm) if e["reason"].startswith("test VM validated")]
    assert len(validated) == 1 and "smoke ok" in validated[0]

    reasons = {
        "never_boots": ("boot: serial log:", "Kernel panic - not syncing"),
        "agent_not_ready": ("agent not passed in 30 s", "VM agent Not Ready"),
        "smoke_fails": (f"smoke: `{SMOKE}` Failed, exit code 1", "Connection refused"),
    }
    for fault, instance in broken.items():
        record = estate.record(instance)
        assert (record["phase"], record["failed_phase"]) == ("failed", "test_migration"), fault
        error = record["last_error"]
        assert error["code"] == "TestValidationFailed"
        assert all(part in error["message"] for part in reasons[fault]), (fault, error["message"])
        assert "Fix:" in error["message"]
        failures = [
            e for e in timeline(estate, instance) if e["reason"].startswith("test VM failed validation")
        ]
        assert len(failures) == 2, fault  # tried, cleaned up, retried, then failed
        assert asr_actions(estate, instance)["testFailoverCleanup"] == 2  # every test VM cleaned up
        assert asr_actions(estate, instance)["unplannedFailover"] == 0  # never cut over
