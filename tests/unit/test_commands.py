"""The one write path, on the in-memory store: guard, version, timeline and status tag in one place."""

from __future__ import annotations

import pytest

from shared.commands import Commands
from shared.core.actions import Act, Decision, Effect
from shared.errors import CommandRefused, ConcurrencyConflict, ErrorCode, IllegalTransition, RecordNotFound
from shared.model.facts import Ec2Facts
from shared.model.phases import Phase
from shared.state.memory import MemoryStateStore
from tests.conftest import FakeClock, instance_id, record


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tags() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def commands(clock: FakeClock, tags: list[tuple[str, str]]) -> Commands:
    return Commands(
        MemoryStateStore(clock=clock), clock=clock, status=lambda ec2, s: tags.append((ec2.instance_id, s))
    )


def test_a_transition_writes_the_record_once_with_one_timeline_entry(commands: Commands, clock: FakeClock):
    created = commands.take_in(record(), "opt-in tag found")
    assert created is not None
    moved = commands.apply(created, Decision(Phase.PREFLIGHT, "assessing"), now=clock())
    assert (moved.phase, moved.version) == (Phase.PREFLIGHT, 1)
    timeline = commands.store.history(created.instance_id)
    assert [(e.event, e.from_phase, e.to_phase, e.actor) for e in timeline] == [
        ("opted_in", None, Phase.OPTED_IN, "reconciler"),
        ("transition", Phase.OPTED_IN, Phase.PREFLIGHT, "reconciler"),
    ]


def test_a_decision_that_changes_nothing_writes_nothing(commands: Commands, clock: FakeClock):
    created = commands.take_in(record(), "opt-in tag found")
    assert created is not None
    same = commands.apply(created, Decision(Phase.OPTED_IN, "waiting"), now=clock())
    assert same is created and len(commands.store.history(created.instance_id)) == 1


def test_the_guard_refuses_an_illegal_transition_before_any_write(commands: Commands, clock: FakeClock):
    created = commands.take_in(record(), "opt-in tag found")
    assert created is not None
    with pytest.raises(IllegalTransition):
        commands.apply(created, Decision(Phase.DONE, "skip it all"), now=clock())
    assert commands.store.get(created.instance_id) == created


def test_a_stale_record_loses_to_the_writer_before_it(commands: Commands, clock: FakeClock):
    stale = commands.take_in(record(), "opt-in tag found")
    assert stale is not None
    commands.apply(stale, Decision(Phase.PREFLIGHT, "assessing"), now=clock())
    with pytest.raises(ConcurrencyConflict):
        commands.apply(stale, Decision(Phase.OPTED_OUT, "tag removed"), now=clock())
    assert commands.store.get(stale.instance_id).phase is Phase.PREFLIGHT


def test_taking_in_a_known_instance_changes_nothing(commands: Commands):
    assert commands.take_in(record(), "opt-in tag found") is not None
    assert commands.take_in(record().evolve(wave="other"), "again") is None
    assert commands.store.get(instance_id(1)).wave == "wave1"


def test_approval_is_recorded_with_its_actor_and_refused_once_cutover_began(
    commands: Commands, clock: FakeClock
):
    created = commands.take_in(record(), "opt-in tag found")
    assert created is not None
    clock.advance(30)
    approved, changed = commands.approve(created.instance_id, actor="api", reason="approved through the API")
    assert changed and approved.cutover_approved_at == clock()
    assert commands.store.history(created.instance_id)[-1].actor == "api"
    commands.store.update(approved.evolve(phase=Phase.MIGRATING))
    with pytest.raises(CommandRefused) as refused:
        commands.approve(created.instance_id, actor="api", reason="too late")
    assert refused.value.code is ErrorCode.NOT_APPROVABLE and refused.value.http_status == 409
    with pytest.raises(RecordNotFound):
        commands.approve(instance_id(9), actor="api", reason="nobody")


def test_the_status_tag_follows_the_phase_and_the_error_code(commands, clock, tags):
    created = commands.take_in(record(), "opt-in tag found")
    shown = Ec2Facts(created.instance_id, "running", {"azmigrate:status": "opted_in"})
    commands.sync_status(created, shown)
    assert tags == []  # already shown: no write
    preflight = commands.apply(created, Decision(Phase.PREFLIGHT, "assessing"), now=clock())
    blocked = commands.apply(
        preflight, Decision(Phase.BLOCKED, "blocked", error=("amazon-linux", "not supported")), now=clock()
    )
    commands.sync_status(blocked, shown)
    commands.sync_status(blocked, None)  # the instance is gone: nothing to tag
    assert tags == [(created.instance_id, "blocked: amazon-linux")]


def test_an_effect_completes_its_intent_with_the_job_id(commands: Commands, clock: FakeClock):
    created = commands.take_in(record().evolve(phase=Phase.QUEUED), "queued")
    assert created is not None
    intent = commands.apply(
        created, Decision(Phase.ENABLING, "admitted", (Act.ENABLE_REPLICATION,)), now=clock()
    )
    assert intent.pending_action is not None and intent.pending_action.job_id is None
    done = commands.record_effect(intent, Act.ENABLE_REPLICATION, Effect(operation_id="op-1"))
    assert done.pending_action is not None and done.pending_action.operation_id == "op-1"
    assert commands.store.history(created.instance_id)[-1].job_id == "op-1"
    stopped = commands.apply(done, Decision(Phase.ENABLING, "x", (Act.STOP_SOURCE,)), now=clock())
    assert commands.record_effect(stopped, Act.STOP_SOURCE, Effect()) is stopped  # nothing to track


def test_events_and_watermarks_are_written_here_too(commands: Commands, clock: FakeClock):
    assert commands.receive_event("aws.ec2-events", "e1", "sha") is True
    assert commands.receive_event("aws.ec2-events", "e1", "sha") is False
    mark = commands.move_watermark("asr-jobs", clock(), None)
    assert commands.store.watermark("asr-jobs") == mark
    clock.advance(3 * 24 * 3600)
    assert commands.forget_stale_events() == 1


class Crash(BaseException):
    """The process dies here (not an error anyone catches)."""


def test_a_crash_between_the_write_and_the_publish_still_gives_one_event_per_transition(clock: FakeClock):
    from shared.commands import EventsOut
    from shared.model.records import OutboxEvent

    store = MemoryStateStore(clock=clock)
    published: list[OutboxEvent] = []

    def crash(events: list[OutboxEvent]) -> None:
        raise Crash

    dying = Commands(store, clock=clock, events=EventsOut("com.contoso", crash))
    created = dying.take_in(record(), "opt-in tag found")
    assert created is not None
    with pytest.raises(Crash):  # written, then the process dies before the topic hears of it
        dying.apply(created, Decision(Phase.PREFLIGHT, "assessing"), now=clock())
    kept = store.get(created.instance_id)
    assert kept.phase is Phase.PREFLIGHT and [e.type for e in kept.outbox] == ["com.contoso.phase.changed"]
    restarted = Commands(store, clock=clock, events=EventsOut("com.contoso", published.extend))
    drained = restarted.flush(kept)  # the next pass, in another process, publishes first
    first = f"{created.instance_id}-{created.version + 1}-phase.changed"  # the version the move wrote
    assert [e.id for e in published] == [first] and drained.outbox == []
    assert restarted.flush(drained) is drained and len(published) == 1  # nothing twice
    moved = restarted.apply(drained, Decision(Phase.AGENT_INSTALL, "checks passed"), now=clock())
    assert [e.id for e in published] == [first, f"{created.instance_id}-{drained.version + 1}-phase.changed"]
    assert moved.outbox == []
