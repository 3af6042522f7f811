"""Work items: what a message on the work queue may say, and how work is cut into messages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from local.queue_host import HOST_JSON, QueueSettings
from shared.model.work import MAX_VMS_PER_MESSAGE, SHARDS, WorkItem, shard_of
from tests.conftest import instance_id


def test_many_vms_are_cut_into_messages_small_enough_to_finish_in_time():
    ids = [instance_id(n) for n in range(2 * MAX_VMS_PER_MESSAGE + 1)]
    items = WorkItem.for_vms([*ids, ids[0]], "sweep")  # a repeat is worked once
    assert [len(item.instances) for item in items] == [MAX_VMS_PER_MESSAGE, MAX_VMS_PER_MESSAGE, 1]
    assert sorted(i for item in items for i in item.instances) == sorted(ids)
    assert WorkItem.for_vms([], "nothing") == []


def test_a_fleet_pass_is_one_discovery_and_one_vault_listing_which_queues_every_shard():
    assert [item.kind for item in WorkItem.fleet_pass("timer")] == ["discover", "vault"]
    listed_at = datetime(2026, 11, 28, 12, tzinfo=UTC)
    shards = WorkItem.shard_pass("timer", listed_at)
    assert [item.shard for item in shards] == list(SHARDS)
    assert {item.items_listed_at for item in shards} == {listed_at}
    assert {item.items_listed_at for item in WorkItem.shard_pass("timer", None)} == {None}
    assert {shard_of(instance_id(n)) for n in range(500)} == set(SHARDS)


@pytest.mark.parametrize(
    "body",
    [
        '{"kind": "vms", "instances": []}',
        '{"kind": "vms", "instances": ["i-123"]}',
        '{"kind": "shard"}',
        '{"kind": "shard", "shard": "shard-16"}',
        '{"kind": "discover", "shard": "shard-01"}',
        '{"kind": "purge"}',
        '{"kind": "discover", "extra": 1}',
        '{"kind": "vault", "items_listed_at": "2026-11-28T12:00:00Z"}',
        "not json",
    ],
)
def test_a_malformed_work_item_is_refused(body: str):
    with pytest.raises(ValidationError):
        WorkItem.model_validate_json(body)


def test_a_work_item_survives_the_queue_as_json():
    item = WorkItem.for_vms([instance_id(1)], "EC2 event", discover=True)[0]
    assert WorkItem.model_validate_json(item.model_dump_json(exclude_defaults=True)) == item


def test_the_local_host_reads_the_queue_rules_from_host_json():
    settings = QueueSettings.from_host_json(HOST_JSON)
    assert settings.max_dequeue_count >= 2 and settings.batch_size >= 1
    assert settings.visibility_timeout == 30 and settings.max_polling_interval == 2
    assert settings.message_encoding == "base64"
