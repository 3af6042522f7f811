"""Drives the ASR adapter through every operation the app performs, for one provider, against the
simulator: what the contract tests then check, on both sides of the wire."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Vault
from local.asr_simulator.server import Simulator
from local.asr_simulator.spec import spec
from shared.adapters.asr import CLASSIC, RCM, AsrAdapter, Submitted, Target, item_name_for
from tests.conftest import T0
from tests.integration.asr_support import (
    RG,
    SUB,
    TARGET_RG,
    TARGET_VNET,
    TEST_VNET,
    VAULT,
    advance,
    register,
    sdk_client,
)

CACHE = f"{TARGET_RG}/providers/Microsoft.Storage/storageAccounts/azmigratecache"
BOOT = f"{TARGET_RG}/providers/Microsoft.Storage/storageAccounts/azmigrateboot"
TARGET = Target(
    vm_name="web-1",
    resource_group_id=TARGET_RG,
    network_id=TARGET_VNET,
    subnet_name="default",
    test_network_id=TEST_VNET,
    vm_size="Standard_D2s_v5",
    disk_type="Premium_LRS",
    license_type="NoLicenseType",
    log_storage_account_id=CACHE,
    boot_diagnostics_account_id=BOOT,
)
PROVIDERS = (RCM, CLASSIC)
OPERATIONS = (
    "enable",
    "testFailover",
    "testFailoverCleanup",
    "unplannedFailover",
    "failoverCommit",
    "remove",
)


def enable_schema() -> dict[str, Any]:
    """The spec's schema of an enable-replication (protected item PUT) body."""
    put = spec().operation(
        "PUT",
        "/subscriptions/s/resourceGroups/r/providers/Microsoft.RecoveryServices/vaults/v"
        "/replicationFabrics/f/replicationProtectionContainers/c/replicationProtectedItems/i",
    )
    schema = spec().body_schema(put) if put else None
    assert schema is not None
    return schema


@contextmanager
def simulator(*, answer_at_once: bool = False) -> Iterator[Simulator]:
    vault = Vault(
        SUB, RG, VAULT, SimClock(scale=0, start=T0), providers=PROVIDERS, answer_at_once=answer_at_once
    )
    sim = Simulator(vault, limits=None, check_answers=True).start()
    try:
        yield sim
    finally:
        sim.stop()


def lifecycle(sim: Simulator, provider: str) -> list[Submitted]:
    """One machine from enable to a completed migration, a second enabled then opted out; every read
    the app makes along the way. Returns what each action left to track."""
    client = sdk_client(sim)
    adapter = AsrAdapter(client, RG, VAULT, provider)
    register(sim, 1, provider)
    register(sim, 2, provider)
    first, second = sorted(adapter.discovered(), key=lambda m: m.display_name)
    name, other = item_name_for("i-0123456789abcdef0"), item_name_for("i-00000000000000002")
    done = [adapter.enable(name, first, TARGET), adapter.enable(other, second, TARGET)]
    for _ in range(3):  # initial replication, then the first recovery point
        advance(sim, 3_600)
        adapter.items()
    done.append(adapter.test_failover(name, TEST_VNET))
    advance(sim, 60)
    done.append(adapter.test_failover_cleanup(name))
    advance(sim, 60)
    done.append(adapter.unplanned_failover(name))
    advance(sim, 60)
    done.append(adapter.commit(name))
    advance(sim, 60)
    done.append(adapter.remove(name, migration_complete=True))
    done.append(adapter.remove(other, migration_complete=False))
    for submitted in done:
        if submitted.operation_id is not None:
            adapter.operation(submitted.operation_id, "any")
    advance(sim, 60)
    adapter.jobs_since(T0)
    adapter.items()
    client.close()
    return done
