"""The reads a pass makes for VMs being assessed: SSM management, guest-check results, instance types
and utilisation, each in bulk per region, and only for the VMs that need them this pass.

A VM's assessment completes in the pass where its guest checks are back (or where EC2's description
alone blocks it), so instance types and metrics are read for exactly those VMs: not again on every
pass while a command runs. A failed read degrades the assessment (management unknown, sizing as on
premises with the reason) instead of failing the pass for the whole fleet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from shared.adapters.aws_fleet import AwsFleet, MetricsFleet
from shared.assessment.assess import azure_vm_name, instance_blockers
from shared.core.actions import Act
from shared.errors import ActionRefused, CloudUnavailable
from shared.model.facts import CommandFacts, Ec2Facts, Utilisation
from shared.model.phases import Phase
from shared.model.records import MigrationRecord
from shared.reconcile.snapshot import Snapshot
from shared.state.names import NameClaims

log = logging.getLogger(__name__)
CommandReader = Callable[[MigrationRecord], CommandFacts | None]  # by id, or found after a crash
ASSESSING = frozenset({Phase.OPTED_IN, Phase.PREFLIGHT})
# Blocked VMs re-run the checks on EC2's description every pass, and one of them is SSM management.
MANAGEMENT_READ = ASSESSING | {Phase.BLOCKED}


class AssessmentReads:
    def __init__(self, aws: AwsFleet, metrics: MetricsFleet | None, names: NameClaims) -> None:
        self.aws, self.metrics, self.names = aws, metrics, names

    def read(
        self,
        snapshot: Snapshot,
        now: datetime,
        only: set[str] | None,
        command: CommandReader,
    ) -> None:
        chosen = [r for r in snapshot.records.values() if only is None or r.instance_id in only]
        self._management(snapshot, [r for r in chosen if r.phase in MANAGEMENT_READ])
        self._names(snapshot, [r for r in chosen if r.phase in ASSESSING])
        ready: dict[tuple[str, str], dict[str, Ec2Facts]] = {}  # by (account, region)
        for record in chosen:
            ec2 = snapshot.ec2.get(record.instance_id)
            if (
                ec2 is not None
                and record.phase in ASSESSING
                and self._completes(record, ec2, snapshot, command)
            ):
                ready.setdefault((ec2.account_id, ec2.region), {})[ec2.instance_id] = ec2
        for (account, region), fleet in ready.items():
            self._sizing(snapshot, account, region, fleet, now)

    def _completes(
        self, record: MigrationRecord, ec2: Ec2Facts, snapshot: Snapshot, command: CommandReader
    ) -> bool:
        """Will this VM's assessment complete this pass? Reads its guest-check result to know."""
        if instance_blockers(ec2):
            return True
        pending = record.pending_action
        if pending is None or pending.action != Act.GUEST_CHECK or pending.job_id is None:
            return False
        result = command(record)
        snapshot.commands[record.instance_id] = result
        return result is not None and (result.succeeded or result.failed)

    def _names(self, snapshot: Snapshot, records: list[MigrationRecord]) -> None:
        """Each VM being assessed holds its Azure VM name before the assessment names it, so two
        instances with one Name tag never get one name (a store that cannot be read fails the pass)."""
        for record in records:
            if (ec2 := snapshot.ec2.get(record.instance_id)) is not None:
                derived = azure_vm_name(ec2, record.instance_id)
                snapshot.vm_names[record.instance_id] = self.names.claim(record.instance_id, derived)

    def _management(self, snapshot: Snapshot, records: list[MigrationRecord]) -> None:
        by_place: dict[tuple[str, str], list[str]] = {}  # by (account, region)
        for record in records:
            if (ec2 := snapshot.ec2.get(record.instance_id)) is not None:
                by_place.setdefault((ec2.account_id, ec2.region), []).append(record.instance_id)
        for (account, region), ids in by_place.items():
            try:
                managed = self.aws.for_account(account).ssm_managed(region, ids)
            except (ActionRefused, CloudUnavailable) as error:
                log.warning("SSM management unknown", extra={"region": region, "error": str(error)})
                continue
            for instance_id in ids:
                snapshot.ec2[instance_id] = replace(
                    snapshot.ec2[instance_id], ssm_managed=instance_id in managed
                )

    def _sizing(
        self, snapshot: Snapshot, account: str, region: str, fleet: dict[str, Ec2Facts], now: datetime
    ) -> None:
        try:
            types = self.aws.for_account(account).instance_types(
                region, {f.instance_type for f in fleet.values()}
            )
        except (ActionRefused, CloudUnavailable) as error:
            log.warning("instance types unreadable", extra={"region": region, "error": str(error)})
            types = {}
        snapshot.instance_types |= {
            i: types[f.instance_type] for i, f in fleet.items() if f.instance_type in types
        }
        if self.metrics is None:
            return
        try:
            snapshot.utilisation |= self.metrics.utilisation(
                account, region, {i: f.is_windows for i, f in fleet.items()}, now
            )
        except (ActionRefused, CloudUnavailable) as error:
            log.warning("metrics unreadable", extra={"region": region, "error": str(error)})
            snapshot.utilisation |= dict.fromkeys(fleet, Utilisation(problem=f"metrics unreadable: {error}"))
