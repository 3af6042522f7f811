"""What the simulator answers: a whole lifecycle for both providers, every answer against the spec,
and the spec's 200 and 204 answers handled by the adapter as "done at once"."""

from __future__ import annotations

import pytest
from azure.core.rest import HttpRequest

from local.asr_simulator import shapes
from local.asr_simulator.server import OFFAZURE_API_VERSION
from shared.adapters.asr import RCM, AsrAdapter, item_name_for
from tests.contract.drive import PROVIDERS, TARGET, lifecycle, simulator
from tests.integration.asr_support import RG, VAULT, admin, advance, register, sdk_client

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("at_once", [False, True], ids=["202", "200-204"])
def test_every_answer_of_a_lifecycle_conforms_to_the_spec(provider: str, at_once: bool):
    with simulator(answer_at_once=at_once) as sim:
        submitted = lifecycle(sim, provider)
        client = sdk_client(sim)
        fabrics = list(client.replication_fabrics.list(RG, VAULT))
        for fabric in fabrics:
            for container in client.replication_protection_containers.list_by_replication_fabrics(
                RG, VAULT, str(fabric.name)
            ):
                list(
                    client.replication_protection_container_mappings.list_by_replication_protection_containers(
                        RG, VAULT, str(fabric.name), str(container.name)
                    )
                )
                list(
                    client.replication_protectable_items.list_by_replication_protection_containers(
                        RG, VAULT, str(fabric.name), str(container.name)
                    )
                )
        for job in client.replication_jobs.list(RG, VAULT):
            client.replication_jobs.get(RG, VAULT, str(job.name))
        site = sim.vault.site_id
        client.send_request(HttpRequest("GET", f"{site}/machines?api-version={OFFAZURE_API_VERSION}"))
        client.close()
        assert sim.violations == []
        assert sim.checked >= 20  # the check ran: answers of every kind were seen
    statuses = {s.status for s in submitted}
    assert statuses == ({200, 204} if at_once else {202})
    assert all((s.operation_id is None) == at_once for s in submitted)


def test_a_breach_in_an_answer_is_seen(monkeypatch: pytest.MonkeyPatch):
    """The answer check can fail: a shape with a field the spec does not name is reported."""
    original = shapes.fabric
    monkeypatch.setattr(shapes, "fabric", lambda vault, site: {**original(vault, site), "hostName": "x"})
    with simulator() as sim:
        client = sdk_client(sim)
        list(client.replication_fabrics.list(RG, VAULT))
        client.close()
        assert any("hostName: not in the spec" in v for v in sim.violations)


def test_a_warning_inside_a_successful_operation_reaches_the_adapter_as_a_success():
    with simulator() as sim:
        admin(sim, "/admin/faults", {"warnScenarios": {"EnableDr": 1}})
        client = sdk_client(sim)
        adapter = AsrAdapter(client, RG, VAULT, RCM)
        register(sim, 1)
        [machine] = adapter.discovered()
        submitted = adapter.enable(item_name_for("i-0123456789abcdef0"), machine, TARGET)
        advance(sim, 60)
        assert submitted.operation_id is not None
        operation = adapter.operation(submitted.operation_id, "EnableDr")
        [job] = adapter.jobs_since(sim.vault.clock.now().replace(year=2000))
        client.close()
        assert sim.violations == []
    assert operation is not None and operation.succeeded and operation.warning.startswith("28175")
    assert job.succeeded and job.state == "CompletedWithInformation" and job.warning and not job.error_code
