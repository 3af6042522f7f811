"""What the reconciler observed about one VM, as plain values: the input of `decide`.

Built by the adapters from bulk reads (one paged EC2 listing, one paged ASR item listing, the jobs
since a watermark); `decide` never does I/O, so these carry everything it needs. Strings from ASR are
compared case-insensitively: its states are not a closed enum.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.model.records import HealthIssue

TRUE_VALUES = frozenset({"true", "yes", "1"})
FALSE_VALUES = frozenset({"false", "no", "0"})


@dataclass(frozen=True)
class Disk:
    device: str
    size_gb: int
    is_root: bool
    volume_type: str = "gp3"  # EBS: gp2, gp3, io1, io2, st1, sc1, standard
    iops: int = 0  # provisioned IOPS (0: not reported)
    encrypted: bool = False
    volume_id: str = ""  # the EBS volume (vol-...)


@dataclass(frozen=True)
class ApplianceDisk:
    """A disk as the replication appliance discovered it in the guest (OffAzure ServerDisk:
    generatedId or id, name, maxSizeInBytes, lun, path; classic: diskDetails' diskId, diskName,
    diskSizeInMB)."""

    disk_id: str
    name: str
    size_bytes: int
    lun: int | None = None
    path: str = ""


@dataclass(frozen=True)
class Ec2Facts:
    instance_id: str
    state: str  # pending, running, stopping, stopped, shutting-down, terminated
    tags: dict[str, str]
    region: str = "us-east-1"
    account_id: str = ""
    tag_prefix: str = "azmigrate"
    platform: str = "Linux/UNIX"  # EC2 PlatformDetails
    image_name: str = ""
    virtualization_type: str = "hvm"
    architecture: str = "x86_64"  # i386, x86_64, arm64, x86_64_mac
    boot_mode: str = "legacy-bios"  # or uefi
    disks: tuple[Disk, ...] = ()
    instance_store_volumes: int = 0
    private_ip: str = ""
    hostname: str = ""
    ssm_managed: bool | None = None  # None: not known (the SSM inventory could not be read)
    instance_type: str = ""
    nic_count: int = 1
    ipv6_only: bool = False  # IPv6 addresses and no private IPv4 address
    security_groups: tuple[str, ...] = ()
    described: bool = True  # False: read from its tags alone (no state, addresses or disks)

    def tag(self, name: str) -> str | None:
        return self.tags.get(f"{self.tag_prefix}:{name}")

    @property
    def opted_in(self) -> bool:
        return (self.tag("enabled") or "").strip().lower() in TRUE_VALUES

    @property
    def paused(self) -> bool:
        """The pause tag says true: a team steering from AWS holds the VM (its removal resumes)."""
        return (self.tag("pause") or "").strip().lower() in TRUE_VALUES

    @property
    def approved(self) -> bool:
        return (self.tag("approved") or "").strip().lower() in TRUE_VALUES

    @property
    def is_windows(self) -> bool:
        return "windows" in self.platform.lower()

    def dry_run(self, policy_default: bool) -> bool:
        """The instance's dry-run tag wins over the fleet-wide setting, either way; a value that is
        neither true nor false keeps the dry run on (the safe reading), and assessment flags it."""
        value = (self.tag("dry-run") or "").strip().lower()
        return policy_default if not value else value not in FALSE_VALUES


@dataclass(frozen=True)
class JobFacts:
    """An ASR job, or an operation's status standing in for the job it started until the job is seen.

    Recorded job states: InProgress, Succeeded, Failed, CompletedWithInformation (NotStarted on tasks
    and operations); Cancelled is unconfirmed. A job names what it acts on by the item's internal GUID
    (`target_id`) and friendly name (`target_name`), never by the item's ARM name.
    """

    job_id: str
    scenario: str
    state: str
    start_time: datetime
    error_code: str = ""
    error_message: str = ""
    target_id: str = ""  # targetObjectId: the item's internal identifier
    target_name: str = ""  # targetObjectName: the item's friendly name
    warning: str = ""  # a success that carries an error: "Succeeded" with a note
    test_vm_name: str = ""  # a test failover's job: the test VM (FailoverJobDetails' testVmName)

    @property
    def finished(self) -> bool:
        # "Canceled" is ARM's operation spelling, "Cancelled" the job's (both unconfirmed for ASR).
        return self.state.lower() in {
            "succeeded",
            "failed",
            "cancelled",
            "canceled",
            "completedwithinformation",
        }

    @property
    def succeeded(self) -> bool:
        return self.state.lower() in {"succeeded", "completedwithinformation"}


@dataclass(frozen=True)
class ItemFacts:
    """The ASR protected item of this VM (None in Facts when it does not exist)."""

    name: str
    protection_state: str
    allowed_operations: frozenset[str]  # lower case; empty while a job runs on the item
    test_failover_state: str = "None"
    active_location: str = "Primary"
    replication_health: str = "Normal"
    progress_percent: int = 0
    current_job_id: str | None = None  # the job running on it (None when idle: ASR says ".../None")
    current_scenario: str | None = None
    friendly_name: str = ""  # what its jobs name as targetObjectName
    rpo_seconds: int | None = None  # the provider's last RPO (None: not reported, e.g. not protected)
    last_recovery_point: datetime | None = None
    health_issues: tuple[HealthIssue, ...] = ()  # properties.healthErrors
    internal_id: str = ""  # what its jobs name as targetObjectId

    def allows(self, operation: str) -> bool:
        return operation.lower() in self.allowed_operations

    def state_is(self, *states: str) -> bool:
        return self.protection_state.lower() in {state.lower() for state in states}


@dataclass(frozen=True)
class InstanceTypeFacts:
    """An EC2 instance type as `describe_instance_types` reports it: the like-for-like baseline."""

    name: str
    vcpus: int
    memory_mib: int
    max_nics: int
    instance_store_disks: int = 0
    instance_store_gb: int = 0

    @property
    def memory_gib(self) -> float:
        return self.memory_mib / 1024


@dataclass(frozen=True)
class Utilisation:
    """Percentiles over the sizing lookback, and how much of the lookback the metrics cover (0..1)."""

    cpu_p95: float | None = None
    memory_p95: float | None = None  # only with the CloudWatch agent
    cpu_coverage: float = 0.0
    memory_coverage: float = 0.0
    problem: str = ""  # why there are no metrics, when reading them failed


@dataclass(frozen=True)
class CommandFacts:
    """An SSM Run Command we sent (agent install or guest checks), as last seen."""

    command_id: str
    status: str  # Pending, InProgress, Success, Failed, TimedOut, Cancelled, ...
    sent_at: datetime
    output: str = ""  # standard output (SSM keeps the first 24,000 characters)

    @property
    def succeeded(self) -> bool:
        return self.status.lower() == "success"

    @property
    def failed(self) -> bool:
        return self.status.lower() in {"failed", "timedout", "cancelled", "cancelling", "undeliverable"}


@dataclass(frozen=True)
class Facts:
    ec2: Ec2Facts | None  # None: the instance no longer exists
    item: ItemFacts | None = None
    job: JobFacts | None = None  # the job the record tracks (its pending action's job)
    item_jobs: tuple[JobFacts, ...] = ()  # recent jobs on this VM's item: finds effects after a crash
    command: CommandFacts | None = None  # the pending SSM command (guest checks or agent install)
    instance_type: InstanceTypeFacts | None = None  # read only while a VM is being assessed
    utilisation: Utilisation | None = None  # read only while a VM is being assessed
    discovered_machine_id: str | None = None  # the appliance sees the agent (matched by BIOS id, IP, name)
    admission: bool = False  # the reconciler granted a slot in initial replication this pass
    vm_name: str = ""  # the Azure VM name claimed for this instance while it is assessed ("" = none)
    vm_name_taken_by: str = ""  # the instance that holds the name this one derived, when another does
    test_vm: TestVmFacts | None = None  # read while the test migration is validated
    smoke: SmokeFacts | None = None  # the smoke command's Run Command, once sent
    disk_note: str = ""  # how the coming enable sets disk types (per disk, or one type and why)
    vault_setup: str = ""  # what the vault still needs before an enable (policy, mapping); "" = ready
    in_cutover_window: bool = True
    window_opens_at: datetime | None = None  # outside the window: when the next one opens
    wave_cutover_mode: str = ""  # the VM's wave's own cutover mode ("" = the policy's)
    wave_windows: str = ""  # the wave whose own windows apply ("" = the app's windows)


@dataclass(frozen=True)
class TestVmFacts:
    """The VM a test failover created, as Compute shows it (empty fields: not reported yet)."""

    __test__ = False  # a fact, not a test class, whatever pytest makes of its name
    name: str
    found: bool = False
    provisioning: str = ""  # the instance view's ProvisioningState/<x>: succeeded, creating, failed
    power: str = ""  # PowerState/<x>: running, starting, stopped, deallocated
    agent: str = ""  # the VM agent's displayStatus: Ready, Not Ready ("" = not reported)
    boot_failure: str = ""  # the serial log's line that shows a failed boot ("" = none seen)
    boot_log: bool = False  # the serial log could be read
    problem: str = ""  # why it could not be read


@dataclass(frozen=True)
class SmokeFacts:
    """The smoke command's Run Command in the test VM (executionState, exitCode, output, error)."""

    state: str  # Pending, Running, Succeeded, Failed, TimedOut, Canceled, Unknown
    exit_code: int | None = None
    output: str = ""
    error: str = ""

    @property
    def finished(self) -> bool:
        return self.state.lower() in {"succeeded", "failed", "timedout", "canceled"}


@dataclass(frozen=True)
class Policy:
    cutover_mode: str = "approval"  # auto | approval; the instance's cutover tag wins
    retry_limit: int = 3
    backoff_seconds: int = 300
    lease_seconds: int = (
        600  # how long an intent without a result blocks a repeat (a worker may still be on it)
    )
    discovery_timeout_seconds: int = 3_600
    dry_run: bool = False  # assess only: never install agents or enable replication (the tag wins)
    blocked_recheck_seconds: int = 3_600  # a VM blocked by its guest checks is checked again this often
    stall_seconds: int = 7_200  # initial replication without progress this long: a warning
    rpo_warning_seconds: int = 1_800  # a replicating VM's RPO above this: a warning
    comfort_factor: float = 1.3  # head room over the measured p95 CPU and memory
    min_metric_coverage: float = 0.5  # below this share of the lookback, size as on premises
    target_location: str = ""  # the Azure region the sizes must be offered in ("" = any)
    smoke_command: str = ""  # run in every test VM ("" = none); the instance's smoke-test tag wins
    validation_seconds: int = 1_800  # how long a test VM may take to pass its checks
