"""Vault bootstrap over the real SDK against a bare simulated vault (a new Azure Migrate project):
the adapter creates the provider's replication policy, then the container mapping, never waiting,
and an enable names the policy it created. Bodies as recorded (see local/asr_simulator/setup.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.core.rest import HttpRequest

from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Vault
from local.asr_simulator.model import CLASSIC, RCM
from local.asr_simulator.server import Simulator
from shared.adapters.asr import AsrAdapter, ReplicationSettings, item_name_for
from shared.errors import ActionRefused, CloudUnavailable
from tests.conftest import T0
from tests.integration.asr_support import RG, SUB, VAULT, advance, register, sdk_client
from tests.integration.test_asr_adapter import TARGET

pytestmark = pytest.mark.integration


@pytest.fixture
def bare() -> Iterator[Simulator]:
    vault = Vault(SUB, RG, VAULT, SimClock(scale=0, start=T0), providers=(RCM, CLASSIC), bare=True)
    simulator = Simulator(vault, limits=None, retry_after=0, check_answers=True).start()
    yield simulator
    simulator.stop()


def set_up(adapter: AsrAdapter, wanted: ReplicationSettings) -> str:
    """One set-up step, as the reconciler takes it (without its lease): what was asked for, "" when
    the vault is set up."""
    step = adapter.next_setup(wanted)
    if step is None:
        return ""
    adapter.send_setup(step)
    return step.what


def set_up_puts(sim: Simulator) -> list[tuple[str, int]]:
    return [
        (e["path"].split("/")[-2], e["status"])
        for e in sim.vault.ledger
        if e["method"] == "PUT" and e["item"] is None
    ]


@pytest.mark.parametrize("provider", [RCM, CLASSIC])
def test_a_bare_vault_gets_its_policy_then_its_mapping_and_then_takes_an_enable(
    bare: Simulator, provider: str
):
    client = sdk_client(bare)
    adapter = AsrAdapter(client, RG, VAULT, provider)
    wanted = ReplicationSettings(history_minutes=2880, crash_consistent_minutes=10)
    register(bare, 1, provider)
    [machine] = adapter.discovered()  # reads work before the vault is set up
    with pytest.raises(CloudUnavailable, match="no replication policy"):
        adapter.enable(item_name_for("i-0123456789abcdef0"), machine, TARGET)

    assert set_up(adapter, wanted).startswith("creating the replication policy")
    advance(bare, 60)
    assert set_up(adapter, wanted).startswith("mapping the protection container")
    advance(bare, 60)
    assert set_up(adapter, wanted) == ""
    assert set_up(adapter, wanted) == ""  # set up: nothing more is asked for
    assert set_up_puts(bare) == [
        ("replicationPolicies", 202),
        ("replicationProtectionContainerMappings", 202),
    ]

    site = bare.vault.site(provider)
    assert site is not None
    policy = bare.vault.setup.mapped_policy(site)
    assert policy is not None and policy.provider == provider
    history = "recoveryPointHistoryInMinutes" if provider == RCM else "recoveryPointHistory"
    assert policy.details[history] == 2880 and policy.details["crashConsistentFrequencyInMinutes"] == 10
    enabled = adapter.enable(item_name_for("i-0123456789abcdef0"), machine, TARGET)
    assert enabled.status == 202
    assert bare.violations == [] and bare.checked > 0
    client.close()


def test_a_policy_of_the_other_provider_under_our_name_is_refused_clearly(bare: Simulator):
    client = sdk_client(bare)
    classic = AsrAdapter(client, RG, VAULT, CLASSIC)
    set_up(classic, ReplicationSettings())
    advance(bare, 60)
    # A classic policy named as the InMageRcm one would be (made by hand, say): refused, not mapped.
    bare.vault.setup.policies["azmigrate-rcm-policy"] = bare.vault.setup.policies.pop(
        "azmigrate-classic-policy"
    )
    with pytest.raises(ActionRefused, match="is for InMageAzureV2, not InMageRcm"):
        set_up(AsrAdapter(client, RG, VAULT, RCM), ReplicationSettings())
    client.close()


def test_the_simulator_refuses_a_policy_body_missing_a_setting(bare: Simulator):
    client = sdk_client(bare)
    url = f"{bare.vault.prefix}/replicationPolicies/p1?api-version=2025-08-01"
    body = {
        "properties": {"providerSpecificInput": {"instanceType": RCM, "recoveryPointHistoryInMinutes": 60}}
    }
    response = client.send_request(HttpRequest("PUT", url, json=body))
    assert response.status_code == 400 and "crashConsistentFrequencyInMinutes" in response.text()
    assert not bare.vault.setup.policies
    client.close()
