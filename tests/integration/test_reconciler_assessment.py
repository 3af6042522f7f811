"""Assessment inside real reconcile passes: crash adoption of a guest check, SSM management, and
metrics that cannot be read (a CloudWatch endpoint nobody answers on)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from local.stack import Azurite, LocalService, aws_client, free_port
from shared.adapters.cloudwatch import MetricsAdapter
from shared.core.actions import Act
from shared.model.phases import Phase
from shared.model.records import MigrationRecord, PendingAction
from tests.integration.reconcile_support import APPLIANCE, Estate, build_estate

pytestmark = pytest.mark.integration


def guest_checks_sent(moto: LocalService, instance_id: str) -> int:
    commands = aws_client(moto.url, "ssm").list_commands(InstanceId=instance_id)["Commands"]
    return sum(c["Comment"].startswith("Migration Autopilot: guest checks") for c in commands)


def crashed_after_a_guest_check(azurite: Azurite, moto: LocalService, *, sent_for: str) -> tuple[Estate, str]:
    """A VM whose guest-check intent (attempt a1) was written and whose worker died before recording
    a command id; one guest check was sent to it, for the attempt `sent_for` names."""
    estate = build_estate(azurite, moto)
    [vm] = estate.launch()
    facts = estate.reconciler.aws.opted_in()[vm]
    now = estate.reconciler.clock()
    estate.reconciler.aws.guest_check(facts, APPLIANCE, attempt=sent_for)
    crashed = MigrationRecord.opted_in(
        instance_id=vm, account_id=facts.account_id, region="us-east-1", now=now
    )
    intent = PendingAction(action=Act.GUEST_CHECK.value, attempt_id="a1", started_at=now)
    estate.store.create(crashed.evolve(phase=Phase.PREFLIGHT, pending_action=intent))
    return estate, vm


def test_a_guest_check_sent_before_a_crash_is_adopted_not_sent_again(
    azurite: Azurite, moto_server: LocalService
):
    # The intent was written, the command went out (its comment names the attempt), and the worker
    # died before recording its id.
    estate, vm = crashed_after_a_guest_check(azurite, moto_server, sent_for="[a1]")
    estate.run({Phase.AGENT_INSTALL, Phase.AWAITING_DISCOVERY, Phase.QUEUED}, [vm], seconds=1)
    assert guest_checks_sent(moto_server, vm) == 1
    history = [h.event for h in estate.store.history(vm)]
    assert "adopted" in history


def test_an_instance_ssm_cannot_reach_is_blocked_without_a_command(
    azurite: Azurite, moto_server: LocalService
):
    estate = build_estate(azurite, moto_server)
    [vm] = estate.launch(tags={"sim:ssm": "offline"})
    estate.run({Phase.BLOCKED}, [vm], passes=3)
    record = estate.store.find(vm)
    assert record is not None and record.last_error is not None and record.last_error.code == "ssm-unmanaged"
    assert guest_checks_sent(moto_server, vm) == 0
    estate.reconciler.reconcile()  # blocked stays blocked: management is read for blocked VMs too
    again = estate.store.find(vm)
    assert again is not None and again.phase is Phase.BLOCKED and again.version == record.version


def test_unreadable_metrics_size_as_on_premises_and_say_why(azurite: Azurite, moto_server: LocalService):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: every CloudWatch call fails

    def clients(service: str, region: str) -> Any:
        return aws_client(dead if service == "cloudwatch" else moto_server.url, service, region)

    metrics = MetricsAdapter(clients, memory_namespace="CWAgent", lookback=timedelta(days=1))
    estate = build_estate(azurite, moto_server, clients=clients, metrics=metrics)
    [vm] = estate.launch()
    estate.ec2().modify_instance_attribute(InstanceId=vm, InstanceType={"Value": "m5.2xlarge"})
    estate.run({Phase.AGENT_INSTALL, Phase.AWAITING_DISCOVERY, Phase.QUEUED}, [vm], seconds=1)
    record = estate.store.find(vm)
    assert record is not None and record.assessment is not None
    assert record.assessment.sizing_basis == "as-on-premises"
    assert "metrics unreadable" in record.assessment.sizing_reason
    assert record.target.vm_size == "Standard_D8s_v5"  # like for like, the safe choice


def test_another_attempts_guest_check_is_never_taken_for_this_one(
    azurite: Azurite, moto_server: LocalService
):
    """Adoption by identity: a command an earlier attempt sent does not count as this attempt's."""
    estate, vm = crashed_after_a_guest_check(azurite, moto_server, sent_for="[earlier]")
    estate.run({Phase.AGENT_INSTALL, Phase.AWAITING_DISCOVERY, Phase.QUEUED}, [vm], seconds=700)
    assert guest_checks_sent(moto_server, vm) == 2  # the earlier one, and this attempt's after its lease
    assert "adopted" not in [h.event for h in estate.store.history(vm)]
