"""Read-only status API: the fleet by phase, one VM's record with its timeline, and the assessments."""

from __future__ import annotations

import azure.functions as func

from shared.app import services
from shared.app.http import http_errors, instance_id_of, json_response

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves it untyped


@blueprint.route(route="migrations", methods=["GET"])
@http_errors
def fleet_status(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(services.fleet_status())


@blueprint.route(route="fleet", methods=["GET"])
@http_errors
def fleet_view(req: func.HttpRequest) -> func.HttpResponse:
    """By wave and phase, what VMs wait for, replication, who needs a person; `?wave=NAME` narrows."""
    return json_response(services.fleet_view(req.params.get("wave")))


@blueprint.route(route="dashboard", methods=["GET"])
@http_errors
def dashboard(req: func.HttpRequest) -> func.HttpResponse:
    """The dashboard page: open it as /api/dashboard?code=READER_KEY (see the README)."""
    page, headers = services.dashboard()
    return func.HttpResponse(page, status_code=200, mimetype="text/html", charset="utf-8", headers=headers)


@blueprint.route(route="migrations/{instance_id}", methods=["GET"])
@http_errors
def migration_status(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(services.migration_status(instance_id_of(req)))


@blueprint.route(route="assessments", methods=["GET"])
@http_errors
def assessments(req: func.HttpRequest) -> func.HttpResponse:
    """`?wave=NAME` narrows to one wave; `?format=csv` (or Accept: text/csv) answers CSV, else JSON."""
    body, media_type = services.assessments(
        req.params.get("wave"), req.params.get("format") or "", req.headers.get("accept") or ""
    )
    return func.HttpResponse(body, status_code=200, mimetype=media_type)
