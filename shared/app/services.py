"""What each trigger asks of the app, one function per use case.

The triggers in `functions/` parse their binding and call one of these; these check the input, read
through the store, reconcile, and write only through `Commands` (the one write path). Errors are the
app's own (`shared.errors`); `shared.app.http.http_errors` turns them into HTTP answers.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any

from pydantic import TypeAdapter, ValidationError

from shared.app import wiring
from shared.app.eventbridge import MAX_EVENT_BYTES, parse_ec2_event
from shared.assessment.export import to_csv, to_json
from shared.errors import ErrorCode, ForeignInput, InvalidInput, PayloadTooLarge, ServiceBusy
from shared.model.clock import utc_now
from shared.model.ids import Wave, is_instance_id
from shared.reconcile.jobwatch import instance_of, watch
from shared.reconcile.reconciler import PassReport

log = logging.getLogger(__name__)
EC2_EVENTS = "aws.ec2-events"  # the event dedupe table's source for EventBridge deliveries
MAX_ALERT_BYTES = 1024 * 1024


# --- EventBridge --------------------------------------------------------------------------------


def accept_ec2_event(body: bytes, declared_length: str) -> dict[str, Any]:
    """Size, shape, the allowed accounts and regions, a replay check, then "reconcile this VM".

    The event is remembered only once its reconcile is done, so none is lost: a reconcile that
    could not be done (an AWS, ASR or Table outage) answers 503, nothing is remembered, and
    EventBridge delivers the event again. A re-delivery of a done event is a 202 duplicate.
    """
    if declared_length.isdigit() and int(declared_length) > MAX_EVENT_BYTES:
        raise PayloadTooLarge(f"events are at most {MAX_EVENT_BYTES} bytes")
    config = wiring.settings()
    hint = parse_ec2_event(body, config.tag_prefix)
    if hint.account not in config.aws_accounts or hint.region not in config.aws_regions:
        raise ForeignInput(f"account {hint.account} / region {hint.region} is not allowed")
    commands = wiring.commands()
    seen = commands.store.event_seen(EC2_EVENTS, hint.event_id, hint.fingerprint)
    if not seen and hint.relevant:
        reconcile_or_busy({hint.instance_id}, discover=True)
    first_time = not seen and commands.receive_event(EC2_EVENTS, hint.event_id, hint.fingerprint)
    return {
        "accepted": True,
        "instanceId": hint.instance_id,
        "duplicate": not first_time,
        "relevant": hint.relevant,
    }


# --- Site Recovery signals ----------------------------------------------------------------------


def watch_jobs() -> int:
    """Publishes each ASR job change once; returns how many."""
    store = wiring.state_store()
    changes = watch(store, wiring.commands(), wiring.asr_adapter(), wiring.job_publisher(), utc_now())
    log.info("job watch: %d job changes published", len(changes))
    return len(changes)


def job_event(data: object, subject: str) -> None:
    """A job changed: reconcile the VM it touched (events are hints; the pass re-reads the truth)."""
    named = data.get("instanceId") if isinstance(data, dict) else None
    instance = named if isinstance(named, str) and is_instance_id(named) else instance_of(subject)
    if instance:
        reconcile_or_busy({instance})


def accept_alert(body: bytes) -> dict[str, Any]:
    """An Azure Monitor alert (common alert schema) about Site Recovery: reconcile the VMs it names."""
    if len(body) > MAX_ALERT_BYTES:
        raise PayloadTooLarge(f"alerts are at most {MAX_ALERT_BYTES} bytes")
    try:
        alert = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("body is not JSON", code=ErrorCode.INVALID_ALERT) from None
    if not isinstance(alert, dict) or alert.get("schemaId") != "azureMonitorCommonAlertSchema":
        raise InvalidInput("expected the Azure Monitor common alert schema", code=ErrorCode.INVALID_ALERT)
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
    if instances:
        reconcile_or_busy(instances)
    else:  # it names none of our VMs but says something is wrong: a pass now (the timer converges)
        _logged("alert", wiring.reconciler().reconcile())
    return {"accepted": True, "instances": sorted(instances)}


# --- operators ----------------------------------------------------------------------------------


def approve(instance_id: str, *, actor: str) -> dict[str, Any]:
    record = wiring.commands().approve(instance_id, actor=actor, reason="cutover approved through the API")
    wiring.reconciler().reconcile(only={instance_id})
    return {"approved": True, "phase": record.phase.value}


def fleet_status() -> dict[str, Any]:
    counts = Counter(record.phase.value for record in wiring.state_store().all())
    return {"total": sum(counts.values()), "by_phase": dict(sorted(counts.items()))}


def migration_status(instance_id: str) -> dict[str, Any]:
    store = wiring.state_store()
    record = store.get(instance_id)
    return {
        "record": record.model_dump(mode="json"),
        "timeline": [entry.model_dump(mode="json") for entry in store.history(instance_id)],
    }


def assessments(wave: str | None, wanted: str, accept: str) -> tuple[str, str]:
    """The assessments as (body, media type): `wanted` csv or json (else by `accept`), one wave or all."""
    wanted = wanted.lower()
    if wanted not in {"", "csv", "json"}:
        raise InvalidInput("format must be csv or json", code=ErrorCode.INVALID_FORMAT)
    try:
        wave = TypeAdapter(Wave).validate_python(wave) if wave else None
    except ValidationError:
        raise InvalidInput(
            "wave must be letters, digits, . _ - (up to 63)", code=ErrorCode.INVALID_WAVE
        ) from None
    store = wiring.state_store()
    records = list(store.by_wave(wave) if wave else store.all())
    if wanted == "csv" or (not wanted and "text/csv" in accept):
        return to_csv(records), "text/csv"
    return to_json(records), "application/json"


def reconcile_or_busy(only: set[str] | None, *, discover: bool = False) -> None:
    """Reconciles what a signal names; raises ServiceBusy (503, or a retry of the trigger) when it
    could not be done now, so the sender asks again and the signal is not lost."""
    report = wiring.reconciler().reconcile(only=only, discover=discover)
    if report.unfinished:
        log.warning("reconcile not done yet: %s", "; ".join(report.unfinished))
        raise ServiceBusy(f"could not reconcile now ({len(report.unfinished)} problems); try again")


# --- timers -------------------------------------------------------------------------------------


def reconcile_in_flight() -> PassReport:
    """Every VM in flight, and opted-in instances without a record (an event lost or not yet worked):
    the tag-filtered listing the pass makes anyway shows them."""
    return _logged("reconcile", wiring.reconciler().reconcile(discover=True))


def nightly_batch() -> PassReport:
    """Catches opt-ins no event announced, admits the next batch within capacity, runs open cutovers;
    then forgets event-dedupe rows older than EventBridge could still redeliver (24 h, with margin)."""
    report = _logged("nightly", wiring.reconciler().reconcile(discover=True))
    log.info("nightly: forgot %d event-dedupe rows", wiring.commands().forget_stale_events())
    return report


def _logged(name: str, report: PassReport) -> PassReport:
    log.info(
        "%s pass: %d VMs, %d transitions, actions %s, %d conflicts, %d errors, %d new",
        name,
        report.examined,
        report.transitions,
        dict(report.actions),
        report.conflicts,
        len(report.errors),
        report.created,
    )
    for error in report.errors:
        log.warning("%s pass error: %s", name, error)
    return report
