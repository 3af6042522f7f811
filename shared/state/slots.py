"""Replication slots on the appliance, held as Table rows so that concurrent passes on any number of
instances never admit more VMs to initial replication than `AZMIGRATE_MAX_INITIAL_REPLICATION`.

A pass counts the fleet's replicating VMs and picks whom to admit; each admission must then claim a
slot row by compare-and-swap. A slot is free when it was never used, or when its holder neither
replicates nor waits to start (queued, its claim younger than `hold_seconds`: time for the admitted
VM to enter enabling).
Table `<prefix>Slots`: PartitionKey the slot set's name, RowKey `slot-NNNN`; fields `holder`
(instance id) and `claimed_at` (epoch seconds).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Collection

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.data.tables import TableEntity, TableServiceClient

from shared.errors import StoreUnavailable
from shared.state.table import ContendedRows


class TableSlots:
    def __init__(
        self,
        service: TableServiceClient,
        table_prefix: str,
        name: str,
        capacity: int,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name, self.capacity, self._clock = name, capacity, clock
        self._rows = ContendedRows(service, f"{table_prefix}Slots")

    def claim(
        self, instance_id: str, busy: Collection[str], starting: Collection[str] = (), *, hold_seconds: float
    ) -> bool:
        """A slot for `instance_id` (True when it holds one already or won a free one). `busy` are
        the VMs replicating now, whose slots are taken whatever their age; `starting` the VMs queued,
        whose fresh claims (admitted, about to enable) are taken too."""
        try:
            rows = {str(e["RowKey"]): e for e in self._stored()}
            if any(e.get("holder") == instance_id for e in rows.values()):
                return True
            now = self._clock()
            for index in range(self.capacity):
                key = f"slot-{index:04d}"
                entity = rows.get(key)
                claim = {"PartitionKey": self.name, "RowKey": key, "holder": instance_id, "claimed_at": now}
                if entity is None:
                    with contextlib.suppress(ResourceExistsError):
                        self._rows.table.create_entity(claim)
                        return True
                    continue
                holder, since = str(entity.get("holder", "")), float(entity.get("claimed_at", 0))
                if holder in busy or (holder in starting and now - since < hold_seconds):
                    continue
                if self._rows.replace_if_unchanged(claim, str(entity.metadata["etag"])):  # or another won
                    return True
            return False
        except AzureError as error:
            raise StoreUnavailable(f"replication slots could not be claimed: {error}") from error

    def holders(self) -> dict[str, str]:
        """Slot -> holder, as stored (for operators and tests)."""
        try:
            return {str(e["RowKey"]): str(e.get("holder", "")) for e in self._stored()}
        except AzureError as error:
            raise StoreUnavailable(f"replication slots could not be read: {error}") from error

    def _stored(self) -> list[TableEntity]:
        query = "PartitionKey eq @name"
        return list(self._rows.table.query_entities(query, parameters={"name": self.name}))
