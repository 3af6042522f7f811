"""OpenTelemetry to Application Insights, when its connection string is set.

The Functions host, with `"telemetryMode": "OpenTelemetry"` in host.json, exports its own telemetry
the OpenTelemetry way; the worker's (this app's spans from `shared.tracing` and the logs of the
app's loggers, correlated with them) go through the Azure Monitor distro configured here. Source:
https://learn.microsoft.com/azure/azure-functions/opentelemetry-howto (the Python pivot). Without the
connection string (locally, in tests) nothing is configured and every span is a no-op.
"""

from __future__ import annotations

import logging
import os

from azure.monitor.opentelemetry import configure_azure_monitor

CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
APP_LOGGER = "shared"  # the app's logs, exported with the trace and span ids of the work they describe
log = logging.getLogger(__name__)


def configure_telemetry(environ: dict[str, str] | None = None) -> bool:
    """Sets up the distro when Application Insights is configured; whether it did."""
    connection = (environ if environ is not None else dict(os.environ)).get(CONNECTION_STRING, "")
    if not connection.strip():
        return False
    configure_azure_monitor(connection_string=connection, logger_name=APP_LOGGER)
    log.info("OpenTelemetry: traces and logs go to Application Insights")
    return True
