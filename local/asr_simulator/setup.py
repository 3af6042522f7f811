"""The vault's replication policies and container mappings, as the tutorial's first "Replicate" click
creates them. A vault starts with them (as the app's earlier tests assume) or bare: fabric and
appliance registered, no policy, no mapping, so the app must create both.

Request and answer bodies as a real InMageRcm set-up recorded them (Azure CLI site-recovery
recordings, test_siterecovery_V2A_RCMInMage_scenarios.yaml, seq 9-18, in
../shared/reference/asr-public/recorded/inmagercm.json; classic policy: V2A_CS seq 0). Both PUTs are
answered 202 and the resource shows only once its job has finished; until then a GET is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from local.asr_simulator.model import CLASSIC, RCM, ArmError, Site

MICROSOFT_AZURE = "Microsoft Azure"  # the mapping's target container, as recorded
# What each provider's policy input must carry (the SDK's InMageRcmPolicyCreationInput and
# InMageAzureV2PolicyInput; the recorded bodies carry exactly these).
POLICY_FIELDS = {
    RCM: (
        "recoveryPointHistoryInMinutes",
        "crashConsistentFrequencyInMinutes",
        "appConsistentFrequencyInMinutes",
        "enableMultiVmSync",
    ),
    CLASSIC: (
        "recoveryPointHistory",
        "recoveryPointThresholdInMinutes",
        "crashConsistentFrequencyInMinutes",
        "appConsistentFrequencyInMinutes",
        "multiVmSyncStatus",
    ),
}
PRESET_POLICY = {
    RCM: {
        "recoveryPointHistoryInMinutes": 4320,
        "crashConsistentFrequencyInMinutes": 5,
        "appConsistentFrequencyInMinutes": 0,
        "enableMultiVmSync": "true",
    },
    CLASSIC: {
        "recoveryPointHistory": 4320,
        "recoveryPointThresholdInMinutes": 15,
        "crashConsistentFrequencyInMinutes": 5,
        "appConsistentFrequencyInMinutes": 0,
        "multiVmSyncStatus": "Enable",
    },
}


@dataclass
class PolicyState:
    name: str
    provider: str
    details: dict[str, Any]


@dataclass
class MappingState:
    name: str
    policy: str
    details: dict[str, Any]


@dataclass
class Setup:
    """Policies by name and each fabric's one container mapping (the simulator's sites have one
    container each)."""

    policies: dict[str, PolicyState] = field(default_factory=dict)
    mappings: dict[str, MappingState] = field(default_factory=dict)  # by fabric name

    @classmethod
    def preset(cls, sites: list[Site]) -> Setup:
        setup = cls()
        for site in sites:
            setup.policies[site.policy.lower()] = PolicyState(
                site.policy, site.provider, dict(PRESET_POLICY[site.provider])
            )
            auto = {"instanceType": RCM, "enableAgentAutoUpgrade": "true"} if site.provider == RCM else {}
            setup.mappings[site.fabric.lower()] = MappingState(site.mapping, site.policy, auto)
        return setup

    def policy(self, name: str) -> PolicyState:
        found = self.policies.get(name.lower())
        if found is None:
            raise ArmError(404, "PolicyNotFound", f"Replication policy {name} was not found.")
        return found

    def mapping(self, site: Site) -> MappingState | None:
        return self.mappings.get(site.fabric.lower())

    def mapped_policy(self, site: Site) -> PolicyState | None:
        mapping = self.mapping(site)
        return self.policies.get(mapping.policy.lower()) if mapping else None


def policy_request(name: str, body: dict[str, Any], providers: tuple[str, ...]) -> PolicyState:
    """A policy PUT's body checked as the service would; what it creates."""
    details = dict((body.get("properties") or {}).get("providerSpecificInput") or {})
    provider = str(details.pop("instanceType", ""))
    if provider not in providers:
        raise ArmError(
            400, "InvalidProviderInput", f"providerSpecificInput.instanceType {provider!r} is not served."
        )
    missing = [key for key in POLICY_FIELDS[provider] if details.get(key) in (None, "")]
    if missing:
        raise ArmError(400, "MissingRequiredProperty", f"{', '.join(missing)} required for {provider}.")
    unknown = sorted(set(details) - set(POLICY_FIELDS[provider]))
    if unknown:
        raise ArmError(400, "InvalidRequestContent", f"unknown properties: {', '.join(unknown)}.")
    return PolicyState(name, provider, details)


def mapping_request(
    site: Site, name: str, body: dict[str, Any], setup: Setup, policies_prefix: str
) -> MappingState:
    """A mapping PUT's body checked as the service would; what it creates. `policies_prefix`: the
    vault's `.../replicationPolicies/`."""
    properties = body.get("properties") or {}
    policy_id = str(properties.get("policyId") or "")
    policy_name = policy_id.rstrip("/").rsplit("/", 1)[-1]
    if policy_id.lower() != (policies_prefix + policy_name).lower():
        raise ArmError(400, "PolicyNotFound", "policyId does not name a replication policy of this vault.")
    policy = setup.policy(policy_name)
    if policy.provider != site.provider:
        raise ArmError(
            400, "PolicyProviderMismatch", f"the policy is for {policy.provider}, not {site.provider}."
        )
    if properties.get("targetProtectionContainerId") != MICROSOFT_AZURE:
        raise ArmError(
            400, "InvalidTargetContainer", f"targetProtectionContainerId must be {MICROSOFT_AZURE!r}."
        )
    details = dict(properties.get("providerSpecificInput") or {})
    if details and details.get("instanceType") != site.provider:
        raise ArmError(400, "InvalidProviderInput", f"providerSpecificInput must be {site.provider}.")
    existing = setup.mapping(site)
    if existing is not None and existing.name.lower() != name.lower():
        raise ArmError(409, "ContainerAlreadyMapped", f"the container is already mapped by {existing.name}.")
    return MappingState(name, policy.name, details)
