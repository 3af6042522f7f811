"""A whole local estate for reconciler tests: moto, Azurite, the bridged ASR simulator, real adapters."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.asr_simulator.bridge import MotoBridge, appliance_config
from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Vault
from local.asr_simulator.model import CLASSIC, RCM
from local.asr_simulator.server import Simulator
from local.stack import Azurite, LocalService, aws_client
from shared.adapters.asr import AsrAdapter
from shared.adapters.aws import AwsAdapter
from shared.adapters.cloudwatch import MetricsAdapter
from shared.guest.documents import AgentInstall
from shared.model.facts import Policy
from shared.model.phases import Phase
from shared.reconcile.reconciler import PassReport, Reconciler, Targets
from shared.state.store import StateStore
from shared.state.table import TableStateStore, open_table_service
from tests.conftest import T0
from tests.integration.asr_support import (
    RG,
    SUB,
    TARGET_RG,
    TARGET_VNET,
    TEST_VNET,
    VAULT,
    admin,
    compute_adapter,
    sdk_client,
)

PASSPHRASE = "estate-passphrase"
APPLIANCE = "10.0.0.250"


@dataclass
class Estate:
    sim: Simulator
    bridge: MotoBridge
    reconciler: Reconciler
    store: StateStore
    moto: LocalService
    prefix: str
    client: Any

    def ec2(self) -> Any:
        return aws_client(self.moto.url, "ec2")

    def launch(self, n: int = 1, tags: dict[str, str] | None = None, name: str = "web") -> list[str]:
        ec2 = self.ec2()
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        all_tags = {
            f"{self.prefix}:enabled": "true",
            f"{self.prefix}:cutover": "auto",
            "Name": name,
            **(tags or {}),
        }
        made = ec2.run_instances(
            ImageId=image,
            MinCount=n,
            MaxCount=n,
            BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}],
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in all_tags.items()]}
            ],
        )
        return [i["InstanceId"] for i in made["Instances"]]

    def tag(self, instance_id: str, key: str, value: str | None) -> None:
        full = f"{self.prefix}:{key}"
        if value is None:
            self.ec2().delete_tags(Resources=[instance_id], Tags=[{"Key": full}])
        else:
            self.ec2().create_tags(Resources=[instance_id], Tags=[{"Key": full, "Value": value}])

    def instance(self, instance_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.ec2().describe_instances(InstanceIds=[instance_id])["Reservations"][0]
        return dict(found["Instances"][0])

    def run(
        self, until: set[Phase], ids: list[str], passes: int = 40, seconds: float = 600, discover: bool = True
    ) -> list[PassReport]:
        """Reconciles pass after pass, moving the simulator's clock in between, until all are in `until`."""
        reports = []
        for _ in range(passes):
            reports.append(self.reconciler.reconcile(discover=discover))
            self.bridge.sync()
            if all((r := self.store.find(i)) is not None and r.phase in until for i in ids):
                return reports
            admin(self.sim, "/admin/clock", {"advanceSeconds": seconds})
        phases = {i: (r.phase if (r := self.store.find(i)) else None) for i in ids}
        raise AssertionError(f"not all in {until} after {passes} passes: {phases}")

    def run_until(self, done: Callable[[], bool], passes: int = 40, seconds: float = 600) -> None:
        """Reconcile pass after pass, moving the simulator's clock in between, until `done()`."""
        for _ in range(passes):
            self.reconciler.reconcile(discover=True)
            self.bridge.sync()
            if done():
                return
            admin(self.sim, "/admin/clock", {"advanceSeconds": seconds})
        raise AssertionError(f"condition not met after {passes} passes")

    def asr_mutations(self, *, accepted_only: bool = True) -> Counter[tuple[str, str, str]]:
        """(item, method, action) for every mutating ASR request: accepted ones, or every one sent
        (refused ones too: a duplicate the simulator refused was still issued twice)."""
        return Counter(
            (e["item"], e["method"], e["path"].rsplit("/", 1)[-1] if e["method"] == "POST" else "")
            for e in admin(self.sim, "/admin/ledger")["entries"]
            if e["status"] in {200, 202, 204} or not accepted_only
        )


def build_estate(
    azurite: Azurite,
    moto: LocalService,
    provider: str = RCM,
    *,
    policy: Policy | None = None,
    capacity: int = 10,
    faults: dict[str, Any] | None = None,
    clients: Callable[[str, str], Any] | None = None,
    metrics: MetricsAdapter | None = None,
) -> Estate:
    prefix = f"am{uuid.uuid4().hex[:6]}"
    clock = SimClock(scale=0, start=T0)
    vault = Vault(SUB, RG, VAULT, clock, providers=(RCM, CLASSIC), job_seconds=30, bandwidth_mb_per_s=200)
    sim = Simulator(vault, limits=None, retry_after=0).start()
    if faults:
        admin(sim, "/admin/faults", faults)
    aws_client(moto.url, "ssm").put_parameter(
        Name="/estate/passphrase",
        Value=PASSPHRASE if provider == CLASSIC else appliance_config(APPLIANCE, PASSPHRASE),
        Type="SecureString",
        Overwrite=True,
    )
    bridge = MotoBridge(
        vault,
        endpoint_url=moto.url,
        regions=["us-east-1"],
        appliance_address=APPLIANCE,
        passphrase=PASSPHRASE,
    )
    bridge.sync()  # commands other tests sent to the shared moto are not this estate's
    store = TableStateStore(
        open_table_service(connection=azurite.connection_string, account_url=None),
        f"e{uuid.uuid4().hex[:12]}",
        clock=clock.now,
    )
    store.ensure_tables()
    client = sdk_client(sim, retry_backoff_factor=0.01)
    reconciler = Reconciler(
        store,
        AwsAdapter(
            clients or (lambda service, region: aws_client(moto.url, service, region)), ["us-east-1"], prefix
        ),
        AsrAdapter(client, RG, VAULT, provider),
        policy=policy or Policy(cutover_mode="auto", retry_limit=3, backoff_seconds=60, lease_seconds=600),
        targets=Targets(
            TARGET_RG, TARGET_VNET, "default", TEST_VNET, f"{TARGET_RG}/providers/x/storageAccounts/cache"
        ),
        install=AgentInstall(
            APPLIANCE,
            "/estate/passphrase",
            "s3://agents/linux.tar.gz",
            "s3://agents/win.exe",
            "CSPrime" if provider == RCM else "CSLegacy",
        ),
        capacity=capacity,
        concurrency=4,
        metrics=metrics,
        clock=clock.now,
        compute=compute_adapter(sim),  # the test VMs a test failover creates
    )
    return Estate(sim, bridge, reconciler, store, moto, prefix, client)
