"""One pass's view of the fleet, read in bulk, and the facts of each VM drawn from it.

A pass costs a fixed number of paged reads whatever the fleet size: the in-flight records (one
query), the opted-in instances (one tag-filtered listing per region), the vault's items (one list),
the jobs since the oldest open intent (one list) and, when a VM waits for it, the appliance's
discovered machines (one list); for VMs being assessed, SSM management, instance types and metrics
(shared/reconcile/assessing.py, one call each per account and region). The only per-VM reads are a
pending SSM command's outcome (guest checks, agent install), only for VMs waiting on one, and an ASR
operation's status, only while the job it started is not in the job list.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.adapters.asr import DiscoveredMachine, item_name_for
from shared.assessment.disk_map import DiskLayout, disk_layout
from shared.assessment.sizing import AZURE_DISK_TYPES
from shared.core.actions import JOB_SCENARIO, SSM_COMMANDS, Act
from shared.core.context import job_since
from shared.model.facts import (
    ApplianceDisk,
    CommandFacts,
    Ec2Facts,
    Facts,
    InstanceTypeFacts,
    ItemFacts,
    JobFacts,
    SmokeFacts,
    TestVmFacts,
    Utilisation,
)
from shared.model.phases import Phase
from shared.model.records import MigrationRecord
from shared.state.names import ClaimedName

REPLICATING = frozenset({Phase.ENABLING, Phase.INITIAL_REPLICATION})
NEEDS_DISCOVERY = frozenset(
    {Phase.PREFLIGHT, Phase.AGENT_INSTALL, Phase.AWAITING_DISCOVERY, Phase.QUEUED, Phase.ENABLING}
)
JOB_WINDOW_MARGIN = timedelta(minutes=5)  # clock skew between us and Site Recovery
# Phases decided without Site Recovery's view: they go on when ASR cannot be read. Preflight and
# agent install need the appliance's discovered machines (an agent already registered is not
# installed again), so they wait too.
DECIDABLE_WITHOUT_ASR = frozenset({Phase.OPTED_IN, Phase.ASSESSED, Phase.BLOCKED})


@dataclass
class Snapshot:
    records: dict[str, MigrationRecord]
    ec2: dict[str, Ec2Facts]
    items: dict[str, ItemFacts]
    jobs: list[JobFacts]
    discovered: list[DiscoveredMachine]
    admitted: set[str] = field(default_factory=set)
    replicating: set[str] = field(default_factory=set)  # counted by admit(): the VMs holding slots
    queued: set[str] = field(default_factory=set)  # counted by admit(): the VMs waiting for one
    instance_types: dict[str, InstanceTypeFacts] = field(default_factory=dict)  # by instance id
    utilisation: dict[str, Utilisation] = field(default_factory=dict)  # by instance id
    commands: dict[str, CommandFacts | None] = field(default_factory=dict)  # read ahead, by instance id
    operations: dict[str, JobFacts | None] = field(default_factory=dict)  # read ahead, by operation id
    asr_unreadable: str = ""  # why Site Recovery could not be read this pass ("" when it could)
    vm_names: dict[str, ClaimedName] = field(default_factory=dict)  # claimed while assessed, by id
    test_vms: dict[str, TestVmFacts] = field(default_factory=dict)  # read while validated, by id
    smokes: dict[str, SmokeFacts | None] = field(default_factory=dict)  # the smoke commands, by id
    vault_setup: str = ""  # what the vault still needs before an enable ("" = ready or not asked)
    # The jobs indexed once per pass, not once per VM and step: facts() runs for every VM.
    _by_id: dict[str, JobFacts] = field(init=False, repr=False)
    _by_item: dict[str, tuple[JobFacts, ...]] = field(init=False, repr=False)
    _machines: MachineIndex = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {job.job_id: job for job in self.jobs}
        self._by_item = jobs_by_item(self.items, self.jobs)
        self._machines = MachineIndex(self.discovered)

    def machine_for(self, ec2: Ec2Facts | None, bios_uuid: str = "") -> DiscoveredMachine | None:
        return self._machines.find(ec2, bios_uuid)

    def machine_of(self, record: MigrationRecord) -> DiscoveredMachine | None:
        bios = record.assessment.bios_uuid if record.assessment else ""
        return self.machine_for(self.ec2.get(record.instance_id), bios)

    def _command(
        self, record: MigrationRecord, read: Callable[[MigrationRecord], CommandFacts | None]
    ) -> CommandFacts | None:
        pending = record.pending_action
        if pending is None or Act(pending.action) not in SSM_COMMANDS:
            return None
        if record.instance_id in self.commands:
            return self.commands[record.instance_id]
        return read(record)

    def admit(self, capacity: int, fleet: Iterable[MigrationRecord] | None = None) -> None:
        """Grants replication slots to queued VMs, oldest first, up to the free capacity; counted
        over `fleet` (every VM queued or replicating) when this pass holds only part of it."""
        counted = list(self.records.values() if fleet is None else fleet)
        self.replicating = {r.instance_id for r in counted if r.phase in REPLICATING}
        busy = len(self.replicating)
        queued = sorted(
            (r for r in counted if r.phase is Phase.QUEUED),
            key=lambda r: (r.phase_entered_at, r.instance_id),
        )
        self.queued = {r.instance_id for r in queued}
        self.admitted = {r.instance_id for r in queued[: max(capacity - busy, 0)]}

    def listed_job(self, record: MigrationRecord) -> JobFacts | None:
        """The ASR job behind the pending action, as this pass's job list shows it: by the id found
        for it, else by its operation id (the real service names the job so; nothing promises it),
        else the newest job of the action's scenario on the item since the intent."""
        pending = record.pending_action
        if pending is None or Act(pending.action) not in JOB_SCENARIO:
            return None
        if pending.job_id is not None:
            return self._by_id.get(pending.job_id)
        if pending.operation_id is None:
            return None
        own = self._by_item.get(item_name_for(record.instance_id), ())
        settled = frozenset(record.settled_jobs)
        found = self._by_id.get(pending.operation_id)
        if found is not None and found in own and found.job_id not in settled:
            return found
        return job_since(own, JOB_SCENARIO[Act(pending.action)], pending.started_at, settled)

    def tracked_job(self, record: MigrationRecord) -> JobFacts | None:
        """The pending ASR action's job: listed, or its operation's status while no job shows, or a
        success when ASR answered 200/204 (done at once)."""
        pending = record.pending_action
        if pending is None or Act(pending.action) not in JOB_SCENARIO:
            return None
        if pending.done_at is not None:
            return JobFacts("done-at-once", JOB_SCENARIO[Act(pending.action)], "Succeeded", pending.done_at)
        listed = self.listed_job(record)
        if listed is not None or pending.operation_id is None:
            return listed
        return self.operations.get(pending.operation_id)

    def facts(
        self,
        record: MigrationRecord,
        command: Callable[[MigrationRecord], CommandFacts | None],
        *,
        in_cutover_window: bool = True,
        window_opens_at: datetime | None = None,
        wave_cutover_mode: str = "",
        wave_windows: str = "",
    ) -> Facts:
        ec2 = self.ec2.get(record.instance_id)
        name = item_name_for(record.instance_id)
        machine = self.machine_of(record)
        claimed = self.vm_names.get(record.instance_id)
        admitted = record.instance_id in self.admitted
        return Facts(
            ec2=ec2,
            item=self.items.get(name),
            job=self.tracked_job(record),
            item_jobs=self._by_item.get(name, ()),
            command=self._command(record, command),
            instance_type=self.instance_types.get(record.instance_id),
            utilisation=self.utilisation.get(record.instance_id),
            discovered_machine_id=machine.machine_id if machine else None,
            admission=admitted,
            disk_note=disk_note(record, machine.disks) if admitted and machine else "",
            vault_setup=self.vault_setup,
            test_vm=self.test_vms.get(record.instance_id),
            smoke=self.smokes.get(record.instance_id),
            vm_name=claimed.name if claimed else "",
            vm_name_taken_by=claimed.taken_by if claimed else "",
            in_cutover_window=in_cutover_window,
            window_opens_at=window_opens_at,
            wave_cutover_mode=wave_cutover_mode,
            wave_windows=wave_windows,
        )


def target_disks(
    record: MigrationRecord, ec2: Ec2Facts | None, found: tuple[ApplianceDisk, ...]
) -> tuple[tuple[str, str], ...]:
    """Each appliance disk with its volume's disk type (an instance's disk-type tag sets them all);
    () when the volumes cannot be matched (enable then sends one type for all)."""
    layout = _layout(record, found)
    tagged = (ec2.tag("disk-type") or "").strip() if ec2 else ""
    if tagged in AZURE_DISK_TYPES:
        return tuple((disk_id, tagged) for disk_id, _ in layout.disks)
    return layout.disks


def disk_note(record: MigrationRecord, found: tuple[ApplianceDisk, ...]) -> str:
    """How an enable will set disk types, for its reason (and so the timeline)."""
    layout = _layout(record, found)
    if layout.disks:
        return f"each of its {len(layout.disks)} disks with its own type"
    return f"one disk type for all disks ({record.target.disk_type or 'Standard_LRS'}): {layout.problem}"


def _layout(record: MigrationRecord, found: tuple[ApplianceDisk, ...]) -> DiskLayout:
    return disk_layout(record.assessment.disks if record.assessment else [], found)


def jobs_window_start(records: dict[str, MigrationRecord], now: datetime) -> datetime | None:
    """Jobs are listed from the oldest open Site Recovery intent, so every tracked job is in the one
    listing; with none open, no job is needed (None): decide looks at jobs only for an open intent."""
    starts = [
        pending.started_at
        for r in records.values()
        if (pending := r.pending_action) is not None
        and pending.done_at is None
        and Act(pending.action) in JOB_SCENARIO
    ]
    return min(starts) - JOB_WINDOW_MARGIN if starts else None


class MachineIndex:
    """The appliance's machines indexed once per read (BIOS UUID, short name, address), so matching
    a VM is a few lookups, not a scan of every machine."""

    def __init__(self, machines: Iterable[DiscoveredMachine]) -> None:
        self._bios: dict[str, list[DiscoveredMachine]] = {}
        self._names: dict[str, list[DiscoveredMachine]] = {}
        self._addresses: dict[str, list[DiscoveredMachine]] = {}
        for machine in machines:
            for variant in bios_variants(machine.bios_id):
                self._bios.setdefault(variant, []).append(machine)
            for name in {_short(machine.fqdn), _short(machine.display_name)} - {""}:
                self._names.setdefault(name, []).append(machine)
            for address in set(machine.ip_addresses):
                self._addresses.setdefault(address, []).append(machine)

    def find(self, ec2: Ec2Facts | None, bios_uuid: str = "") -> DiscoveredMachine | None:
        """The appliance's machine for this instance: by BIOS UUID (from the guest checks, either byte
        order and case), then FQDN or display name (against EC2's private DNS name), then any address;
        each only when exactly one machine matches."""
        if ec2 is None:
            return None
        by_bios = {id(m): m for v in bios_variants(bios_uuid) for m in self._bios.get(v, ())}
        for found in (by_bios, _unique(self._names.get(_short(ec2.hostname), ()))):
            if len(found) == 1:
                return next(iter(found.values()))
        by_ip = _unique(self._addresses.get(ec2.private_ip, ())) if ec2.private_ip else {}
        return next(iter(by_ip.values())) if len(by_ip) == 1 else None


def _unique(machines: Iterable[DiscoveredMachine]) -> dict[int, DiscoveredMachine]:
    return {id(m): m for m in machines}


def jobs_by_item(items: dict[str, ItemFacts], jobs: list[JobFacts]) -> dict[str, tuple[JobFacts, ...]]:
    """Each item's jobs. Jobs name their item by its internal GUID (targetObjectId) and friendly name
    (targetObjectName), never by its ARM name; a friendly name counts only when one item has it, and
    the item's own currentScenario.jobId names its running job."""
    by_internal = {item.internal_id: name for name, item in items.items() if item.internal_id}
    names = Counter(item.friendly_name for item in items.values() if item.friendly_name)
    by_friendly = {item.friendly_name: name for name, item in items.items() if names[item.friendly_name] == 1}
    by_current = {item.current_job_id: name for name, item in items.items() if item.current_job_id}
    grouped: dict[str, list[JobFacts]] = {}
    for job in jobs:
        owner = (
            by_current.get(job.job_id) or by_internal.get(job.target_id) or by_friendly.get(job.target_name)
        )
        if owner is not None:
            grouped.setdefault(owner, []).append(job)
    return {name: tuple(found) for name, found in grouped.items()}


def bios_variants(uuid: str) -> frozenset[str]:
    """A BIOS UUID and its mixed-endian twin: SMBIOS tools disagree on the byte order of the first
    three fields, so the guest and the appliance can report the same machine either way."""
    hexits = uuid.replace("-", "").lower()
    if len(hexits) != 32 or any(ch not in "0123456789abcdef" for ch in hexits):
        return frozenset()
    swapped = _swap(hexits[0:8]) + _swap(hexits[8:12]) + _swap(hexits[12:16]) + hexits[16:]
    return frozenset({hexits, swapped})


def _short(name: str) -> str:
    return name.split(".", maxsplit=1)[0].strip().lower()


def _swap(field: str) -> str:
    return "".join(reversed([field[i : i + 2] for i in range(0, len(field), 2)]))
