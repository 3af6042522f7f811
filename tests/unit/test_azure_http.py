from __future__ import annotations

from typing import Any

import pytest
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.rest import HttpRequest

from shared.adapters.azure_http import LoopbackHttpPolicy


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
