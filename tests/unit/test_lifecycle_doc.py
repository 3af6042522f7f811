"""docs/lifecycle.md is drawn from the transition table and the retry rules, and kept in step."""

from __future__ import annotations

from shared.core.lifecycle import TRANSITIONS
from shared.core.lifecycle_doc import DOC_PATH, mermaid, render
from shared.model.phases import Phase


def test_the_lifecycle_page_matches_the_code():
    assert DOC_PATH.read_text() == render(), (
        "docs/lifecycle.md is stale: .venv/bin/python -m shared.core.lifecycle_doc --write docs/lifecycle.md"
    )


def test_the_diagram_draws_every_main_path_move_and_names_every_phase():
    diagram = mermaid()
    for source, targets in TRANSITIONS.items():
        for target in targets - {Phase.FAILED, Phase.OPTING_OUT, Phase.OPTED_OUT}:
            if source not in {Phase.FAILED, Phase.PAUSED}:
                assert f"    {source.value} --> {target.value}\n" in diagram
    for phase in Phase:
        assert phase.value in diagram
