"""Refreshes the size catalogue from Azure's resource SKUs, keeping its curated families and order.

Input: the JSON list that `az vm list-skus --resource-type virtualMachines -o json` prints, or
`[sku.as_dict() for sku in ComputeManagementClient(...).resource_skus.list()]` (camelCase or
snake_case keys both work). A size's `locations` are the regions whose SKU lists were given (list
several regions' SKUs together), and `unavailable_in` the regions its Location restrictions name.
The families and their order (the tie-break in right-sizing) stay those of the catalogue.

Usage: python -m shared.assessment.catalogue --skus skus.json [--output shared/data/azure_sizes.json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.assessment.sizing import CATALOGUE_PATH
from shared.errors import InvalidInput

_NAME = re.compile(r"^Standard_([A-Z]+)(\d+)([a-z]*)_(v\d+)$")


def family_of(name: str) -> str | None:
    """Standard_D2s_v5 -> Dsv5, Standard_D2as_v5 -> Dasv5, Standard_F16s_v2 -> Fsv2."""
    match = _NAME.match(name)
    return f"{match[1]}{match[3]}{match[4]}" if match else None


def sizes_from_skus(skus: Iterable[dict[str, Any]], families: list[str]) -> list[dict[str, Any]]:
    """Catalogue rows for the VM SKUs of `families`, in family order, then by vCPUs."""
    rows: dict[str, dict[str, Any]] = {}
    for sku in skus:
        if _get(sku, "resourceType", "resource_type") != "virtualMachines":
            continue
        name = str(sku.get("name", ""))
        family = family_of(name)
        if family not in families:
            continue
        row = rows.setdefault(name, _row(name, family, sku))
        row["unavailable_in"] = sorted(set(row["unavailable_in"]) | _restricted(sku))
        row["locations"] = sorted(
            set(row["locations"]) | {str(r).lower() for r in sku.get("locations") or []}
        )
    order = {family: n for n, family in enumerate(families)}
    return sorted(rows.values(), key=lambda r: (order[r["family"]], r["vcpus"], r["name"]))


def _row(name: str, family: str, sku: dict[str, Any]) -> dict[str, Any]:
    caps = {str(c.get("name")): str(c.get("value")) for c in sku.get("capabilities") or []}
    try:
        return {
            "name": name,
            "family": family,
            "vcpus": int(caps["vCPUs"]),
            "memory_gib": float(caps["MemoryGB"]),
            "max_data_disks": int(caps["MaxDataDiskCount"]),
            "max_nics": int(caps["MaxNetworkInterfaces"]),
            "premium_io": caps.get("PremiumIO", "False").lower() == "true",
            "generations": sorted(
                int(g.strip().lstrip("Vv")) for g in caps.get("HyperVGenerations", "V1").split(",")
            ),
            "unavailable_in": [],
            "locations": [],
        }
    except (KeyError, ValueError) as error:
        raise InvalidInput(f"SKU {name} lacks a usable capability: {error}") from error


def _restricted(sku: dict[str, Any]) -> set[str]:
    regions: set[str] = set()
    for restriction in sku.get("restrictions") or []:
        if str(restriction.get("type", "")).lower() == "location":
            regions |= {str(v).lower() for v in restriction.get("values") or []}
    return regions


def _get(data: dict[str, Any], *keys: str) -> Any:
    return next((data[k] for k in keys if k in data), None)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.assessment.catalogue", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--skus", type=Path, required=True, help="resource SKUs as JSON (az vm list-skus -o json)"
    )
    parser.add_argument(
        "--output", type=Path, default=CATALOGUE_PATH, help="catalogue to write (default: ours)"
    )
    args = parser.parse_args(argv)
    current = json.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    families = list(dict.fromkeys(row["family"] for row in current["sizes"]))
    try:
        skus = json.loads(args.skus.read_text(encoding="utf-8"))
        sizes = sizes_from_skus(skus if isinstance(skus, list) else skus.get("value", []), families)
    except (OSError, ValueError, InvalidInput) as error:
        print(f"error: {args.skus}: {error}", file=sys.stderr)
        return 2
    if not sizes:
        print(f"error: {args.skus} has no VM SKUs of the families {', '.join(families)}", file=sys.stderr)
        return 2
    refreshed = {
        "source": f"Azure resource SKUs ({args.skus.name}), via python -m shared.assessment.catalogue",
        "as_of": datetime.now(UTC).date().isoformat(),
        "note": current.get("note", ""),
        "sizes": sizes,
    }
    args.output.write_text(json.dumps(refreshed, indent=2) + "\n", encoding="utf-8")
    print(f"{len(sizes)} sizes in {len(families)} families written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
