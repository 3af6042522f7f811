"""Operator control: commands on one VM (pause, resume, retry, cancel, approve a cutover) or a wave."""

from __future__ import annotations

import azure.functions as func

from shared.app import services
from shared.app.http import http_errors, instance_id_of, json_response
from shared.app.roles import KeyRole, actor_of

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves it untyped


@blueprint.route(route="migrations/{instance_id}/{command}", methods=["POST"])
@http_errors
def migration_command(req: func.HttpRequest) -> func.HttpResponse:
    """pause, resume, retry, cancel or approve one VM. The operator key's role, or the signed-in
    caller under Easy Auth, is recorded as the actor; an optional JSON body gives the reason."""
    instance_id = instance_id_of(req)
    name = str(req.route_params.get("command", ""))
    actor = actor_of(req.headers, KeyRole.OPERATOR)
    return json_response(services.command(instance_id, name, req.get_body(), actor=actor))


@blueprint.route(route="waves/{wave}/{command}", methods=["POST"])
@http_errors
def wave_command(req: func.HttpRequest) -> func.HttpResponse:
    """pause, resume, approve or cancel every VM of a wave; the answer lists each VM's outcome."""
    wave, name = str(req.route_params.get("wave", "")), str(req.route_params.get("command", ""))
    actor = actor_of(req.headers, KeyRole.OPERATOR)
    return json_response(services.wave_command(wave, name, req.get_body(), actor=actor))
