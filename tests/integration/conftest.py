"""Session-wide stand-ins (started once, stopped at the end) and a fresh store per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from local.stack import Azurite, LocalService, start_azurite, start_moto
from shared.store import StateStore, open_table_service
from tests.conftest import FakeClock


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    service = start_azurite()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[LocalService]:
    service = start_moto()
    yield service
    service.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(azurite: Azurite, clock: FakeClock) -> Iterator[StateStore]:
    """Each test gets its own tables (a unique prefix), so tests never see each other's records."""
    service = open_table_service(connection=azurite.connection_string, account_url=None)
    state = StateStore(service, f"t{uuid.uuid4().hex[:12]}", clock=clock)
    state.ensure_tables()
    yield state
    state.close()
