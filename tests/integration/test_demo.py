"""The README's main command, small: it migrates the fleet, blocks what cannot go, and says why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_module

pytestmark = pytest.mark.integration


def test_demo_migrates_the_tagged_fleet_and_blocks_amazon_linux_and_pv(tmp_path: Path):
    summary_path = tmp_path / "summary.json"
    result = run_module(
        "local.demo", "--vms", "7", "--tagged", "5", "--summary-json", str(summary_path), timeout=240
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    summary = json.loads(summary_path.read_text())
    assert (summary["instances"], summary["tagged"], summary["migrated"]) == (7, 5, 3)
    assert sorted(vm["reason"] for vm in summary["blocked"]) == ["amazon-linux", "paravirtual"]
    assert all("Fix:" in vm["detail"] for vm in summary["blocked"])
    assert summary["failed"] == [] and summary["unfinished"] == {}
    assert summary["asr_actions"] == {
        "PUT": 3,
        "testFailover": 3,
        "testFailoverCleanup": 3,
        "unplannedFailover": 3,
        "failoverCommit": 3,
        "remove": 3,
    }
    assert "migrated 3 of 5 tagged" in result.stdout


def test_demo_refuses_bad_arguments_before_starting_anything():
    result = run_module("local.demo", "--vms", "3", "--tagged", "9", timeout=60)
    assert result.returncode == 2
    assert "--tagged <= --vms" in result.stderr
    assert "stand-ins" not in result.stdout
