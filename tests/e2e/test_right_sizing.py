"""Right-sizing end to end: CloudWatch metrics in moto decide the size that enable-replication asks for."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.estate import Estate, running_estate, tag_event
from local.stack import Azurite, LocalService, aws_client
from shared.assessment.sizing import load_catalogue
from tests.e2e.driving import drive
from tests.e2e.test_ec2_events import launch

pytestmark = pytest.mark.integration


@pytest.fixture
def estate(azurite: Azurite, moto_server: LocalService) -> Iterator[Estate]:
    with running_estate(azurite, moto_server, settings={"AZMIGRATE_CUTOVER_MODE": "auto"}) as running:
        yield running


def put_cpu(estate: Estate, instance_id: str, percent: float) -> None:
    """A day of five-minute CPU points at `percent`, as EC2 basic monitoring records them."""
    now = datetime.now(UTC)
    points = [
        {
            "MetricName": "CPUUtilization",
            "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
            "Timestamp": now - timedelta(minutes=5 * (n + 1)),
            "Value": percent,
        }
        for n in range(288)
    ]
    cloudwatch = aws_client(estate.moto.url, "cloudwatch")
    for start in range(0, len(points), 500):
        cloudwatch.put_metric_data(Namespace="AWS/EC2", MetricData=points[start : start + 500])


def enable_request(estate: Estate, vm: str) -> dict[str, Any]:
    puts = [e for e in estate.sim.vault.ledger if e["method"] == "PUT" and e["item"] == f"azmigrate-{vm}"]
    assert len(puts) == 1, puts
    return dict(puts[0]["body"]["properties"]["providerSpecificDetails"])


def test_an_over_provisioned_instance_is_replicated_with_a_smaller_size(estate: Estate):
    idle = launch(estate, {"azmigrate:enabled": "true"}, instance_type="m5.2xlarge")
    busy = launch(estate, {"azmigrate:enabled": "true"}, instance_type="m5.2xlarge")
    put_cpu(estate, idle, 8.0)
    put_cpu(estate, busy, 75.0)
    for vm in (idle, busy):
        assert estate.post("/api/ec2-events", tag_event(vm))[0] == 202
    drive(estate, [idle, busy], {"initial_replication", "protected", "test_migration", "done"}, seconds=60)

    idle_record, busy_record = estate.record(idle), estate.record(busy)
    like_for_like = idle_record["assessment"]["like_for_like_size"]
    assert like_for_like == busy_record["assessment"]["like_for_like_size"] == "Standard_D8s_v5"
    catalogue = load_catalogue()
    chosen, matched = catalogue.get(idle_record["target"]["vm_size"]), catalogue.get(like_for_like)
    assert chosen is not None and matched is not None
    assert chosen.vcpus < matched.vcpus  # 8 vCPU at 8% CPU needs far fewer
    assert idle_record["assessment"]["sizing_basis"] == "performance"
    # The simulator's ledger: the enable request carried exactly that size.
    assert enable_request(estate, idle)["targetVmSize"] == chosen.name
    assert enable_request(estate, busy)["targetVmSize"] == busy_record["target"]["vm_size"]
    assert catalogue.get(busy_record["target"]["vm_size"]).vcpus >= 8  # type: ignore[union-attr]


def test_a_size_tag_set_after_the_assessment_still_reaches_the_enable(estate: Estate):
    vm = launch(estate, {"azmigrate:enabled": "true"}, instance_type="m5.2xlarge")
    assert estate.post("/api/ec2-events", tag_event(vm))[0] == 202  # guest checks sent
    drive(estate, [vm], {"agent_install", "awaiting_discovery"}, seconds=30)
    assessed = estate.record(vm)["assessment"]["vm_size"]
    aws_client(estate.moto.url, "ec2").create_tags(
        Resources=[vm], Tags=[{"Key": "azmigrate:size", "Value": "Standard_E16s_v5"}]
    )
    drive(estate, [vm], {"initial_replication", "protected", "test_migration", "done"}, seconds=60)
    assert assessed != "Standard_E16s_v5"
    assert enable_request(estate, vm)["targetVmSize"] == "Standard_E16s_v5"
