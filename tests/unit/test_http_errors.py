"""One error mapping for every HTTP trigger: retryable -> 503 ServiceUnavailable, bad input -> 4xx."""

from __future__ import annotations

import json
import logging

import azure.functions as func
import pytest

from shared.app.http import http_errors, instance_id_of
from shared.app.startup import APP_LOGGERS, SDK_WIRE_LOGGERS, apply_log_level
from shared.errors import (
    CloudUnavailable,
    CommandRefused,
    ConcurrencyConflict,
    ErrorCode,
    ForeignInput,
    InvalidInput,
    PayloadTooLarge,
    RecordNotFound,
    ServiceBusy,
    StoreUnavailable,
    SuspiciousEvent,
)


def answer(error: Exception) -> func.HttpResponse:
    @http_errors
    def trigger(req: func.HttpRequest) -> func.HttpResponse:
        raise error

    return trigger(func.HttpRequest("POST", "http://127.0.0.1/api/x", body=b""))


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (StoreUnavailable("table down"), 503, "ServiceUnavailable"),
        (CloudUnavailable("ARM 500"), 503, "ServiceUnavailable"),
        (ConcurrencyConflict("i-0123abcd", None), 503, "ServiceUnavailable"),
        (ServiceBusy("kept changing"), 503, "ServiceUnavailable"),
        (InvalidInput("bad"), 400, "InvalidInput"),
        (InvalidInput("bad event", code=ErrorCode.INVALID_EVENT), 400, "InvalidEvent"),
        (PayloadTooLarge("too big"), 413, "PayloadTooLarge"),
        (ForeignInput("account 9"), 403, "ForeignEvent"),
        (SuspiciousEvent("replayed"), 409, "ReplayedEventId"),
        (RecordNotFound("migration record", "i-0123abcd"), 404, "NotFound"),
        (CommandRefused("too late", code=ErrorCode.NOT_APPROVABLE), 409, "NotApprovable"),
    ],
)
def test_each_error_gets_its_status_and_code(error, status, code):
    response = answer(error)
    body = json.loads(response.get_body())
    assert (response.status_code, body["error"]["code"]) == (status, code)
    assert body["error"]["message"] == str(error)
    assert ("Retry-After" in response.headers) == (status == 503)


def test_a_defect_is_not_dressed_up_as_an_answer():
    with pytest.raises(KeyError):
        answer(KeyError("a bug"))


@pytest.mark.parametrize("value", ["i-0123abcd\n", "i-0123456789", "I-0123ABCD", ""])
def test_a_route_id_must_be_a_whole_instance_id(value):
    req = func.HttpRequest(
        "GET", "http://127.0.0.1/api/migrations/x", body=b"", route_params={"instance_id": value}
    )
    with pytest.raises(InvalidInput) as refused:
        instance_id_of(req)
    assert refused.value.code is ErrorCode.INVALID_INSTANCE_ID


def test_the_log_level_setting_applies_to_the_apps_loggers():
    before = {name: logging.getLogger(name).level for name in (*APP_LOGGERS, *SDK_WIRE_LOGGERS)}
    try:
        apply_log_level("WARNING")
        assert all(logging.getLogger(name).getEffectiveLevel() == logging.WARNING for name in APP_LOGGERS)
        assert logging.getLogger("shared.reconcile.reconciler").isEnabledFor(logging.INFO) is False
        apply_log_level("DEBUG")
        assert logging.getLogger("functions.ec2_events").isEnabledFor(logging.DEBUG)
        wire = logging.getLogger("azure.core.pipeline.policies.http_logging_policy")
        assert not wire.isEnabledFor(logging.INFO)  # no log record per Azure request, even at DEBUG
    finally:
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)


def test_telemetry_is_configured_only_with_an_application_insights_connection_string(monkeypatch):
    from shared.app import telemetry

    calls: list[dict[str, str]] = []
    monkeypatch.setattr(telemetry, "configure_azure_monitor", lambda **kwargs: calls.append(kwargs))
    assert telemetry.configure_telemetry({}) is False
    assert telemetry.configure_telemetry({telemetry.CONNECTION_STRING: "  "}) is False
    connection = "InstrumentationKey=00000000-0000-0000-0000-000000000000"
    assert telemetry.configure_telemetry({telemetry.CONNECTION_STRING: connection}) is True
    assert calls == [{"connection_string": connection, "logger_name": "shared"}]
