"""Every HTTP input the app takes, thrown at the local host as an attacker or a careless client would.

For each case: the status, an error body with no stack trace or key in it, no write anywhere (the
app's tables, the work queue, the simulator's ledger, moto's instances, tags and commands), and the
host still answering afterwards. Raw sockets send what a well-behaved client library would refuse
to (lying lengths, non-ASCII keys, withheld bodies).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

from local.estate import ACCOUNT, REGION, Estate, running_estate, tag_event
from local.stack import Azurite, LocalService, aws_client
from shared.app.roles import KeyRole
from shared.model.records import MigrationRecord
from shared.state.table import TableStateStore, open_table_service

pytestmark = pytest.mark.integration
VM = "i-0aaaaaaaaaaaaaaa1"  # a record in the store, no instance anywhere: nothing works on it
BODY_TIMEOUT = 1.0
EVENTS, ALERTS, APPROVE = "/api/ec2-events", "/api/asr-alerts", f"/api/migrations/{VM}/approve"
# Every route of the app, and the admin API, with the role whose key opens it.
ROUTES = [
    ("GET", "/api/migrations", KeyRole.READER),
    ("GET", "/api/fleet", KeyRole.READER),
    ("GET", "/api/dashboard", KeyRole.READER),
    ("GET", f"/api/migrations/{VM}", KeyRole.READER),
    ("GET", "/api/assessments", KeyRole.READER),
    ("POST", APPROVE, KeyRole.OPERATOR),
    ("POST", "/api/waves/w1/pause", KeyRole.OPERATOR),
    ("POST", EVENTS, KeyRole.EVENTBRIDGE),
    ("POST", ALERTS, KeyRole.ALERTS),
    ("POST", "/admin/functions/reconcile_timer", "master"),
]
# The routes that read a body: events and alerts, and the commands (an optional reason).
POSTS = [("POST", EVENTS, KeyRole.EVENTBRIDGE), ("POST", ALERTS, KeyRole.ALERTS)]
COMMANDS = [
    ("POST", APPROVE, KeyRole.OPERATOR),
    ("POST", f"/api/migrations/{VM}/rollback", KeyRole.OPERATOR),
    ("POST", "/api/waves/w1/pause", KeyRole.OPERATOR),
]


@pytest.fixture(scope="module")
def estate(azurite: Azurite, moto_server: LocalService) -> Iterator[Estate]:
    # No queue workers: what a request queued stays on the queue, where the tests look for it.
    with running_estate(
        azurite, moto_server, event_grid=True, body_timeout=BODY_TIMEOUT, queues=False
    ) as running:
        store = TableStateStore(
            open_table_service(connection=azurite.connection_string, account_url=None),
            os.environ["AZMIGRATE_TABLE_PREFIX"],
        )
        store.ensure_tables()
        store.create(
            MigrationRecord.opted_in(instance_id=VM, account_id=ACCOUNT, region=REGION, now=datetime.now(UTC))
        )
        yield running


def key_of(estate: Estate, role: KeyRole | str) -> bytes:
    return (estate.keys.master if role == "master" else estate.keys.roles[KeyRole(role)]).encode()


def send(
    estate: Estate,
    method: str,
    path: str,
    *,
    key: bytes | None,
    body: bytes = b"",
    length: str | None = "honest",
    headers: dict[str, str] | None = None,
    raw_body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request over a raw socket; `length` "honest", None (no header) or what to declare;
    `raw_body` goes out as is (chunks), in place of `body`."""
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close"]
    if key is not None:
        lines.append(b"x-functions-key: " + key)
    if length is not None:
        lines.append(f"Content-Length: {len(body) if length == 'honest' else length}".encode())
    lines += [f"{name}: {value}".encode() for name, value in (headers or {}).items()]
    port = int(estate.host.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + (body if raw_body is None else raw_body))
        response = http.client.HTTPResponse(connection, method=method)
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def world(estate: Estate) -> dict[str, Any]:
    """Everything a request could have written: every row of the app's tables (with its ETag), the
    work queue, the simulator's ledger, moto's instances with their states and tags, and SSM commands."""
    tables = TableServiceClient.from_connection_string(os.environ["AZMIGRATE_TABLE_CONNECTION"])
    prefix = os.environ["AZMIGRATE_TABLE_PREFIX"]
    rows = {
        (table.name, row["PartitionKey"], row["RowKey"]): row.metadata["etag"]
        for table in tables.list_tables()
        if table.name.startswith(prefix)
        for row in tables.get_table_client(table.name).list_entities()
    }
    ec2 = aws_client(estate.moto.url, "ec2")
    instances = [
        (i["InstanceId"], i["State"]["Name"], sorted((t["Key"], t["Value"]) for t in i.get("Tags", [])))
        for page in ec2.get_paginator("describe_instances").paginate()
        for reservation in page["Reservations"]
        for i in reservation["Instances"]
    ]
    commands = len(aws_client(estate.moto.url, "ssm").list_commands()["Commands"])
    return {
        "rows": rows,
        "queued": estate.queued(),
        "ledger": len(estate.sim.vault.ledger),
        "instances": sorted(instances),
        "commands": commands,
    }


@pytest.fixture
def unchanged(estate: Estate) -> Iterator[list[tuple[int, dict[str, str], bytes]]]:
    """Collects the answers a test got; after it, asserts each is clean, nothing was written, and the
    host still answers."""
    answers: list[tuple[int, dict[str, str], bytes]] = []
    before = world(estate)
    yield answers
    assert answers, "the test sent nothing"
    keys = [k.encode() for k in (*estate.keys.roles.values(), estate.keys.master)]
    for status, headers, body in answers:
        assert b"Traceback" not in body and b'File "' not in body, body[:500]
        assert not any(key in body for key in keys), "an answer carries a key"
        if status >= 400 and body and headers.get("content-type", "").startswith("application/json"):
            error = json.loads(body)["error"]
            assert error["code"] and error["message"], body
    assert world(estate) == before
    status, _, _ = send(estate, "GET", "/api/migrations", key=key_of(estate, KeyRole.READER))
    assert status == 200, "the host stopped answering"


KEYLESS = [(route, k) for route in ROUTES for k in ("none", "wrong", "non-ascii", "empty")]
OTHER_ROLES = [(route, str(other)) for route in ROUTES for other in KeyRole if other != route[2]]


@pytest.mark.parametrize(("route", "sent"), KEYLESS + OTHER_ROLES)
def test_without_the_routes_own_key_every_route_is_a_401_with_no_body(
    estate: Estate, unchanged: list[Any], route: tuple[str, str, str], sent: str
):
    method, path, _ = route
    key = {"none": None, "wrong": b"wrong", "non-ascii": "ключ-é".encode(), "empty": b""}.get(sent)
    if sent in set(KeyRole):
        key = key_of(estate, sent)
    answer = send(estate, method, path, key=key, body=tag_event(VM) if method == "POST" else b"")
    unchanged.append(answer)
    assert (answer[0], answer[2]) == (401, b"")


VERBS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@pytest.mark.parametrize(("route", "verb"), [(r, verb) for r in ROUTES for verb in VERBS if verb != r[0]])
def test_other_methods_are_a_405_in_json_but_only_after_the_key(
    estate: Estate, unchanged: list[Any], route: tuple[str, str, str], verb: str
):
    method, path, role = route
    with_key = send(estate, verb, path, key=key_of(estate, role))
    without = send(estate, verb, path, key=None)
    unchanged += [with_key, without]
    assert (with_key[0], with_key[1]["allow"]) == (405, method)
    if verb != "HEAD":  # a HEAD answer has headers only
        assert json.loads(with_key[2])["error"]["code"] == "MethodNotAllowed"
    assert without[0] == 401


def deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


BAD_BODIES = {
    "empty": (b"", 400),
    "not json": (b"{not json", 400),
    "not utf-8": (b'{"id": "\xff\xfe"}', 400),
    "a list": (b"[]", 400),
    "a number": (b"42", 400),
    "a string": (b'"event"', 400),
    "null": (b"null", 400),
    "NaN": (b'{"id": NaN}', 400),
    "a repeated key": (b'{"id": "a", "id": "b"}', 400),
    "nested 10,000 deep": (deep(10_000), 400),
    "nested 40 deep in an object": (b'{"detail": ' + deep(40) + b"}", 400),
    "over the size limit": (b'{"pad": "' + b"x" * (1024 * 1024 + 1) + b'"}', 413),
}


@pytest.mark.parametrize("route", POSTS)
@pytest.mark.parametrize("case", BAD_BODIES)
def test_malformed_bodies_are_a_4xx_and_change_nothing(
    estate: Estate, unchanged: list[Any], route: tuple[str, str, str], case: str
):
    method, path, role = route
    body, status = BAD_BODIES[case]
    answer = send(estate, method, path, key=key_of(estate, role), body=body)
    unchanged.append(answer)
    assert answer[0] == status


# A command's body is optional (empty is fine); when sent, it is {"reason": "..."} and nothing else.
COMMAND_BODIES = {name: case for name, case in BAD_BODIES.items() if name != "empty"} | {
    "nested 10,000 deep": (deep(10_000), 413),  # 20,000 bytes: over a command's 4 KiB before parsing
    "an unknown field": (b'{"reason": "x", "force": true}', 400),
    "a reason that is not text": (b'{"reason": 5}', 400),
    "a reason over 500 characters": (b'{"reason": "' + b"x" * 501 + b'"}', 400),
}


# Every command route reads its body with the one reader: each case on approve, two on the others.
COMMAND_CASES = [(COMMANDS[0], case) for case in COMMAND_BODIES] + [
    (route, case) for route in COMMANDS[1:] for case in ("not json", "an unknown field")
]


@pytest.mark.parametrize(("route", "case"), COMMAND_CASES)
def test_malformed_command_bodies_are_a_4xx_and_change_nothing(
    estate: Estate, unchanged: list[Any], route: tuple[str, str, str], case: str
):
    """Read before the VM or wave is looked at: the opted-in VM would refuse a rollback (409) and
    the wave has no VM (404), so a 400 or 413 here is the body's."""
    method, path, role = route
    body, status = COMMAND_BODIES[case]
    answer = send(estate, method, path, key=key_of(estate, role), body=body)
    unchanged.append(answer)
    assert answer[0] == status


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "length", [("1000000000000", 413), ("-1", 400), ("ten", 400), ("1e3", 400), ("10, 11", 400)]
)
def test_a_dishonest_length_is_refused_before_the_body_is_read(
    estate: Estate, unchanged: list[Any], route: tuple[str, str, str], length: tuple[str, int]
):
    (method, path, role), (declared, status) = route, length
    answer = send(estate, method, path, key=key_of(estate, role), body=b"{}", length=declared)
    unchanged.append(answer)
    assert answer[0] == status


@pytest.mark.parametrize("route", ROUTES)  # even where the body is not read: the approval is not made
def test_a_withheld_body_is_a_408(estate: Estate, unchanged: list[Any], route: tuple[str, str, str]):
    method, path, role = route
    body = tag_event(VM)
    answer = send(estate, method, path, key=key_of(estate, role), body=body, length=str(len(body) + 100))
    unchanged.append(answer)
    assert (answer[0], json.loads(answer[2])["error"]["code"]) == (408, "RequestTimeout")


@pytest.mark.parametrize("route", POSTS)  # 101 MiB each: the two routes that read their bodies
def test_a_chunked_body_over_the_limit_is_a_413(
    estate: Estate, unchanged: list[Any], route: tuple[str, str, str]
):
    method, path, role = route
    chunk = b"x" * (1024 * 1024)
    chunks = (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") * 101 + b"0\r\n\r\n"
    headers = {"Transfer-Encoding": "chunked"}
    answer = send(
        estate, method, path, key=key_of(estate, role), length=None, headers=headers, raw_body=chunks
    )
    unchanged.append(answer)
    assert answer[0] == 413


def test_a_chunked_event_is_taken_whole_and_answered_once(estate: Estate):
    body = tag_event("i-0bbbbbbbbbbbbbbb2")
    chunks = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in (body[:50], body[50:])) + b"0\r\n\r\n"
    headers = {"Transfer-Encoding": "chunked"}
    key = key_of(estate, KeyRole.EVENTBRIDGE)
    status, _, answer = send(estate, "POST", EVENTS, key=key, length=None, headers=headers, raw_body=chunks)
    assert (status, json.loads(answer)["instanceId"]) == (202, "i-0bbbbbbbbbbbbbbb2")
    assert [work["instances"] for work in estate.queued()] == [["i-0bbbbbbbbbbbbbbb2"]]
    estate.work.clear_messages()


BAD_IDS = [
    "i-0123456789",  # 10 digits: neither the 8 of old ids nor the 17 of new ones
    "i-0123456789abcdef0%0A",  # a trailing newline
    "i-0123456789ABCDEF0",
    "i-0123456789abcdef0%27%20OR%20%271%27%3D%271",  # ' OR '1'='1
    "i-0123456789abcdef0%20or%20PartitionKey%20ne%20%27%27",  # an OData filter
    "..%2F..%2Fadmin",
    "%00",
    "%E2%80%AEi-0123456789abcdef0",  # a right-to-left override
]


@pytest.mark.parametrize("instance_id", BAD_IDS)
@pytest.mark.parametrize("route", [("GET", "", "reader"), ("POST", "/approve", "operator")])
def test_an_id_that_is_not_an_instance_id_is_a_400(
    estate: Estate, unchanged: list[Any], instance_id: str, route: tuple[str, str, str]
):
    method, suffix, role = route
    answer = send(estate, method, f"/api/migrations/{instance_id}{suffix}", key=key_of(estate, role))
    unchanged.append(answer)
    assert answer[0] in {400, 404}  # 404: no route (an encoded slash stays in its segment)
    if answer[0] == 400:
        assert json.loads(answer[2])["error"]["code"] == "InvalidInstanceId"


def test_route_values_are_percent_decoded(estate: Estate, unchanged: list[Any]):
    encoded = "".join(f"%{ord(c):02X}" for c in VM)
    answer = send(estate, "GET", f"/api/migrations/{encoded}", key=key_of(estate, KeyRole.READER))
    unchanged.append(answer)
    assert (answer[0], json.loads(answer[2])["record"]["instance_id"]) == (200, VM)


@pytest.mark.parametrize(
    "query",
    [
        "wave=%27%20or%20%271%27%20eq%20%271",
        "wave=a%0Ab",
        "wave=" + "w" * 64,
        "format=xml",
        "format=csv%00",
    ],
)
def test_a_bad_query_parameter_is_a_400(estate: Estate, unchanged: list[Any], query: str):
    answer = send(estate, "GET", f"/api/assessments?{query}", key=key_of(estate, KeyRole.READER))
    unchanged.append(answer)
    assert answer[0] == 400


def event(instance_id: str = "i-0ccccccccccccccc3", **changes: Any) -> bytes:
    sent = json.loads(tag_event(instance_id))
    sent.update(changes)
    return json.dumps(sent).encode()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (tag_event("i-0ccccccccccccccc3", account="999999999999"), 403, "ForeignEvent"),
        (
            event(region="eu-west-1", resources=["arn:aws:ec2:eu-west-1:123456789012:instance/i-0c"]),
            400,
            None,
        ),
        (
            event(region="eu-west-1", resources=[f"arn:aws:ec2:eu-west-1:{ACCOUNT}:instance/i-0ccccccc"]),
            403,
            None,
        ),
        (event(resources=[f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789"]), 400, "InvalidEvent"),
        (event(resources=[f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789abcdef0\n"]), 400, None),
        (event(resources=[]), 400, "InvalidEvent"),
        (event(detail=[]), 400, "InvalidEvent"),
        (event(detail={"changed-tag-keys": "azmigrate:enabled", "service": "ec2"}), 400, "InvalidEvent"),
        (event(**{"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2"}), 400, None),
        (event(source="aws.s3"), 400, "InvalidEvent"),
        (event(id=""), 400, "InvalidEvent"),
        (event(id="\ud800"), 400, "InvalidEvent"),  # an escaped lone surrogate
        (event(id=["a"]), 400, "InvalidEvent"),
        (event(account=123456789012), 400, "InvalidEvent"),
    ],
)
def test_events_that_are_not_ours_or_malformed_are_refused(
    estate: Estate, unchanged: list[Any], body: bytes, status: int, code: str | None
):
    answer = send(estate, "POST", EVENTS, key=key_of(estate, KeyRole.EVENTBRIDGE), body=body)
    unchanged.append(answer)
    assert answer[0] == status
    if code:
        assert json.loads(answer[2])["error"]["code"] == code


def test_a_replayed_event_id_with_another_body_is_a_409_and_a_duplicate_changes_nothing(estate: Estate):
    first = tag_event("i-0ddddddddddddddd4", event_id="replayed-1")
    key = key_of(estate, KeyRole.EVENTBRIDGE)
    assert send(estate, "POST", EVENTS, key=key, body=first)[0] == 202
    estate.work.clear_messages()
    before = world(estate)
    replay = send(
        estate, "POST", EVENTS, key=key, body=tag_event("i-0eeeeeeeeeeeeeee5", event_id="replayed-1")
    )
    again = send(estate, "POST", EVENTS, key=key, body=first)
    assert (replay[0], json.loads(replay[2])["error"]["code"]) == (409, "ReplayedEventId")
    assert (again[0], json.loads(again[2])["duplicate"]) == (202, True)
    assert world(estate) == before


# --- the Event Grid trigger, through the host's topic stand-in ------------------------------------


def cloud_event(data: Any, **changes: Any) -> dict[str, Any]:
    return {
        "id": "evt-1",
        "source": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v",
        "specversion": "1.0",
        "type": "MigrationAutopilot.AsrJob.StateChanged",
        "subject": "not-ours",
        "data": data,
    } | changes


def publish(estate: Estate, events: Any, topic_key: str | None = None) -> tuple[int, dict[str, str], bytes]:
    topic_key = topic_key or os.environ["AZMIGRATE_EVENTGRID_TOPIC_KEY"]
    body = json.dumps(events).encode()
    return send(estate, "POST", "/eventgrid/topic", key=None, body=body, headers={"aeg-sas-key": topic_key})


def test_the_topic_takes_only_its_own_key(estate: Estate, unchanged: list[Any]):
    delivered = len(estate.host.delivered)
    event = cloud_event({"jobId": "j-1", "instanceId": VM})
    unchanged.append(publish(estate, [event], topic_key="wrong"))
    unchanged.append(publish(estate, [event], topic_key=estate.keys.master))
    assert [status for status, _, _ in unchanged] == [401, 401]
    assert len(estate.host.delivered) == delivered


MALFORMED_JOB_EVENTS = [
    cloud_event({"jobId": "j", "instanceId": ["i-0123456789abcdef0"]}),
    cloud_event({"jobId": "j", "instanceId": {"id": "i-0123456789abcdef0"}}),
    cloud_event({"jobId": "j", "instanceId": 17}),
    cloud_event({"jobId": "j", "instanceId": "i-0123456789"}),
    cloud_event({"jobId": "j", "instanceId": "i-0123456789abcdef0\n"}),
    cloud_event({"jobId": "j", "instanceId": None}),  # names no VM, and its subject is not ours
    cloud_event(["i-0123456789abcdef0"]),
    cloud_event("i-0123456789abcdef0"),
    cloud_event(None),
    cloud_event({"instanceId": "i-0123456789abcdef0"}),  # no job id: not one of ours
]


@pytest.mark.parametrize("malformed", MALFORMED_JOB_EVENTS)
def test_the_event_grid_trigger_drops_a_malformed_event_without_raising(
    estate: Estate, unchanged: list[Any], malformed: dict[str, Any]
):
    failures = len(estate.host.delivery_failures)
    answer = publish(estate, [malformed])
    unchanged.append(answer)
    assert answer[0] == 200
    assert len(estate.host.delivery_failures) == failures


@pytest.mark.parametrize("batch", [[{"id": "x"}], ["event"], {"no": "attributes"}, 42])
def test_the_topic_refuses_a_batch_that_is_not_cloud_events(estate: Estate, unchanged: list[Any], batch: Any):
    answer = publish(estate, batch)
    unchanged.append(answer)
    assert answer[0] == 400


def test_a_well_formed_job_event_queues_work_for_the_vm_it_names_only(estate: Estate):
    answer = publish(estate, [cloud_event({"jobId": "j-1", "instanceId": VM, "state": "Succeeded"})])
    assert answer[0] == 200
    assert [work["instances"] for work in estate.queued()] == [[VM]]
    estate.work.clear_messages()


@pytest.mark.parametrize("route", ROUTES)
def test_the_key_is_checked_before_the_body_is_read(
    estate: Estate, unchanged: list[Any], route: tuple[str, str, str]
):
    """A stranger's request that declares a body and sends none is refused at once, not waited on."""
    method, path, _ = route
    answer = send(estate, method, path, key=b"wrong", body=b"", length="1000000000000")
    unchanged.append(answer)
    assert answer[0] == 401
