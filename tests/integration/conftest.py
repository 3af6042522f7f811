"""Session-wide stand-ins (started once, stopped at the end) and a fresh store per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient

from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Vault
from local.asr_simulator.model import CLASSIC, RCM
from local.asr_simulator.server import Simulator
from local.stack import Azurite
from shared.state.table import TableStateStore, open_table_service
from tests.conftest import FakeClock
from tests.integration.asr_support import RG, SUB, VAULT, sdk_client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(table_store: TableStateStore) -> TableStateStore:
    return table_store


@pytest.fixture
def table_store(azurite: Azurite, clock: FakeClock) -> Iterator[TableStateStore]:
    """Each test gets its own tables (a unique prefix), so tests never see each other's records."""
    service = open_table_service(connection=azurite.connection_string, account_url=None)
    state = TableStateStore(service, f"t{uuid.uuid4().hex[:12]}", clock=clock)
    state.ensure_tables()
    yield state
    state.close()


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    """A vault with both providers on a frozen clock (tests move it), without ARM throttling."""
    vault = Vault(
        SUB, RG, VAULT, SimClock(scale=0), providers=(RCM, CLASSIC), job_seconds=30, bandwidth_mb_per_s=100
    )
    sim = Simulator(vault, page_size=100, retry_after=0, limits=None).start()
    yield sim
    sim.stop()


@pytest.fixture
def client(simulator: Simulator) -> Iterator[SiteRecoveryManagementClient]:
    sdk = sdk_client(simulator, retry_backoff_factor=0.01)
    yield sdk
    sdk.close()
