"""moto server with one of its gaps bridged, so the stand-in keeps real AWS semantics.

moto 5.2.5's SSM `send_command(InstanceIds=[...])` without Targets runs an *unfiltered* EC2 query
for targets and so records every instance in the region as targeted. Real AWS targets exactly the
instances named. The app keeps the real semantics; this launcher mends the stand-in instead.

Usage: python local/moto_server.py -H 127.0.0.1 -p PORT (the same arguments as moto_server).
"""

from __future__ import annotations

import sys
from typing import Any

from moto.server import main as moto_main
from moto.ssm.models import Command

_targets_of = Command._get_instance_ids_from_targets  # the original, for commands that name Targets


def _only_real_targets(command: Any) -> list[str]:
    return list(_targets_of(command)) if command.targets else []


def patch() -> None:
    setattr(Command, "_get_instance_ids_from_targets", _only_real_targets)  # noqa: B010 - patching a class


if __name__ == "__main__":
    patch()
    moto_main(sys.argv[1:])
