"""The README's main command, small: it migrates the fleet, blocks what cannot go, and says why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_module

pytestmark = pytest.mark.integration


def test_demo_migrates_the_fleet_blocks_what_cannot_go_with_fixes_and_right_sizes(tmp_path: Path):
    """On two hosts working one queue, as the README's `--workers 2`."""
    summary_path = tmp_path / "summary.json"
    result = run_module(
        *("local.demo", "--vms", "9", "--tagged", "8", "--workers", "2"),
        *("--summary-json", str(summary_path)),
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    summary = json.loads(summary_path.read_text())
    assert (summary["instances"], summary["tagged"], summary["migrated"]) == (9, 8, 3)
    blocked = {vm["name"].rsplit("-", 1)[0]: [c["code"] for c in vm["checks"]] for vm in summary["blocked"]}
    assert blocked == {
        "amazon-linux": ["amazon-linux"],
        "paravirtual": ["paravirtual"],
        "ubuntu": ["unsupported-kernel"],
        "port-closed": ["appliance-unreachable"],
    }
    assert all(c["fix"] for vm in summary["blocked"] for c in vm["checks"])
    assert [vm["name"] for vm in summary["assessed"]] == ["dry-run-04"]
    assert summary["failed"] == [] and summary["unfinished"] == {}
    assert len(summary["messages_by_worker"]) == 2 and sum(summary["messages_by_worker"]) > 16
    assert summary["asr_actions"] == {
        "PUT": 3,
        "testFailover": 3,
        "testFailoverCleanup": 3,
        "unplannedFailover": 3,
        "failoverCommit": 3,
        "remove": 3,
    }
    # The demo's vault starts bare: one policy and one mapping, sent once whatever the workers.
    assert summary["vault_setup"] == {"replicationPolicies": 1, "replicationProtectionContainerMappings": 1}
    # m5.2xlarge everywhere (like for like D8s_v5); the size follows each VM's measured load.
    assert all("like for like Standard_D8s_v5, performance" in size for size in summary["sizes"].values())
    chosen = {name.rsplit("-", 1)[0]: size.split()[0] for name, size in summary["sizes"].items()}
    assert chosen == {
        "dry-run": "Standard_E4s_v5",  # 12% CPU, memory not measured: 2 vCPU but 32 GiB
        "sles": "Standard_D4s_v5",  # 35% CPU, 30% memory: 4 vCPU, 12.5 GiB
        "rhel": "Standard_E2s_v5",  # 12% CPU, 30% memory: 2 vCPU, 12.5 GiB
        "windows": "Standard_D8s_v5",  # 70% CPU, memory not measured: like for like
    }
    assert "migrated 3 of 8 tagged" in result.stdout
    fleet = result.stdout.split("$ autopilot fleet", 1)[1]  # it ends with the operator CLI's fleet
    assert "Fleet: 8 VMs" in fleet and "Needs a person" in fleet and "appliance-unreachable" in fleet
    assert (
        "appliance-unreachable: Add an inbound rule to the appliance's security group: TCP 9443 from"
        in result.stdout
    )


def test_demo_refuses_bad_arguments_before_starting_anything():
    result = run_module("local.demo", "--vms", "3", "--tagged", "9", timeout=60)
    assert result.returncode == 2
    assert "--tagged <= --vms" in result.stderr
    assert "stand-ins" not in result.stdout
