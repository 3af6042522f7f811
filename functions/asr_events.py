"""Site Recovery signals: the job watcher, its Event Grid events, and Azure Monitor alert webhooks."""

from __future__ import annotations

import json
import logging

import azure.functions as func

from functions.http import error_response, json_response
from shared import wiring
from shared.errors import RetryableError
from shared.jobwatch import instance_of, watch
from shared.store import utc_now

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves it untyped
log = logging.getLogger(__name__)
MAX_ALERT_BYTES = 1024 * 1024


@blueprint.timer_trigger(schedule="%AZMIGRATE_JOB_WATCH_SCHEDULE%", arg_name="timer", run_on_startup=False)
def job_watch(timer: func.TimerRequest) -> None:
    changes = watch(wiring.state_store(), wiring.asr_adapter(), wiring.job_publisher(), utc_now())
    log.info("job watch: %d job changes published", len(changes))


@blueprint.event_grid_trigger(arg_name="event")
def asr_job_event(event: func.EventGridEvent) -> None:
    """A job changed: reconcile the VM it touched (events are hints; the pass re-reads the truth)."""
    data = event.get_json()
    instance = (data or {}).get("instanceId") if isinstance(data, dict) else None
    instance = instance or instance_of(event.subject or "")
    if instance:
        wiring.reconciler().reconcile(only={instance})


@blueprint.route(route="asr-alerts", methods=["POST"])
def asr_alerts(req: func.HttpRequest) -> func.HttpResponse:
    """Azure Monitor action-group webhooks (common alert schema) about Site Recovery."""
    body = req.get_body()
    if len(body) > MAX_ALERT_BYTES:
        return error_response(413, "PayloadTooLarge", f"alerts are at most {MAX_ALERT_BYTES} bytes")
    try:
        alert = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error_response(400, "InvalidAlert", "body is not JSON")
    if not isinstance(alert, dict) or alert.get("schemaId") != "azureMonitorCommonAlertSchema":
        return error_response(400, "InvalidAlert", "expected the Azure Monitor common alert schema")
    essentials = (alert.get("data") or {}).get("essentials") or {}
    named = " ".join(
        map(
            str,
            [
                *(essentials.get("alertTargetIDs") or []),
                *(essentials.get("configurationItems") or []),
                json.dumps((alert.get("data") or {}).get("alertContext") or {}),
            ],
        )
    )
    instances = {i for i in (instance_of(part) for part in named.split()) if i}
    try:
        # An alert that names none of our VMs still says something is wrong: look at the whole fleet.
        wiring.reconciler().reconcile(only=instances or None)
    except RetryableError as error:
        return error_response(503, "Unavailable", str(error))
    return json_response({"accepted": True, "instances": sorted(instances)}, 202)
