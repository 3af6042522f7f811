"""The vault's state and behaviour on the simulator clock; the HTTP layer only translates.

A vault carries one site per provider it was started with: for InMageRcm (simplified appliance) a
fabric with a process server and a physical site whose discovered machines come from the appliance;
for InMageAzureV2 (classic) a VMware-type fabric with a process server, a master target and run-as
accounts, whose machines show up as protectable items once their agent registered. Each site has
one protection container, one policy and the container mapping between them; a `bare` vault has
neither policy nor mapping until a client creates them (setup.py). A test failover creates a test
VM on the vault's Compute side (compute.py).

Protected items move through the states the real service reports, with the allowed operations a
real item recorded (none while a job runs; after initial replication a wait for the first recovery
point, `first_recovery_point_seconds`, before Protected). Every action is a job that is NotStarted
for a moment, then InProgress, then Succeeded (or CompletedWithInformation, with a warning) or Failed
`job_seconds` later; a failed job leaves the item where the real service would. Each action has an
operation id of its own, never the job's name: the app must find the job by the item it acts on
(targetObjectId is the item's internal GUID, targetObjectName its friendly name). With
`answer_at_once`, actions the spec lets the service finish at once do so (answered 200 or 204).
Initial replication moves each item's disks at an equal share of one appliance bandwidth, so
admitting many items at once slows all of them.
"""

from __future__ import annotations

import math
import threading
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from local.asr_simulator.clock import SimClock
from local.asr_simulator.compute import Compute
from local.asr_simulator.faults import FaultProfile, job_error
from local.asr_simulator.model import (
    ACTIONS,
    CLASSIC,
    COMMITTED_OPERATIONS,
    FAILED_OVER_OPERATIONS,
    PROTECTED_OPERATIONS,
    PROVIDERS,
    RCM,
    REPLICATING_OPERATIONS,
    SETUP_ACTIONS,
    SYNC_ANSWERS,
    ArmError,
    Event,
    Item,
    Job,
    Machine,
    Site,
)
from local.asr_simulator.setup import MappingState, PolicyState, Setup, mapping_request, policy_request


class Vault:
    def __init__(
        self,
        subscription: str,
        resource_group: str,
        vault: str,
        clock: SimClock,
        *,
        providers: tuple[str, ...] = (RCM,),
        job_seconds: float = 30.0,
        bandwidth_mb_per_s: float = 100.0,
        faults: FaultProfile | None = None,
        first_recovery_point_seconds: float = 60.0,
        answer_at_once: bool = False,
        bare: bool = False,
    ) -> None:
        unknown = set(providers) - set(PROVIDERS)
        if unknown or not providers:
            raise ValueError(f"providers must be among {PROVIDERS}, got {providers}")
        self.subscription, self.resource_group, self.name = subscription, resource_group, vault
        self.clock = clock
        self.job_seconds = job_seconds
        self.first_recovery_point_seconds = first_recovery_point_seconds
        self.answer_at_once = answer_at_once
        self.bandwidth_gb_per_s = bandwidth_mb_per_s / 1024
        self.faults = faults or FaultProfile()
        self.prefix = (
            f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
            f"/providers/Microsoft.RecoveryServices/vaults/{vault}"
        )
        self.site_id = (
            f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
            f"/providers/Microsoft.OffAzure/ServerSites/{vault}-site"
        )
        self.sites = {site.fabric: site for site in (self._make_site(p) for p in providers)}
        self.machines: dict[str, dict[str, Machine]] = {provider: {} for provider in providers}
        # A bare vault has no policy and no mapping until a client creates them.
        self.setup = Setup() if bare else Setup.preset(list(self.sites.values()))
        self.compute = Compute(subscription)  # the test VMs test failovers create
        self.items: dict[str, Item] = {}
        self.jobs: dict[str, Job] = {}
        self.operations: dict[str, str] = {}  # operation id -> job name
        self.events: list[Event] = []
        self.ledger: list[dict[str, Any]] = []
        self.lock = threading.RLock()
        self._last_tick = clock.now()

    def _make_site(self, provider: str) -> Site:
        short = "rcm" if provider == RCM else "vmware"
        ids = {
            role: str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.prefix}/{short}/{role}"))
            for role in ("ps", "mt")
        }
        return Site(
            provider=provider,
            fabric=f"{short}-fabric",
            container=f"{short}-protection-container",
            policy=f"{short}-migration-policy",
            mapping=f"{short}-container-mapping",
            process_server_id=ids["ps"],
            master_target_id=ids["mt"] if provider == CLASSIC else None,
            run_as_account_id="1" if provider == CLASSIC else None,
        )

    # --- ids -------------------------------------------------------------------------------------

    def site(self, provider: str) -> Site | None:
        return next((site for site in self.sites.values() if site.provider == provider), None)

    def fabric_id(self, site: Site) -> str:
        return f"{self.prefix}/replicationFabrics/{site.fabric}"

    def container_id(self, site: Site) -> str:
        return f"{self.fabric_id(site)}/replicationProtectionContainers/{site.container}"

    def policy_id(self, site: Site) -> str:
        """The id of the policy mapped to the site's container; "" while it has none."""
        policy = self.setup.mapped_policy(site)
        return f"{self.prefix}/replicationPolicies/{policy.name}" if policy else ""

    def test_vm_name(self, item: Item) -> str:
        """The VM a test failover creates: `<targetVmName>-test` (unconfirmed convention)."""
        details = item.details_in
        name = details.get("targetVmName") or details.get("targetAzureVmName") or item.machine.display_name
        return f"{name}-test"

    def test_vm_group(self, item: Item) -> str:
        details = item.details_in
        group = details.get("targetResourceGroupId") or details.get("targetAzureV2ResourceGroupId") or ""
        return str(group).rstrip("/").rsplit("/", 1)[-1]

    def mapping_id(self, site: Site, name: str) -> str:
        return f"{self.container_id(site)}/replicationProtectionContainerMappings/{name}"

    def item_id(self, item: Item) -> str:
        return f"{self.container_id(item.site)}/replicationProtectedItems/{item.name}"

    def machine_id(self, name: str) -> str:
        """InMageRcm: the appliance's discovered machine (Microsoft.OffAzure)."""
        return f"{self.site_id}/machines/{name}"

    def protectable_item_id(self, site: Site, name: str) -> str:
        """Classic: the container's protectable item for a machine whose agent registered."""
        return f"{self.container_id(site)}/replicationProtectableItems/{name}"

    # --- discovery -------------------------------------------------------------------------------

    def register_machine(self, machine: Machine, provider: str | None = None) -> bool:
        """False when the vault has no site for that provider: the agent has nowhere to register."""
        provider = provider or next(iter(self.machines))
        with self.lock:
            if provider not in self.machines:
                return False
            self.machines[provider][machine.name] = machine
            return True

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
                running = [job for job in self.jobs.values() if not job.finished]
                if running:
                    next_event = min(next_event, *(job.finishes_at for job in running))
                waiting = [i for i in self.items.values() if i.recovery_point_at is not None]
                if waiting:
                    next_event = min(
                        next_event, *(i.recovery_point_at for i in waiting if i.recovery_point_at)
                    )
                step = max((next_event - self._last_tick).total_seconds(), 0.0)
                for item in replicating:
                    item.replicated_gb = min(item.machine.total_gb, item.replicated_gb + share * step)
                self._last_tick = max(self._last_tick, next_event)
                for item in replicating:
                    if item.machine.total_gb - item.replicated_gb < 1e-9:
                        self._protect(item)
                for job in sorted(running, key=lambda job: job.finishes_at):
                    if job.finishes_at <= self._last_tick:
                        self._finish(job)
                for item in waiting:
                    if item.recovery_point_at is not None and item.recovery_point_at <= self._last_tick:
                        self._first_recovery_point(item)
                if next_event >= now:
                    return now

    # --- protected items -------------------------------------------------------------------------

    def enable(self, fabric: str, name: str, body: dict[str, Any]) -> Job:
        with self.lock:
            self.tick()
            site = self.site_of(fabric)
            if name in self.items:
                raise ArmError(409, "ProtectionAlreadyEnabled", f"Protection is already enabled for {name}.")
            properties = body.get("properties") or {}
            details = properties.get("providerSpecificDetails") or {}
            if details.get("instanceType") != site.provider:
                raise ArmError(
                    400, "InvalidProviderInput", f"providerSpecificDetails must be {site.provider}."
                )
            if not self.policy_id(site):
                raise ArmError(
                    400, "ProtectionContainerNotMapped", "The protection container has no replication policy."
                )
            if (properties.get("policyId") or "").lower() != self.policy_id(site).lower():
                raise ArmError(
                    400, "PolicyNotFound", "policyId does not name the policy mapped to this container."
                )
            machine = self._enable_machine(site, properties, details)
            _check_disks(machine, details)
            if details["processServerId"] != site.process_server_id:
                raise ArmError(
                    400, "ProcessServerNotFound", "processServerId is not a process server of this fabric."
                )
            if any(item.machine.name == machine.name for item in self.items.values()):
                raise ArmError(
                    409, "MachineAlreadyProtected", f"{machine.display_name} is already protected."
                )
            item = Item(
                name,
                site,
                machine,
                details,
                self.clock.now(),
                internal_id=str(uuid.uuid4()),
                entity_id=str(uuid.uuid4()),
            )
            self.items[name] = item
            capacity = self.faults.process_server_capacity
            full = capacity is not None and sum(1 for i in self.items.values() if i.site == site) > capacity
            error: dict[str, Any] | None = (
                job_error("ProcessServerCapacityExceeded", "The process server is at capacity.")
                if full
                else self.faults.job_error(ACTIONS["create"][1], machine.display_name)
            )
            return self._start_job("create", item, error)

    def _enable_machine(self, site: Site, properties: dict[str, Any], details: dict[str, Any]) -> Machine:
        """The registered machine an enable request names; refuses anything the real service would."""
        if site.provider == RCM:
            required = ("fabricDiscoveryMachineId", "processServerId", "targetResourceGroupId")
            field_name, reference = (
                "fabricDiscoveryMachineId",
                str(details.get("fabricDiscoveryMachineId") or ""),
            )
        else:
            required = ("processServerId", "masterTargetId", "targetAzureV2ResourceGroupId")
            field_name, reference = "protectableItemId", str(properties.get("protectableItemId") or "")
        for key in required:
            if not details.get(key):
                raise ArmError(400, "MissingRequiredProperty", f"{key} is required for {site.provider}.")
        if site.provider == CLASSIC and details["masterTargetId"] != site.master_target_id:
            raise ArmError(
                400, "MasterTargetNotFound", "masterTargetId is not a master target of this fabric."
            )
        if site.provider == CLASSIC and details.get("runAsAccountId") not in (None, site.run_as_account_id):
            raise ArmError(
                400, "RunAsAccountNotFound", "runAsAccountId is not a run-as account of this fabric."
            )
        name = reference.rstrip("/").rsplit("/", 1)[-1]
        expected = self.machine_id(name) if site.provider == RCM else self.protectable_item_id(site, name)
        machine = self.machines[site.provider].get(name)
        if machine is None or reference.lower() != expected.lower():
            raise ArmError(
                400,
                "DiscoveredMachineNotFound",
                f"{field_name} does not name a machine with a registered agent.",
            )
        return machine

    def act(self, fabric: str, name: str, action: str, body: dict[str, Any]) -> Job:
        with self.lock:
            self.tick()
            item = self._item_in(fabric, name)
            needed = ACTIONS[action][0]
            changes: dict[str, Any] = {}
            if action == "update":
                if item.scenario or item.state.active_location != "Primary":
                    raise self._not_allowed(item, action)
                changes = self._update_changes(item, body)
            elif action == "purge":
                if item.scenario:
                    raise self._not_allowed(item, action)
            elif not any(operation in item.state.allowed_operations for operation in needed):
                raise self._not_allowed(item, action)
            error = self.faults.job_error(ACTIONS[action][1], item.machine.display_name)
            return self._start_job(action, item, error, changes)

    @staticmethod
    def _update_changes(item: Item, body: dict[str, Any]) -> dict[str, Any]:
        """The provider settings an update asks for; they apply only when its job succeeds."""
        changes = dict((body.get("properties") or {}).get("providerSpecificDetails") or {})
        if changes.pop("instanceType", item.site.provider) != item.site.provider:
            raise ArmError(
                400, "InvalidProviderInput", f"providerSpecificDetails must be {item.site.provider}."
            )
        return {key: value for key, value in changes.items() if value is not None}

    @staticmethod
    def _not_allowed(item: Item, action: str) -> ArmError:
        return ArmError(
            400,
            "OperationNotAllowed",
            f"{action} is not allowed for {item.name} in state {item.state.protection_state}; "
            f"allowed: {', '.join(item.state.allowed_operations) or 'none'}.",
        )

    def site_of(self, fabric: str) -> Site:
        site = next((s for name, s in self.sites.items() if name.lower() == fabric.lower()), None)
        if site is None:
            raise ArmError(404, "FabricNotFound", f"Fabric {fabric} was not found.")
        return site

    def _item_in(self, fabric: str, name: str) -> Item:
        item = self.items.get(name)
        if item is None or item.site != self.site_of(fabric):
            raise ArmError(404, "ReplicationProtectedItemNotFound", f"Protected item {name} was not found.")
        return item

    def get_item(self, fabric: str, name: str) -> Item:
        with self.lock:
            self.tick()
            return self._item_in(fabric, name)

    def get_job(self, name: str) -> Job:
        with self.lock:
            self.tick()
            job = self.jobs.get(name)
            if job is None:
                raise ArmError(404, "JobNotFound", f"Job {name} was not found.")
            return job

    def get_operation(self, operation_id: str) -> Job:
        """The job an operation started (the operation's status is its job's, by another id)."""
        with self.lock:
            self.tick()
            name = self.operations.get(operation_id)
            if name is None:
                raise ArmError(404, "OperationNotFound", f"Operation {operation_id} was not found.")
            return self.jobs[name]

    # --- vault set-up: policies and container mappings ------------------------------------------

    def create_policy(self, name: str, body: dict[str, Any]) -> Job:
        with self.lock:
            self.tick()
            wanted = policy_request(name, body, tuple(self.machines))
            return self._start_setup_job("createPolicy", name, f"{self.prefix}/replicationPolicies", wanted)

    def create_mapping(self, fabric: str, name: str, body: dict[str, Any]) -> Job:
        with self.lock:
            self.tick()
            site = self.site_of(fabric)
            wanted = mapping_request(site, name, body, self.setup, f"{self.prefix}/replicationPolicies/")
            return self._start_setup_job("createMapping", name, self.fabric_id(site), wanted, site)

    def _start_setup_job(
        self, action: str, name: str, fabric_id: str, wanted: Any, site: Site | None = None
    ) -> Job:
        """A set-up job; what it creates shows once it has finished."""
        scenario, friendly = SETUP_ACTIONS[action]
        now = self.clock.now()
        seconds = self.faults.slow_scenarios.get(scenario, self.job_seconds)
        job = Job(
            name=str(uuid.uuid4()),
            operation_id=str(uuid.uuid4()),
            scenario=scenario,
            friendly_name=friendly,
            item_name="",
            fabric_id=fabric_id,
            target_object_id=name,
            target_object_name=name,
            start=now,
            finishes_at=now + timedelta(seconds=seconds),
            action=action,
            outcome_error=self.faults.job_error(scenario, name),
            changes={"created": wanted, "site": site},
        )
        self.jobs[job.name] = job
        self.operations[job.operation_id] = job.name
        if seconds <= 0:
            self._finish(job)
        return job

    def _set_up(self, job: Job) -> None:
        created, site = job.changes["created"], job.changes["site"]
        if isinstance(created, PolicyState):
            self.setup.policies[created.name.lower()] = created
        elif isinstance(created, MappingState) and site is not None:
            self.setup.mappings[site.fabric.lower()] = created

    # --- transitions -----------------------------------------------------------------------------

    def _start_job(
        self, action: str, item: Item, error: dict[str, Any] | None, changes: dict[str, Any] | None = None
    ) -> Job:
        _, scenario, friendly = ACTIONS[action]
        now = self.clock.now()
        seconds = self.faults.slow_scenarios.get(scenario, self.job_seconds)
        at_once = self.answer_at_once and action in SYNC_ANSWERS and error is None
        job = Job(
            name=str(uuid.uuid4()),
            operation_id=str(uuid.uuid4()),
            scenario=scenario,
            friendly_name=friendly,
            item_name=item.name,
            fabric_id=self.fabric_id(item.site),
            # As recorded: InMageRcm jobs name the item's internal GUID, not its name; classic jobs a
            # protection-entity GUID the item does not show (it changed on reprotect), so only the
            # friendly name ties them to the item.
            target_object_id=item.internal_id if item.site.provider == RCM else item.entity_id,
            target_object_name=item.machine.display_name,  # the item's friendly name
            start=now,
            finishes_at=now if at_once else now + timedelta(seconds=seconds),
            action=action,
            outcome_error=error,
            changes=changes or {},
            warning=None if error else self.faults.job_warning(scenario),
        )
        self.jobs[job.name] = job
        self.operations[job.operation_id] = job.name
        item.scenario = (scenario, job.name, now)
        item.before_job = item.state
        running = replace(item.state, allowed_operations=())
        if action == "testFailoverCleanup":
            running = replace(running, test_failover_state="MarkedForDeletion")
        elif action in {"remove", "purge"}:
            running = replace(
                running, protection_state="DisablingProtection", state_description="Disabling protection"
            )
        item.state = running
        if at_once:
            self._finish(job)
        return job

    def _finish(self, job: Job) -> None:
        job.finished, job.end = True, job.finishes_at
        if job.outcome_error:
            job.errors = [{**job.outcome_error, "creationTime": job.finishes_at.isoformat()}]
        self._event(job)
        if job.action in SETUP_ACTIONS:
            if not job.errors:
                self._set_up(job)
            return
        item = self.items.get(job.item_name)
        if item is None:
            return
        item.scenario = None
        if job.errors:
            self._fail(item, job)
        else:
            self._succeed(item, job)

    def _succeed(self, item: Item, job: Job) -> None:
        state = item.state
        if job.action == "create":
            item.state = replace(
                state,
                protection_state="InitialReplicationInProgress",
                state_description="Initial replication",
                allowed_operations=tuple(REPLICATING_OPERATIONS),
            )
            item.replicating = True
            if item.machine.total_gb == 0:
                self._protect(item)
        elif job.action == "update":
            item.details_in = {**item.details_in, **job.changes}
            item.state = item.before_job or state
        elif job.action == "testFailover":
            item.state = replace(
                state, test_failover_state="WaitingForCompletion", allowed_operations=("TestFailoverCleanup",)
            )
            self.compute.create_test_vm(
                self.test_vm_name(item), self.test_vm_group(item), item.name, job.finishes_at
            )
        elif job.action == "testFailoverCleanup":
            self.compute.delete_test_vms(item.name)
            # A real InMageRcm item still said MarkedForDeletion after its cleanup had succeeded.
            item.state = replace(
                state, test_failover_state="MarkedForDeletion", allowed_operations=tuple(PROTECTED_OPERATIONS)
            )
        elif job.action == "unplannedFailover":
            item.state = replace(
                state,
                protection_state="UnplannedFailoverCommitPendingStatesBegin",
                state_description="Failover completed, commit pending",
                active_location="Recovery",
                allowed_operations=tuple(FAILED_OVER_OPERATIONS),
            )
        elif job.action == "failoverCommit":
            item.state = replace(
                state,
                protection_state="UnplannedFailoverCommitted",
                state_description="Failover committed",
                allowed_operations=tuple(COMMITTED_OPERATIONS),
            )
        elif job.action in {"remove", "purge"}:
            self.compute.delete_test_vms(item.name)
            del self.items[item.name]

    def _fail(self, item: Item, job: Job) -> None:
        """Where the real service leaves an item whose job failed."""
        before = item.before_job or item.state
        message = job.errors[0]["serviceErrorDetails"]["message"]
        if job.action == "create":
            # The item exists but does not replicate; the way on is to disable protection and retry.
            item.state = replace(
                before,
                protection_state="EnablingFailed",
                state_description="Enabling protection failed",
                allowed_operations=("DisableProtection",),
            )
            item.health_errors = [_health_error(job, message)]
        elif job.action == "testFailover":
            # A failed test failover still has to be cleaned up before anything else.
            item.state = replace(
                before, test_failover_state="Failed", allowed_operations=("TestFailoverCleanup",)
            )
        else:
            # Cleanup, failover, commit, update, remove: the item is back where it was.
            item.state = before

    def _protect(self, item: Item) -> None:
        """Initial replication is done; the item waits for its first recovery point (real: ~30 min)."""
        item.replicating = False
        item.replicated_gb = item.machine.total_gb
        item.recovery_point_at = self._last_tick + timedelta(seconds=self.first_recovery_point_seconds)
        item.state = replace(
            item.state,
            protection_state="InitialReplicationRecoveryCompletionPending",
            state_description="Waiting for first recovery point",
            allowed_operations=tuple(REPLICATING_OPERATIONS),
        )
        if self.first_recovery_point_seconds <= 0:
            self._first_recovery_point(item)

    def _first_recovery_point(self, item: Item) -> None:
        item.recovery_point_at = None
        item.protected_at = self._last_tick
        if item.scenario is not None and item.before_job is not None:
            # A job runs on the item (e.g. disabling replication): it keeps the item's state until it
            # ends; the item is protected underneath, which a failed job puts back.
            item.before_job = replace(
                item.before_job,
                protection_state="Protected",
                state_description="Protected",
                allowed_operations=tuple(PROTECTED_OPERATIONS),
            )
            return
        item.state = replace(
            item.state,
            protection_state="Protected",
            state_description="Protected",
            allowed_operations=tuple(PROTECTED_OPERATIONS),
        )

    def _event(self, job: Job) -> None:
        failed = bool(job.errors)
        self.events.append(
            Event(
                name=str(uuid.uuid4()),
                event_type="JobStatus",
                code="JobFailed" if failed else "JobSucceeded",
                description=f"{job.friendly_name} {'failed' if failed else 'succeeded'}",
                severity="Critical" if failed else "Info",
                affected=job.target_object_name,
                fabric_id=job.fabric_id,
                at=job.finishes_at,
            )
        )

    # --- ledger ----------------------------------------------------------------------------------

    def record(
        self,
        method: str,
        path: str,
        status: int,
        *,
        item: str | None,
        job: str | None,
        real: float,
        body: Any = None,
    ) -> None:
        """One call in the ledger; a mutation keeps its request body, so tests can see what was asked."""
        with self.lock:
            self.ledger.append(
                {
                    "time": self.clock.now().isoformat(),
                    "real": real,
                    "method": method,
                    "path": path,
                    "status": status,
                    "item": item,
                    "job": job,
                    "body": body,
                }
            )


def _check_disks(machine: Machine, details: dict[str, Any]) -> None:
    """disksToInclude must name the machine's own disks, the OS disk among them (as the portal
    requires it); error codes unconfirmed."""
    chosen = details.get("disksToInclude")
    if not chosen:
        return
    known = {disk.disk_id: disk for disk in machine.disks}
    named = [str(disk.get("diskId") or "") for disk in chosen if isinstance(disk, dict)]
    unknown = [disk_id for disk_id in named if disk_id not in known]
    if unknown or len(named) != len(chosen):
        raise ArmError(
            400, "DiskNotFound", f"disksToInclude names disks the machine does not have: {unknown}."
        )
    if len(set(named)) != len(named):
        raise ArmError(400, "DuplicateDisk", "disksToInclude names a disk twice.")
    if not any(known[disk_id].is_os for disk_id in named):
        raise ArmError(400, "OsDiskNotIncluded", "disksToInclude must include the OS disk.")


def _health_error(job: Job, message: str) -> dict[str, Any]:
    return {
        "errorCode": "EnableProtectionFailed",
        "errorMessage": message,
        "errorLevel": "Error",
        "summaryMessage": f"{job.friendly_name} failed",
        "recommendedAction": "Disable replication for the machine, fix the cause, then enable it again.",
        "creationTimeUtc": job.finishes_at.isoformat(),
        "entityId": job.target_object_id,
    }
