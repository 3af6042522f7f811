"""An operator rolls back a failed cutover through the local host: the EC2 source runs again and
replication is kept, so a retry migrates without enabling replication again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.estate import tag_event
from local.fault_proxy import FaultProxy
from local.stack import LocalService
from tests.e2e.driving import asr_actions, drive, drive_until, ec2_state, estate_with, timeline
from tests.e2e.test_ec2_events import launch

pytestmark = pytest.mark.integration
__all__ = ["estate_with"]  # the fixture


@pytest.fixture
def aws_proxy(moto_server: LocalService) -> Iterator[FaultProxy]:
    proxy = FaultProxy(moto_server.url).start()
    yield proxy
    proxy.stop()


def test_a_failed_cutover_whose_source_aws_would_not_start_is_rolled_back_by_an_operator(
    estate_with, aws_proxy: FaultProxy
):
    """The failover fails; the app's own start of the source is refused (IAM) until it gives up; the
    operator fixes the policy and rolls back: the instance runs again and replication is kept, so a
    retry migrates without enabling replication again."""
    estate = estate_with(
        AZMIGRATE_AWS_ENDPOINT_URL=aws_proxy.url,
        AZMIGRATE_RETRY_LIMIT="1",
        AZMIGRATE_RETRY_BACKOFF_SECONDS="1",
        AZMIGRATE_LEASE_SECONDS="30",
    )
    estate.sim.vault.faults.update({"failScenarios": {"UnplannedFailover": 1}})
    denied = "You are not authorized to perform this operation."
    aws_proxy.refuse("StartInstances", "UnauthorizedOperation", denied)
    vm = launch(estate, {"azmigrate:enabled": "true"})
    estate.post("/api/ec2-events", tag_event(vm))
    drive(estate, [vm], {"failed"}, seconds=90)
    assert estate.record(vm)["pending_action"]["action"] == "start_source"  # the app's own rollback
    status, body = estate.post(f"/api/migrations/{vm}/rollback")
    assert (status, body["changed"]) == (200, False)  # owed already: nothing to add
    drive_until(estate, lambda: estate.record(vm)["pending_action"] is None)  # it gave up (one lease)
    record = estate.record(vm)
    assert (record["last_error"]["code"], ec2_state(estate, vm)) == ("SourceNotStarted", "stopped")
    assert aws_proxy.refused >= 1

    aws_proxy.allow("StartInstances")  # the team fixed the policy
    status, body = estate.post(f"/api/migrations/{vm}/rollback", b'{"reason": "IAM fixed, INC-4711"}')
    assert (status, body["changed"], body["phase"]) == (200, True, "failed")
    assert estate.post(f"/api/migrations/{vm}/rollback")[1]["changed"] is False  # sent twice: one entry
    assert estate.post(f"/api/migrations/{vm}/retry")[0] == 409  # not while the start is owed
    drive_until(estate, lambda: estate.record(vm)["pending_action"] is None)
    assert ec2_state(estate, vm) == "running"
    assert f"azmigrate-{vm}" in estate.sim.vault.items  # replication kept
    assert "remove" not in asr_actions(estate, vm)
    steps = [(e["event"], e["actor"], e["reason"]) for e in timeline(estate, vm) if e["event"] == "rollback"]
    assert steps == [("rollback", "key:operator", "IAM fixed, INC-4711")]

    status, body = estate.post(f"/api/migrations/{vm}/retry")
    assert (status, body["phase"]) == (200, "ready_for_cutover")
    drive(estate, [vm], {"done"}, seconds=90)
    actions = asr_actions(estate, vm)
    assert (actions["PUT"], actions["unplannedFailover"]) == (1, 2)  # one replication, two failovers
