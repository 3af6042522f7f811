"""Guest checks read: what each EC2 instance said about itself, parsed from its SSM output. Pure.

EC2's API cannot tell us the OS release, the kernel, how /etc/fstab names its disks, free space,
encrypted or LVM disks, cloud-init or whether the replication appliance is reachable from inside; the
guest can. The scripts (`shared.guest.scripts`) print sections between a marker line and `@@end`, so
this one parser reads Linux and Windows output alike and can tell our output from something else and
a whole report from one SSM cut short.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from shared.errors import InvalidInput
from shared.guest.scripts import GUEST_MARKER, LINUX_SECTIONS, WINDOWS_SECTIONS

SSM_OUTPUT_LIMIT = 24_000  # characters of StandardOutputContent that get_command_invocation returns

_SECTIONS = frozenset(LINUX_SECTIONS + WINDOWS_SECTIONS + ("end",))

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DF_ROW = re.compile(r"^\S+\s+\d+\s+\d+\s+(?P<available>\d+)\s+(?:\d+%|-)\s+(?P<mount>/.*)$")
_DRIVE_ROW = re.compile(r"^(?P<drive>[A-Za-z]:)\s+(?P<free>\d+)(?:\s+\d+)?$")
_BITLOCKER_ROW = re.compile(r"^(?P<drive>[A-Za-z]:)\s+(?P<status>\d+)$")
_PORT_ROW = re.compile(r"^(?P<port>\d+)\s+(?P<state>open|closed|unknown)$")
_LSBLK_TYPE = re.compile(r"[a-z0-9_-]+")
_LSBLK_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")
_CLOUD_INIT_RUNS = frozenset({"running", "done", "error", "degraded"})
_WINDOWS_RELEASES = {
    "26100": "2025",
    "20348": "2022",
    "17763": "2019",
    "14393": "2016",
    "9600": "2012 R2",
    "9200": "2012",
    "7601": "2008 R2",
}
_MIB = 1024 * 1024


@dataclass(frozen=True)
class GuestFacts:
    """What the guest said about itself; "" / None / empty mean the guest could not tell."""

    os_family: str  # linux | windows
    os_id: str  # os-release ID (ubuntu, rhel, debian, sles, amzn); "windows"
    os_version: str  # os-release VERSION_ID; Windows: the server release (2016, 2019, 2022, ...)
    os_name: str  # PRETTY_NAME, or the Windows Caption
    kernel: str  # uname -r; Windows: the Version (10.0.17763)
    architecture: str  # uname -m; Windows 64-bit: x86_64
    boot_mode: str  # uefi | bios | "" unknown
    secure_boot: bool | None  # None: unknown, or not a UEFI machine
    bios_uuid: str  # lower case 8-4-4-4-12, "" when missing
    fstab_device_entries: tuple[str, ...]  # mount points fstab mounts by names that change in Azure
    free_mib: dict[str, int]  # mount point (Linux) or drive letter like "C:" -> free MiB
    cloud_init: str  # enabled | disabled | absent | "" unknown
    ports: dict[int, bool]  # appliance port -> reachable from the guest; a port missing: unknown
    # Linux: lsblk NAMEs of LUKS containers and opened crypt devices, a mounted one as "luks-data (/data)";
    # Windows: the drive letters BitLocker protects ("C:"). Empty also when the guest could not tell.
    encrypted_volumes: tuple[str, ...] = ()
    boot_on_lvm: bool | None = None  # /boot (else /) on an LVM logical volume; None: unknown, or Windows


# --- parser ----------------------------------------------------------------------------------------


def parse_guest_output(text: str) -> GuestFacts:
    """The facts in one guest-check output (SSM StandardOutputContent). Pure."""
    sections = _sections(text)
    if "os" in sections:
        return _windows_facts(sections)
    if "os-release" in sections:
        return _linux_facts(sections)
    raise InvalidInput("guest output has neither an @@os (Windows) nor an @@os-release (Linux) section")


def _sections(text: str) -> dict[str, list[str]]:
    """Section name -> its lines, trailing spaces and CRs gone; raises unless marker ... @@end."""
    lines = [line.rstrip() for line in text.lstrip("\ufeff").replace("\r\n", "\n").split("\n")]
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines[_marker_index(lines) + 1 :]:
        name = line[2:].strip() if line.startswith("@@") else ""
        if name == "end":
            return sections
        if name in _SECTIONS:
            current = sections.setdefault(name, [])
        elif current is not None:
            current.append(line)
    raise InvalidInput(
        "guest output has no @@end line: it was cut short (SSM keeps only the first "
        f"{SSM_OUTPUT_LIMIT:,} characters of standard output) or the script stopped early"
    )


def _marker_index(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if line.strip() == GUEST_MARKER:
            return index
    other = next((line.strip() for line in lines if line.startswith("@@azm-guest")), "")
    if other:
        raise InvalidInput(f"guest output is {other!r}; this parser reads {GUEST_MARKER!r}")
    raise InvalidInput(f"not guest-check output: no {GUEST_MARKER!r} line")


def _linux_facts(s: dict[str, list[str]]) -> GuestFacts:
    release = _pairs(s.get("os-release", []), "=")
    disks = _lsblk_rows(s.get("disks", []))
    return GuestFacts(
        os_family="linux",
        os_id=release.get("ID", "").lower(),
        os_version=release.get("VERSION_ID", ""),
        os_name=release.get("PRETTY_NAME") or release.get("NAME", ""),
        kernel=_first(s.get("kernel", [])),
        architecture=_first(s.get("arch", [])),
        boot_mode=_boot_mode(_first(s.get("boot", []))),
        secure_boot=_linux_secure_boot(s.get("secure-boot", [])),
        bios_uuid=_uuid(s.get("bios-uuid", [])),
        fstab_device_entries=_device_entries(s.get("fstab", [])),
        free_mib=_df_free(s.get("free", [])),
        cloud_init=_cloud_init(_first(s.get("cloud-init", []))),
        ports=_ports(s.get("ports", [])),
        encrypted_volumes=_encrypted_volumes(disks),
        boot_on_lvm=_boot_on_lvm(disks),
    )


def _windows_facts(s: dict[str, list[str]]) -> GuestFacts:
    info = _pairs(s.get("os", []), ":")
    caption = info.get("Caption", "")
    return GuestFacts(
        os_family="windows",
        os_id="windows",
        os_version=_windows_release(info.get("BuildNumber", ""), caption),
        os_name=caption,
        kernel=info.get("Version", ""),
        architecture=_windows_architecture(info.get("OSArchitecture", "")),
        boot_mode=_boot_mode(_first(s.get("boot", []))),
        secure_boot=_boolean(_first(s.get("secure-boot", []))),
        bios_uuid=_uuid(s.get("bios-uuid", [])),
        fstab_device_entries=(),
        free_mib=_drive_free(s.get("free", [])),
        cloud_init="absent",
        ports=_ports(s.get("ports", [])),
        encrypted_volumes=_bitlocker_protected(s.get("disks", [])),
    )


def _first(lines: Iterable[str]) -> str:
    return next((line.strip() for line in lines if line.strip()), "")


def _pairs(lines: Iterable[str], separator: str) -> dict[str, str]:
    """KEY=value (os-release) or `Key : value` (Format-List) lines; blank and comment lines skipped."""
    pairs: dict[str, str] = {}
    for line in lines:
        key, found, value = line.partition(separator)
        if found and key.strip() and not key.lstrip().startswith("#"):
            pairs[key.strip()] = _unquoted(value.strip())
    return pairs


def _unquoted(value: str) -> str:
    """os-release values may be quoted, with shell-style backslash escapes inside double quotes."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        inner = value[1:-1]
        return re.sub(r"\\(.)", r"\1", inner) if value[0] == '"' else inner
    return value


def _boot_mode(word: str) -> str:
    return {"uefi": "uefi", "bios": "bios", "legacy": "bios"}.get(word.lower(), "")


def _linux_secure_boot(lines: list[str]) -> bool | None:
    """mokutil --sb-state, or `efivar` and od's bytes of the SecureBoot variable; else unknown.

    Anything else (`unknown`, no EFI variables on a BIOS boot, an unreadable variable) is unknown.
    """
    words = " ".join(lines).split()
    if words[:1] == ["efivar"]:
        data = words[1:]  # 4 attribute bytes, then the value
        if len(data) == 5 and all(word.isdigit() for word in data):
            return {"1": True, "0": False}.get(data[-1])
        return None
    return {"secureboot enabled": True, "secureboot disabled": False}.get(_first(lines).lower())


def _boolean(word: str) -> bool | None:
    """Confirm-SecureBootUEFI prints True/False; `unsupported` (BIOS) and errors are unknown."""
    return {"true": True, "false": False}.get(word.lower())


def _uuid(lines: Iterable[str]) -> str:
    """dmidecode may print comment lines first, so the first canonical UUID anywhere wins."""
    found = _UUID.search("\n".join(lines))
    return found.group(0).lower() if found else ""


def _device_entries(lines: Iterable[str]) -> tuple[str, ...]:
    """Mount points of fstab lines whose source names the hardware: these names change in Azure.

    Pseudo and network file systems never name a /dev path, so the source alone decides.
    """
    entries: list[str] = []
    for line in lines:
        fields = line.split()
        if len(fields) < 2 or fields[0].startswith("#") or not _hardware_name(fields[0]):
            continue
        fs_type = fields[2] if len(fields) > 2 else ""
        entries.append("swap" if fs_type == "swap" or fields[1] == "swap" else fields[1])
    return tuple(entries)


def _hardware_name(source: str) -> bool:
    """Kernel names (/dev/xvdf, /dev/nvme1n1p1, /dev/sdb1) and the by-id / by-path links built from
    the disk's model, serial or bus position (nvme-Amazon_Elastic_Block_Store_vol..., pci-0000:...).

    Not counted: by-uuid, by-label, by-partuuid, by-partlabel, /dev/mapper/*, LVM /dev/<vg>/<lv>, and the
    by-id links device-mapper, md and LVM derive from their own metadata (dm-*, md-*, lvm-pv-uuid-*).
    """
    if re.fullmatch(r"/dev/[A-Za-z0-9_.-]+", source):
        return True
    link = re.fullmatch(r"/dev/disk/by-(?P<kind>id|path)/(?P<name>\S+)", source)
    return link is not None and not (
        link["kind"] == "id" and link["name"].startswith(("dm-", "md-", "lvm-pv-uuid-"))
    )


def _df_free(lines: Iterable[str]) -> dict[str, int]:
    """POSIX df -Pk: Available is in KiB; the same file system may be listed for several paths."""
    free: dict[str, int] = {}
    for line in lines:
        row = _DF_ROW.match(line.strip())
        if row:
            free[row["mount"]] = int(row["available"]) // 1024
    return free


def _drive_free(lines: Iterable[str]) -> dict[str, int]:
    """Format-Table DeviceID,FreeSpace,Size: bytes; the header, dashes and blank lines do not match."""
    free: dict[str, int] = {}
    for line in lines:
        row = _DRIVE_ROW.match(line.strip())
        if row:
            free[row["drive"].upper()] = int(row["free"]) // _MIB
    return free


class _BlockDevice(NamedTuple):
    """One `lsblk -rno NAME,TYPE,FSTYPE,MOUNTPOINT` row, its \\xHH escapes undone."""

    name: str
    type: str  # disk, part, lvm, crypt, loop, raid1, ...
    fs_type: str  # ext4, xfs, crypto_LUKS, LVM2_member, swap, "" none
    mount: str  # "" when not mounted; [SWAP] for active swap


def _lsblk_rows(lines: Iterable[str]) -> list[_BlockDevice]:
    """Raw lsblk puts one space between columns and nothing for an empty one, so a row is exactly
    NAME TYPE FSTYPE MOUNTPOINT split on single spaces (the section reader has already dropped the
    trailing spaces of empty last columns); lsblk escapes spaces inside a value as \\x20.
    """
    rows: list[_BlockDevice] = []
    for line in lines:
        fields = line.strip().split(" ")
        if not 2 <= len(fields) <= 4 or not fields[0] or not _LSBLK_TYPE.fullmatch(fields[1]):
            continue
        name, type_, fs_type, mount = (_lsblk_unescaped(field) for field in [*fields, "", ""][:4])
        rows.append(_BlockDevice(name, type_, fs_type, mount))
    return rows


def _lsblk_unescaped(value: str) -> str:
    """\\xHH escapes are bytes of UTF-8, so a multi-byte character is undone as a whole."""
    if "\\x" not in value:
        return value
    raw = _LSBLK_ESCAPE.sub(lambda found: bytes([int(found[1], 16)]), value.encode())
    return raw.decode(errors="replace")


def _encrypted_volumes(rows: Iterable[_BlockDevice]) -> tuple[str, ...]:
    """LUKS containers (FSTYPE crypto_LUKS) and opened dm-crypt devices (TYPE crypt), in lsblk order.

    A device lsblk lists under several parents (an LV spanning two disks) is named once.
    """
    found: dict[str, None] = {}
    for row in rows:
        if row.type == "crypt" or row.fs_type == "crypto_LUKS":
            found[f"{row.name} ({row.mount})" if row.mount else row.name] = None
    return tuple(found)


def _boot_on_lvm(rows: list[_BlockDevice]) -> bool | None:
    """Whether the file system holding /boot (or / without a separate /boot) is an LVM volume."""
    by_mount = {row.mount: row for row in rows if row.mount}
    boot = by_mount.get("/boot") or by_mount.get("/")
    return None if boot is None else boot.type == "lvm"


def _bitlocker_protected(lines: Iterable[str]) -> tuple[str, ...]:
    """`<drive> <ProtectionStatus>` rows: 1 is protection on; 0 off, 2 unknown.

    A volume without a drive letter (System Reserved) prints no drive and is skipped.
    """
    drives: list[str] = []
    for line in lines:
        row = _BITLOCKER_ROW.match(line.strip())
        if row and row["status"] == "1":
            drives.append(row["drive"].upper())
    return tuple(drives)


def _cloud_init(line: str) -> str:
    if line == "not-installed":
        return "absent"
    state = line.removeprefix("status:").strip().lower() if line.startswith("status:") else ""
    if state == "disabled":
        return "disabled"
    return "enabled" if state.split(" ")[0] in _CLOUD_INIT_RUNS else ""


def _ports(lines: Iterable[str]) -> dict[int, bool]:
    ports: dict[int, bool] = {}
    for line in lines:
        row = _PORT_ROW.match(line.strip())
        if row and row["state"] != "unknown":  # the probe itself failed: the port stays unknown
            ports[int(row["port"])] = row["state"] == "open"
    return ports


def _windows_release(build: str, caption: str) -> str:
    """Server releases share Version 10.0; the build number is what tells 2016, 2019, 2022, 2025 apart."""
    if build in _WINDOWS_RELEASES:
        return _WINDOWS_RELEASES[build]
    named = re.search(r"Windows Server (\d{4}(?: R2)?)", caption)
    return named.group(1) if named else ""


def _windows_architecture(value: str) -> str:
    if "ARM" in value.upper():
        return "aarch64"
    return "x86_64" if value.startswith("64") else value
