"""Azure SDK pipeline pieces the app shares."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy

_LOOPBACK_NAMES = {"localhost"}


def is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class LoopbackHttpPolicy(SansIOHTTPPolicy[Any, Any]):
    """Lets the bearer-token policy send over plain http to a loopback stand-in, and nowhere else.

    azure-core refuses tokens over http (rightly). Settings already allow http only for loopback
    endpoints; this policy checks each request again, so a redirect or nextLink elsewhere stays https-only.
    """

    def on_request(self, request: PipelineRequest[Any]) -> None:
        host = urlsplit(request.http_request.url).hostname or ""
        if is_loopback(host):
            request.context["enforce_https"] = False
