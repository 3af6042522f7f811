"""Azure VM names held one per instance, so two instances never get the same name (two EC2 instances
may share a Name tag; two Azure VMs in one resource group may not).

The first instance to claim a name keeps it. Another that derives the same name gets it with a
stable suffix from its instance id (`web-89abcdef0`), and its assessment says so. A claim is an
insert that fails when the row exists, so concurrent workers cannot both win one name.
Table `<prefix>Names`: PartitionKey `vm-name`, RowKey the name in lower case (Azure's names are
case-insensitive); field `holder` (the instance id). Claims are kept after a migration: the Azure VM
still has the name.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.data.tables import TableServiceClient

from shared.errors import StoreUnavailable
from shared.state.table import ContendedRows

PARTITION = "vm-name"
MAX_NAME = 63  # Azure VM names (Linux; Windows computer names are cut to 15 by the guest, not here)


@dataclass(frozen=True)
class ClaimedName:
    name: str
    taken_by: str = ""  # the instance holding the name this one derived ("" = it got its own)


class NameClaims(Protocol):
    def claim(self, instance_id: str, derived: str) -> ClaimedName: ...


def candidates(instance_id: str, derived: str) -> list[str]:
    """The names tried in order: as derived, then with the id's last 8 hex digits, then the whole id
    (unique: instance ids are)."""
    digits = instance_id.removeprefix("i-")
    short, whole = f"-{digits[-8:]}", f"-{digits}"
    return [
        derived,
        f"{derived[: MAX_NAME - len(short)].rstrip('-')}{short}",
        f"{derived[: MAX_NAME - len(whole)].rstrip('-')}{whole}",
    ]


def first_free(instance_id: str, derived: str, take: Callable[[str], str]) -> ClaimedName:
    """The first candidate `take` grants (it answers the holder of a name after trying to claim it)."""
    names = candidates(instance_id, derived)
    first_holder = ""
    for name in names:
        holder = take(name)
        if holder == instance_id:
            return ClaimedName(name, first_holder)
        first_holder = first_holder or holder
    raise StoreUnavailable(f"no free Azure VM name for {instance_id} from {derived!r}")


class MemoryNames:
    """Claims held in this process (tests, benchmarks, a reconciler built without a table)."""

    def __init__(self) -> None:
        self._holders: dict[str, str] = {}
        self._lock = threading.Lock()

    def claim(self, instance_id: str, derived: str) -> ClaimedName:
        with self._lock:
            return first_free(
                instance_id, derived, lambda name: self._holders.setdefault(name.lower(), instance_id)
            )


class TableNames:
    def __init__(self, service: TableServiceClient, table_prefix: str) -> None:
        self._rows = ContendedRows(service, f"{table_prefix}Names")
        self._held: dict[tuple[str, str], ClaimedName] = {}  # this process's answers: claims stay

    def claim(self, instance_id: str, derived: str) -> ClaimedName:
        known = self._held.get((instance_id, derived))
        if known is not None:
            return known
        try:
            claimed = first_free(instance_id, derived, lambda name: self._take(instance_id, name))
        except AzureError as error:
            raise StoreUnavailable(f"Azure VM names could not be claimed: {error}") from error
        self._held[(instance_id, derived)] = claimed
        return claimed

    def _take(self, instance_id: str, name: str) -> str:
        try:
            row = {"PartitionKey": PARTITION, "RowKey": name.lower(), "holder": instance_id}
            self._rows.table.create_entity(row)
        except ResourceExistsError:
            return str(self._rows.table.get_entity(PARTITION, name.lower()).get("holder", ""))
        return instance_id
