"""Builds the app's long-lived clients from settings, once per worker process.

Triggers call these instead of constructing clients, so every invocation shares connections and
reads settings that were already checked at start-up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import boto3
from azure.core.credentials import AccessToken, AzureKeyCredential, TokenCredential
from azure.data.tables import TableServiceClient
from azure.identity import DefaultAzureCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient

from shared.adapters.asr import AsrAdapter, ReplicationSettings
from shared.adapters.aws import AwsAdapter, ClientFactory
from shared.adapters.aws_fleet import AwsFleet, MetricsFleet
from shared.adapters.aws_identity import default_session, role_arn, web_identity_session
from shared.adapters.azure_http import LoopbackHttpPolicy, ThrottleReport, is_loopback
from shared.adapters.cloudwatch import MetricsAdapter
from shared.adapters.compute import ComputeAdapter
from shared.adapters.eventgrid import EventGridTopic
from shared.adapters.queue import WorkQueue, open_queue_service
from shared.adapters.ratelimit import Pacer
from shared.app.config import Settings, load_settings
from shared.commands import Commands, EventsOut
from shared.core.windows import parse_wave_cutovers, parse_windows
from shared.guest.documents import AgentInstall
from shared.model.clock import utc_now
from shared.model.facts import Policy
from shared.model.work import WorkItem
from shared.reconcile.jobwatch import EVENT_TYPE, JobChange
from shared.reconcile.reconciler import Reconciler, Targets
from shared.state.budget import TableBudget
from shared.state.leases import TableLease
from shared.state.names import TableNames
from shared.state.slots import TableSlots
from shared.state.store import StateStore
from shared.state.table import TableStateStore, open_table_service
from shared.state.vault_view import VaultView


@cache
def settings() -> Settings:
    return load_settings()


@cache
def table_service() -> TableServiceClient:
    config = settings()
    if config.table_connection is not None:
        return open_table_service(connection=config.table_connection.get_secret_value(), account_url=None)
    return open_table_service(connection=None, account_url=config.table_account_url, credential=identity())


@cache
def state_store() -> StateStore:
    store = TableStateStore(table_service(), settings().table_prefix)
    store.ensure_tables()
    return store


@cache
def work_queue() -> WorkQueue:
    config = settings()
    connection = config.queue_connection.get_secret_value() if config.queue_connection else None
    credential = identity() if connection is None else None
    service = open_queue_service(
        connection=connection, account_url=config.queue_account_url, credential=credential
    )
    queue = WorkQueue(service, config.work_queue)
    queue.ensure()
    return queue


@cache
def identity() -> TokenCredential:
    config = settings()
    client_id = str(config.managed_identity_client_id) if config.managed_identity_client_id else None
    return DefaultAzureCredential(managed_identity_client_id=client_id)


class LoopbackToken:
    """For a Site Recovery stand-in on loopback, which checks no token: no identity is asked for one."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("loopback-stand-in", 4_102_444_800)


def arm_credential(config: Settings) -> TokenCredential:
    """The managed identity; a stand-in token for a loopback stand-in."""
    loopback = is_loopback(urlsplit(config.asr_endpoint).hostname or "")
    return LoopbackToken() if loopback else identity()


def arm_pipeline(config: Settings) -> dict[str, Any]:
    """What every ARM client shares: the endpoint, the loopback policy, and 429s reported to the
    fleet's ARM write budget."""
    return {
        "base_url": config.asr_endpoint,
        "per_call_policies": [LoopbackHttpPolicy()],
        "per_retry_policies": [ThrottleReport(lambda seconds: arm_writes().hold(seconds))],
    }


@cache
def asr_adapter() -> AsrAdapter:
    config = settings()
    client = SiteRecoveryManagementClient(
        arm_credential(config), str(config.asr_subscription_id), **arm_pipeline(config)
    )
    return AsrAdapter(client, config.asr_resource_group, config.asr_vault_name, config.asr_provider)


@cache
def compute_adapter() -> ComputeAdapter:
    """The target subscription's Compute (the test VMs), on the ARM endpoint Site Recovery uses."""
    config = settings()
    subscription = config.target_resource_group_id.split("/")[2]
    return ComputeAdapter(
        ComputeManagementClient(arm_credential(config), subscription, **arm_pipeline(config))
    )


def aws_session(config: Settings, account: str | None) -> boto3.session.Session:
    """With a role: that account's role credentials, assumed with the managed identity's token (no
    AWS keys). Without (account None): boto3's default chain (local development, the moto stand-in)."""
    if account is None:
        return default_session()
    scope = f"{config.aws_web_identity_audience}/.default"
    credential = identity()
    return web_identity_session(
        role_arn(account, config.aws_role_name),
        lambda: credential.get_token(scope).token,
        region=config.aws_regions[0],
        sts_endpoint_url=config.aws_endpoint_url,
    )


def _client_factory(session: boto3.session.Session, endpoint_url: str | None) -> ClientFactory:
    clients: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()

    def client(service: str, region: str) -> Any:
        with lock:  # boto3 clients are thread-safe once made; making them is not
            if (service, region) not in clients:
                clients[(service, region)] = session.client(
                    service, region_name=region, endpoint_url=endpoint_url
                )
            return clients[(service, region)]

    return client


@cache
def aws_clients() -> dict[str | None, ClientFactory]:
    """Clients per account (with a role), or one set for every account (key None)."""
    config = settings()
    accounts: list[str | None] = list(config.aws_accounts) if config.aws_role_name else [None]
    return {a: _client_factory(aws_session(config, a), config.aws_endpoint_url) for a in accounts}


@cache
def aws_adapter() -> AwsFleet:
    config = settings()
    return AwsFleet(
        {
            account: AwsAdapter(
                clients, config.aws_regions, config.tag_prefix, document_prefix=config.ssm_document_prefix
            )
            for account, clients in aws_clients().items()
        }
    )


@cache
def metrics_adapter() -> MetricsFleet:
    config = settings()
    lookback = timedelta(days=config.sizing_lookback_days)
    return MetricsFleet(
        {
            account: MetricsAdapter(
                clients, memory_namespace=config.memory_metric_namespace, lookback=lookback
            )
            for account, clients in aws_clients().items()
        }
    )


@cache
def reconciler() -> Reconciler:
    config = settings()
    return Reconciler(
        state_store(),
        aws_adapter(),
        asr_adapter(),
        policy=Policy(
            cutover_mode=config.cutover_mode,
            retry_limit=config.retry_limit,
            backoff_seconds=config.retry_backoff_seconds,
            lease_seconds=config.lease_seconds,
            discovery_timeout_seconds=config.discovery_timeout_seconds,
            dry_run=config.dry_run,
            blocked_recheck_seconds=config.blocked_recheck_minutes * 60,
            stall_seconds=config.stall_minutes * 60,
            rpo_warning_seconds=config.rpo_warning_seconds,
            comfort_factor=config.sizing_comfort_factor,
            min_metric_coverage=config.sizing_min_coverage,
            target_location=config.target_location,
            smoke_command=config.smoke_command,
            validation_seconds=config.test_validation_seconds,
        ),
        targets=Targets(
            config.target_resource_group_id,
            config.target_network_id,
            config.target_subnet_name,
            config.test_network_id,
            config.log_storage_account_id,
            config.boot_diagnostics_account_id,
        ),
        install=AgentInstall(
            config.appliance_address,
            config.appliance_passphrase_parameter,
            config.agent_installer_linux,
            config.agent_installer_windows,
            "CSPrime" if config.asr_provider == "InMageRcm" else "CSLegacy",
        ),
        capacity=config.max_initial_replication,
        concurrency=config.max_concurrency,
        arm_writes=arm_writes(),
        aws_writes=aws_writes(),
        windows=parse_windows(config.cutover_windows),
        waves=parse_wave_cutovers(config.wave_cutovers),
        replication=ReplicationSettings(
            history_minutes=config.policy_history_minutes,
            crash_consistent_minutes=config.policy_crash_consistent_minutes,
            app_consistent_minutes=config.policy_app_consistent_minutes,
            multi_vm_sync=config.policy_multi_vm_sync,
            agent_auto_upgrade=config.agent_auto_upgrade,
        ),
        metrics=metrics_adapter(),
        clock=utc_now,
        commands=commands(),
        slots=TableSlots(table_service(), config.table_prefix, "replication", config.max_initial_replication),
        vault_view=VaultView(table_service(), config.table_prefix),
        names=TableNames(table_service(), config.table_prefix),
        compute=compute_adapter(),
        setup_lease=lambda step: TableLease(table_service(), config.table_prefix, f"vault-setup-{step}"),
    )


@cache
def commands() -> Commands:
    """The one write path, shared by the reconciler and every other writer; status tags are paced
    with the AWS calls."""
    topic = event_topic()
    events = EventsOut(settings().event_type_prefix, topic.publish) if topic is not None else None
    return Commands(
        state_store(),
        clock=utc_now,
        status=aws_adapter().set_status,
        status_writes=aws_writes(),
        events=events,
    )


@cache
def arm_writes() -> Pacer:
    """ARM writes per subscription, shared by every instance of the app (one Table row)."""
    return _budget("armWrites", settings().arm_writes_per_second)


@cache
def aws_writes() -> Pacer:
    """Mutating AWS calls per account and region, shared by every instance of the app."""
    return _budget("awsMutations", settings().aws_calls_per_second)


def _budget(name: str, per_second: float) -> TableBudget:
    return TableBudget(table_service(), settings().table_prefix, name, per_second)


@cache
def event_topic() -> EventGridTopic | None:
    """The Event Grid topic for job and transition events; None when none is set."""
    config = settings()
    if config.eventgrid_topic_endpoint is None:
        return None
    key = config.eventgrid_topic_key
    credential = AzureKeyCredential(key.get_secret_value()) if key is not None else identity()
    return EventGridTopic(config.eventgrid_topic_endpoint, credential, config.asr_vault_id)


@cache
def job_publisher() -> Callable[[list[JobChange]], None]:
    """Where job changes go: the Event Grid topic when one is set, else work for those VMs."""
    config = settings()
    if config.eventgrid_topic_endpoint is None:

        def queue_work(changes: list[JobChange]) -> None:
            affected = [c.instance_id for c in changes if c.instance_id]
            work_queue().send(WorkItem.for_vms(affected, "ASR job changed"))

        return queue_work
    topic = event_topic()
    assert topic is not None

    def publish(changes: list[JobChange]) -> None:
        topic.send(EVENT_TYPE, [(c.item_name, dict(c.as_event_data())) for c in changes])

    return publish


def clear_caches() -> None:
    """Forget every wired object, so the next call reads the settings again (a local host restarting).
    Every cached function of this module, found rather than listed: a new one cannot be forgotten
    (event_topic was, and an estate published to the host of the one before)."""
    for value in list(globals().values()):
        if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", "") == __name__:
            value.cache_clear()
