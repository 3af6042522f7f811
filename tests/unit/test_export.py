"""Assessment export: one row per assessed VM, CSV safe to open in a spreadsheet, JSON for tools."""

from __future__ import annotations

import csv
import io
import json

from shared.assessment.export import COLUMNS, to_csv, to_json
from tests.conftest import assessed, instance_id, record


def test_csv_has_a_header_and_one_row_per_assessed_vm():
    text = to_csv([assessed(2), record(3), assessed(1)])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(COLUMNS)
    assert [r["instance_id"] for r in rows] == [instance_id(1), instance_id(2)]  # unassessed left out, sorted
    row = rows[0]
    assert (row["vm_size"], row["like_for_like_size"], row["blockers"]) == (
        "Standard_E2s_v5",
        "Standard_D8s_v5",
        "appliance-unreachable",
    )
    assert row["fixes"] == "appliance-unreachable: open 9443"
    assert (
        row["findings"]
        == "appliance-unreachable (blocker): m Fix: open 9443 | cloud-init (warning): m Fix: f"
    )
    assert row["disks"] == "/dev/xvda 30GB gp3->StandardSSD_LRS"


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted():
    text = to_csv([assessed(1, os_name='=HYPERLINK("http://x")')])
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["os"].startswith("'=")


def test_json_carries_the_same_rows_with_lists_kept():
    body = json.loads(to_json([assessed(1), assessed(2, wave="w2")]))
    assert body["count"] == 2
    first = body["assessments"][0]
    assert first["warnings"] == ["cloud-init"] and first["disks"][0]["disk_type"] == "StandardSSD_LRS"
    assert set(first) == set(COLUMNS)
    assert first["findings"][0] == {
        "code": "appliance-unreachable",
        "severity": "blocker",
        "message": "m",
        "fix": "open 9443",
    }
