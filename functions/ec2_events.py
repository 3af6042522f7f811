"""POST /api/ec2-events: EventBridge API-destination deliveries of EC2 tag and state changes.

The host checks the function key (401 without it). Bad input never gets a 5xx (EventBridge would
retry it for a day); a store outage does (so it retries). The checks: `services.accept_ec2_event`.
"""

from __future__ import annotations

import azure.functions as func

from shared.app import services
from shared.app.http import http_errors, json_response

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves it untyped


@blueprint.route(route="ec2-events", methods=["POST"])
@http_errors
def ec2_events(req: func.HttpRequest) -> func.HttpResponse:
    accepted = services.accept_ec2_event(req.get_body(), req.headers.get("Content-Length", ""))
    return json_response(accepted, 202)
