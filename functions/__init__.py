"""Thin triggers: parse, authenticate, call shared/. One blueprint per trigger family."""

from __future__ import annotations

import azure.functions as func

from functions import asr_events, control, ec2_events, status, timers, work


def blueprints() -> list[func.Blueprint]:
    return [
        status.blueprint,
        control.blueprint,
        ec2_events.blueprint,
        timers.blueprint,
        asr_events.blueprint,
        work.blueprint,
    ]
