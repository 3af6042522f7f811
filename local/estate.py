"""A whole local estate around Azurite and moto: the Site Recovery simulator bridged to moto, and the app
in the local Functions host, configured through its real settings. Used by the demo and e2e tests.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from local.asr_simulator.bridge import MotoBridge, appliance_config
from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Vault
from local.asr_simulator.model import CLASSIC, RCM
from local.asr_simulator.server import Simulator
from local.front_end import BODY_TIMEOUT_SECONDS, HostKeys
from local.host import LocalHost
from local.queue_host import QueueSettings, queue_client, wait_until_empty
from local.stack import Azurite, LocalService, aws_client, free_port, install_documents
from shared.adapters.aws import DEFAULT_DOCUMENT_PREFIX

ACCOUNT, REGION = "123456789012", "us-east-1"  # moto's default account
SUB, RG, VAULT = "00000000-0000-0000-0000-000000000001", "rg-migrate", "demo-MigrateVault-1"
APPLIANCE, PASSPHRASE_PARAMETER = "10.0.0.250", "/azmigrate/appliance-passphrase"


@dataclass
class Estate:
    sim: Simulator
    bridge: MotoBridge
    host: LocalHost
    keys: HostKeys
    moto: LocalService
    saved: dict[str, str | None] = field(default_factory=dict)  # the process's settings, put back after

    def reconfigure(self, **settings: str) -> None:
        """Changes app settings as an operator would (in Azure a settings change restarts the app):
        the next call reads them."""
        from shared.app import wiring  # noqa: PLC0415 - as running_estate

        for name, value in settings.items():
            self.saved.setdefault(name, os.environ.get(name))
            os.environ[name] = value
        wiring.clear_caches()

    def post(self, path: str, body: bytes = b"", *, key: str | None = None) -> tuple[int, Any]:
        """POSTs with the key of the route's role (`key` sends that one instead)."""
        key = key or self.keys.for_call("POST", path)
        headers = {"Content-Type": "application/json", "x-functions-key": key}
        request = urllib.request.Request(f"{self.host.url}{path}", data=body, method="POST", headers=headers)
        return _call(request)

    def get(self, path: str) -> tuple[int, Any]:
        headers = {"x-functions-key": self.keys.for_call("GET", path)}
        return _call(urllib.request.Request(f"{self.host.url}{path}", headers=headers))

    def record(self, instance_id: str) -> dict[str, Any]:
        status, body = self.get(f"/api/migrations/{instance_id}")
        if status != 200:
            raise LookupError(f"no record for {instance_id} ({status})")
        return dict(body["record"])

    def run_timer(self, name: str = "reconcile_timer", *, settle: bool = True) -> None:
        """Runs a timer function; with `settle`, also waits until the work it queued is done."""
        status, _ = self.post(f"/admin/functions/{name}")
        if status != 202:
            raise RuntimeError(f"timer {name} answered {status}")
        if settle:
            self.settle()

    def settle(self, timeout: float = 120.0) -> None:
        """Waits until the work queue and its poison queue are empty: every message queued so far
        worked, or poisoned and noted on its VMs."""
        wait_until_empty([self.work, self.poison], timeout)

    def queued(self) -> list[dict[str, Any]]:
        """The work items waiting on the work queue (peeked, not taken; base64 JSON, as the app sends);
        none before the queue exists."""
        try:
            messages = self.work.peek_messages(32)
        except ResourceNotFoundError:
            return []
        return [json.loads(base64.b64decode(m.content)) for m in messages]

    @property
    def work(self) -> QueueClient:
        return queue_client("AZMIGRATE_QUEUE_CONNECTION", os.environ["AZMIGRATE_WORK_QUEUE"])

    @property
    def poison(self) -> QueueClient:
        return queue_client("AZMIGRATE_QUEUE_CONNECTION", os.environ["AZMIGRATE_WORK_QUEUE"] + "-poison")


def _call(request: urllib.request.Request) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            data = response.read()
            return int(response.status), json.loads(data) if data else None
    except urllib.error.HTTPError as error:
        data = error.read()
        return int(error.code), json.loads(data) if data else None


def app_settings(azurite: Azurite, moto: LocalService, sim: Simulator) -> dict[str, str]:
    target_rg = f"/subscriptions/{SUB}/resourceGroups/rg-migrated"
    network = f"/subscriptions/{SUB}/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks"
    cache_account = f"{target_rg}/providers/Microsoft.Storage/storageAccounts/azmigratecache"
    return {
        "AZMIGRATE_TABLE_CONNECTION": azurite.connection_string,
        "AZMIGRATE_TABLE_PREFIX": f"est{uuid.uuid4().hex[:10]}",
        "AZMIGRATE_QUEUE_CONNECTION": azurite.connection_string,
        "AZMIGRATE_WORK_QUEUE": f"work-{uuid.uuid4().hex[:12]}",
        "AZMIGRATE_ASR_SUBSCRIPTION_ID": SUB,
        "AZMIGRATE_ASR_RESOURCE_GROUP": RG,
        "AZMIGRATE_ASR_VAULT_NAME": VAULT,
        "AZMIGRATE_ASR_ENDPOINT": sim.url,
        "AZMIGRATE_AWS_ACCOUNTS": ACCOUNT,
        "AZMIGRATE_AWS_REGIONS": REGION,
        "AZMIGRATE_AWS_ENDPOINT_URL": moto.url,
        "AZMIGRATE_TARGET_RESOURCE_GROUP_ID": target_rg,
        "AZMIGRATE_TARGET_NETWORK_ID": f"{network}/vnet-prod",
        "AZMIGRATE_TEST_NETWORK_ID": f"{network}/vnet-test",
        # The cache storage account InMageRcm's enable names (the classic provider takes it too).
        "AZMIGRATE_LOG_STORAGE_ACCOUNT_ID": cache_account,
        "AZMIGRATE_APPLIANCE_ADDRESS": APPLIANCE,
        "AZMIGRATE_APPLIANCE_PASSPHRASE_PARAMETER": PASSPHRASE_PARAMETER,
        "AZMIGRATE_AGENT_INSTALLER_LINUX": "s3://demo-agents/linux/agent.tar.gz",
        "AZMIGRATE_AGENT_INSTALLER_WINDOWS": "s3://demo-agents/windows/setup.exe",
        "AZMIGRATE_CUTOVER_MODE": "auto",
        "AZMIGRATE_RETRY_BACKOFF_SECONDS": "5",
        "AZMIGRATE_LEASE_SECONDS": "30",
        "AZMIGRATE_MAX_INITIAL_REPLICATION": "10",
        "AZMIGRATE_ARM_WRITES_PER_SECOND": "10",
        "AZMIGRATE_AWS_CALLS_PER_SECOND": "50",
        # moto's get_metric_data scans every stored point per period: keep the stand-in's lookback short
        "AZMIGRATE_SIZING_LOOKBACK_DAYS": "1",
        # moto checks no credentials, but boto3 wants some before it signs a request
        "AWS_ACCESS_KEY_ID": "stand-in",
        "AWS_SECRET_ACCESS_KEY": "stand-in",
    }


@contextlib.contextmanager
def running_estate(
    azurite: Azurite,
    moto: LocalService,
    *,
    time_scale: float = 600.0,
    settings: dict[str, str] | None = None,
    event_grid: bool = False,
    queue_settings: QueueSettings | None = None,
    body_timeout: float = BODY_TIMEOUT_SECONDS,
    queues: bool = True,
    bare_vault: bool = False,
) -> Iterator[Estate]:
    """The simulator, its bridge and the app's host for the block; the process's settings restored after.

    With `event_grid`, the host also stands in for the Event Grid topic the job watcher publishes to.
    `body_timeout`: how long the host waits for a request body that stops arriving (then 408).
    Without `queues`, nothing works the queue: what a request queued stays there to be looked at.
    A `bare_vault` has its fabrics and appliance but no replication policy or container mapping, as a
    new Azure Migrate project: the app creates them.
    """
    from shared.app import wiring  # noqa: PLC0415 - the app's caches are reset for each estate

    vault = Vault(
        SUB,
        RG,
        VAULT,
        SimClock(scale=time_scale),
        providers=(RCM, CLASSIC),
        job_seconds=60,
        bandwidth_mb_per_s=200,
        bare=bare_vault,
    )
    sim = Simulator(vault).start()
    passphrase = uuid.uuid4().hex
    # What an operator stores: the simplified appliance's generated config file, or the classic
    # appliance's passphrase.
    classic = (settings or {}).get("AZMIGRATE_ASR_PROVIDER") == CLASSIC
    secret = passphrase if classic else appliance_config(APPLIANCE, passphrase)
    aws_client(moto.url, "ssm").put_parameter(
        Name=PASSPHRASE_PARAMETER, Value=secret, Type="SecureString", Overwrite=True
    )
    bridge = MotoBridge(
        vault, endpoint_url=moto.url, regions=[REGION], appliance_address=APPLIANCE, passphrase=passphrase
    )
    install_documents(moto.url, [REGION], DEFAULT_DOCUMENT_PREFIX)  # what infra/aws/region.yaml deploys
    bridge.sync()  # commands sent before this estate existed are not its business
    bridge.start_polling(0.2)
    port = free_port()
    values = {**app_settings(azurite, moto, sim), **(settings or {})}
    if event_grid:
        values |= {
            "AZMIGRATE_EVENTGRID_TOPIC_ENDPOINT": f"http://127.0.0.1:{port}/eventgrid/topic",
            "AZMIGRATE_EVENTGRID_TOPIC_KEY": uuid.uuid4().hex,
        }
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    wiring.clear_caches()
    import function_app  # noqa: PLC0415 - the app reads its settings when imported

    topic_key = values.get("AZMIGRATE_EVENTGRID_TOPIC_KEY")
    keys = HostKeys.random()
    host = LocalHost(
        function_app.app, keys, port, topic_key, queue_settings=queue_settings, body_timeout=body_timeout
    ).start(queues=queues)
    try:
        yield Estate(sim, bridge, host, keys, moto, saved)
    finally:
        host.stop()
        bridge.stop()
        sim.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def tag_event(
    instance_id: str,
    *,
    event_id: str | None = None,
    account: str = ACCOUNT,
    region: str = REGION,
    keys: tuple[str, ...] = ("azmigrate:enabled", "azmigrate:wave"),
) -> bytes:
    """An EventBridge 'Tag Change on Resource' delivery, as the API destination sends it."""
    return json.dumps(
        {
            "version": "0",
            "id": event_id or str(uuid.uuid4()),
            "detail-type": "Tag Change on Resource",
            "source": "aws.tag",
            "account": account,
            "time": datetime.now(UTC).isoformat(),
            "region": region,
            "resources": [f"arn:aws:ec2:{region}:{account}:instance/{instance_id}"],
            "detail": {
                "changed-tag-keys": list(keys),
                "service": "ec2",
                "resource-type": "instance",
                "version": 1,
                "tags": {"azmigrate:enabled": "true"},
            },
        }
    ).encode()
