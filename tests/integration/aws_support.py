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
