"""Refreshing the size catalogue from resource SKUs: capabilities, regions, families and order kept."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.assessment.catalogue import family_of, sizes_from_skus
from shared.assessment.sizing import load_catalogue
from shared.errors import InvalidInput


def sku(name: str, vcpus: int, memory: float, disks: int, nics: int, **extra: Any) -> dict[str, Any]:
    """A resource SKU as `az vm list-skus -o json` prints it."""
    return {
        "resourceType": "virtualMachines",
        "name": name,
        "tier": "Standard",
        "locations": ["eastus"],
        "capabilities": [
            {"name": "vCPUs", "value": str(vcpus)},
            {"name": "MemoryGB", "value": f"{memory:g}"},
            {"name": "MaxDataDiskCount", "value": str(disks)},
            {"name": "MaxNetworkInterfaces", "value": str(nics)},
            {"name": "PremiumIO", "value": "True"},
            {"name": "HyperVGenerations", "value": "V1,V2"},
        ],
        "restrictions": [],
        **extra,
    }


def test_family_names_follow_the_size_names():
    assert family_of("Standard_D2s_v5") == "Dsv5"
    assert family_of("Standard_D16as_v5") == "Dasv5"
    assert family_of("Standard_F72s_v2") == "Fsv2"
    assert family_of("Standard_E20_v5") == "Ev5"
    assert family_of("Basic_A0") is None


def test_rows_come_from_capabilities_with_restricted_regions_and_families_in_order(tmp_path):
    restricted = {
        "restrictions": [
            {"type": "Location", "values": ["WestEurope"], "reasonCode": "NotAvailableForSubscription"}
        ]
    }
    skus = [
        sku("Standard_E4s_v5", 4, 32, 8, 2),
        sku("Standard_D4s_v5", 4, 16, 8, 2, **restricted),
        sku("Standard_D2s_v5", 2, 8, 4, 2),
        sku("Standard_M64s", 64, 1024, 64, 8),  # a family the catalogue does not curate
        {"resourceType": "disks", "name": "Premium_LRS"},
    ]
    rows = sizes_from_skus(skus, ["Dsv5", "Esv5"])
    assert [r["name"] for r in rows] == ["Standard_D2s_v5", "Standard_D4s_v5", "Standard_E4s_v5"]
    assert rows[1]["unavailable_in"] == ["westeurope"] and rows[0]["generations"] == [1, 2]
    path = tmp_path / "sizes.json"
    path.write_text(json.dumps({"source": "test", "as_of": "2026-11-26", "sizes": rows}))
    catalogue = load_catalogue(path)  # what the tool writes is what sizing reads
    assert catalogue.get("Standard_D4s_v5").unavailable_in == {"westeurope"}  # type: ignore[union-attr]
    assert catalogue.get("Standard_D2s_v5").locations == {"eastus"}  # type: ignore[union-attr]


def test_a_sku_without_its_capabilities_is_refused():
    broken = sku("Standard_D2s_v5", 2, 8, 4, 2)
    broken["capabilities"] = [{"name": "vCPUs", "value": "2"}]
    with pytest.raises(InvalidInput, match="Standard_D2s_v5"):
        sizes_from_skus([broken], ["Dsv5"])
