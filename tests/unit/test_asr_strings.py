"""Every ASR string the core compares with is in docs/asr-strings.md, with its public source."""

from __future__ import annotations

import re
from pathlib import Path

from shared.core import actions, phases
from shared.model import facts

ROOT = Path(__file__).resolve().parents[2]


def strings_the_core_compares() -> set[str]:
    source = Path(phases.__file__).read_text()
    calls = re.findall(r"(?:state_is|allows)\(([^)]*)\)", source)
    found = {s for call in calls for s in re.findall(r'"([A-Za-z]+)"', call)}
    compared = re.findall(r'\.lower\(\) (?:==|in) (\{[^}]*\}|"[a-z]+")', source)
    found |= {s for literal in compared for s in re.findall(r'"([a-z]+)"', literal)}
    found |= {s for names in (phases.REPLICATING_STATES, phases.ENABLE_FAILED_STATES) for s in names}
    found |= {op for gate in actions.GATE.values() for op in gate} | set(actions.JOB_SCENARIO.values())
    facts_source = Path(facts.__file__).read_text()
    finished = re.search(r"def finished.*?return self\.state\.lower\(\) in (\{[^}]*\})", facts_source, re.S)
    assert finished is not None
    found |= set(re.findall(r'"([a-z]+)"', finished.group(1)))
    return found


def rows_with_a_source() -> list[str]:
    """The table rows of docs/asr-strings.md whose source column (the third cell) is filled."""
    rows = []
    for line in (ROOT / "docs" / "asr-strings.md").read_text().lower().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 3 and cells[2] and not set(cells[2]) <= {"-"}:
            rows.append(line)
    return rows


def test_every_compared_string_has_a_row_with_its_source():
    rows = rows_with_a_source()
    found = strings_the_core_compares()
    assert {"protected", "testfailovercleanup", "commitfailover", "waitingforcompletion"} <= {
        s.lower() for s in found
    }
    missing = sorted(s for s in found if not any(f"`{s.lower()}`" in row for row in rows))
    assert missing == [], f"add these to docs/asr-strings.md with a source: {missing}"
