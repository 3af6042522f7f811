"""Small helpers every HTTP trigger shares: JSON answers and ARM-style error bodies."""

from __future__ import annotations

import json
import re
from typing import Any

import azure.functions as func

from shared.models import INSTANCE_ID_PATTERN


def json_response(body: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, default=str, separators=(",", ":")), status_code=status, mimetype="application/json"
    )


def error_response(status: int, code: str, message: str) -> func.HttpResponse:
    return json_response({"error": {"code": code, "message": message}}, status)


_INSTANCE_ID = re.compile(INSTANCE_ID_PATTERN)


def instance_id_of(req: func.HttpRequest) -> str | func.HttpResponse:
    """The route's instance id, or the 400 to answer when it is not one."""
    instance_id = str(req.route_params.get("instance_id", ""))
    if not _INSTANCE_ID.match(instance_id):
        return error_response(
            400, "InvalidInstanceId", "expected an EC2 instance id like i-0123456789abcdef0"
        )
    return instance_id
