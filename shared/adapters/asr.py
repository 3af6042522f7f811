"""Azure Site Recovery through the real SDK: both replication providers behind one interface.

Reads are bulk (one paged list of the vault's items, one of jobs since a time, one of discovered
machines). An action never waits on a poller: it returns what it left to track, the operation id of
a 202's Azure-AsyncOperation (`.../replicationOperationStatus/{opId}`), or nothing to track when the
service answered 200 or 204 (done at once, as the spec allows). The operation id is not taken for the
job's name: the reconciler finds the job among the item's jobs (which name the item by its internal
GUID and friendly name), or reads the operation's status while no job shows.

Every ASR string the app relies on, with its public source: docs/asr-strings.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from azure.core.rest import HttpRequest
from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient
from azure.mgmt.recoveryservicessiterecovery import models as asr

from shared.adapters.azure_http import arm_errors
from shared.errors import ActionRefused, CloudUnavailable, InvalidInput
from shared.model.facts import ApplianceDisk, ItemFacts, JobFacts
from shared.model.records import HealthIssue

RCM, CLASSIC = "InMageRcm", "InMageAzureV2"
ASR_API_VERSION = "2025-08-01"  # the SDK's (azure-mgmt-recoveryservicessiterecovery 2.0.0)
OFFAZURE_API_VERSION = "2023-06-06"


ITEM_PREFIX = "azmigrate-"


def item_name_for(instance_id: str) -> str:
    """Deterministic, so a repeated enable finds its twin instead of creating a second item."""
    return f"{ITEM_PREFIX}{instance_id}"


@dataclass(frozen=True)
class Site:
    provider: str
    vault_id: str  # the vault's ARM id, as the fabric's id names it
    fabric: str
    container: str
    policy_id: str
    process_server_id: str
    physical_site_id: str | None = None  # InMageRcm
    # policy_id above is "" while the container has no mapping (a new project: see `next_setup`)
    master_target_id: str | None = None  # classic
    run_as_account_id: str | None = None  # classic


@dataclass(frozen=True)
class DiscoveredMachine:
    machine_id: str  # InMageRcm: the OffAzure machine ID; classic: the protectable item ID
    bios_id: str  # InMageRcm: biosGuid (lower case); classic: the agent's generated id
    ip_addresses: tuple[str, ...]
    fqdn: str  # InMageRcm: fqdn, hydratedFqdn or (VMware sites) vmFqdn
    display_name: str
    disks: tuple[ApplianceDisk, ...] = ()


@dataclass(frozen=True)
class ReplicationSettings:
    """The replication policy and container mapping the app creates in a new project, as the
    tutorial's first "Replicate" does. Defaults as a real InMageRcm set-up recorded them (Azure CLI
    site-recovery recording test_siterecovery_V2A_RCMInMage_scenarios.yaml, seq 9 and 15)."""

    history_minutes: int = 1440
    crash_consistent_minutes: int = 5
    app_consistent_minutes: int = 0  # 0: no app-consistent points
    multi_vm_sync: bool = True
    agent_auto_upgrade: bool = True


@dataclass(frozen=True)
class SetupStep:
    """One PUT the vault's set-up still needs: the policy, or the container mapping."""

    kind: str  # policy | mapping
    what: str  # for people: "creating the replication policy ..."
    resource_id: str
    body: dict[str, Any]


# The classic policy's RPO threshold, as its recorded body (V2A_CS recording, seq 0) sets it.
CLASSIC_RPO_THRESHOLD_MINUTES = 10


@dataclass(frozen=True)
class Target:
    vm_name: str
    resource_group_id: str
    network_id: str
    subnet_name: str
    test_network_id: str
    vm_size: str | None = None
    disk_type: str = "Standard_LRS"
    license_type: str | None = None
    log_storage_account_id: str | None = None  # InMageRcm: required (the spec's disksDefault)
    boot_diagnostics_account_id: str | None = None
    disks: tuple[tuple[str, str], ...] = ()  # (appliance disk id, disk type); () = disk_type for all


@dataclass(frozen=True)
class Submitted:
    """What an accepted action left to track: its operation id, or None when it was done at once."""

    operation_id: str | None
    status: int


class AsrAdapter:
    def __init__(
        self, client: SiteRecoveryManagementClient, resource_group: str, vault: str, provider: str
    ) -> None:
        if provider not in (RCM, CLASSIC):
            raise ValueError(f"provider must be {RCM} or {CLASSIC}")
        self._client, self._rg, self._vault, self.provider = client, resource_group, vault, provider
        self._site: Site | None = None

    # --- reads -----------------------------------------------------------------------------------

    def site(self) -> Site:
        """The provider's fabric, container, policy and servers; read once per adapter."""
        if self._site is None:
            with _translated("reading the vault's fabrics"):
                self._site = self._read_site()
        return self._site

    def _read_site(self) -> Site:
        kind = "InMageRcm" if self.provider == RCM else "VMware"
        fabric = next(
            (
                f
                for f in self._client.replication_fabrics.list(self._rg, self._vault)
                if _get(f, "properties", "custom_details", "instance_type") == kind
            ),
            None,
        )
        if fabric is None or fabric.name is None:
            raise ActionRefused(
                "FabricNotFound", f"the vault {self._vault} has no {kind} fabric (replication appliance)"
            )
        details: Any = fabric.properties.custom_details  # type: ignore[union-attr]
        container = next(
            iter(
                self._client.replication_protection_containers.list_by_replication_fabrics(
                    self._rg, self._vault, fabric.name
                )
            )
        )
        mapping = next(
            iter(
                self._client.replication_protection_container_mappings.list_by_replication_protection_containers(
                    self._rg, self._vault, fabric.name, str(container.name)
                )
            ),
            None,
        )
        servers = details.process_servers or []
        if not servers:
            raise ActionRefused(
                "ProcessServerNotFound", "the replication appliance reports no process server"
            )
        common = {
            "provider": self.provider,
            "vault_id": str(fabric.id).split("/replicationFabrics/", 1)[0],
            "fabric": fabric.name,
            "container": str(container.name),
            "policy_id": str(_get(mapping, "properties", "policy_id") or ""),
            "process_server_id": str(servers[0].id),
        }
        if self.provider == RCM:
            return Site(**common, physical_site_id=details.physical_site_id)
        return Site(
            **common,
            master_target_id=str(details.master_target_servers[0].id),
            run_as_account_id=str(details.run_as_accounts[0].account_id) if details.run_as_accounts else None,
        )

    def next_setup(self, wanted: ReplicationSettings) -> SetupStep | None:
        """What the vault lacks next (the policy, then the mapping, by deterministic names); None once
        the provider's container is mapped."""
        with _translated("reading the vault's set-up"):
            site = self._read_site()
            if site.policy_id:
                self._site = site
                return None
            short = "rcm" if self.provider == RCM else "classic"
            policy_name, mapping_name = f"azmigrate-{short}-policy", f"azmigrate-{short}-mapping"
            policy_id = f"{site.vault_id}/replicationPolicies/{policy_name}"
            found = self._client.send_request(
                HttpRequest("GET", f"{policy_id}?api-version={ASR_API_VERSION}")
            )
            if found.status_code == 404:
                what = f"creating the replication policy {policy_name}"
                return SetupStep("policy", what, policy_id, policy_body(self.provider, wanted))
            found.raise_for_status()
            details = (found.json().get("properties") or {}).get("providerSpecificDetails") or {}
            kind = details.get("instanceType")
            if kind != self.provider:
                mismatch = f"the vault's policy {policy_name} is for {kind}, not {self.provider}"
                raise ActionRefused("PolicyProviderMismatch", mismatch)
            container = f"replicationFabrics/{site.fabric}/replicationProtectionContainers/{site.container}"
            mapping_id = f"{site.vault_id}/{container}/replicationProtectionContainerMappings/{mapping_name}"
            what = f"mapping the protection container {site.container} to {policy_name}"
            return SetupStep("mapping", what, mapping_id, mapping_body(self.provider, policy_id, wanted))

    def send_setup(self, step: SetupStep) -> None:
        """A set-up PUT (202: done later). A 409 means the same resource is being created (a call
        before ours): a later read sees it."""
        url = f"{step.resource_id}?api-version={ASR_API_VERSION}"
        with _translated(step.what):
            response = self._client.send_request(HttpRequest("PUT", url, json=step.body))
            if response.status_code != 409:
                response.raise_for_status()

    def items(self) -> dict[str, ItemFacts]:
        """Every protected item of the vault, by name: one paged list (ReplicationProtectedItems_List),
        whatever the fleet size. Read as JSON: the SDK's models cost milliseconds per item, which at
        thousands of items per pass was most of a pass's CPU."""
        url = f"{self.site().vault_id}/replicationProtectedItems?api-version={ASR_API_VERSION}"
        with _translated("listing protected items"):
            pages = _pages(lambda link: self._client.send_request(HttpRequest("GET", link)), url)
            return {
                str(body.get("name")): item_facts(body) for page in pages for body in page.get("value") or []
            }

    def item(self, name: str) -> ItemFacts | None:
        """One protected item by its name (ReplicationProtectedItems_Get); None when there is none."""
        site = self.site()
        container = f"replicationFabrics/{site.fabric}/replicationProtectionContainers/{site.container}"
        url = f"{site.vault_id}/{container}/replicationProtectedItems/{name}?api-version={ASR_API_VERSION}"
        with _translated(f"reading protected item {name}"):
            response = self._client.send_request(HttpRequest("GET", url))
            if response.status_code == 404:
                return None
            response.raise_for_status()
        return item_facts(response.json())

    def jobs_since(self, since: datetime) -> list[JobFacts]:
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
        with _translated("listing jobs"):
            jobs = list(
                self._client.replication_jobs.list(self._rg, self._vault, filter=f"startTime eq '{stamp}'")
            )
        return [job_facts(job) for job in jobs]

    def operation(self, operation_id: str, scenario: str) -> JobFacts | None:
        """An operation's status as a stand-in for its job (`scenario`) while the job is not listed;
        None when the service no longer knows the operation."""
        status = f"replicationOperationStatus/{operation_id}?api-version={ASR_API_VERSION}"
        url = f"{self.site().vault_id}/{status}"
        with _translated("reading an operation's status"):
            response = self._client.send_request(HttpRequest("GET", url))
            if response.status_code == 404:
                return None
            response.raise_for_status()
        return operation_facts(response.json(), scenario)

    def discovered(self) -> list[DiscoveredMachine]:
        """Machines whose agent registered with the appliance: candidates for replication."""
        site = self.site()
        with _translated("listing discovered machines"):
            return self._discovered_rcm(site) if self.provider == RCM else self._discovered_classic(site)

    def _discovered_rcm(self, site: Site) -> list[DiscoveredMachine]:
        url = f"{site.physical_site_id}/machines?api-version={OFFAZURE_API_VERSION}"
        found = []
        for page in _pages(lambda link: self._client.send_request(HttpRequest("GET", link)), url):
            found += [discovered_machine(machine) for machine in page.get("value") or []]
        return found

    def _discovered_classic(self, site: Site) -> list[DiscoveredMachine]:
        items = self._client.replication_protectable_items.list_by_replication_protection_containers(
            self._rg, self._vault, site.fabric, site.container
        )
        found = []
        for item in items:
            details: Any = _get(item, "properties", "custom_details")
            if details is None or str(getattr(details, "agent_installed", "")).lower() != "true":
                continue
            found.append(
                DiscoveredMachine(
                    str(item.id),
                    str(details.agent_generated_id or item.name).lower(),
                    (str(details.ip_address),) if details.ip_address else (),
                    "",
                    str(_get(item, "properties", "friendly_name") or ""),
                    tuple(
                        ApplianceDisk(
                            str(d.disk_id or ""),
                            str(d.disk_name or ""),
                            int(float(d.disk_size_in_mb or 0) * 1024 * 1024),
                        )
                        for d in details.disk_details or []
                    ),
                )
            )
        return found

    # --- actions: each returns what it left to track ---------------------------------------------

    def enable(self, item_name: str, machine: DiscoveredMachine, target: Target) -> Submitted:
        site = self.site()
        if not site.policy_id:  # read before the vault was set up: look again
            self._site = None
            site = self.site()
        if not site.policy_id:
            raise CloudUnavailable(
                "enabling replication: the vault's container has no replication policy yet"
            )
        return self._act(
            "enabling replication",
            lambda **kw: self._client.replication_protected_items.begin_create(
                self._rg,
                self._vault,
                site.fabric,
                site.container,
                item_name,
                enable_input(site, machine.machine_id, target),
                polling=False,
                **kw,
            ),
        )

    def test_failover(self, item_name: str, test_network_id: str) -> Submitted:
        specific: Any = (
            asr.InMageRcmTestFailoverInput(network_id=test_network_id)
            if self.provider == RCM
            else asr.InMageAzureV2TestFailoverInput()
        )
        body = asr.TestFailoverInput(
            properties=asr.TestFailoverInputProperties(
                failover_direction="PrimaryToRecovery",
                network_type="VmNetworkAsInput",
                network_id=test_network_id,
                provider_specific_details=specific,
            )
        )
        return self._item_action("test migration", item_name, "begin_test_failover", body)

    def test_failover_cleanup(self, item_name: str) -> Submitted:
        body = asr.TestFailoverCleanupInput(
            properties=asr.TestFailoverCleanupInputProperties(
                comments="Test migration validated by Migration Autopilot"
            )
        )
        return self._item_action("test migration cleanup", item_name, "begin_test_failover_cleanup", body)

    def unplanned_failover(self, item_name: str) -> Submitted:
        specific: Any = (
            asr.InMageRcmUnplannedFailoverInput(perform_shutdown="false")
            if self.provider == RCM
            else asr.InMageAzureV2UnplannedFailoverInput()
        )
        body = asr.UnplannedFailoverInput(
            properties=asr.UnplannedFailoverInputProperties(
                failover_direction="PrimaryToRecovery",
                source_site_operations="NotRequired",
                provider_specific_details=specific,
            )
        )
        return self._item_action("migration", item_name, "begin_unplanned_failover", body)

    def commit(self, item_name: str) -> Submitted:
        return self._item_action("commit", item_name, "begin_failover_commit", None)

    def remove(self, item_name: str, *, migration_complete: bool) -> Submitted:
        reason = "MigrationComplete" if migration_complete else "NotSpecified"
        body = asr.DisableProtectionInput(
            properties=asr.DisableProtectionInputProperties(disable_protection_reason=reason)
        )
        return self._item_action("stopping replication", item_name, "begin_delete", body)

    def _item_action(self, what: str, item_name: str, method: str, body: Any) -> Submitted:
        site = self.site()
        operation = getattr(self._client.replication_protected_items, method)
        args = (self._rg, self._vault, site.fabric, site.container, item_name) + (
            (body,) if body is not None else ()
        )
        return self._act(what, lambda **kw: operation(*args, polling=False, **kw))

    def _act(self, what: str, call: Callable[..., Any]) -> Submitted:
        """Sends the action; returns its operation id from a 202, or nothing to track after a 200 or
        204 (the spec's "done at once"). Never waits for the job."""
        answer: dict[str, Any] = {}

        def keep_answer(response: Any) -> None:
            if response.http_request.method != "GET":
                answer["status"] = response.http_response.status_code
                answer["headers"] = dict(response.http_response.headers)

        with _translated(what):
            call(raw_response_hook=keep_answer)
        status = int(answer.get("status", 0))
        if status in (200, 201, 204):
            return Submitted(None, status)
        operation_id = operation_id_of(answer.get("headers", {}))
        if not operation_id:
            raise CloudUnavailable(f"{what}: ASR accepted the request ({status}) but named no operation")
        return Submitted(operation_id, status)


def policy_body(provider: str, wanted: ReplicationSettings) -> dict[str, Any]:
    """A policy PUT's body as recorded (InMageRcm: V2A_RCMInMage seq 9; classic: V2A_CS seq 0)."""
    common = {
        "crashConsistentFrequencyInMinutes": wanted.crash_consistent_minutes,
        "appConsistentFrequencyInMinutes": wanted.app_consistent_minutes,
    }
    if provider == RCM:
        specific: dict[str, Any] = {
            "instanceType": RCM,
            "recoveryPointHistoryInMinutes": wanted.history_minutes,
            "enableMultiVmSync": "true" if wanted.multi_vm_sync else "false",
        }
    else:
        specific = {
            "instanceType": CLASSIC,
            "recoveryPointHistory": wanted.history_minutes,
            "recoveryPointThresholdInMinutes": CLASSIC_RPO_THRESHOLD_MINUTES,
            "multiVmSyncStatus": "Enable" if wanted.multi_vm_sync else "Disable",
        }
    return {"properties": {"providerSpecificInput": {**specific, **common}}}


def mapping_body(provider: str, policy_id: str, wanted: ReplicationSettings) -> dict[str, Any]:
    """A container mapping PUT's body as recorded (InMageRcm: V2A_RCMInMage seq 15). Classic sends
    no provider input (unconfirmed: no classic mapping was recorded; the SDK has no classic input)."""
    properties: dict[str, Any] = {"policyId": policy_id, "targetProtectionContainerId": "Microsoft Azure"}
    if provider == RCM:
        upgrade = "true" if wanted.agent_auto_upgrade else "false"
        properties["providerSpecificInput"] = {"instanceType": RCM, "enableAgentAutoUpgrade": upgrade}
    return {"properties": properties}


def enable_input(site: Site, machine_id: str, target: Target) -> asr.EnableProtectionInput:
    """The enable-replication body for the site's provider. InMageRcm: as a real client's recorded
    body (tests/contract), with the log storage account the spec requires."""
    details: Any
    if site.provider == RCM:
        if not target.log_storage_account_id:  # settings refuse this at start-up; never send ""
            raise InvalidInput("InMageRcm needs a log storage account (AZMIGRATE_LOG_STORAGE_ACCOUNT_ID)")
        details = asr.InMageRcmEnableProtectionInput(
            fabric_discovery_machine_id=machine_id,
            process_server_id=site.process_server_id,
            target_resource_group_id=target.resource_group_id,
            target_network_id=target.network_id,
            target_subnet_name=target.subnet_name,
            test_network_id=target.test_network_id,
            test_subnet_name=target.subnet_name,
            target_vm_name=target.vm_name,
            target_vm_size=target.vm_size,
            license_type=target.license_type,
            target_boot_diagnostics_storage_account_id=target.boot_diagnostics_account_id,
        )
        if target.disks:  # each disk its own type (the SDK's InMageRcmDiskInput)
            details.disks_to_include = [
                asr.InMageRcmDiskInput(
                    disk_id=disk_id, disk_type=disk_type, log_storage_account_id=target.log_storage_account_id
                )
                for disk_id, disk_type in target.disks
            ]
        else:
            details.disks_default = asr.InMageRcmDisksDefaultInput(
                disk_type=target.disk_type, log_storage_account_id=target.log_storage_account_id
            )
    else:
        details = asr.InMageAzureV2EnableProtectionInput(
            process_server_id=site.process_server_id,
            master_target_id=site.master_target_id,
            run_as_account_id=site.run_as_account_id,
            target_azure_v2_resource_group_id=target.resource_group_id,
            target_azure_network_id=target.network_id,
            target_azure_subnet_id=f"{target.network_id}/subnets/{target.subnet_name}",
            target_azure_vm_name=target.vm_name,
            target_vm_size=target.vm_size,
            disk_type=target.disk_type,
            log_storage_account_id=target.log_storage_account_id,
            license_type=target.license_type,
            disks_to_include=[
                asr.InMageAzureV2DiskInputDetails(
                    disk_id=disk_id, disk_type=disk_type, log_storage_account_id=target.log_storage_account_id
                )
                for disk_id, disk_type in target.disks
            ]
            or None,
        )
    properties = asr.EnableProtectionInputProperties(
        policy_id=site.policy_id, provider_specific_details=details
    )
    if site.provider == CLASSIC:
        properties.protectable_item_id = machine_id
    return asr.EnableProtectionInput(properties=properties)


def _translated(what: str) -> contextlib.AbstractContextManager[None]:
    return arm_errors(what, "Site Recovery")


def _pages(get: Callable[[str], Any], first: str) -> Iterator[dict[str, Any]]:
    link: str | None = first
    while link:
        response = get(link)
        response.raise_for_status()
        page = response.json()
        yield page
        link = page.get("nextLink")


def _get(model: Any, *path: str) -> Any:
    for name in path:
        model = getattr(model, name, None) if model is not None else None
    return model


def item_facts(item: Mapping[str, Any]) -> ItemFacts:
    """A protected item's facts from its REST JSON (as recorded traffic shows it)."""
    props: Mapping[str, Any] = item.get("properties") or {}
    details: Mapping[str, Any] = props.get("providerSpecificDetails") or {}
    progress = details.get("initialReplicationProgressPercentage")
    if progress is None:
        progress = details.get("resyncProgressPercentage")
    scenario: Mapping[str, Any] = props.get("currentScenario") or {}
    raw_job = scenario.get("jobId")
    job_id = str(raw_job).rstrip("/").rsplit("/", 1)[-1] if raw_job else None
    # InMageRcm: internalIdentifier (recorded as its jobs' targetObjectId); classic: vmId (unconfirmed).
    internal = details.get("internalIdentifier") or details.get("vmId")
    return ItemFacts(
        name=str(item.get("name") or ""),
        protection_state=str(props.get("protectionState") or ""),
        allowed_operations=frozenset(str(op).lower() for op in props.get("allowedOperations") or []),
        test_failover_state=str(props.get("testFailoverState") or "None"),
        active_location=str(props.get("activeLocation") or "Primary"),
        replication_health=str(props.get("replicationHealth") or "Normal"),
        progress_percent=int(progress or 0),
        current_job_id=None if job_id in (None, "", "None") else job_id,
        current_scenario=str(scenario["scenarioName"]) if scenario.get("scenarioName") else None,
        friendly_name=str(props.get("friendlyName") or ""),
        internal_id=str(internal or ""),
        # InMageRcm: lastRpoInSeconds; InMageAzureV2: rpoInSeconds (the spec, and recorded traffic
        # for InMageRcm: tests/contract/vendor/recorded-powershell.json). Both: lastRecoveryPointReceived.
        rpo_seconds=_whole(details.get("lastRpoInSeconds", details.get("rpoInSeconds"))),
        last_recovery_point=_maybe_time(details.get("lastRecoveryPointReceived")),
        health_issues=tuple(
            _issue(e) for e in (props.get("healthErrors") or [])[:10] if isinstance(e, Mapping)
        ),
    )


def _whole(value: Any) -> int | None:
    try:
        return max(int(value), 0) if value is not None else None
    except (TypeError, ValueError):
        return None


def _maybe_time(value: Any) -> datetime | None:
    """An ASR time, None for none or one that does not parse (a pass never fails on it)."""
    try:
        return _time(str(value)) if value else None
    except ValueError:
        return None


def _issue(error: Mapping[str, Any]) -> HealthIssue:
    """A HealthError (spec: errorCode, summaryMessage, errorMessage, recommendedAction)."""
    return HealthIssue(
        code=str(error.get("errorCode") or "unknown"),
        message=str(error.get("summaryMessage") or error.get("errorMessage") or ""),
        fix=str(error.get("recommendedAction") or ""),
    )


def job_facts(job: asr.Job) -> JobFacts:
    props: Any = job.properties
    errors = props.errors or []
    service = errors[0].service_error_details if errors else None
    code = str(service.code) if service and service.code else ""
    message = str(service.message) if service and service.message else ""
    facts = JobFacts(
        job_id=str(job.name),
        scenario=str(props.scenario_name or ""),
        state=str(props.state or ""),
        start_time=props.start_time or datetime.min.replace(tzinfo=UTC),
        target_id=str(props.target_object_id or ""),
        target_name=str(props.target_object_name or ""),
        test_vm_name=_test_vm_name(props.custom_details),
    )
    if facts.succeeded:  # a finished job's errors are notes, e.g. CompletedWithInformation
        return replace(facts, warning=f"{code}: {message}" if code or message else "")
    return replace(facts, error_code=code, error_message=message)


def _test_vm_name(details: Any) -> str:
    """A test failover job's FailoverJobDetails name the test VM (protectedItemDetails[].testVmName,
    in the spec; no recorded value was found, so its form, a name or an id, is unconfirmed)."""
    items = getattr(details, "protected_item_details", None) or []
    return str(getattr(items[0], "test_vm_name", "") or "") if items else ""


def operation_id_of(headers: Mapping[str, str]) -> str:
    """The operation id a 202 names: the last segment of Azure-AsyncOperation
    (`.../replicationOperationStatus/{opId}`), else of Location (`.../operationresults/{opId}`)."""
    named = {key.lower(): value for key, value in headers.items()}
    url = named.get("azure-asyncoperation") or named.get("location") or ""
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


def operation_facts(body: dict[str, Any], scenario: str) -> JobFacts:
    """An operation status ({name, status, error, startTime, endTime}) as its job's stand-in.
    "Succeeded" with an error is a success with a warning, as the real service sends it."""
    error = body.get("error") or {}
    note = f"{error.get('code') or ''}: {error.get('message') or ''}" if error else ""
    started = body.get("startTime")
    facts = JobFacts(
        job_id=str(body.get("name") or ""),
        scenario=scenario,
        state=str(body.get("status") or ""),
        start_time=_time(started) if started else datetime.min.replace(tzinfo=UTC),
    )
    if facts.succeeded:
        return replace(facts, warning=note)
    return replace(
        facts, error_code=str(error.get("code") or ""), error_message=str(error.get("message") or "")
    )


def discovered_machine(machine: dict[str, Any]) -> DiscoveredMachine:
    """An OffAzure machine (ServerSites, or VMwareSites' vmFqdn) as the fields the app matches on."""
    props = machine.get("properties") or {}
    ips = tuple(ip for nic in props.get("networkAdapters") or [] for ip in nic.get("ipAddressList") or [])
    fqdn = props.get("fqdn") or props.get("hydratedFqdn") or props.get("vmFqdn") or ""
    return DiscoveredMachine(
        str(machine["id"]),
        str(props.get("biosGuid") or "").lower(),
        ips,
        str(fqdn),
        str(props.get("displayName") or ""),
        tuple(_server_disk(d) for d in props.get("disks") or [] if isinstance(d, Mapping)),
    )


def _server_disk(disk: Mapping[str, Any]) -> ApplianceDisk:
    """An OffAzure ServerDisk. Which of its ids InMageRcm's disksToInclude wants is unconfirmed (no
    recorded physical-server enable sends disksToInclude): generatedId, else id, else name."""
    lun = disk.get("lun")
    return ApplianceDisk(
        disk_id=str(disk.get("generatedId") or disk.get("id") or disk.get("name") or ""),
        name=str(disk.get("name") or ""),
        size_bytes=_whole(disk.get("maxSizeInBytes")) or 0,
        lun=lun if isinstance(lun, int) else None,
        path=str(disk.get("path") or ""),
    )


def _time(text: str) -> datetime:
    """ASR's times carry seven fractional digits; Python's parser takes at most six."""
    head, _, rest = text.replace("Z", "+00:00").partition(".")
    if not rest:
        return (
            datetime.fromisoformat(head).astimezone(UTC)
            if "+" in head
            else datetime.fromisoformat(head + "+00:00")
        )
    digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]  # the fraction, not the zone's digits
    zone = rest[len(digits) :] or "+00:00"
    return datetime.fromisoformat(f"{head}.{digits[:6].ljust(6, '0')}{zone}").astimezone(UTC)
