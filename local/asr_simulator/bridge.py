"""Discovery bridged from AWS: a machine appears at the appliance only after its agent registered.

The simulator watches the moto server's SSM command history. A Run Command that installs the
Mobility agent and registers it with the replication appliance (the seed's steps) registers the
targeted instances with the vault, as a real appliance would once the agent calls home:

- install:  Linux `install -r MS -v VmWare -q -c CSPrime|CSLegacy`; Windows `... /CSType CSPrime|CSLegacy`
- register: `UnifiedAgentConfigurator ... -i <appliance address>` (Windows `/CSEndPoint <address>`)
- secret:   the passphrase is read at run time from SSM Parameter Store (`get-parameter ... --name
  <name>` or `Get-SSMParameter -Name <name>`), so it never appears in the command's history.

CSPrime registers with the InMageRcm site (a discovered machine); CSLegacy with the classic site (a
protectable item). A wrong appliance address, a missing parameter or a wrong passphrase leaves the
machine unregistered, as on a real appliance. Only the instances the command names are registered.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from local.asr_simulator.engine import Vault
from local.asr_simulator.model import CLASSIC, RCM, Disk, Machine
from local.guest_stand_in import bios_uuid
from local.stack import aws_client
from shared.guest.documents import render

AGENT_DOCUMENTS = frozenset({"AWS-RunShellScript", "AWS-RunPowerShellScript"})
_MODE = re.compile(r"(?:\s-c\s+|/CSType\s+)\"?(CSPrime|CSLegacy)\b", re.IGNORECASE)
_INSTALL = re.compile(r"(?:\binstall\s+-r\s+MS\b|/Role\s+\"?MS\b)", re.IGNORECASE)
_ADDRESS = re.compile(
    r"UnifiedAgentConfigurator\S*[^\n]*?(?:\s-i|/CSEndPoint)\s+\"?([^\s\"]+)", re.IGNORECASE
)
_CONFIG_FILE = re.compile(
    r"UnifiedAgentConfigurator\S*[^\n]*?(?:\s-S|/SourceConfigFilePath)\s+\"?([^\s\"]+)", re.IGNORECASE
)
_SECRET = re.compile(
    r"(?:get-parameter|Get-SSMParameter)[^\n]*?(?:--name|-Name)\s+\"?([^\s\"]+)", re.IGNORECASE
)


@dataclass(frozen=True)
class Registration:
    mode: str  # CSPrime or CSLegacy
    appliance: str | None  # CSLegacy names it; CSPrime's config file carries it
    registration_parameter: str


def appliance_config(address: str, passphrase: str) -> str:
    """The stand-in's 'Mobility configuration file' (a real appliance generates its own format)."""
    return json.dumps({"applianceAddress": address, "passphrase": passphrase})


def parse_agent_command(text: str) -> Registration | None:
    """The agent registration a command performs, or None if it is not an install + register:
    CSPrime registers from a config file (`-c CSPrime -S FILE`), CSLegacy with `-i ADDRESS -P FILE`."""
    mode, secret = _MODE.search(text), _SECRET.search(text)
    if not (_INSTALL.search(text) and mode and secret):
        return None
    if mode.group(1).lower() == "csprime":
        return Registration("CSPrime", None, secret.group(1)) if _CONFIG_FILE.search(text) else None
    address = _ADDRESS.search(text)
    return Registration("CSLegacy", address.group(1), secret.group(1)) if address else None


def command_script(ssm: Any, command: dict[str, Any]) -> str:
    """What a sent command runs: inline commands (AWS-RunShellScript and the like), or one of our
    documents rendered with the command's parameters, as the SSM agent on the instance would."""
    parameters = command.get("Parameters", {})
    if command.get("DocumentName") in AGENT_DOCUMENTS:
        return "\n".join(parameters.get("commands", []))
    try:
        content = ssm.get_document(Name=command["DocumentName"], DocumentFormat="JSON")["Content"]
    except ssm.exceptions.InvalidDocument:
        return ""
    return render(json.loads(content), parameters)


class MotoBridge:
    def __init__(
        self,
        vault: Vault,
        *,
        endpoint_url: str,
        regions: list[str],
        appliance_address: str,
        passphrase: str,
    ) -> None:
        self.vault = vault
        self.regions = regions
        self.appliance_address = appliance_address
        self._passphrase = passphrase
        self._endpoint = endpoint_url
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._clients: dict[str, tuple[Any, Any]] = {}  # per region: made once, not on every poll

    def sync(self) -> list[str]:
        """Reads commands sent since the last sync; returns the instance ids it registered."""
        registered: list[str] = []
        with self._lock:
            for region in self.regions:
                ssm, ec2 = self._region_clients(region)
                for command in ssm.list_commands()["Commands"]:
                    if command["CommandId"] in self._seen:
                        continue
                    try:
                        registered += self._register(ssm, ec2, command)
                    except (BotoCoreError, ClientError):
                        continue  # moto hiccuped: the command is read again on the next sync
                    self._seen.add(command["CommandId"])  # only once its registration is done
        return registered

    def _region_clients(self, region: str) -> tuple[Any, Any]:
        if region not in self._clients:
            self._clients[region] = (
                aws_client(self._endpoint, "ssm", region),
                aws_client(self._endpoint, "ec2", region),
            )
        return self._clients[region]

    def _register(self, ssm: Any, ec2: Any, command: dict[str, Any]) -> list[str]:
        if not command.get("InstanceIds"):
            return []
        registration = parse_agent_command(command_script(ssm, command))
        if registration is None:
            return []
        try:
            secret = ssm.get_parameter(Name=registration.registration_parameter, WithDecryption=True)
        except ssm.exceptions.ParameterNotFound:
            return []
        if not self._accepts(registration, secret["Parameter"]["Value"]):
            return []
        provider = RCM if registration.mode == "CSPrime" else CLASSIC
        found = ec2.describe_instances(InstanceIds=command["InstanceIds"])
        instances = [i for r in found["Reservations"] for i in r["Instances"]]
        return [i["InstanceId"] for i in instances if self.vault.register_machine(_machine(ec2, i), provider)]

    def _accepts(self, registration: Registration, secret: str) -> bool:
        """The appliance takes the agent only with its own address and passphrase."""
        if registration.mode == "CSLegacy":
            return registration.appliance == self.appliance_address and secret == self._passphrase
        return secret == appliance_config(self.appliance_address, self._passphrase)

    def start_polling(self, interval: float) -> None:
        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.sync()
                except Exception as error:  # a service loop: report, keep going
                    print(f"moto bridge: {type(error).__name__}: {error}", file=sys.stderr, flush=True)

        self._thread = threading.Thread(target=loop, name="moto-bridge", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)


def _machine(ec2: Any, instance: dict[str, Any]) -> Machine:
    instance_id = instance["InstanceId"]
    volumes = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}])[
        "Volumes"
    ]
    root = instance.get("RootDeviceName")

    def device(volume: dict[str, Any]) -> str:
        return str(next((a.get("Device", "") for a in volume.get("Attachments", [])), ""))

    # The guest's view: NVMe names in attachment order (root first), ids the appliance generates.
    ordered = sorted(volumes, key=lambda v: (device(v) != root, device(v)))
    disks = [
        Disk(
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"appliance-disk/{v['VolumeId']}")),
            float(v["Size"]),
            device(v) == root,
            name=f"/dev/nvme{n}n1",
        )
        for n, v in enumerate(ordered)
    ]
    name = next((t["Value"] for t in instance.get("Tags", []) if t["Key"] == "Name"), instance_id)
    return Machine(
        name=bios_uuid(instance_id),
        display_name=name,
        ip_address=instance.get("PrivateIpAddress", ""),
        os_type="Windows" if instance.get("Platform", "").lower() == "windows" else "Linux",
        disks=disks,
        hostname=instance.get("PrivateDnsName", ""),
    )
