"""Work through the queue, end to end: events answer before any reconcile, workers in the local host
take the work from Azurite's Queue service, a message that keeps failing is poisoned and the VM's
record says so. The host is the local Functions host with host.json's queue rules (retry delay and
delivery count shortened here so a poisoning takes seconds)."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from typing import Any

import pytest

from local.estate import Estate, running_estate, tag_event
from local.queue_host import QueueSettings
from local.stack import Azurite, LocalService, aws_client
from shared.adapters.queue import WorkQueue, open_queue_service
from shared.app import services
from shared.model.work import SHARD_COUNT, WorkItem
from tests.integration.aws_support import launch_rhel

pytestmark = pytest.mark.integration
FAST_RETRIES = QueueSettings(batch_size=4, max_dequeue_count=2, visibility_timeout=0, max_polling_interval=1)


@pytest.fixture
def estate(azurite: Azurite, moto_server: LocalService) -> Iterator[Estate]:
    with running_estate(azurite, moto_server, queue_settings=FAST_RETRIES) as running:
        yield running


def work_queue() -> WorkQueue:
    service = open_queue_service(connection=os.environ["AZMIGRATE_QUEUE_CONNECTION"], account_url=None)
    return WorkQueue(service, os.environ["AZMIGRATE_WORK_QUEUE"])


def test_an_event_is_answered_with_its_work_queued_and_a_worker_does_it(estate: Estate):
    vm = launch_rhel(aws_client(estate.moto.url, "ec2"), {"azmigrate:enabled": "true"})
    for listener in estate.host.listeners:
        listener.stop()  # no worker yet: the answer cannot have waited for a reconcile
    status, body = estate.post("/api/ec2-events", tag_event(vm))
    assert (status, body["duplicate"]) == (202, False)
    assert estate.get(f"/api/migrations/{vm}")[0] == 404  # not reconciled before the answer ...
    assert work_queue().depth() == 1  # ... but its work is durably queued
    message = estate.work.peek_messages()[0]
    assert WorkItem.model_validate_json(_decoded(message.content)).instances == [vm]


def test_queued_work_is_done_by_the_workers(estate: Estate):
    vm = launch_rhel(aws_client(estate.moto.url, "ec2"), {"azmigrate:enabled": "true"})
    assert estate.post("/api/ec2-events", tag_event(vm))[0] == 202
    estate.settle()
    record = estate.record(vm)
    assert record["phase"] == "preflight" and record["pending_action"]["action"] == "guest_check"


def test_the_reconcile_timer_fans_out_a_discovery_and_one_vault_listing_which_queues_every_shard(
    estate: Estate,
):
    for listener in estate.host.listeners:
        listener.stop()
    estate.run_timer("reconcile_timer", settle=False)
    fanned = [WorkItem.model_validate_json(_decoded(m.content)) for m in _all_messages(estate)]
    assert sorted(item.kind for item in fanned) == ["discover", "vault"]
    vault = next(item for item in fanned if item.kind == "vault")
    services.work(vault.model_dump_json())  # as a worker taking it does
    shards = [WorkItem.model_validate_json(_decoded(m.content)) for m in _all_messages(estate)]
    assert sorted(str(item.shard) for item in shards) == [f"shard-{n:02d}" for n in range(SHARD_COUNT)]
    listed_at = {item.items_listed_at for item in shards}
    assert len(listed_at) == 1 and None not in listed_at  # every shard reads the one listing


def test_work_that_keeps_failing_is_poisoned_and_the_record_says_so(estate: Estate):
    vm = launch_rhel(aws_client(estate.moto.url, "ec2"), {"azmigrate:enabled": "true"})
    estate.post("/api/ec2-events", tag_event(vm))
    estate.settle()
    assert estate.record(vm)["phase"] == "preflight"  # waits on Site Recovery's view from here
    estate.sim.vault.faults.update({"serverErrorRate": 1.0})  # every ASR call answers 5xx
    try:
        work_queue().send(WorkItem.for_vms([vm], "test"))
        estate.settle()  # delivered twice, failed twice, moved to the poison queue and noted
        assert work_queue().poisoned() == 0  # the poison trigger took it
    finally:
        estate.sim.vault.faults.update({"serverErrorRate": 0.0})
    worker = next(listener for listener in estate.host.listeners if listener.name == "reconcile_work")
    assert worker.failed >= FAST_RETRIES.max_dequeue_count
    record = estate.record(vm)
    assert record["work_poisoned_at"] is not None and record["phase"] == "preflight"
    timeline = estate.get(f"/api/migrations/{vm}")[1]["timeline"]
    assert [e["actor"] for e in timeline if e["event"] == "work_poisoned"] == ["queue"]


def test_a_malformed_message_is_poisoned_and_changes_nothing(estate: Estate):
    estate.work.send_message(_encoded('{"kind": "vms", "instances": ["not-an-instance"]}'))
    estate.settle()
    assert estate.get("/api/migrations")[1] == {"total": 0, "by_phase": {}}


def _all_messages(estate: Estate) -> list[Any]:
    return list(estate.work.receive_messages(max_messages=32, visibility_timeout=30))


def _decoded(content: str) -> str:
    return base64.b64decode(content).decode()


def _encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
