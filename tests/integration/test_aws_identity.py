"""Web-identity credentials over HTTP against the moto stand-in's STS: no AWS keys anywhere."""

from __future__ import annotations

import pytest

from local.stack import LocalService
from shared.aws_identity import role_arn, web_identity_session

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
