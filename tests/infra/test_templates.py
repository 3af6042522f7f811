"""The infra checks CI runs (cfn-lint, checkov, a Bicep parse) pass on infra/ and fail on broken
copies; the templates set every app setting, target routes the app has, and hold no secret."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from local.infra_checks import bicep_check, bicep_parse, cfn_lint, checkov, run_all
from shared.adapters.ssm_documents import BEGIN, END, cloudformation_block
from shared.config import Settings, env_name
from tests.conftest import REPO, VALID_SETTINGS

INFRA = REPO / "infra"


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A copy of infra/ to break."""
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy)
    return copy


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_the_templates_pass_every_check():
    outcomes = run_all(INFRA)
    for outcome in outcomes:
        assert outcome.ok, f"{outcome.tool}:\n{outcome.output[-3000:]}"


def test_a_bicep_syntax_error_fails_the_parse(broken: Path):
    replace_in(broken / "modules" / "storage.bicep", "kind: 'StorageV2'", "kind: 'StorageV2")
    outcome = bicep_check(broken)
    assert not outcome.ok and "modules/storage.bicep" in outcome.output


def test_a_broken_cloudformation_template_fails_cfn_lint(broken: Path):
    replace_in(broken / "aws" / "region.yaml", "!GetAtt AppConnection.Arn", "!GetAtt NoSuchConnection.Arn")
    outcome = cfn_lint(broken)
    assert not outcome.ok and "NoSuchConnection" in outcome.output


def test_an_insecure_change_fails_checkov(broken: Path):
    replace_in(
        broken / "modules" / "storage.bicep", "minimumTlsVersion: 'TLS1_2'", "minimumTlsVersion: 'TLS1_0'"
    )
    replace_in(broken / "aws" / "region.yaml", "Action: events:InvokeApiDestination", "Action: '*'")
    outcome = checkov(broken)
    assert not outcome.ok
    assert "CKV_AZURE_44" in outcome.output  # storage accepts TLS below 1.2
    failed_aws = re.findall(
        r"Check: (CKV_AWS_\d+).*\n\s+FAILED for resource: AWS::IAM::Role.InvokeRole", outcome.output
    )
    assert failed_aws, outcome.output[-3000:]  # a role allowed every action


def test_every_suppression_carries_a_reason():
    for path in INFRA.rglob("*.bicep"):
        for line in path.read_text().splitlines():
            if "checkov:skip=" in line:
                check, _, reason = line.split("checkov:skip=", 1)[1].partition(":")
                assert re.fullmatch(r"CKV_[A-Z0-9_]+", check.strip()) and len(reason.strip()) > 20, line
    for path in (INFRA / "aws").glob("*.yaml"):
        text = path.read_text()
        skips = re.findall(r"- id: (CKV_\w+)\n\s+comment: >-\n((?:\s+.+\n)+)", text)
        assert text.count("- id: CKV_") == len(skips), f"{path.name}: a skip without a comment"


# --- what the templates say about the app ----------------------------------------------------------


def app_settings_in_bicep() -> dict[str, Any]:
    parsed = bicep_parse(INFRA)["modules/functionapp.bicep"]
    assert parsed["ok"], parsed
    site = parsed["json"]["resources"]["site"]["config"]  # type: ignore[index]
    return {s["name"]: s["value"] for s in site["properties"]["siteConfig"]["appSettings"]}


def unset_by_deployment(settings: type[Settings]) -> dict[str, set[str]]:
    """The settings `settings` reads that the Bicep app settings or the sample do not set."""
    code = {env_name(name) for name in settings.model_fields}
    sample = json.loads((REPO / "local.settings.sample.json").read_text())["Values"]
    return {"bicep": code - set(app_settings_in_bicep()), "sample": code - set(sample)}


def test_every_setting_the_code_reads_is_set_by_the_bicep_and_the_sample():
    assert unset_by_deployment(Settings) == {"bicep": set(), "sample": set()}
    bicep = app_settings_in_bicep()
    code = {env_name(name) for name in Settings.model_fields}
    ours = {name for name in bicep if name.startswith("AZMIGRATE_")}
    assert ours - code == set(), "Bicep sets AZMIGRATE_ settings the code does not know (a typo?)"
    for schedule in ("JOB_WATCH", "RECONCILE", "NIGHTLY"):  # the timers read them through %...%
        assert bicep[f"AZMIGRATE_{schedule}_SCHEDULE"], schedule


def test_a_setting_added_to_the_code_alone_is_caught():
    class Grown(Settings):
        brand_new_knob: str = "x"

    missing = {"AZMIGRATE_BRAND_NEW_KNOB"}
    assert unset_by_deployment(Grown) == {"bicep": missing, "sample": missing}


def app_routes() -> tuple[set[str], set[str]]:
    """(HTTP routes, Event Grid trigger names) of the app as the Functions host indexes it."""
    import os

    os.environ.update({k: os.environ.get(k, v) for k, v in VALID_SETTINGS.items()})
    import function_app
    from local.host import functions_of

    routes, grid = set(), set()
    for function in functions_of(function_app.app):
        trigger = function.get_trigger().get_dict_repr()
        if trigger["type"] == "httpTrigger":
            routes.add(trigger["route"])
        elif trigger["type"] == "eventGridTrigger":
            grid.add(str(function.get_function_name()))
    return routes, grid


def test_every_route_the_templates_target_exists_in_the_app():
    routes, grid = app_routes()
    region = (INFRA / "aws" / "region.yaml").read_text()
    endpoint = re.search(r'AllowedPattern: "\^https://\[A-Za-z0-9\.-\]\+/api/([a-z0-9-]+)\$"', region)
    assert endpoint is not None and endpoint[1] in routes
    main = (INFRA / "main.bicep").read_text()
    assert all(route in routes for route in re.findall(r"/api/([a-z0-9-]+)'", main))
    targeted = re.findall(r"/functions/([a-z_]+)'", (INFRA / "modules" / "eventgrid.bicep").read_text())
    assert targeted and set(targeted) <= grid


_SECRETS = [
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"(?i)aws_secret_access_key|SecretAccessKey"),
    re.compile(r"AccountKey=[A-Za-z0-9+/=]{20,}"),  # storage account keys
    re.compile(r"(?i)client_?secret\s*[:=]\s*['\"][^'\"]+"),
    re.compile(r"SharedAccessKey=[A-Za-z0-9+/=]{20,}"),
]


def test_no_key_or_secret_in_templates_parameters_or_sample():
    files = [*INFRA.rglob("*.bicep"), *INFRA.rglob("*.json"), *INFRA.rglob("*.yaml")]
    files.append(REPO / "local.settings.sample.json")
    for path in files:
        text = path.read_text()
        for pattern in _SECRETS:
            assert not pattern.search(text), f"{path.relative_to(REPO)}: {pattern.pattern}"
    for path in INFRA.rglob("*.bicep"):  # a @secure() parameter never has a default value
        text = path.read_text()
        for match in re.finditer(r"@secure\(\)\s*(?:@description\([^)]*\)\s*)?param (\w+) string( =)?", text):
            assert match[2] is None or "appliancePassphrase" in match[1], (
                f"{path.name}: {match[1]} has a default"
            )
    sample = json.loads((REPO / "local.settings.sample.json").read_text())["Values"]
    assert not sample.get("AZMIGRATE_EVENTGRID_TOPIC_KEY")


def test_the_documents_in_region_yaml_are_the_ones_the_app_sends():
    text = (INFRA / "aws" / "region.yaml").read_text()
    block = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert block == cloudformation_block(), (
        "run: python -m shared.adapters.ssm_documents --write infra/aws/region.yaml"
    )
