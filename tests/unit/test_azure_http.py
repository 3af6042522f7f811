from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.rest import HttpRequest

from shared.adapters.azure_http import DEFAULT_RETRY_AFTER, LoopbackHttpPolicy, retry_after_seconds


@pytest.mark.parametrize(
    ("url", "relaxed"),
    [
        ("http://127.0.0.1:8443/subscriptions", True),
        ("http://localhost:8443/subscriptions", True),
        ("http://[::1]:8443/subscriptions", True),
        ("http://management.azure.com/subscriptions", False),
        ("http://10.0.0.4/subscriptions", False),
    ],
)
def test_https_is_relaxed_only_for_loopback(url: str, relaxed: bool):
    request: PipelineRequest[Any] = PipelineRequest(HttpRequest("GET", url), PipelineContext(None))
    LoopbackHttpPolicy().on_request(request)
    assert ("enforce_https" in request.context and request.context["enforce_https"] is False) == relaxed


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "17"}, 17.0),  # ARM: whole seconds
        ({"retry-after-ms": "1500", "Retry-After": "17"}, 1.5),  # the finer header wins
        ({"x-ms-retry-after-ms": "250"}, 0.25),
        ({"Retry-After": "Sat, 28 Nov 2026 12:00:30 GMT"}, 30.0),  # an HTTP date
        ({"Retry-After": "soon"}, DEFAULT_RETRY_AFTER),
        ({}, DEFAULT_RETRY_AFTER),
    ],
)
def test_the_wait_a_throttled_answer_asks_for(headers: dict[str, str], seconds: float):
    """ARM answers 429 with Retry-After in seconds (../shared/docs/reliability.md; Microsoft Learn,
    "Understand how Azure Resource Manager throttles requests"). The ms headers and the HTTP-date form
    are those azure-core's RetryPolicy reads (Azure/azure-sdk-for-python, sdk/core/azure-core,
    azure/core/pipeline/policies/_utils.py, get_retry_after), which retries the same answer; unlike
    it, a ms header here wins over Retry-After when both come."""
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert retry_after_seconds(headers, now) == seconds
