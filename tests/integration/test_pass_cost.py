"""A reconcile pass's reads do not grow with the fleet beyond paging (counted at the wire, not mocked)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Vault
from local.asr_simulator.model import RCM
from local.asr_simulator.server import Simulator
from local.fleet import launch_waiting, protect, record_waiting
from local.stack import Azurite, LocalService, aws_client
from shared.adapters.asr import AsrAdapter
from shared.adapters.aws import AwsAdapter
from shared.guest.documents import AgentInstall
from shared.model.facts import Policy
from shared.model.work import shard_of
from shared.reconcile.reconciler import PassReport, Reconciler, Targets
from shared.state.table import TableStateStore
from shared.state.vault_view import VaultView
from tests.conftest import T0
from tests.integration.asr_support import RG, SUB, TARGET_RG, TARGET_VNET, TEST_VNET, VAULT, sdk_client

pytestmark = pytest.mark.integration


PassRun = Callable[[Reconciler, list[str]], PassReport]


def whole_fleet(reconciler: Reconciler, ids: list[str]) -> PassReport:
    return reconciler.reconcile()


def fleet_pass(
    azurite: Azurite,
    moto: LocalService,
    size: int,
    run: PassRun = whole_fleet,
    prepare: Callable[[Reconciler, TableStateStore, Vault], None] | None = None,
    *,
    steady: bool = True,
) -> dict[str, int]:
    """Builds `size` VMs waiting for cutover approval, then counts the calls of one steady `run`
    (after `prepare`, whose calls are not counted)."""
    prefix = f"pc{uuid.uuid4().hex[:6]}"
    ids = launch_waiting(aws_client(moto.url, "ec2"), size, prefix)
    vault = Vault(SUB, RG, VAULT, SimClock(scale=0, start=T0), job_seconds=0)
    protect(vault, ids, TARGET_RG)
    sim = Simulator(vault, limits=None).start()
    table_calls: Counter[str] = Counter()
    # azure-data-tables takes no per-call policies, but every table client shares this client-level hook.
    service = TableServiceClient.from_connection_string(
        azurite.connection_string,
        raw_request_hook=lambda request: table_calls.update([request.http_request.method]),
    )
    table_prefix = f"pc{uuid.uuid4().hex[:10]}"
    store = TableStateStore(service, table_prefix, clock=vault.clock.now)
    store.ensure_tables()
    record_waiting(store, ids, T0)
    aws_calls: Counter[str] = Counter()

    def counted(service_name: str, region: str) -> Any:
        client = aws_client(moto.url, service_name, region)
        client.meta.events.register("before-call", lambda model, **_: aws_calls.update([model.name]))
        return client

    client = sdk_client(sim)
    reconciler = Reconciler(
        store,
        AwsAdapter(counted, ["us-east-1"], prefix),
        AsrAdapter(client, RG, VAULT, RCM),
        policy=Policy(cutover_mode="approval"),
        targets=Targets(TARGET_RG, TARGET_VNET, "default", TEST_VNET),
        install=AgentInstall("10.0.0.250", "/p", "s3://a/l", "s3://a/w", "CSPrime"),
        capacity=10,
        clock=vault.clock.now,
        vault_view=VaultView(service, table_prefix),
    )
    try:
        reconciler.reconcile()  # a first pass warms the adapters (the site read is cached)
        if prepare is not None:
            prepare(reconciler, store, vault)
        before_asr = Counter(sim.request_counts())
        aws_calls.clear()
        table_calls.clear()
        report = run(reconciler, ids)
        assert (report.transitions == 0 or not steady) and not report.errors
        counts = {"examined": report.examined}
        asr = Counter(sim.request_counts()) - before_asr
    finally:
        client.close()
        sim.stop()
    counts |= {f"asr {k}": v for k, v in asr.items()}
    counts |= {f"aws {k}": v for k, v in aws_calls.items()}
    counts |= {f"table {k}": v for k, v in table_calls.items()}
    return counts


def test_reads_per_pass_do_not_grow_with_the_fleet(azurite: Azurite, moto_server: LocalService):
    small = fleet_pass(azurite, moto_server, 20)
    large = fleet_pass(azurite, moto_server, 200)
    assert (small.pop("examined"), large.pop("examined")) == (20, 200)
    print(f"\nreads of one pass: 20 VMs {small}\n                  200 VMs {large}")
    vault = "asr GET subscriptions/resourceGroups/providers/vaults/"
    paged = {f"{vault}replicationProtectedItems"}  # 100 a page
    # no open Site Recovery intent (every VM waits for its cutover): no job is read at all
    assert f"{vault}replicationJobs" not in small and f"{vault}replicationJobs" not in large
    for call in paged:
        assert (small[call], large[call]) == (1, 2), call  # the only growth: one more page each
    for call, count in large.items():
        if call not in paged:
            assert count == small.get(call), f"{call}: {small.get(call)} calls at 20 VMs, {count} at 200"
    assert large["table GET"] == 1  # the in-flight records: one query, one page
    assert not any(
        k.startswith("asr PUT") or k.startswith("asr POST") for k in large
    )  # waiting costs no writes
    assert "table PUT" not in large and "table MERGE" not in large
    assert sum(large.values()) <= 10


def test_a_work_item_for_one_vm_reads_that_vm_only(azurite: Azurite, moto_server: LocalService):
    """What an event's work costs, whatever the fleet: one record, one describe, one item by name."""
    one = fleet_pass(azurite, moto_server, 60, lambda reconciler, ids: reconciler.reconcile(only={ids[0]}))
    vault = "asr GET subscriptions/resourceGroups/providers/vaults/"
    item = f"{vault}replicationFabrics/replicationProtectionContainers/replicationProtectedItems"
    assert one["examined"] == 1
    assert one[item] == 1  # the item by name ...
    assert f"{vault}replicationProtectedItems" not in one  # ... and never the vault's list
    assert one["aws DescribeInstances"] == 1
    assert one["table GET"] == 1  # the record by its keys
    assert f"{vault}replicationJobs" not in one


def test_a_shard_pass_reads_its_shard(azurite: Azurite, moto_server: LocalService):
    """One shard's pass examines that shard's VMs only, and reads EC2 for them only: their tags,
    when their phase decides on tags alone."""
    in_shard: list[str] = []

    def first_shard(reconciler: Reconciler, ids: list[str]) -> PassReport:
        in_shard.extend(i for i in ids if shard_of(i) == shard_of(ids[0]))
        return reconciler.reconcile(shard=shard_of(ids[0]))

    counts = fleet_pass(azurite, moto_server, 60, first_shard)
    assert counts["examined"] == len(in_shard) < 60
    # VMs waiting for their cutover decide on tags (approval, opt-out): their tags are read, one
    # call, and no instance is described (about a hundred XML elements each)
    assert counts["aws DescribeTags"] == 1 and "aws DescribeInstances" not in counts


@pytest.mark.parametrize("late", [False, True], ids=["on time", "worked 11 minutes after the listing"])
def test_a_shard_pass_takes_the_vault_from_the_fleet_pass_listing(
    azurite: Azurite, moto_server: LocalService, late: bool
):
    """The vault is listed once per fleet pass, not once per shard: a shard reads its part of that
    listing (one Table row) and reads by name only the item of a VM that moved since; a shard worked
    long after the listing (a backlog) lists the vault itself rather than trust an old listing."""
    listed: list[datetime | None] = []
    in_shard: list[str] = []

    def prepare(reconciler: Reconciler, store: TableStateStore, vault: Vault) -> None:
        ids = sorted(r.instance_id for r in store.all())
        sizes = Counter(shard_of(i) for i in ids)  # 60 VMs in 16 shards: the largest holds 2 or more
        fullest = max(sizes, key=lambda shard: sizes[shard])
        in_shard.extend(i for i in ids if shard_of(i) == fullest)
        vault.clock.advance(60)  # the records were written before the listing
        listed.append(reconciler.list_vault_for_shards())
        moved = store.get(in_shard[0])
        store.update(moved.evolve(phase_entered_at=vault.clock.advance(1)))
        vault.clock.advance(660 if late else 1)

    def shard_with_listing(reconciler: Reconciler, ids: list[str]) -> PassReport:
        return reconciler.reconcile(shard=shard_of(in_shard[0]), items_listed_at=listed[0])

    counts = fleet_pass(azurite, moto_server, 60, shard_with_listing, prepare)
    vault_get = "asr GET subscriptions/resourceGroups/providers/vaults/"
    by_name = f"{vault_get}replicationFabrics/replicationProtectionContainers/replicationProtectedItems"
    assert listed[0] is not None
    assert counts["examined"] == len(in_shard) > 1
    if late:
        assert counts[f"{vault_get}replicationProtectedItems"] == 1  # listed again, one page
        assert by_name not in counts
        return
    assert f"{vault_get}replicationProtectedItems" not in counts  # the vault is not listed again
    assert counts[by_name] == 1  # only the VM that moved since the listing
    assert counts["table GET"] == 2  # the shard's records and its part of the listing


def test_a_shard_pass_sees_approval_and_opt_out_in_the_tags_and_describes_before_stopping(
    azurite: Azurite, moto_server: LocalService
):
    """Read from tags alone, a VM still moves on what its tags say: approved, it leaves for the
    stop (which is then decided on a described instance, the next pass); opted out, it opts out."""
    in_shard: list[str] = []
    phases: dict[str, str] = {}

    def prepare(reconciler: Reconciler, store: TableStateStore, vault: Vault) -> None:
        ids = sorted(r.instance_id for r in store.all())
        sizes = Counter(shard_of(i) for i in ids)  # 60 VMs in 16 shards: the largest holds 2 or more
        fullest = max(sizes, key=lambda shard: sizes[shard])
        in_shard.extend(i for i in ids if shard_of(i) == fullest)
        ec2 = aws_client(moto_server.url, "ec2")
        tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [in_shard[0]]}])["Tags"]
        prefix = next(t["Key"] for t in tags if t["Key"].endswith(":enabled")).removesuffix(":enabled")
        ec2.create_tags(Resources=[in_shard[0]], Tags=[{"Key": f"{prefix}:approved", "Value": "true"}])
        ec2.delete_tags(Resources=[in_shard[1]], Tags=[{"Key": f"{prefix}:enabled"}])

    def shard_pass(reconciler: Reconciler, ids: list[str]) -> PassReport:
        report = reconciler.reconcile(shard=shard_of(in_shard[0]))
        phases.update({i: reconciler.store.get(i).phase.value for i in in_shard[:2]})
        return report

    counts = fleet_pass(azurite, moto_server, 60, shard_pass, prepare, steady=False)
    assert phases == {in_shard[0]: "stopping_source", in_shard[1]: "opting_out"}
    assert "aws DescribeInstances" not in counts  # all of it read from the tags
