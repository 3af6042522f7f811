"""Requirement checks: what stops an EC2 instance from migrating to Azure as it is, and the fix.

Each check is a pure function of what we know about the instance: its EC2 facts, its guest checks
(None until they have run) and the size chosen for it. Each finding has a stable code, a severity
(a blocker stops the VM in `blocked`; warnings and notes are recorded and the VM goes on), a message
and the fix a person can apply. Sources: the seed tutorial (Amazon Linux, PV, cloud-init, ports 443
and 9443, BIOS GUID), and Azure's VM requirements for physical-server migration.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from shared.assessment.guest import GuestFacts
from shared.assessment.os_support import SupportTable, evaluate_os, os_from_image
from shared.assessment.sizing import AZURE_DISK_TYPES, LICENSE_TYPES, Catalogue, Sizing
from shared.guest.scripts import APPLIANCE_PORTS
from shared.model.facts import FALSE_VALUES, TRUE_VALUES, Ec2Facts, InstanceTypeFacts
from shared.model.records import CheckResult

OS_DISK_LIMIT_GB = {"legacy-bios": 2_048, "uefi": 4_096}  # Azure generation 1 / generation 2
MAX_DATA_DISKS = 64
DATA_DISK_LIMIT_GB = 32_767
BLOCKER, WARNING, NOTE = "blocker", "warning", "note"
_SEVERITY_ORDER = {BLOCKER: 0, WARNING: 1, NOTE: 2}
VM_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str
    fix: str


@dataclass(frozen=True)
class Subject:
    """Everything the checks look at."""

    ec2: Ec2Facts
    guest: GuestFacts | None
    sizing: Sizing | None
    catalogue: Catalogue
    support: SupportTable
    instance_type: InstanceTypeFacts | None = None
    vm_name: str = ""
    name_taken_by: str = ""  # the instance holding the name this one derived (so it got a suffix)


Check = Callable[[Subject], Finding | None]


def run_checks(subject: Subject, checks: tuple[Check, ...] | None = None) -> list[Finding]:
    found = [f for check in (checks or ALL_CHECKS) if (f := check(subject)) is not None]
    return sorted(found, key=lambda f: (_SEVERITY_ORDER[f.severity], f.code))


def blockers(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == BLOCKER]


def as_result(finding: Finding) -> CheckResult:
    return CheckResult(code=finding.code, severity=finding.severity, message=finding.message, fix=finding.fix)


def unreachable_guest(problem: str) -> Finding:
    """The guest checks could not run: nothing can be installed there either."""
    return _finding(
        "guest-check-failed",
        BLOCKER,
        f"The guest checks did not run: {problem}.",
        "Check that the SSM agent is online (Fleet Manager), the instance profile allows SSM, and the "
        "instance can reach the SSM endpoints; the checks run again on the next recheck.",
    )


def _finding(code: str, severity: str, message: str, fix: str) -> Finding:
    return Finding(code, severity, message, fix)


# --- the operating system ------------------------------------------------------------------------


def amazon_linux(s: Subject) -> Finding | None:
    text = f"{s.ec2.platform} {s.ec2.image_name}".lower()
    from_guest = s.guest is not None and s.guest.os_id == "amzn"
    if not from_guest and "amazon linux" not in text and "amzn" not in text and "al2023" not in text:
        return None
    return _finding(
        "amazon-linux",
        BLOCKER,
        "Amazon Linux is supported only on AWS and cannot be migrated as it is.",
        "Build a RHEL/CentOS-compatible or Ubuntu VM in Azure and move the workload with a workload "
        "migration tool (database replication, deployment tooling); then remove the opt-in tag.",
    )


def operating_system(s: Subject) -> Finding | None:
    """The guest's own report decides; before guest checks, the AMI's name is only a hint (an instance
    upgraded or converted in place keeps its old AMI), so a verdict from it is a warning."""
    if s.guest is not None:
        os_id, version, kernel = s.guest.os_id, s.guest.os_version, s.guest.kernel
    elif (hint := os_from_image(s.ec2.platform, s.ec2.image_name)) is not None:
        (os_id, version), kernel = hint, ""
    else:
        return None
    if os_id == "amzn":
        return None  # amazon_linux says it, with its own fix
    verdict = evaluate_os(s.support, os_id, version, kernel)
    if verdict.status == "supported":
        return None
    if verdict.status == "unknown-version":
        return _finding(
            "os-not-in-support-table",
            WARNING,
            f"{verdict.name}: {verdict.reason}",
            "Check the OS against the ASR support matrix; a test migration will show whether it boots.",
        )
    code = "unsupported-kernel" if verdict.status == "unsupported-kernel" else "unsupported-os"
    fix = (
        "Boot a kernel the Mobility agent supports (e.g. linux-generic on Ubuntu); the checks then run again."
        if code == "unsupported-kernel"
        else "Upgrade to a supported release (see the support matrix), or rebuild and tag the new instance."
    )
    if s.guest is None:
        return _finding(code, WARNING, f"The AMI name suggests {verdict.name}: {verdict.reason}", fix)
    return _finding(code, BLOCKER, f"{verdict.name}: {verdict.reason}", fix)


def architecture(s: Subject) -> Finding | None:
    arch = s.guest.architecture if s.guest and s.guest.architecture else s.ec2.architecture
    if arch == "x86_64":
        return None
    return _finding(
        "unsupported-architecture",
        BLOCKER,
        f"The instance is {arch}; agent-based migration supports 64-bit x86 machines only.",
        "Rebuild the workload on an x86_64 instance (or an Arm-based Azure VM) and move it there.",
    )


def paravirtual(s: Subject) -> Finding | None:
    if s.ec2.virtualization_type.lower() != "paravirtual":
        return None
    return _finding(
        "paravirtual",
        BLOCKER,
        "The instance is paravirtual (PV): it uses an AWS-specific boot sequence that Azure cannot run.",
        "Relaunch from an HVM AMI (or uninstall the PV drivers) and tag the new instance.",
    )


def secure_boot(s: Subject) -> Finding | None:
    if s.guest is None or s.guest.secure_boot is not True:
        return None
    return _finding(
        "secure-boot",
        BLOCKER,
        "UEFI Secure Boot is on; agent-based migration does not replicate Secure Boot machines.",
        "Turn Secure Boot off in the instance's UEFI variables, migrate, then use Trusted Launch in Azure.",
    )


def cloud_init(s: Subject) -> Finding | None:
    if s.ec2.is_windows or (s.guest is not None and s.guest.cloud_init in {"disabled", "absent"}):
        return None
    seen = "is enabled" if s.guest is not None and s.guest.cloud_init == "enabled" else "is usually enabled"
    return _finding(
        "cloud-init",
        WARNING,
        f"cloud-init {seen}; its AWS-specific provisioning is not valid in Azure.",
        "Disable cloud-init before replication (touch /etc/cloud/cloud-init.disabled), as the seed "
        "advises, or confirm its configuration works on Azure's datasource.",
    )


def windows_activation(s: Subject) -> Finding | None:
    if not s.ec2.is_windows:
        return None
    return _finding(
        "windows-activation",
        NOTE,
        "Windows licensed through AWS activates against AWS's KMS; once migrated it must activate in Azure.",
        "Allow outbound TCP 1688 to azkms.core.windows.net from the target subnet, or bring your own "
        "licence with Azure Hybrid Benefit (tag azmigrate:license=WindowsServer).",
    )


# --- disks and network ---------------------------------------------------------------------------


def os_disk(s: Subject) -> Finding | None:
    mode = (s.guest.boot_mode if s.guest and s.guest.boot_mode else s.ec2.boot_mode).lower()
    mode = "uefi" if mode == "uefi" else "legacy-bios"
    limit = OS_DISK_LIMIT_GB[mode]
    root = next((d for d in s.ec2.disks if d.is_root), None)
    if root is None or root.size_gb <= limit:
        return None
    return _finding(
        "os-disk-too-large",
        BLOCKER,
        f"The OS disk is {root.size_gb} GB; Azure takes at most {limit} GB for a {mode} VM.",
        "Shrink the root volume below the limit (move data to a data disk), or convert to UEFI for 4 TB.",
    )


def data_disks(s: Subject) -> Finding | None:
    data = [d for d in s.ec2.disks if not d.is_root]
    too_big = [d.device for d in data if d.size_gb > DATA_DISK_LIMIT_GB]
    if len(data) <= MAX_DATA_DISKS and not too_big:
        return None
    parts = [f"{len(data)} data disks (at most {MAX_DATA_DISKS})"] if len(data) > MAX_DATA_DISKS else []
    if too_big:
        parts.append(f"disks over {DATA_DISK_LIMIT_GB} GB: {', '.join(too_big)}")
    return _finding(
        "data-disks-unsupported",
        BLOCKER,
        f"The data disks do not fit an Azure VM: {'; '.join(parts)}.",
        "Consolidate volumes or split data so each disk is within 32 TB and there are at most 64.",
    )


def encrypted_disks(s: Subject) -> Finding | None:
    encrypted = [d.device for d in s.ec2.disks if d.encrypted]
    if not encrypted:
        return None
    return _finding(
        "encrypted-disks",
        WARNING,
        f"EBS encryption on {', '.join(encrypted)} stays in AWS: the agent replicates the data in clear "
        "from inside the guest, and Azure encrypts it at rest with platform-managed keys.",
        "If policy needs customer-managed keys, set a disk encryption set on the replication settings.",
    )


def instance_store(s: Subject) -> Finding | None:
    count = s.instance_type.instance_store_disks if s.instance_type else 0
    count = max(count, s.ec2.instance_store_volumes)
    if not count:
        return None
    size = f" ({s.instance_type.instance_store_gb} GB in all)" if s.instance_type else ""
    names = ", ".join(f"ephemeral{n}" for n in range(count))
    return _finding(
        "instance-store",
        WARNING,
        f"Instance-store volume(s) {names}{size} lose their data when the source stops; "
        "they are not migrated.",
        "Copy anything needed from instance storage to an EBS volume before cutover.",
    )


def ipv6_only(s: Subject) -> Finding | None:
    if not s.ec2.ipv6_only:
        return None
    return _finding(
        "ipv6-only",
        BLOCKER,
        "The instance has only IPv6 addresses; replication and Azure VM NICs need a private IPv4 address.",
        "Give the primary network interface a private IPv4 address (dual stack); the VM then goes on.",
    )


def nic_count(s: Subject) -> Finding | None:
    size = s.catalogue.get(s.sizing.vm_size) if s.sizing and s.sizing.vm_size else None
    if size is None or s.ec2.nic_count <= size.max_nics:
        return None
    return _finding(
        "too-many-nics",
        BLOCKER,
        f"The instance has {s.ec2.nic_count} network interfaces; {size.name} takes at most {size.max_nics}.",
        "Choose a larger size (size tag) or detach the extra interfaces before replication.",
    )


def vm_name(s: Subject) -> Finding | None:
    wanted = s.ec2.tags.get("Name", "")
    if s.name_taken_by:
        return _finding(
            "vm-name-suffixed",
            NOTE,
            f"The instance {s.name_taken_by} already has the Azure VM name this one's Name tag gives; this "
            f"one will be named {s.vm_name!r} (a suffix from its instance id), so both can exist in Azure.",
            "Give the instances different Name tags to choose their names yourself.",
        )
    if not s.vm_name or wanted == s.vm_name:
        return None
    why = "has no Name tag" if not wanted else f"is named {wanted!r}, which Azure does not accept"
    return _finding(
        "vm-name-derived",
        NOTE,
        f"The instance {why}; the Azure VM will be named {s.vm_name!r} "
        "(1-63 letters, digits and hyphens, alphanumeric at both ends).",
        "Set a Name tag that follows Azure's rules to choose the name yourself.",
    )


def ssm(s: Subject) -> Finding | None:
    if s.ec2.ssm_managed is not False:
        return None
    return _finding(
        "ssm-unmanaged",
        BLOCKER,
        "The instance is not managed by AWS Systems Manager: it can be neither checked nor given the agent.",
        "Install and start the SSM agent and attach an instance profile with AmazonSSMManagedInstanceCore.",
    )


def no_size(s: Subject) -> Finding | None:
    if s.sizing is None or s.sizing.vm_size or s.instance_type is None:
        return None
    return _finding(
        "no-azure-size",
        BLOCKER,
        f"No Azure size fits: {s.sizing.reason}.",
        "Set a size tag (e.g. azmigrate:size=Standard_E16s_v5), or add sizes to the catalogue.",
    )


def size_tag(s: Subject) -> Finding | None:
    if s.sizing is None or s.sizing.basis != "tag" or not s.sizing.vm_size:
        return None
    if s.catalogue.get(s.sizing.vm_size) is not None:
        return None
    return _finding(
        "size-tag-unchecked",
        WARNING,
        f"The size tag asks for {s.sizing.vm_size}, which is not in the size catalogue; it is used as given.",
        "Check the name and that the target region offers it; enable replication fails if it does not.",
    )


def tag_values(s: Subject) -> Finding | None:
    """Tags the app reads but cannot understand: said aloud instead of silently ignored."""
    allowed = {
        "dry-run": TRUE_VALUES | FALSE_VALUES,
        "disk-type": AZURE_DISK_TYPES,
        "license": LICENSE_TYPES,
        "cutover": frozenset({"auto", "approval"}),
    }
    odd = [
        f"{s.ec2.tag_prefix}:{name}={value!r}"
        for name, values in allowed.items()
        if (value := (s.ec2.tag(name) or "").strip()) and value.lower() not in {v.lower() for v in values}
    ]
    if not odd:
        return None
    return _finding(
        "tag-value-unrecognised",
        WARNING,
        f"These tags have values the app does not understand: {', '.join(odd)}. An unclear dry-run tag "
        "keeps the dry run on; the others are ignored.",
        "Use dry-run=true|false, disk-type=Standard_LRS|StandardSSD_LRS|Premium_LRS, "
        "license=WindowsServer|NoLicenseType, cutover=auto|approval.",
    )


# --- guest checks --------------------------------------------------------------------------------


def appliance_ports(s: Subject) -> Finding | None:
    if s.guest is None:
        return None
    closed = [p for p in APPLIANCE_PORTS if s.guest.ports.get(p) is False]
    if not closed:
        return None
    ports = " and ".join(f"TCP {p}" for p in closed)
    source = f"{s.ec2.private_ip}/32" if s.ec2.private_ip else "this instance's subnet"
    groups = (
        f" (or from its security group {', '.join(s.ec2.security_groups)})" if s.ec2.security_groups else ""
    )
    return _finding(
        "appliance-unreachable",
        BLOCKER,
        f"The instance cannot reach the replication appliance on {ports}.",
        f"Add an inbound rule to the appliance's security group: {ports} from {source}{groups}; if "
        "the instance's own group restricts egress, allow the same ports out to the appliance.",
    )


def fstab_devices(s: Subject) -> Finding | None:
    if s.guest is None or not s.guest.fstab_device_entries:
        return None
    mounts = ", ".join(s.guest.fstab_device_entries)
    return _finding(
        "fstab-device-names",
        WARNING,
        f"/etc/fstab mounts {mounts} by device name; device names change in Azure, so the VM may not boot.",
        "Mount by UUID= or LABEL= (blkid shows them) and add nofail to data disks, before replication.",
    )


def agent_space(s: Subject) -> Finding | None:
    """Needs on the same file system add up: / and /usr/local/ASR on one disk need both at once."""
    if s.guest is None:
        return None
    family = "windows" if s.guest.os_family == "windows" else "linux"
    needs: dict[str, list[tuple[str, int]]] = {}
    for path, mib in s.support.agent_free_space_mib.get(family, {}).items():
        mount = _mount_of(path, s.guest.free_mib)
        if mount is not None:
            needs.setdefault(mount, []).append((path, mib))
    short = [
        f"{mount} has {s.guest.free_mib[mount]} MiB free, needs {sum(m for _, m in paths)} "
        f"({', '.join(f'{p} {m}' for p, m in paths)})"
        for mount, paths in needs.items()
        if s.guest.free_mib[mount] < sum(m for _, m in paths)
    ]
    if not short:
        return None
    return _finding(
        "agent-free-space",
        BLOCKER,
        f"Not enough free space for the Mobility agent: {'; '.join(short)}.",
        "Free space (or grow the volume) on the named file systems; the checks run again by themselves.",
    )


def _mount_of(path: str, free_mib: dict[str, int]) -> str | None:
    """The file system holding `path`: the longest mount point that is a prefix of it (C: for C:)."""
    if path in free_mib:
        return path
    prefixes = [
        m for m in free_mib if m.startswith("/") and (m == "/" or path.startswith(m.rstrip("/") + "/"))
    ]
    return max(prefixes, key=len, default=None)


def guest_encryption(s: Subject) -> Finding | None:
    """The agent reads disks from inside the guest: volumes encrypted there are not supported."""
    if s.guest is None or not s.guest.encrypted_volumes:
        return None
    volumes = ", ".join(s.guest.encrypted_volumes)
    windows = s.guest.os_family == "windows"
    fix = (
        "Turn BitLocker off on those drives (manage-bde -off C:) until the migration is done, then "
        "encrypt in Azure (Azure Disk Encryption or encryption at host)."
        if windows
        else "Move the data off the LUKS volumes (or decrypt them) before replication, then encrypt in "
        "Azure (Azure Disk Encryption or encryption at host)."
    )
    what = "BitLocker protects" if windows else "LUKS encrypts"
    return _finding("guest-disk-encryption", BLOCKER, f"{what} {volumes} inside the guest.", fix)


def boot_on_lvm(s: Subject) -> Finding | None:
    if s.guest is None or s.guest.boot_on_lvm is not True:
        return None
    return _finding(
        "boot-on-lvm",
        WARNING,
        "/boot is on an LVM logical volume; the support matrix allows it only for some agent versions "
        "and distributions.",
        "Check the matrix for the agent version; if it is not listed, move /boot to a plain partition.",
    )


def bios_uuid(s: Subject) -> Finding | None:
    if s.guest is None or s.guest.bios_uuid:
        return None
    return _finding(
        "bios-uuid-unreadable",
        WARNING,
        "The guest did not report its BIOS UUID (the seed's 'Failed to fetch BIOS GUID'); discovery "
        "falls back to matching by IP address and host name.",
        "Make sure the checks run as root (SSM does by default) and the OS is a supported version.",
    )


ALL_CHECKS: tuple[Check, ...] = (
    amazon_linux,
    operating_system,
    architecture,
    paravirtual,
    secure_boot,
    cloud_init,
    windows_activation,
    os_disk,
    data_disks,
    encrypted_disks,
    instance_store,
    ipv6_only,
    nic_count,
    vm_name,
    ssm,
    no_size,
    size_tag,
    tag_values,
    appliance_ports,
    fstab_devices,
    agent_space,
    guest_encryption,
    boot_on_lvm,
    bios_uuid,
)
# Checks that need nothing but EC2's description: they run before the guest checks are sent.
INSTANCE_CHECKS: tuple[Check, ...] = (
    amazon_linux,
    architecture,
    paravirtual,
    os_disk,
    data_disks,
    ipv6_only,
    ssm,
)
