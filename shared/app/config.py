"""Every setting the app reads, typed and documented in one place.

Settings come from environment variables (Azure Functions app settings; locally the `Values` of
`local.settings.json`), all prefixed `AZMIGRATE_`. An empty value counts as unset. `load_settings`
fails with a `ConfigError` that names each bad setting and what it expects, and never echoes a value:
a connection string or key pasted into the wrong setting must not reach the logs.

`python -m shared.app.config` checks the current environment (exit 2 on a problem);
`python -m shared.app.config --markdown` prints the settings table kept in the README.
"""

from __future__ import annotations

import re
import sys
from typing import Annotated, Literal
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.adapters.azure_http import is_loopback
from shared.core.windows import parse_wave_cutovers, parse_windows
from shared.errors import ConfigError, InvalidInput
from shared.guest.scripts import checked_address
from shared.model.ids import AccountId, Region

ENV_PREFIX = "AZMIGRATE_"
_NCRONTAB = re.compile(r"^\S+( \S+){5}$")
_STORAGE_ACCOUNT_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage/storageAccounts/[a-z0-9]{3,24}$",
    re.IGNORECASE,
)


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _endpoint(value: str) -> str:
    """https anywhere; plain http only to a loopback stand-in (Azurite, moto, the ASR simulator)."""
    parts = urlsplit(value)
    if not parts.hostname or parts.scheme not in {"http", "https"}:
        raise ValueError("must be an absolute http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError("plain http is allowed only for a loopback stand-in; use https")
    return value.rstrip("/")


def _ncrontab(value: str) -> str:
    if not _NCRONTAB.match(value.strip()):
        raise ValueError("must be a six-field NCRONTAB expression: second minute hour day month weekday")
    return value.strip()


def _appliance(value: str) -> str:
    try:
        return checked_address(value)
    except InvalidInput:
        raise ValueError("expected an IPv4 address or a DNS name (letters, digits, dots, hyphens)") from None


def _windows(value: str) -> str:
    parse_windows(value)  # raises ValueError with the bad window named
    return value


def _wave_cutovers(value: str) -> str:
    parse_wave_cutovers(value)  # raises ValueError naming the wave and what is wrong
    return value


def _storage_account_id(value: str) -> str:
    """ARM matches resource IDs without regard to case, so the provider segment may come in any case."""
    if not _STORAGE_ACCOUNT_ID.match(value):
        raise ValueError(
            "must be a storage account resource ID: "
            "/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Storage/storageAccounts/NAME"
        )
    return value


Csv = BeforeValidator(_split_csv)
ArmId = Annotated[
    str, Field(pattern=r"^/subscriptions/[^/]+/resourceGroups/[^/]+(/providers/[^/]+(/[^/]+/[^/]+)+)?$")
]
S3Uri = Annotated[str, Field(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S+$")]
Endpoint = Annotated[str, AfterValidator(_endpoint)]
Schedule = Annotated[str, AfterValidator(_ncrontab)]
StorageAccountId = Annotated[str, AfterValidator(_storage_account_id)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore", frozen=True, validate_default=True
    )

    # State store
    table_connection: SecretStr | None = Field(
        None,
        description="Connection string of the storage account holding the state tables (local: Azurite). "
        "Secret. Set this or TABLE_ACCOUNT_URL, not both.",
    )
    table_account_url: Endpoint | None = Field(
        None,
        description="Table endpoint, e.g. https://ACCOUNT.table.core.windows.net, reached with the managed "
        "identity. Set this or TABLE_CONNECTION, not both.",
    )
    # Work queues (Azure Storage Queues): events enqueue per-VM work, timers enqueue shards, workers reconcile
    queue_connection: SecretStr | None = Field(
        None,
        description="Connection string of the storage account holding the work queues (local: Azurite). "
        "Secret. Set this or QUEUE_ACCOUNT_URL, not both. The queue triggers bind the same setting name.",
    )
    queue_account_url: Endpoint | None = Field(
        None,
        description="Queue endpoint, e.g. https://ACCOUNT.queue.core.windows.net, reached with the managed "
        "identity. Set this or QUEUE_CONNECTION, not both; the host's triggers read the same URL from "
        "AZMIGRATE_QUEUE_CONNECTION__queueServiceUri (the Bicep sets both).",
    )
    work_queue: Annotated[str, Field(pattern=r"^[a-z0-9](-?[a-z0-9]){2,55}$", max_length=56)] = Field(
        "azmigrate-work",
        description="Name of the work queue (lowercase letters, digits, single hyphens, 3-56 characters); "
        "messages that keep failing go to NAME-poison.",
    )
    managed_identity_client_id: UUID | None = Field(
        None, description="Client id of a user-assigned managed identity; empty uses the system-assigned one."
    )
    table_prefix: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9]{2,40}$")] = Field(
        "azmigrate", description="Prefix of the state tables' names (letters and digits, 3-41 characters)."
    )
    # Azure Site Recovery
    asr_subscription_id: UUID = Field(description="Subscription id of the Recovery Services vault (a GUID).")
    asr_resource_group: Annotated[str, Field(pattern=r"^[-\w._()]{1,90}$")] = Field(
        description="Resource group of the Recovery Services vault."
    )
    asr_vault_name: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{1,49}$")] = Field(
        description="Recovery Services vault of the Azure Migrate project, e.g. PROJECT-MigrateVault-123."
    )
    asr_provider: Literal["InMageRcm", "InMageAzureV2"] = Field(
        "InMageRcm",
        description="Replication provider: InMageRcm (simplified appliance) or InMageAzureV2 (classic).",
    )
    asr_endpoint: Endpoint = Field(
        "https://management.azure.com", description="Azure Resource Manager endpoint."
    )
    # AWS
    aws_accounts: Annotated[list[AccountId], NoDecode, Csv, Field(min_length=1)] = Field(
        description="Comma-separated 12-digit AWS account ids whose instances and events are accepted."
    )
    aws_regions: Annotated[list[Region], NoDecode, Csv, Field(min_length=1)] = Field(
        description="Comma-separated AWS regions whose instances and events are accepted, e.g. us-east-1."
    )
    aws_endpoint_url: Endpoint | None = Field(
        None, description="Override of the AWS endpoint (local: the moto server); empty uses AWS."
    )
    tag_prefix: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{0,30}$")] = Field(
        "azmigrate", description="Prefix of the opt-in and status tags, e.g. azmigrate:enabled."
    )
    aws_role_name: Annotated[str, Field(pattern=r"^$|^[A-Za-z0-9+=,.@_-]{1,64}$")] = Field(
        "",
        description="IAM role (infra/aws/account.yaml) the app assumes in each account with its managed "
        "identity's token (AssumeRoleWithWebIdentity); empty uses boto3's default credential chain.",
    )
    aws_web_identity_audience: Annotated[str, Field(pattern=r"^$|^[A-Za-z0-9:/._-]{1,255}$")] = Field(
        "",
        description="Audience of that token: the Application ID URI of the Entra app registration AWS "
        "trusts, e.g. api://migration-autopilot-aws. Required with AWS_ROLE_NAME.",
    )
    ssm_document_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{3,64}$")] = Field(
        "MigrationAutopilot",
        description="Prefix of our SSM documents (infra/aws/region.yaml DocumentPrefix): "
        "PREFIX-GuestChecks-Linux, PREFIX-MobilityAgent-Windows, ...",
    )
    # Where migrated VMs land
    target_resource_group_id: ArmId = Field(
        description="Resource group ID the migrated VMs land in (/subscriptions/.../resourceGroups/NAME)."
    )
    target_network_id: ArmId = Field(description="Virtual network ID the migrated VMs join.")
    target_subnet_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,80}$")] = Field(
        "default", description="Subnet of the target network."
    )
    test_network_id: ArmId = Field(description="Isolated virtual network ID for test migrations.")
    log_storage_account_id: StorageAccountId | None = Field(
        None,
        description="Resource ID of the cache storage account Site Recovery stages replication logs in "
        "(/subscriptions/.../resourceGroups/.../providers/Microsoft.Storage/storageAccounts/NAME), in the "
        "target region. Required with InMageRcm (its enable sends it as disksDefault.logStorageAccountId); "
        "optional with the classic provider.",
    )
    boot_diagnostics_storage_account_id: StorageAccountId | None = Field(
        None,
        description="Resource ID of the storage account for the migrated VMs' boot diagnostics, sent as "
        "targetBootDiagnosticsStorageAccountId on every InMageRcm enable; empty uses the log storage "
        "account.",
    )
    # The replication appliance and the Mobility agent
    appliance_address: Annotated[str, AfterValidator(_appliance)] = Field(
        description="IPv4 address or DNS name of the replication appliance the agents register with "
        "(it goes into the guest-check and install scripts, so nothing else is accepted)."
    )
    appliance_passphrase_parameter: Annotated[str, Field(pattern=r"^[/A-Za-z0-9_.-]{1,2048}$")] = Field(
        "/azmigrate/appliance-passphrase",
        description="SSM SecureString parameter the agent install reads on the instance, so the secret "
        "never passes through this app: with InMageRcm the Mobility configuration file (config.json) the "
        "simplified appliance generates; with the classic provider the appliance passphrase.",
    )
    agent_installer_linux: S3Uri = Field(
        description="s3:// URI of the Linux Mobility agent installer tarball."
    )
    agent_installer_windows: S3Uri = Field(description="s3:// URI of the Windows Mobility agent installer.")
    # Lifecycle policy
    cutover_mode: Literal["auto", "approval"] = Field(
        "approval", description="Default cutover: auto (in the window) or approval; the cutover tag wins."
    )
    cutover_windows: Annotated[str, AfterValidator(_windows)] = Field(
        "",
        description="When cutovers may run, UTC, e.g. 'Sat 22:00-06:00, Sun 22:00-06:00'; empty: any time.",
    )
    wave_cutovers: Annotated[str, AfterValidator(_wave_cutovers)] = Field(
        "",
        description="Waves with their own cutover windows and/or mode, as JSON: "
        '{"wave-a": {"mode": "auto", "windows": "Sat 22:00-06:00"}, "wave-b": {"windows": ""}} '
        '(windows "": any time). Waves not named use CUTOVER_MODE and CUTOVER_WINDOWS; an instance\'s '
        "cutover and not-before tags still win.",
    )
    discovery_timeout_seconds: Annotated[int, Field(ge=60, le=86_400)] = Field(
        3_600, description="How long after the agent install the appliance may take to see the machine."
    )
    lease_seconds: Annotated[int, Field(ge=30, le=3_600)] = Field(
        600, description="How long a started action blocks a repeat when its result was not recorded."
    )
    # Assessment and right-sizing
    dry_run: bool = Field(
        False,
        description="Assess only: discover, check and size every opted-in VM, but never install agents "
        "or enable replication. The instance's dry-run tag (true/false) wins.",
    )
    target_location: Annotated[str, Field(pattern=r"^$|^[a-z]{3,30}[0-9]?$")] = Field(
        "", description="Azure region of the target, e.g. westeurope: sizes it does not offer are skipped."
    )
    sizing_lookback_days: Annotated[int, Field(ge=1, le=63)] = Field(
        14, description="Days of CloudWatch metrics that right-sizing looks at (5-minute data lasts 63 days)."
    )
    sizing_comfort_factor: Annotated[float, Field(ge=1.0, le=3.0)] = Field(
        1.3, description="Head room multiplied onto the measured CPU and memory p95."
    )
    sizing_min_coverage: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.5,
        description="Share of the lookback the CPU metrics must cover; below it the VM is sized as on "
        "premises (like for like from its instance type).",
    )
    memory_metric_namespace: Annotated[str, Field(pattern=r"^[A-Za-z0-9/_.#:-]{1,255}$")] = Field(
        "CWAgent", description="CloudWatch namespace of the CloudWatch agent's memory metrics."
    )
    blocked_recheck_minutes: Annotated[int, Field(ge=5, le=10_080)] = Field(
        60, description="How often a VM blocked by its guest checks (e.g. closed ports) is checked again."
    )
    stall_minutes: Annotated[int, Field(ge=10, le=10_080)] = Field(
        120,
        description="Initial replication whose progress has not moved for this long gets a stall warning.",
    )
    rpo_warning_seconds: Annotated[int, Field(ge=60, le=86_400)] = Field(
        1_800, description="A replicating VM whose RPO is above this gets an RPO warning."
    )
    # Test VM validation
    test_validation_seconds: Annotated[int, Field(ge=30, le=86_400)] = Field(
        1_800,
        description="How long the test VM may take to be provisioned, running, with its VM agent Ready, "
        "a clean boot log and the smoke command passed; then the test migration counts as failed.",
    )
    smoke_command: Annotated[str, Field(max_length=1_000)] = Field(
        "",
        description="A command run inside every test VM with Run Command (e.g. 'systemctl is-active nginx' "
        "or 'curl -fsS http://localhost/health'); exit code 0 passes. Empty: none. The instance's "
        "azmigrate:smoke-test tag wins.",
    )
    # The replication policy and container mapping a new project gets (vault bootstrap)
    policy_history_minutes: Annotated[int, Field(ge=0, le=21_600)] = Field(
        1_440,
        description="Recovery point retention of the replication policy the app creates when the vault "
        "has none (InMageRcm: recoveryPointHistoryInMinutes; classic: recoveryPointHistory).",
    )
    policy_crash_consistent_minutes: Annotated[int, Field(ge=0, le=720)] = Field(
        5, description="Crash-consistent snapshot frequency of the policy the app creates."
    )
    policy_app_consistent_minutes: Annotated[int, Field(ge=0, le=720)] = Field(
        0, description="App-consistent snapshot frequency of the policy the app creates; 0: none."
    )
    policy_multi_vm_sync: bool = Field(
        True, description="Multi-VM consistency of the policy the app creates."
    )
    agent_auto_upgrade: bool = Field(
        True,
        description="Whether the container mapping the app creates lets Site Recovery upgrade the "
        "Mobility agent (InMageRcm's enableAgentAutoUpgrade).",
    )
    # Schedules (NCRONTAB, read by the Functions host through %AZMIGRATE_...% binding expressions)
    job_watch_schedule: Schedule = Field("0 */1 * * * *", description="When the ASR job watcher runs.")
    reconcile_schedule: Schedule = Field(
        "0 */5 * * * *", description="When every in-flight VM is reconciled."
    )
    nightly_schedule: Schedule = Field(
        "0 0 1 * * *", description="When the nightly batch discovers, admits and cuts over (UTC)."
    )
    # Concurrency, capacity and rate limits
    max_concurrency: Annotated[int, Field(ge=1, le=64)] = Field(
        8, description="VMs acted on at once within one reconcile pass."
    )
    max_initial_replication: Annotated[int, Field(ge=1, le=1000)] = Field(
        10, description="VMs in initial replication at once (protects the replication appliance)."
    )
    arm_writes_per_second: Annotated[float, Field(gt=0, le=10)] = Field(
        5.0, description="Ceiling on ARM write calls per second (ARM refills 10/s per subscription)."
    )
    aws_calls_per_second: Annotated[float, Field(gt=0, le=100)] = Field(
        5.0, description="Ceiling on mutating AWS calls per second per account and region."
    )
    retry_limit: Annotated[int, Field(ge=0, le=20)] = Field(
        3, description="Attempts of one failed step before the VM is marked failed."
    )
    retry_backoff_seconds: Annotated[int, Field(ge=1, le=86_400)] = Field(
        300, description="First retry delay of a failed step; doubles each attempt."
    )
    # Events out
    eventgrid_topic_endpoint: Endpoint | None = Field(
        None, description="Event Grid topic that receives ASR job and transition events; empty disables."
    )
    eventgrid_topic_key: SecretStr | None = Field(
        None, description="Access key of that topic. Secret. Empty uses the managed identity."
    )
    event_type_prefix: Annotated[
        str, Field(pattern=r"^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$", max_length=100)
    ] = Field(
        "com.migrationautopilot",
        description="Reverse-DNS prefix of the transition events' CloudEvents types, "
        "e.g. com.contoso.migration gives com.contoso.migration.phase.changed.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="App log level.")

    @model_validator(mode="after")
    def _role_needs_an_audience(self) -> Settings:
        if self.aws_role_name and not self.aws_web_identity_audience:
            raise ValueError(
                f"{ENV_PREFIX}AWS_ROLE_NAME needs {ENV_PREFIX}AWS_WEB_IDENTITY_AUDIENCE (the token audience)"
            )
        return self

    @model_validator(mode="after")
    def _rcm_needs_a_log_account(self) -> Settings:
        if self.asr_provider == "InMageRcm" and self.log_storage_account_id is None:
            expected = type(self).model_fields["log_storage_account_id"].description
            raise ValueError(
                f"{ENV_PREFIX}LOG_STORAGE_ACCOUNT_ID: missing, and {ENV_PREFIX}ASR_PROVIDER InMageRcm "
                f"needs it; expected {expected}"
            )
        return self

    @model_validator(mode="after")
    def _one_table_target(self) -> Settings:
        if (self.table_connection is None) == (self.table_account_url is None):
            raise ValueError(
                f"set exactly one of {ENV_PREFIX}TABLE_CONNECTION and {ENV_PREFIX}TABLE_ACCOUNT_URL"
            )
        if (self.queue_connection is None) == (self.queue_account_url is None):
            raise ValueError(
                f"set exactly one of {ENV_PREFIX}QUEUE_CONNECTION and {ENV_PREFIX}QUEUE_ACCOUNT_URL"
            )
        if self.eventgrid_topic_key is not None and self.eventgrid_topic_endpoint is None:
            raise ValueError(
                f"{ENV_PREFIX}EVENTGRID_TOPIC_KEY is set without {ENV_PREFIX}EVENTGRID_TOPIC_ENDPOINT"
            )
        return self

    @property
    def asr_vault_id(self) -> str:
        """The vault's ARM id: the job events' source, and the scope alerts must target."""
        return (
            f"/subscriptions/{self.asr_subscription_id}/resourceGroups/{self.asr_resource_group}"
            f"/providers/Microsoft.RecoveryServices/vaults/{self.asr_vault_name}"
        )

    @property
    def boot_diagnostics_account_id(self) -> str | None:
        """Where the migrated VMs' boot diagnostics go: the setting, or else the log storage account."""
        return self.boot_diagnostics_storage_account_id or self.log_storage_account_id


SECRET_FIELDS = frozenset({"table_connection", "queue_connection", "eventgrid_topic_key"})
# Optional in the model, required by a rule across settings: the README's "required" column says when.
REQUIRED_WHEN = {"log_storage_account_id": "with InMageRcm"}


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def load_settings() -> Settings:
    """Read and check every setting now, so a bad one stops start-up instead of a later invocation."""
    try:
        return Settings()  # required fields come from the environment
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None


def _describe(error: ValidationError) -> str:
    fields = Settings.model_fields
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        name = str(problem["loc"][0]) if problem["loc"] else ""
        if name not in fields:  # a rule across settings: its message already names them
            lines.append(f"  {problem['msg'].removeprefix('Value error, ')}")
            continue
        expected = fields[name].description or ""
        if problem["type"] == "missing":
            lines.append(f"  {env_name(name)}: missing; expected {expected}")
        elif name in SECRET_FIELDS:
            lines.append(f"  {env_name(name)}: malformed (value not shown); expected {expected}")
        else:
            detail = problem["msg"].removeprefix("Value error, ")
            lines.append(f"  {env_name(name)}: {detail}; expected {expected}")
    return f"{len(lines)} setting problem(s):\n" + "\n".join(lines)


def markdown_table() -> str:
    rows = ["| setting | required | default | meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        required = "yes" if field.is_required() else REQUIRED_WHEN.get(name, "no")
        default = "" if field.is_required() or field.default is None else f"`{field.default}`"
        rows.append(f"| `{env_name(name)}` | {required} | {default} | {field.description} |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    if argv[1:] == ["--markdown"]:
        print(markdown_table())
        return 0
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    for name, value in settings.model_dump().items():
        print(f"{env_name(name)}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
