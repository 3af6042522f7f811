"""Events that reach the app, parsed and checked at the edge: EventBridge deliveries from AWS.

An event is only a hint: it names the instance to reconcile. Anything that is not one of the two
deliveries we subscribe to is refused with a reason (the sender must not retry a 4xx).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import ErrorCode, InvalidInput, PayloadTooLarge
from shared.model.ids import INSTANCE_ID_PATTERN, is_instance_id

MAX_EVENT_BYTES = 256 * 1024  # EventBridge's own limit
_INSTANCE_ARN = re.compile(rf"arn:aws[\w-]*:ec2:([a-z0-9-]+):(\d{{12}}):instance/({INSTANCE_ID_PATTERN})")
TAG_CHANGE = "Tag Change on Resource"
STATE_CHANGE = "EC2 Instance State-change Notification"


class EventBridgeEvent(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    id: str = Field(min_length=1, max_length=512)
    source: Literal["aws.tag", "aws.ec2"]
    detail_type: str = Field(alias="detail-type")
    account: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
    time: str = ""
    resources: list[str] = Field(default_factory=list)
    detail: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Ec2Hint:
    """Reconcile this instance; `relevant` is False for a tag change that touched none of our tags."""

    event_id: str
    fingerprint: str
    account: str
    region: str
    instance_id: str
    relevant: bool


def parse_ec2_event(body: bytes, tag_prefix: str) -> Ec2Hint:
    if len(body) > MAX_EVENT_BYTES:
        raise PayloadTooLarge(f"event is {len(body)} bytes; at most {MAX_EVENT_BYTES}")
    try:
        event = EventBridgeEvent.model_validate(json.loads(body))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise _invalid(f"body is not JSON: {error}") from None
    except ValidationError as error:
        fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise _invalid(f"not an EventBridge EC2 event: {fields}") from None
    fingerprint = hashlib.sha256(body).hexdigest()
    if event.source == "aws.tag" and event.detail_type == TAG_CHANGE:
        return _tag_change(event, fingerprint, tag_prefix)
    if event.source == "aws.ec2" and event.detail_type == STATE_CHANGE:
        instance_id = str(event.detail.get("instance-id", ""))
        if not is_instance_id(instance_id):
            raise _invalid("state-change event without a valid detail.instance-id")
        return Ec2Hint(event.id, fingerprint, event.account, event.region, instance_id, relevant=True)
    raise _invalid(f"unsupported event: {event.source} / {event.detail_type}")


def _tag_change(event: EventBridgeEvent, fingerprint: str, tag_prefix: str) -> Ec2Hint:
    detail = event.detail
    if detail.get("service") != "ec2" or detail.get("resource-type") != "instance":
        raise _invalid("tag change is not about an EC2 instance")
    arns = [m for arn in event.resources if (m := _INSTANCE_ARN.fullmatch(arn))]
    if len(arns) != 1:
        raise _invalid("tag change must name exactly one EC2 instance ARN in resources")
    region, account, instance_id = arns[0].groups()
    if (region, account) != (event.region, event.account):
        raise _invalid("the instance ARN's account or region differs from the event's")
    changed = detail.get("changed-tag-keys") or []
    relevant = any(str(key).startswith(f"{tag_prefix}:") for key in changed)
    return Ec2Hint(event.id, fingerprint, account, region, instance_id, relevant)


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, code=ErrorCode.INVALID_EVENT)
