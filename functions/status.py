"""Read-only status API: the fleet by phase, and one VM's record with its timeline."""

from __future__ import annotations

from collections import Counter

import azure.functions as func

from functions.http import error_response, instance_id_of, json_response
from shared import wiring
from shared.errors import RetryableError

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves it untyped


@blueprint.route(route="migrations", methods=["GET"])
def fleet_status(req: func.HttpRequest) -> func.HttpResponse:
    try:
        counts = Counter(record.phase.value for record in wiring.state_store().all())
    except RetryableError as error:
        return error_response(503, "StoreUnavailable", str(error))
    return json_response({"total": sum(counts.values()), "by_phase": dict(sorted(counts.items()))})


@blueprint.route(route="migrations/{instance_id}", methods=["GET"])
def migration_status(req: func.HttpRequest) -> func.HttpResponse:
    instance_id = instance_id_of(req)
    if isinstance(instance_id, func.HttpResponse):
        return instance_id
    store = wiring.state_store()
    try:
        record = store.find(instance_id)
        if record is None:
            return error_response(404, "NotFound", f"no migration record for {instance_id}")
        timeline = store.history(instance_id)
    except RetryableError as error:
        return error_response(503, "StoreUnavailable", str(error))
    return json_response(
        {
            "record": record.model_dump(mode="json"),
            "timeline": [entry.model_dump(mode="json") for entry in timeline],
        }
    )
