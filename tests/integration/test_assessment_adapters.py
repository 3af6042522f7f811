"""Assessment reads against moto over HTTP: instance types, CloudWatch utilisation, guest checks."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.guest_stand_in import bios_uuid
from local.stack import LocalService, aws_client
from shared.adapters.aws import AwsAdapter
from shared.adapters.cloudwatch import LINUX_MEMORY, MetricsAdapter, sampling_period
from shared.assessment.guest import parse_guest_output
from shared.errors import InvalidInput

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)


def clients(moto: LocalService) -> Any:
    return lambda service, region: aws_client(moto.url, service, region)


def launch(moto: LocalService, instance_type: str = "m5.2xlarge", tags: dict[str, str] | None = None) -> str:
    ec2 = aws_client(moto.url, "ec2")
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    image = next(
        i["ImageId"] for i in images if i.get("Platform") != "windows" and "amzn" not in i.get("Name", "")
    )
    spec: dict[str, Any] = {"ImageId": image, "MinCount": 1, "MaxCount": 1, "InstanceType": instance_type}
    if tags:
        spec["TagSpecifications"] = [
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        ]
    return str(ec2.run_instances(**spec)["Instances"][0]["InstanceId"])


def put_series(
    moto: LocalService, namespace: str, name: str, dims: list[dict[str, str]], values: list[float]
) -> None:
    """One point per sampling period, newest last, as CloudWatch would hold them."""
    cw = aws_client(moto.url, "cloudwatch")
    period = sampling_period(timedelta(days=1))
    data = [
        {
            "MetricName": name,
            "Dimensions": dims,
            "Timestamp": NOW - timedelta(seconds=period * (n + 1)),
            "Value": v,
        }
        for n, v in enumerate(reversed(values))
    ]
    for start in range(0, len(data), 500):
        cw.put_metric_data(Namespace=namespace, MetricData=data[start : start + 500])


def test_instance_types_come_from_describe_instance_types(moto_server):
    adapter = AwsAdapter(clients(moto_server), ["us-east-1"], "azmigrate")
    found = adapter.instance_types("us-east-1", {"m5.2xlarge", "m5d.large", "not-a-type.large"})
    m5 = found["m5.2xlarge"]
    assert (m5.vcpus, m5.memory_mib) == (8, 32_768) and m5.max_nics >= 2
    assert found["m5d.large"].instance_store_disks >= 1 and found["m5d.large"].instance_store_gb > 0
    assert "not-a-type.large" not in found


def test_utilisation_takes_cpu_p95_and_the_agents_memory_with_its_extra_dimensions(moto_server):
    instance, idle = launch(moto_server), launch(moto_server)
    cpu = [float(n % 20) for n in range(288)]  # 0..19 %, one day of 5-minute points
    put_series(moto_server, "AWS/EC2", "CPUUtilization", [{"Name": "InstanceId", "Value": instance}], cpu)
    agent_dims = [
        {"Name": "InstanceId", "Value": instance},
        {"Name": "ImageId", "Value": "ami-1"},
        {"Name": "InstanceType", "Value": "m5.2xlarge"},
    ]
    namespace = f"CWAgent{uuid.uuid4().hex[:6]}"  # moto's metrics are shared by every test
    put_series(moto_server, namespace, LINUX_MEMORY, agent_dims, [40.0] * 288)
    metrics = MetricsAdapter(clients(moto_server), memory_namespace=namespace, lookback=timedelta(days=1))
    found = metrics.utilisation("us-east-1", {instance: False, idle: False}, NOW)
    assert found[instance].cpu_p95 == 18.0  # nearest rank over 0..19 repeated
    assert found[instance].memory_p95 == 40.0
    assert found[instance].cpu_coverage > 0.9 and found[instance].memory_coverage > 0.9
    assert found[idle].cpu_p95 is None and found[idle].cpu_coverage == 0  # no metrics: as on premises


def test_the_guest_check_runs_on_exactly_that_instance_and_its_output_parses(moto_server):
    prefix = f"t{uuid.uuid4().hex[:6]}"
    target = launch(moto_server, tags={f"{prefix}:enabled": "true", "sim:closed-ports": "9443"})
    launch(moto_server, tags={f"{prefix}:enabled": "true"})
    adapter = AwsAdapter(clients(moto_server), ["us-east-1"], prefix)
    facts = adapter.opted_in()[target]
    command_id = adapter.guest_check(facts, "10.0.0.250")
    result = adapter.command("us-east-1", target, command_id)
    assert result is not None and result.succeeded
    guest = parse_guest_output(result.output)
    assert guest.bios_uuid == bios_uuid(target)  # the UUID the simulator's appliance will discover
    assert guest.ports == {443: True, 9443: False}
    sent = aws_client(moto_server.url, "ssm").list_commands(CommandId=command_id)["Commands"][0]
    assert sent["InstanceIds"] == [target] and sent["DocumentName"] == "MigrationAutopilot-GuestChecks-Linux"
    assert sent["Parameters"] == {"ApplianceAddress": ["10.0.0.250"]}  # no free-form commands


def test_a_malicious_appliance_address_never_reaches_a_command(moto_server):
    target = launch(moto_server, tags={"azm:enabled": "true"})
    adapter = AwsAdapter(clients(moto_server), ["us-east-1"], "azm")
    facts = adapter.opted_in()[target]
    before = len(aws_client(moto_server.url, "ssm").list_commands()["Commands"])
    with pytest.raises(InvalidInput):
        adapter.guest_check(facts, "10.0.0.250; curl evil")
    assert len(aws_client(moto_server.url, "ssm").list_commands()["Commands"]) == before


def test_assessment_reads_are_bulk_whatever_the_number_of_vms(moto_server):
    """Instance types and utilisation for 20 or 200 VMs: the same few calls (get_metric_data: 500 a call)."""
    calls: Counter[str] = Counter()

    def counted(service: str, region: str) -> Any:
        client = aws_client(moto_server.url, service, region)
        client.meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
        return client

    def cost(size: int) -> Counter[str]:
        ec2 = aws_client(moto_server.url, "ec2")
        images = ec2.describe_images(Owners=["amazon"])["Images"]
        image = next(i["ImageId"] for i in images if i.get("Platform") != "windows")
        made = ec2.run_instances(ImageId=image, MinCount=size, MaxCount=size, InstanceType="m5.large")
        ids = [i["InstanceId"] for i in made["Instances"]]
        calls.clear()
        AwsAdapter(counted, ["us-east-1"], "azmigrate").instance_types("us-east-1", {"m5.large", "c5.xlarge"})
        metrics = MetricsAdapter(counted, memory_namespace="CWAgentBulk", lookback=timedelta(days=1))
        found = metrics.utilisation("us-east-1", dict.fromkeys(ids, False), NOW)
        assert set(found) == set(ids)
        return Counter(calls)

    small, large = cost(20), cost(200)
    print(f"\nassessment reads: 20 VMs {dict(small)}, 200 VMs {dict(large)}")
    assert small == large == Counter({"DescribeInstanceTypes": 1, "ListMetrics": 1, "GetMetricData": 1})
