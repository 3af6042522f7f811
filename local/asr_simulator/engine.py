"""The vault's state and behaviour on the simulator clock; the HTTP layer only translates.

One InMageRcm fabric with a process server and a physical site, one protection container, one
replication policy and its container mapping. Protected items move through the states the real
service reports; every action is a job that finishes `job_seconds` of simulator time later. Initial
replication moves each item's disks at an equal share of one appliance bandwidth, so admitting many
items at once slows all of them, as on a real process server.
"""

from __future__ import annotations

import math
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from local.asr_simulator.clock import SimClock

PROVIDER = "InMageRcm"
PROTECTED_OPERATIONS = ["TestFailover", "UnplannedFailover", "DisableProtection"]
GIB = 1024**3


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Disk:
    disk_id: str
    size_gb: float
    is_os: bool


@dataclass
class Machine:
    name: str  # ARM name of the discovered machine (the BIOS UUID, as the appliance reports it)
    display_name: str
    ip_address: str
    os_type: str
    disks: list[Disk]

    @property
    def total_gb(self) -> float:
        return sum(disk.size_gb for disk in self.disks)


@dataclass
class Item:
    name: str
    machine: Machine
    details_in: dict[str, Any]
    policy_id: str
    created_at: datetime
    protection_state: str = "EnablingProtection"
    state_description: str = "Enabling protection"
    test_failover_state: str = "None"
    active_location: str = "Primary"
    allowed_operations: list[str] = field(default_factory=list)
    replicating: bool = False
    replicated_gb: float = 0.0
    protected_at: datetime | None = None
    scenario: tuple[str, str, datetime] | None = None  # scenario name, job name, start


@dataclass
class Job:
    name: str
    scenario: str
    friendly_name: str
    item_name: str
    target_object_id: str
    target_object_name: str
    start: datetime
    finishes_at: datetime
    action: str
    state: str = "InProgress"
    end: datetime | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


# url action -> (operation that must be allowed, job scenario, job friendly name)
ACTIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "create": ((), "EnableDr", "Enable replication"),
    "testFailover": (("TestFailover",), "TestFailover", "Test failover"),
    "testFailoverCleanup": (("TestFailoverCleanup",), "TestFailoverCleanup", "Test failover cleanup"),
    "unplannedFailover": (("UnplannedFailover",), "UnplannedFailover", "Failover"),
    "failoverCommit": (("Commit",), "CommitFailover", "Commit"),
    "remove": (("DisableProtection", "CompleteMigration"), "DisableDr", "Disable replication"),
}


class Vault:
    def __init__(
        self,
        subscription: str,
        resource_group: str,
        vault: str,
        clock: SimClock,
        *,
        job_seconds: float = 30.0,
        bandwidth_mb_per_s: float = 100.0,
    ) -> None:
        self.subscription, self.resource_group, self.name = subscription, resource_group, vault
        self.clock = clock
        self.job_seconds = job_seconds
        self.bandwidth_gb_per_s = bandwidth_mb_per_s / 1024
        self.prefix = (
            f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
            f"/providers/Microsoft.RecoveryServices/vaults/{vault}"
        )
        self.fabric = "rcm-fabric"
        self.container = "rcm-protection-container"
        self.policy = "rcm-migration-policy"
        self.mapping = "rcm-container-mapping"
        self.site_id = (
            f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
            f"/providers/Microsoft.OffAzure/ServerSites/{vault}-site"
        )
        self.process_server_id = str(uuid.uuid5(uuid.NAMESPACE_URL, self.prefix + "/ps"))
        self.machines: dict[str, Machine] = {}
        self.items: dict[str, Item] = {}
        self.jobs: dict[str, Job] = {}
        self.ledger: list[dict[str, Any]] = []
        self.lock = threading.RLock()
        self._last_tick = clock.now()

    # --- ids -------------------------------------------------------------------------------------

    @property
    def fabric_id(self) -> str:
        return f"{self.prefix}/replicationFabrics/{self.fabric}"

    @property
    def container_id(self) -> str:
        return f"{self.fabric_id}/replicationProtectionContainers/{self.container}"

    @property
    def policy_id(self) -> str:
        return f"{self.prefix}/replicationPolicies/{self.policy}"

    def item_id(self, name: str) -> str:
        return f"{self.container_id}/replicationProtectedItems/{name}"

    def machine_id(self, name: str) -> str:
        return f"{self.site_id}/machines/{name}"

    # --- discovery -------------------------------------------------------------------------------

    def register_machine(self, machine: Machine) -> None:
        with self.lock:
            self.machines[machine.name] = machine

    # --- time ------------------------------------------------------------------------------------

    def tick(self) -> datetime:
        """Bring every item and job up to the clock's now, event by event, in time order."""
        with self.lock:
            now = self.clock.now()
            while True:
                replicating = [item for item in self.items.values() if item.replicating]
                share = self.bandwidth_gb_per_s / len(replicating) if replicating else 0.0
                next_event = now
                if replicating:
                    soonest = min(item.machine.total_gb - item.replicated_gb for item in replicating) / share
                    # Round up to datetime's microsecond: rounding down could leave a remainder that
                    # never completes, and the loop would spin on zero-length steps.
                    micros = max(math.ceil(soonest * 1_000_000), 0)
                    next_event = min(next_event, self._last_tick + timedelta(microseconds=micros))
                running = [job for job in self.jobs.values() if job.state == "InProgress"]
                if running:
                    next_event = min(next_event, *(job.finishes_at for job in running))
                step = max((next_event - self._last_tick).total_seconds(), 0.0)
                for item in replicating:
                    item.replicated_gb = min(item.machine.total_gb, item.replicated_gb + share * step)
                self._last_tick = max(self._last_tick, next_event)
                for item in replicating:
                    if item.machine.total_gb - item.replicated_gb < 1e-9:
                        self._protect(item)
                for job in running:
                    if job.finishes_at <= self._last_tick:
                        self._finish(job)
                if next_event >= now:
                    return now

    # --- protected items -------------------------------------------------------------------------

    def enable(self, name: str, body: dict[str, Any]) -> Job:
        with self.lock:
            self.tick()
            if name in self.items:
                raise ArmError(409, "ProtectionAlreadyEnabled", f"Protection is already enabled for {name}.")
            properties = body.get("properties") or {}
            details = properties.get("providerSpecificDetails") or {}
            if details.get("instanceType") != PROVIDER:
                raise ArmError(400, "InvalidProviderInput", f"providerSpecificDetails must be {PROVIDER}.")
            if (properties.get("policyId") or "").lower() != self.policy_id.lower():
                raise ArmError(
                    400, "PolicyNotFound", "policyId does not name a policy mapped to this container."
                )
            for required in ("fabricDiscoveryMachineId", "processServerId", "targetResourceGroupId"):
                if not details.get(required):
                    raise ArmError(400, "MissingRequiredProperty", f"{required} is required for {PROVIDER}.")
            machine_name = str(details["fabricDiscoveryMachineId"]).rstrip("/").rsplit("/", 1)[-1]
            machine = self.machines.get(machine_name)
            if (
                machine is None
                or details["fabricDiscoveryMachineId"].lower() != self.machine_id(machine_name).lower()
            ):
                raise ArmError(
                    400, "DiscoveredMachineNotFound", "fabricDiscoveryMachineId is not a discovered machine."
                )
            if details["processServerId"] != self.process_server_id:
                raise ArmError(
                    400, "ProcessServerNotFound", "processServerId is not a process server of this fabric."
                )
            item = Item(name, machine, details, self.policy_id, self.clock.now())
            self.items[name] = item
            return self._start_job("create", item)

    def act(self, name: str, action: str, body: dict[str, Any]) -> Job:
        with self.lock:
            self.tick()
            item = self.get_item(name)
            needed, _, _ = ACTIONS[action]
            if not any(operation in item.allowed_operations for operation in needed):
                raise ArmError(
                    400,
                    "OperationNotAllowed",
                    f"{action} is not allowed for {name} in state {item.protection_state}; "
                    f"allowed: {', '.join(item.allowed_operations) or 'none'}.",
                )
            return self._start_job(action, item)

    def get_item(self, name: str) -> Item:
        with self.lock:
            self.tick()
            item = self.items.get(name)
            if item is None:
                raise ArmError(
                    404, "ReplicationProtectedItemNotFound", f"Protected item {name} was not found."
                )
            return item

    def get_job(self, name: str) -> Job:
        with self.lock:
            self.tick()
            job = self.jobs.get(name)
            if job is None:
                raise ArmError(404, "JobNotFound", f"Job {name} was not found.")
            return job

    # --- transitions -----------------------------------------------------------------------------

    def _start_job(self, action: str, item: Item) -> Job:
        _, scenario, friendly = ACTIONS[action]
        now = self.clock.now()
        job = Job(
            name=str(uuid.uuid4()),
            scenario=scenario,
            friendly_name=friendly,
            item_name=item.name,
            target_object_id=item.machine.name,
            target_object_name=item.machine.display_name,
            start=now,
            finishes_at=now + timedelta(seconds=self.job_seconds),
            action=action,
        )
        self.jobs[job.name] = job
        item.scenario = (scenario, job.name, now)
        item.allowed_operations = []
        if action == "testFailoverCleanup":
            item.test_failover_state = "MarkedForDeletion"
        elif action == "remove":
            item.protection_state, item.state_description = "DisablingProtection", "Disabling protection"
        return job

    def _finish(self, job: Job) -> None:
        job.state, job.end = "Succeeded", job.finishes_at
        item = self.items.get(job.item_name)
        if item is None:
            return
        item.scenario = None
        if job.action == "create":
            item.protection_state, item.state_description = (
                "InitialReplicationInProgress",
                "Initial replication",
            )
            item.replicating = True
            if item.machine.total_gb == 0:
                self._protect(item)
        elif job.action == "testFailover":
            item.test_failover_state = "WaitingForCompletion"
            item.allowed_operations = ["TestFailoverCleanup"]
        elif job.action == "testFailoverCleanup":
            item.test_failover_state = "None"
            item.allowed_operations = list(PROTECTED_OPERATIONS)
        elif job.action == "unplannedFailover":
            item.protection_state = "UnplannedFailoverCommitPendingStatesBegin"
            item.state_description = "Failover completed, commit pending"
            item.active_location = "Recovery"
            item.allowed_operations = ["Commit", "CompleteMigration", "DisableProtection"]
        elif job.action == "failoverCommit":
            item.protection_state, item.state_description = "UnplannedFailoverCommitted", "Failover committed"
            item.allowed_operations = ["CompleteMigration", "DisableProtection"]
        elif job.action == "remove":
            del self.items[item.name]

    def _protect(self, item: Item) -> None:
        item.replicating = False
        item.replicated_gb = item.machine.total_gb
        item.protected_at = self._last_tick
        item.protection_state, item.state_description = "Protected", "Protected"
        item.allowed_operations = list(PROTECTED_OPERATIONS)

    # --- ledger ----------------------------------------------------------------------------------

    def record(self, method: str, path: str, status: int, item: str | None, job: str | None) -> None:
        with self.lock:
            self.ledger.append(
                {
                    "time": self.clock.now().isoformat(),
                    "method": method,
                    "path": path,
                    "status": status,
                    "item": item,
                    "job": job,
                }
            )
