"""A steady fleet built directly in the stand-ins: instances in moto waiting for cutover approval,
their items already protected in the simulator's vault, their records in the store. Used to count
what a pass costs when nothing changes (tests/integration/test_pass_cost.py, bench/fleet.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from local.asr_simulator.engine import Vault
from local.asr_simulator.model import RCM, Disk, Machine
from local.guest_stand_in import bios_uuid
from shared.adapters.asr import item_name_for
from shared.model.phases import Phase
from shared.model.records import MigrationRecord
from shared.state.store import StateStore

ACCOUNT, REGION = "123456789012", "us-east-1"


def launch_waiting(ec2: Any, count: int, prefix: str) -> list[str]:
    """`count` opted-in instances whose cutover waits for approval, their status tag already saying
    so (as after an earlier pass); 250 per call (moto took over a minute for 1,000 once it held
    thousands)."""
    image = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["*ubuntu-xenial*"]}])
    ids: list[str] = []
    while len(ids) < count:
        batch = min(250, count - len(ids))
        made = ec2.run_instances(
            ImageId=image["Images"][0]["ImageId"],
            MinCount=batch,
            MaxCount=batch,
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [
                        {"Key": f"{prefix}:enabled", "Value": "true"},
                        {"Key": f"{prefix}:cutover", "Value": "approval"},
                        {"Key": f"{prefix}:status", "Value": Phase.READY_FOR_CUTOVER.value},
                    ],
                }
            ],
        )
        ids += [i["InstanceId"] for i in made["Instances"]]
    return ids


def protect(vault: Vault, ids: list[str], target_resource_group: str) -> None:
    """Each instance's item protected, as after initial replication."""
    site = vault.site(RCM)
    assert site is not None
    for instance_id in ids:
        vault.register_machine(
            Machine(bios_uuid(instance_id), instance_id, "10.0.0.1", "Linux", [Disk("d", 0, True)])
        )
        vault.enable(
            site.fabric,
            item_name_for(instance_id),
            {
                "properties": {
                    "policyId": vault.policy_id(site),
                    "providerSpecificDetails": {
                        "instanceType": RCM,
                        "fabricDiscoveryMachineId": vault.machine_id(bios_uuid(instance_id)),
                        "processServerId": site.process_server_id,
                        "targetResourceGroupId": target_resource_group,
                    },
                }
            },
        )
    vault.clock.advance(60)
    vault.tick()


def record_waiting(store: StateStore, ids: list[str], now: datetime) -> None:
    store.create_many(
        [
            MigrationRecord.opted_in(instance_id=i, account_id=ACCOUNT, region=REGION, now=now).evolve(
                phase=Phase.READY_FOR_CUTOVER
            )
            for i in ids
        ]
    )
