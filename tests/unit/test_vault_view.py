"""The vault listing a fleet pass keeps for its shards: what a shard gets back, and which VMs it
must read by name instead because they moved since the listing."""

from __future__ import annotations

from datetime import timedelta

from shared.model.facts import ItemFacts
from shared.model.phases import Phase
from shared.model.records import PendingAction
from shared.reconcile.reconciler import _moved_since, _shard_of_item
from shared.state.vault_view import _unambiguous, decode_items, encode_items
from tests.conftest import T0, instance_id, record


def item(name: str, friendly: str = "", **changes: object) -> ItemFacts:
    return ItemFacts(
        name=name,
        protection_state="Protected",
        allowed_operations=frozenset({"testfailover", "plannedfailover"}),
        friendly_name=friendly,
        internal_id=f"id-{name}",
        **changes,  # type: ignore[arg-type]
    )


def test_items_come_back_as_they_were_listed():
    items = {f"azmigrate-{instance_id(n)}": item(f"azmigrate-{instance_id(n)}", f"vm{n}") for n in range(300)}
    items["azmigrate-x"] = item("azmigrate-x", current_job_id="job-1", progress_percent=40)
    blob = encode_items(items)
    assert decode_items(blob) == items
    assert len(blob) < 300 * 60  # compressed: a shard of 625 items fits a few Table properties


def test_a_friendly_name_two_items_share_is_dropped_as_the_whole_list_would_ignore_it():
    listed = _unambiguous({"a": item("a", "web"), "b": item("b", "web"), "c": item("c", "db")})
    assert [listed[n].friendly_name for n in "abc"] == ["", "", "db"]


def test_items_the_app_did_not_name_belong_to_no_shard():
    assert _shard_of_item("azmigrate-" + instance_id(3)) is not None
    assert _shard_of_item("portal-made-item") is None


def test_a_vm_that_moved_or_acts_since_the_listing_is_read_by_name():
    listed_at = T0 + timedelta(minutes=10)
    quiet = record(1).evolve(phase=Phase.READY_FOR_CUTOVER, phase_entered_at=T0)
    assert not _moved_since(quiet, listed_at)
    assert _moved_since(quiet.evolve(phase_entered_at=listed_at), listed_at)
    done_before = PendingAction(action="test_migrate", attempt_id="a1", started_at=T0, done_at=T0)
    assert not _moved_since(quiet.evolve(pending_action=done_before), listed_at)
    still_open = PendingAction(action="test_migrate", attempt_id="a1", started_at=T0)
    assert _moved_since(quiet.evolve(pending_action=still_open), listed_at)
    done_after = done_before.model_copy(update={"done_at": listed_at + timedelta(seconds=1)})
    assert _moved_since(quiet.evolve(pending_action=done_after), listed_at)
