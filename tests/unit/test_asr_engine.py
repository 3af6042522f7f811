"""The simulator's vault engine on a frozen clock: no server, no network."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Vault
from local.asr_simulator.model import RCM, Disk, Machine

TARGET_RG = "/subscriptions/s/resourceGroups/rg-target"


def vault(bandwidth: float, job_seconds: float = 0, recovery_point: float = 0) -> Vault:
    return Vault(
        "s",
        "rg",
        "v",
        SimClock(scale=0),
        job_seconds=job_seconds,
        bandwidth_mb_per_s=bandwidth,
        first_recovery_point_seconds=recovery_point,
    )


def enable(target: Vault, n: int, size_gb: float) -> None:
    site = target.site(RCM)
    assert site is not None
    target.register_machine(Machine(f"m{n}", f"vm{n}", "10.0.0.1", "Linux", [Disk("d", size_gb, True)]))
    target.enable(
        site.fabric,
        f"item{n}",
        {
            "properties": {
                "policyId": target.policy_id(site),
                "providerSpecificDetails": {
                    "instanceType": "InMageRcm",
                    "fabricDiscoveryMachineId": target.machine_id(f"m{n}"),
                    "processServerId": site.process_server_id,
                    "targetResourceGroupId": TARGET_RG,
                },
            }
        },
    )


def test_bandwidth_is_shared_by_items_replicating_at_once():
    alone, crowded = vault(100), vault(100)
    enable(alone, 0, 100)
    for n in range(4):
        enable(crowded, n, 100)
    for target in (alone, crowded):
        target.clock.advance(500)
        target.tick()
    one = alone.items["item0"].replicated_gb
    assert one == pytest.approx(500 * 100 / 1024)
    assert [it.replicated_gb for it in crowded.items.values()] == pytest.approx([one / 4] * 4)


def test_a_finished_item_frees_its_share_for_the_others():
    target = vault(1024)  # 1 GiB/s
    enable(target, 0, 1)
    enable(target, 1, 3)
    target.clock.advance(3)  # 2 s at half share each finishes item0 (1 GiB); item1 then runs alone
    target.tick()
    assert target.items["item0"].state.protection_state == "Protected"
    assert target.items["item1"].replicated_gb == pytest.approx(2.0)


@settings(max_examples=300, deadline=None)
@given(
    bandwidth=st.floats(min_value=0.5, max_value=5_000),
    sizes=st.lists(st.floats(min_value=0.0005, max_value=4_096), min_size=1, max_size=6),
)
def test_tick_always_finishes_and_protects_everything_in_time(bandwidth: float, sizes: list[float]):
    target = vault(bandwidth)
    for n, size in enumerate(sizes):
        enable(target, n, size)
    target.clock.advance(sum(sizes) / (bandwidth / 1024) + 1)  # enough for all, one after another
    worker = threading.Thread(target=target.tick, daemon=True)
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "tick() did not return: it is spinning on zero-length steps"
    assert {it.state.protection_state for it in target.items.values()} == {"Protected"}


def test_an_item_waits_for_its_first_recovery_point_before_it_is_protected():
    target = vault(1024, recovery_point=1800)  # the real wait is about 30 minutes
    enable(target, 0, 1)
    target.clock.advance(1)
    target.tick()
    item = target.items["item0"]
    assert (item.state.protection_state, item.state.allowed_operations) == (
        "InitialReplicationRecoveryCompletionPending",
        ("DisableProtection",),
    )
    target.clock.advance(1799)
    target.tick()
    assert item.state.protection_state == "InitialReplicationRecoveryCompletionPending"
    target.clock.advance(1)
    target.tick()
    assert item.state.protection_state == "Protected"
    assert item.state.allowed_operations == ("UnplannedFailover", "DisableProtection", "TestFailover")


def test_an_operation_id_is_never_its_jobs_name_and_jobs_name_items_by_guid():
    target = vault(1024, job_seconds=30)
    enable(target, 0, 1)
    [job] = target.jobs.values()
    item = target.items["item0"]
    assert job.operation_id != job.name and target.get_operation(job.operation_id) is job
    assert (job.target_object_id, job.target_object_name) == (item.internal_id, "vm0")
    assert item.internal_id != item.name


def test_a_vault_refuses_unknown_providers_and_agents_for_a_site_it_lacks():
    with pytest.raises(ValueError, match="providers"):
        Vault("s", "rg", "v", SimClock(scale=0), providers=("VMwareCbt",))
    rcm_only = vault(100)
    assert not rcm_only.register_machine(Machine("m", "vm", "10.0.0.1", "Linux", []), "InMageAzureV2")
    assert rcm_only.machines == {RCM: {}}
