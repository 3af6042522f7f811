"""Operator control: approve a VM's cutover through the API (the other way is the approved tag)."""

from __future__ import annotations

import azure.functions as func

from functions.http import error_response, instance_id_of, json_response
from shared import wiring
from shared.errors import ConcurrencyConflict, RetryableError
from shared.lifecycle import Phase
from shared.models import HistoryEntry
from shared.store import utc_now

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves it untyped
APPROVABLE = frozenset(
    set(Phase)
    - {
        Phase.STOPPING_SOURCE,
        Phase.MIGRATING,
        Phase.COMMITTING,
        Phase.COMPLETING,
        Phase.DONE,
        Phase.OPTING_OUT,
        Phase.OPTED_OUT,
    }
)


@blueprint.route(route="migrations/{instance_id}/approve", methods=["POST"])
def approve_cutover(req: func.HttpRequest) -> func.HttpResponse:
    instance_id = instance_id_of(req)
    if isinstance(instance_id, func.HttpResponse):
        return instance_id
    store = wiring.state_store()
    try:
        for _ in range(3):  # re-read and try again if a reconciler wrote in between
            record = store.find(instance_id)
            if record is None:
                return error_response(404, "NotFound", f"no migration record for {instance_id}")
            if record.phase not in APPROVABLE:
                return error_response(
                    409, "NotApprovable", f"{instance_id} is {record.phase}: too late to approve"
                )
            now = utc_now()
            try:
                record = store.update(record.evolve(cutover_approved_at=now))
            except ConcurrencyConflict:
                continue
            store.append_history(
                HistoryEntry(
                    instance_id=instance_id,
                    at=now,
                    event="approved",
                    actor="api",
                    reason="cutover approved through the API",
                    record_version=record.version,
                )
            )
            wiring.reconciler().reconcile(only={instance_id})
            return json_response({"approved": True, "phase": record.phase.value}, 200)
    except RetryableError as error:
        return error_response(503, "Unavailable", str(error))
    return error_response(503, "Busy", "the record kept changing; try again")
