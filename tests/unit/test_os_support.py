"""The OS support table: its matching rules (on a small table written here) and the shipped data."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from shared.assessment.os_support import (
    SupportTable,
    evaluate_os,
    load_support_table,
    os_from_image,
)
from shared.errors import ConfigError

SOURCE = "https://learn.microsoft.com/example-matrix"


def _row(os_id: str, versions: list[str], status: str = "supported", **extra: Any) -> dict[str, Any]:
    return {
        "os_id": os_id,
        "name": extra.pop("name", os_id.title()),
        "versions": versions,
        "status": status,
        "kernels": extra.pop("kernels", None),
        "note": extra.pop("note", f"{os_id} note."),
        **extra,
    }


def _document(*rows: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": [SOURCE],
        "as_of": "2026-04-06",
        "agent_free_space_mib": {"linux": {"/": 2048}, "windows": {"C:": 500}},
        "systems": list(rows),
    }


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "os_support.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture
def table(tmp_path: Path) -> SupportTable:
    return load_support_table(
        _write(
            tmp_path,
            _document(
                _row("rhel", ["8"], name="RHEL"),
                _row("ol", ["8.1", "8.9"], name="Oracle Linux"),
                _row("ubuntu", ["22.04"], name="Ubuntu", kernels=["5.15", "6.8"]),
                _row(
                    "debian",
                    ["12"],
                    name="Debian",
                    kernels=["6.1"],
                    kernel_flavours=["amd64", "cloud-amd64"],
                ),
                _row("sles", ["15", "15.5"], name="SLES", match="exact"),
                _row("windows", ["2019", "2012 R2"], name="Windows Server"),
                _row("windows", ["2003"], "unsupported", name="Windows Server", note="Out of support."),
            ),
        )
    )


# --- version rules --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["8", "8.9", "8.10", "8.10.1"])
def test_a_major_version_row_matches_every_minor(table: SupportTable, version: str) -> None:
    assert evaluate_os(table, "rhel", version).status == "supported"


def test_a_listed_version_does_not_match_a_longer_number(table: SupportTable) -> None:
    assert evaluate_os(table, "ol", "8.1").status == "supported"
    verdict = evaluate_os(table, "ol", "8.10")  # "8.1" is a prefix of the text, not of the version
    assert verdict.status == "unknown-version"
    assert "8.1, 8.9" in verdict.reason


def test_a_major_version_row_does_not_match_another_major(table: SupportTable) -> None:
    assert evaluate_os(table, "rhel", "9.4").status == "unknown-version"
    assert evaluate_os(table, "rhel", "80").status == "unknown-version"


def test_exact_rows_match_each_service_pack_only(table: SupportTable) -> None:
    assert evaluate_os(table, "sles", "15").status == "supported"
    assert evaluate_os(table, "sles", "15.5").status == "supported"
    assert evaluate_os(table, "sles", "15.3").status == "unknown-version"  # "15" is GA only


def test_windows_versions_are_whole_names(table: SupportTable) -> None:
    verdict = evaluate_os(table, "Windows", "2012 r2")
    assert verdict.status == "supported"
    assert verdict.name == "Windows Server 2012 R2"
    assert evaluate_os(table, "windows", "2012").status == "unknown-version"
    assert evaluate_os(table, "windows", "2019").status == "supported"


def test_the_most_specific_row_wins(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _document(_row("rhel", ["8"]), _row("rhel", ["8.0"], "unsupported", note="8.0 dropped.")),
    )
    table = load_support_table(path)
    assert evaluate_os(table, "rhel", "8.0").status == "unsupported"
    assert evaluate_os(table, "rhel", "8.1").status == "supported"


def test_unsupported_gives_the_rows_reason(table: SupportTable) -> None:
    verdict = evaluate_os(table, "windows", "2003")
    assert verdict.status == "unsupported"
    assert verdict.reason == "Out of support."
    assert verdict.name == "Windows Server 2003"


def test_an_os_missing_from_the_table_is_unknown_and_names_the_source(table: SupportTable) -> None:
    verdict = evaluate_os(table, "freebsd", "14.1")
    assert verdict.status == "unknown-version"
    assert "not in the OS support table" in verdict.reason
    assert SOURCE in verdict.reason


def test_a_version_missing_from_the_table_is_unknown_and_lists_what_is(table: SupportTable) -> None:
    verdict = evaluate_os(table, "ubuntu", "23.10")
    assert verdict.status == "unknown-version"
    assert "22.04" in verdict.reason
    assert SOURCE in verdict.reason


# --- kernel rules ---------------------------------------------------------------------------------


def test_a_kernel_in_a_listed_series_is_supported(table: SupportTable) -> None:
    assert evaluate_os(table, "ubuntu", "22.04", "5.15.0-1051-aws").status == "supported"
    assert evaluate_os(table, "ubuntu", "22.04.4", "6.8.0-1028-azure").status == "supported"


def test_a_kernel_outside_the_listed_series_is_refused(table: SupportTable) -> None:
    verdict = evaluate_os(table, "ubuntu", "22.04", "6.11.0-1012-aws")
    assert verdict.status == "unsupported-kernel"
    assert "6.11.0-1012-aws" in verdict.reason
    assert "5.15, 6.8" in verdict.reason


def test_series_compare_whole_numbers(table: SupportTable) -> None:
    assert evaluate_os(table, "debian", "12", "6.1.0-34-cloud-amd64").status == "supported"
    assert evaluate_os(table, "debian", "12", "6.12.0-1-cloud-amd64").status == "unsupported-kernel"


def test_an_unlisted_kernel_flavour_is_refused(table: SupportTable) -> None:
    verdict = evaluate_os(table, "debian", "12", "6.1.0-34-rt-amd64")
    assert verdict.status == "unsupported-kernel"
    assert "rt-amd64" in verdict.reason


def test_a_kernel_that_is_not_a_version_is_refused(table: SupportTable) -> None:
    assert evaluate_os(table, "ubuntu", "22.04", "custom").status == "unsupported-kernel"


def test_the_kernel_check_is_skipped_when_the_row_lists_no_kernels(table: SupportTable) -> None:
    assert evaluate_os(table, "rhel", "8.9", "9.9.9-anything").status == "supported"
    assert evaluate_os(table, "sles", "15.5", "6.4.0-150600.23.25-default").status == "supported"


def test_without_a_kernel_the_release_alone_is_judged(table: SupportTable) -> None:
    verdict = evaluate_os(table, "ubuntu", "22.04")
    assert verdict.status == "supported"
    assert "not checked" in verdict.reason


# --- loading --------------------------------------------------------------------------------------


def test_the_shipped_table_loads_with_its_source_and_date() -> None:
    table = load_support_table()
    assert table.source[0].startswith("https://learn.microsoft.com/azure/site-recovery/")
    assert any("migrate-support-matrix-physical-migration" in url for url in table.source)
    assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", table.as_of)
    assert table.agent_free_space_mib["linux"]["/"] == 2048
    assert table.agent_free_space_mib["windows"]["C:"] == 500


def test_the_shipped_table_is_read_once() -> None:
    assert load_support_table() is load_support_table()


def test_an_explicit_path_is_read_each_time(tmp_path: Path) -> None:
    path = _write(tmp_path, _document(_row("rhel", ["8"])))
    assert load_support_table(path) is not load_support_table(path)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["systems"][0].update(status="maybe"), "systems[0].status"),
        (lambda d: d["systems"][0].update(versions=[]), "systems[0].versions"),
        (lambda d: d["systems"][0].update(kernels=["5"]), "systems[0].kernels"),
        (lambda d: d["systems"][0].update(match="fuzzy"), "systems[0].match"),
        (lambda d: d["systems"][0].pop("note"), "note"),
        (lambda d: d.pop("source"), "source"),
        (lambda d: d.update(systems=[]), "systems"),
        (lambda d: d["systems"].append(_row("rhel", ["8"])), "rhel 8 is listed twice"),
        (lambda d: d["agent_free_space_mib"]["linux"].update({"/": 0}), "agent_free_space_mib.linux"),
    ],
)
def test_invalid_data_is_a_config_error_naming_file_and_problem(
    tmp_path: Path, change: Any, problem: str
) -> None:
    document = _document(_row("rhel", ["8"]))
    change(document)
    path = _write(tmp_path, document)
    with pytest.raises(ConfigError) as raised:
        load_support_table(path)
    assert str(path) in str(raised.value)
    assert problem in str(raised.value)


def test_unparseable_or_missing_files_are_config_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_support_table(broken)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_support_table(tmp_path / "absent.json")


# --- the shipped data, spot checks against the matrix ---------------------------------------------


@pytest.mark.parametrize(
    ("os_id", "version", "kernel", "status"),
    [
        ("windows", "2025", "", "supported"),
        ("windows", "2012 R2", "", "supported"),
        ("windows", "2003", "", "unsupported"),
        ("ubuntu", "24.04", "6.8.0-1028-azure", "supported"),
        ("ubuntu", "22.04", "5.15.0-1051-aws", "unsupported-kernel"),  # the matrix lists no -aws build
        ("ubuntu", "22.04", "5.15.0-1051-generic", "supported"),
        ("debian", "12", "6.1.0-34-cloud-amd64", "supported"),
        ("rhel", "8.10", "", "supported"),
        ("rhel", "9.4", "5.14.0-427.13.1.el9_4.x86_64", "supported"),
        ("ol", "8.10", "", "unknown-version"),  # the matrix stops Oracle Linux 8 at 8.9
        ("sles", "15.5", "", "supported"),
        ("centos", "7.9", "", "unsupported"),
        ("amzn", "2023", "", "unsupported"),
        ("amzn", "2", "", "unsupported"),
    ],
)
def test_the_shipped_table_against_the_matrix(os_id: str, version: str, kernel: str, status: str) -> None:
    assert evaluate_os(load_support_table(), os_id, version, kernel).status == status


def test_amazon_linux_is_refused_with_the_seed_faqs_reason() -> None:
    reason = evaluate_os(load_support_table(), "amzn", "2023").reason
    assert "only on AWS" in reason


# --- AMI guesses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "image_name", "expected"),
    [
        ("Windows", "Windows_Server-2019-English-Full-Base-2024.10.09", ("windows", "2019")),
        ("Windows", "Windows_Server-2012-R2_RTM-English-64Bit-Base-2024.10.09", ("windows", "2012 R2")),
        ("Ubuntu Pro", "ubuntu/images/hvm-ssd-jammy-22.04-amd64-server-20241002", ("ubuntu", "22.04")),
        (
            "Linux/UNIX",
            "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20240423",
            ("ubuntu", "24.04"),
        ),
        ("Red Hat Enterprise Linux", "RHEL-9.4.0_HVM-20240423-x86_64-62-Hourly2-GP3", ("rhel", "9.4")),
        ("Linux/UNIX", "al2023-ami-2023.6.20241010.0-kernel-6.1-x86_64", ("amzn", "2023")),
        ("Linux/UNIX", "amzn2-ami-kernel-5.10-hvm-2.0.20241001.0-x86_64-gp2", ("amzn", "2")),
        ("Linux/UNIX", "debian-12-amd64-20241004-1890", ("debian", "12")),
        ("SUSE Linux", "suse-sles-15-sp5-v20240129-hvm-ssd-x86_64", ("sles", "15.5")),
        ("Linux/UNIX", "Rocky-9-EC2-Base-9.4-20240523.0.x86_64", ("rocky", "9.4")),
        ("Linux/UNIX", "OL8.9-x86_64-HVM-2024-02-02", ("ol", "8.9")),
        ("Linux/UNIX", "CentOS Linux 7 x86_64 HVM EBS ENA 2002_01", ("centos", "7")),
    ],
)
def test_os_from_image(platform: str, image_name: str, expected: tuple[str, str]) -> None:
    assert os_from_image(platform, image_name) == expected


@pytest.mark.parametrize(
    ("platform", "image_name"),
    [
        ("Linux/UNIX", "golden-image-2024-10-01"),
        ("Windows", "corp-base-image-v7"),
        ("Red Hat Enterprise Linux", ""),
        ("", ""),
    ],
)
def test_os_from_image_says_none_when_it_cannot_tell(platform: str, image_name: str) -> None:
    assert os_from_image(platform, image_name) is None


def test_an_ami_guess_feeds_the_evaluation() -> None:
    guess = os_from_image("SUSE Linux", "suse-sles-15-sp5-v20240129-hvm-ssd-x86_64")
    assert guess is not None
    assert evaluate_os(load_support_table(), *guess).status == "supported"
