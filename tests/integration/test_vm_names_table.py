"""Azure VM names held as Table rows: workers on separate instances claiming one derived name at once
each get a distinct name, and a claim read again by a new process is the same."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from azure.data.tables import TableServiceClient

from local.stack import Azurite
from shared.state.names import TableNames
from tests.conftest import instance_id

pytestmark = pytest.mark.integration


def names(azurite: Azurite, prefix: str) -> TableNames:
    return TableNames(TableServiceClient.from_connection_string(azurite.connection_string), prefix)


def test_concurrent_workers_give_one_name_to_one_instance_and_suffixes_to_the_rest(azurite: Azurite):
    prefix = f"names{uuid.uuid4().hex[:8]}"
    vms = [instance_id(n) for n in range(8)]
    with ThreadPoolExecutor(4) as pool:  # each claim from its own client, as separate workers
        claimed = dict(
            zip(vms, pool.map(lambda vm: names(azurite, prefix).claim(vm, "app-server"), vms), strict=True)
        )
    assert len({c.name.lower() for c in claimed.values()}) == len(vms)
    [owner] = [vm for vm, c in claimed.items() if c.name == "app-server"]
    for vm, c in claimed.items():
        if vm != owner:
            assert c.name == f"app-server-{vm[-8:]}" and c.taken_by == owner
    again = names(azurite, prefix)  # a new process finds the same answers in the table
    assert {vm: again.claim(vm, "app-server") for vm in vms} == claimed
