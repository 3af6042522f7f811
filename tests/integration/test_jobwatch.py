"""The job watcher against Azurite and the simulator: every job change published exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Vault
from local.asr_simulator.model import RCM
from local.asr_simulator.server import Simulator
from shared.adapters.asr import AsrAdapter, Target
from shared.commands import Commands
from shared.reconcile.jobwatch import WATERMARK, JobChange, watch
from shared.state.store import StateStore
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

pytestmark = pytest.mark.integration


@pytest.fixture
def asr() -> Iterator[tuple[Simulator, AsrAdapter]]:
    sim = Simulator(Vault(SUB, RG, VAULT, SimClock(scale=0, start=T0), job_seconds=30), limits=None).start()
    client = sdk_client(sim)
    yield sim, AsrAdapter(client, RG, VAULT, RCM)
    client.close()
    sim.stop()


def test_each_job_state_is_published_once_and_long_jobs_are_not_missed(store: StateStore, asr):
    sim, adapter = asr
    published: list[JobChange] = []
    now = sim.vault.clock.now
    register(sim, 1)
    [machine] = adapter.discovered()
    cache = f"{TARGET_RG}/providers/Microsoft.Storage/storageAccounts/cache"
    target = Target("web", TARGET_RG, TARGET_VNET, "default", TEST_VNET, log_storage_account_id=cache)
    submitted = adapter.enable("azmigrate-i-0123456789abcdef0", machine, target)
    [job] = [j.job_id for j in adapter.jobs_since(now() - timedelta(minutes=1))]
    assert job != submitted.operation_id  # the job is found by the item it names, not the operation

    commands = Commands(store, clock=now)
    first = watch(store, commands, adapter, published.extend, now())
    assert [(c.job_id, c.state, c.instance_id) for c in first] == [(job, "NotStarted", "i-0123456789abcdef0")]
    assert (
        watch(store, commands, adapter, published.extend, now()) == []
    )  # nothing changed: nothing published
    mark = store.watermark(WATERMARK)
    assert mark is not None and mark.value <= now()  # held at the running job's start

    advance(sim, 10)
    assert [c.state for c in watch(store, commands, adapter, published.extend, now())] == ["InProgress"]
    advance(sim, 30)
    assert [c.state for c in watch(store, commands, adapter, published.extend, now())] == ["Succeeded"]
    assert watch(store, commands, adapter, published.extend, now()) == []
    assert [c.state for c in published] == ["NotStarted", "InProgress", "Succeeded"]
