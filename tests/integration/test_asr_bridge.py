# mypy: disable-error-code="union-attr,index,arg-type"
"""Discovery bridged from moto: machines appear only after an agent install is sent through SSM."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.core.rest import HttpRequest
from botocore.exceptions import ClientError

from local.asr_simulator.bridge import MotoBridge, appliance_config, parse_agent_command
from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Vault
from local.asr_simulator.model import CLASSIC, RCM
from local.asr_simulator.server import OFFAZURE_API_VERSION, Simulator
from local.guest_stand_in import bios_uuid
from local.stack import LocalService, aws_client
from shared.adapters.aws import DEFAULT_DOCUMENT_PREFIX
from shared.guest.documents import AgentInstall, agent_parameters, document_name, documents, render
from tests.integration.asr_support import CLASSIC as CLASSIC_PROVIDER
from tests.integration.asr_support import RG, SUB, VAULT, admin, sdk_client

pytestmark = pytest.mark.integration
APPLIANCE = "10.0.0.250"
PASSPHRASE = "correct horse battery staple"


def install(
    mode: str = "CSPrime", appliance: str = APPLIANCE, parameter: str = "/azmigrate/config"
) -> tuple[str, dict[str, list[str]]]:
    """Our agent-install document for `mode`, and its parameters: what the app sends."""
    spec = AgentInstall(appliance, parameter, "s3://agents/linux.tar.gz", "s3://agents/win/setup.exe", mode)
    return document_name(DEFAULT_DOCUMENT_PREFIX, spec.document_kind, False), agent_parameters(spec, False)


def script(mode: str = "CSPrime", windows: bool = False, parameter: str = "/azmigrate/config") -> str:
    spec = AgentInstall(APPLIANCE, parameter, "s3://agents/linux.tar.gz", "s3://agents/win/setup.exe", mode)
    name = document_name("MA", spec.document_kind, windows)
    return render(documents("MA")[name], agent_parameters(spec, windows))


@pytest.fixture
def bridged(moto_server: LocalService) -> Iterator[tuple[Simulator, list[str]]]:
    """A vault with both providers, bridged to moto, and four fresh instances there."""
    ec2, ssm = aws_client(moto_server.url, "ec2"), aws_client(moto_server.url, "ssm")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    made = ec2.run_instances(
        ImageId=image,
        MinCount=4,
        MaxCount=4,
        # moto attaches no root volume when mappings are given (real EC2 adds the AMI's): name it.
        BlockDeviceMappings=[
            {"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}},
            {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 50}},
        ],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "bridged"}]}],
    )
    for name, value in {
        "/azmigrate/config": appliance_config(APPLIANCE, PASSPHRASE),  # the simplified appliance's file
        "/azmigrate/config-elsewhere": appliance_config("10.9.9.9", PASSPHRASE),  # another appliance's
        "/azmigrate/passphrase": PASSPHRASE,  # the classic appliance's passphrase
        "/azmigrate/wrong": "not it",
    }.items():
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
    vault = Vault(SUB, RG, VAULT, SimClock(scale=0), providers=(RCM, CLASSIC))
    sim = Simulator(vault, limits=None).start()
    sim.bridge = MotoBridge(
        vault,
        endpoint_url=moto_server.url,
        regions=["us-east-1"],
        appliance_address=APPLIANCE,
        passphrase=PASSPHRASE,
    )
    sim.bridge.sync()  # commands sent by earlier tests on the shared moto are not this vault's business
    yield sim, sorted(i["InstanceId"] for i in made["Instances"])
    sim.stop()


def send(moto: LocalService, instance_ids: list[str], sent: tuple[str, dict[str, list[str]]]) -> None:
    document, parameters = sent
    aws_client(moto.url, "ssm").send_command(
        InstanceIds=instance_ids, DocumentName=document, Parameters=parameters
    )


def test_moto_stand_in_targets_exactly_the_named_instances(moto_server: LocalService, bridged):
    _, instances = bridged
    ssm = aws_client(moto_server.url, "ssm")
    sent = ssm.send_command(
        InstanceIds=[instances[0]], DocumentName="AWS-RunShellScript", Parameters={"commands": ["true"]}
    )["Command"]
    listed = ssm.list_commands(CommandId=sent["CommandId"])["Commands"][0]
    assert listed["InstanceIds"] == [instances[0]]


def test_only_installed_and_correctly_registered_instances_appear(moto_server: LocalService, bridged):
    sim, (prime, wrong_secret, wrong_appliance, legacy) = bridged
    assert admin(sim, "/admin/bridge/sync", {}) == {"registered": []}

    send(moto_server, [prime], install())
    send(moto_server, [wrong_secret], install(parameter="/azmigrate/wrong"))
    send(moto_server, [wrong_appliance], install(parameter="/azmigrate/config-elsewhere"))
    send(moto_server, [legacy], install(mode="CSLegacy", parameter="/azmigrate/passphrase"))
    send(moto_server, [prime, legacy], ("AWS-RunShellScript", {"commands": ["echo not an agent install"]}))
    assert sorted(admin(sim, "/admin/bridge/sync", {})["registered"]) == sorted([prime, legacy])

    client = sdk_client(sim)
    fabric_rcm = next(f for f in client.replication_fabrics.list(RG, VAULT) if f.name.startswith("rcm"))
    site = fabric_rcm.properties.custom_details.physical_site_id
    url = f"{sim.url}{site}/machines?api-version={OFFAZURE_API_VERSION}"
    [machine] = client.send_request(HttpRequest("GET", url)).json()["value"]
    assert machine["name"] == bios_uuid(prime)
    assert machine["properties"]["displayName"] == "bridged"
    assert sorted(d["maxSizeInBytes"] // 1024**3 for d in machine["properties"]["disks"]) == [8, 50]

    fabric, container, _ = CLASSIC_PROVIDER.site(client)
    bridged_machine = sim.vault.machines[RCM][bios_uuid(prime)]
    assert [(d.size_gb, d.is_os) for d in sorted(bridged_machine.disks, key=lambda d: d.size_gb)] == [
        (8, True),
        (50, False),
    ]
    assert bridged_machine.ip_address and bridged_machine.hostname
    [protectable] = client.replication_protectable_items.list_by_replication_protection_containers(
        RG, VAULT, fabric.name, container
    )
    assert protectable.name == bios_uuid(legacy)
    client.close()
    assert admin(sim, "/admin/bridge/sync", {}) == {"registered": []}  # each command is read once


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (script(), ("CSPrime", None, "/azmigrate/config")),
        (script(windows=True), ("CSPrime", None, "/azmigrate/config")),
        (
            script("CSLegacy", parameter="/azmigrate/passphrase"),
            ("CSLegacy", APPLIANCE, "/azmigrate/passphrase"),
        ),
        (script("CSLegacy", True, "/azmigrate/passphrase"), ("CSLegacy", APPLIANCE, "/azmigrate/passphrase")),
        ("./install -r MS -v VmWare -q -c CSPrime", None),  # installed but never registered
        ("echo hello", None),
    ],
)
def test_agent_commands_are_recognised(text: str, expected: tuple[str, str | None, str] | None):
    found = parse_agent_command(text)
    assert (found and (found.mode, found.appliance, found.registration_parameter)) == expected


def test_a_moto_error_while_registering_loses_no_registration(
    moto_server: LocalService, bridged, monkeypatch: pytest.MonkeyPatch
):
    """The bridge marks a command seen only once its machine is registered: a moto hiccup (a 500 on
    the describe) means the next sync tries again, not that the agent never registers."""
    sim, (prime, *_) = bridged
    assert sim.bridge is not None
    register = sim.bridge._register
    failures = iter([True])

    def flaky(ssm, ec2, command):
        if next(failures, False):
            raise ClientError(
                {"Error": {"Code": "InternalError", "Message": "moto 500"}}, "DescribeInstances"
            )
        return register(ssm, ec2, command)

    monkeypatch.setattr(sim.bridge, "_register", flaky)
    send(moto_server, [prime], install())
    assert admin(sim, "/admin/bridge/sync", {}) == {"registered": []}
    assert admin(sim, "/admin/bridge/sync", {}) == {"registered": [prime]}
