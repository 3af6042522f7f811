"""EC2 instances as the tests launch them in moto."""

from __future__ import annotations

from typing import Any


def run_opted_in(ec2: Any, count: int = 1, prefix: str = "azmigrate") -> list[str]:
    """`count` instances of moto's first Amazon image, tagged `<prefix>:enabled=true`."""
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    made = ec2.run_instances(
        ImageId=image,
        MinCount=count,
        MaxCount=count,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": f"{prefix}:enabled", "Value": "true"}]}
        ],
    )
    return [instance["InstanceId"] for instance in made["Instances"]]


def launch_rhel(ec2: Any, tags: dict[str, str], instance_type: str = "t3.medium") -> str:
    """A RHEL instance (the guest stand-in answers its checks as RHEL 9) with these tags."""
    image = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["*RHEL-7.4_HVM*"]}])
    made = ec2.run_instances(
        ImageId=image["Images"][0]["ImageId"],
        MinCount=1,
        MaxCount=1,
        InstanceType=instance_type,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        ],
    )
    return str(made["Instances"][0]["InstanceId"])
