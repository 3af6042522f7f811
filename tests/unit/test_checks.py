"""Every requirement check, failing and passing: a stable code, a severity, a message and a fix."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.assessment.checks import (
    ALL_CHECKS,
    BLOCKER,
    INSTANCE_CHECKS,
    NOTE,
    WARNING,
    Subject,
    run_checks,
)
from shared.assessment.guest import GuestFacts
from shared.assessment.os_support import load_support_table
from shared.assessment.sizing import Sizing, load_catalogue
from shared.model.facts import Disk, Ec2Facts, InstanceTypeFacts

GOOD_GUEST = GuestFacts(
    os_family="linux",
    os_id="rhel",
    os_version="9.4",
    os_name="Red Hat Enterprise Linux 9.4 (Plow)",
    kernel="5.14.0-427.13.1.el9_4.x86_64",
    architecture="x86_64",
    boot_mode="bios",
    secure_boot=None,
    bios_uuid="ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8",
    fstab_device_entries=(),
    free_mib={"/": 20_000, "/var": 20_000, "/tmp": 20_000, "/usr/local": 20_000},
    cloud_init="disabled",
    ports={443: True, 9443: True},
)
GOOD_EC2 = Ec2Facts(
    instance_id="i-00000000000000001",
    state="running",
    tags={"azmigrate:enabled": "true", "Name": "web-1"},
    platform="Red Hat Enterprise Linux",
    image_name="RHEL-9.4.0_HVM-20240423-x86_64-62-Hourly2-GP3",
    disks=(Disk("/dev/sda1", 30, True), Disk("/dev/sdf", 100, False)),
    ssm_managed=True,
    instance_type="m5.large",
)
SIZED = Sizing("Standard_D2s_v5", "performance", "", "Standard_D2s_v5", "StandardSSD_LRS", ())


def codes(ec2: Ec2Facts = GOOD_EC2, guest: GuestFacts | None = GOOD_GUEST, **extra: object) -> dict[str, str]:
    subject = Subject(
        ec2,
        guest,
        extra.pop("sizing", SIZED),  # type: ignore[arg-type]
        load_catalogue(),
        load_support_table(),
        extra.pop("instance_type", None),  # type: ignore[arg-type]
        str(extra.pop("vm_name", "web-1")),
        str(extra.pop("name_taken_by", "")),
    )
    found = run_checks(subject)
    for finding in found:
        assert finding.message and finding.fix, f"{finding.code} must say what is wrong and how to fix it"
    return {f.code: f.severity for f in found}


def test_a_good_linux_vm_has_no_findings():
    assert codes() == {}


@pytest.mark.parametrize(
    ("ec2_changes", "guest_changes", "code", "severity"),
    [
        ({"image_name": "amzn2-ami-kernel-5.10-hvm-2.0.20241001.0-x86_64-gp2"}, {}, "amazon-linux", BLOCKER),
        ({}, {"os_id": "amzn", "os_version": "2023"}, "amazon-linux", BLOCKER),
        ({}, {"os_id": "windows", "os_family": "windows", "os_version": "2003"}, "unsupported-os", BLOCKER),
        ({}, {"os_id": "centos", "os_version": "7"}, "unsupported-os", BLOCKER),
        (
            {},
            {"os_id": "ubuntu", "os_version": "22.04", "kernel": "6.8.0-1021-aws"},
            "unsupported-kernel",
            BLOCKER,
        ),
        ({}, {"os_id": "ubuntu", "os_version": "12.04"}, "os-not-in-support-table", WARNING),
        ({}, {"os_id": "gentoo", "os_version": "2.15"}, "os-not-in-support-table", WARNING),
        ({"architecture": "arm64"}, {"architecture": ""}, "unsupported-architecture", BLOCKER),
        ({}, {"architecture": "aarch64"}, "unsupported-architecture", BLOCKER),
        ({"virtualization_type": "paravirtual"}, {}, "paravirtual", BLOCKER),
        ({}, {"boot_mode": "uefi", "secure_boot": True}, "secure-boot", BLOCKER),
        ({}, {"cloud_init": "enabled"}, "cloud-init", WARNING),
        ({"disks": (Disk("/dev/sda1", 3_000, True),)}, {}, "os-disk-too-large", BLOCKER),
        (
            {"disks": (Disk("/dev/sda1", 30, True), Disk("/dev/sdf", 40_000, False))},
            {},
            "data-disks-unsupported",
            BLOCKER,
        ),
        (
            {"disks": (Disk("/dev/sda1", 30, True), *(Disk(f"/dev/d{n}", 10, False) for n in range(65)))},
            {},
            "data-disks-unsupported",
            BLOCKER,
        ),
        ({"disks": (Disk("/dev/sda1", 30, True, encrypted=True),)}, {}, "encrypted-disks", WARNING),
        ({"instance_store_volumes": 2}, {}, "instance-store", WARNING),
        ({"ipv6_only": True}, {}, "ipv6-only", BLOCKER),
        ({"nic_count": 3}, {}, "too-many-nics", BLOCKER),
        ({"ssm_managed": False}, {}, "ssm-unmanaged", BLOCKER),
        ({}, {"ports": {443: True, 9443: False}}, "appliance-unreachable", BLOCKER),
        ({}, {"fstab_device_entries": ("/data",)}, "fstab-device-names", WARNING),
        ({}, {"free_mib": {"/": 100, "/var": 20_000}}, "agent-free-space", BLOCKER),
        ({}, {"free_mib": {"/": 20_000, "/usr/local": 100}}, "agent-free-space", BLOCKER),
        ({}, {"bios_uuid": ""}, "bios-uuid-unreadable", WARNING),
        ({}, {"encrypted_volumes": ("luks-data (/data)",)}, "guest-disk-encryption", BLOCKER),
        ({}, {"boot_on_lvm": True}, "boot-on-lvm", WARNING),
    ],
)
def test_each_check_fails_on_its_cause(ec2_changes, guest_changes, code, severity):
    found = codes(replace(GOOD_EC2, **ec2_changes), replace(GOOD_GUEST, **guest_changes))
    assert found.get(code) == severity


def test_free_space_is_judged_on_the_file_system_that_holds_the_path():
    tight_elsewhere = replace(GOOD_GUEST, free_mib={"/": 20_000, "/usr/localdata": 100, "/var": 100})
    assert "agent-free-space" not in codes(guest=tight_elsewhere)  # /usr/local/ASR lives on /
    tight_usr = replace(GOOD_GUEST, free_mib={"/": 20_000, "/usr": 100})
    assert "agent-free-space" in codes(guest=tight_usr)  # ... unless /usr is its own file system


def test_a_uefi_vm_may_have_a_larger_os_disk():
    big_root = replace(GOOD_EC2, disks=(Disk("/dev/sda1", 3_000, True),))
    assert "os-disk-too-large" in codes(big_root)
    assert "os-disk-too-large" not in codes(big_root, replace(GOOD_GUEST, boot_mode="uefi"))


def test_instance_store_names_the_volumes_and_their_size():
    subject = Subject(
        GOOD_EC2,
        GOOD_GUEST,
        SIZED,
        load_catalogue(),
        load_support_table(),
        InstanceTypeFacts("m5d.large", 2, 8_192, 3, instance_store_disks=1, instance_store_gb=75),
    )
    finding = next(f for f in run_checks(subject) if f.code == "instance-store")
    assert "ephemeral0" in finding.message and "75 GB" in finding.message


def test_closed_ports_name_the_security_group_rule_to_add():
    ec2 = replace(GOOD_EC2, private_ip="10.0.1.23", security_groups=("sg-0a1b2c3d",))
    subject = Subject(
        ec2,
        replace(GOOD_GUEST, ports={443: False, 9443: False}),
        SIZED,
        load_catalogue(),
        load_support_table(),
    )
    finding = next(f for f in run_checks(subject) if f.code == "appliance-unreachable")
    assert "TCP 443 and TCP 9443" in finding.message
    assert "TCP 443 and TCP 9443 from 10.0.1.23/32" in finding.fix and "sg-0a1b2c3d" in finding.fix


def test_cloud_init_is_assumed_on_linux_until_the_guest_says_otherwise():
    assert codes(guest=None).get("cloud-init") == WARNING
    assert "cloud-init" not in codes(guest=replace(GOOD_GUEST, cloud_init="absent"))
    windows = replace(GOOD_EC2, platform="Windows", image_name="Windows_Server-2022-English-Full-Base")
    assert "cloud-init" not in codes(windows, guest=None)


def test_windows_gets_the_activation_note():
    windows = replace(GOOD_EC2, platform="Windows", image_name="Windows_Server-2022-English-Full-Base")
    guest = replace(
        GOOD_GUEST, os_family="windows", os_id="windows", os_version="2022", free_mib={"C:": 50_000}
    )
    assert codes(windows, guest) == {"windows-activation": NOTE}


def test_a_derived_vm_name_is_a_note():
    odd = replace(GOOD_EC2, tags={"azmigrate:enabled": "true", "Name": "web server #1"})
    assert codes(odd, vm_name="web-server-1").get("vm-name-derived") == NOTE
    assert "vm-name-derived" not in codes()


def test_a_name_another_instance_holds_is_a_note_that_names_the_suffix():
    same = replace(GOOD_EC2, tags={"azmigrate:enabled": "true", "Name": "web-1"})
    found = codes(same, vm_name="web-1-89abcdef", name_taken_by="i-0aaaaaaaaaaaaaaa1")
    assert found == {"vm-name-suffixed": NOTE}


def test_no_size_that_fits_is_a_blocker_and_an_unknown_tagged_size_a_warning():
    none = Sizing(None, "none", "no size in the catalogue fits 448 vCPU", None, "Premium_LRS", ())
    itype = InstanceTypeFacts("u-24tb1.112xlarge", 448, 24 * 1024 * 1024, 15)
    assert codes(sizing=none, instance_type=itype).get("no-azure-size") == BLOCKER
    tagged = Sizing("Standard_Q9", "tag", "the size tag asks for Standard_Q9", None, "Premium_LRS", ())
    assert codes(sizing=tagged).get("size-tag-unchecked") == WARNING


def test_unknown_guest_facts_raise_nothing():
    unknown = replace(GOOD_GUEST, secure_boot=None, ports={}, free_mib={}, cloud_init="disabled")
    assert codes(guest=unknown) == {}


def test_findings_are_sorted_blockers_first():
    subject = Subject(
        replace(GOOD_EC2, virtualization_type="paravirtual", instance_store_volumes=1),
        replace(GOOD_GUEST, cloud_init="enabled"),
        SIZED,
        load_catalogue(),
        load_support_table(),
    )
    severities = [f.severity for f in run_checks(subject)]
    assert severities == sorted(severities, key=[BLOCKER, WARNING, NOTE].index)


def test_instance_checks_are_a_subset_that_needs_no_guest():
    assert set(INSTANCE_CHECKS) <= set(ALL_CHECKS)
    subject = Subject(GOOD_EC2, None, None, load_catalogue(), load_support_table())
    assert run_checks(subject, INSTANCE_CHECKS) == []


def test_an_os_judged_from_the_ami_name_alone_is_only_a_warning():
    old_ami = replace(
        GOOD_EC2, platform="Windows", image_name="Windows_Server-2003-R2_SP2-English-64Bit-Base"
    )
    assert codes(old_ami, guest=None).get("unsupported-os") == WARNING
    guest_2003 = replace(GOOD_GUEST, os_family="windows", os_id="windows", os_version="2003", free_mib={})
    assert codes(old_ami, guest_2003).get("unsupported-os") == BLOCKER


def test_tag_values_the_app_cannot_read_are_flagged():
    odd = replace(
        GOOD_EC2,
        tags={**GOOD_EC2.tags, "azmigrate:dry-run": "on", "azmigrate:license": "Windows_Server"},
    )
    subject = Subject(odd, GOOD_GUEST, SIZED, load_catalogue(), load_support_table())
    finding = next(f for f in run_checks(subject) if f.code == "tag-value-unrecognised")
    assert finding.severity == WARNING
    assert (
        "azmigrate:dry-run='on'" in finding.message
        and "azmigrate:license='Windows_Server'" in finding.message
    )
    fine = replace(
        GOOD_EC2, tags={**GOOD_EC2.tags, "azmigrate:dry-run": "False", "azmigrate:cutover": "auto"}
    )
    assert "tag-value-unrecognised" not in codes(fine)


def test_agent_space_adds_up_needs_on_one_file_system():
    table = load_support_table()
    needed = sum(table.agent_free_space_mib["linux"].values())  # / and /usr/local/ASR, both on /
    just_short = replace(GOOD_GUEST, free_mib={"/": needed - 1})
    assert codes(guest=just_short).get("agent-free-space") == BLOCKER
    assert "agent-free-space" not in codes(guest=replace(GOOD_GUEST, free_mib={"/": needed}))


def test_bitlocker_gets_the_windows_fix_and_luks_the_linux_one():
    windows = replace(
        GOOD_GUEST, os_family="windows", os_id="windows", os_version="2022", encrypted_volumes=("C:",)
    )
    subject = Subject(GOOD_EC2, windows, SIZED, load_catalogue(), load_support_table())
    finding = next(f for f in run_checks(subject) if f.code == "guest-disk-encryption")
    assert "BitLocker protects C:" in finding.message and "manage-bde -off" in finding.fix
    luks = replace(GOOD_GUEST, encrypted_volumes=("nvme1n1", "luks-data (/data)"))
    subject = Subject(GOOD_EC2, luks, SIZED, load_catalogue(), load_support_table())
    finding = next(f for f in run_checks(subject) if f.code == "guest-disk-encryption")
    assert "LUKS encrypts nvme1n1, luks-data (/data)" in finding.message
