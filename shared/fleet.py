"""One pass's view of the fleet, read in bulk, and the facts of each VM drawn from it.

A pass costs a fixed number of paged reads whatever the fleet size: the in-flight records (one
query), the opted-in instances (one tag-filtered listing per region), the vault's items (one list),
the jobs since the oldest open intent (one list) and, when a VM waits for it, the appliance's
discovered machines (one list). The only per-VM read is an agent install's outcome, and only for VMs
in that phase.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.adapters.asr import AsrJob, DiscoveredMachine, item_name_for
from shared.facts import CommandFacts, Ec2Facts, Facts, ItemFacts
from shared.lifecycle import Phase
from shared.models import MigrationRecord

REPLICATING = frozenset({Phase.ENABLING, Phase.INITIAL_REPLICATION})
NEEDS_DISCOVERY = frozenset(
    {Phase.PREFLIGHT, Phase.AGENT_INSTALL, Phase.AWAITING_DISCOVERY, Phase.QUEUED, Phase.ENABLING}
)
JOB_WINDOW = timedelta(hours=1)  # with no open intent, recent jobs are enough


@dataclass
class Snapshot:
    records: dict[str, MigrationRecord]
    ec2: dict[str, Ec2Facts]
    items: dict[str, ItemFacts]
    jobs: list[AsrJob]
    discovered: list[DiscoveredMachine]
    admitted: set[str] = field(default_factory=set)

    def jobs_by_id(self) -> dict[str, AsrJob]:
        return {job.facts.job_id: job for job in self.jobs}

    def machine_for(self, ec2: Ec2Facts | None) -> DiscoveredMachine | None:
        """The appliance's machine for this instance: by IP, then by host name (BIOS id with guest checks)."""
        if ec2 is None:
            return None
        by_ip = [m for m in self.discovered if ec2.private_ip and ec2.private_ip in m.ip_addresses]
        if len(by_ip) == 1:
            return by_ip[0]
        short = ec2.hostname.split(".")[0].lower()
        by_name = [m for m in self.discovered if short and m.hostname.split(".")[0].lower() == short]
        return by_name[0] if len(by_name) == 1 else None

    def admit(self, capacity: int) -> None:
        """Grants replication slots to queued VMs, oldest first, up to the free capacity."""
        busy = sum(1 for r in self.records.values() if r.phase in REPLICATING)
        queued = sorted(
            (r for r in self.records.values() if r.phase is Phase.QUEUED),
            key=lambda r: (r.phase_entered_at, r.instance_id),
        )
        self.admitted = {r.instance_id for r in queued[: max(capacity - busy, 0)]}

    def facts(
        self,
        record: MigrationRecord,
        command: Callable[[MigrationRecord], CommandFacts | None],
        *,
        in_cutover_window: bool = True,
    ) -> Facts:
        ec2 = self.ec2.get(record.instance_id)
        name = item_name_for(record.instance_id)
        pending = record.pending_action
        by_id = self.jobs_by_id()
        job = by_id.get(pending.job_id) if pending and pending.job_id else None
        machine = self.machine_for(ec2)
        return Facts(
            ec2=ec2,
            item=self.items.get(name),
            job=job.facts if job else None,
            item_jobs=tuple(j.facts for j in self.jobs if j.item_name == name),
            command=command(record) if pending and pending.action == "install_agent" else None,
            discovered_machine_id=machine.machine_id if machine else None,
            admission=record.instance_id in self.admitted,
            in_cutover_window=in_cutover_window,
        )


def jobs_window_start(records: dict[str, MigrationRecord], now: datetime) -> datetime:
    """Jobs are listed from the oldest open intent, so every tracked job is in the one listing."""
    starts = [r.pending_action.started_at for r in records.values() if r.pending_action]
    return min([*starts, now - JOB_WINDOW]) - timedelta(minutes=5)


def azure_vm_name(ec2: Ec2Facts | None, instance_id: str) -> str:
    """A valid Azure VM name (1-63 letters, digits, hyphens; alphanumeric at both ends) from the Name tag."""
    raw = (ec2.tags.get("Name") if ec2 else None) or instance_id
    name = re.sub(r"[^A-Za-z0-9-]+", "-", raw).strip("-")[:63].strip("-")
    return name or instance_id
