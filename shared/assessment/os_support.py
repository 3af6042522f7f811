"""Whether the Mobility agent and Azure support a machine's operating system.

The support matrix is data (shared/data/os_support.json), so a Mobility agent release is a data change,
not a code change. Evaluation is pure: callers pass what they know (os-release ID and VERSION_ID with
`uname -r`, or a guess from the AMI before guest checks have run) and get a verdict whose reason a person
can act on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from shared.errors import ConfigError

DEFAULT_PATH = Path(__file__).parents[1] / "data" / "os_support.json"
SUPPORTED, UNSUPPORTED = "supported", "unsupported"
UNKNOWN_VERSION, UNSUPPORTED_KERNEL = "unknown-version", "unsupported-kernel"
_ROW_STATUSES = (SUPPORTED, UNSUPPORTED)
_SERIES = re.compile(r"\d+\.\d+")
_KERNEL_NUMBERS = re.compile(r"\d+(?:\.\d+)*")


@dataclass(frozen=True)
class OsVerdict:
    status: str  # supported | unsupported | unknown-version | unsupported-kernel
    name: str  # what was judged, e.g. "Ubuntu 22.04"
    reason: str


@dataclass(frozen=True)
class OsRow:
    os_id: str
    name: str
    versions: tuple[str, ...]
    status: str
    kernels: tuple[str, ...] | None  # None: any stock kernel of the release
    kernel_flavours: tuple[str, ...] | None  # None: the matrix does not restrict the build
    exact: bool  # False: row "8" also matches "8.9" and "8.10"
    note: str


@dataclass(frozen=True)
class SupportTable:
    rows: tuple[OsRow, ...]
    source: tuple[str, ...]
    as_of: str
    agent_free_space_mib: Mapping[str, Mapping[str, int]]  # "linux"/"windows" -> path -> MiB


def load_support_table(path: Path | None = None) -> SupportTable:
    """Read once per process for the shipped table; an explicit path (tests, a refresh) is read each time."""
    if path is None:
        return _default_table()
    return _load(path)


@cache
def _default_table() -> SupportTable:
    return _load(DEFAULT_PATH)


def evaluate_os(table: SupportTable, os_id: str, version: str, kernel: str = "") -> OsVerdict:
    """Judge one OS release (and its kernel, when known) against the table; the most specific row wins."""
    os_id, version, kernel = os_id.strip().lower(), version.strip(), kernel.strip()
    rows = [row for row in table.rows if row.os_id == os_id]
    if not rows:
        name = f"{os_id} {version}".strip()
        return OsVerdict(
            UNKNOWN_VERSION,
            name,
            f"{os_id or 'this OS'} is not in the OS support table ({_cite(table)}); "
            "check the matrix by hand.",
        )
    matches = [(v, row) for row in rows for v in row.versions if _version_matches(v, version, row.exact)]
    if not matches:
        name = f"{rows[0].name} {version}".strip()
        listed = ", ".join(v for row in rows for v in row.versions)
        return OsVerdict(
            UNKNOWN_VERSION,
            name,
            f"{name} is not in the OS support table (listed: {listed}; {_cite(table)}).",
        )
    listed_version, row = max(matches, key=lambda match: len(match[0]))
    # The table's spelling ("2012 R2") when the caller's differs only in case; else theirs ("22.04.4").
    name = f"{row.name} {listed_version if _normal(listed_version) == _normal(version) else version}"
    if row.status == UNSUPPORTED:
        return OsVerdict(UNSUPPORTED, name, row.note)
    return _judge_kernel(row, name, kernel)


def _judge_kernel(row: OsRow, name: str, kernel: str) -> OsVerdict:
    """A supported release still fails on a kernel the agent has no driver for."""
    if row.kernels is None:
        return OsVerdict(SUPPORTED, name, row.note)  # any stock kernel of the release (or Windows)
    if not kernel:
        return OsVerdict(
            SUPPORTED, name, f"{row.note} Kernel not checked yet (listed series: {', '.join(row.kernels)})."
        )
    if not any(_kernel_in_series(kernel, series) for series in row.kernels):
        return OsVerdict(
            UNSUPPORTED_KERNEL,
            name,
            f"kernel {kernel} is outside the series the matrix lists for {name} "
            f"({', '.join(row.kernels)}); boot a listed stock kernel before replication.",
        )
    flavour = _kernel_flavour(kernel)
    if row.kernel_flavours is not None and flavour not in row.kernel_flavours:
        return OsVerdict(
            UNSUPPORTED_KERNEL,
            name,
            f"kernel {kernel} is the {flavour or 'unnamed'} build; the matrix lists only "
            f"{', '.join(row.kernel_flavours)} builds for {name}. Install one of those (for Ubuntu, "
            "linux-generic or linux-azure), reboot into it, then replicate.",
        )
    return OsVerdict(SUPPORTED, name, f"{row.note} Kernel {kernel} is in a listed series.")


def os_from_image(platform: str, image_name: str) -> tuple[str, str] | None:
    """Best guess of (os-release ID, VERSION_ID) from EC2 PlatformDetails and the AMI name; None if unsure.

    Used only before guest checks have run: the guest's /etc/os-release always wins over this.
    """
    text = f"{platform} {image_name}".lower()
    for guess in (_amazon_linux, _windows, _ubuntu, _rhel, _sles, _debian, _rocky, _alma, _oracle, _centos):
        if (found := guess(text)) is not None:
            return found
    return None


def _version_matches(listed: str, candidate: str, exact: bool) -> bool:
    """Dotted components, never text prefixes: "8.1" matches "8.1" and "8.1.2" but not "8.10"."""
    listed, candidate = _normal(listed), _normal(candidate)
    return candidate == listed or (not exact and candidate.startswith(listed + "."))


def _normal(version: str) -> str:
    return " ".join(version.split()).lower()


def _kernel_in_series(kernel: str, series: str) -> bool:
    numbers = _KERNEL_NUMBERS.match(kernel)
    if numbers is None:
        return False
    wanted = series.split(".")
    return numbers.group().split(".")[: len(wanted)] == wanted


def _kernel_flavour(kernel: str) -> str:
    """The build after the ABI number: "5.15.0-1051-aws" -> "aws", "6.1.0-34-cloud-amd64" -> "cloud-amd64"."""
    parts = kernel.split("-", 2)
    return parts[2].lower() if len(parts) == 3 else ""


def _cite(table: SupportTable) -> str:
    return f"source: {table.source[0]}, as of {table.as_of}"


# --- AMI name guesses, most specific first -----------------------------------------------------------

_MINOR = r"(?<!\d)(\d{1,2}\.\d{1,2})(?![\d])"
_UBUNTU_CODENAMES = {"bionic": "18.04", "focal": "20.04", "jammy": "22.04", "noble": "24.04"}
_DEBIAN_CODENAMES = {"buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13"}


def _amazon_linux(text: str) -> tuple[str, str] | None:
    if "al2023" in text or re.search(r"amazon[ _-]?linux[ _-]?2023", text):
        return "amzn", "2023"
    if "amzn2" in text or re.search(r"amazon[ _-]?linux[ _-]?2(?!\d)", text):
        return "amzn", "2"
    if found := re.search(r"amzn-ami-[a-z0-9-]*?(20\d\d\.\d\d)", text):
        return "amzn", found.group(1)
    return None


def _windows(text: str) -> tuple[str, str] | None:
    if "windows" not in text:
        return None
    found = re.search(r"windows[ _-]*server[ _-]*(\d{4})(?:[ _-]*(r2)(?![a-z0-9]))?", text)
    if found is None:
        return None
    return "windows", found.group(1) + (" R2" if found.group(2) else "")


def _ubuntu(text: str) -> tuple[str, str] | None:
    if "ubuntu" not in text:
        return None
    if found := re.search(r"(?<!\d)(\d{2}\.\d{2})(?!\d)", text.split("ubuntu", 1)[1]):
        return "ubuntu", found.group(1)
    codename = next((name for name in _UBUNTU_CODENAMES if name in text), None)
    return ("ubuntu", _UBUNTU_CODENAMES[codename]) if codename else None


def _rhel(text: str) -> tuple[str, str] | None:
    found = re.search(r"(?<![a-z])rhel[a-z_-]*?[ _-]?(\d{1,2})(?:\.(\d{1,2}))?", text)
    if found is None:
        return None
    return "rhel", found.group(1) + (f".{found.group(2)}" if found.group(2) else "")


def _sles(text: str) -> tuple[str, str] | None:
    found = re.search(r"(?<![a-z])sles[ _-]?(?:sap[ _-]?)?(\d{2})(?:[ _-]?sp(\d))?", text)
    if found is None:
        return None
    return "sles", found.group(1) + (f".{found.group(2)}" if found.group(2) else "")


def _debian(text: str) -> tuple[str, str] | None:
    if "debian" not in text:
        return None
    if found := re.search(r"debian[ _-]?(\d{1,2})(?!\d)", text):
        return "debian", found.group(1)
    codename = next((name for name in _DEBIAN_CODENAMES if name in text), None)
    return ("debian", _DEBIAN_CODENAMES[codename]) if codename else None


def _rocky(text: str) -> tuple[str, str] | None:
    return _with_minor(text, "rocky", "rocky")


def _alma(text: str) -> tuple[str, str] | None:
    return _with_minor(text, "almalinux", "almalinux")


def _oracle(text: str) -> tuple[str, str] | None:
    if found := re.search(r"(?<![a-z])ol(\d{1,2}\.\d{1,2})(?!\d)", text):
        return "ol", found.group(1)
    return _with_minor(text, "oracle linux", "ol")


def _centos(text: str) -> tuple[str, str] | None:
    found = re.search(r"centos[ _-]?(?:linux[ _-]?)?(\d{1,2})(?![\d.])", text)
    return ("centos", found.group(1)) if found else None


def _with_minor(text: str, keyword: str, os_id: str) -> tuple[str, str] | None:
    """A release with its minor ("Rocky-9-EC2-Base-9.4-...": 9.4) or, failing that, the major alone."""
    if keyword not in text:
        return None
    rest = text.split(keyword, 1)[1]
    if found := re.search(_MINOR, rest):
        return os_id, found.group(1)
    if found := re.search(r"(?<!\d)(\d{1,2})(?!\d)", rest):
        return os_id, found.group(1)
    return None


# --- loading and validation ---------------------------------------------------------------------------


def _load(path: Path) -> SupportTable:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"the OS support table {path} cannot be read: {error.strerror}") from error
    except ValueError as error:
        raise ConfigError(f"the OS support table {path} is not valid JSON: {error}") from error
    try:
        return _table(data)
    except (KeyError, TypeError, ValueError) as error:
        problem = f"missing {error}" if isinstance(error, KeyError) else str(error)
        raise ConfigError(f"the OS support table {path} is invalid: {problem}") from error


def _table(data: Any) -> SupportTable:
    if not isinstance(data, dict):
        raise TypeError("the top level must be an object")
    source = data["source"]
    sources = tuple(source) if isinstance(source, list) else (source,)
    if not sources or not all(isinstance(s, str) and s for s in sources):
        raise ValueError("source must be a URL or a list of URLs")
    as_of = _text(data, "as_of", "the top level")
    if not isinstance(data["systems"], list) or not data["systems"]:
        raise ValueError("systems must be a non-empty list")
    rows = tuple(_row(raw, f"systems[{i}]") for i, raw in enumerate(data["systems"]))
    seen: set[tuple[str, str]] = set()
    for row in rows:
        for version in row.versions:
            if (row.os_id, _normal(version)) in seen:
                raise ValueError(f"{row.os_id} {version} is listed twice")
            seen.add((row.os_id, _normal(version)))
    return SupportTable(rows, sources, as_of, _free_space(data["agent_free_space_mib"]))


def _row(raw: Any, where: str) -> OsRow:
    if not isinstance(raw, dict):
        raise TypeError(f"{where} must be an object")
    versions = _strings(raw, "versions", where)
    if not versions:
        raise ValueError(f"{where}.versions must not be empty")
    status = _text(raw, "status", where)
    if status not in _ROW_STATUSES:
        raise ValueError(f"{where}.status must be one of {', '.join(_ROW_STATUSES)}")
    kernels = None if raw["kernels"] is None else _strings(raw, "kernels", where)
    if kernels is not None and not all(_SERIES.fullmatch(series) for series in kernels):
        raise ValueError(f"{where}.kernels must be series like 5.15, or null")
    flavours = _strings(raw, "kernel_flavours", where) if raw.get("kernel_flavours") is not None else None
    match = raw.get("match", "prefix")
    if match not in ("prefix", "exact"):
        raise ValueError(f"{where}.match must be prefix or exact")
    return OsRow(
        os_id=_text(raw, "os_id", where).lower(),
        name=_text(raw, "name", where),
        versions=versions,
        status=status,
        kernels=kernels,
        kernel_flavours=tuple(f.lower() for f in flavours) if flavours is not None else None,
        exact=match == "exact",
        note=_text(raw, "note", where),
    )


def _free_space(raw: Any) -> Mapping[str, Mapping[str, int]]:
    if not isinstance(raw, dict) or not raw:
        raise TypeError("agent_free_space_mib must be an object by OS family")
    families: dict[str, Mapping[str, int]] = {}
    for family, paths in raw.items():
        if not isinstance(paths, dict) or not all(
            isinstance(mib, int) and not isinstance(mib, bool) and mib > 0 for mib in paths.values()
        ):
            raise ValueError(f"agent_free_space_mib.{family} must map paths to positive whole MiB")
        families[family] = MappingProxyType(dict(paths))
    return MappingProxyType(families)


def _text(raw: dict[str, Any], key: str, where: str) -> str:
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}.{key} must be non-empty text")
    return value


def _strings(raw: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw[key]
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ValueError(f"{where}.{key} must be a list of non-empty text")
    return tuple(value)
