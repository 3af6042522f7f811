"""Operator control: approve a VM's cutover through the API (the other way is the approved tag)."""

from __future__ import annotations

import azure.functions as func

from shared.app import services
from shared.app.http import http_errors, instance_id_of, json_response
from shared.app.roles import KeyRole, actor_of

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves it untyped


@blueprint.route(route="migrations/{instance_id}/approve", methods=["POST"])
@http_errors
def approve_cutover(req: func.HttpRequest) -> func.HttpResponse:
    """The operator key's role, or the signed-in caller under Easy Auth, is recorded as the approver."""
    instance_id = instance_id_of(req)
    return json_response(services.approve(instance_id, actor=actor_of(req.headers, KeyRole.OPERATOR)))
