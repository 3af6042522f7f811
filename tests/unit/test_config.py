from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shared.app.config import SECRET_FIELDS, Settings, env_name, load_settings, main, markdown_table
from shared.core.windows import WaveCutover, parse_wave_cutovers, parse_windows
from shared.errors import ConfigError
from tests.conftest import VALID_SETTINGS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(clean_settings_env):
    for name, value in VALID_SETTINGS.items():
        clean_settings_env.setenv(name, value)
    return clean_settings_env


def test_valid_settings_load_with_safe_defaults(env):
    settings = load_settings()
    assert settings.aws_accounts == ["123456789012"]
    assert settings.asr_provider == "InMageRcm"
    assert settings.tag_prefix == "azmigrate"
    assert settings.max_initial_replication == 10


def test_lists_are_comma_separated(env):
    env.setenv("AZMIGRATE_AWS_REGIONS", " us-east-1, eu-west-2 ,")
    assert load_settings().aws_regions == ["us-east-1", "eu-west-2"]


@pytest.mark.parametrize(
    "missing", ["AZMIGRATE_ASR_VAULT_NAME", "AZMIGRATE_AWS_ACCOUNTS", "AZMIGRATE_ASR_SUBSCRIPTION_ID"]
)
def test_missing_setting_is_named_with_what_it_expects(env, missing):
    env.delenv(missing)
    with pytest.raises(ConfigError) as error:
        load_settings()
    line = next(line for line in str(error.value).splitlines() if missing in line)
    assert "missing; expected" in line


def test_empty_value_counts_as_missing(env):
    env.setenv("AZMIGRATE_ASR_VAULT_NAME", "")
    with pytest.raises(ConfigError, match="AZMIGRATE_ASR_VAULT_NAME: missing"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("AZMIGRATE_AWS_ACCOUNTS", "123", "AZMIGRATE_AWS_ACCOUNTS"),
        ("AZMIGRATE_MAX_CONCURRENCY", "lots", "AZMIGRATE_MAX_CONCURRENCY"),
        ("AZMIGRATE_MAX_CONCURRENCY", "0", "greater than or equal to 1"),
        ("AZMIGRATE_ASR_PROVIDER", "VMwareCbt", "AZMIGRATE_ASR_PROVIDER"),
        ("AZMIGRATE_RECONCILE_SCHEDULE", "*/5 * * * *", "six-field NCRONTAB"),
        ("AZMIGRATE_DRY_RUN", "perhaps", "AZMIGRATE_DRY_RUN"),
        ("AZMIGRATE_APPLIANCE_ADDRESS", "fd00::10", "an IPv4 address or a DNS name"),
        ("AZMIGRATE_APPLIANCE_ADDRESS", "10.0.0.250; curl x", "an IPv4 address or a DNS name"),
        ("AZMIGRATE_TARGET_LOCATION", "West Europe", "AZMIGRATE_TARGET_LOCATION"),
        ("AZMIGRATE_SIZING_LOOKBACK_DAYS", "90", "less than or equal to 63"),
        ("AZMIGRATE_SIZING_COMFORT_FACTOR", "0.5", "greater than or equal to 1"),
        ("AZMIGRATE_SIZING_MIN_COVERAGE", "1.5", "AZMIGRATE_SIZING_MIN_COVERAGE"),
        ("AZMIGRATE_BLOCKED_RECHECK_MINUTES", "1", "greater than or equal to 5"),
        ("AZMIGRATE_ASR_ENDPOINT", "http://management.azure.com", "loopback"),
        ("AZMIGRATE_AWS_ENDPOINT_URL", "ftp://127.0.0.1", "http(s) URL"),
    ],
)
def test_malformed_setting_is_named(env, name, value, says):
    env.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert says in str(error.value)
    assert name in str(error.value)


def test_plain_http_is_allowed_only_on_loopback(env):
    env.setenv("AZMIGRATE_ASR_ENDPOINT", "http://127.0.0.1:8443/")
    assert load_settings().asr_endpoint == "http://127.0.0.1:8443"


@pytest.mark.parametrize("service", ["table", "queue"])
def test_exactly_one_storage_target(env, service: str):
    upper, url = service.upper(), f"https://acct.{service}.core.windows.net"
    env.setenv(f"AZMIGRATE_{upper}_ACCOUNT_URL", url)
    with pytest.raises(
        ConfigError, match=f"exactly one of AZMIGRATE_{upper}_CONNECTION and AZMIGRATE_{upper}_ACCOUNT_URL"
    ):
        load_settings()
    env.delenv(f"AZMIGRATE_{upper}_CONNECTION")
    assert getattr(load_settings(), f"{service}_account_url") == url


@pytest.mark.parametrize("name", ["ab", "Work", "work--queue", "-work", "work-", "w" * 57])
def test_a_work_queue_name_azure_refuses_is_refused_at_start(env, name):
    env.setenv("AZMIGRATE_WORK_QUEUE", name)
    with pytest.raises(ConfigError, match="AZMIGRATE_WORK_QUEUE"):
        load_settings()


def test_secrets_are_never_echoed(env, capsys):
    secret = "AccountKey=SuperSecretValue123"
    env.setenv("AZMIGRATE_EVENTGRID_TOPIC_KEY", secret)  # set without an endpoint: an error
    env.setenv("AZMIGRATE_TABLE_CONNECTION", secret)
    env.setenv("AZMIGRATE_AWS_ACCOUNTS", "not-an-account")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert "SuperSecretValue123" not in str(error.value)
    env.setenv("AZMIGRATE_AWS_ACCOUNTS", "123456789012")
    env.setenv(
        "AZMIGRATE_EVENTGRID_TOPIC_ENDPOINT", "https://topic.westeurope-1.eventgrid.azure.net/api/events"
    )
    settings = load_settings()
    assert "SuperSecretValue123" not in repr(settings)
    assert main(["config"]) == 0
    assert "SuperSecretValue123" not in capsys.readouterr().out


def test_check_command_exits_2_naming_the_problem(env, capsys):
    env.delenv("AZMIGRATE_AWS_REGIONS")
    assert main(["config"]) == 2
    assert "AZMIGRATE_AWS_REGIONS: missing" in capsys.readouterr().err


def test_every_setting_is_in_the_sample_settings_and_the_readme():
    sample = json.loads((REPO / "local.settings.sample.json").read_text())["Values"]
    readme = (REPO / "README.md").read_text()
    for name in Settings.model_fields:
        assert env_name(name) in sample, f"{env_name(name)} missing from local.settings.sample.json"
        assert f"`{env_name(name)}`" in readme, f"{env_name(name)} missing from the README settings table"
    documented = set(re.findall(r"`(AZMIGRATE_[A-Z_]+)`", readme))
    assert documented <= {env_name(name) for name in Settings.model_fields}, (
        "README documents a setting the app does not read"
    )
    assert markdown_table() in readme, (
        "README settings table is stale: paste `python -m shared.app.config --markdown`"
    )


def test_sample_settings_hold_no_secret_values():
    sample = json.loads((REPO / "local.settings.sample.json").read_text())["Values"]
    for name in SECRET_FIELDS:
        assert sample[env_name(name)] in {"", "UseDevelopmentStorage=true"}


def test_cutover_windows_are_checked_at_start_up(env):
    env.setenv("AZMIGRATE_CUTOVER_WINDOWS", "Sat 22:00-06:00, Funday 01:00-02:00")
    with pytest.raises(ConfigError, match="AZMIGRATE_CUTOVER_WINDOWS: 'Funday 01:00-02:00' is not a window"):
        load_settings()


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("{wave-a: auto}", "is not JSON"),
        ('["wave-a"]', "must be a JSON object"),
        ('{"wave a": {"mode": "auto"}}', "'wave a' is not a wave name"),
        ('{"wave-a": {"mode": "sometimes"}}', "mode must be auto or approval"),
        (
            '{"wave-a": {"windows": "Funday 01:00-02:00"}}',
            "wave 'wave-a': 'Funday 01:00-02:00' is not a window",
        ),
        ('{"wave-a": {"window": "Sat 01:00-02:00"}}', "mode and/or windows, nothing else"),
        ('{"wave-a": {}}', "mode and/or windows, nothing else"),
    ],
)
def test_wave_cutovers_are_checked_at_start_up(env, value, complaint):
    env.setenv("AZMIGRATE_WAVE_CUTOVERS", value)
    with pytest.raises(ConfigError, match=re.escape(complaint)):
        load_settings()


def test_wave_cutovers_are_read(env):
    env.setenv(
        "AZMIGRATE_WAVE_CUTOVERS",
        '{"wave-a": {"mode": "auto", "windows": ""}, "b": {"windows": "Sat 01:00-02:00"}}',
    )
    waves = parse_wave_cutovers(load_settings().wave_cutovers)
    assert waves["wave-a"] == WaveCutover("auto", ())
    assert waves["b"].mode is None and waves["b"].windows == parse_windows("Sat 01:00-02:00")


def test_a_role_needs_an_audience(env):
    env.setenv("AZMIGRATE_AWS_ROLE_NAME", "MigrationAutopilot")
    with pytest.raises(ConfigError, match="AZMIGRATE_AWS_WEB_IDENTITY_AUDIENCE"):
        load_settings()
    env.setenv("AZMIGRATE_AWS_WEB_IDENTITY_AUDIENCE", "api://migration-autopilot-aws")
    env.setenv("AZMIGRATE_AWS_ACCOUNTS", "123456789012,210987654321")  # one role per account
    assert load_settings().aws_role_name == "MigrationAutopilot"


CACHE = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-target/providers"


def test_inmage_rcm_refuses_to_start_without_the_log_storage_account(env):
    env.delenv("AZMIGRATE_LOG_STORAGE_ACCOUNT_ID")
    with pytest.raises(ConfigError) as error:
        load_settings()
    [line] = [line for line in str(error.value).splitlines() if "AZMIGRATE_LOG_STORAGE_ACCOUNT_ID" in line]
    assert "AZMIGRATE_LOG_STORAGE_ACCOUNT_ID: missing" in line and "InMageRcm" in line
    assert "Microsoft.Storage/storageAccounts/NAME" in line  # what it expects
    env.setenv("AZMIGRATE_LOG_STORAGE_ACCOUNT_ID", "")  # empty counts as unset
    with pytest.raises(ConfigError, match="AZMIGRATE_LOG_STORAGE_ACCOUNT_ID: missing"):
        load_settings()


def test_the_classic_provider_starts_without_the_log_storage_account(env):
    env.delenv("AZMIGRATE_LOG_STORAGE_ACCOUNT_ID")
    env.setenv("AZMIGRATE_ASR_PROVIDER", "InMageAzureV2")
    settings = load_settings()
    assert settings.log_storage_account_id is None
    assert settings.boot_diagnostics_account_id is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AZMIGRATE_LOG_STORAGE_ACCOUNT_ID", "azmigratecache"),
        ("AZMIGRATE_LOG_STORAGE_ACCOUNT_ID", f"{CACHE}/Microsoft.Network/virtualNetworks/vnet-prod"),
        ("AZMIGRATE_LOG_STORAGE_ACCOUNT_ID", f"{CACHE}/Microsoft.Storage/storageAccounts/Bad_Name!"),
        ("AZMIGRATE_LOG_STORAGE_ACCOUNT_ID", f"{CACHE}/Microsoft.Storage/storageAccounts/cache/blobServices"),
        ("AZMIGRATE_BOOT_DIAGNOSTICS_STORAGE_ACCOUNT_ID", "/subscriptions/x/resourceGroups/rg-target"),
    ],
)
def test_a_malformed_storage_account_id_is_refused_without_echoing_it(env, name, value):
    env.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert f"{name}: must be a storage account resource ID" in message
    assert value not in message


def test_the_storage_account_provider_segment_is_matched_in_any_case(env):
    lower_case = f"{CACHE}/microsoft.storage/storageaccounts/azmigratecache"
    env.setenv("AZMIGRATE_LOG_STORAGE_ACCOUNT_ID", lower_case)
    assert load_settings().log_storage_account_id == lower_case


def test_boot_diagnostics_fall_back_to_the_log_storage_account(env):
    log_account = f"{CACHE}/Microsoft.Storage/storageAccounts/azmigratecache"
    env.setenv("AZMIGRATE_LOG_STORAGE_ACCOUNT_ID", log_account)
    settings = load_settings()
    assert settings.boot_diagnostics_storage_account_id is None
    assert settings.boot_diagnostics_account_id == log_account
    boot = f"{CACHE}/Microsoft.Storage/storageAccounts/azmigratebootdiag"
    env.setenv("AZMIGRATE_BOOT_DIAGNOSTICS_STORAGE_ACCOUNT_ID", boot)
    assert load_settings().boot_diagnostics_account_id == boot
