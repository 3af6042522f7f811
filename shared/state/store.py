"""What the app keeps, as a Protocol: migration records, their history, event dedupe and watermarks.

Two implementations keep the same promises: `TableStateStore` (Azure Table Storage, production) and
`MemoryStateStore` (one process, for fast tests of the services above the store). The promises:
- every record write is a compare-and-swap on the record's ETag; a lost race raises
  `ConcurrencyConflict` carrying the winner's record, and a successful write bumps `version`;
- models are validated again before any write, so nothing invalid is stored;
- history is append-only and comes back in time order (then record version);
- `remember_event` is true once per (source, id); the same id with another fingerprint raises
  `SuspiciousEvent`; `event_seen` asks the same without remembering (an event is remembered only
  once the work it asked for is done);
- watermarks are compare-and-swap too (`previous` None: it must not exist yet).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from shared.errors import InvalidInput, RecordNotFound
from shared.model.phases import Phase
from shared.model.records import HistoryEntry, MigrationRecord

EVENT_MEMORY = timedelta(days=2)  # EventBridge retries a delivery for at most 24 hours
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class RecordPage:
    records: list[MigrationRecord]
    continuation: str | None  # opaque; pass it back to `page` to resume a scan where it stopped


@dataclass(frozen=True)
class Watermark:
    name: str
    value: datetime
    etag: str


class StateStore(Protocol):
    def ensure_tables(self) -> None: ...
    def close(self) -> None: ...

    def create(self, record: MigrationRecord) -> MigrationRecord: ...
    def create_many(self, records: Sequence[MigrationRecord]) -> int: ...
    def find(self, instance_id: str) -> MigrationRecord | None: ...
    def get(self, instance_id: str) -> MigrationRecord:
        """`find`, for callers that hold an id the store must know."""
        record = self.find(instance_id)
        if record is None:
            raise RecordNotFound("migration record", instance_id)
        return record

    def update(self, record: MigrationRecord) -> MigrationRecord: ...
    def all(self) -> Iterator[MigrationRecord]: ...
    def instance_ids(self) -> set[str]: ...
    def in_flight(self) -> Iterator[MigrationRecord]: ...
    def in_flight_in(self, shard: str) -> Iterator[MigrationRecord]: ...
    def by_phase(self, phase: Phase) -> Iterator[MigrationRecord]: ...
    def in_phases(self, phases: Iterable[Phase]) -> Iterator[MigrationRecord]: ...
    def by_wave(self, wave: str) -> Iterator[MigrationRecord]: ...

    def append_history(self, entry: HistoryEntry) -> None: ...
    def history(self, instance_id: str) -> list[HistoryEntry]: ...

    def remember_event(self, source: str, event_id: str, fingerprint: str) -> bool: ...
    def event_seen(self, source: str, event_id: str, fingerprint: str) -> bool: ...
    def forget_stale_events(self) -> int: ...
    def forget_events(self, before: datetime) -> int: ...

    def watermark(self, name: str) -> Watermark | None: ...
    def save_watermark(self, name: str, value: datetime, previous: Watermark | None) -> Watermark: ...


def validated(model: M) -> M:
    """Re-validate before writing: a model built with model_construct or mutated must not slip through."""
    try:
        checked = type(model).model_validate(model.model_dump(mode="python", warnings=False))
    except ValidationError as error:
        raise InvalidInput(f"invalid {type(model).__name__}: {error}") from None
    if hasattr(model, "etag"):
        object.__setattr__(checked, "etag", model.etag)
    return checked


def successor(record: MigrationRecord, now: datetime) -> MigrationRecord:
    """What an update writes: `record` checked, one version on, stamped `now`; it must carry the ETag
    it was read with (the compare-and-swap key)."""
    if record.etag is None:
        raise InvalidInput(f"record {record.instance_id} has no ETag: read it from the store first")
    return validated(record).evolve(version=record.version + 1, updated_at=now)


def require_token(what: str, value: str) -> None:
    if not _TOKEN.fullmatch(value):
        raise InvalidInput(
            f"{what} {value!r} must be letters, digits and . _ : - (1-128, starting alphanumeric)"
        )


def require_event_id(event_id: str) -> None:
    if not event_id or len(event_id) > 512:
        raise InvalidInput("event id must be 1-512 characters")


def history_order(entry: HistoryEntry) -> tuple[Any, ...]:
    """Time first; entries of one instant in the order of the record version they describe."""
    return (entry.at, entry.record_version or 0)
