"""Read-only status API: the fleet by phase, one VM's record with its timeline, and the assessments."""

from __future__ import annotations

from collections import Counter

import azure.functions as func
from pydantic import TypeAdapter, ValidationError

from functions.http import error_response, instance_id_of, json_response
from shared import wiring
from shared.assessment.export import to_csv, to_json
from shared.errors import RetryableError
from shared.models import Wave

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


@blueprint.route(route="assessments", methods=["GET"])
def assessments(req: func.HttpRequest) -> func.HttpResponse:
    """`?wave=NAME` narrows to one wave; `?format=csv` (or Accept: text/csv) answers CSV, else JSON."""
    wave, wanted = req.params.get("wave"), (req.params.get("format") or "").lower()
    if wanted not in {"", "csv", "json"}:
        return error_response(400, "InvalidFormat", "format must be csv or json")
    try:
        wave = TypeAdapter(Wave).validate_python(wave) if wave else None
    except ValidationError:
        return error_response(400, "InvalidWave", "wave must be letters, digits, . _ - (up to 63)")
    as_csv = wanted == "csv" or (not wanted and "text/csv" in (req.headers.get("accept") or ""))
    store = wiring.state_store()
    try:
        records = list(store.by_wave(wave) if wave else store.all())
    except RetryableError as error:
        return error_response(503, "StoreUnavailable", str(error))
    if as_csv:
        return func.HttpResponse(to_csv(records), status_code=200, mimetype="text/csv")
    return func.HttpResponse(to_json(records), status_code=200, mimetype="application/json")
