"""The shipped Azure size catalogue: well formed, and spot values as the Microsoft Learn size pages give."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

CATALOGUE = Path(__file__).parents[2] / "shared" / "data" / "azure_sizes.json"
NUMBERS = ("vcpus", "memory_gib", "max_data_disks", "max_nics")


@pytest.fixture(scope="module")
def catalogue() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def by_name(catalogue: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in catalogue["sizes"]}


def test_it_names_its_source_and_date(catalogue: dict[str, Any]) -> None:
    assert "learn.microsoft.com" in catalogue["source"]
    assert "resource_skus" in catalogue["source"]
    assert catalogue["as_of"]
    assert catalogue["sizes"]


def test_names_are_unique(catalogue: dict[str, Any]) -> None:
    names = [row["name"] for row in catalogue["sizes"]]
    assert len(names) == len(set(names))


def test_every_number_is_positive(catalogue: dict[str, Any]) -> None:
    for row in catalogue["sizes"]:
        for key in NUMBERS:
            value = row[key]
            assert isinstance(value, int | float) and not isinstance(value, bool), (row["name"], key)
            assert value > 0, (row["name"], key)
        assert isinstance(row["premium_io"], bool), row["name"]


def test_generations_are_one_or_two(catalogue: dict[str, Any]) -> None:
    for row in catalogue["sizes"]:
        assert row["generations"], row["name"]
        assert set(row["generations"]) <= {1, 2}, row["name"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # (vcpus, memory GiB, max data disks, max NICs, premium storage, generations)
        ("Standard_D2s_v5", (2, 8, 4, 2, True, [1, 2])),
        ("Standard_D8s_v5", (8, 32, 16, 4, True, [1, 2])),
        ("Standard_D16s_v5", (16, 64, 32, 8, True, [1, 2])),
        ("Standard_D4_v5", (4, 16, 8, 2, False, [1, 2])),  # Dv5 takes no premium storage
        ("Standard_E4s_v5", (4, 32, 8, 2, True, [1, 2])),
        ("Standard_F2s_v2", (2, 4, 4, 2, True, [1, 2])),
        ("Standard_D2s_v6", (2, 8, 8, 2, True, [2])),  # Dsv6 is generation 2 only
    ],
)
def test_spot_values_match_the_size_pages(
    by_name: dict[str, dict[str, Any]], name: str, expected: tuple[int, int, int, int, bool, list[int]]
) -> None:
    row = by_name[name]
    actual = (
        row["vcpus"],
        row["memory_gib"],
        row["max_data_disks"],
        row["max_nics"],
        row["premium_io"],
        sorted(row["generations"]),
    )
    assert actual == expected


def test_each_family_is_complete(catalogue: dict[str, Any]) -> None:
    expected = {
        "Dsv5": [2, 4, 8, 16, 32, 48, 64, 96],
        "Dv5": [2, 4, 8, 16, 32, 48, 64, 96],
        "Dasv5": [2, 4, 8, 16, 32, 48, 64, 96],
        "Esv5": [2, 4, 8, 16, 20, 32, 48, 64, 96],
        "Ev5": [2, 4, 8, 16, 20, 32, 48, 64, 96],
        "Fsv2": [2, 4, 8, 16, 32, 48, 64, 72],
        "Dsv6": [2, 4, 8, 16, 32, 48, 64, 96, 128, 192],
    }
    for family, vcpus in expected.items():
        found = sorted(row["vcpus"] for row in catalogue["sizes"] if row["family"] == family)
        assert found == vcpus, family
