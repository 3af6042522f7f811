"""Right-sizing: the smallest Azure size that carries what the instance really uses.

Performance-based, as Azure Migrate's own assessment is: CPU p95 (and memory p95 when the CloudWatch
agent reports it) times a comfort factor, against the instance type's vCPUs and memory. Without enough
metrics the instance is sized "as on premises" from its type, and the reason says so. The data-disk
count, NIC count, premium-storage need and boot generation must fit too. A size tag always wins.

Disks follow their EBS type: io1/io2 and gp2/gp3 provisioned above 3,000 IOPS need Premium SSD; other
gp2/gp3 map to Standard SSD; st1, sc1 and magnetic to Standard HDD. Enable-replication sends each
disk's type once its EBS volumes are matched to the appliance's disks (shared/assessment/disk_map.py);
the VM's one type (`disks_default`, the fallback) is the highest tier any of its disks needs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from shared.errors import ConfigError
from shared.model.facts import Disk, Ec2Facts, InstanceTypeFacts, Utilisation

CATALOGUE_PATH = Path(__file__).parents[1] / "data" / "azure_sizes.json"
PREMIUM, STANDARD_SSD, STANDARD_HDD = "Premium_LRS", "StandardSSD_LRS", "Standard_LRS"
AZURE_DISK_TYPES = frozenset({STANDARD_HDD, STANDARD_SSD, PREMIUM})
LICENSE_TYPES = frozenset({"NoLicenseType", "WindowsServer"})  # ASR's license_type (Azure Hybrid Benefit)
_TIER = {STANDARD_HDD: 0, STANDARD_SSD: 1, PREMIUM: 2}
GP_BASELINE_IOPS = 3_000  # gp3's included IOPS; above it the volume was provisioned for performance
PERFORMANCE, AS_ON_PREMISES, TAG, NONE = "performance", "as-on-premises", "tag", "none"


@dataclass(frozen=True)
class AzureSize:
    name: str
    family: str
    vcpus: int
    memory_gib: float
    max_data_disks: int
    max_nics: int
    premium_io: bool
    generations: frozenset[int]
    unavailable_in: frozenset[str] = frozenset()  # Azure regions restricted for the subscription
    locations: frozenset[str] | None = None  # regions that offer it; None: not known (any region)


@dataclass(frozen=True)
class Catalogue:
    sizes: tuple[AzureSize, ...]
    source: str
    as_of: str

    def get(self, name: str) -> AzureSize | None:
        return next((s for s in self.sizes if s.name.lower() == name.lower()), None)


@dataclass(frozen=True)
class Need:
    vcpus: int
    memory_gib: float
    data_disks: int
    nics: int
    premium: bool
    generation: int  # 2 for UEFI boot, 1 for BIOS

    def describe(self) -> str:
        storage = ", premium storage" if self.premium else ""
        return (
            f"{self.vcpus} vCPU, {self.memory_gib:.1f} GiB, {self.data_disks} data disk(s), "
            f"{self.nics} NIC(s){storage}, generation {self.generation}"
        )


@dataclass(frozen=True)
class DiskChoice:
    device: str
    size_gb: int
    source_type: str
    iops: int
    disk_type: str
    is_root: bool
    volume_id: str = ""


@dataclass(frozen=True)
class Sizing:
    vm_size: str | None
    basis: str  # performance | as-on-premises | tag | none
    reason: str
    like_for_like: str | None
    disk_type: str
    disks: tuple[DiskChoice, ...]


@cache
def _default_catalogue() -> Catalogue:
    return load_catalogue(CATALOGUE_PATH)


def load_catalogue(path: Path | None = None) -> Catalogue:
    if path is None:
        return _default_catalogue()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        sizes = tuple(_size(row) for row in data["sizes"])
        source, as_of = str(data["source"]), str(data["as_of"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"the Azure size catalogue {path.name} is unreadable: {error}") from error
    if not sizes:
        raise ConfigError(f"the Azure size catalogue {path.name} lists no sizes")
    return Catalogue(sizes, source, as_of)


def _size(row: dict[str, Any]) -> AzureSize:
    return AzureSize(
        name=str(row["name"]),
        family=str(row["family"]),
        vcpus=int(row["vcpus"]),
        memory_gib=float(row["memory_gib"]),
        max_data_disks=int(row["max_data_disks"]),
        max_nics=int(row["max_nics"]),
        premium_io=bool(row["premium_io"]),
        generations=frozenset(int(g) for g in row["generations"]),
        unavailable_in=frozenset(str(r).lower() for r in row.get("unavailable_in", [])),
        locations=frozenset(str(r).lower() for r in row["locations"]) if row.get("locations") else None,
    )


def disk_type_for(disk: Disk) -> str:
    kind = disk.volume_type.lower()
    if kind in {"io1", "io2"} or (kind in {"gp2", "gp3"} and disk.iops > GP_BASELINE_IOPS):
        return PREMIUM
    if kind in {"gp2", "gp3"}:
        return STANDARD_SSD
    return STANDARD_HDD


def plan_disks(disks: Sequence[Disk]) -> tuple[tuple[DiskChoice, ...], str]:
    """Each disk's Azure type, and the VM's one disk type (the highest tier any disk needs)."""
    choices = tuple(
        DiskChoice(d.device, d.size_gb, d.volume_type, d.iops, disk_type_for(d), d.is_root, d.volume_id)
        for d in disks
    )
    vm_type = max((c.disk_type for c in choices), key=_TIER.__getitem__, default=STANDARD_SSD)
    return choices, vm_type


def smallest_fit(need: Need, catalogue: Catalogue, location: str = "") -> AzureSize | None:
    """Fewest vCPUs, then least memory; the catalogue's order breaks ties (its preferred families first)."""
    fits = [
        s
        for s in catalogue.sizes
        if s.vcpus >= need.vcpus
        and s.memory_gib + 1e-9 >= need.memory_gib
        and s.max_data_disks >= need.data_disks
        and s.max_nics >= need.nics
        and (s.premium_io or not need.premium)
        and need.generation in s.generations
        and _offered(s, location.lower())
    ]
    return min(fits, key=lambda s: (s.vcpus, s.memory_gib), default=None)


def _offered(size: AzureSize, location: str) -> bool:
    if not location:
        return True
    return location not in size.unavailable_in and (size.locations is None or location in size.locations)


@dataclass(frozen=True)
class SizingPolicy:
    comfort_factor: float = 1.3
    min_coverage: float = 0.5
    location: str = ""


def choose_size(
    ec2: Ec2Facts,
    instance_type: InstanceTypeFacts | None,
    utilisation: Utilisation | None,
    catalogue: Catalogue,
    policy: SizingPolicy,
) -> Sizing:
    disks, disk_type = plan_disks(ec2.disks)
    shape = _Shape(
        data_disks=sum(1 for d in ec2.disks if not d.is_root),
        nics=max(ec2.nic_count, 1),
        premium=disk_type == PREMIUM,
        generation=2 if ec2.boot_mode.lower() == "uefi" else 1,
    )

    def result(size: str | None, basis: str, reason: str, like: str | None) -> Sizing:
        return Sizing(size, basis, reason, like, disk_type, disks)

    like = None
    if instance_type is not None:
        matched = smallest_fit(
            shape.need(instance_type.vcpus, instance_type.memory_gib), catalogue, policy.location
        )
        like = matched.name if matched else None
    tagged = (ec2.tag("size") or "").strip()
    if tagged:
        return result(tagged, TAG, f"the size tag asks for {tagged}", like)
    if instance_type is None:
        return result(None, NONE, "the instance type is unknown; ASR will choose the size", None)
    need, basis, why = _need(shape, instance_type, utilisation, policy)
    chosen = smallest_fit(need, catalogue, policy.location)
    if chosen is None:
        return result(None, NONE, f"no size in the catalogue fits {need.describe()}", like)
    return result(chosen.name, basis, f"{why}; needs {need.describe()}", like)


@dataclass(frozen=True)
class _Shape:
    data_disks: int
    nics: int
    premium: bool
    generation: int

    def need(self, vcpus: int, memory_gib: float) -> Need:
        return Need(vcpus, memory_gib, self.data_disks, self.nics, self.premium, self.generation)


def _need(
    shape: _Shape, itype: InstanceTypeFacts, util: Utilisation | None, policy: SizingPolicy
) -> tuple[Need, str, str]:
    measured = util is not None and util.cpu_p95 is not None and util.cpu_coverage >= policy.min_coverage
    if not measured or util is None or util.cpu_p95 is None:
        coverage = f"{util.cpu_coverage:.0%}" if util else "none"
        lack = util.problem if util and util.problem else "not enough CPU metrics"
        why = (
            f"sized as on premises from {itype.name} ({itype.vcpus} vCPU, {itype.memory_gib:.1f} GiB): "
            f"{lack} (coverage {coverage}, needs {policy.min_coverage:.0%})"
        )
        return shape.need(itype.vcpus, itype.memory_gib), AS_ON_PREMISES, why
    vcpus = max(1, math.ceil(itype.vcpus * util.cpu_p95 / 100 * policy.comfort_factor))
    why = f"{itype.name} CPU p95 {util.cpu_p95:.0f}% x{policy.comfort_factor:g}"
    memory = itype.memory_gib
    if util.memory_p95 is not None and util.memory_coverage >= policy.min_coverage:
        memory = itype.memory_gib * util.memory_p95 / 100 * policy.comfort_factor
        why += f", memory p95 {util.memory_p95:.0f}% x{policy.comfort_factor:g}"
    else:
        why += ", memory as on premises (no CloudWatch agent memory metric)"
    return shape.need(vcpus, memory), PERFORMANCE, why
