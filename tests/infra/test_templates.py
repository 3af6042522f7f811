"""The infra checks CI runs (cfn-lint, checkov, a Bicep parse) pass on infra/ and fail on broken
copies; the templates set every app setting, target routes the app has, and hold no secret."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from local.estate import tag_event
from local.infra_checks import bicep_check, bicep_parse, cfn_lint, checkov, run_all
from shared.app.config import Settings, env_name
from shared.guest.documents import BEGIN, END, cloudformation_block
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


def test_a_symbol_hiding_a_builtin_fails_like_a_compile_would(broken: Path):
    replace_in(broken / "main.bicep", "module appSubscription ", "module subscription ")
    outcome = bicep_check(broken)
    assert not outcome.ok and "'subscription' hides the built-in function" in outcome.output


def test_a_module_output_that_does_not_exist_fails(broken: Path):
    replace_in(broken / "main.bicep", "storage.outputs.accountName", "storage.outputs.noSuchOutput")
    outcome = bicep_check(broken)
    assert not outcome.ok and "modules/storage.bicep has no output noSuchOutput" in outcome.output


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
    site = parsed["json"]["resources"]["site"]["config"]
    return {s["name"]: s["value"] for s in site["properties"]["siteConfig"]["appSettings"]}


# Left out of the Bicep on purpose: the queue triggers bind AZMIGRATE_QUEUE_CONNECTION, and a setting
# of that very name (even empty) would be taken for a connection string instead of the identity-based
# AZMIGRATE_QUEUE_CONNECTION__queueServiceUri.
NOT_IN_BICEP = {"AZMIGRATE_QUEUE_CONNECTION"}


def unset_by_deployment(settings: type[Settings]) -> dict[str, set[str]]:
    """The settings `settings` reads that the Bicep app settings or the sample do not set."""
    code = {env_name(name) for name in settings.model_fields}
    sample = json.loads((REPO / "local.settings.sample.json").read_text())["Values"]
    return {"bicep": code - set(app_settings_in_bicep()) - NOT_IN_BICEP, "sample": code - set(sample)}


def test_every_setting_the_code_reads_is_set_by_the_bicep_and_the_sample():
    assert unset_by_deployment(Settings) == {"bicep": set(), "sample": set()}
    bicep = app_settings_in_bicep()
    code = {env_name(name) for name in Settings.model_fields}
    # NAME__property settings are a trigger binding's identity-based connection, read by the host
    ours = {name for name in bicep if name.startswith("AZMIGRATE_") and "__" not in name}
    assert not NOT_IN_BICEP & set(bicep)
    assert bicep["AZMIGRATE_QUEUE_CONNECTION__queueServiceUri"] == bicep["AZMIGRATE_QUEUE_ACCOUNT_URL"]
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
    assert re.findall(r"/api/([a-z0-9-]+)'", main), "main.bicep names no route"
    targeted = re.findall(r"/functions/([a-z_]+)'", (INFRA / "modules" / "eventgrid.bicep").read_text())
    assert targeted and set(targeted) <= grid


def test_every_http_function_gets_its_roles_key_and_only_that():
    """main.bicep's functionRoles is the app's ROLE_OF_FUNCTION, which names every HTTP function, and
    each role's key comes from its own secure parameter and lands in Key Vault."""
    from shared.app.roles import ROLE_OF_FUNCTION, KeyRole

    main = (INFRA / "main.bicep").read_text()
    keyed = dict(re.findall(r"\{ function: '([a-z0-9_]+)', role: '([a-z]+)' \}", main))
    assert keyed == {name: role.value for name, role in ROLE_OF_FUNCTION.items()}
    assert set(keyed) == http_function_names()
    keys = re.search(r"var roleKeys = \{(.*?)\}", main, re.DOTALL)
    assert keys is not None
    assert dict(re.findall(r"(\w+): (\w+)", keys[1])) == {
        "reader": "readerKey",
        "operator": "operatorKey",
        "eventbridge": "ec2EventsKey",
        "alerts": "alertsKey",
    }
    assert {str(r) for r in KeyRole} == set(dict(re.findall(r"(\w+): (\w+)", keys[1])))
    vault = (INFRA / "modules" / "keyvault.bicep").read_text()
    assert "[for role in items(roleKeys)" in vault and "name: 'function-key-${role.key}'" in vault


def http_function_names() -> set[str]:
    import function_app
    from local.host import functions_of

    app_routes()  # sets valid settings for the import
    return {
        str(f.get_function_name())
        for f in functions_of(function_app.app)
        if f.get_trigger().get_dict_repr()["type"] == "httpTrigger"
    }


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
    # A @secure() parameter never defaults to a value (the empty default means "not given").
    for name, result in bicep_parse(INFRA).items():
        for param, spec in (result["json"].get("parameters") or {}).items():
            if any(d.get("type") == "secure" for d in spec.get("decorators") or []):
                assert spec.get("default") in (None, ""), f"{name}: secure parameter {param} has a default"
    sample = json.loads((REPO / "local.settings.sample.json").read_text())["Values"]
    assert not sample.get("AZMIGRATE_EVENTGRID_TOPIC_KEY")


def test_the_documents_in_region_yaml_are_the_ones_the_app_sends():
    text = (INFRA / "aws" / "region.yaml").read_text()
    block = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert block == cloudformation_block(), (
        "run: python -m shared.guest.documents --write infra/aws/region.yaml"
    )


# --- what CloudFormation cannot check inside strings and patterns ----------------------------------


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML with CloudFormation's short tags, kept as {"Fn::X": value}."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _tag)


def template(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((INFRA / "aws" / name).read_text(), Loader=_CfnLoader)
    return loaded


def test_the_role_trusts_only_this_identity_for_this_audience():
    trust = template("account.yaml")["Resources"]["AppRole"]["Properties"]["AssumeRolePolicyDocument"]
    body, names = trust["Fn::Sub"]
    assert set(names) == {"ProviderArn"}
    filled = body
    for name, value in {
        "ProviderArn": "arn:aws:iam::123456789012:oidc-provider/sts.windows.net/T/",
        "EntraTenantId": "T",
        "Audience": "api://A",
        "AppPrincipalId": "P",
    }.items():
        filled = filled.replace("${" + name + "}", value)
    assert "${" not in filled
    [statement] = json.loads(filled)["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {
        "Federated": "arn:aws:iam::123456789012:oidc-provider/sts.windows.net/T/"
    }
    assert statement["Condition"] == {
        "StringEquals": {"sts.windows.net/T/:aud": "api://A", "sts.windows.net/T/:sub": "P"}
    }


def _matches(pattern: Any, event: Any) -> bool:
    """EventBridge matching for what our rules use: nested fields, value lists, prefix."""
    if isinstance(pattern, dict):
        return all(
            isinstance(event, dict) and key in event and _matches(p, event[key]) for key, p in pattern.items()
        )
    values = event if isinstance(event, list) else [event]
    return any(_value(p, v) for p in pattern for v in values)


def _value(pattern: Any, value: Any) -> bool:
    if isinstance(pattern, dict) and "Fn::Sub" in pattern:
        pattern = pattern["Fn::Sub"].replace("${TagPrefix}", "azmigrate")
    if isinstance(pattern, dict) and "prefix" in pattern:
        return isinstance(value, str) and value.startswith(pattern["prefix"])
    return bool(pattern == value)


def rule_pattern(name: str) -> Any:
    return template("region.yaml")["Resources"][name]["Properties"]["EventPattern"]


def test_the_tag_rule_takes_opt_in_changes_and_ignores_the_apps_own_status_writes():
    pattern = rule_pattern("TagChanges")
    opted = json.loads(tag_event("i-0123456789abcdef0"))
    assert _matches(pattern, opted)
    approved = json.loads(tag_event("i-0123456789abcdef0", keys=("azmigrate:approved",)))
    assert _matches(pattern, approved)
    status_only = json.loads(tag_event("i-0123456789abcdef0", keys=("azmigrate:status",)))
    assert not _matches(pattern, status_only)
    other = json.loads(tag_event("i-0123456789abcdef0", keys=("Name",)))
    assert not _matches(pattern, other)


def test_the_state_rule_takes_the_states_the_lifecycle_waits_on():
    pattern = rule_pattern("StateChanges")
    event: dict[str, Any] = {
        "source": "aws.ec2",
        "detail-type": "EC2 Instance State-change Notification",
        "detail": {"instance-id": "i-0123456789abcdef0", "state": "stopped"},
    }
    assert _matches(pattern, event)
    assert not _matches(pattern, {**event, "detail": {**event["detail"], "state": "pending"}})


def test_the_connection_reads_the_key_from_secrets_manager_only():
    auth = template("region.yaml")["Resources"]["AppConnection"]["Properties"]["AuthParameters"]
    value = auth["ApiKeyAuthParameters"]["ApiKeyValue"]
    assert value == {"Fn::Sub": "{{resolve:secretsmanager:${FunctionKeySecretName}:SecretString}}"}
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert not {"ec2EventsKey", "appliancePassphrase"} & set(parameters), "secure parameters in a file"


AWS_ADAPTERS = (REPO / "shared" / "adapters" / "aws.py", REPO / "shared" / "adapters" / "cloudwatch.py")


def aws_operations_called() -> set[str]:
    """`service:Operation` for every boto3 call the AWS adapters make (read from their source:
    `x = self._clients("ec2", ...)` then `x.op(` or `x.get_paginator("op")`, or the same straight
    on `self._clients("ec2", ...)`)."""
    called: set[str] = set()
    for path in AWS_ADAPTERS:
        text = path.read_text()
        services = dict(re.findall(r"(\w+) = self\._clients\(\"(\w+)\"", text))
        pairs = re.findall(r"self\._clients\(\"(\w+)\"[^)]*\)\s*\.(\w+)\(", text)
        pairs += re.findall(r"self\._clients\(\"(\w+)\"[^)]*\)\s*\.get_paginator\(\"(\w+)\"\)", text)
        for variable, operation in re.findall(r"\b(\w+)\.get_paginator\(\"(\w+)\"\)", text):
            pairs.append((services[variable], operation))
        for variable, operation in re.findall(r"\b(\w+)\.(\w+)\(", text):
            if variable in services and operation != "get_paginator":
                pairs.append((services[variable], operation))
        pairs = [(service, op) for service, op in pairs if op != "get_paginator"]
        called |= {f"{service}:{''.join(p.title() for p in op.split('_'))}" for service, op in pairs}
    return called


def test_the_role_grants_every_aws_call_the_app_makes():
    policy = template("account.yaml")["Resources"]["AppRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    granted = {
        action
        for statement in policy["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    called = aws_operations_called()
    assert {"ec2:DescribeTags", "ec2:DescribeInstances", "ssm:SendCommand"} <= called  # the scan works
    assert called - granted == set(), "the app calls these without the role granting them"
