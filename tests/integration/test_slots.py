"""Replication slots held as Table rows: concurrent passes on separate instances never admit more
VMs than the appliance's capacity, and a slot comes free when its holder stops replicating."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from azure.data.tables import TableServiceClient

from local.stack import Azurite
from shared.state.slots import TableSlots
from tests.conftest import instance_id

pytestmark = pytest.mark.integration


def slots(azurite: Azurite, prefix: str, clock: list[float]) -> TableSlots:
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    return TableSlots(service, prefix, "replication", 3, clock=lambda: clock[0])


def test_concurrent_claims_never_exceed_the_capacity_and_free_slots_are_reused(azurite: Azurite):
    prefix, now = f"slot{uuid.uuid4().hex[:8]}", [1_000.0]
    vms = [instance_id(n) for n in range(12)]
    with ThreadPoolExecutor(4) as pool:  # four instances, each with its own client, all at once
        won = list(  # every claimant is queued (waiting to start), as the passes see it
            pool.map(lambda vm: slots(azurite, prefix, now).claim(vm, set(), set(vms), hold_seconds=60), vms)
        )
    holders = set(slots(azurite, prefix, now).holders().values())
    assert sum(won) == 3 and holders == {vm for vm, ok in zip(vms, won, strict=True) if ok}

    late = slots(azurite, prefix, now)
    assert late.claim(sorted(holders)[0], holders, hold_seconds=60)  # a holder keeps its slot
    # slots of VMs replicating stay taken ...
    outsider = next(vm for vm in vms if vm not in holders)
    assert not late.claim(outsider, holders, hold_seconds=60)
    done = sorted(holders)[0]  # ... one holder finished its initial replication: its slot is free at once
    assert late.claim(outsider, holders - {done}, hold_seconds=60)
    assert set(late.holders().values()) == (holders - {done}) | {outsider}


def test_a_fresh_claim_is_held_until_its_vm_has_had_time_to_start(azurite: Azurite):
    prefix, now = f"slot{uuid.uuid4().hex[:8]}", [1_000.0]
    table = slots(azurite, prefix, now)
    first = [instance_id(n) for n in range(3)]
    assert all(table.claim(vm, set(), set(first), hold_seconds=60) for vm in first)
    now[0] += 10  # admitted, still queued (not yet enabling, so not busy): the claims hold
    assert not table.claim(instance_id(9), set(), set(first), hold_seconds=60)
    now[0] += 60  # a VM still queued long after its claim never started: its slot is free
    assert table.claim(instance_id(9), set(), set(first), hold_seconds=60)
