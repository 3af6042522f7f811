"""Which disk the replication appliance discovered is which EBS volume, so enable-replication can send
each disk's own Azure type (`disksToInclude`) instead of one type for all (`disksDefault`).

The appliance sees disks from inside the guest: a name, a size, sometimes a LUN or a path; never the
EBS volume id as such. On Nitro instances the NVMe serial is the volume id without its hyphen
(`vol0123...`, AWS's "Amazon EBS and NVMe" page), which shows in `/dev/disk/by-id/` paths, so a disk
whose name or path carries it is matched by it. The rest are matched by size, and disks of one size
by device order (the root volume first, then EBS device names; the appliance's by LUN, then name).
Anything that does not pair off one to one is not guessed: the caller falls back to one disk type,
with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from shared.model.facts import ApplianceDisk
from shared.model.records import DiskPlan

GIB = 1024**3
T = TypeVar("T")


@dataclass(frozen=True)
class DiskLayout:
    """Each appliance disk id with the Azure disk type of its volume; or why there is none."""

    disks: tuple[tuple[str, str], ...] = ()
    problem: str = ""


def disk_layout(plans: Sequence[DiskPlan], found: Sequence[ApplianceDisk]) -> DiskLayout:
    if not plans:
        return DiskLayout(problem="the assessment planned no disks")
    if not found:
        return DiskLayout(problem="the appliance reported no disks for the machine")
    if len(plans) != len(found):
        return DiskLayout(problem=f"EC2 has {len(plans)} volumes, the appliance sees {len(found)} disks")
    if any(not disk.disk_id for disk in found):
        return DiskLayout(problem="the appliance reported a disk without an id")
    pairs: dict[str, str] = {}  # appliance disk id -> disk type
    left_plans, left_disks = list(plans), list(found)
    for plan in list(left_plans):  # by the volume id the NVMe serial carries
        serial = plan.volume_id.replace("-", "").lower()
        carrying = [d for d in left_disks if serial and serial in f"{d.name} {d.path}".lower()]
        if len(carrying) == 1:
            pairs[carrying[0].disk_id] = plan.disk_type
            left_plans.remove(plan)
            left_disks.remove(carrying[0])
    by_size_plans = _by_size(left_plans, lambda p: p.size_gb)
    by_size_disks = _by_size(left_disks, lambda d: round(d.size_bytes / GIB))
    if sorted(by_size_plans) != sorted(by_size_disks) or any(
        len(by_size_plans[size]) != len(by_size_disks[size]) for size in by_size_plans
    ):
        sizes = sorted(p.size_gb for p in left_plans)
        seen = sorted(round(d.size_bytes / GIB) for d in left_disks)
        return DiskLayout(problem=f"the volumes' sizes {sizes} GiB are not the appliance's {seen} GiB")
    for size, size_plans in by_size_plans.items():
        ordered_plans = sorted(size_plans, key=lambda p: (p is not plans[0], p.device))
        ordered_disks = sorted(by_size_disks[size], key=lambda d: (d.lun is None, d.lun or 0, d.name))
        for plan, disk in zip(ordered_plans, ordered_disks, strict=True):
            pairs[disk.disk_id] = plan.disk_type
    return DiskLayout(disks=tuple((disk.disk_id, pairs[disk.disk_id]) for disk in found))


def _by_size(things: Sequence[T], size: Callable[[T], int]) -> dict[int, list[T]]:
    grouped: dict[int, list[T]] = {}
    for thing in things:
        grouped.setdefault(size(thing), []).append(thing)
    return grouped
