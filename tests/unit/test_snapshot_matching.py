"""Finding the appliance's machine for an instance: BIOS UUID first (either byte order), then IP, name."""

from __future__ import annotations

from shared.adapters.asr import DiscoveredMachine
from shared.model.facts import Ec2Facts
from shared.reconcile.snapshot import Snapshot, bios_variants

UUID = "ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8"
SWAPPED = "2c1b2aec-4e3d-605f-7182-93a4b5c6d7e8"  # the first three fields little-endian
EC2 = Ec2Facts(
    "i-00000000000000001", "running", {}, private_ip="10.0.0.5", hostname="ip-10-0-0-5.ec2.internal"
)


def machine(name: str, bios: str, ip: str = "10.9.9.9", host: str = "other") -> DiscoveredMachine:
    return DiscoveredMachine(name, bios, (ip,), host, name)


def snapshot(*machines: DiscoveredMachine) -> Snapshot:
    return Snapshot({}, {}, {}, [], list(machines))


def test_bios_uuid_matches_in_either_byte_order_and_wins_over_ip():
    by_ip = machine("by-ip", "ffffffff-0000-0000-0000-000000000000", ip="10.0.0.5")
    found = snapshot(by_ip, machine("by-bios", SWAPPED.upper())).machine_for(EC2, UUID)
    assert found is not None and found.machine_id == "by-bios"


def test_without_a_bios_uuid_ip_then_host_name_decide():
    assert snapshot(machine("m", "", ip="10.0.0.5")).machine_for(EC2, "").machine_id == "m"  # type: ignore[union-attr]
    named = snapshot(machine("n", "", host="IP-10-0-0-5"))
    assert named.machine_for(EC2, "").machine_id == "n"  # type: ignore[union-attr]


def test_an_ambiguous_match_is_no_match():
    twins = snapshot(machine("a", UUID), machine("b", UUID))
    assert twins.machine_for(EC2, UUID) is None  # two machines claim the UUID and neither has the IP
    assert snapshot(machine("a", "", ip="10.0.0.5"), machine("b", "", ip="10.0.0.5")).machine_for(EC2) is None


def test_bios_variants_refuse_what_is_not_a_uuid():
    assert bios_variants("not-a-uuid") == frozenset()
    assert bios_variants("") == frozenset()
    assert bios_variants(UUID) == {UUID.replace("-", ""), SWAPPED.replace("-", "")}
