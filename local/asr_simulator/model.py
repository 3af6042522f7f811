"""The simulator's data: sites, machines, protected items, jobs, events, and the actions on items.

Allowed operations per stage are as a real InMageRcm item recorded them (Azure CLI site-recovery
recordings, test_siterecovery_V2A_RCMInMage_scenarios.yaml; after commit: Azure PowerShell's
V2ATestReprotect.json, an InMage item): see tests/contract/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

RCM = "InMageRcm"
CLASSIC = "InMageAzureV2"
PROVIDERS = (RCM, CLASSIC)
REPLICATING_OPERATIONS = ["DisableProtection"]  # initial replication, waiting for a recovery point
PROTECTED_OPERATIONS = ["UnplannedFailover", "DisableProtection", "TestFailover"]
FAILED_OVER_OPERATIONS = ["CompleteMigration", "Commit", "DisableProtection", "ChangePit", "SwitchProtection"]
COMMITTED_OPERATIONS = ["CompleteMigration", "DisableProtection", "SwitchProtection"]
IDLE_SCENARIO_START = "1753-01-01T01:01:01Z"  # what an idle item's currentScenario.startTime says
GIB = 1024**3
NOT_STARTED_SHARE = 0.1  # a job waits this share of its duration in NotStarted


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


@dataclass(frozen=True)
class Site:
    provider: str
    fabric: str
    container: str
    policy: str
    mapping: str
    process_server_id: str
    master_target_id: str | None = None  # classic only
    run_as_account_id: str | None = None  # classic only


@dataclass
class Disk:
    disk_id: str  # the appliance's id for the disk (OffAzure generatedId; classic diskId)
    size_gb: float
    is_os: bool
    name: str = ""  # as the guest names it, e.g. /dev/nvme1n1 (the appliance never sees EBS ids)


@dataclass
class Machine:
    name: str  # ARM name: the BIOS UUID the agent reports
    display_name: str
    ip_address: str
    os_type: str
    disks: list[Disk]
    hostname: str = ""

    @property
    def total_gb(self) -> float:
        return sum(disk.size_gb for disk in self.disks)


@dataclass(frozen=True)
class ItemState:
    """What a job may change, saved at its start so a failure can put it back."""

    protection_state: str = "EnablingProtection"
    state_description: str = "Enabling protection"
    test_failover_state: str = "None"
    active_location: str = "Primary"
    allowed_operations: tuple[str, ...] = ()


@dataclass
class Item:
    name: str
    site: Site
    machine: Machine
    details_in: dict[str, Any]
    created_at: datetime
    internal_id: str  # a GUID: what InMageRcm jobs name as targetObjectId
    entity_id: str  # a GUID: what classic jobs name as targetObjectId (not shown on the item)
    state: ItemState = field(default_factory=ItemState)
    replicating: bool = False
    replicated_gb: float = 0.0
    protected_at: datetime | None = None
    recovery_point_at: datetime | None = None  # initial replication done: Protected at this time
    scenario: tuple[str, str, datetime] | None = None  # scenario name, job name, start
    health_errors: list[dict[str, Any]] = field(default_factory=list)
    before_job: ItemState | None = None


@dataclass
class Job:
    name: str
    operation_id: str  # in Azure-AsyncOperation; the simulator never makes it the job's name
    scenario: str
    friendly_name: str
    item_name: str
    fabric_id: str
    target_object_id: str
    target_object_name: str
    start: datetime
    finishes_at: datetime
    action: str
    outcome_error: dict[str, Any] | None  # decided at start; applied when the job ends
    changes: dict[str, Any] = field(default_factory=dict)  # an update's settings, applied on success
    warning: dict[str, Any] | None = None  # a successful job's warning (the operation says Succeeded)
    finished: bool = False
    end: datetime | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    def state_at(self, now: datetime) -> str:
        if self.finished:
            if self.errors:
                return "Failed"
            return "CompletedWithInformation" if self.warning else "Succeeded"
        if now < self.start + (self.finishes_at - self.start) * NOT_STARTED_SHARE:
            return "NotStarted"
        return "InProgress"


@dataclass(frozen=True)
class Event:
    name: str
    event_type: str
    code: str
    description: str
    severity: str
    affected: str
    fabric_id: str
    at: datetime


# action -> (operations of which one must be allowed, job scenario, friendly name); () = own rule.
# Job scenario names as recorded (Azure PowerShell AsrV2ARCMTests session records).
ACTIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "create": ((), "EnableDr", "Enable replication"),
    "update": ((), "UpdateVmProperties", "Update the virtual machine"),
    "testFailover": (("TestFailover",), "TestFailover", "Test failover"),
    "testFailoverCleanup": (("TestFailoverCleanup",), "TestFailoverCleanup", "Test failover cleanup"),
    "unplannedFailover": (("UnplannedFailover",), "UnplannedFailover", "Failover"),
    "failoverCommit": (("Commit",), "CommitFailover", "Commit"),
    "remove": (("DisableProtection", "CompleteMigration"), "DisableDr", "Disable replication"),
    "purge": ((), "PurgeProtection", "Purge protection"),
}
# Set-up jobs (policy, container mapping): scenario and friendly names unconfirmed (no recorded job
# of either was found); the app never relies on them.
SETUP_ACTIONS: dict[str, tuple[str, str]] = {
    "createPolicy": ("AddProtectionProfile", "Create replication policy"),
    "createMapping": ("PairReplicationGroups", "Associate replication policy"),
}
# The item's currentScenario names the running job differently for some actions (recorded: an enable
# shows EnableProtection while its job is EnableDr); the others are unconfirmed and kept as the job's.
CURRENT_SCENARIO = {"create": "EnableProtection"}
# Actions the spec lets the service answer as done at once: 200 with the item, or 204 once it is gone.
SYNC_ANSWERS = {
    "create": 200,
    "testFailover": 200,
    "testFailoverCleanup": 200,
    "unplannedFailover": 200,
    "failoverCommit": 200,
    "remove": 204,
    "purge": 204,
}
URL_ACTIONS = frozenset(
    {"testFailover", "testFailoverCleanup", "unplannedFailover", "failoverCommit", "remove"}
)
