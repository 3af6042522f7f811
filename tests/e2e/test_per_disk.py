"""A VM with three EBS volumes of three types is replicated with each disk's own Azure type: the
volumes are matched to the disks the appliance discovered, and enable-replication names them."""

from __future__ import annotations

from typing import Any

import pytest

from local.asr_simulator.shapes import disk_types
from local.estate import tag_event
from local.stack import aws_client
from tests.e2e.driving import drive, estate_with, timeline

pytestmark = pytest.mark.integration
__all__ = ["estate_with"]  # the fixture
VOLUMES = [  # device, size GiB, EBS type, IOPS, the Azure type the assessment gives it
    ("/dev/sda1", 30, "gp3", 3000, "StandardSSD_LRS"),
    ("/dev/sdf", 100, "io2", 8000, "Premium_LRS"),
    ("/dev/sdg", 500, "st1", 0, "Standard_LRS"),
]


def launch_with_volumes(ec2: Any) -> str:
    """The root volume at launch; the data volumes created and attached after (moto's run_instances
    drops a mapping's Iops, which io2 needs)."""
    image = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["*RHEL-7.4_HVM*"]}])
    root_device, root_size, root_kind, _, _ = VOLUMES[0]
    root = {"DeviceName": root_device, "Ebs": {"VolumeSize": root_size, "VolumeType": root_kind}}
    opted_in = {"ResourceType": "instance", "Tags": [{"Key": "azmigrate:enabled", "Value": "true"}]}
    made = ec2.run_instances(
        ImageId=image["Images"][0]["ImageId"],
        MinCount=1,
        MaxCount=1,
        InstanceType="m5.large",
        BlockDeviceMappings=[root],
        TagSpecifications=[opted_in],
    )
    instance = made["Instances"][0]
    zone = instance["Placement"]["AvailabilityZone"]
    for device, size, kind, iops, _ in VOLUMES[1:]:
        volume = ec2.create_volume(
            AvailabilityZone=zone, Size=size, VolumeType=kind, **({"Iops": iops} if kind == "io2" else {})
        )
        ec2.attach_volume(VolumeId=volume["VolumeId"], InstanceId=instance["InstanceId"], Device=device)
    return str(instance["InstanceId"])


def test_three_volumes_of_three_types_are_replicated_each_with_its_own_type(estate_with):
    estate = estate_with()
    vm = launch_with_volumes(aws_client(estate.moto.url, "ec2"))
    estate.post("/api/ec2-events", tag_event(vm))
    drive(estate, [vm], {"initial_replication", "protected"}, seconds=90)

    [enable] = [e for e in estate.sim.vault.ledger if e["method"] == "PUT" and e["item"] == f"azmigrate-{vm}"]
    details = enable["body"]["properties"]["providerSpecificDetails"]
    assert "disksDefault" not in details
    machine = next(i.machine for i in estate.sim.vault.items.values() if i.name == f"azmigrate-{vm}")
    size_of = {d.disk_id: round(d.size_gb) for d in machine.disks}
    sent = {size_of[d["diskId"]]: d["diskType"] for d in details["disksToInclude"]}
    assert sent == {size: azure for _, size, _, _, azure in VOLUMES}
    assert all(d["logStorageAccountId"] for d in details["disksToInclude"])
    # The item as Site Recovery reports it carries the per-disk types too.
    item = estate.sim.vault.items[f"azmigrate-{vm}"]
    assert {d.size_gb: t for d, t in disk_types(item)} == {float(s): a for _, s, _, _, a in VOLUMES}
    enabling = next(e for e in timeline(estate, vm) if e.get("to_phase") == "enabling")
    assert "each of its 3 disks with its own type" in enabling["reason"]
