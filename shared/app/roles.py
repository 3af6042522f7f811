"""Who may call which HTTP function: one function-level key per role, and who the caller was.

Each HTTP function belongs to one role; the deployment gives every function of a role the same
named key (infra/main.bicep), so a role's key opens its functions and nothing else. The Functions
host checks the key before the function runs, so a function knows its caller's role from itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum


class KeyRole(StrEnum):
    READER = "reader"  # GET routes: the status API and the assessments
    OPERATOR = "operator"  # control routes: pause, resume, retry, cancel, approve
    EVENTBRIDGE = "eventbridge"  # POST /api/ec2-events, from the AWS API destination
    ALERTS = "alerts"  # POST /api/asr-alerts, from an Azure Monitor action group


# Every HTTP function of the app (function_app.py's names) and its role.
ROLE_OF_FUNCTION: dict[str, KeyRole] = {
    "fleet_status": KeyRole.READER,
    "fleet_view": KeyRole.READER,
    "dashboard": KeyRole.READER,
    "migration_status": KeyRole.READER,
    "assessments": KeyRole.READER,
    "migration_command": KeyRole.OPERATOR,
    "wave_command": KeyRole.OPERATOR,
    "ec2_events": KeyRole.EVENTBRIDGE,
    "asr_alerts": KeyRole.ALERTS,
}
MAX_PRINCIPAL_CHARS = 128


def actor_of(headers: Mapping[str, str], role: KeyRole) -> str:
    """The caller's principal when App Service Authentication (Easy Auth) is on, else the key's role.

    App Service sets WEBSITE_AUTH_ENABLED=True when Easy Auth is on (the variable Microsoft.Identity.Web's
    AppServicesAuthenticationInformation reads; unconfirmed by a Learn page), and then sets, and strips
    from outside requests, X-MS-CLIENT-PRINCIPAL-NAME (Microsoft Learn, "Work with user identities in
    Azure App Service authentication"). Without Easy Auth anyone could send that header, so it is not
    believed.
    """
    if os.environ.get("WEBSITE_AUTH_ENABLED", "").lower() == "true":
        principal = (headers.get("x-ms-client-principal-name") or "").strip()
        if principal:
            return principal[:MAX_PRINCIPAL_CHARS]
    return f"key:{role.value}"
