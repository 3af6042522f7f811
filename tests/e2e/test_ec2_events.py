"""POST /api/ec2-events through the local Functions host, with the real app behind it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from local.estate import Estate, running_estate, tag_event
from local.stack import Azurite, LocalService, aws_client
from tests.integration.aws_support import launch_rhel

pytestmark = pytest.mark.integration


@pytest.fixture
def estate(azurite: Azurite, moto_server: LocalService) -> Iterator[Estate]:
    with running_estate(azurite, moto_server) as running:
        yield running


def launch(estate: Estate, tags: dict[str, str], instance_type: str = "t3.medium") -> str:
    return launch_rhel(aws_client(estate.moto.url, "ec2"), tags, instance_type)


def test_a_tag_event_creates_the_record_and_starts_the_migration(estate: Estate):
    vm = launch(estate, {"azmigrate:enabled": "true", "azmigrate:wave": "wave-7"})
    status, body = estate.post("/api/ec2-events", tag_event(vm))
    assert (status, body["instanceId"], body["duplicate"]) == (202, vm, False)
    estate.settle()  # a worker takes the event's work from the queue
    record = estate.record(vm)
    assert record["wave"] == "wave-7"
    assert record["phase"] == "preflight"  # checks from EC2's description passed ...
    assert record["pending_action"]["action"] == "guest_check"  # ... and the guest checks went out


def test_the_same_event_twice_has_one_effect(estate: Estate):
    vm = launch(estate, {"azmigrate:enabled": "true"})
    event = tag_event(vm)
    first = estate.post("/api/ec2-events", event)
    second = estate.post("/api/ec2-events", event)
    assert (first[0], first[1]["duplicate"]) == (202, False)
    assert (second[0], second[1]["duplicate"]) == (202, True)
    estate.settle()
    installs = [
        c for c in aws_client(estate.moto.url, "ssm").list_commands()["Commands"] if vm in c["InstanceIds"]
    ]
    assert len(installs) == 1
    assert (
        len([e for e in estate.get(f"/api/migrations/{vm}")[1]["timeline"] if e["event"] == "opted_in"]) == 1
    )


def test_a_reused_event_id_with_another_payload_is_refused(estate: Estate):
    vm, other = launch(estate, {"azmigrate:enabled": "true"}), launch(estate, {"azmigrate:enabled": "true"})
    estate.post("/api/ec2-events", tag_event(vm, event_id="evt-1"))
    status, body = estate.post("/api/ec2-events", tag_event(other, event_id="evt-1"))
    assert (status, body["error"]["code"]) == (409, "ReplayedEventId")
    estate.settle()
    assert estate.get(f"/api/migrations/{other}")[0] == 404


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "InvalidEvent"),
        (
            json.dumps(
                {
                    "id": "x",
                    "source": "aws.s3",
                    "detail-type": "x",
                    "account": "123456789012",
                    "region": "us-east-1",
                }
            ).encode(),
            400,
            "InvalidEvent",
        ),
        (
            json.dumps(
                {
                    "id": "x",
                    "source": "aws.tag",
                    "detail-type": "Something else",
                    "account": "123456789012",
                    "region": "us-east-1",
                }
            ).encode(),
            400,
            "InvalidEvent",
        ),
        (tag_event("i-0123456789abcdef0", account="999999999999"), 403, "ForeignEvent"),
        (tag_event("i-0123456789abcdef0", region="eu-west-1"), 403, "ForeignEvent"),
        (b"{" + b" " * (300 * 1024) + b"}", 413, "PayloadTooLarge"),
    ],
)
def test_bad_events_get_a_clear_4xx_and_change_nothing(estate: Estate, body: bytes, status: int, code: str):
    answer = estate.post("/api/ec2-events", body)
    assert answer[0] == status
    assert answer[1]["error"]["code"] == code
    assert estate.get("/api/migrations")[1] == {"total": 0, "by_phase": {}}


def test_without_the_function_key_the_host_answers_401(estate: Estate):
    status, _ = estate.post("/api/ec2-events", tag_event("i-0123456789abcdef0"), key="wrong")
    assert status == 401
    assert estate.get("/api/migrations")[1]["total"] == 0


def test_a_tag_change_that_does_not_touch_our_tags_is_accepted_and_ignored(estate: Estate):
    vm = launch(estate, {"azmigrate:enabled": "true"})
    status, body = estate.post("/api/ec2-events", tag_event(vm, keys=("Owner",)))
    assert (status, body["relevant"]) == (202, False)
    estate.settle()
    assert estate.get(f"/api/migrations/{vm}")[0] == 404


def test_a_lost_event_is_caught_by_the_next_reconcile_pass(estate: Estate):
    vm = launch(estate, {"azmigrate:enabled": "true"})  # tagged, but no event ever arrives
    assert estate.get(f"/api/migrations/{vm}")[0] == 404
    estate.run_timer("reconcile_timer")  # its tag-filtered listing shows the opt-in: taken in
    record = estate.record(vm)
    assert record["phase"] == "preflight" and record["pending_action"]["action"] == "guest_check"
