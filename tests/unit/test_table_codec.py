from __future__ import annotations

from datetime import timedelta

import pytest

from shared.errors import EntityTooLarge, InvalidInput
from shared.model.phases import Phase
from shared.model.records import ErrorInfo, HistoryEntry, MigrationRecord, PendingAction, TargetSettings
from shared.state.codec import MAX_PROPERTY_CHARS, check_limits, from_entity, nested_fields, to_entity
from tests.conftest import T0, record


def full_record() -> MigrationRecord:
    return record().evolve(
        phase=Phase.ENABLING,
        attempts={"enable_replication": 2},
        pending_action=PendingAction(
            action="enable_replication", attempt_id="a-1", started_at=T0, job_id="job-1"
        ),
        asr_item_name="ec2-i-00000000000000001",
        target=TargetSettings(vm_size="Standard_D2s_v5", subnet_name="default"),
        last_error=ErrorInfo(code="JobFailed", message="boom", retryable=True, at=T0),
        next_attempt_at=T0 + timedelta(minutes=5),
    )


def test_nested_fields_are_the_structured_ones():
    assert nested_fields(MigrationRecord) == {
        "attempts",
        "pending_action",
        "target",
        "last_error",
        "settled_jobs",
        "assessment",
        "waiting_for",
        "replication",
        "outbox",
        "warning",
        "test_checks",
    }
    assert nested_fields(HistoryEntry) == frozenset()


def test_record_round_trips_through_an_entity():
    original = full_record()
    entity = to_entity(original, "shard-01", original.instance_id, in_flight=True)
    assert isinstance(entity["pending_action"], str)  # nested data travels as JSON
    assert entity["phase"] == "enabling"
    assert entity["next_attempt_at"] == original.next_attempt_at  # times stay typed for filters
    assert "asr_job_id" not in entity  # None is an absent property: Table has no nulls
    back = from_entity(MigrationRecord, entity, drop=frozenset({"in_flight"}))
    assert back == original


def test_derived_properties_must_be_dropped_or_the_record_is_refused():
    entity = to_entity(record(), "shard-01", "i-00000000000000001", in_flight=True)
    with pytest.raises(InvalidInput, match="does not match MigrationRecord"):
        from_entity(MigrationRecord, entity)


def test_oversized_nested_data_is_refused_not_cut():
    huge = {f"step_{n:05d}": n for n in range(3_000)}
    with pytest.raises(EntityTooLarge, match="attempts"):
        to_entity(record().evolve(attempts=huge), "shard-01", "x")


def test_oversized_entity_is_refused_before_any_write():
    entry = HistoryEntry(instance_id="i-0123456789abcdef0", at=T0, event="e", actor="a", reason="r")
    entity = to_entity(entry, "p", "r")
    blobs = {f"blob{n}": "z" * (MAX_PROPERTY_CHARS - 10) for n in range(20)}
    with pytest.raises(EntityTooLarge, match="bytes"):
        check_limits({**entity, **blobs})
    with pytest.raises(EntityTooLarge, match="properties"):
        check_limits({**entity, **{f"p{n}": 1 for n in range(260)}})
    with pytest.raises(EntityTooLarge, match="characters"):
        check_limits({**entity, "reason": "z" * (MAX_PROPERTY_CHARS + 1)})
    check_limits({**entity, **dict(list(blobs.items())[:10])})  # about 640 KB: fits


def test_the_largest_assessment_still_fits_one_table_property():
    """Checks and disks are capped in the model so that the JSON stays under 32K characters."""
    from shared.model.records import Assessment, CheckResult, DiskPlan

    longest = "é" * 5_000  # cut to the model's limit; non-ASCII must not grow sixfold as \u escapes
    assessment = Assessment(
        assessed_at=T0,
        guest_checked=True,
        os_name=longest,
        checks=[
            CheckResult(code=f"c{n}", severity="blocker", message=longest, fix=longest) for n in range(25)
        ],
        vm_name="v" * 63,
        vm_size="Standard_E104ids_v5",
        sizing_reason=longest,
        like_for_like_size="Standard_E104ids_v5",
        disk_type="StandardSSD_LRS",
        disks=[
            DiskPlan(
                device="/dev/" + "d" * 59,
                size_gb=32_767,
                source_type="gp3",
                iops=64_000,
                disk_type="Premium_LRS",
            )
            for _ in range(66)
        ],
        bios_uuid="ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8",
    )
    entity = to_entity(full_record().evolve(assessment=assessment), "shard-01", "i-00000000000000001")
    assert len(entity["assessment"]) < 32_000
