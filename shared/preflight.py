"""Preflight, first cut: what stops an EC2 instance from migrating to Azure as it is.

Each finding has a stable code, a severity (blocker stops the VM in `blocked`; warning is recorded
and the VM goes on), a message and the fix a person can apply. Sources: the seed tutorial's FAQ
(Amazon Linux, PV, cloud-init) and Azure's VM limits for physical-server migration.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.facts import Ec2Facts

OS_DISK_LIMIT_GB = {"legacy-bios": 2_048, "uefi": 4_096}  # Azure generation 1 / generation 2
MAX_DATA_DISKS = 64
DATA_DISK_LIMIT_GB = 32_767
BLOCKER, WARNING = "blocker", "warning"


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: str
    fix: str


def preflight(ec2: Ec2Facts) -> list[Finding]:
    findings = [
        finding
        for check in (
            _amazon_linux,
            _unsupported_os,
            _architecture,
            _paravirtual,
            _os_disk,
            _data_disks,
            _instance_store,
            _cloud_init,
            _ssm,
        )
        if (finding := check(ec2)) is not None
    ]
    return sorted(findings, key=lambda f: (f.severity != BLOCKER, f.code))


def blockers(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.severity == BLOCKER]


def _amazon_linux(ec2: Ec2Facts) -> Finding | None:
    text = f"{ec2.platform} {ec2.image_name}".lower()
    if "amazon linux" not in text and "amzn" not in text and "al2023" not in text:
        return None
    return Finding(
        "amazon-linux",
        BLOCKER,
        "Amazon Linux is supported only on AWS and cannot be migrated as it is.",
        "Build a RHEL/CentOS-compatible or Ubuntu VM in Azure and move the workload with a workload "
        "migration tool (database replication, deployment tooling); then remove the opt-in tag.",
    )


def _unsupported_os(ec2: Ec2Facts) -> Finding | None:
    """First cut; the full support table comes with assessment."""
    text = f"{ec2.platform} {ec2.image_name}".lower().replace("_", " ").replace("-", " ")
    if "windows server 2003" not in text:
        return None
    return Finding(
        "unsupported-os",
        BLOCKER,
        "Windows Server 2003 is not supported by the Mobility agent or by Azure.",
        "Upgrade to Windows Server 2012 R2 or later, or rebuild on a supported OS, then tag again.",
    )


def _architecture(ec2: Ec2Facts) -> Finding | None:
    if ec2.architecture == "x86_64":
        return None
    return Finding(
        "unsupported-architecture",
        BLOCKER,
        f"The instance is {ec2.architecture}; agent-based migration supports 64-bit x86 machines only.",
        "Rebuild the workload on an x86_64 instance (or an Arm-based Azure VM) and move it there.",
    )


def _paravirtual(ec2: Ec2Facts) -> Finding | None:
    if ec2.virtualization_type.lower() != "paravirtual":
        return None
    return Finding(
        "paravirtual",
        BLOCKER,
        "The instance is paravirtual (PV): it uses an AWS-specific boot sequence that Azure cannot run.",
        "Move the instance to HVM (relaunch from an HVM AMI, or uninstall the PV drivers), then tag again.",
    )


def _os_disk(ec2: Ec2Facts) -> Finding | None:
    limit = OS_DISK_LIMIT_GB.get(ec2.boot_mode.lower(), OS_DISK_LIMIT_GB["legacy-bios"])
    root = next((disk for disk in ec2.disks if disk.is_root), None)
    if root is None or root.size_gb <= limit:
        return None
    return Finding(
        "os-disk-too-large",
        BLOCKER,
        f"The OS disk is {root.size_gb} GB; Azure takes at most {limit} GB for a {ec2.boot_mode} VM.",
        "Shrink the root volume below the limit (move data to a data disk), or convert to UEFI for 4 TB.",
    )


def _data_disks(ec2: Ec2Facts) -> Finding | None:
    data = [disk for disk in ec2.disks if not disk.is_root]
    too_big = [disk.device for disk in data if disk.size_gb > DATA_DISK_LIMIT_GB]
    if len(data) <= MAX_DATA_DISKS and not too_big:
        return None
    detail = f"{len(data)} data disks (at most {MAX_DATA_DISKS})" if len(data) > MAX_DATA_DISKS else ""
    if too_big:
        detail = ", ".join(
            filter(None, [detail, f"disks over {DATA_DISK_LIMIT_GB} GB: {', '.join(too_big)}"])
        )
    return Finding(
        "data-disks-unsupported",
        BLOCKER,
        f"The data disks do not fit an Azure VM: {detail}.",
        "Consolidate volumes or split data so each disk is within 32 TB and there are at most 64.",
    )


def _instance_store(ec2: Ec2Facts) -> Finding | None:
    if not ec2.instance_store_volumes:
        return None
    return Finding(
        "instance-store",
        WARNING,
        f"{ec2.instance_store_volumes} instance-store volume(s) lose their data when the source stops; "
        "they are not migrated.",
        "Copy anything needed from instance storage to an EBS volume before cutover.",
    )


def _cloud_init(ec2: Ec2Facts) -> Finding | None:
    if ec2.is_windows:
        return None
    return Finding(
        "cloud-init",
        WARNING,
        "Linux AMIs usually run cloud-init, whose AWS-specific provisioning is not valid in Azure.",
        "Disable cloud-init on the VM before replication (the seed's advice), or confirm it is not used.",
    )


def _ssm(ec2: Ec2Facts) -> Finding | None:
    if ec2.ssm_managed is not False:
        return None
    return Finding(
        "ssm-unmanaged",
        BLOCKER,
        "The instance is not managed by AWS Systems Manager, so the Mobility agent cannot be installed.",
        "Install and start the SSM agent and attach an instance profile with AmazonSSMManagedInstanceCore.",
    )
