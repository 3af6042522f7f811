"""Timers: reconcile everything in flight, and the nightly batch that also takes in new opt-ins."""

from __future__ import annotations

import logging

import azure.functions as func

from shared import wiring
from shared.reconciler import PassReport

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves it untyped
log = logging.getLogger(__name__)


@blueprint.timer_trigger(schedule="%AZMIGRATE_RECONCILE_SCHEDULE%", arg_name="timer", run_on_startup=False)
def reconcile_timer(timer: func.TimerRequest) -> None:
    _log("reconcile", wiring.reconciler().reconcile())


@blueprint.timer_trigger(schedule="%AZMIGRATE_NIGHTLY_SCHEDULE%", arg_name="timer", run_on_startup=False)
def nightly_batch(timer: func.TimerRequest) -> None:
    """Catches opt-ins no event announced, admits the next batch within capacity, runs open cutovers;
    then forgets event-dedupe rows older than EventBridge could still redeliver (24 h, with margin)."""
    _log("nightly", wiring.reconciler().reconcile(discover=True))
    log.info("nightly: forgot %d event-dedupe rows", wiring.state_store().forget_stale_events())


def _log(name: str, report: PassReport) -> None:
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
