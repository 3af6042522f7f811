"""A new Azure Migrate project: the vault has its appliance but no replication policy and no container
mapping. The app creates both (as the tutorial's first "Replicate" does), then migrates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local.estate import Estate, running_estate, tag_event
from local.stack import Azurite, LocalService
from tests.e2e.driving import drive, retire_instances, timeline
from tests.e2e.test_ec2_events import launch

pytestmark = pytest.mark.integration
SETTINGS = {
    "AZMIGRATE_CUTOVER_MODE": "auto",
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


def test_a_bare_vault_is_set_up_then_a_vm_migrates(estate: Estate):
    vault = estate.sim.vault
    assert not vault.setup.policies and not vault.setup.mappings  # a new project
    vm = launch(estate, {"azmigrate:enabled": "true"})
    assert estate.post("/api/ec2-events", tag_event(vm))[0] == 202
    drive(estate, [vm], {"done"}, seconds=150)

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
    waits = [e["reason"] for e in timeline(estate, vm) if e["event"] == "vault_setup"]
    assert waits and "creating the replication policy azmigrate-rcm-policy" in waits[0], waits

    # Set up once: the nightly batch (which also checks the vault) and later passes create nothing.
    estate.run_timer("nightly_batch")
    estate.settle()
    assert len(set_up_calls(estate)) == 2
