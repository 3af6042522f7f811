"""The edge's readers without a network: the bounded JSON reader, alert scoping, job events, actors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.front_end import HostKeys, Route, _decoded
from shared.app.alerts import read_alert
from shared.app.bodies import read_json
from shared.app.eventbridge import parse_ec2_event
from shared.app.job_events import vm_of_job_event
from shared.app.roles import KeyRole, actor_of
from shared.errors import ErrorCode, InvalidInput, PayloadTooLarge
from shared.reconcile.jobwatch import EVENT_TYPE

VAULT = "/subscriptions/s/resourceGroups/rg-Migrate/providers/Microsoft.RecoveryServices/vaults/vault-1"
ITEMS = "/replicationFabrics/f/replicationProtectionContainers/c/replicationProtectedItems"


def read(body: bytes, max_bytes: int = 1_000_000) -> object:
    return read_json(body, max_bytes=max_bytes, code=ErrorCode.INVALID_EVENT)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 33 + b"]" * 33,
        b"{" + b'"a":{' * 33 + b"}" * 34,
        b"\xff",
        b"\xef\xbb\xbf{}",  # a byte-order mark is not JSON
        b'{"a": 1, "a": 2}',
        b"[NaN]",
        b"[-Infinity]",
        b"",
        b"{",
        b'{"id": "\\ud800"}',  # an escaped lone surrogate: no character, and no table takes it
        b'{"\\udfff": 1}',
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the parser's own guard
    ],
)
def test_the_reader_refuses_what_is_not_plain_bounded_json(body: bytes):
    with pytest.raises(InvalidInput) as refused:
        read(body)
    assert refused.value.http_status == 400 and refused.value.code == ErrorCode.INVALID_EVENT


def test_brackets_inside_strings_do_not_count_as_nesting_and_32_levels_pass():
    assert read(json.dumps({"text": "[[[[" * 100, "escaped": '\\"[[[['}).encode()) is not None
    thirty_two = b"[" * 32 + b"]" * 32
    assert read(thirty_two) == json.loads(thirty_two)


def test_over_the_size_limit_is_a_413_before_parsing():
    with pytest.raises(PayloadTooLarge):
        read(b" " * 1001, max_bytes=1000)


def test_unterminated_strings_full_of_escaped_quotes_are_refused_in_linear_time():
    """A quadratic scan would take minutes on this (a regex that restarts at every quote)."""
    with pytest.raises(InvalidInput):
        read(b'["' + b'\\"' * 200_000, max_bytes=1024 * 1024)


def alert(*targets: str) -> bytes:
    essentials = {"alertRule": "r", "severity": "Sev1", "alertTargetIDs": list(targets)}
    return json.dumps(
        {"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": essentials}}
    ).encode()


def test_an_alert_reaches_only_our_items_in_our_vault_whatever_the_case():
    ours = f"{VAULT}{ITEMS}/azmigrate-i-0123456789abcdef0".lower()
    twin = f"{VAULT}0{ITEMS}/azmigrate-i-0fedcba9876543210"  # vault-10 is not vault-1
    foreign = f"{VAULT.replace('rg-Migrate', 'rg-other')}{ITEMS}/azmigrate-i-0aaaaaaaaaaaaaaa1"
    not_our_item = f"{VAULT}{ITEMS}/web-i-0bbbbbbbbbbbbbbb2"
    ten_digits = f"{VAULT}{ITEMS}/azmigrate-i-0123456789"  # the one instance-id rule: not an id
    scope = read_alert(alert(ours, twin, foreign, not_our_item, ten_digits, VAULT), VAULT)
    assert (scope.instances, scope.targets_in_vault, scope.targets) == (["i-0123456789abcdef0"], 4, 6)


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"schemaId": "azureMonitorCommonAlertSchema"}).encode(),
        json.dumps({"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": None}}).encode(),
        json.dumps(
            {"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": {"alertTargetIDs": [1]}}}
        ).encode(),
        json.dumps({"schemaId": "AIP Budget Notification", "data": {}}).encode(),
    ],
)
def test_an_alert_not_in_the_common_schema_is_refused(body: bytes):
    with pytest.raises(InvalidInput) as refused:
        read_alert(body, VAULT)
    assert refused.value.code == ErrorCode.INVALID_ALERT


@pytest.mark.parametrize(
    ("event_type", "subject", "data", "vm"),
    [
        (EVENT_TYPE, "", {"jobId": "j", "instanceId": "i-0123456789abcdef0"}, "i-0123456789abcdef0"),
        ("", "", {"jobId": "j", "instanceId": "i-01234567"}, "i-01234567"),  # a CloudEvent: no type
        ("", "", {"jobId": "j", "itemName": "azmigrate-i-0123456789abcdef0"}, "i-0123456789abcdef0"),
        ("", "azmigrate-i-0123456789abcdef0", {"jobId": "j"}, "i-0123456789abcdef0"),
    ],
)
def test_a_job_event_names_one_vm(event_type: str, subject: str, data: object, vm: str):
    assert vm_of_job_event(event_type, subject, data) == vm


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("Microsoft.Storage.BlobCreated", {"jobId": "j", "instanceId": "i-0123456789abcdef0"}),
        ("", {"jobId": "j", "instanceId": ["i-0123456789abcdef0"]}),
        ("", {"jobId": "j", "instanceId": {"id": "i-0123456789abcdef0"}}),
        ("", {"jobId": "j", "instanceId": "i-0123456789"}),
        ("", {"jobId": "j", "instanceId": "i-0123456789abcdef0\n"}),
        ("", {"jobId": "j"}),
        ("", {"instanceId": "i-0123456789abcdef0"}),
        ("", ["i-0123456789abcdef0"]),
        ("", None),
    ],
)
def test_a_foreign_or_malformed_job_event_is_refused_with_a_reason(event_type: str, data: object):
    with pytest.raises(ValueError, match=r"\w"):
        vm_of_job_event(event_type, "not-ours", data)


@pytest.mark.parametrize(
    ("enabled", "headers", "actor"),
    [
        ("True", {"x-ms-client-principal-name": "alice@contoso.com"}, "alice@contoso.com"),
        ("true", {"x-ms-client-principal-name": "  bob  "}, "bob"),
        ("", {"x-ms-client-principal-name": "alice@contoso.com"}, "key:operator"),
        ("False", {"x-ms-client-principal-name": "alice@contoso.com"}, "key:operator"),
        ("True", {}, "key:operator"),
    ],
)
def test_the_actor_is_the_principal_only_under_easy_auth(
    monkeypatch: pytest.MonkeyPatch, enabled: str, headers: dict[str, str], actor: str
):
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", enabled)
    assert actor_of(headers, KeyRole.OPERATOR) == actor


def test_route_values_decode_per_segment_and_keep_an_encoded_slash():
    assert _decoded("i-0123%34") == "i-01234"
    assert _decoded("a%2Fb%2fc") == "a%2Fb%2Fc"
    assert _decoded("%E2%80%AE") == "\u202e"
    route = Route(
        "f", ("migrations", "{instance_id}", "approve"), frozenset({"POST"}), KeyRole.OPERATOR, print
    )
    assert route.match(["Migrations", "i-1", "APPROVE"]) == {"instance_id": "i-1"}  # literals: any case
    assert route.match(["migrations", "", "approve"]) is None
    assert route.match(["migrations", "i-1"]) is None


def test_a_client_sends_the_key_of_the_routes_role():
    keys = HostKeys({role: role.value for role in KeyRole}, "master")
    assert keys.for_call("GET", "/api/migrations?x=1") == "reader"
    assert keys.for_call("POST", "/api/migrations/i-1/approve") == "operator"
    assert keys.for_call("POST", "/api/ec2-events") == "eventbridge"
    assert keys.for_call("POST", "/api/asr-alerts") == "alerts"
    assert keys.for_call("POST", "/admin/functions/reconcile_timer") == "master"


AWS_SAMPLES = Path(__file__).parents[1] / "contract" / "vendor" / "eventbridge" / "ec2-events.json"


def test_awss_documented_event_samples_parse_as_the_hints_they_are():
    """The EventBridge models are checked against AWS's own examples (tests/contract/README.md)."""
    samples = json.loads(AWS_SAMPLES.read_text())
    tag = parse_ec2_event(json.dumps(samples["tagChange"]).encode(), "azmigrate")
    assert (tag.account, tag.region, tag.instance_id, tag.relevant) == (
        "123456789012",
        "us-east-1",
        "i-0000000aaaaaaaaaa",
        False,  # none of the changed keys is ours
    )
    samples["tagChange"]["detail"]["changed-tag-keys"] = ["azmigrate:enabled"]
    assert parse_ec2_event(json.dumps(samples["tagChange"]).encode(), "azmigrate").relevant
    state = parse_ec2_event(json.dumps(samples["stateChange"]).encode(), "azmigrate")
    assert (state.instance_id, state.relevant) == ("i-1234567890abcdef0", True)
