"""The store's pure parts: shard keys, transaction grouping, safe row keys."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.model.work import SHARD_COUNT, shard_of
from shared.state.table import MAX_BATCH, _safe_key, batches
from tests.conftest import instance_id


def test_shard_is_stable_and_in_range():
    shards = {shard_of(instance_id(n)) for n in range(2_000)}
    assert shards == {f"shard-{n:02d}" for n in range(SHARD_COUNT)}  # every shard used
    assert shard_of(instance_id(7)) == shard_of(instance_id(7))


@given(st.lists(st.tuples(st.sampled_from("abcde"), st.integers()), max_size=600))
def test_batches_are_single_partition_and_at_most_100(rows):
    entities = [{"PartitionKey": pk, "RowKey": str(n), "i": i} for i, (pk, n) in enumerate(rows)]
    groups = list(batches(entities))
    for group in groups:
        assert 1 <= len(group) <= MAX_BATCH
        assert len({entity["PartitionKey"] for entity in group}) == 1
    assert sorted(entity["i"] for group in groups for entity in group) == list(range(len(rows)))


def test_row_keys_with_forbidden_characters_are_hashed():
    assert _safe_key("evt-123") == "evt-123"
    for bad in ("a/b", "a\\b", "a#b", "a?b", "a\tb", "x" * 300):
        key = _safe_key(bad)
        assert key.startswith("sha256-") and len(key) == 71
    assert _safe_key("a/b") != _safe_key("a\\b")
