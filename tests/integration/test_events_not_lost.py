"""No acknowledged event is lost: an event is remembered only once its work is done, an outage is a
503 that EventBridge answers by delivering again, and the reconcile timer takes in opt-ins no event
announced. Through the registered function objects, with Azurite, moto and the ASR simulator."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from local.asr_simulator.server import Simulator
from local.estate import app_settings, tag_event
from local.stack import Azurite, LocalService, aws_client, free_port
from shared.app import wiring
from shared.app.services import EC2_EVENTS
from tests.conftest import app_handlers
from tests.integration.aws_support import run_opted_in

pytestmark = pytest.mark.integration


@pytest.fixture
def app(
    azurite: Azurite, moto_server: LocalService, simulator: Simulator, clean_settings_env: pytest.MonkeyPatch
) -> Iterator[Callable[..., None]]:
    settings = app_settings(azurite, moto_server, simulator) | {"AWS_MAX_ATTEMPTS": "1"}

    def configure(**overrides: str) -> None:
        for name, value in (settings | overrides).items():
            clean_settings_env.setenv(name, value)
        wiring.clear_caches()

    configure()
    yield configure
    wiring.clear_caches()


def opted_in_instance(moto: LocalService) -> str:
    return str(run_opted_in(aws_client(moto.url, "ec2"))[0])


def deliver(body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
    response = app_handlers()["ec2_events"](func.HttpRequest("POST", "/api/ec2-events", body=body))
    return response.status_code, json.loads(response.get_body()), dict(response.headers)


def test_an_event_during_an_aws_outage_is_a_503_and_is_worked_when_delivered_again(app, moto_server):
    vm = opted_in_instance(moto_server)
    event = tag_event(vm)
    app(AZMIGRATE_AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")  # AWS unreachable
    status, body, headers = deliver(event)
    assert (status, body["error"]["code"]) == (503, "ServiceUnavailable") and "Retry-After" in headers
    store = wiring.state_store()
    fingerprint = hashlib.sha256(event).hexdigest()
    assert not store.event_seen(EC2_EVENTS, json.loads(event)["id"], fingerprint)  # not remembered
    assert store.find(vm) is None

    app()  # AWS is back; EventBridge delivers the same event again
    status, body, _ = deliver(event)
    assert (status, body["duplicate"]) == (202, False)
    assert wiring.state_store().find(vm) is not None
    status, body, _ = deliver(event)
    assert (status, body["duplicate"]) == (202, True)  # a re-delivery of a worked event


def test_the_reconcile_timer_takes_in_an_opt_in_no_event_announced(app, moto_server):
    vm = opted_in_instance(moto_server)
    assert wiring.state_store().find(vm) is None
    app_handlers()["reconcile_timer"](TimerRequest())
    assert wiring.state_store().find(vm) is not None
