from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess

import pytest

from shared.assessment.guest import GuestFacts, parse_guest_output
from shared.errors import InvalidInput
from shared.guest.scripts import (
    APPLIANCE_PORTS,
    GUEST_MARKER,
    LINUX_SECTIONS,
    WINDOWS_SECTIONS,
    linux_guest_script,
    windows_guest_script,
)

IMAGES = pathlib.Path(__file__).parents[2] / "local" / "guest_images"
OPEN, NINE_CLOSED = {443: True, 9443: True}, {443: True, 9443: False}
SECURE_BOOT_EFIVAR = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"

LUKS = ("nvme1n1", "luks-data (/data)")  # the container and its opened, mounted crypt device

# name: (os_id, os_version, kernel, boot_mode, secure_boot, bios_uuid, fstab_device_entries,
#        (volume, free MiB), cloud_init, ports, encrypted_volumes, boot_on_lvm)
EXPECTED = {
    "ubuntu-22.04": (
        "ubuntu", "22.04", "6.8.0-1021-aws", "bios", None, "ec2b7a3d-41f6-9c2e-5d08-3a1f62c4b7e9",
        ("/data",), ("/", 5734), "enabled", OPEN, (), False,
    ),
    "ubuntu-24.04": (
        "ubuntu", "24.04", "6.8.0-1021-aws", "uefi", False, "ec2d19a4-7b02-58e3-c611-0f4b9d27a6c3",
        (), ("/", 17143), "enabled", OPEN, LUKS, False,
    ),
    "rhel-8": (
        "rhel", "8.10", "4.18.0-553.el8_10.x86_64", "bios", None, "ec2a6c1f-93d4-0b7e-2f58-c4e1a90d3b62",
        ("swap",), ("/", 6982), "enabled", NINE_CLOSED, (), False,  # LVM data volumes, / on a partition
    ),
    "rhel-9": (
        "rhel", "9.4", "5.14.0-427.13.1.el9_4.x86_64", "uefi", False, "ec25e0b3-c8a1-7d46-9f02-81b6e3c4d5a7",
        (), ("/", 25756), "enabled", OPEN, (), False,
    ),
    "debian-12": (
        "debian", "12", "6.1.0-28-cloud-amd64", "uefi", False, "ec2f3b8e-1a6d-24c9-07e5-b9d4a2c6f180",
        ("/srv",), ("/", 6200), "disabled", OPEN, (), False,  # Secure Boot from the efivar: no mokutil
    ),
    "sles-15": (
        "sles", "15.5", "5.14.21-150500.55.83-default", "bios", None, "ec2c70d5-e4b9-3a18-6f27-d05a1b8c9e43",
        (), ("/", 7487), "enabled", OPEN, (), False,
    ),
    "amazon-linux-2": (
        "amzn", "2", "4.14.352-268.569.amzn2.x86_64", "bios", None, "ec2e8d41-b6a0-f273-19c5-7a0e3d2b4f96",
        ("/data",), ("/", 6497), "enabled", OPEN, (), False,
    ),
    "amazon-linux-2023": (
        "amzn", "2023", "6.1.115-126.197.amzn2023.x86_64", "uefi", False,
        "ec21a9f7-5d3e-84b0-c2f6-e9073b5a1d28", ("/data",), ("/", 6495), "enabled", OPEN, (), False,
    ),
    "windows-2016": (
        "windows", "2016", "10.0.14393", "bios", None, "ec2a41d7-3c9b-5e62-0f18-b7d24e6a9c35",
        (), ("C:", 12676), "absent", OPEN, (), None,
    ),
    "windows-2019": (
        "windows", "2019", "10.0.17763", "bios", None, "ec2b92f0-6a1d-4c37-e584-0d3f71b2a6c9",
        (), ("C:", 20542), "absent", NINE_CLOSED, ("C:",), None,
    ),
    "windows-2022": (
        "windows", "2022", "10.0.20348", "uefi", False, "ec2c1e85-9b4f-d720-36a1-5f8e0c3d7b14",
        (), ("C:", 15758), "absent", OPEN, (), None,
    ),
}  # fmt: skip


def image(name: str) -> str:
    return (IMAGES / f"{name}.txt").read_bytes().decode()


def test_every_fixture_on_disk_is_covered():
    assert {p.stem for p in IMAGES.glob("*.txt")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_guest_image_parses_to_its_facts(name):
    os_id, version, kernel, boot, secure, uuid, devices, (volume, mib), cloud_init, ports, encrypted, lvm = (
        EXPECTED[name]
    )
    facts = parse_guest_output(image(name))
    assert facts.os_family == ("windows" if os_id == "windows" else "linux")
    assert (facts.os_id, facts.os_version, facts.kernel) == (os_id, version, kernel)
    assert (facts.boot_mode, facts.secure_boot, facts.bios_uuid) == (boot, secure, uuid)
    assert facts.fstab_device_entries == devices
    assert facts.free_mib[volume] == mib
    assert facts.cloud_init == cloud_init
    assert facts.ports == ports
    assert (facts.encrypted_volumes, facts.boot_on_lvm) == (encrypted, lvm)
    assert facts.architecture == "x86_64"
    assert facts.os_name  # PRETTY_NAME or Caption: never empty for a real image


def test_names_and_the_other_volumes_come_through():
    assert parse_guest_output(image("rhel-9")).os_name == "Red Hat Enterprise Linux 9.4 (Plow)"
    assert parse_guest_output(image("windows-2019")).os_name == "Microsoft Windows Server 2019 Datacenter"
    assert parse_guest_output(image("windows-2019")).free_mib == {"C:": 20542, "D:": 100915}
    assert parse_guest_output(image("amazon-linux-2023")).free_mib == {"/": 6495, "/tmp": 1922}


def test_windows_images_really_have_crlf_and_linux_images_do_not():
    assert "\r\n" in image("windows-2022") and "\n@@" not in image("windows-2022").replace("\r\n", "")
    assert "\r" not in image("ubuntu-24.04")


def test_crlf_and_trailing_spaces_do_not_change_the_facts():
    plain = parse_guest_output(image("debian-12"))
    noisy = "\r\n".join(line + "  " for line in image("debian-12").split("\n"))
    assert parse_guest_output(noisy) == plain


def test_empty_sections_are_unknowns_not_errors():
    text = "\n".join([GUEST_MARKER, *(f"@@{name}" for name in LINUX_SECTIONS), "@@end"])
    assert parse_guest_output(text) == GuestFacts(
        os_family="linux",
        os_id="",
        os_version="",
        os_name="",
        kernel="",
        architecture="",
        boot_mode="",
        secure_boot=None,
        bios_uuid="",
        fstab_device_entries=(),
        free_mib={},
        cloud_init="",
        ports={},
    )
    windows = parse_guest_output("\r\n".join([GUEST_MARKER, *(f"@@{n}" for n in WINDOWS_SECTIONS), "@@end"]))
    assert (windows.os_family, windows.os_version, windows.boot_mode, windows.secure_boot) == (
        "windows",
        "",
        "",
        None,
    )
    assert (windows.bios_uuid, windows.free_mib, windows.ports) == ("", {}, {})


def test_output_before_the_marker_is_ignored():
    assert parse_guest_output("motd noise\n" + image("sles-15")) == parse_guest_output(image("sles-15"))


def test_output_without_the_marker_is_refused():
    text = image("ubuntu-22.04").replace(GUEST_MARKER + "\n", "")
    with pytest.raises(InvalidInput, match="not guest-check output"):
        parse_guest_output(text)


def test_another_version_of_the_marker_is_named():
    with pytest.raises(InvalidInput, match="v2"):
        parse_guest_output(image("ubuntu-22.04").replace(GUEST_MARKER, "@@azm-guest v2"))


def test_truncated_output_is_refused():
    text = image("amazon-linux-2023")
    cut = text[: text.index("@@ports")]  # what a 24,000-character cut looks like: no @@end
    with pytest.raises(InvalidInput, match="@@end"):
        parse_guest_output(cut)


def test_output_without_an_os_section_is_refused():
    with pytest.raises(InvalidInput, match="@@os"):
        parse_guest_output(f"{GUEST_MARKER}\n@@kernel\n6.1.0\n@@end\n")


def test_fstab_counts_only_names_that_change_in_azure():
    fstab = [
        "UUID=4e7a2c19-8f3b-4d6e-a051-9c2b7d1e3f48 / ext4 defaults 0 1",
        "LABEL=data /data ext4 defaults 0 2",
        "PARTUUID=1b6f0363-01 /p ext4 defaults 0 2",
        "PARTLABEL=scratch /scratch ext4 defaults 0 2",
        "/dev/disk/by-uuid/4e7a2c19-8f3b-4d6e-a051-9c2b7d1e3f48 /by-uuid ext4 defaults 0 2",
        "/dev/disk/by-label/data /by-label ext4 defaults 0 2",
        "/dev/disk/by-partuuid/1b6f0363-01 /by-partuuid ext4 defaults 0 2",
        "/dev/disk/by-partlabel/scratch /by-partlabel ext4 defaults 0 2",
        "/dev/disk/by-id/dm-name-vg-lv /dm-name xfs defaults 0 0",  # device-mapper's own name: stable
        "/dev/disk/by-id/lvm-pv-uuid-Wq1h2C-0x8T /pv xfs defaults 0 0",
        "/dev/mapper/vg-lv /mapper xfs defaults 0 0",
        "/dev/vg01/lv_app /lvm xfs defaults 0 0",
        "fs-0123456789abcdef0:/ /efs efs _netdev,tls 0 0",
        "10.0.0.5:/export /nfs nfs defaults 0 0",
        "tmpfs /tmp tmpfs defaults 0 0",
        "proc /proc proc defaults 0 0",
        "/swapfile none swap sw 0 0",
        "/dev/nvme1n1p1 /data ext4 defaults,nofail 0 2",
        "/dev/xvdb none swap sw 0 0",
        "/dev/sdf\t/logs\txfs\tdefaults\t0\t0",
        "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0a1b2c3d4e5f67890 /ebs xfs defaults,nofail 0 2",
        "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0a1b2c3d4e5f67890-part1 /ebs1 xfs defaults 0 2",
        "/dev/disk/by-path/pci-0000:00:1f.0-nvme-1 /by-path ext4 defaults 0 2",
    ]
    text = "\n".join([GUEST_MARKER, "@@os-release", "ID=debian", "@@fstab", *fstab, "@@end"])
    assert parse_guest_output(text).fstab_device_entries == (
        "/data",
        "swap",
        "/logs",
        "/ebs",
        "/ebs1",
        "/by-path",
    )


@pytest.mark.parametrize(
    ("line", "state"),
    [
        ("status: done", "enabled"),
        ("status: running", "enabled"),
        ("status: error", "enabled"),
        ("status: degraded done", "enabled"),
        ("status: disabled", "disabled"),
        ("not-installed", "absent"),
        ("usage: cloud-init [-h] ...", ""),
    ],
)
def test_cloud_init_states(line, state):
    text = "\n".join([GUEST_MARKER, "@@os-release", "ID=rhel", "@@cloud-init", line, "@@end"])
    assert parse_guest_output(text).cloud_init == state


@pytest.mark.parametrize(
    ("build", "caption", "release"),
    [
        ("26100", "Microsoft Windows Server 2025 Datacenter", "2025"),
        ("9600", "Microsoft Windows Server 2012 R2 Datacenter", "2012 R2"),
        ("99999", "Microsoft Windows Server 2031 Datacenter", "2031"),  # unknown build: the Caption
        ("99999", "Microsoft Windows 11 Pro", ""),
    ],
)
def test_windows_release_comes_from_the_build_then_the_caption(build, caption, release):
    text = f"{GUEST_MARKER}\n@@os\nCaption     : {caption}\nBuildNumber : {build}\n@@end\n"
    assert parse_guest_output(text).os_version == release


def test_dmidecode_comment_lines_before_the_uuid_are_skipped():
    text = (
        f"{GUEST_MARKER}\n@@os-release\nID=amzn\n@@bios-uuid\n"
        "# SMBIOS implementations newer than version 3.2.0 are not fully supported.\n"
        "EC2E1916-9099-7CAF-FD21-012345678912\n@@end\n"
    )
    assert parse_guest_output(text).bios_uuid == "ec2e1916-9099-7caf-fd21-012345678912"


def linux(section: str, *lines: str) -> GuestFacts:
    """A Linux report holding just one section."""
    return parse_guest_output(
        "\n".join([GUEST_MARKER, "@@os-release", "ID=rhel", f"@@{section}", *lines, "@@end"])
    )


def test_lsblk_names_luks_containers_and_opened_crypt_devices():
    disks = linux(
        "disks",
        "nvme0n1 disk  ",
        "nvme0n1p1 part xfs /",
        "nvme1n1 disk crypto_LUKS ",  # the container: never mounted itself
        "luks-data crypt xfs /data",
        "nvme2n1 disk crypto_LUKS ",  # a container nobody opened
        "sdb1 part crypto_LUKS ",
        "cryptswap crypt swap [SWAP]",
        "luks-idle crypt  ",  # opened, nothing mounted
        "nvme3n1 disk xfs /srv",
    )
    assert disks.encrypted_volumes == (
        "nvme1n1",
        "luks-data (/data)",
        "nvme2n1",
        "sdb1",
        "cryptswap ([SWAP])",
        "luks-idle",
    )


def test_a_crypt_device_lsblk_lists_under_two_parents_is_named_once():
    # an LV spanning two PVs, encrypted on top: raw lsblk prints the subtree under each parent
    disks = linux(
        "disks",
        "xvdf disk LVM2_member ",
        "datavg-big lvm crypto_LUKS ",
        "luks-big crypt ext4 /big",
        "xvdg disk LVM2_member ",
        "datavg-big lvm crypto_LUKS ",
        "luks-big crypt ext4 /big",
    )
    assert disks.encrypted_volumes == ("datavg-big", "luks-big (/big)")


def test_lsblk_undoes_its_hex_escapes_in_mount_points():
    escaped = r"luks-media crypt ext4 /srv/shared\x20media\x20caf\xc3\xa9"  # UTF-8 bytes one by one
    disks = linux("disks", "sdb disk crypto_LUKS ", escaped)
    assert disks.encrypted_volumes == ("sdb", "luks-media (/srv/shared media café)")


@pytest.mark.parametrize(
    ("rows", "on_lvm"),
    [
        # RHEL's default install: /boot on a partition, / on LVM
        (["xvda disk  ", "xvda1 part xfs /boot", "xvda2 part LVM2_member ", "rhel-root lvm xfs /"], False),
        # no separate /boot: / decides
        (["sda disk  ", "sda1 part LVM2_member ", "vg0-root lvm ext4 /"], True),
        (["nvme0n1 disk  ", "nvme0n1p1 part xfs /"], False),
        # /boot itself on an LV
        (["sda disk  ", "sda1 part LVM2_member ", "vg0-boot lvm ext4 /boot", "vg0-root lvm ext4 /"], True),
        # an empty FSTYPE column between TYPE and MOUNTPOINT
        (["sda disk  ", "sda1 part  /boot", "vg0-root lvm ext4 /"], False),
        ([], None),  # lsblk missing or printed nothing
        (["sda disk  ", "sda1 part ext4 /data"], None),  # neither /boot nor / listed
    ],
)
def test_boot_on_lvm_follows_the_boot_file_system(rows, on_lvm):
    assert linux("disks", *rows).boot_on_lvm is on_lvm


def test_lines_that_are_not_lsblk_rows_are_skipped():
    disks = linux("disks", "lsblk: failed to access sysfs directory", "", "vg0-root lvm ext4 / extra", "a")
    assert (disks.encrypted_volumes, disks.boot_on_lvm) == ((), None)


@pytest.mark.parametrize(
    ("lines", "state"),
    [
        (["efivar", "   6   0   0   0   1"], True),
        (["efivar", "   6   0   0   0   0"], False),
        (["efivar"], None),  # od missing, or the variable unreadable
        (["efivar", "   6   0   0   0   2"], None),
        (["efivar", "   6   0   0   1"], None),  # not the 5 bytes of SecureBoot
        (["efivar", "od: read error"], None),
        (["SecureBoot enabled"], True),
        (["SecureBoot disabled"], False),
        (["EFI variables are not supported on this system"], None),
        (["unknown"], None),
        (["   6   0   0   0   1"], None),  # numbers without the efivar line are not ours
    ],
)
def test_linux_secure_boot_from_mokutil_or_the_efivar(lines, state):
    assert linux("secure-boot", *lines).secure_boot is state


@pytest.mark.skipif(not (shutil.which("dash") and shutil.which("od")), reason="needs dash and od")
@pytest.mark.parametrize(("value", "state"), [(1, True), (0, False)])
def test_linux_script_reads_the_efivar_when_mokutil_is_missing(tmp_path, value, state):
    efivar = tmp_path / "SecureBoot"
    efivar.write_bytes(bytes([6, 0, 0, 0, value]))
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "od").symlink_to(shutil.which("od") or "od")  # a PATH without mokutil
    probe = next(c for c in linux_guest_script("10.0.0.250") if "mokutil" in c)
    probe = probe.replace(SECURE_BOOT_EFIVAR, str(efivar))
    script = "\n".join([f"echo '{GUEST_MARKER}'", "echo '@@os-release'", "echo '@@secure-boot'", probe])
    run = subprocess.run(
        [shutil.which("dash") or "dash", "-e", "-c", f"{script}\necho '@@end'"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={"PATH": str(tmp_path / "bin")},
    )
    assert "efivar\n" in run.stdout
    assert parse_guest_output(run.stdout).secure_boot is state


def test_bitlocker_lines_name_the_protected_drives():
    text = "\r\n".join(
        [
            *(GUEST_MARKER, "@@os", "Caption : Microsoft Windows Server 2012 R2 Standard", "@@disks"),
            *(" 0", "C: 1", "D: 0", "E: 2", "f: 1", "G:"),  # " 0": a volume without a drive letter
            "@@end",
        ]
    )
    assert parse_guest_output(text).encrypted_volumes == ("C:", "F:")  # 0 off, 2 unknown, G: no status


def test_a_port_the_probe_could_not_test_is_unknown_not_closed():
    assert linux("ports", "443 open", "9443 unknown").ports == {443: True}
    assert linux("ports", "443 unknown", "9443 closed").ports == {9443: False}


# --- scripts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "sections"),
    [(linux_guest_script, LINUX_SECTIONS), (windows_guest_script, WINDOWS_SECTIONS)],
)
def test_each_script_prints_every_section_the_parser_reads_in_order(script, sections):
    commands = script("10.0.0.250")
    printed = [m for c in commands for m in re.findall(r"^(?:echo|Write-Output) '(@@[^']+)'$", c)]
    assert printed == [GUEST_MARKER, *(f"@@{name}" for name in sections), "@@end"]


def test_linux_script_probes_each_appliance_port_in_bash_only():
    commands = linux_guest_script("appliance.corp.example.com")
    probes = [c for c in commands if "/dev/tcp" in c]
    pattern = re.compile(r"/dev/tcp/appliance\.corp\.example\.com/(\d+)'")
    probed = [port for p in probes for port in pattern.findall(p)]
    assert probed == [str(port) for port in APPLIANCE_PORTS]
    assert all(p.startswith("if timeout 5 bash -c '</dev/tcp/") for p in probes)


@pytest.mark.skipif(shutil.which("dash") is None, reason="needs dash, a strictly POSIX sh")
def test_linux_script_runs_under_posix_sh_and_parses():
    commands = linux_guest_script("10.0.0.250")
    script = "\n".join(c for c in commands if "/dev/tcp" not in c)  # no probes: unit tests stay offline
    run = subprocess.run(["dash", "-e", "-c", script], capture_output=True, text=True, timeout=30, check=True)
    facts = parse_guest_output(run.stdout)
    assert facts.os_family == "linux"
    assert facts.kernel == os.uname().release
    assert facts.architecture == os.uname().machine
    assert facts.boot_mode in {"uefi", "bios"}
    assert "/" in facts.free_mib


def test_windows_script_waits_five_seconds_on_each_appliance_port_without_net45():
    ports_line = next(c for c in windows_guest_script("10.0.0.250") if "TcpClient" in c)
    assert "foreach ($port in 443, 9443)" in ports_line
    assert "ConnectAsync" not in ports_line  # .NET 4.5: absent on a stock Windows Server 2008 / 2008 R2
    assert "$client.BeginConnect('10.0.0.250', $port, $null, $null)" in ports_line
    assert "AsyncWaitHandle.WaitOne(5000)" in ports_line and "EndConnect($wait)" in ports_line


def test_windows_port_probe_tells_a_closed_port_from_its_own_failure():
    ports_line = next(c for c in windows_guest_script("10.0.0.250") if "TcpClient" in c)
    socket_error = ports_line.index('catch [System.Net.Sockets.SocketException] { "$port closed" }')
    assert ports_line.index('catch { "$port unknown" }') > socket_error  # PowerShell tries catches in order
    assert 'else { "$port closed" }' in ports_line  # WaitOne timed out


def test_windows_script_falls_back_to_wmi_where_there_is_no_cim():
    commands = windows_guest_script("10.0.0.250")
    assert commands[1] == (
        "if (Get-Command Get-CimInstance -ErrorAction SilentlyContinue) { $cim = 'Get-CimInstance' } "
        "else { $cim = 'Get-WmiObject' }"
    )
    queries = [c for c in commands[2:] if "Win32_" in c]
    assert len(queries) == 4  # OS, BIOS UUID, free space, BitLocker
    assert all(c.startswith(("& $cim Win32_", "(& $cim Win32_")) for c in queries[:3])
    bitlocker = queries[3]
    assert bitlocker.count("Get-CimInstance ") == 1 and bitlocker.count("Get-WmiObject ") == 1
    namespace = r"-Namespace root\cimv2\Security\MicrosoftVolumeEncryption"
    assert f"Get-CimInstance {namespace} -ClassName Win32_EncryptableVolume " in bitlocker
    assert f"Get-WmiObject {namespace} -Class Win32_EncryptableVolume " in bitlocker
    assert "Get-BitLockerVolume" not in bitlocker  # its module comes only with the BitLocker feature


def test_windows_secure_boot_without_the_cmdlet_is_unknown():
    line = next(c for c in windows_guest_script("10.0.0.250") if "Confirm-SecureBootUEFI" in c)
    assert "catch [System.Management.Automation.CommandNotFoundException] { 'unknown' }" in line
    assert "catch [System.PlatformNotSupportedException] { 'unsupported' }" in line


@pytest.mark.parametrize("script", [linux_guest_script, windows_guest_script])
def test_both_scripts_print_the_disks_section_right_after_free(script):
    printed = [m for c in script("10.0.0.250") for m in re.findall(r"^(?:echo|Write-Output) '(@@[^']+)'$", c)]
    assert printed[printed.index("@@free") + 1] == "@@disks"


@pytest.mark.skipif(shutil.which("dash") is None, reason="needs dash, a strictly POSIX sh")
def test_linux_script_reaches_the_end_without_its_optional_tools(tmp_path):
    """Only uname: no awk, grep, df, lsblk, od, mokutil, dmidecode or cloud-init. Every probe is unknown."""
    (tmp_path / "uname").symlink_to(shutil.which("uname") or "uname")
    commands = linux_guest_script("10.0.0.250")
    script = "\n".join(c for c in commands if "/dev/tcp" not in c)
    run = subprocess.run(
        [shutil.which("dash") or "dash", "-e", "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={"PATH": str(tmp_path)},
    )
    facts = parse_guest_output(run.stdout)
    assert (facts.kernel, facts.encrypted_volumes, facts.boot_on_lvm) == (os.uname().release, (), None)
    assert facts.cloud_init == "absent" and facts.free_mib == {}


@pytest.mark.parametrize("script", [linux_guest_script, windows_guest_script])
@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1; rm -rf /",
        "$(reboot)",
        "`id`",
        "appliance'; Stop-Computer; '",
        "a b",
        "appliance\nreboot",
        "appliance\n",
        "10.0.0.256",
        "-appliance",
        "appliance.",
        "",
        "::1",
        "x" * 64 + ".example.com",
    ],
)
def test_an_address_that_is_not_ipv4_or_a_dns_name_is_refused(script, address):
    with pytest.raises(InvalidInput, match="appliance address"):
        script(address)


@pytest.mark.parametrize("address", ["10.0.0.250", "appliance-01.corp.example.com", "asr"])
def test_good_addresses_reach_every_port_probe(address):
    linux = [c for c in linux_guest_script(address) if f"/dev/tcp/{address}/" in c]
    assert len(linux) == len(APPLIANCE_PORTS)
    assert any(f"BeginConnect('{address}', $port" in c for c in windows_guest_script(address))
