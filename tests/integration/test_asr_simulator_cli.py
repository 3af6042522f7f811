"""The simulator as a standalone process: documented flags, loopback only, answers ARM, stops on SIGTERM."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request

import pytest

from local.asr_simulator.__main__ import parser
from local.asr_simulator.server import OFFAZURE_API_VERSION
from tests.conftest import REPO, run_module

pytestmark = pytest.mark.integration


def test_help_documents_every_flag():
    result = run_module("local.asr_simulator", "--port", "0", "--help")
    assert result.returncode == 0
    for action in parser()._actions:
        for flag in action.option_strings:
            assert flag in result.stdout
        assert action.help and action.help in " ".join(result.stdout.split())


def test_refuses_a_non_loopback_host():
    result = run_module("local.asr_simulator", "--port", "0", "--host", "0.0.0.0")
    assert result.returncode == 2
    assert "never listens beyond loopback" in result.stderr


def test_standalone_server_serves_pre_discovered_machines_and_stops():
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local.asr_simulator",
            "--port",
            "0",
            "--discovered",
            "3",
            "--vault",
            "v-MigrateVault-1",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+) for (\S+)", banner)
        assert match, banner
        url, vault_prefix = match.groups()
        site = vault_prefix.replace(
            "Microsoft.RecoveryServices/vaults/v-MigrateVault-1",
            "Microsoft.OffAzure/ServerSites/v-MigrateVault-1-site",
        )
        request = urllib.request.Request(
            f"{url}{site}/machines?api-version={OFFAZURE_API_VERSION}", headers={"Authorization": "Bearer x"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            machines = json.loads(response.read())["value"]
        assert [m["properties"]["displayName"] for m in machines] == ["server-1", "server-2", "server-3"]
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
