"""Timers: reconcile everything in flight, and the nightly batch that also takes in new opt-ins."""

from __future__ import annotations

import azure.functions as func

from shared.app import services

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves it untyped


@blueprint.timer_trigger(schedule="%AZMIGRATE_RECONCILE_SCHEDULE%", arg_name="timer", run_on_startup=False)
def reconcile_timer(timer: func.TimerRequest) -> None:
    services.reconcile_in_flight()


@blueprint.timer_trigger(schedule="%AZMIGRATE_NIGHTLY_SCHEDULE%", arg_name="timer", run_on_startup=False)
def nightly_batch(timer: func.TimerRequest) -> None:
    services.nightly_batch()
