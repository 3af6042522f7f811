"""The README's main command, small: it runs, reports honestly and leaves nothing running."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_module

pytestmark = pytest.mark.integration


def test_demo_takes_the_tagged_fleet_into_the_store(tmp_path: Path):
    summary_path = tmp_path / "summary.json"
    result = run_module(
        "local.demo", "--vms", "7", "--tagged", "5", "--summary-json", str(summary_path), timeout=180
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(summary_path.read_text())
    assert summary["instances"] == 7
    assert summary["tagged"] == 5
    assert summary["records"] == 5
    assert sum(summary["by_phase"].values()) == 5
    assert summary["by_wave"] == {"wave1": 2, "wave2": 3}
    assert summary["cas_race"].startswith("second writer refused")


def test_demo_refuses_bad_arguments_before_starting_anything():
    result = run_module("local.demo", "--vms", "3", "--tagged", "9", timeout=60)
    assert result.returncode == 2
    assert "--tagged <= --vms" in result.stderr
    assert "stand-ins up" not in result.stdout
