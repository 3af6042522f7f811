"""Our SSM documents: typed parameters checked before sending, scripts rendered as SSM would."""

from __future__ import annotations

import re

import pytest

from shared.errors import InvalidInput
from shared.guest.documents import (
    GUEST_CHECKS,
    MOBILITY_AGENT,
    PATTERNS,
    AgentInstall,
    agent_parameters,
    document_name,
    documents,
    guest_check_parameters,
    render,
)
from shared.guest.scripts import GUEST_MARKER, linux_guest_script

INSTALL = AgentInstall(
    "10.0.0.250", "/azmigrate/passphrase", "s3://agents/linux.tar.gz", "s3://agents/win/setup.exe", "CSPrime"
)


def test_four_documents_each_declaring_exactly_the_parameters_its_script_uses():
    docs = documents("MA")
    assert set(docs) == {
        "MA-GuestChecks-Linux",
        "MA-GuestChecks-Windows",
        "MA-MobilityAgent-Linux",
        "MA-MobilityAgent-Windows",
        "MA-MobilityAgentClassic-Linux",
        "MA-MobilityAgentClassic-Windows",
    }
    for name, content in docs.items():
        script = "\n".join(content["mainSteps"][0]["inputs"]["runCommand"])
        used = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", script))
        assert used == set(content["parameters"]), name
        assert all(p["allowedPattern"] == PATTERNS[n] for n, p in content["parameters"].items())


def test_the_rendered_guest_check_is_the_script_the_tests_exercise():
    content = documents("MA")[document_name("MA", GUEST_CHECKS, windows=False)]
    rendered = render(content, guest_check_parameters("10.0.0.250"))
    assert rendered == "\n".join(linux_guest_script("10.0.0.250"))
    assert GUEST_MARKER in rendered


def test_windows_install_parameters_split_the_installer_uri():
    parameters = agent_parameters(INSTALL, windows=True)
    assert parameters["InstallerBucket"] == ["agents"] and parameters["InstallerKey"] == ["win/setup.exe"]
    script = render(documents("MA")[document_name("MA", MOBILITY_AGENT, windows=True)], parameters)
    assert "Read-S3Object -BucketName agents -Key win/setup.exe" in script and "{{" not in script


@pytest.mark.parametrize(
    ("mode", "field", "value"),
    [
        ("CSLegacy", "appliance_address", "10.0.0.250; rm -rf /"),
        ("CSLegacy", "appliance_address", "$(curl evil)"),
        ("CSPrime", "registration_parameter", "/x --query Parameter.Value; id"),
        ("CSLegacy", "registration_parameter", "/x`id`"),
        ("CSPrime", "installer_linux", "https://example.com/agent.tar.gz"),
    ],
)
def test_parameters_that_do_not_match_the_documents_patterns_are_refused(mode, field, value):
    bad = AgentInstall(**{**INSTALL.__dict__, "mode": mode, field: value})
    with pytest.raises(InvalidInput, match="SSM parameter"):
        agent_parameters(bad, windows=False)


def test_an_unknown_agent_mode_is_refused():
    with pytest.raises(InvalidInput, match="agent mode must be CSPrime or CSLegacy"):
        agent_parameters(AgentInstall(**{**INSTALL.__dict__, "mode": "CSOther"}), windows=False)


def test_the_simplified_appliance_registers_from_its_config_file_and_classic_by_address():
    prime = render(
        documents("MA")[document_name("MA", MOBILITY_AGENT, windows=False)], agent_parameters(INSTALL, False)
    )
    assert "UnifiedAgentConfigurator.sh -c CSPrime -S /tmp/MobSvcInstaller/config.json -q" in prime
    assert " -i " not in prime
    classic_install = AgentInstall(**{**INSTALL.__dict__, "mode": "CSLegacy"})
    classic = render(
        documents("MA")[document_name("MA", classic_install.document_kind, windows=True)],
        agent_parameters(classic_install, True),
    )
    assert "/CSEndPoint 10.0.0.250 /PassphraseFilePath" in classic and "/SourceConfigFilePath" not in classic


def test_a_guest_check_address_is_checked_too():
    with pytest.raises(InvalidInput):
        guest_check_parameters("10.0.0.250 && id")
