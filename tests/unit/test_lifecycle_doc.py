"""docs/lifecycle.md is drawn from the transition table and the retry rules, and kept in step."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.core.decide import decide
from shared.core.lifecycle import (
    INSTANT,
    OWN_TIMEOUT,
    PHASE_DEADLINES,
    TRANSITIONS,
    WAITS_FOR_PEOPLE,
    deadline_exit,
)
from shared.core.lifecycle_doc import DOC_PATH, mermaid, render
from shared.model.facts import Facts, ItemFacts, Policy
from shared.model.phases import TERMINAL_PHASES, Phase
from shared.model.records import PendingAction
from tests.conftest import T0, record


def test_the_lifecycle_page_matches_the_code():
    assert DOC_PATH.read_text() == render(), (
        "docs/lifecycle.md is stale: .venv/bin/python -m shared.core.lifecycle_doc --write docs/lifecycle.md"
    )


def test_the_diagram_draws_every_main_path_move_and_names_every_phase():
    diagram = mermaid()
    for source, targets in TRANSITIONS.items():
        for target in targets - {Phase.FAILED, Phase.PAUSED, Phase.OPTING_OUT, Phase.OPTED_OUT}:
            if source not in {Phase.FAILED, Phase.PAUSED}:
                assert f"    {source.value} --> {target.value}\n" in diagram
        if Phase.PAUSED in targets:  # drawn as the paused note's list
            note = diagram.split("note right of paused\n", 1)[1].split("end note", 1)[0]
            assert source.value in note
    for phase in Phase:
        assert phase.value in diagram


def test_every_phase_waits_with_an_end_or_for_a_person_or_not_at_all():
    """A property of the transition table: no phase can wait on the clouds without a deadline."""
    waiting = set(PHASE_DEADLINES) | OWN_TIMEOUT
    kinds = [waiting, WAITS_FOR_PEOPLE, INSTANT, TERMINAL_PHASES]
    for phase in Phase:
        assert sum(phase in kind for kind in kinds) == 1, phase
    for phase in waiting:
        assert deadline_exit(phase) in TRANSITIONS[phase] or phase in OWN_TIMEOUT


@pytest.mark.parametrize("phase", [p for p in Phase if p in PHASE_DEADLINES])
def test_a_phase_past_its_deadline_leaves_with_the_reason_whatever_it_waited_for(phase):
    from tests.unit.decide_world import ec2_facts

    entered = T0 - PHASE_DEADLINES[phase] - timedelta(seconds=1)
    pending = PendingAction(action="stop_source", attempt_id="a", started_at=entered, done_at=entered)
    stuck = record().evolve(phase=phase, phase_entered_at=entered, pending_action=pending)
    item = ItemFacts("azmigrate-i-1", "SomethingNew", frozenset())
    decision = decide(stuck, Facts(ec2=ec2_facts(), item=item), Policy(), T0)
    assert decision.next_phase is deadline_exit(phase)
    assert decision.error is not None and decision.error[0] == "PhaseDeadline"
    on_time = decide(stuck.evolve(phase_entered_at=T0), Facts(ec2=ec2_facts(), item=item), Policy(), T0)
    assert on_time.error is None or on_time.error[0] != "PhaseDeadline"
