"""`MemoryStateStore`: the `StateStore` in one process's memory, for fast tests of what sits above the
store (the commands, the services). It keeps the same promises as Table Storage: ETag
compare-and-swap, validation and Table's size limits before any write, append-only history in
time order, event dedupe with replay detection, compare-and-swap watermarks. Thread-safe; nothing
is kept once the process ends.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime

from shared.errors import AlreadyExists, ConcurrencyConflict, InvalidInput, RecordNotFound, SuspiciousEvent
from shared.model.clock import Clock, utc_now
from shared.model.phases import Phase
from shared.model.records import HistoryEntry, MigrationRecord
from shared.model.work import shard_of
from shared.state.codec import to_entity
from shared.state.store import (
    EVENT_MEMORY,
    StateStore,
    Watermark,
    history_order,
    require_event_id,
    require_token,
    successor,
    validated,
)


class MemoryStateStore(StateStore):
    def __init__(self, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._records: dict[str, MigrationRecord] = {}
        self._history: dict[str, list[HistoryEntry]] = {}
        self._events: dict[tuple[str, str], tuple[str, datetime]] = {}
        self._watermarks: dict[str, Watermark] = {}

    def ensure_tables(self) -> None:
        """Nothing to create."""

    def close(self) -> None:
        """Nothing to release."""

    # --- migration records -------------------------------------------------------------------

    def create(self, record: MigrationRecord) -> MigrationRecord:
        record = self._checked(record)
        with self._lock:
            if record.instance_id in self._records:
                raise AlreadyExists("migration record", record.instance_id)
            return self._stored(record)

    def create_many(self, records: Sequence[MigrationRecord]) -> int:
        """All are validated, and all checked for a record already there, before the first write: all or
        nothing (Table Storage is all or nothing per transaction of up to 100 in one shard)."""
        checked = [self._checked(record) for record in records]
        with self._lock:
            for record in checked:
                if record.instance_id in self._records:
                    raise AlreadyExists("migration record", record.instance_id)
            for record in checked:
                self._stored(record)
        return len(checked)

    def find(self, instance_id: str) -> MigrationRecord | None:
        with self._lock:
            return self._records.get(instance_id)

    def update(self, record: MigrationRecord) -> MigrationRecord:
        written = successor(record, self._clock())
        to_entity(written, "shard", written.instance_id)  # Table's limits, as the real store applies them
        with self._lock:
            current = self._records.get(record.instance_id)
            if current is None:  # as Table Storage answers an update of a deleted entity: 404
                raise RecordNotFound("migration record", record.instance_id)
            if current.etag != record.etag:
                raise ConcurrencyConflict(record.instance_id, current)
            return self._stored(written)

    def all(self) -> Iterator[MigrationRecord]:
        return self._matching(lambda _: True)

    def instance_ids(self) -> set[str]:
        with self._lock:
            return set(self._records)

    def in_flight(self) -> Iterator[MigrationRecord]:
        return self._matching(lambda r: not r.phase.is_terminal)

    def in_flight_in(self, shard: str) -> Iterator[MigrationRecord]:
        return self._matching(lambda r: not r.phase.is_terminal and shard_of(r.instance_id) == shard)

    def by_phase(self, phase: Phase) -> Iterator[MigrationRecord]:
        wanted = Phase(phase)
        return self._matching(lambda r: r.phase == wanted)

    def in_phases(self, phases: Iterable[Phase]) -> Iterator[MigrationRecord]:
        wanted = frozenset(Phase(p) for p in phases)
        return self._matching(lambda r: r.phase in wanted)

    def by_wave(self, wave: str) -> Iterator[MigrationRecord]:
        return self._matching(lambda r: r.wave == wave)

    # --- history ---------------------------------------------------------------------------------

    def append_history(self, entry: HistoryEntry) -> None:
        entry = validated(entry)
        to_entity(entry, entry.instance_id, "row")  # Table's limits, as the real store applies them
        with self._lock:
            self._history.setdefault(entry.instance_id, []).append(entry)

    def history(self, instance_id: str) -> list[HistoryEntry]:
        with self._lock:
            return sorted(self._history.get(instance_id, []), key=history_order)

    # --- event dedupe ----------------------------------------------------------------------------

    def remember_event(self, source: str, event_id: str, fingerprint: str) -> bool:
        require_token("event source", source)
        require_event_id(event_id)
        with self._lock:
            seen = self._events.get((source, event_id))
            if seen is None:
                self._events[(source, event_id)] = (fingerprint, self._clock())
                return True
        if seen[0] != fingerprint:
            raise SuspiciousEvent(
                f"event {event_id!r} from {source} was seen before with a different payload"
            )
        return False

    def event_seen(self, source: str, event_id: str, fingerprint: str) -> bool:
        require_token("event source", source)
        require_event_id(event_id)
        with self._lock:
            seen = self._events.get((source, event_id))
        if seen is not None and seen[0] != fingerprint:
            raise SuspiciousEvent(
                f"event {event_id!r} from {source} was seen before with a different payload"
            )
        return seen is not None

    def forget_stale_events(self) -> int:
        return self.forget_events(self._clock() - EVENT_MEMORY)

    def forget_events(self, before: datetime) -> int:
        with self._lock:
            old = [key for key, (_, received) in self._events.items() if received < before]
            for key in old:
                del self._events[key]
        return len(old)

    # --- watermarks ------------------------------------------------------------------------------

    def watermark(self, name: str) -> Watermark | None:
        require_token("watermark name", name)
        with self._lock:
            return self._watermarks.get(name)

    def save_watermark(self, name: str, value: datetime, previous: Watermark | None) -> Watermark:
        require_token("watermark name", name)
        if value.tzinfo is None:
            raise InvalidInput("watermark value must be timezone-aware")
        with self._lock:
            current = self._watermarks.get(name)
            if current is None and previous is not None:  # as Table Storage answers: 404
                raise RecordNotFound("watermark", name)
            if (current.etag if current else None) != (previous.etag if previous else None):
                raise ConcurrencyConflict(name, current)
            saved = Watermark(name, value.astimezone(UTC), uuid.uuid4().hex)
            self._watermarks[name] = saved
            return saved

    # ---------------------------------------------------------------------------------------------

    def _checked(self, record: MigrationRecord) -> MigrationRecord:
        record = validated(record)
        to_entity(record, "shard", record.instance_id)  # Table's limits, as the real store applies them
        return record

    def _stored(self, record: MigrationRecord) -> MigrationRecord:
        """Under the lock: keeps `record` with a fresh ETag and returns it."""
        stored = record.evolve(etag=uuid.uuid4().hex)
        self._records[record.instance_id] = stored
        return stored

    def _matching(self, keep: Callable[[MigrationRecord], bool]) -> Iterator[MigrationRecord]:
        with self._lock:
            chosen = [r for r in self._records.values() if keep(r)]
        return iter(sorted(chosen, key=lambda r: r.instance_id))
