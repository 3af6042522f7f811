"""Shared test helpers. Integration fixtures live in tests/integration/conftest.py."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from local.stack import Azurite, LocalService, install_documents, start_azurite, start_moto
from shared.adapters.aws import DEFAULT_DOCUMENT_PREFIX
from shared.model.records import Assessment, CheckResult, DiskPlan, MigrationRecord

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
_RG = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-target"
VALID_SETTINGS = {
    "AZMIGRATE_TABLE_CONNECTION": "UseDevelopmentStorage=true",
    "AZMIGRATE_QUEUE_CONNECTION": "UseDevelopmentStorage=true",
    "AZMIGRATE_ASR_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000001",
    "AZMIGRATE_ASR_RESOURCE_GROUP": "rg-migrate",
    "AZMIGRATE_ASR_VAULT_NAME": "demo-MigrateVault-1",
    "AZMIGRATE_AWS_ACCOUNTS": "123456789012",
    "AZMIGRATE_AWS_REGIONS": "us-east-1",
    "AZMIGRATE_TARGET_RESOURCE_GROUP_ID": f"{_RG}",
    "AZMIGRATE_TARGET_NETWORK_ID": f"{_RG}/providers/Microsoft.Network/virtualNetworks/vnet-prod",
    "AZMIGRATE_TEST_NETWORK_ID": f"{_RG}/providers/Microsoft.Network/virtualNetworks/vnet-test",
    # InMageRcm (the default provider) refuses to start without the cache storage account.
    "AZMIGRATE_LOG_STORAGE_ACCOUNT_ID": f"{_RG}/providers/Microsoft.Storage/storageAccounts/azmigratecache",
    "AZMIGRATE_APPLIANCE_ADDRESS": "10.0.0.250",
    "AZMIGRATE_AGENT_INSTALLER_LINUX": "s3://azmigrate-agents/linux/agent.tar.gz",
    "AZMIGRATE_AGENT_INSTALLER_WINDOWS": "s3://azmigrate-agents/windows/agent.exe",
}


def instance_id(n: int) -> str:
    return f"i-{n:017x}"


def record(n: int = 1, *, wave: str | None = "wave1", now: datetime = T0) -> MigrationRecord:
    return MigrationRecord.opted_in(
        instance_id=instance_id(n), account_id="123456789012", region="us-east-1", now=now, wave=wave
    )


def assessed(n: int, wave: str = "w1", **changes: object) -> MigrationRecord:
    """A record carrying a typical assessment (one blocker, one warning); `changes` edit the assessment."""
    assessment = Assessment(
        assessed_at=T0,
        guest_checked=True,
        os_name="Red Hat Enterprise Linux 9.4 (Plow)",
        checks=[
            CheckResult(code="appliance-unreachable", severity="blocker", message="m", fix="open 9443"),
            CheckResult(code="cloud-init", severity="warning", message="m", fix="f"),
        ],
        vm_name="web-1",
        vm_size="Standard_E2s_v5",
        sizing_basis="performance",
        sizing_reason="m5.2xlarge CPU p95 10% x1.3",
        like_for_like_size="Standard_D8s_v5",
        disk_type="StandardSSD_LRS",
        disks=[DiskPlan(device="/dev/xvda", size_gb=30, source_type="gp3", disk_type="StandardSSD_LRS")],
    ).evolve(**changes)
    return record(n, wave=wave).evolve(assessment=assessment)


class FakeClock:
    """The one clock the store reads, moved by the test instead of by waiting."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clean_settings_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No AZMIGRATE_* variable from the outer environment leaks into a settings test."""
    import os

    for name in list(os.environ):
        if name.startswith("AZMIGRATE_") and name != "AZMIGRATE_TEST_RUN_ID":
            monkeypatch.delenv(name)
    return monkeypatch


@cache
def app_handlers() -> dict[str, Callable[..., Any]]:
    """The app's functions by name, as the host indexes them; importing function_app needs valid settings."""
    import function_app
    from local.host import functions_of

    return {str(f.get_function_name()): f.get_user_function() for f in functions_of(function_app.app)}


def run_module(module: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m module args` from the repo root, as a user would run it; output captured."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# Session-wide stand-ins for the integration and e2e tiers: started on first use, stopped at the end.
@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    service = start_azurite()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[LocalService]:
    service = start_moto()
    install_documents(service.url, ["us-east-1"], DEFAULT_DOCUMENT_PREFIX)  # as infra/aws deploys them
    yield service
    service.stop()


# The slowest modules first (seconds of one worker each, measured on a full run): pytest-xdist's
# loadfile hands out modules in collection order, so a slow one collected last keeps one worker
# busy after the others finished. Longest first packs the three workers; the rest keep their order.
SLOWEST_FIRST = (
    "tests/chaos/test_chaos.py",  # 166 s
    "tests/e2e/test_lifecycle.py",  # 159 s
    "tests/e2e/test_hostile_input.py",  # 155 s
    "tests/integration/test_reconciler.py",  # 123 s
    "tests/e2e/test_operator_commands.py",  # 111 s
    "tests/e2e/test_steering.py",  # 62 s
    "tests/infra/test_templates.py",  # 61 s
    "tests/e2e/test_rollback.py",  # 49 s
    "tests/integration/test_demo.py",  # 46 s
    "tests/integration/test_bench_migrate.py",  # 40 s
    "tests/integration/test_pass_cost.py",  # 37 s
    "tests/e2e/test_right_sizing.py",  # 37 s
    "tests/e2e/test_transition_events.py",  # 37 s
    "tests/e2e/test_dashboard.py",  # 28 s
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: n for n, path in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))  # stable
