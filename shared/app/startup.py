"""What the Functions entry point does before registering triggers: check every setting (a missing
or malformed one stops the host with a message naming it) and apply `AZMIGRATE_LOG_LEVEL`.

The Functions host owns the root logger and its handlers (Application Insights); the level applies
to the app's own packages only, so DEBUG shows the app's detail without the SDKs' wire logs. Those
(azure-core's HttpLoggingPolicy logs every request and answer at INFO) are held at WARNING: at the
host's default Information they were two log records per Azure call, most of a worker's logging.
"""

from __future__ import annotations

import logging

from shared.app import wiring
from shared.app.telemetry import configure_telemetry

APP_LOGGERS = ("shared", "functions")
SDK_WIRE_LOGGERS = ("azure.core.pipeline.policies.http_logging_policy",)


def start() -> None:
    apply_log_level(wiring.settings().log_level)
    configure_telemetry()


def apply_log_level(level: str) -> None:
    for name in APP_LOGGERS:
        logging.getLogger(name).setLevel(level)
    for name in SDK_WIRE_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
