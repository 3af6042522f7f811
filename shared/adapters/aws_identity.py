"""AWS credentials without AWS keys: the managed identity's Entra token, exchanged for a role's
temporary credentials with AssumeRoleWithWebIdentity, refreshed before they expire.

In Azure the app asks its managed identity for a token whose audience is the Entra app registration
AWS trusts (infra/aws/account.yaml: the OIDC provider and the role's aud/sub conditions). Locally,
with no role set, boto3's default chain applies (the moto stand-in accepts any credentials).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

import boto3
import botocore.session
from botocore.credentials import AssumeRoleWithWebIdentityCredentialFetcher, DeferredRefreshableCredentials
from botocore.utils import parse_timestamp

SESSION_NAME = "migration-autopilot"


def default_session() -> boto3.session.Session:
    """boto3's default credential chain, with quick timestamps."""
    return boto3.session.Session(botocore_session=_core_session())


def _core_session() -> botocore.session.Session:
    core = botocore.session.Session()
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=quick_timestamp)
    return core


def quick_timestamp(value: Any) -> datetime:
    """An AWS timestamp as botocore gives it, without dateutil for the ISO 8601 strings EC2 sends:
    dateutil took a third of a steady pass's CPU parsing the instances' launch and attach times."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is not None:
                return parsed
    parsed = parse_timestamp(value)
    assert isinstance(parsed, datetime)
    return parsed


def web_identity_session(
    role_arn: str, token: Callable[[], str], *, region: str, sts_endpoint_url: str | None = None
) -> boto3.session.Session:
    """A session whose credentials come from `role_arn`, assumed with `token()` on every refresh."""
    core = _core_session()
    core.set_config_variable("region", region)
    create_client = (
        partial(core.create_client, endpoint_url=sts_endpoint_url) if sts_endpoint_url else core.create_client
    )
    fetcher = AssumeRoleWithWebIdentityCredentialFetcher(
        client_creator=create_client,
        web_identity_token_loader=token,
        role_arn=role_arn,
        extra_args={"RoleSessionName": SESSION_NAME},
    )
    # botocore has no public setter for credentials built in code; this is the hook its own
    # providers fill, and the deferred form fetches on first use and refreshes before expiry.
    core._credentials = DeferredRefreshableCredentials(
        method="assume-role-with-web-identity", refresh_using=fetcher.fetch_credentials
    )
    return boto3.session.Session(botocore_session=core)


def role_arn(account_id: str, role_name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"
