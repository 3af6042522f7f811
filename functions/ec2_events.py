"""POST /api/ec2-events: EventBridge API-destination deliveries of EC2 tag and state changes.

The host checks the function key (401 without it). Here: size, shape, the allowed accounts and
regions, a replay check, then "reconcile this VM". Bad input never gets a 5xx (EventBridge would
retry it for a day); a store outage does (so it retries).
"""

from __future__ import annotations

import logging

import azure.functions as func

from functions.http import error_response, json_response
from shared import wiring
from shared.errors import InvalidInput, RetryableError, SuspiciousEvent
from shared.events import MAX_EVENT_BYTES, parse_ec2_event

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves it untyped
log = logging.getLogger(__name__)
SOURCE = "aws.ec2-events"


@blueprint.route(route="ec2-events", methods=["POST"])
def ec2_events(req: func.HttpRequest) -> func.HttpResponse:
    declared = req.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_EVENT_BYTES:
        return error_response(413, "PayloadTooLarge", f"events are at most {MAX_EVENT_BYTES} bytes")
    body = req.get_body()
    config = wiring.settings()
    try:
        hint = parse_ec2_event(body, config.tag_prefix)
    except InvalidInput as error:
        status = 413 if len(body) > MAX_EVENT_BYTES else 400
        return error_response(status, "InvalidEvent", str(error))
    if hint.account not in config.aws_accounts or hint.region not in config.aws_regions:
        return error_response(
            403, "ForeignEvent", f"account {hint.account} / region {hint.region} is not allowed"
        )
    try:
        first_time = wiring.state_store().remember_event(SOURCE, hint.event_id, hint.fingerprint)
    except SuspiciousEvent as error:
        return error_response(409, "ReplayedEventId", str(error))
    except RetryableError as error:
        return error_response(503, "StoreUnavailable", str(error))
    if first_time and hint.relevant:
        try:
            wiring.reconciler().reconcile(only={hint.instance_id}, discover=True)
        except RetryableError as error:  # recorded; the reconcile timer converges without the event
            log.warning(
                "reconcile after event deferred", extra={"instance_id": hint.instance_id, "error": str(error)}
            )
    return json_response(
        {
            "accepted": True,
            "instanceId": hint.instance_id,
            "duplicate": not first_time,
            "relevant": hint.relevant,
        },
        202,
    )
