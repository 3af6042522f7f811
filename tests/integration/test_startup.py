"""Start-up as the Functions host does it: importing function_app in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import VALID_SETTINGS

REPO = Path(__file__).resolve().parents[2]
IMPORT_APP = (
    "import function_app; print(sorted(f.get_function_name() for f in function_app.app.get_functions()))"
)


def run(code: str, settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AZMIGRATE_") or k == "AZMIGRATE_TEST_RUN_ID"
    }
    env.update(settings)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_app_starts_and_registers_its_functions_with_valid_settings():
    result = run(IMPORT_APP, VALID_SETTINGS)
    assert result.returncode == 0, result.stderr
    assert "fleet_status" in result.stdout and "migration_status" in result.stdout


@pytest.mark.parametrize(
    "missing",
    [
        "AZMIGRATE_ASR_RESOURCE_GROUP",
        "AZMIGRATE_AWS_REGIONS",
        "AZMIGRATE_LOG_STORAGE_ACCOUNT_ID",  # required with InMageRcm, the default provider
    ],
)
def test_start_up_with_a_missing_setting_fails_naming_it(missing):
    settings = {k: v for k, v in VALID_SETTINGS.items() if k != missing}
    result = run(IMPORT_APP, settings)
    assert result.returncode != 0
    assert f"{missing}: missing" in result.stderr


def test_config_check_command_exits_2_with_a_clean_message():
    settings = {k: v for k, v in VALID_SETTINGS.items() if k != "AZMIGRATE_ASR_VAULT_NAME"}
    result = run("import sys; from shared.app.config import main; sys.exit(main(['x']))", settings)
    assert result.returncode == 2
    assert result.stderr.startswith("Configuration error: 1 setting problem(s):")
    assert "AZMIGRATE_ASR_VAULT_NAME: missing" in result.stderr
    assert "Traceback" not in result.stderr
