"""Azure Monitor alerts in the common alert schema, read at the edge and scoped to our vault.

An alert is a hint, like an event: it names resources, and the app reconciles the VMs whose protected
items (our `azmigrate-i-...` names) are among its targets in our vault. Alerts about anything else
are acknowledged and ignored, so a noisy or misrouted action group cannot make the app work.
The shape: Microsoft Learn, "Common alert schema" (the essentials every alert carries), see
tests/contract/README.md for the sample the tests use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.adapters.asr import ITEM_PREFIX
from shared.app.bodies import read_model
from shared.errors import ErrorCode
from shared.model.ids import instance_ids_in

MAX_ALERT_BYTES = 1024 * 1024


class Essentials(BaseModel):
    model_config = ConfigDict(extra="ignore")

    alert_rule: str = Field(default="", alias="alertRule", max_length=1024)
    severity: str = Field(default="", max_length=16)
    monitor_condition: str = Field(default="", alias="monitorCondition", max_length=32)
    alert_target_ids: list[str] = Field(default_factory=list, alias="alertTargetIDs", max_length=1000)


class AlertData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    essentials: Essentials
    alert_context: dict[str, Any] | None = Field(default=None, alias="alertContext")


class CommonAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    schema_id: Literal["azureMonitorCommonAlertSchema"] = Field(alias="schemaId")
    data: AlertData


@dataclass(frozen=True)
class AlertScope:
    """What an alert asks of the app: reconcile `instances`; none when no target is in our vault."""

    rule: str
    instances: list[str]
    targets_in_vault: int
    targets: int


def read_alert(body: bytes, vault_id: str) -> AlertScope:
    """The alert in `body`, scoped to `vault_id` (ARM ids compare without case, as ARM does)."""
    alert = read_model(
        body,
        CommonAlert,
        max_bytes=MAX_ALERT_BYTES,
        code=ErrorCode.INVALID_ALERT,
        what="an Azure Monitor alert in the common alert schema",
    )
    vault = vault_id.lower().rstrip("/")
    targets = alert.data.essentials.alert_target_ids
    ours = [t for t in (t.lower() for t in targets) if t == vault or t.startswith(vault + "/")]
    instances = sorted({i for t in ours for i in instance_ids_in(t, ITEM_PREFIX)})
    return AlertScope(alert.data.essentials.alert_rule, instances, len(ours), len(targets))
