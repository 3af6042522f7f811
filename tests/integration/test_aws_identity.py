"""Web-identity credentials over HTTP against the moto stand-in's STS: no AWS keys anywhere."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from local.stack import LocalService
from shared.adapters.aws import AwsAdapter
from shared.adapters.aws_fleet import AwsFleet
from shared.adapters.aws_identity import role_arn, web_identity_session
from tests.integration.aws_support import run_opted_in

pytestmark = pytest.mark.integration


def test_the_role_is_assumed_with_the_token_and_its_credentials_sign_calls(
    moto_server: LocalService, monkeypatch
):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)  # prove nothing else supplies credentials
    asked: list[str] = []

    def token() -> str:
        asked.append("token")
        return "eyJhbGciOiJub25lIn0.eyJhdWQiOiJhcGk6Ly9taWdyYXRpb24tYXV0b3BpbG90LWF3cyJ9."

    arn = role_arn("123456789012", "MigrationAutopilot")
    session = web_identity_session(arn, token, region="us-east-1", sts_endpoint_url=moto_server.url)
    assert asked == []  # deferred: nothing is fetched until a call needs it
    credentials = session.get_credentials()
    assert credentials is not None
    frozen = credentials.get_frozen_credentials()
    assert frozen.access_key and frozen.token and asked == ["token"]
    ec2 = session.client("ec2", endpoint_url=moto_server.url)
    assert "Reservations" in ec2.describe_instances()  # a call signed with the assumed credentials


def test_role_arns_name_the_account_and_role():
    assert (
        role_arn("123456789012", "MigrationAutopilot") == "arn:aws:iam::123456789012:role/MigrationAutopilot"
    )


def test_one_fleet_serves_several_accounts_each_through_its_own_role(moto_server: LocalService, monkeypatch):
    """moto keeps each assumed role's resources in that role's account, as AWS does."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    prefix = f"ma{uuid.uuid4().hex[:6]}"
    adapters: dict[str | None, AwsAdapter] = {}
    launched: dict[str, str] = {}
    for account in ("111111111111", "222222222222"):
        session = web_identity_session(
            role_arn(account, "MigrationAutopilot"),
            lambda: "token",
            region="us-east-1",
            sts_endpoint_url=moto_server.url,
        )
        ec2 = session.client("ec2", endpoint_url=moto_server.url)
        launched[account] = run_opted_in(ec2, prefix=prefix)[0]

        def clients(service: str, region: str, session: Any = session) -> Any:
            return session.client(service, region_name=region, endpoint_url=moto_server.url)

        adapters[account] = AwsAdapter(clients, ["us-east-1"], prefix)
    fleet = AwsFleet(adapters)
    found = fleet.opted_in()
    assert {launched[a]: a for a in launched} == {i: found[i].account_id for i in launched.values()}
    other = found[launched["222222222222"]]
    fleet.set_status(other, "preflight")  # written with that account's credentials
    tags = adapters["222222222222"].instances({"us-east-1": [other.instance_id]})[other.instance_id].tags
    assert tags[f"{prefix}:status"] == "preflight"
    assert launched["222222222222"] not in adapters["111111111111"].opted_in()  # accounts stay apart
