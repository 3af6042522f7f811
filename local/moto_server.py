"""moto server with one of its gaps bridged, so the stand-in keeps real AWS semantics.

moto 5.2.5's SSM `send_command(InstanceIds=[...])` without Targets runs an *unfiltered* EC2 query
for targets and so records every instance in the region as targeted. Real AWS targets exactly the
instances named. The app keeps the real semantics; this launcher mends the stand-in instead.

moto also runs no commands: every invocation succeeds with empty output. Our guest checks are
answered with the instance's guest image (`local/guest_stand_in.py`), as a real guest would print it.
And moto has no `DescribeInstanceInformation`: here every running instance's SSM agent is Online,
unless the instance is tagged `sim:ssm=offline`.

Usage: python local/moto_server.py -H 127.0.0.1 -p PORT (the same arguments as moto_server).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.server import main as moto_main
from moto.ssm.models import Command, ssm_backends
from moto.ssm.responses import SimpleSystemManagerResponse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: make `local` importable
from local.guest_stand_in import MARKER, guest_output
from shared.guest.documents import render

_targets_of = Command._get_instance_ids_from_targets  # the original, for commands that name Targets
_invocation_of = Command.invocation_response


def _only_real_targets(command: Any) -> list[str]:
    return list(_targets_of(command)) if command.targets else []


def _script(command: Any) -> str:
    """What the command runs: its inline commands, or its document rendered with its parameters."""
    if "commands" in (command.parameters or {}):
        return "\n".join(command.parameters["commands"])
    try:
        found = ssm_backends[command.account_id][command.backend_region].get_document(
            command.document_name, "", "", "JSON"
        )
    except Exception:  # a document moto does not hold: nothing we can run
        return ""
    return str(render(json.loads(found["Content"]), command.parameters or {}))


def _run_guest_checks(command: Any, instance_id: str, plugin_name: str) -> dict[str, Any]:
    response: dict[str, Any] = _invocation_of(command, instance_id, plugin_name)
    if MARKER not in _script(command):
        return response
    ec2 = ec2_backends[command.account_id][command.backend_region]
    instance = ec2.get_instance(instance_id)
    tags = {t["key"]: t["value"] for t in ec2.describe_tags(filters={"resource-id": [instance_id]})}
    try:
        images = ec2.describe_images(ami_ids=[instance.image_id])
    except Exception:  # an AMI moto does not know: the guest image falls back to the platform's
        images = []
    ami_name = f"{images[0].name} {images[0].description or ''}" if images else ""
    platform = "Windows" if (instance.platform or "").lower() == "windows" else "Linux/UNIX"
    response["StandardOutputContent"] = guest_output(instance_id, tags, platform, ami_name)
    return response


def _describe_instance_information(response: Any) -> ActionResult:
    """Online for every running instance named (or all), as if each ran the SSM agent."""
    wanted: set[str] = set()
    for item in response._get_param("Filters") or []:
        if item.get("Key") == "InstanceIds":
            wanted |= set(item.get("Values", []))
    ec2 = ec2_backends[response.current_account][response.region]
    listed = []
    for reservation in ec2.describe_instances():
        for instance in reservation.instances:
            if (wanted and instance.id not in wanted) or instance.state != "running":
                continue
            tags = {t["key"]: t["value"] for t in ec2.describe_tags(filters={"resource-id": [instance.id]})}
            ping = "ConnectionLost" if tags.get("sim:ssm") == "offline" else "Online"
            listed.append({"InstanceId": instance.id, "PingStatus": ping, "ResourceType": "EC2Instance"})
    return ActionResult({"InstanceInformationList": listed})


def patch() -> None:
    setattr(Command, "_get_instance_ids_from_targets", _only_real_targets)  # noqa: B010 - patching a class
    setattr(Command, "invocation_response", _run_guest_checks)  # noqa: B010 - patching a class
    setattr(SimpleSystemManagerResponse, "describe_instance_information", _describe_instance_information)  # noqa: B010


if __name__ == "__main__":
    patch()
    moto_main(sys.argv[1:])
