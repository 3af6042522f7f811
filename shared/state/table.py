"""The state store on Azure Table Storage (`TableStateStore`): the production `StateStore`.

Tables and keys (names start with the configured prefix):

- `<prefix>Migrations`: PartitionKey `shard-NN` (a stable hash of the instance id, 16 shards),
  RowKey the instance id. A point read needs only the instance id. Spreading records over 16
  partitions keeps each under Table Storage's ~2,000 entities/s per partition when a large fleet
  is reconciled at once, and gives the reconciler a natural unit to fan out (one shard, one
  single-partition query). Fleet-wide queries (in flight, by phase, by wave) are filters over
  the table, paged 1,000 at a time; 10,000 records is 10 pages. The shard count is fixed: changing
  it would orphan every record.
- `<prefix>History`: PartitionKey the instance id,
  RowKey `<UTC time, microseconds>-<record version>-<random>`.
  One VM's timeline is one partition, returned in time order by a single query; entries are only
  ever inserted (append-only).
- `<prefix>Events`: PartitionKey the event source, RowKey the event id (hashed when it holds
  characters Table keys forbid). Insert-only: a second insert of the same id is a duplicate.
- `<prefix>Watermarks`: PartitionKey `watermark`, RowKey the watermark's name.

Every record write is compare-and-swap on the entity's ETag; `upsert_entity` is never used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, TableEntity, TableServiceClient, TableTransactionError, UpdateMode

from shared.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    InvalidInput,
    RecordNotFound,
    StoreUnavailable,
    SuspiciousEvent,
)
from shared.model.clock import Clock, utc_now
from shared.model.phases import Phase
from shared.model.records import HistoryEntry, MigrationRecord
from shared.model.work import shard_of
from shared.state.codec import from_entity, to_entity
from shared.state.store import (
    EVENT_MEMORY,
    RecordPage,
    StateStore,
    Watermark,
    require_event_id,
    require_token,
    successor,
    validated,
)

log = logging.getLogger(__name__)

MAX_BATCH = 100  # Table transactions: one partition, at most 100 operations
PAGE_SIZE = 1_000  # the service's maximum page
_DERIVED = frozenset({"in_flight"})
UNSAFE_KEY = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")


def batches(entities: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Group entities into valid transactions: one partition each, at most MAX_BATCH operations."""
    by_partition: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entity in entities:
        by_partition[entity["PartitionKey"]].append(entity)
    for group in by_partition.values():
        for start in range(0, len(group), MAX_BATCH):
            yield group[start : start + MAX_BATCH]


class TableStateStore(StateStore):
    def __init__(self, service: TableServiceClient, table_prefix: str, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._records = service.get_table_client(f"{table_prefix}Migrations")
        self._history = service.get_table_client(f"{table_prefix}History")
        self._events = service.get_table_client(f"{table_prefix}Events")
        self._watermarks = service.get_table_client(f"{table_prefix}Watermarks")
        self._tables = (self._records, self._history, self._events, self._watermarks)

    def ensure_tables(self) -> None:
        for table in self._tables:
            with _translated("table", table.table_name):
                create_if_missing(table)

    def close(self) -> None:
        for table in self._tables:
            table.close()

    # --- migration records -------------------------------------------------------------------

    def create(self, record: MigrationRecord) -> MigrationRecord:
        record = validated(record)
        entity = _record_entity(record)
        with _translated("migration record", record.instance_id):
            metadata = self._records.create_entity(entity)
        return record.evolve(etag=metadata["etag"])

    def create_many(self, records: Sequence[MigrationRecord]) -> int:
        """Create many records in Table transactions; all are validated before the first write.

        A transaction is all-or-nothing, but transactions are separate: if one fails (e.g. an
        instance already has a record), those before it stay written. Returns how many were created.
        """
        entities = [_record_entity(validated(record)) for record in records]
        created = 0
        for batch in batches(entities):
            try:
                with _translated("migration records", batch[0]["PartitionKey"]):
                    self._records.submit_transaction([("create", entity) for entity in batch])
            except TableTransactionError as error:
                failed = batch[error.index]["RowKey"] if 0 <= error.index < len(batch) else "?"
                if error.status_code == 409:
                    raise AlreadyExists("migration record", failed) from error
                raise StoreUnavailable(f"batch create failed at {failed}: {error.message}") from error
            created += len(batch)
        return created

    def find(self, instance_id: str) -> MigrationRecord | None:
        try:
            with _translated("migration record", instance_id):
                entity = self._records.get_entity(shard_of(instance_id), instance_id)
        except RecordNotFound:
            return None
        return _record_from(entity)

    def update(self, record: MigrationRecord) -> MigrationRecord:
        """Write `record` only if nobody wrote since it was read; bumps version and updated_at."""
        record = successor(record, self._clock())
        try:
            with _translated("migration record", record.instance_id):
                metadata = self._records.update_entity(
                    _record_entity(record),
                    mode=UpdateMode.REPLACE,
                    etag=record.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
        except _Modified:
            current = self.find(record.instance_id)
            log.info(
                "write conflict, another writer won",
                extra={"instance_id": record.instance_id, "phase": current.phase if current else None},
            )
            raise ConcurrencyConflict(record.instance_id, current) from None
        return record.evolve(etag=metadata["etag"])

    def page(
        self, query: str, parameters: dict[str, Any], continuation: str | None = None, size: int = PAGE_SIZE
    ) -> RecordPage:
        token = json.loads(continuation) if continuation else None
        with _translated("migration records", query or "all"):
            if query:
                found = self._records.query_entities(query, parameters=parameters, results_per_page=size)
            else:
                found = self._records.list_entities(results_per_page=size)
            pages = found.by_page(continuation_token=token)
            entities = list(next(pages, []))
            next_token = pages.continuation_token  # type: ignore[attr-defined]
        return RecordPage(
            [_record_from(entity) for entity in entities], json.dumps(next_token) if next_token else None
        )

    def scan(self, query: str, parameters: dict[str, Any]) -> Iterator[MigrationRecord]:
        continuation: str | None = None
        while True:
            page = self.page(query, parameters, continuation)
            yield from page.records
            if page.continuation is None:
                return
            continuation = page.continuation

    def all(self) -> Iterator[MigrationRecord]:
        return self.scan("", {})

    def instance_ids(self) -> set[str]:
        """Every recorded instance id, any phase: the keys only (a projection, 1,000 a page)."""
        with _translated("migration records", "ids"):
            return {
                str(e["RowKey"])
                for e in self._records.list_entities(select=["RowKey"], results_per_page=PAGE_SIZE)
            }

    def in_flight(self) -> Iterator[MigrationRecord]:
        return self.scan("in_flight eq true", {})

    def in_flight_in(self, shard: str) -> Iterator[MigrationRecord]:
        """One shard's VMs in flight: a single-partition query, the unit a fleet pass fans out."""
        return self.scan("PartitionKey eq @shard and in_flight eq true", {"shard": shard})

    def by_phase(self, phase: Phase) -> Iterator[MigrationRecord]:
        return self.scan("phase eq @phase", {"phase": Phase(phase).value})

    def in_phases(self, phases: Iterable[Phase]) -> Iterator[MigrationRecord]:
        wanted = sorted(Phase(p).value for p in phases)
        query = " or ".join(f"phase eq @p{n}" for n in range(len(wanted)))
        return self.scan(query, {f"p{n}": value for n, value in enumerate(wanted)}) if wanted else iter(())

    def by_wave(self, wave: str) -> Iterator[MigrationRecord]:
        return self.scan("wave eq @wave", {"wave": wave})

    # --- history ---------------------------------------------------------------------------------

    def append_history(self, entry: HistoryEntry) -> None:
        entry = validated(entry)
        # Time first; entries of one instant in the order of the record version they describe.
        row_key = f"{entry.at:%Y%m%dT%H%M%S%fZ}-{entry.record_version or 0:010d}-{uuid.uuid4().hex[:12]}"
        with _translated("history entry", entry.instance_id):
            self._history.create_entity(to_entity(entry, entry.instance_id, row_key))

    def history(self, instance_id: str) -> list[HistoryEntry]:
        with _translated("history", instance_id):
            entities = list(
                self._history.query_entities("PartitionKey eq @pk", parameters={"pk": instance_id})
            )
        entities.sort(key=lambda entity: entity["RowKey"])  # the service returns key order; be explicit
        return [from_entity(HistoryEntry, entity) for entity in entities]

    # --- event dedupe ----------------------------------------------------------------------------

    def remember_event(self, source: str, event_id: str, fingerprint: str) -> bool:
        """True the first time (source, event_id) is seen; False for an exact re-delivery.

        The same id with a different fingerprint (payload hash) raises `SuspiciousEvent`: a replay
        or a sender bug, never to be taken for a duplicate.
        """
        require_token("event source", source)
        require_event_id(event_id)
        row_key = _safe_key(event_id)
        entity = {
            "PartitionKey": source,
            "RowKey": row_key,
            "event_id": event_id,
            "fingerprint": fingerprint,
            "received_at": self._clock(),
        }
        try:
            with _translated("event", event_id):
                self._events.create_entity(entity)
            return True
        except AlreadyExists:
            pass
        return not self.event_seen(source, event_id, fingerprint)

    def event_seen(self, source: str, event_id: str, fingerprint: str) -> bool:
        """Was this event remembered before? Reads only; a different payload raises SuspiciousEvent."""
        require_token("event source", source)
        require_event_id(event_id)
        try:
            with _translated("event", event_id):
                seen = self._events.get_entity(source, _safe_key(event_id))
        except RecordNotFound:
            return False
        if seen["fingerprint"] != fingerprint:
            raise SuspiciousEvent(
                f"event {event_id!r} from {source} was seen before with a different payload"
            )
        return True

    def forget_stale_events(self) -> int:
        """Forgets the dedupe rows older than any re-delivery could be (the nightly batch calls it)."""
        return self.forget_events(self._clock() - EVENT_MEMORY)

    def forget_events(self, before: datetime) -> int:
        """Deletes the dedupe rows received before `before`; returns how many. A re-delivery older
        than that (EventBridge retries for at most 24 hours) is no longer recognised as a duplicate."""
        with _translated("events", "received before"):
            old = list(
                self._events.query_entities(
                    "received_at lt @before", parameters={"before": before}, select=["PartitionKey", "RowKey"]
                )
            )
        by_source: dict[str, list[dict[str, Any]]] = {}
        for entity in old:
            by_source.setdefault(entity["PartitionKey"], []).append(entity)
        for rows in by_source.values():
            for start in range(0, len(rows), MAX_BATCH):
                with _translated("events", "delete"):
                    self._events.submit_transaction(
                        [("delete", row) for row in rows[start : start + MAX_BATCH]]
                    )
        return len(old)

    # --- watermarks ------------------------------------------------------------------------------

    def watermark(self, name: str) -> Watermark | None:
        require_token("watermark name", name)
        try:
            with _translated("watermark", name):
                entity = self._watermarks.get_entity("watermark", name)
        except RecordNotFound:
            return None
        return Watermark(name, entity["value"], _etag_of(entity))

    def save_watermark(self, name: str, value: datetime, previous: Watermark | None) -> Watermark:
        """Compare-and-swap: `previous` is the watermark as read (None: it must not exist yet)."""
        require_token("watermark name", name)
        if value.tzinfo is None:
            raise InvalidInput("watermark value must be timezone-aware")
        value = value.astimezone(UTC)
        entity = {"PartitionKey": "watermark", "RowKey": name, "value": value}
        try:
            with _translated("watermark", name):
                if previous is None:
                    metadata = self._watermarks.create_entity(entity)
                else:
                    metadata = self._watermarks.update_entity(
                        entity,
                        mode=UpdateMode.REPLACE,
                        etag=previous.etag,
                        match_condition=MatchConditions.IfNotModified,
                    )
        except (_Modified, AlreadyExists):
            raise ConcurrencyConflict(name, self.watermark(name)) from None
        return Watermark(name, value, metadata["etag"])


class _Modified(Exception):
    """Internal: the ETag no longer matched (412)."""


@contextmanager
def _translated(kind: str, key: str) -> Iterator[None]:
    """Storage errors become our typed errors; nothing from the SDK leaks to callers."""
    try:
        yield
    except ResourceModifiedError as error:
        raise _Modified() from error
    except ResourceExistsError as error:
        raise AlreadyExists(kind, key) from error
    except ResourceNotFoundError as error:
        raise RecordNotFound(kind, key) from error
    except TableTransactionError:
        raise
    except HttpResponseError as error:
        if error.status_code == 412:
            raise _Modified() from error
        if error.status_code is not None and 400 <= error.status_code < 500 and error.status_code != 429:
            raise InvalidInput(f"Table Storage refused {kind} {key!r}: {error.reason}") from error
        raise StoreUnavailable(f"Table Storage failed on {kind} {key!r}: {error.reason}") from error
    except AzureError as error:
        raise StoreUnavailable(
            f"Table Storage unreachable for {kind} {key!r}: {type(error).__name__}"
        ) from error


def _record_entity(record: MigrationRecord) -> dict[str, Any]:
    return to_entity(
        record, shard_of(record.instance_id), record.instance_id, in_flight=not record.phase.is_terminal
    )


def _record_from(entity: TableEntity) -> MigrationRecord:
    return from_entity(MigrationRecord, entity, drop=_DERIVED, add={"etag": _etag_of(entity)})


def _etag_of(entity: TableEntity) -> str:
    etag = entity.metadata.get("etag")
    if not etag:
        raise StoreUnavailable("Table Storage returned an entity without an ETag")
    return str(etag)


def _safe_key(value: str) -> str:
    if UNSAFE_KEY.search(value) or len(value) > 255:
        return "sha256-" + hashlib.sha256(value.encode()).hexdigest()
    return value


def create_if_missing(table: TableClient) -> None:
    with contextlib.suppress(ResourceExistsError):
        table.create_table()


class ContendedRows:
    """A small table the workers share (rate budgets and replication slots, whose rows they contend
    for; the vault view): made on first use; a row is replaced only while it is as it was read."""

    def __init__(self, service: TableServiceClient, name: str) -> None:
        self._client = service.get_table_client(name)
        self._ready = False

    @property
    def table(self) -> TableClient:
        if not self._ready:
            create_if_missing(self._client)
            self._ready = True
        return self._client

    def replace_if_unchanged(self, entity: dict[str, Any], etag: str) -> bool:
        """True when written; False when another worker changed the row first (412)."""
        try:
            self.table.update_entity(
                entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        except ResourceModifiedError:
            return False
        except HttpResponseError as error:
            if error.status_code != 412:
                raise
            return False
        return True


def open_table_service(
    *, connection: str | None, account_url: str | None, credential: TokenCredential | None = None
) -> TableServiceClient:
    if connection:
        return TableServiceClient.from_connection_string(connection)
    if account_url:
        return TableServiceClient(endpoint=account_url, credential=credential)
    raise InvalidInput("need a Table connection string or an account URL")
