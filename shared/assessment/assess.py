"""One VM's assessment: requirement checks, guest checks and right-sizing, as one stored record.

`instance_blockers` runs the checks that need only EC2's description, before any command is sent
to the guest; `assess` runs them all once the guest checks are back (or without them, for a VM
blocked before they could run) and chooses the target settings that enable-replication uses.
"""

from __future__ import annotations

import re
from datetime import datetime

from shared.assessment.checks import INSTANCE_CHECKS, Finding, Subject, as_result, blockers, run_checks
from shared.assessment.guest import GuestFacts
from shared.assessment.os_support import load_support_table
from shared.assessment.sizing import (
    AZURE_DISK_TYPES,
    LICENSE_TYPES,
    SizingPolicy,
    choose_size,
    load_catalogue,
)
from shared.model.facts import Ec2Facts, InstanceTypeFacts, Policy, Utilisation
from shared.model.records import Assessment, DiskPlan, TargetSettings

MAX_PLANNED_DISKS = 66  # the model's cap: more than 64 data disks is a blocker anyway


def azure_vm_name(ec2: Ec2Facts | None, instance_id: str) -> str:
    """A valid Azure VM name (1-63 letters, digits, hyphens; alphanumeric at both ends) from the Name tag."""
    raw = (ec2.tags.get("Name") if ec2 else None) or instance_id
    name = re.sub(r"[^A-Za-z0-9-]+", "-", raw).strip("-")[:63].strip("-")
    return name or instance_id


def instance_blockers(ec2: Ec2Facts) -> list[Finding]:
    subject = Subject(ec2, None, None, load_catalogue(), load_support_table())
    return blockers(run_checks(subject, INSTANCE_CHECKS))


def assess(
    ec2: Ec2Facts,
    guest: GuestFacts | None,
    *,
    instance_type: InstanceTypeFacts | None,
    utilisation: Utilisation | None,
    policy: Policy,
    now: datetime,
    vm_name: str = "",
    name_taken_by: str = "",
) -> Assessment:
    """`vm_name`: the name claimed for the instance (distinct across the fleet); without one, the
    name derived from its Name tag."""
    catalogue = load_catalogue()
    sizing_policy = SizingPolicy(policy.comfort_factor, policy.min_metric_coverage, policy.target_location)
    sizing = choose_size(ec2, instance_type, utilisation, catalogue, sizing_policy)
    name = vm_name or azure_vm_name(ec2, ec2.instance_id)
    subject = Subject(ec2, guest, sizing, catalogue, load_support_table(), instance_type, name, name_taken_by)
    findings = run_checks(subject)
    return Assessment(
        assessed_at=now,
        guest_checked=guest is not None,
        os_name=guest.os_name if guest else ec2.image_name or ec2.platform,
        checks=[as_result(f) for f in findings],
        vm_name=name,
        vm_size=sizing.vm_size,
        sizing_basis=sizing.basis,
        sizing_reason=sizing.reason,
        like_for_like_size=sizing.like_for_like,
        disk_type=sizing.disk_type,
        disks=[
            DiskPlan(
                device=d.device,
                size_gb=d.size_gb,
                source_type=d.source_type,
                iops=d.iops,
                disk_type=d.disk_type,
                volume_id=d.volume_id,
            )
            for d in sorted(sizing.disks, key=lambda d: not d.is_root)[:MAX_PLANNED_DISKS]
        ],
        bios_uuid=guest.bios_uuid if guest else "",
        dry_run=ec2.dry_run(policy.dry_run),
    )


def target_from(assessment: Assessment, ec2: Ec2Facts, current: TargetSettings) -> TargetSettings:
    """The settings enable-replication uses: the assessment's choices, then the instance's tags."""
    chosen = current.evolve(
        vm_name=assessment.vm_name, vm_size=assessment.vm_size, disk_type=assessment.disk_type
    )
    return with_tag_overrides(chosen, ec2)


def with_tag_overrides(target: TargetSettings, ec2: Ec2Facts | None) -> TargetSettings:
    """Tags win whenever they are read, so one set after the assessment still reaches the enable."""
    if ec2 is None:
        return target
    size, disk, licence = ((ec2.tag(name) or "").strip() for name in ("size", "disk-type", "license"))
    changes: dict[str, str] = {}
    if size:
        changes["vm_size"] = size
    if disk in AZURE_DISK_TYPES:
        changes["disk_type"] = disk
    if licence in LICENSE_TYPES:
        changes["license_type"] = licence
    return target.evolve(**changes) if changes else target
