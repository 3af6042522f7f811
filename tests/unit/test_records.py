from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from shared.model.phases import TERMINAL_PHASES, Phase
from shared.model.records import MAX_ERROR_CHARS, ErrorInfo, HistoryEntry, MigrationRecord, truncate_text
from tests.conftest import T0, record


def test_new_record_starts_opted_in_and_in_flight():
    fresh = record()
    assert fresh.phase is Phase.OPTED_IN
    assert not fresh.phase.is_terminal
    assert fresh.version == 0 and fresh.etag is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("instance_id", "i-123"),
        ("instance_id", "vm-0123456789abcdef0"),
        ("instance_id", "i-0123456789ABCDEF0"),
        ("account_id", "12345"),
        ("region", "mars"),
        ("wave", "wave one"),
        ("phase", "teleporting"),
        ("phase_entered_at", datetime(2026, 1, 1)),  # naive times are ambiguous: refused
    ],
)
def test_invalid_fields_are_refused(field, value):
    data = record().model_dump()
    data[field] = value
    with pytest.raises(ValidationError) as error:
        MigrationRecord.model_validate(data)
    assert field in str(error.value)


def test_evolve_validates_where_model_copy_does_not():
    with pytest.raises(ValidationError):
        record().evolve(phase="teleporting")
    assert record().evolve(phase="preflight").phase is Phase.PREFLIGHT


def test_evolve_keeps_the_etag_unless_told_otherwise():
    read = record().evolve(etag='W/"1"')
    assert read.evolve(phase="preflight").etag == 'W/"1"'
    assert read.evolve(etag='W/"2"').etag == 'W/"2"'


def test_etag_is_never_part_of_the_data():
    assert "etag" not in record().evolve(etag='W/"1"').model_dump()


def test_times_are_normalised_to_utc():
    plus_two = timezone(timedelta(hours=2))
    moved = record().evolve(phase_entered_at=datetime(2026, 1, 1, 14, 0, tzinfo=plus_two))
    assert moved.phase_entered_at.utcoffset() == timedelta(0)
    assert moved.phase_entered_at.hour == 12


def test_long_error_text_is_truncated_with_a_marker():
    info = ErrorInfo(code="JobFailed", message="x" * 50_000, retryable=False, at=T0)
    assert len(info.message) == MAX_ERROR_CHARS
    assert info.message.endswith("…[truncated 46024 chars]")
    assert info.message.count("x") + 46_024 == 50_000


@pytest.mark.parametrize(("length", "limit"), [(0, 10), (10, 10), (11, 40), (1000, 40), (100, 5)])
def test_truncate_text_never_exceeds_its_limit(length, limit):
    text = "y" * length
    cut = truncate_text(text, limit)
    assert len(cut) <= limit
    if length <= limit:
        assert cut == text
    elif limit >= 30:
        assert cut.endswith(f"[truncated {length - cut.count('y')} chars]")


def test_history_entry_needs_an_actor_and_a_valid_instance():
    with pytest.raises(ValidationError):
        HistoryEntry(instance_id="nope", at=T0, event="transition", actor="reconciler")
    with pytest.raises(ValidationError):
        HistoryEntry(instance_id="i-0123456789abcdef0", at=T0, event="transition", actor="")


def test_terminal_phases_are_done_and_opted_out_only():
    assert frozenset({Phase.DONE, Phase.OPTED_OUT}) == TERMINAL_PHASES
    assert not Phase.FAILED.is_terminal and not Phase.BLOCKED.is_terminal
