"""The reconciler with real adapters over real protocols: moto, Azurite and the ASR simulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from local.asr_simulator.model import CLASSIC, RCM
from local.stack import Azurite, LocalService
from shared.lifecycle import Phase
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
