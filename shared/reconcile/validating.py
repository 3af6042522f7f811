"""The reads a pass makes for VMs whose test migration is being validated: the test VM (instance view
and boot log) and, once sent, the smoke command's Run Command. A few GETs per VM, only for the VMs in
test validation; a read that fails leaves the VM waiting (reported), never the pass failed."""

from __future__ import annotations

import logging
from collections.abc import Callable

from shared.adapters.compute import ComputeAdapter
from shared.core.actions import Act
from shared.errors import ActionRefused, CloudUnavailable
from shared.model.phases import Phase
from shared.model.records import MigrationRecord
from shared.reconcile.snapshot import Snapshot
from shared.tracing import span

log = logging.getLogger(__name__)


def smoke_command_name(record: MigrationRecord) -> str:
    """One Run Command per attempt: a repeat after a crash finds its own, never another's."""
    assert record.pending_action is not None
    return f"azmigrate-smoke-{record.pending_action.attempt_id}"


def place_of_test_vm(record: MigrationRecord, default_group_id: str) -> tuple[str, str]:
    """(resource group, VM name) of the VM the test failover created: as its job named it
    (FailoverJobDetails' testVmName, a name or an ARM id, kept on the record when validation began),
    else `<target VM name>-test` in the target resource group (the portal's convention; unconfirmed)."""
    named = record.test_vm or ""
    group_id = record.target.resource_group_id or default_group_id
    group = group_id.rstrip("/").rsplit("/", 1)[-1]
    if "/virtualmachines/" in named.lower():
        parts = named.strip("/").split("/")
        lowered = [p.lower() for p in parts]
        return parts[lowered.index("resourcegroups") + 1], parts[-1]
    vm_name = record.target.vm_name or record.instance_id
    return group, named or f"{vm_name}-test"


class ValidationReads:
    def __init__(self, compute: ComputeAdapter | None, default_group_id: str) -> None:
        self.compute, self.default_group_id = compute, default_group_id

    def read(self, snapshot: Snapshot, only: set[str] | None, problem: Callable[[str, bool], None]) -> None:
        if self.compute is None:
            return
        for record in snapshot.records.values():
            if record.phase is not Phase.TEST_VALIDATION or (
                only is not None and record.instance_id not in only
            ):
                continue
            group, name = place_of_test_vm(record, self.default_group_id)
            try:
                with span(
                    "autopilot.cloud.test_vm", instance_id=record.instance_id, phase=record.phase.value
                ):
                    snapshot.test_vms[record.instance_id] = self.compute.test_vm(group, name)
                    pending = record.pending_action
                    if pending is not None and pending.action == Act.SMOKE_TEST:
                        snapshot.smokes[record.instance_id] = self.compute.smoke(
                            group, name, smoke_command_name(record)
                        )
            except (CloudUnavailable, ActionRefused) as error:
                log.warning("test VM unread", extra={"instance_id": record.instance_id, "error": str(error)})
                problem(f"{record.instance_id}: test VM {name} unread: {error}", error.retryable)
