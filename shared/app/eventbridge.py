"""Events that reach the app, parsed and checked at the edge: EventBridge deliveries from AWS.

An event is only a hint: it names the instance to reconcile. Anything that is not one of the two
deliveries we subscribe to is refused with a reason (the sender must not retry a 4xx).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.app.bodies import read_model, refuse
from shared.errors import ErrorCode, InvalidInput
from shared.model.ids import INSTANCE_ID_PATTERN, AccountId, InstanceId, Region

MAX_EVENT_BYTES = 256 * 1024  # EventBridge's own limit
_INSTANCE_ARN = re.compile(rf"arn:aws[\w-]*:ec2:([a-z0-9-]+):(\d{{12}}):instance/({INSTANCE_ID_PATTERN})")
TAG_CHANGE = "Tag Change on Resource"
STATE_CHANGE = "EC2 Instance State-change Notification"
D = TypeVar("D", bound=BaseModel)


class TagChangeDetail(BaseModel):
    """`detail` of a "Tag Change on Resource" event (AWS's example: tests/contract/vendor/eventbridge)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    service: str = Field(max_length=64)
    resource_type: str = Field(alias="resource-type", max_length=64)
    changed_tag_keys: list[Annotated[str, Field(max_length=128)]] = Field(
        default_factory=list, alias="changed-tag-keys", max_length=50
    )


class StateChangeDetail(BaseModel):
    """`detail` of an "EC2 Instance State-change Notification" event."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    instance_id: InstanceId = Field(alias="instance-id")
    state: str = Field(max_length=32)


class EventBridgeEvent(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    id: str = Field(min_length=1, max_length=512)
    source: Literal["aws.tag", "aws.ec2"]
    detail_type: str = Field(alias="detail-type", max_length=128)
    account: AccountId
    region: Region
    time: str = Field(default="", max_length=64)
    resources: list[Annotated[str, Field(max_length=2048)]] = Field(default_factory=list, max_length=100)
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
    event = read_model(
        body,
        EventBridgeEvent,
        max_bytes=MAX_EVENT_BYTES,
        code=ErrorCode.INVALID_EVENT,
        what="an EventBridge EC2 event",
    )
    fingerprint = hashlib.sha256(body).hexdigest()
    if event.source == "aws.tag" and event.detail_type == TAG_CHANGE:
        return _tag_change(event, _detail(event, TagChangeDetail), fingerprint, tag_prefix)
    if event.source == "aws.ec2" and event.detail_type == STATE_CHANGE:
        state = _detail(event, StateChangeDetail)
        return Ec2Hint(event.id, fingerprint, event.account, event.region, state.instance_id, relevant=True)
    raise _invalid(f"unsupported event: {event.source} / {event.detail_type}")


def _detail(event: EventBridgeEvent, model: type[D]) -> D:
    try:
        return model.model_validate(event.detail)
    except ValidationError as error:
        refuse(error, code=ErrorCode.INVALID_EVENT, what=f"the detail of a {event.detail_type} event")


def _tag_change(
    event: EventBridgeEvent, detail: TagChangeDetail, fingerprint: str, tag_prefix: str
) -> Ec2Hint:
    if detail.service != "ec2" or detail.resource_type != "instance":
        raise _invalid("tag change is not about an EC2 instance")
    arns = [m for arn in event.resources if (m := _INSTANCE_ARN.fullmatch(arn))]
    if len(arns) != 1:
        raise _invalid("tag change must name exactly one EC2 instance ARN in resources")
    region, account, instance_id = arns[0].groups()
    if (region, account) != (event.region, event.account):
        raise _invalid("the instance ARN's account or region differs from the event's")
    relevant = any(key.startswith(f"{tag_prefix}:") for key in detail.changed_tag_keys)
    return Ec2Hint(event.id, fingerprint, account, region, instance_id, relevant)


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, code=ErrorCode.INVALID_EVENT)
