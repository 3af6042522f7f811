"""The state store's promises, kept by both implementations: Table Storage (against Azurite, through
the real azure-data-tables client over HTTP) and the in-memory store the service tests use."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from shared.errors import AlreadyExists, ConcurrencyConflict, InvalidInput, RecordNotFound, SuspiciousEvent
from shared.model.phases import Phase
from shared.model.records import HistoryEntry, MigrationRecord, TargetSettings
from shared.model.work import shard_of
from shared.state.memory import MemoryStateStore
from shared.state.store import StateStore
from shared.state.table import TableStateStore
from tests.conftest import T0, FakeClock, instance_id, record

pytestmark = pytest.mark.integration


@pytest.fixture(params=["table", "memory"])
def store(request: pytest.FixtureRequest, clock: FakeClock) -> StateStore:
    if request.param == "memory":
        return MemoryStateStore(clock=clock)
    table: TableStateStore = request.getfixturevalue("table_store")
    return table


def test_create_then_get_returns_the_same_record(store: StateStore):
    created = store.create(record().evolve(target=TargetSettings(vm_size="Standard_D4s_v5")))
    assert created.etag
    read = store.get(created.instance_id)
    assert read == created
    assert read.target.vm_size == "Standard_D4s_v5"


def test_create_twice_is_already_exists(store: StateStore):
    store.create(record())
    with pytest.raises(AlreadyExists) as error:
        store.create(record().evolve(wave="other"))
    assert error.value.key == instance_id(1)
    assert store.get(instance_id(1)).wave == "wave1"  # the first write stands


def test_unknown_record_is_not_found(store: StateStore):
    assert store.find(instance_id(404)) is None
    with pytest.raises(RecordNotFound):
        store.get(instance_id(404))


def test_update_is_compare_and_swap(store: StateStore, clock: FakeClock):
    read = store.create(record())
    clock.advance(60)
    written = store.update(read.evolve(phase=Phase.PREFLIGHT))
    assert written.version == 1
    assert written.updated_at == T0 + timedelta(seconds=60)
    assert written.etag != read.etag
    assert store.get(read.instance_id) == written


def test_stale_etag_never_overwrites(store: StateStore):
    stale = store.create(record())
    winner = store.update(stale.evolve(phase=Phase.PREFLIGHT))
    with pytest.raises(ConcurrencyConflict) as conflict:
        store.update(stale.evolve(phase=Phase.BLOCKED))
    assert conflict.value.current == winner
    assert store.get(stale.instance_id) == winner


def test_two_writers_from_one_read_exactly_one_wins(store: StateStore):
    read = store.create(record())
    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def write(name: str, phase: Phase) -> None:
        start.wait(timeout=10)
        try:
            outcomes[name] = store.update(read.evolve(phase=phase))
        except ConcurrencyConflict as conflict:
            outcomes[name] = conflict

    threads = [
        threading.Thread(target=write, args=("a", Phase.PREFLIGHT)),
        threading.Thread(target=write, args=("b", Phase.BLOCKED)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    wins = [o for o in outcomes.values() if isinstance(o, MigrationRecord)]
    losses = [o for o in outcomes.values() if isinstance(o, ConcurrencyConflict)]
    assert len(wins) == 1 and len(losses) == 1
    assert losses[0].current == wins[0]  # the loser is handed the winner's record
    assert store.get(read.instance_id) == wins[0]


def test_update_without_etag_is_refused(store: StateStore):
    store.create(record())
    with pytest.raises(InvalidInput, match="no ETag"):
        store.update(record().evolve(phase=Phase.PREFLIGHT))
    assert store.get(instance_id(1)).phase is Phase.OPTED_IN


def test_invalid_records_are_refused_before_any_write(store: StateStore):
    bad_phase = MigrationRecord.model_construct(**{**record().model_dump(), "phase": "teleporting"})
    bad_id = MigrationRecord.model_construct(**{**record().model_dump(), "instance_id": "i-NOPE"})
    for bad in (bad_phase, bad_id):
        with pytest.raises(InvalidInput, match="invalid MigrationRecord"):
            store.create(bad)
        with pytest.raises(InvalidInput):
            store.create_many([record(2), bad])
    assert list(store.all()) == []  # nothing at all was written, not even the valid record in the batch

    read = store.create(record())
    tampered = read.model_copy(update={"phase": "teleporting"})  # model_copy skips validation
    with pytest.raises(InvalidInput):
        store.update(tampered)
    assert store.get(read.instance_id) == read


def test_queries_page_past_1000_records(table_store: TableStateStore):
    store = table_store
    fleet = [record(n, wave="big" if n % 2 else "small") for n in range(1, 1_206)]
    assert store.create_many(fleet) == 1_205
    page = store.page("in_flight eq true", {})
    assert len(page.records) == 1_000 and page.continuation is not None  # a real second page exists
    rest = store.page("in_flight eq true", {}, page.continuation)
    assert len(rest.records) == 205 and rest.continuation is None
    seen = {r.instance_id for r in page.records} | {r.instance_id for r in rest.records}
    assert seen == {r.instance_id for r in fleet}
    assert sum(1 for _ in store.in_flight()) == 1_205
    assert sum(1 for _ in store.by_wave("big")) == 603
    assert sum(1 for _ in store.by_phase(Phase.OPTED_IN)) == 1_205


def test_queries_select_by_phase_wave_and_flight(store: StateStore):
    for n, phase in enumerate(
        [Phase.PREFLIGHT, Phase.PREFLIGHT, Phase.DONE, Phase.OPTED_OUT, Phase.BLOCKED], 1
    ):
        created = store.create(record(n, wave="w2" if n > 3 else "w1"))
        store.update(created.evolve(phase=phase))
    assert sorted(r.instance_id for r in store.by_phase(Phase.PREFLIGHT)) == [instance_id(1), instance_id(2)]
    assert {r.phase for r in store.in_flight()} == {Phase.PREFLIGHT, Phase.BLOCKED}
    assert sorted(r.instance_id for r in store.by_wave("w2")) == [instance_id(4), instance_id(5)]
    assert list(store.by_wave("w1' or wave ne '")) == []  # parameters are quoted, not pasted
    assert store.instance_ids() == {instance_id(n) for n in range(1, 6)}  # done ones too
    assert {r.instance_id for r in store.in_phases([Phase.DONE, Phase.BLOCKED])} == {
        instance_id(3),
        instance_id(5),
    }
    shard = shard_of(instance_id(1))
    assert {r.instance_id for r in store.in_flight_in(shard)} == {
        instance_id(n) for n in (1, 2, 5) if shard_of(instance_id(n)) == shard
    }


def test_create_many_reports_an_existing_record(store: StateStore):
    store.create(record(5))
    with pytest.raises(AlreadyExists):
        store.create_many([record(n) for n in range(1, 10)])


def test_history_comes_back_in_time_order(store: StateStore):
    times = [T0 + timedelta(minutes=m) for m in (30, 5, 20, 5)]
    for n, at in enumerate(times):
        store.append_history(
            HistoryEntry(
                instance_id=instance_id(1), at=at, event="transition", actor="test", reason=f"step {n}"
            )
        )
    store.append_history(HistoryEntry(instance_id=instance_id(2), at=T0, event="transition", actor="test"))
    timeline = store.history(instance_id(1))
    assert [entry.at for entry in timeline] == sorted(times)
    assert {entry.reason for entry in timeline} == {"step 0", "step 1", "step 2", "step 3"}
    assert store.history(instance_id(3)) == []


def test_long_texts_are_stored_truncated_with_a_marker(store: StateStore):
    entry = HistoryEntry(
        instance_id=instance_id(1), at=T0, event="failed", actor="test", reason="e" * 100_000
    )
    store.append_history(entry)
    stored = store.history(instance_id(1))[0]
    assert len(stored.reason) <= 2_000
    kept, marker = stored.reason.split("…", 1)
    assert set(kept) == {"e"}
    assert marker == f"[truncated {100_000 - len(kept)} chars]"
    assert stored == entry  # what is read back is exactly what the model held


def test_events_are_remembered_once_and_replays_are_caught(store: StateStore):
    assert store.remember_event("aws.ec2-events", "evt-1", "sha-a") is True
    assert store.remember_event("aws.ec2-events", "evt-1", "sha-a") is False
    with pytest.raises(SuspiciousEvent):
        store.remember_event("aws.ec2-events", "evt-1", "sha-b")
    assert store.remember_event("asr.jobs", "evt-1", "sha-a") is True  # another source, another id space
    assert store.remember_event("aws.ec2-events", "a/b#c?d", "sha-c") is True  # forbidden key chars
    assert store.remember_event("aws.ec2-events", "a/b#c?d", "sha-c") is False
    with pytest.raises(InvalidInput):
        store.remember_event("bad source!", "evt-2", "sha")


def test_old_event_rows_are_forgotten_and_recent_ones_kept(store: StateStore, clock: FakeClock):
    for n in range(150):  # more than one transaction's worth in one source
        store.remember_event("aws.ec2-events", f"old-{n}", "sha")
    store.remember_event("asr.jobs", "old-job", "sha")
    clock.now += timedelta(days=3)
    store.remember_event("aws.ec2-events", "recent", "sha")
    assert store.forget_stale_events() == 151  # older than two days
    assert store.remember_event("aws.ec2-events", "old-7", "sha") is True  # forgotten: new again
    assert store.remember_event("asr.jobs", "old-job", "sha") is True
    assert store.remember_event("aws.ec2-events", "recent", "sha") is False  # kept: still a duplicate
    assert store.forget_events(clock.now - timedelta(days=2)) == 0


def test_watermarks_are_compare_and_swap(store: StateStore):
    assert store.watermark("asr-jobs") is None
    first = store.save_watermark("asr-jobs", T0, None)
    assert store.watermark("asr-jobs") == first
    second = store.save_watermark("asr-jobs", T0 + timedelta(minutes=1), first)
    with pytest.raises(ConcurrencyConflict) as conflict:
        store.save_watermark("asr-jobs", T0 + timedelta(minutes=2), first)
    assert conflict.value.current == second
    with pytest.raises(ConcurrencyConflict):
        store.save_watermark("asr-jobs", T0, None)  # someone created it already
    assert store.watermark("asr-jobs") == second


def test_history_of_one_instant_keeps_the_order_of_record_versions(store: StateStore):
    for version in (3, 1, 2):
        store.append_history(
            HistoryEntry(
                instance_id=instance_id(1), at=T0, event="transition", actor="test", record_version=version
            )
        )
    assert [e.record_version for e in store.history(instance_id(1))] == [1, 2, 3]
