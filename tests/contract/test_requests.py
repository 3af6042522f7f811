"""What the app sends: every request body of every operation, both providers, against the REST spec."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from local.asr_simulator.spec import spec
from shared.adapters.asr import RCM, Site, enable_input
from tests.contract.drive import (
    BOOT,
    CACHE,
    OPERATIONS,
    PROVIDERS,
    TARGET,
    enable_schema,
    lifecycle,
    simulator,
)
from tests.integration.asr_support import admin

pytestmark = pytest.mark.integration


def mutations(sim: Any) -> list[dict[str, Any]]:
    return [e for e in admin(sim, "/admin/ledger")["entries"] if e["method"] != "GET"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_request_body_conforms_to_the_spec(provider: str):
    with simulator() as sim:
        lifecycle(sim, provider)
        sent = mutations(sim)
    assert {e["path"].rsplit("/", 1)[-1] for e in sent if e["method"] == "POST"} == set(OPERATIONS[1:])
    assert sum(e["method"] == "PUT" for e in sent) == 2
    for entry in sent:
        operation = spec().operation(entry["method"], entry["path"])
        assert operation is not None, f"{entry['method']} {entry['path']} is not in the spec"
        schema = spec().body_schema(operation)
        if schema is not None:
            assert spec().check(schema, entry["body"], request=True) == [], entry["path"]
        assert entry["status"] in spec().statuses(operation)


def test_an_inmagercm_enable_names_its_log_and_boot_diagnostics_accounts():
    with simulator() as sim:
        lifecycle(sim, RCM)
        [first, _] = [e["body"] for e in mutations(sim) if e["method"] == "PUT"]
    details = first["properties"]["providerSpecificDetails"]
    assert details["disksDefault"] == {"diskType": "Premium_LRS", "logStorageAccountId": CACHE}
    assert details["targetBootDiagnosticsStorageAccountId"] == BOOT


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_per_disk_enable_conforms_to_the_spec(provider: str):
    """disksToInclude (InMageRcmDiskInput; classic InMageAzureV2DiskInputDetails), each disk with its
    type and the log storage account, instead of disksDefault."""
    site = Site(provider, "/v", "f", "c", "/v/replicationPolicies/p", "ps", "/site", "mt", "1")
    target = replace(TARGET, disks=(("disk-0", "StandardSSD_LRS"), ("disk-1", "Premium_LRS")))
    body = enable_input(site, "/site/machines/m1", target).as_dict()
    details = body["properties"]["providerSpecificDetails"]
    assert "disksDefault" not in details
    assert details["disksToInclude"] == [
        {"diskId": "disk-0", "diskType": "StandardSSD_LRS", "logStorageAccountId": CACHE},
        {"diskId": "disk-1", "diskType": "Premium_LRS", "logStorageAccountId": CACHE},
    ]
    assert spec().check(enable_schema(), body, request=True) == []


def test_the_checker_refuses_what_the_service_would():
    """The checker itself can fail: an empty required property, a wrong instanceType, an unknown
    enum value and a property the spec does not name are each caught."""
    schema = enable_schema()
    good: dict[str, Any] = {
        "properties": {
            "policyId": "p",
            "providerSpecificDetails": {
                "instanceType": "InMageRcm",
                "fabricDiscoveryMachineId": "m",
                "processServerId": "ps",
                "targetResourceGroupId": "rg",
                "disksDefault": {"diskType": "Standard_LRS", "logStorageAccountId": "cache"},
            },
        }
    }
    assert spec().check(schema, good, request=True) == []
    details: dict[str, Any] = good["properties"]["providerSpecificDetails"]
    cases: dict[str, dict[str, Any]] = {
        "targetResourceGroupId: required": {**details, "targetResourceGroupId": ""},
        "is not one of": {**details, "instanceType": "InMageRcmX"},
        "'Gold' is not one of": {**details, "licenseType": "Gold"},
        "biosId: not in the spec": {**details, "biosId": "x"},
        "logStorageAccountId: required": {**details, "disksDefault": {"diskType": "Standard_LRS"}},
    }
    for problem, broken in cases.items():
        body = {"properties": {**good["properties"], "providerSpecificDetails": broken}}
        found = spec().check(schema, body, request=True)
        assert any(problem in line for line in found), (problem, found)
