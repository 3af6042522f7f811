"""Azure SDK pipeline pieces the app shares."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy

from shared.errors import ActionRefused, CloudUnavailable

DEFAULT_RETRY_AFTER = 10.0  # seconds, for a 429 that names no wait

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


class ThrottleReport(SansIOHTTPPolicy[Any, Any]):
    """Tells the write budget when ARM throttles a write (429, Retry-After), so every worker holds
    its writes, not only the one azure-core's retry policy makes wait. Sits among the per-retry
    policies: each attempt's answer passes here."""

    def __init__(self, on_throttled: Callable[[float], None]) -> None:
        self._on_throttled = on_throttled

    def on_response(self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]) -> None:
        if response.http_response.status_code == 429 and request.http_request.method != "GET":
            self._on_throttled(retry_after_seconds(response.http_response.headers))


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float:
    """The wait a throttled answer asks for: `retry-after-ms`, `x-ms-retry-after-ms`, or `Retry-After`
    in seconds or as an HTTP date; DEFAULT_RETRY_AFTER when it names none."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        with contextlib.suppress(KeyError, ValueError):
            return max(0.0, float(lowered[name]) / 1000)
    value = lowered.get("retry-after", "").strip()
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    with contextlib.suppress(TypeError, ValueError):
        return max(0.0, (parsedate_to_datetime(value) - (now or datetime.now(UTC))).total_seconds())
    return DEFAULT_RETRY_AFTER


@contextlib.contextmanager
def arm_errors(what: str, service: str) -> Iterator[None]:
    """An ARM call's failures as the app's errors: a 4xx (but 408 and 429) refuses the action; a 5xx,
    a 408, a 429 after the SDK's retries, or no answer is retryable."""
    try:
        yield
    except ResourceNotFoundError as error:
        raise ActionRefused("NotFound", f"{what}: {_message(error)}") from error
    except HttpResponseError as error:
        status = error.status_code or 0
        if 400 <= status < 500 and status not in (408, 429):
            code = error.error.code if error.error is not None and error.error.code else f"Http{status}"
            raise ActionRefused(code, f"{what}: {_message(error)}") from error
        raise CloudUnavailable(f"{what}: {service} answered {status}: {_message(error)}") from error
    except ServiceRequestError as error:
        raise CloudUnavailable(f"{what}: {service} unreachable ({type(error).__name__})") from error


def _message(error: HttpResponseError) -> str:
    return (
        error.error.message if error.error is not None and error.error.message else error.reason
    ) or "no message"
