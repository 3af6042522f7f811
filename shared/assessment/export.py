"""Assessments for review: one row per assessed VM, as JSON or as CSV a spreadsheet opens safely.

Used by `GET /api/assessments` and by `python -m shared.app.export`. Cells that a spreadsheet
would run as a formula (starting with = + - @, tab or carriage return) are prefixed with a quote.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from shared.model.records import MigrationRecord

COLUMNS = (
    "instance_id",
    "account_id",
    "region",
    "wave",
    "phase",
    "assessed_at",
    "dry_run",
    "os",
    "vm_name",
    "vm_size",
    "sizing_basis",
    "like_for_like_size",
    "sizing_reason",
    "disk_type",
    "disks",
    "blockers",
    "warnings",
    "notes",
    "fixes",
    "findings",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def rows(records: Iterable[MigrationRecord]) -> list[dict[str, Any]]:
    """Assessed VMs only, sorted by wave then instance id, so two exports compare line by line."""
    assessed = sorted(
        (r for r in records if r.assessment is not None), key=lambda r: (r.wave or "", r.instance_id)
    )
    return [_row(r) for r in assessed]


def _row(record: MigrationRecord) -> dict[str, Any]:
    a = record.assessment
    assert a is not None

    def codes(severity: str) -> list[str]:
        return [c.code for c in a.checks if c.severity == severity]

    return {
        "instance_id": record.instance_id,
        "account_id": record.account_id,
        "region": record.region,
        "wave": record.wave or "",
        "phase": record.phase.value,
        "assessed_at": a.assessed_at.isoformat(),
        "dry_run": a.dry_run,
        "os": a.os_name,
        "vm_name": a.vm_name or "",
        "vm_size": a.vm_size or "",
        "sizing_basis": a.sizing_basis,
        "like_for_like_size": a.like_for_like_size or "",
        "sizing_reason": a.sizing_reason,
        "disk_type": a.disk_type or "",
        "disks": [d.model_dump() for d in a.disks],
        "blockers": codes("blocker"),
        "warnings": codes("warning"),
        "notes": codes("note"),
        "fixes": [f"{c.code}: {c.fix}" for c in a.checks if c.severity == "blocker"],
        "findings": [c.model_dump() for c in a.checks],
    }


def to_json(records: Iterable[MigrationRecord]) -> str:
    found = rows(records)
    return json.dumps({"count": len(found), "assessments": found}, separators=(",", ":"))


def to_csv(records: Iterable[MigrationRecord]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows(records):
        writer.writerow({name: _cell(row[name]) for name in COLUMNS})
    return out.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, list):
        value = " | ".join(_item(v) for v in value)
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def _item(value: Any) -> str:
    """A list entry in one CSV cell: a disk, a whole finding, or a plain string."""
    if not isinstance(value, dict):
        return str(value)
    if "device" in value:
        return f"{value['device']} {value['size_gb']}GB {value['source_type']}->{value['disk_type']}"
    return f"{value['code']} ({value['severity']}): {value['message']} Fix: {value['fix']}"
