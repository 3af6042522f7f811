"""No acknowledged event is lost: an event is remembered only once its work is queued, a queue outage
is a 503 that EventBridge answers by delivering again, work that fails is delivered again, and the
reconcile timer's discovery takes in opt-ins no event announced. Through the registered function
objects (the queue's messages handed to the worker function as the host would), with Azurite, moto
and the ASR simulator."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import azure.functions as func
import pytest
from azure.functions.queue import QueueMessage
from azure.functions.timer import TimerRequest
from azure.storage.queue import QueueClient

from local.asr_simulator.server import Simulator
from local.estate import app_settings, tag_event
from local.queue_host import queue_client
from local.stack import Azurite, LocalService, aws_client, free_port
from shared.app import wiring
from shared.app.services import EC2_EVENTS
from shared.errors import RetryableError, ServiceBusy
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


def work_queue() -> QueueClient:
    return queue_client("AZMIGRATE_QUEUE_CONNECTION", wiring.settings().work_queue)


def work_once() -> list[bool]:
    """Every message now on the work queue to the worker function, as the host would; whether each
    succeeded (a failed one stays on the queue, visible again at once)."""
    done = []
    pages = work_queue().receive_messages(messages_per_page=32, visibility_timeout=60).by_page()
    for message in next(pages, []):  # one receive: a message handed back is not taken again here
        delivered = QueueMessage(  # type: ignore[no-untyped-call]  # the SDK leaves it untyped
            body=base64.b64decode(message.content), dequeue_count=message.dequeue_count
        )
        try:
            app_handlers()["reconcile_work"](delivered)
        except ServiceBusy:
            work_queue().update_message(message, pop_receipt=message.pop_receipt, visibility_timeout=0)
            done.append(False)
            continue
        work_queue().delete_message(message)
        done.append(True)
    return done


def test_an_event_during_a_queue_outage_is_a_503_and_is_queued_when_delivered_again(
    app, azurite, moto_server
):
    vm = opted_in_instance(moto_server)
    event = tag_event(vm)
    unreachable = azurite.connection_string.replace(
        azurite.queue_endpoint, f"http://127.0.0.1:{free_port()}/x"
    )
    app(AZMIGRATE_QUEUE_CONNECTION=unreachable)
    status, body, headers = deliver(event)
    assert (status, body["error"]["code"]) == (503, "ServiceUnavailable") and "Retry-After" in headers
    store = wiring.state_store()
    fingerprint = hashlib.sha256(event).hexdigest()
    assert not store.event_seen(EC2_EVENTS, json.loads(event)["id"], fingerprint)  # not remembered

    app()  # the queue is back; EventBridge delivers the same event again
    status, body, _ = deliver(event)
    assert (status, body["duplicate"]) == (202, False)
    assert work_once() == [True]
    assert wiring.state_store().find(vm) is not None
    status, body, _ = deliver(event)
    assert (status, body["duplicate"]) == (202, True)  # a re-delivery of a queued event
    assert work_once() == []  # ... queues nothing more


def test_an_alert_or_job_event_during_a_queue_outage_is_retried_by_its_sender(app, azurite):
    """The alert route answers 503 (the action group retries); the Event Grid trigger raises (Event
    Grid retries): an outage of our own storage is the one failure a sender should see."""
    vault = (
        f"/subscriptions/{wiring.settings().asr_subscription_id}/resourceGroups/"
        f"{wiring.settings().asr_resource_group}/providers/Microsoft.RecoveryServices/vaults/"
        f"{wiring.settings().asr_vault_name}"
    )
    item = f"{vault}/replicationFabrics/f/replicationProtectionContainers/c/replicationProtectedItems"
    essentials = {"alertTargetIDs": [f"{item}/azmigrate-i-0123456789abcdef0"]}
    alert = json.dumps({"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": essentials}})
    job = func.EventGridEvent(
        id="e-1",
        data={"jobId": "j-1", "instanceId": "i-0123456789abcdef0"},
        topic=None,  # type: ignore[arg-type]  # what the library gives for a CloudEvent
        subject="azmigrate-i-0123456789abcdef0",
        event_type=None,  # type: ignore[arg-type]
        event_time=None,
        data_version=None,  # type: ignore[arg-type]
    )
    unreachable = azurite.connection_string.replace(
        azurite.queue_endpoint, f"http://127.0.0.1:{free_port()}/x"
    )
    app(AZMIGRATE_QUEUE_CONNECTION=unreachable)
    response = app_handlers()["asr_alerts"](func.HttpRequest("POST", "/api/asr-alerts", body=alert.encode()))
    assert (response.status_code, json.loads(response.get_body())["error"]["code"]) == (
        503,
        "ServiceUnavailable",
    )
    with pytest.raises(RetryableError):  # raised to the host: Event Grid delivers it again
        app_handlers()["asr_job_event"](job)
    app()  # the queue is back: both deliveries again queue the VM's work
    response = app_handlers()["asr_alerts"](func.HttpRequest("POST", "/api/asr-alerts", body=alert.encode()))
    assert response.status_code == 202
    app_handlers()["asr_job_event"](job)
    queued = [json.loads(base64.b64decode(m.content)) for m in work_queue().peek_messages(32)]
    assert [w["instances"] for w in queued] == [["i-0123456789abcdef0"]] * 2


def test_work_during_an_aws_outage_fails_and_is_done_when_delivered_again(app, moto_server):
    vm = opted_in_instance(moto_server)
    assert deliver(tag_event(vm))[0] == 202
    app(AZMIGRATE_AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")  # AWS unreachable for the worker
    assert work_once() == [False]  # handed back to the queue, not lost
    assert wiring.state_store().find(vm) is None
    app()
    assert work_once() == [True]
    assert wiring.state_store().find(vm) is not None


def test_the_reconcile_timer_takes_in_an_opt_in_no_event_announced(app, moto_server):
    vm = opted_in_instance(moto_server)
    assert wiring.state_store().find(vm) is None
    app_handlers()["reconcile_timer"](TimerRequest())
    while any(work_once()):  # the discovery, then the work it queued for what it took in
        pass
    assert wiring.state_store().find(vm) is not None
