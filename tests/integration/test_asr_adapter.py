"""Our ASR adapter over the real SDK against the simulator: bulk reads, job ids, error mapping."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Vault
from local.asr_simulator.model import CLASSIC, RCM
from local.asr_simulator.server import Simulator
from shared.adapters.asr import AsrAdapter, Target, item_name_for
from shared.adapters.azure_http import ThrottleReport
from shared.errors import ActionRefused, CloudUnavailable
from tests.conftest import T0
from tests.integration.asr_support import (
    RG,
    SUB,
    TARGET_RG,
    TARGET_VNET,
    TEST_VNET,
    VAULT,
    admin,
    advance,
    register,
    sdk_client,
)

pytestmark = pytest.mark.integration
TARGET = Target(
    vm_name="web-1",
    resource_group_id=TARGET_RG,
    network_id=TARGET_VNET,
    subnet_name="default",
    test_network_id=TEST_VNET,
    vm_size="Standard_D2s_v5",
    log_storage_account_id=f"{TARGET_RG}/providers/Microsoft.Storage/storageAccounts/cache",
)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    vault = Vault(SUB, RG, VAULT, SimClock(scale=0, start=T0), providers=(RCM, CLASSIC))
    simulator = Simulator(vault, limits=None, retry_after=0).start()
    yield simulator
    simulator.stop()


@pytest.mark.parametrize("provider", [RCM, CLASSIC])
def test_the_whole_sequence_tracks_operations_and_reads_in_bulk(sim: Simulator, provider: str):
    client = sdk_client(sim)
    adapter = AsrAdapter(client, RG, VAULT, provider)
    bios = register(sim, 1, provider)
    [machine] = adapter.discovered()
    assert machine.bios_id == bios and machine.ip_addresses == ("10.0.0.1",)
    name = item_name_for("i-0123456789abcdef0")

    enabled = adapter.enable(name, machine, TARGET)
    item = adapter.items()[name]
    assert item.protection_state == "EnablingProtection" and item.allowed_operations == frozenset()
    assert enabled.status == 202 and enabled.operation_id and item.current_job_id != enabled.operation_id
    operation = adapter.operation(enabled.operation_id, "EnableDr")
    assert operation is not None and operation.state in {"NotStarted", "InProgress"}
    advance(sim, 3_600)
    item = adapter.items()[name]
    assert item.allows("TestFailover") and item.current_job_id is None  # idle: ".../replicationJobs/None"
    done = adapter.operation(enabled.operation_id, "EnableDr")
    assert done is not None and done.succeeded

    submitted = [adapter.test_failover(name, TEST_VNET)]
    advance(sim, 60)
    assert adapter.items()[name].test_failover_state == "WaitingForCompletion"
    submitted.append(adapter.test_failover_cleanup(name))
    advance(sim, 60)
    submitted.append(adapter.unplanned_failover(name))
    advance(sim, 60)
    assert adapter.items()[name].active_location == "Recovery"
    submitted.append(adapter.commit(name))
    advance(sim, 60)
    internal, friendly = adapter.items()[name].internal_id, adapter.items()[name].friendly_name
    submitted.append(adapter.remove(name, migration_complete=True))
    advance(sim, 60)
    assert name not in adapter.items()

    jobs = adapter.jobs_since(T0)
    assert {s.operation_id for s in submitted}.isdisjoint({j.job_id for j in jobs})  # never the job's name
    assert {j.target_name for j in jobs} == {friendly} and len({j.target_id for j in jobs}) == 1
    # InMageRcm jobs name the item's internal id; classic ones an id the item does not show.
    assert ({j.target_id for j in jobs} == {internal}) is (provider == RCM)
    assert [j.scenario for j in sorted(jobs, key=lambda j: j.start_time)] == [
        "EnableDr",
        "TestFailover",
        "TestFailoverCleanup",
        "UnplannedFailover",
        "CommitFailover",
        "DisableDr",
    ]
    assert all(job.succeeded for job in jobs)
    counts = sim.request_counts()
    assert (
        counts["GET subscriptions/resourceGroups/providers/vaults/replicationFabrics"] == 1
    )  # site read once
    client.close()


def test_enable_sends_the_target_settings(sim: Simulator):
    client = sdk_client(sim)
    adapter = AsrAdapter(client, RG, VAULT, RCM)
    register(sim, 1)
    [machine] = adapter.discovered()
    adapter.enable("azmigrate-i-1", machine, TARGET)
    [put] = [e for e in admin(sim, "/admin/ledger")["entries"] if e["method"] == "PUT"]
    details = sim.vault.items["azmigrate-i-1"].details_in
    assert details["targetVmSize"] == "Standard_D2s_v5" and details["testNetworkId"] == TEST_VNET
    assert put["status"] == 202
    client.close()


def test_a_refused_action_is_terminal_with_asrs_code(sim: Simulator):
    client = sdk_client(sim)
    adapter = AsrAdapter(client, RG, VAULT, RCM)
    register(sim, 1)
    [machine] = adapter.discovered()
    adapter.enable("azmigrate-i-1", machine, TARGET)
    with pytest.raises(ActionRefused) as refused:
        adapter.commit("azmigrate-i-1")
    assert refused.value.cloud_code == "OperationNotAllowed"
    assert not refused.value.retryable
    client.close()


def test_a_persistent_server_error_is_retryable(sim: Simulator):
    admin(sim, "/admin/faults", {"serverErrorRate": 1.0})
    client = sdk_client(sim, retry_total=1, retry_backoff_factor=0.01)
    with pytest.raises(CloudUnavailable) as unavailable:
        AsrAdapter(client, RG, VAULT, RCM).items()
    assert unavailable.value.retryable
    client.close()


def test_a_vault_without_the_providers_fabric_is_refused_clearly():
    vault = Vault(SUB, RG, VAULT, SimClock(scale=0), providers=(RCM,))
    simulator = Simulator(vault, limits=None).start()
    try:
        client = sdk_client(simulator)
        with pytest.raises(ActionRefused, match="no VMware fabric"):
            AsrAdapter(client, RG, VAULT, CLASSIC).site()
        client.close()
    finally:
        simulator.stop()


def test_a_throttled_write_is_reported_with_its_retry_after_and_then_retried():
    """ARM's 429 on a write reaches the write budget (ThrottleReport) with its Retry-After, so every
    worker holds; azure-core's retry policy still waits and sends it again."""
    vault = Vault(SUB, RG, VAULT, SimClock(scale=0, start=T0), providers=(RCM,))
    simulator = Simulator(vault, limits={"writes": (1.0, 0.5)}).start()  # one write, then one per 2 s
    reported: list[float] = []
    try:
        client = sdk_client(simulator, per_retry_policies=[ThrottleReport(reported.append)])
        adapter = AsrAdapter(client, RG, VAULT, RCM)
        register(simulator, 1, RCM)
        register(simulator, 2, RCM)
        first, second = adapter.discovered()
        adapter.enable(item_name_for("i-0123456789abcdef0"), first, TARGET)
        assert reported == []  # reads are never reported, and the first write had its token
        adapter.enable(item_name_for("i-0123456789abcdef1"), second, TARGET)
        assert reported == [2.0]  # the simulator's Retry-After for the second write
        assert set(adapter.items()) == {item_name_for(f"i-0123456789abcdef{n}") for n in (0, 1)}
        client.close()
    finally:
        simulator.stop()
