"""What every HTTP trigger shares: JSON answers, ARM-style error bodies, and the one error mapping.

`http_errors` wraps a trigger: an `AutopilotError` becomes its HTTP status and `ErrorCode` (every
retryable one a 503 `ServiceUnavailable` with Retry-After, so the sender tries again; bad input a 4xx,
so it does not). Anything else is a defect and goes to the host as one.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

import azure.functions as func

from shared.errors import AutopilotError, ErrorCode, InvalidInput
from shared.model.ids import is_instance_id

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30
Trigger = Callable[[func.HttpRequest], func.HttpResponse]


def json_response(body: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, default=str, separators=(",", ":")), status_code=status, mimetype="application/json"
    )


def error_response(status: int, code: ErrorCode, message: str) -> func.HttpResponse:
    response = json_response({"error": {"code": code.value, "message": message}}, status)
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def http_errors(trigger: Trigger) -> Trigger:
    """The one mapping from the app's errors to HTTP answers, for every HTTP trigger."""

    @functools.wraps(trigger)
    def answered(req: func.HttpRequest) -> func.HttpResponse:
        try:
            return trigger(req)
        except AutopilotError as error:
            if error.retryable:
                log.warning("%s answered 503: %s", trigger.__name__, error)
            return error_response(error.http_status, error.code, str(error))

    return answered


def instance_id_of(req: func.HttpRequest) -> str:
    """The route's instance id; InvalidInput (400) when it is not one."""
    instance_id = str(req.route_params.get("instance_id", ""))
    if not is_instance_id(instance_id):
        raise InvalidInput(
            "expected an EC2 instance id like i-0123456789abcdef0", code=ErrorCode.INVALID_INSTANCE_ID
        )
    return instance_id
