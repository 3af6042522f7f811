"""The status routes, called through the registered function objects as the Functions host would."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import azure.functions as func
import pytest

from local.stack import Azurite
from shared.app import wiring
from shared.model.phases import Phase
from shared.model.records import HistoryEntry
from tests.conftest import T0, VALID_SETTINGS, app_handlers, assessed, instance_id, record, run_module

pytestmark = pytest.mark.integration
Handler = Callable[[func.HttpRequest], func.HttpResponse]


@pytest.fixture
def routes(azurite: Azurite, clean_settings_env: pytest.MonkeyPatch) -> Iterator[dict[str, Handler]]:
    for name, value in VALID_SETTINGS.items():
        clean_settings_env.setenv(name, value)
    clean_settings_env.setenv("AZMIGRATE_TABLE_CONNECTION", azurite.connection_string)
    clean_settings_env.setenv("AZMIGRATE_TABLE_PREFIX", f"api{uuid.uuid4().hex[:10]}")
    wiring.settings.cache_clear()
    wiring.state_store.cache_clear()
    yield app_handlers()
    wiring.state_store().close()
    wiring.settings.cache_clear()
    wiring.state_store.cache_clear()


def get(handler: Handler, url: str, **route_params: str) -> tuple[int, Any]:
    response = handler(func.HttpRequest("GET", url, body=b"", route_params=route_params))
    return response.status_code, json.loads(response.get_body())


def test_fleet_status_counts_records_by_phase(routes):
    store = wiring.state_store()
    for n in range(1, 4):
        created = store.create(record(n))
        if n == 3:
            store.update(created.evolve(phase=Phase.DONE))
    status, body = get(routes["fleet_status"], "/api/migrations")
    assert status == 200
    assert body == {"total": 3, "by_phase": {"done": 1, "opted_in": 2}}


def test_one_migration_with_its_timeline(routes):
    store = wiring.state_store()
    store.create(record(1))
    store.append_history(HistoryEntry(instance_id=instance_id(1), at=T0, event="opted_in", actor="test"))
    status, body = get(routes["migration_status"], "/api/migrations/x", instance_id=instance_id(1))
    assert status == 200
    assert body["record"]["phase"] == "opted_in"
    assert [e["event"] for e in body["timeline"]] == ["opted_in"]


def test_unknown_and_malformed_instances(routes):
    status, body = get(routes["migration_status"], "/api/migrations/x", instance_id=instance_id(9))
    assert (status, body["error"]["code"]) == (404, "NotFound")
    status, body = get(routes["migration_status"], "/api/migrations/x", instance_id="i-../../etc")
    assert status == 400
    assert body["error"] == {
        "code": "InvalidInstanceId",
        "message": "expected an EC2 instance id like i-0123456789abcdef0",
    }


def test_assessments_by_wave_as_json_and_csv(routes):
    store = wiring.state_store()
    for n, wave in ((1, "w1"), (2, "w1"), (3, "w2")):
        store.create(assessed(n, wave))
    store.create(record(4, wave="w1"))  # not assessed yet: left out
    response = routes["assessments"](
        func.HttpRequest("GET", "/api/assessments", body=b"", params={"wave": "w1"})
    )
    status, body = response.status_code, json.loads(response.get_body())
    assert status == 200 and body["count"] == 2
    assert [row["instance_id"] for row in body["assessments"]] == [instance_id(1), instance_id(2)]
    assert body["assessments"][0]["vm_size"] == "Standard_E2s_v5"
    response = routes["assessments"](
        func.HttpRequest("GET", "/api/assessments", body=b"", params={"format": "csv"})
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.get_body().decode().strip().splitlines()
    assert lines[0].startswith("instance_id,account_id,region,wave") and len(lines) == 4  # header + 3 VMs


def test_assessments_refuse_bad_parameters_before_reading(routes):
    request = func.HttpRequest("GET", "/api/assessments", body=b"", params={"wave": "../../x"})
    response = routes["assessments"](request)
    assert response.status_code == 400 and b"InvalidWave" in response.get_body()
    request = func.HttpRequest("GET", "/api/assessments", body=b"", params={"format": "xml"})
    response = routes["assessments"](request)
    assert response.status_code == 400 and b"InvalidFormat" in response.get_body()


def test_the_export_cli_writes_the_same_csv(routes, tmp_path):
    wiring.state_store().create(assessed(1, "w1"))
    out = tmp_path / "assessments.csv"
    result = run_module(
        "shared.app.export", "--wave", "w1", "--format", "csv", "--output", str(out), timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = out.read_text().strip().splitlines()
    assert len(lines) == 2 and instance_id(1) in lines[1]
    bad = run_module("shared.app.export", "--wave", "no/slashes", timeout=60)
    assert bad.returncode == 2 and "--wave" in bad.stderr


@pytest.mark.parametrize(
    "caller",
    [
        ("True", "alice@contoso.com", "alice@contoso.com"),
        ("", "mallory@example.com", "key:operator"),  # without Easy Auth anyone could send the header
        ("True", "", "key:operator"),
    ],
)
def test_the_approver_recorded_is_the_signed_in_caller_under_easy_auth_else_the_keys_role(
    routes, azurite: Azurite, clean_settings_env: pytest.MonkeyPatch, caller: tuple[str, str, str]
):
    easy_auth, principal, actor = caller
    clean_settings_env.setenv("AZMIGRATE_QUEUE_CONNECTION", azurite.connection_string)
    clean_settings_env.setenv("AZMIGRATE_WORK_QUEUE", f"work-{uuid.uuid4().hex[:12]}")
    clean_settings_env.setenv("WEBSITE_AUTH_ENABLED", easy_auth)
    wiring.clear_caches()
    wiring.state_store().create(record(1))
    headers = {"X-MS-CLIENT-PRINCIPAL-NAME": principal} if principal else {}
    request = func.HttpRequest(
        "POST",
        "/api/migrations/x/approve",
        body=b"",
        headers=headers,
        route_params={"instance_id": instance_id(1), "command": "approve"},
    )
    assert routes["migration_command"](request).status_code == 200
    approvals = [e for e in wiring.state_store().history(instance_id(1)) if e.event == "approved"]
    assert [e.actor for e in approvals] == [actor]
