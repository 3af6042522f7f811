"""Our EC2/SSM adapter against moto; its agent install recognised by the simulator's appliance."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.asr_simulator.bridge import MotoBridge, appliance_config, parse_agent_command
from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Vault
from local.asr_simulator.server import Simulator
from local.guest_stand_in import bios_uuid
from local.stack import LocalService, aws_client
from shared.adapters.aws import AwsAdapter
from shared.guest.documents import AgentInstall, agent_parameters, document_name, documents, render
from tests.integration.asr_support import RG, SUB, VAULT

pytestmark = pytest.mark.integration
PASSPHRASE = "appliance-passphrase-value"
INSTALL = AgentInstall(
    "10.0.0.250",
    "/azmigrate/appliance-passphrase",
    "s3://agents/linux.tar.gz",
    "s3://agents/windows/setup.exe",
    "CSPrime",
)


@pytest.fixture
def fleet(moto_server: LocalService) -> tuple[AwsAdapter, dict[str, str]]:
    """Fresh instances in moto: tagged true, tagged false, untagged; a tag prefix unique to this test."""
    ec2 = aws_client(moto_server.url, "ec2")
    prefix = f"t{id(ec2) % 10_000_000}"
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]
    made: dict[str, str] = {}
    for label, tags in (
        ("on", {f"{prefix}:enabled": "true", "Name": "web"}),
        ("off", {f"{prefix}:enabled": "false"}),
        ("plain", {}),
    ):
        spec: dict[str, Any] = {
            "ImageId": image["ImageId"],
            "MinCount": 1,
            "MaxCount": 1,
            "BlockDeviceMappings": [
                {"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 30}},
                {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 100}},
            ],
        }
        if tags:
            spec["TagSpecifications"] = [
                {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
            ]
        made[label] = ec2.run_instances(**spec)["Instances"][0]["InstanceId"]
    aws_client(moto_server.url, "ssm").put_parameter(
        Name=INSTALL.registration_parameter,
        Value=appliance_config(INSTALL.appliance_address, PASSPHRASE),  # the simplified appliance's file
        Type="SecureString",
        Overwrite=True,
    )
    adapter = AwsAdapter(
        lambda service, region: aws_client(moto_server.url, service, region), ["us-east-1"], prefix
    )
    return adapter, made


def test_opted_in_ids_are_the_instances_whose_tag_says_yes_read_from_the_tags_alone(fleet, moto_server):
    """DescribeTags as AWS documents it (EC2 API Reference, DescribeTags: filters `resource-type`,
    `key`, `resource-id`; each tag's ResourceId, ResourceType, Key, Value; MaxResults 5-1000),
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeTags.html; moto answers it."""
    adapter, made = fleet
    ec2 = aws_client(moto_server.url, "ec2")
    ec2.create_tags(Resources=[made["plain"]], Tags=[{"Key": f"{adapter._prefix}:enabled", "Value": " YES "}])
    calls: list[str] = []
    ec2_client = aws_client(moto_server.url, "ec2")
    ec2_client.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
    counted = AwsAdapter(lambda service, region: ec2_client, ["us-east-1"], adapter._prefix)
    assert counted.opted_in_ids() == {made["on"]: "us-east-1", made["plain"]: "us-east-1"}  # not "false"
    assert calls == ["DescribeTags"]  # no instance described to find them


def test_opted_in_lists_every_instance_with_the_tag_key_with_its_facts(fleet):
    adapter, made = fleet
    found = adapter.opted_in()
    assert set(found) == {made["on"], made["off"]}
    on = found[made["on"]]
    assert on.opted_in and not found[made["off"]].opted_in
    assert sorted((d.device, d.size_gb, d.is_root) for d in on.disks) == [
        ("/dev/sda1", 30, True),
        ("/dev/sdf", 100, False),
    ]
    assert on.private_ip and on.hostname and on.image_name and on.state == "running"
    assert on.region == "us-east-1" and on.account_id == "123456789012"


def test_instances_by_id_finds_an_untagged_one(fleet):
    adapter, made = fleet
    found = adapter.instances({"us-east-1": [made["plain"], "i-00000000000000000"]})
    assert set(found) == {made["plain"]}
    assert not found[made["plain"]].opted_in


def test_status_tag_is_written_only_when_it_changes(fleet, moto_server):
    adapter, made = fleet
    facts = adapter.opted_in()[made["on"]]
    assert adapter.set_status(facts, "preflight") is True
    facts = adapter.opted_in()[made["on"]]
    assert facts.tag("status") == "preflight"
    assert adapter.set_status(facts, "preflight") is False


def test_stop_and_start_the_source(fleet):
    adapter, made = fleet
    facts = adapter.opted_in()[made["on"]]
    adapter.stop(facts)
    assert adapter.opted_in()[made["on"]].state in {"stopping", "stopped"}
    adapter.start(facts)
    assert adapter.opted_in()[made["on"]].state in {"pending", "running"}


def test_agent_install_registers_exactly_that_instance_and_never_carries_the_passphrase(fleet, moto_server):
    adapter, made = fleet
    vault = Vault(SUB, RG, VAULT, SimClock(scale=0))
    sim = Simulator(vault, limits=None).start()
    bridge = MotoBridge(
        vault,
        endpoint_url=moto_server.url,
        regions=["us-east-1"],
        appliance_address=INSTALL.appliance_address,
        passphrase=PASSPHRASE,
    )
    try:
        bridge.sync()  # earlier tests' commands on the shared moto are not ours
        facts = adapter.opted_in()[made["on"]]
        command_id = adapter.install_agent(facts, INSTALL)
        assert bridge.sync() == [made["on"]]
        assert bios_uuid(made["on"]) in vault.machines["InMageRcm"]
        outcome = adapter.command("us-east-1", made["on"], command_id)
        assert outcome is not None and outcome.succeeded
        sent = aws_client(moto_server.url, "ssm").list_commands(CommandId=command_id)["Commands"][0]
        assert sent["InstanceIds"] == [made["on"]]
        assert PASSPHRASE not in json.dumps(sent, default=str)
    finally:
        sim.stop()


@pytest.mark.parametrize("windows", [False, True])
def test_both_install_documents_render_the_registration_the_appliance_expects(windows):
    name = document_name("MigrationAutopilot", INSTALL.document_kind, windows)
    script = render(documents("MigrationAutopilot")[name], agent_parameters(INSTALL, windows))
    registration = parse_agent_command(script)
    assert registration is not None
    assert (registration.mode, registration.appliance, registration.registration_parameter) == (
        "CSPrime",
        None,  # the config file names the appliance
        "/azmigrate/appliance-passphrase",
    )
    assert "{{" not in script  # every parameter was given
