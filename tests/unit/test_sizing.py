"""Right-sizing: instance types x utilisation profiles -> the Azure size a person would pick."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from shared.adapters.cloudwatch import percentile
from shared.assessment.sizing import (
    PREMIUM,
    STANDARD_HDD,
    STANDARD_SSD,
    Catalogue,
    SizingPolicy,
    choose_size,
    load_catalogue,
    plan_disks,
)
from shared.model.facts import Disk, Ec2Facts, InstanceTypeFacts, Utilisation

# EC2 instance types as describe_instance_types reports them (vCPUs, MiB, max NICs).
M5_2XLARGE = InstanceTypeFacts("m5.2xlarge", 8, 32_768, 4)
R5_2XLARGE = InstanceTypeFacts("r5.2xlarge", 8, 65_536, 4)
C5_XLARGE = InstanceTypeFacts("c5.xlarge", 4, 8_192, 4)
T3_LARGE = InstanceTypeFacts("t3.large", 2, 8_192, 3)
BUSY = Utilisation(cpu_p95=70, memory_p95=70, cpu_coverage=1, memory_coverage=1)
IDLE = Utilisation(cpu_p95=10, memory_p95=20, cpu_coverage=1, memory_coverage=1)
CPU_ONLY = Utilisation(cpu_p95=10, cpu_coverage=1)  # no CloudWatch agent: memory is not measured


def vm(data_disks: int = 1, **changes: object) -> Ec2Facts:
    disks = (
        Disk("/dev/xvda", 30, True),
        *(Disk(f"/dev/xvd{chr(98 + n)}", 100, False) for n in range(data_disks)),
    )
    base = Ec2Facts("i-00000000000000001", "running", {"azmigrate:enabled": "true"}, disks=disks)
    return replace(base, **changes)  # type: ignore[arg-type]


def size(
    ec2: Ec2Facts, itype: InstanceTypeFacts | None, util: Utilisation | None, **policy: object
) -> str | None:
    return choose_size(ec2, itype, util, load_catalogue(), SizingPolicy(**policy)).vm_size  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("itype", "util", "expected"),
    [
        (M5_2XLARGE, BUSY, "Standard_D8s_v5"),  # busy: like for like
        (M5_2XLARGE, IDLE, "Standard_E2s_v5"),  # 2 vCPU and 8.3 GiB: the 2-vCPU size with 16 GiB
        (M5_2XLARGE, CPU_ONLY, "Standard_E4s_v5"),  # memory unmeasured stays 32 GiB: it sets the size
        (R5_2XLARGE, Utilisation(cpu_p95=20, cpu_coverage=1), "Standard_E8s_v5"),  # memory forces 8 vCPU
        (C5_XLARGE, BUSY, "Standard_F4s_v2"),  # compute-heavy, little memory: F-series
        (T3_LARGE, None, "Standard_D2s_v5"),  # no metrics at all: as on premises
    ],
)
def test_instance_types_and_profiles_map_to_sizes(itype, util, expected):
    assert size(vm(), itype, util) == expected


def test_a_vm_running_hot_gets_more_than_like_for_like():
    hot = Utilisation(cpu_p95=90, memory_p95=50, cpu_coverage=1, memory_coverage=1)
    result = choose_size(vm(), M5_2XLARGE, hot, load_catalogue(), SizingPolicy(comfort_factor=1.3))
    assert result.like_for_like == "Standard_D8s_v5"
    assert result.vm_size == "Standard_F16s_v2"  # 8 x 90% x 1.3 = 9.4 -> 10 vCPU; 20.8 GiB
    assert "CPU p95 90%" in result.reason


def test_memory_forces_a_bigger_size_than_cpu_does():
    """r5.2xlarge at 20% CPU needs 3 vCPUs, but its 64 GiB (memory not measured) need 8."""
    cpu_bound = size(vm(), replace(R5_2XLARGE, memory_mib=8_192), Utilisation(cpu_p95=20, cpu_coverage=1))
    memory_bound = size(vm(), R5_2XLARGE, Utilisation(cpu_p95=20, cpu_coverage=1))
    catalogue = load_catalogue()
    assert cpu_bound is not None and memory_bound is not None
    cpu_size, memory_size = catalogue.get(cpu_bound), catalogue.get(memory_bound)
    assert cpu_size is not None and memory_size is not None
    assert cpu_size.vcpus == 4 and memory_size.vcpus == 8 and memory_size.memory_gib >= 64


def test_a_disk_count_forces_a_size_with_more_data_disk_slots():
    few, many = size(vm(2), T3_LARGE, CPU_ONLY), size(vm(10), T3_LARGE, CPU_ONLY)
    catalogue = load_catalogue()
    assert few == "Standard_D2s_v5"
    chosen = catalogue.get(many or "")
    assert chosen is not None and chosen.max_data_disks >= 10
    assert many == "Standard_F8s_v2"  # the smallest with 16 data-disk slots and >= 8 GiB


def test_nic_count_and_uefi_generation_narrow_the_choice():
    assert size(vm(nic_count=3), T3_LARGE, None) != "Standard_D2s_v5"  # D2s_v5 takes 2 NICs
    gen1_only = [s for s in load_catalogue().sizes if 1 in s.generations and 2 not in s.generations]
    chosen = size(vm(boot_mode="uefi"), T3_LARGE, None)
    assert chosen not in {s.name for s in gen1_only}


def test_premium_disks_need_a_premium_capable_size():
    io2 = vm(0, disks=(Disk("/dev/xvda", 30, True, "io2", 16_000),))
    chosen = load_catalogue().get(size(io2, T3_LARGE, None) or "")
    assert chosen is not None and chosen.premium_io


def test_too_little_metric_coverage_sizes_as_on_premises_and_says_so():
    sparse = Utilisation(cpu_p95=5, cpu_coverage=0.2)
    result = choose_size(vm(), M5_2XLARGE, sparse, load_catalogue(), SizingPolicy(min_coverage=0.5))
    assert result.basis == "as-on-premises" and result.vm_size == "Standard_D8s_v5"
    assert "not enough CPU metrics" in result.reason and "20%" in result.reason


def test_the_size_tag_always_wins():
    tagged = vm(tags={"azmigrate:enabled": "true", "azmigrate:size": "Standard_M64s"})
    result = choose_size(tagged, M5_2XLARGE, IDLE, load_catalogue(), SizingPolicy())
    assert (result.vm_size, result.basis) == ("Standard_M64s", "tag")
    assert result.like_for_like == "Standard_D8s_v5"


def test_unknown_instance_type_leaves_the_size_to_asr():
    result = choose_size(vm(), None, IDLE, load_catalogue(), SizingPolicy())
    assert result.vm_size is None and result.basis == "none"


def test_nothing_fits_says_what_was_needed():
    huge = InstanceTypeFacts("u-24tb1.112xlarge", 448, 24 * 1024 * 1024, 15)
    result = choose_size(vm(), huge, None, load_catalogue(), SizingPolicy())
    assert result.vm_size is None and "448 vCPU" in result.reason


def two_size_catalogue(tmp_path: Path, **small_size: object) -> Catalogue:
    """A2 (2 vCPU, with `small_size`'s region fields) and B4 (4 vCPU, offered everywhere)."""
    base = {"family": "X", "max_data_disks": 4, "max_nics": 2, "premium_io": True, "generations": [1, 2]}
    sizes = [
        {**base, "name": "A2", "vcpus": 2, "memory_gib": 8, **small_size},
        {**base, "name": "B4", "vcpus": 4, "memory_gib": 16},
    ]
    path = tmp_path / "sizes.json"
    path.write_text(json.dumps({"source": "test", "as_of": "2026-11", "sizes": sizes}))
    return load_catalogue(path)


def region_choice(catalogue: Catalogue, location: str) -> str | None:
    return choose_size(vm(), T3_LARGE, None, catalogue, SizingPolicy(location=location)).vm_size


def test_a_size_restricted_in_the_region_is_skipped(tmp_path):
    catalogue = two_size_catalogue(tmp_path, unavailable_in=["westeurope"])
    assert (region_choice(catalogue, "eastus"), region_choice(catalogue, "westeurope")) == ("A2", "B4")


def test_a_size_offered_only_elsewhere_is_skipped(tmp_path):
    catalogue = two_size_catalogue(tmp_path, locations=["eastus"])
    assert (region_choice(catalogue, "EastUS"), region_choice(catalogue, "westeurope")) == ("A2", "B4")
    assert region_choice(catalogue, "") == "A2"  # no region set: any


def test_a_broken_catalogue_is_a_config_error(tmp_path):
    from shared.errors import ConfigError

    path = tmp_path / "sizes.json"
    path.write_text('{"source": "x", "as_of": "y", "sizes": [{"name": "A2"}]}')
    with pytest.raises(ConfigError, match=r"sizes\.json"):
        load_catalogue(path)


@pytest.mark.parametrize(
    ("volume_type", "iops", "expected"),
    [
        ("gp3", 3_000, STANDARD_SSD),
        ("gp3", 6_000, PREMIUM),
        ("gp2", 300, STANDARD_SSD),
        ("io1", 1_000, PREMIUM),
        ("io2", 64_000, PREMIUM),
        ("st1", 0, STANDARD_HDD),
        ("sc1", 0, STANDARD_HDD),
        ("standard", 0, STANDARD_HDD),
    ],
)
def test_ebs_volume_types_map_to_azure_disk_types(volume_type, iops, expected):
    choices, vm_type = plan_disks([Disk("/dev/xvdf", 100, False, volume_type, iops)])
    assert choices[0].disk_type == expected and vm_type == expected


def test_the_vm_takes_the_highest_tier_any_disk_needs():
    _, vm_type = plan_disks(
        [Disk("/dev/xvda", 30, True, "gp3", 3_000), Disk("/dev/xvdf", 100, False, "io1", 4_000)]
    )
    assert vm_type == PREMIUM


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 95) == 95
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 95) is None


@pytest.mark.parametrize(
    ("days", "period"),
    [(1, 300), (7, 420), (14, 840), (15, 900), (16, 1_200), (21, 1_500), (63, 3_900)],
)
def test_the_sampling_period_is_one_cloudwatch_serves_for_that_lookback(days, period):
    from datetime import timedelta

    from shared.adapters.cloudwatch import sampling_period

    chosen = sampling_period(timedelta(days=days))
    assert chosen == period
    assert chosen % (60 if days <= 15 else 300) == 0 and days * 86_400 / chosen <= 1_440
