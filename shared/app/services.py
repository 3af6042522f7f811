"""What each trigger asks of the app, one function per use case.

The triggers in `functions/` parse their binding and call one of these; these check the input, read
through the store, and write only through `Commands` (the one write path). Signals (EC2 events, job
events, alerts, approvals) and timers do no reconciling themselves: they put work on the work queue
and answer; the queue-triggered worker (`work`) reconciles. Errors are the app's own
(`shared.errors`); `shared.app.http.http_errors` turns them into HTTP answers.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from shared.app import wiring
from shared.app.alerts import read_alert
from shared.app.bodies import read_model
from shared.app.eventbridge import MAX_EVENT_BYTES, parse_ec2_event
from shared.app.fleet_view import summary
from shared.app.job_events import vm_of_job_event
from shared.assessment.export import to_csv, to_json
from shared.core.operator import Command
from shared.errors import (
    CommandRefused,
    ErrorCode,
    ForeignInput,
    InvalidInput,
    PayloadTooLarge,
    RecordNotFound,
    ServiceBusy,
)
from shared.model.clock import utc_now
from shared.model.ids import Wave
from shared.model.records import MigrationRecord
from shared.model.work import WorkItem
from shared.reconcile.jobwatch import watch
from shared.reconcile.reconciler import PassReport

log = logging.getLogger(__name__)
EC2_EVENTS = "aws.ec2-events"  # the event dedupe table's source for EventBridge deliveries


# --- EventBridge --------------------------------------------------------------------------------


def accept_ec2_event(body: bytes, declared_length: str) -> dict[str, Any]:
    """Size, shape, the allowed accounts and regions, a replay check, then "work this VM" queued.

    Its cost does not grow with the fleet: two Table reads or writes and one queue message. The
    event is remembered only once its work is durably queued, so none is lost: a queue or Table
    outage answers 503, nothing is remembered, and EventBridge delivers the event again. A
    re-delivery of a queued event is a 202 duplicate.
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
        wiring.work_queue().send(WorkItem.for_vms([hint.instance_id], "EC2 event", discover=True))
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


def job_event(event_id: str, event_type: str, subject: str, data: object) -> str | None:
    """A job changed: work for the VM it touched (events are hints; the worker re-reads the truth).
    A malformed or foreign event is logged and dropped, never raised; returns the VM queued, if any."""
    try:
        instance = vm_of_job_event(event_type, subject, data)
    except ValueError as reason:
        log.warning("job event %s dropped: %s", event_id[:200], reason)
        return None
    wiring.work_queue().send(WorkItem.for_vms([instance], "ASR job event"))
    return instance


def accept_alert(body: bytes) -> tuple[dict[str, Any], int]:
    """An Azure Monitor alert (common alert schema): reconcile the VMs of ours it targets in our vault.
    An alert about anything else is acknowledged (200) and ignored; queued work is a 202."""
    scope = read_alert(body, wiring.settings().asr_vault_id)
    if not scope.instances:
        log.info(
            "alert %r ignored: %d of its %d targets in our vault, none of them our VMs' items",
            scope.rule[:200],
            scope.targets_in_vault,
            scope.targets,
        )
        return {"accepted": False, "instances": [], "reason": "the alert targets none of our VMs"}, 200
    wiring.work_queue().send(WorkItem.for_vms(scope.instances, "Azure Monitor alert"))
    return {"accepted": True, "instances": scope.instances}, 202


# --- operators ----------------------------------------------------------------------------------


class CommandBody(BaseModel):
    """The optional body of an operator command: why, for the timeline."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500)


WAVE_COMMANDS = (Command.PAUSE, Command.RESUME, Command.APPROVE, Command.CANCEL)


def command(instance_id: str, name: str, body: bytes, *, actor: str) -> dict[str, Any]:
    """An operator's command on one VM (pause, resume, retry, cancel, approve); its next pass is
    queued when it changed something. The answer carries the record as it is now."""
    wanted, reason = _command(name, body, tuple(Command))
    record, changed = _run(instance_id, wanted, reason, actor)
    if changed:
        wiring.work_queue().send(WorkItem.for_vms([instance_id], f"{wanted} through the API"))
    return {
        "instanceId": instance_id,
        "command": wanted.value,
        "changed": changed,
        "phase": record.phase.value,
        "record": record.model_dump(mode="json"),
    }


def wave_command(wave: str, name: str, body: bytes, *, actor: str) -> dict[str, Any]:
    """pause, resume, approve or cancel every VM of a wave: one answer with each VM's outcome (200,
    or the 409 its phase gave); 404 for a wave with no VM. The VMs changed get their next pass."""
    wave = _wave(wave)
    wanted, reason = _command(name, body, WAVE_COMMANDS)
    records = list(wiring.state_store().by_wave(wave))
    if not records:
        raise RecordNotFound("wave", wave)
    results, changed = [], []
    for record in sorted(records, key=lambda r: r.instance_id):
        try:
            after, moved = _run(record.instance_id, wanted, reason, actor, current=record)
        except CommandRefused as refused:
            error = {"code": refused.code.value, "message": str(refused)}
            results.append({"instanceId": record.instance_id, "status": 409, "error": error})
            continue
        results.append(
            {"instanceId": after.instance_id, "status": 200, "changed": moved, "phase": after.phase}
        )
        changed += [after.instance_id] if moved else []
    if changed:
        wiring.work_queue().send(WorkItem.for_vms(changed, f"wave {wave}: {wanted} through the API"))
    return {"wave": wave, "command": wanted.value, "changed": len(changed), "results": results}


def _command(name: str, body: bytes, allowed: tuple[Command, ...]) -> tuple[Command, str]:
    """The command named in the route (400 when unknown here) and the reason in the optional body."""
    wanted = next((c for c in allowed if c.value == name), None)
    if wanted is None:
        known = ", ".join(c.value for c in allowed)
        raise InvalidInput(f"unknown command; one of {known}", code=ErrorCode.UNKNOWN_COMMAND)
    reason = ""
    if body.strip():
        reason = read_model(
            body, CommandBody, max_bytes=4096, code=ErrorCode.INVALID_INPUT, what="a command body"
        ).reason
    return wanted, reason


def _run(
    instance_id: str, wanted: Command, reason: str, actor: str, *, current: MigrationRecord | None = None
) -> tuple[MigrationRecord, bool]:
    """`current`: the record as listed (a wave's), so each VM is not read a second time."""
    commands = wiring.commands()
    if wanted is Command.APPROVE:
        why = reason or "cutover approved through the API"
        return commands.approve(instance_id, actor=actor, reason=why, current=current)
    why = reason or f"{wanted} through the API"
    return commands.operate(instance_id, wanted, actor=actor, reason=why, current=current)


def fleet_status() -> dict[str, Any]:
    counts = Counter(record.phase.value for record in wiring.state_store().all())
    return {"total": sum(counts.values()), "by_phase": dict(sorted(counts.items()))}


def fleet_view(wave: str | None) -> dict[str, Any]:
    store = wiring.state_store()
    return summary(store.by_wave(_wave(wave)) if wave else store.all())


DASHBOARD = Path(__file__).with_name("dashboard.html")
# The page's own inline script and style only; it talks to this app alone, and is never framed.
DASHBOARD_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def dashboard() -> tuple[str, dict[str, str]]:
    """The dashboard page and its headers (self-contained: it works offline)."""
    headers = {
        "Content-Security-Policy": DASHBOARD_POLICY,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
    }
    return DASHBOARD.read_text(encoding="utf-8"), headers


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
    wave = _wave(wave) if wave else None
    store = wiring.state_store()
    records = list(store.by_wave(wave) if wave else store.all())
    if wanted == "csv" or (not wanted and "text/csv" in accept):
        return to_csv(records), "text/csv"
    return to_json(records), "application/json"


def _wave(wave: str) -> str:
    try:
        return str(TypeAdapter(Wave).validate_python(wave))
    except ValidationError:
        raise InvalidInput(
            "wave must be letters, digits, . _ - (up to 63)", code=ErrorCode.INVALID_WAVE
        ) from None


# --- the work queue -----------------------------------------------------------------------------


def work(body: str, dequeue_count: int = 1) -> PassReport | None:
    """One work item, from the queue trigger. Raising hands the message back to the host, which
    delivers it again (after host.json's visibilityTimeout) and, past maxDequeueCount, poisons it."""
    item = _work_item(body)
    reconciler = wiring.reconciler()
    if item.kind == "discover":
        created = reconciler.discover()
        wiring.work_queue().send(WorkItem.for_vms(created, "taken in by discovery"))
        log.info("discovery: %d opted-in instances taken in", len(created))
        return None
    if item.kind == "vault":
        listed_at = reconciler.list_vault_for_shards()
        wiring.work_queue().send(WorkItem.shard_pass(item.reason, listed_at))
        return None
    if item.kind == "shard":
        pass_report = reconciler.reconcile(shard=item.shard, items_listed_at=item.items_listed_at)
        report = _logged(f"{item.shard} pass", pass_report)
        if report.unread:  # nothing could be read: try this shard again; VM-level problems wait
            raise ServiceBusy(f"{item.shard}: {'; '.join(report.unfinished)}")  # for the next pass
        return report
    report = reconciler.reconcile(only=set(item.instances), discover=item.discover)
    if report.unfinished:
        log.warning("work not done yet (delivery %d): %s", dequeue_count, "; ".join(report.unfinished))
        raise ServiceBusy(f"could not reconcile now ({len(report.unfinished)} problems); try again")
    return report


def poisoned(body: str) -> list[str]:
    """A message the host gave up on: each VM it named gets the fact on its record and timeline."""
    try:
        item = _work_item(body)
    except InvalidInput as error:
        log.error("poisoned work item is not readable: %s", error)
        return []
    noted = []
    for instance in item.instances:
        try:
            wiring.commands().note_poisoned(instance, f"work kept failing ({item.reason or item.kind})")
        except RecordNotFound:
            continue  # an event for a VM never taken in: the discovery pass will find it if opted in
        noted.append(instance)
    log.error("work poisoned: %s %s", item.kind, item.shard or ", ".join(item.instances))
    return noted


def _work_item(body: str) -> WorkItem:
    try:
        return WorkItem.model_validate_json(body)
    except ValidationError as error:
        raise InvalidInput(f"not a work item: {error.errors()[0]['msg']}") from None


# --- timers -------------------------------------------------------------------------------------


def reconcile_in_flight() -> int:
    """A fleet pass, fanned out: one discovery (opt-ins no event announced) and one message per
    shard, worked by as many instances as the host scales to."""
    sent = wiring.work_queue().send(WorkItem.fleet_pass("reconcile timer"))
    log.info("reconcile: %d work items queued", sent)
    return sent


def nightly_batch() -> int:
    """Sets the vault up when it lacks its replication policy or container mapping (a new
    project), then a fleet pass (takes in, admits the next batch within capacity, runs open
    cutovers); then forgets event-dedupe rows older than EventBridge could still redeliver (24 h,
    with margin)."""
    missing = wiring.reconciler().bootstrap_vault()
    if missing:
        log.warning("nightly: the vault is not set up yet: %s", missing)
    sent = wiring.work_queue().send(WorkItem.fleet_pass("nightly batch"))
    log.info(
        "nightly: %d work items queued; forgot %d event-dedupe rows",
        sent,
        wiring.commands().forget_stale_events(),
    )
    return sent


def _logged(name: str, report: PassReport) -> PassReport:
    log.info(
        "%s: %d VMs, %d transitions, actions %s, %d conflicts, %d errors, %d new",
        name,
        report.examined,
        report.transitions,
        dict(report.actions),
        report.conflicts,
        len(report.errors),
        report.created,
    )
    for error in report.errors:
        log.warning("%s error: %s", name, error)
    return report
