"""Every ASR string the core compares with is in docs/asr-strings.md, with its public source."""

from __future__ import annotations

import re
from pathlib import Path

from shared.core import actions, phases

ROOT = Path(__file__).resolve().parents[2]


def strings_the_core_compares() -> set[str]:
    source = Path(phases.__file__).read_text()
    calls = re.findall(r"(?:state_is|allows)\(([^)]*)\)", source)
    found = {s for call in calls for s in re.findall(r'"([A-Za-z]+)"', call)}
    compared = re.findall(r'\.lower\(\) (?:==|in) (\{[^}]*\}|"[a-z]+")', source)
    found |= {s for literal in compared for s in re.findall(r'"([a-z]+)"', literal)}
    found |= {s for names in (phases.REPLICATING_STATES, phases.ENABLE_FAILED_STATES) for s in names}
    found |= {op for gate in actions.GATE.values() for op in gate} | set(actions.JOB_SCENARIO.values())
    return found


def test_every_compared_string_has_a_row_with_its_source():
    table = (ROOT / "docs" / "asr-strings.md").read_text().lower()
    found = strings_the_core_compares()
    assert {"protected", "testfailovercleanup", "commitfailover", "waitingforcompletion"} <= {
        s.lower() for s in found
    }
    missing = sorted(s for s in found if f"`{s.lower()}`" not in table)
    assert missing == [], f"add these to docs/asr-strings.md with a source: {missing}"
