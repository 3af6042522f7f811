"""An estate whose store holds given records and nothing works its queue: what the API, the CLI and
the dashboard show, and what commands write, without migrating anything."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from datetime import datetime

from local.estate import ACCOUNT, REGION, Estate, running_estate
from local.stack import Azurite, LocalService
from shared.model.records import MigrationRecord
from shared.state.table import TableStateStore, open_table_service


@contextlib.contextmanager
def seeded_estate(
    azurite: Azurite, moto: LocalService, records: Callable[[datetime], list[MigrationRecord]]
) -> Iterator[Estate]:
    """`records(now)`: what the store holds when the host starts (no instance exists for them)."""
    with running_estate(azurite, moto, queues=False) as running:
        store = TableStateStore(
            open_table_service(connection=azurite.connection_string, account_url=None),
            os.environ["AZMIGRATE_TABLE_PREFIX"],
        )
        store.ensure_tables()
        for record in records(datetime.now().astimezone()):
            store.create(record)
        yield running


def opted_in(instance_id: str, now: datetime, wave: str | None) -> MigrationRecord:
    return MigrationRecord.opted_in(
        instance_id=instance_id, account_id=ACCOUNT, region=REGION, now=now, wave=wave
    )
