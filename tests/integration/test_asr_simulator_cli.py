"""The simulator as a standalone process: documented flags, loopback only, answers ARM, stops on SIGTERM."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from local.asr_simulator.__main__ import parser
from local.asr_simulator.bridge import appliance_config
from local.asr_simulator.server import OFFAZURE_API_VERSION
from local.stack import aws_client
from tests.conftest import REPO, run_module

pytestmark = pytest.mark.integration


def test_help_documents_every_flag():
    result = run_module("local.asr_simulator", "--port", "0", "--help")
    assert result.returncode == 0
    for action in parser()._actions:
        for flag in action.option_strings:
            assert flag in result.stdout
        # argparse wraps lines (even at hyphens), so compare with all white space removed.
        assert action.help and "".join(action.help.split()) in "".join(result.stdout.split())


def test_bridge_needs_a_passphrase_file():
    result = run_module("local.asr_simulator", "--port", "0", "--moto-url", "http://127.0.0.1:1")
    assert result.returncode == 2
    assert "--moto-url needs --passphrase-file" in result.stderr


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--providers", "VMwareCbt", "providers must be among"),
        ("--arm-limits", "writes=fast", "KIND=SIZE/REFILL"),
        ("--fail-job", "TestFailover:often", "NAME[:NUMBER]"),
    ],
)
def test_bad_flags_are_refused_with_a_reason(flag: str, value: str, says: str):
    result = run_module("local.asr_simulator", "--port", "0", flag, value)
    assert result.returncode == 2
    assert says in result.stderr


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


def test_standalone_server_bridges_discovery_from_moto(moto_server, tmp_path: Path):
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("s3cret\n")
    args = [
        "--port",
        "0",
        "--moto-url",
        moto_server.url,
        "--passphrase-file",
        str(passphrase),
        "--appliance-address",
        "10.0.0.250",
        "--bridge-interval",
        "0",
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "local.asr_simulator", *args], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", process.stdout.readline())
        assert found
        url = found.group(1)
        ec2, ssm = aws_client(moto_server.url, "ec2"), aws_client(moto_server.url, "ssm")
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        [instance] = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"]
        config = appliance_config("10.0.0.250", "s3cret")  # the file the simplified appliance generates
        ssm.put_parameter(Name="/cli/config", Value=config, Type="SecureString", Overwrite=True)
        ssm.send_command(
            InstanceIds=[instance["InstanceId"]],
            DocumentName="AWS-RunShellScript",
            Parameters={
                "commands": [
                    "./install -r MS -v VmWare -q -c CSPrime",
                    "aws ssm get-parameter --with-decryption --name /cli/config > /tmp/config.json",
                    "UnifiedAgentConfigurator.sh -c CSPrime -S /tmp/config.json -q",
                ]
            },
        )
        request = urllib.request.Request(f"{url}/admin/bridge/sync", data=b"{}", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.loads(response.read())["registered"] == [instance["InstanceId"]]
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
