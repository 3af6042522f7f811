"""The vault's protected items as one fleet pass listed them, kept for that pass's shard workers.

Listing the vault's protected items is the one read a shard cannot narrow to its own VMs (the
list's `$filter` names no fields in the spec: unconfirmed), so sixteen shards listing it would read
the whole vault sixteen times a pass. Instead one `vault` work item lists it once and writes each
shard's part here; a shard worker reads its row (one Table read) and reads by name only the items
of VMs that moved since the listing.

Table `<prefix>VaultView`: PartitionKey `view`, RowKey the shard; fields `read_at` (when the items
were listed, ISO 8601) and `items_00`, `items_01`, ... (the shard's items as zlib-compressed JSON,
in pieces under the 64 KiB a Table property holds). A shard whose part would not fit an entity
(1 MiB) gets no row: its worker lists the vault itself.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from azure.core.exceptions import AzureError
from azure.data.tables import TableServiceClient, UpdateMode

from shared.model.facts import ItemFacts
from shared.model.records import HealthIssue
from shared.state.table import ContendedRows

log = logging.getLogger(__name__)

PIECE_BYTES = 60_000  # a binary Table property holds at most 64 KiB
MAX_PIECES = 15  # with the keys and read_at, well inside an entity's 1 MiB


def encode_items(items: Mapping[str, ItemFacts]) -> bytes:
    rows = [asdict(item) | _plain(item) for item in items.values()]
    return zlib.compress(json.dumps(rows, separators=(",", ":")).encode(), 6)


def _plain(item: ItemFacts) -> dict[str, object]:
    point = item.last_recovery_point
    return {
        "allowed_operations": sorted(item.allowed_operations),
        "last_recovery_point": point.isoformat() if point else None,
        "health_issues": [issue.model_dump() for issue in item.health_issues],
    }


def decode_items(blob: bytes) -> dict[str, ItemFacts]:
    return {row["name"]: _item(row) for row in json.loads(zlib.decompress(blob))}


def _item(row: dict[str, Any]) -> ItemFacts:
    point = row.get("last_recovery_point")
    return ItemFacts(
        **(
            row
            | {
                "allowed_operations": frozenset(row["allowed_operations"]),
                "last_recovery_point": datetime.fromisoformat(point) if point else None,
                "health_issues": tuple(HealthIssue(**issue) for issue in row.get("health_issues") or []),
            }
        )
    )


class VaultView:
    def __init__(self, service: TableServiceClient, table_prefix: str) -> None:
        self._rows = ContendedRows(service, f"{table_prefix}VaultView")

    def write(
        self,
        read_at: datetime,
        items: Mapping[str, ItemFacts],
        shard_of_item: Callable[[str], str | None],
        shards: tuple[str, ...],
    ) -> set[str]:
        """Each shard's part of `items` (listed at `read_at`); the shards written. A shard missing
        from the answer (too large, or the write failed) lists the vault itself."""
        parts: dict[str, dict[str, ItemFacts]] = {shard: {} for shard in shards}
        for name, item in _unambiguous(items).items():
            shard = shard_of_item(name)
            if shard in parts:
                parts[shard][name] = item
        written = set()
        for shard, part in parts.items():
            blob = encode_items(part)
            pieces = [blob[i : i + PIECE_BYTES] for i in range(0, len(blob), PIECE_BYTES)]
            if len(pieces) > MAX_PIECES:
                log.warning("vault view: %s holds %d items, too many for one row", shard, len(part))
                continue
            entity: dict[str, Any] = {"PartitionKey": "view", "RowKey": shard, "read_at": read_at.isoformat()}
            entity |= {f"items_{n:02d}": piece for n, piece in enumerate(pieces)}
            try:
                self._rows.table.upsert_entity(entity, mode=UpdateMode.REPLACE)
            except AzureError as error:
                log.warning("vault view: %s not written: %s", shard, type(error).__name__)
                continue
            written.add(shard)
        return written

    def read(self, shard: str, read_at: datetime) -> dict[str, ItemFacts] | None:
        """The shard's items as listed at `read_at`; None when the row is missing, from another
        listing, or unreadable (the worker then lists the vault itself)."""
        try:
            entity = self._rows.table.get_entity("view", shard)
        except AzureError:
            return None
        if entity.get("read_at") != read_at.isoformat():
            return None
        pieces = sorted(key for key in entity if key.startswith("items_"))
        return decode_items(b"".join(bytes(entity[key]) for key in pieces))


def _unambiguous(items: Mapping[str, ItemFacts]) -> dict[str, ItemFacts]:
    """Jobs name their item by friendly name only when one item in the vault has it; a shard sees
    part of the vault, so a name shared across the vault is dropped here, as the whole list would."""
    names = Counter(item.friendly_name for item in items.values() if item.friendly_name)
    return {
        name: replace(item, friendly_name="") if names[item.friendly_name] > 1 else item
        for name, item in items.items()
    }
