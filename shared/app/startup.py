"""What the Functions entry point does before registering triggers: check every setting (a missing
or malformed one stops the host with a message naming it) and apply `AZMIGRATE_LOG_LEVEL`.

The Functions host owns the root logger and its handlers (Application Insights); the level applies
to the app's own packages only, so DEBUG shows the app's detail without the SDKs' wire logs.
"""

from __future__ import annotations

import logging

from shared.app import wiring

APP_LOGGERS = ("shared", "functions")


def start() -> None:
    apply_log_level(wiring.settings().log_level)


def apply_log_level(level: str) -> None:
    for name in APP_LOGGERS:
        logging.getLogger(name).setLevel(level)
