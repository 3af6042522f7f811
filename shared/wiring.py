"""Builds the app's long-lived clients from settings, once per worker process.

Triggers call these instead of constructing clients, so every invocation shares connections and
reads settings that were already checked at start-up.
"""

from __future__ import annotations

from functools import cache

from azure.identity import DefaultAzureCredential

from shared.config import Settings, load_settings
from shared.store import StateStore, open_table_service


@cache
def settings() -> Settings:
    return load_settings()


@cache
def state_store() -> StateStore:
    config = settings()
    if config.table_connection is not None:
        service = open_table_service(connection=config.table_connection.get_secret_value(), account_url=None)
    else:
        client_id = str(config.managed_identity_client_id) if config.managed_identity_client_id else None
        credential = DefaultAzureCredential(managed_identity_client_id=client_id)
        service = open_table_service(
            connection=None, account_url=config.table_account_url, credential=credential
        )
    store = StateStore(service, config.table_prefix)
    store.ensure_tables()
    return store
