"""The guest checks we run on each EC2 instance through SSM before installing anything, as script lines.

Read-only. They print sections, each started by an `@@<name>` line, between the `GUEST_MARKER` line
and `@@end`, so one pure parser (`shared.assessment.guest`) reads Linux and Windows output alike. Every
probe tolerates a missing tool (mokutil, lsblk; on Windows Server 2008 the CIM cmdlets and .NET 4.5):
an empty section means "unknown", never a failed check. Our SSM documents (`shared.guest.documents`)
carry these lines; the parser and the documents share this module, and it knows nothing of either.
"""

from __future__ import annotations

import ipaddress
import re

from shared.errors import InvalidInput

GUEST_MARKER = "@@azm-guest v1"
APPLIANCE_PORTS = (443, 9443)
LINUX_SECTIONS = (
    "os-release",
    "kernel",
    "arch",
    "boot",
    "secure-boot",
    "bios-uuid",
    "fstab",
    "free",
    "disks",
    "cloud-init",
    "ports",
)
WINDOWS_SECTIONS = ("os", "boot", "secure-boot", "bios-uuid", "free", "disks", "ports")
_DNS_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*")
_EFI_SECURE_BOOT = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
_BITLOCKER_NAMESPACE = r"root\cimv2\Security\MicrosoftVolumeEncryption"


def linux_guest_script(appliance_address: str) -> list[str]:
    """The Linux guest checks for one appliance address, which is checked first."""
    return linux_guest_lines(checked_address(appliance_address))


def windows_guest_script(appliance_address: str) -> list[str]:
    """The Windows guest checks for one appliance address, which is checked first."""
    return windows_guest_lines(checked_address(appliance_address))


def linux_guest_lines(address: str) -> list[str]:
    """Script lines (root, POSIX sh; `bash -c` only for /dev/tcp). `address` is a checked address, or
    the SSM document parameter `{{ ApplianceAddress }}`, which SSM checks against its allowedPattern.

    A probe that may exit non-zero (mokutil on a BIOS boot, grep on an empty fstab, cloud-init in
    error) ends in `|| true`, so a `set -e` never cuts the report short and SSM reports success.
    """
    return [
        f"echo '{GUEST_MARKER}'",
        "echo '@@os-release'",
        "awk 1 /etc/os-release 2>/dev/null || true",  # awk 1 ends a last line that has no newline
        "echo '@@kernel'",
        "uname -r",
        "echo '@@arch'",
        "uname -m",
        "echo '@@boot'",
        "if [ -d /sys/firmware/efi ]; then echo uefi; else echo bios; fi",
        "echo '@@secure-boot'",
        # without mokutil, the SecureBoot variable itself: 4 attribute bytes, then 1 (on) or 0 (off)
        "if command -v mokutil >/dev/null 2>&1; then mokutil --sb-state 2>&1 || true; "
        f"elif [ -e {_EFI_SECURE_BOOT} ]; then echo efivar; "
        f"od -An -t u1 {_EFI_SECURE_BOOT} 2>/dev/null || true; "
        "else echo unknown; fi",
        "echo '@@bios-uuid'",
        "awk 1 /sys/class/dmi/id/product_uuid 2>/dev/null || dmidecode -s system-uuid 2>/dev/null || true",
        "echo '@@fstab'",
        "grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' /etc/fstab 2>/dev/null || true",
        "echo '@@free'",
        "df -Pk / /var /tmp /usr/local 2>/dev/null || true",
        "echo '@@disks'",
        "lsblk -rno NAME,TYPE,FSTYPE,MOUNTPOINT 2>/dev/null || true",
        "echo '@@cloud-init'",
        "if ! command -v cloud-init >/dev/null 2>&1; then echo not-installed; "
        "elif [ -e /etc/cloud/cloud-init.disabled ]; then echo 'status: disabled'; "
        "else cloud-init status 2>&1 || true; fi",
        "echo '@@ports'",
        *(_linux_port_probe(address, port) for port in APPLIANCE_PORTS),
        "echo '@@end'",
    ]


def windows_guest_lines(address: str) -> list[str]:
    """PowerShell lines (SYSTEM); the same sections, Windows' own sources. `address` as for Linux.

    Windows Server 2008 / 2008 R2 run PowerShell 2: no Get-CimInstance (so `$cim` falls back to
    Get-WmiObject, which takes the class name in the same position) and no Confirm-SecureBootUEFI.
    """
    return [
        "$ProgressPreference = 'SilentlyContinue'",
        "if (Get-Command Get-CimInstance -ErrorAction SilentlyContinue) { $cim = 'Get-CimInstance' } "
        "else { $cim = 'Get-WmiObject' }",
        f"Write-Output '{GUEST_MARKER}'",
        "Write-Output '@@os'",
        "& $cim Win32_OperatingSystem | Format-List Caption,Version,BuildNumber,OSArchitecture",
        "Write-Output '@@boot'",
        "Write-Output $env:firmware_type",
        "Write-Output '@@secure-boot'",
        "try { Confirm-SecureBootUEFI -ErrorAction Stop } "
        "catch [System.PlatformNotSupportedException] { 'unsupported' } "
        "catch [System.Management.Automation.CommandNotFoundException] { 'unknown' } catch { 'unknown' }",
        "Write-Output '@@bios-uuid'",
        "(& $cim Win32_ComputerSystemProduct).UUID",
        "Write-Output '@@free'",
        '& $cim Win32_LogicalDisk -Filter "DriveType=3" | Format-Table DeviceID,FreeSpace,Size -AutoSize',
        "Write-Output '@@disks'",
        _windows_bitlocker_probe(),
        "Write-Output '@@ports'",
        _windows_port_probe(address),
        "Write-Output '@@end'",
    ]


def _linux_port_probe(address: str, port: int) -> str:
    return (
        f"if timeout 5 bash -c '</dev/tcp/{address}/{port}' 2>/dev/null; "
        f"then echo '{port} open'; else echo '{port} closed'; fi"
    )


def _windows_bitlocker_probe() -> str:
    """`<drive> <ProtectionStatus>` per volume, read through WMI: the BitLocker module is absent on
    servers without the feature. Without the feature the namespace is missing and nothing is printed.

    Get-CimInstance names the class with -ClassName, Get-WmiObject with -Class: hence two branches.
    """
    namespace = f"-Namespace {_BITLOCKER_NAMESPACE}"
    each = '-ErrorAction SilentlyContinue | ForEach-Object { "$($_.DriveLetter) $($_.ProtectionStatus)" }'
    return (
        "try { if ($cim -eq 'Get-CimInstance') { "
        f"Get-CimInstance {namespace} -ClassName Win32_EncryptableVolume {each} }} "
        f"else {{ Get-WmiObject {namespace} -Class Win32_EncryptableVolume {each} }} }} catch {{ }}"
    )


def _windows_port_probe(address: str) -> str:
    """BeginConnect/WaitOne work on .NET 2 (ConnectAsync needs 4.5). A refused or timed-out connection
    is `closed`; any other failure is the probe's own, so `unknown` rather than a false `closed`.
    """
    ports = ", ".join(str(port) for port in APPLIANCE_PORTS)
    return (
        f"foreach ($port in {ports}) {{ $client = $null; try {{ "
        "$client = New-Object System.Net.Sockets.TcpClient; "
        f"$wait = $client.BeginConnect('{address}', $port, $null, $null); "
        'if ($wait.AsyncWaitHandle.WaitOne(5000)) { $client.EndConnect($wait); "$port open" } '
        'else { "$port closed" } } '
        'catch [System.Net.Sockets.SocketException] { "$port closed" } catch { "$port unknown" } '
        "finally { if ($client) { $client.Close() } } }"
    )


def checked_address(address: str) -> str:
    """The address lands in a shell and a PowerShell line: only an IPv4 address or a DNS name passes."""
    if re.fullmatch(r"[0-9.]+", address):
        try:
            return str(ipaddress.IPv4Address(address))
        except ValueError:
            pass
    elif len(address) <= 253 and _DNS_NAME.fullmatch(address):
        return address
    raise InvalidInput(f"appliance address {address!r} is neither an IPv4 address nor a DNS name")
