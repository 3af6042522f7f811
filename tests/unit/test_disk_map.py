"""EBS volumes matched to the appliance's disks: by the NVMe serial, by size, then by device order;
anything that does not pair off one to one gives the reason instead of a guess."""

from __future__ import annotations

from shared.assessment.disk_map import GIB, disk_layout
from shared.model.facts import ApplianceDisk
from shared.model.records import Assessment, DiskPlan, TargetSettings
from shared.reconcile.snapshot import disk_note, target_disks
from tests.conftest import T0, record


def plan(device: str, size: int, disk_type: str, volume: str = "") -> DiskPlan:
    return DiskPlan(device=device, size_gb=size, source_type="gp3", disk_type=disk_type, volume_id=volume)


def disk(disk_id: str, size: int, name: str = "", lun: int | None = None, path: str = "") -> ApplianceDisk:
    return ApplianceDisk(disk_id, name or disk_id, size * GIB, lun, path)


ROOT = plan("/dev/sda1", 30, "StandardSSD_LRS", "vol-0aaa")
FAST = plan("/dev/sdf", 100, "Premium_LRS", "vol-0bbb")
COLD = plan("/dev/sdg", 500, "Standard_LRS", "vol-0ccc")


def test_distinct_sizes_pair_off_by_size_whatever_the_order():
    found = [disk("d3", 500), disk("d1", 30), disk("d2", 100)]
    layout = disk_layout([ROOT, FAST, COLD], found)
    assert layout.problem == ""
    assert dict(layout.disks) == {"d1": "StandardSSD_LRS", "d2": "Premium_LRS", "d3": "Standard_LRS"}


def test_the_nvme_serial_wins_over_size_and_order():
    twin_a, twin_b = (
        plan("/dev/sdf", 100, "Premium_LRS", "vol-0bbb"),
        plan("/dev/sdg", 100, "Standard_LRS", "vol-0ccc"),
    )
    found = [
        disk("d2", 100, path="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0ccc"),
        disk("d1", 100, path="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0bbb"),
        disk("d0", 30),
    ]
    layout = disk_layout([ROOT, twin_a, twin_b], found)
    assert dict(layout.disks) == {"d0": "StandardSSD_LRS", "d1": "Premium_LRS", "d2": "Standard_LRS"}


def test_equal_sizes_without_serials_follow_device_and_lun_order():
    twin_a, twin_b = plan("/dev/sdf", 100, "Premium_LRS"), plan("/dev/sdg", 100, "Standard_LRS")
    found = [disk("x", 100, lun=2), disk("y", 100, lun=1), disk("r", 30, lun=0)]
    layout = disk_layout([ROOT, twin_b, twin_a], found)
    assert dict(layout.disks) == {"y": "Premium_LRS", "x": "Standard_LRS", "r": "StandardSSD_LRS"}


def test_what_does_not_pair_off_is_a_reason_not_a_guess():
    assert (
        "3 volumes, the appliance sees 2"
        in disk_layout([ROOT, FAST, COLD], [disk("a", 30), disk("b", 100)]).problem
    )
    mismatch = disk_layout([ROOT, FAST], [disk("a", 30), disk("b", 200)])
    assert mismatch.disks == () and "[30, 100] GiB are not the appliance's [30, 200]" in mismatch.problem
    assert "no disks" in disk_layout([ROOT], []).problem
    assert "planned no disks" in disk_layout([], [disk("a", 30)]).problem
    assert "without an id" in disk_layout([ROOT], [disk("", 30)]).problem


def test_the_enabling_reason_says_how_disks_are_typed_and_why_it_falls_back():
    planned = record().evolve(
        assessment=Assessment(assessed_at=T0, guest_checked=True, disks=[ROOT, FAST]),
        target=TargetSettings(disk_type="Premium_LRS"),
    )
    found = (disk("a", 30), disk("b", 100))
    assert disk_note(planned, found) == "each of its 2 disks with its own type"
    assert target_disks(planned, None, found) == (("a", "StandardSSD_LRS"), ("b", "Premium_LRS"))
    short = disk_note(planned, found[:1])
    assert short == "one disk type for all disks (Premium_LRS): EC2 has 2 volumes, the appliance sees 1 disks"
    assert target_disks(planned, None, found[:1]) == ()  # the enable sends disksDefault
