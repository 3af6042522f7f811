"""Site Recovery signals: the job watcher, its Event Grid events, and Azure Monitor alert webhooks."""

from __future__ import annotations

import azure.functions as func

from shared.app import services
from shared.app.http import http_errors, json_response

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves it untyped


@blueprint.timer_trigger(schedule="%AZMIGRATE_JOB_WATCH_SCHEDULE%", arg_name="timer", run_on_startup=False)
def job_watch(timer: func.TimerRequest) -> None:
    services.watch_jobs()


@blueprint.event_grid_trigger(arg_name="event")
def asr_job_event(event: func.EventGridEvent) -> None:
    """Malformed or foreign events are logged and dropped; only a queue outage raises (Event Grid retries).
    The Python library fills `event_type` from Event Grid's schema only: None for a CloudEvent."""
    services.job_event(event.id or "", event.event_type or "", event.subject or "", event.get_json())


@blueprint.route(route="asr-alerts", methods=["POST"])
@http_errors
def asr_alerts(req: func.HttpRequest) -> func.HttpResponse:
    """Azure Monitor action-group webhooks (common alert schema) about Site Recovery."""
    return json_response(*services.accept_alert(req.get_body()))
