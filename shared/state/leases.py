"""A lease one worker holds for a while so that a rare fleet-wide step (setting up the vault) is
done by one worker at a time, whatever the number of instances. Table `<prefix>Leases`: PartitionKey
`lease`, RowKey the lease's name; fields `holder` and `until` (epoch seconds). Won by inserting the
row, or by replacing an expired one by compare-and-swap."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Protocol

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.data.tables import TableServiceClient

from shared.errors import StoreUnavailable
from shared.state.table import ContendedRows


class Lease(Protocol):
    def claim(self, seconds: float) -> bool: ...


class MemoryLease:
    """Held in this process (tests, benchmarks, a reconciler built without a table)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._until, self._clock, self._lock = 0.0, clock, threading.Lock()

    @staticmethod
    def named() -> Callable[[str], Lease]:
        """A lease per name, each made on first use."""
        leases: dict[str, MemoryLease] = {}
        guard = threading.Lock()

        def lease(name: str) -> Lease:
            with guard:
                return leases.setdefault(name, MemoryLease())

        return lease

    def claim(self, seconds: float) -> bool:
        with self._lock:
            now = self._clock()
            if now < self._until:
                return False
            self._until = now + seconds
            return True


class TableLease:
    def __init__(
        self,
        service: TableServiceClient,
        table_prefix: str,
        name: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._rows = ContendedRows(service, f"{table_prefix}Leases")
        self._name, self._clock, self._holder = name, clock, uuid.uuid4().hex

    def claim(self, seconds: float) -> bool:
        """True when this worker now holds the lease for `seconds` (a holder may not claim it again
        before it expires: the step it guards is not to be repeated that soon)."""
        now = self._clock()
        row = {"PartitionKey": "lease", "RowKey": self._name, "holder": self._holder, "until": now + seconds}
        try:
            try:
                self._rows.table.create_entity(row)
                return True
            except ResourceExistsError:
                held = self._rows.table.get_entity("lease", self._name)
            if float(held.get("until", 0)) > now:
                return False
            return self._rows.replace_if_unchanged(row, str(held.metadata["etag"]))
        except AzureError as error:
            raise StoreUnavailable(f"lease {self._name} could not be claimed: {error}") from error
