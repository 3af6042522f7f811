"""HTTP front of the simulator: ARM routing, paging, throttling, long-running operations, admin.

ARM routes need a bearer token (any) and the right api-version; they answer ARM's JSON shapes and
error bodies. Before a request touches the vault it may be throttled (429 + Retry-After, ARM's token
buckets) or failed (500/503, the fault profile), so a refused request never changes anything. A
write whose body the spec refuses (a required property missing or empty, an unknown instanceType or
enum value, a property the spec does not name) is answered 400 and changes nothing.

Writes are answered as recorded against the real service: 202, an empty body, `Azure-AsyncOperation`
`.../Subscriptions/.../replicationOperationStatus/{opId}` and `Location`
`{resource}/operationresults/{opId}`, each with a signed query string, and no Retry-After; or, with
the vault's `answer_at_once`, 200 with the item or 204 where the spec allows them. With
`check_answers`, every ARM answer is checked against the spec and any breach kept in `violations`.
Admin routes (under /admin/) are for tests, the demo and benchmarks, and are never throttled.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

from local.asr_simulator import shapes
from local.asr_simulator.compute import COMPUTE_API_VERSION
from local.asr_simulator.engine import Vault
from local.asr_simulator.faults import ARM_LIMITS, Throttle
from local.asr_simulator.model import (
    CLASSIC,
    RCM,
    SYNC_ANSWERS,
    URL_ACTIONS,
    ArmError,
    Disk,
    Job,
    Machine,
    Site,
)
from local.asr_simulator.spec import ARM_COMMON_SPEC, OFFAZURE_SPEC, spec
from local.loopback_server import LoopbackHandler, LoopbackServer

API_VERSION = "2025-08-01"
OFFAZURE_API_VERSION = "2023-06-06"
_FILTER_TERM = re.compile(r"^\s*(\w+)\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)
# What the service appends to operation URLs (recorded: t, c, s, h; a timestamp and a signature).
_SIGNED = "t=639000000000000000&c=MIIHsimulated&s=c2ltdWxhdGVk&h=c2ln"


class Bridge(Protocol):
    def sync(self) -> list[str]: ...


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    params: dict[str, str]


class Simulator:
    """The vault behind an HTTP server on a loopback port; `start` runs it on a background thread."""

    def __init__(
        self,
        vault: Vault,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        page_size: int = 100,
        retry_after: int | None = None,
        limits: dict[str, tuple[float, float]] | None = ARM_LIMITS,
        check_answers: bool = False,
    ) -> None:
        if host != "127.0.0.1":
            raise ValueError("the simulator listens on 127.0.0.1 only")
        self.vault, self.page_size, self.retry_after = vault, page_size, retry_after
        self.check_answers = check_answers
        self.violations: list[str] = []  # spec breaches in the simulator's own answers
        self.checked = 0  # answers checked against a schema
        self.throttle = Throttle(limits)
        self.bridge: Bridge | None = None
        self.requests: Counter[str] = Counter()  # per kind of call; guarded by _count_lock
        self._count_lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"simulator": self})
        self.server = LoopbackServer(port, handler)

    def count(self, key: str) -> None:
        """Handler threads run concurrently; an unguarded += would lose counts that tests assert."""
        with self._count_lock:
            self.requests[key] += 1

    def request_counts(self) -> dict[str, int]:
        with self._count_lock:
            return dict(self.requests)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Simulator:
        self.server.serve_in_background("asr-simulator")
        return self

    def stop(self) -> None:
        self.server.close()


class _Handler(LoopbackHandler):
    simulator: Simulator

    # --- plumbing --------------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.simulator.count(f"{method} {_route_name(parts.path)}")
        try:
            body = json.loads(raw) if raw else {}
            if not isinstance(body, dict):
                raise ArmError(400, "InvalidRequestContent", "Body must be a JSON object.")
            if parts.path == "/admin/compute/faults" and method == "POST":
                self._compute_fault(body)
                return
            if parts.path.startswith("/admin/"):
                self._admin(method, parts.path, body)
                return
            if parts.path.startswith("/blobs/") and method == "GET":  # boot diagnostics: a SAS URL
                vault = self.simulator.vault
                with vault.lock:
                    log = vault.compute.serial_log(parts.path, vault.tick())
                self._send(200, log.encode())
                return
            if not self.headers.get("Authorization", "").startswith("Bearer "):
                raise ArmError(401, "AuthenticationFailed", "Authentication failed: no bearer token.")
            self._guard(method, parts.path)
            self._arm(Call(method, parts.path, query, body, {}))
        except ArmError as error:
            self._send(
                error.status,
                {"error": {"code": error.code, "message": error.message}},
                error.headers,
            )
        except json.JSONDecodeError:
            self._send(
                400, {"error": {"code": "InvalidRequestContent", "message": "Body is not valid JSON."}}
            )

    def _guard(self, method: str, path: str) -> None:
        """Throttling and injected server errors, decided before anything changes."""
        sim = self.simulator
        wait = sim.throttle.retry_after(method)
        failure = None if wait else sim.vault.faults.server_error()
        if not wait and failure is None:
            return
        status = 429 if wait else int(failure or 500)
        if method != "GET":
            sim.vault.record(method, path, status, item=None, job=None, real=time.monotonic())
        if wait:
            kind = sim.throttle.kind_of(method)
            raise ArmError(
                429,
                "TooManyRequests",
                f"Number of {kind} exceeded the limit; retry after {wait}s.",
                {"Retry-After": str(wait)},
            )
        raise ArmError(
            status,
            "InternalServerError" if status == 500 else "ServiceUnavailable",
            "Injected failure: the request was not processed.",
        )

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        request_id = self.headers.get("x-ms-client-request-id", "sim")
        body = shapes.compact(body)
        if self.simulator.check_answers and status == 200 and body is not None:
            self._check_answer(body)
        super()._send(status, body, {**(headers or {}), "x-ms-request-id": request_id})

    def _check_answer(self, body: Any) -> None:
        """The answer against the spec of the operation asked for (admin routes have none)."""
        path = urlsplit(self.path).path
        schema: dict[str, Any] | None
        if "/replicationoperationstatus/" in path.lower():
            document, schema = spec(ARM_COMMON_SPEC), {"$ref": "#/definitions/OperationStatusResult"}
        else:
            document = spec(OFFAZURE_SPEC) if "/microsoft.offazure/" in path.lower() else spec()
            operation = document.operation(self.command, path)
            schema = document.response_schema(operation, 200) if operation else None
        if schema is None:
            return
        self.simulator.checked += 1
        for problem in document.check(schema, body):
            self.simulator.violations.append(f"{self.command} {path}: {problem}")

    def _page(self, call: Call, values: list[dict[str, Any]]) -> None:
        size = self.simulator.page_size
        skip = int(call.query.get("$skiptoken", "0") or 0)
        body: dict[str, Any] = {"value": values[skip : skip + size]}
        if skip + size < len(values):
            params = {k: v for k, v in call.query.items() if k != "$skiptoken"} | {
                "$skiptoken": str(skip + size)
            }
            body["nextLink"] = f"{self.simulator.url}{call.path}?{urlencode(params)}"
        self._send(200, body)

    def _accepted(self, job: Job) -> None:
        vault = self.simulator.vault
        suffix = f"?api-version={API_VERSION}&{_SIGNED}"
        status = f"{vault.prefix.replace('/subscriptions/', '/Subscriptions/', 1)}/replicationOperationStatus"
        # Location names the resource acted on: the item, or the policy or mapping a set-up creates.
        resource = (
            f"{vault.container_id(vault.items[job.item_name].site)}/replicationProtectedItems/{job.item_name}"
            if job.item_name in vault.items
            else urlsplit(self.path).path
        )
        headers = {
            "Azure-AsyncOperation": f"{self.simulator.url}{status}/{job.operation_id}{suffix}",
            "Location": f"{self.simulator.url}{resource}/operationresults/{job.operation_id}{suffix}",
        }
        if self.simulator.retry_after is not None:
            headers["Retry-After"] = str(self.simulator.retry_after)
        self._send(202, None, headers)

    # --- ARM routes ------------------------------------------------------------------------------

    def _arm(self, call: Call) -> None:
        vault = self.simulator.vault
        if "/providers/microsoft.compute/virtualmachines/" in call.path.lower():
            _require_version(call.query, COMPUTE_API_VERSION)
            with vault.lock:
                self._compute(call, vault.tick())
            return
        if call.path.lower().startswith(vault.site_id.lower() + "/machines"):
            _require_version(call.query, OFFAZURE_API_VERSION)
            with vault.lock:
                machines = [shapes.discovered_machine(vault, m) for m in vault.machines.get(RCM, {}).values()]
            self._page(call, machines)
            return
        if not call.path.lower().startswith(vault.prefix.lower()):
            raise ArmError(404, "ResourceNotFound", f"No vault at {call.path}.")
        _require_version(call.query, API_VERSION)
        rest = call.path[len(vault.prefix) :].strip("/").split("/")
        for method, pattern, handler in ROUTES:
            params = _match(pattern, rest)
            if params is not None and method == call.method:
                call.params = params
                with vault.lock:
                    vault.tick()
                    handler(self, call)
                return
        raise ArmError(404, "ResourceNotFound", f"No {call.method} route for {'/'.join(rest)}.")

    def _compute(self, call: Call, now: datetime) -> None:
        """A test VM (GET, $expand=instanceView), its boot diagnostics, and Run Commands in it."""
        compute = self.simulator.vault.compute
        head, _, rest = call.path.partition("/providers/Microsoft.Compute/virtualMachines/")
        group = head.rstrip("/").rsplit("/", 1)[-1]
        name, *tail = rest.split("/")
        vm = compute.vm(group, name)
        expand = call.query.get("$expand", "").lower() == "instanceview"
        if not tail and call.method == "GET":
            self._send(200, compute.vm_shape(vm, now, expand, self.simulator.url))
        elif tail == ["instanceView"] and call.method == "GET":
            self._send(200, compute.instance_view(vm, now, self.simulator.url))
        elif tail == ["retrieveBootDiagnosticsData"] and call.method == "POST":
            uri = compute.serial_uri(vm, self.simulator.url)
            self._send(
                200,
                {
                    "consoleScreenshotBlobUri": uri.replace(".serialconsole.log", ".screenshot.bmp"),
                    "serialConsoleLogBlobUri": uri,
                },
            )
        elif len(tail) == 2 and tail[0] == "runCommands" and call.method == "PUT":
            command = compute.run(vm, tail[1], call.body, now)
            self.simulator.vault.record(
                "PUT", call.path, 201, item=None, job=None, real=time.monotonic(), body=call.body
            )
            self._send(201, compute.command_shape(vm, command, now, False))
        elif len(tail) == 2 and tail[0] == "runCommands" and call.method == "GET":
            found = vm.commands.get(tail[1])
            if found is None:
                raise ArmError(404, "NotFound", f"Run command {tail[1]} was not found.")
            self._send(200, compute.command_shape(vm, found, now, expand))
        else:
            raise ArmError(404, "ResourceNotFound", f"No {call.method} route for {call.path}.")

    def _site(self, call: Call) -> Site:
        site = self.simulator.vault.site_of(call.params["fabric"])
        if "container" in call.params and call.params["container"].lower() != site.container.lower():
            raise ArmError(
                404, "ProtectionContainerNotFound", f"Container {call.params['container']} was not found."
            )
        return site

    def list_fabrics(self, call: Call) -> None:
        vault = self.simulator.vault
        self._page(call, [shapes.fabric(vault, site) for site in vault.sites.values()])

    def get_fabric(self, call: Call) -> None:
        self._send(200, shapes.fabric(self.simulator.vault, self._site(call)))

    def list_containers(self, call: Call) -> None:
        self._page(call, [shapes.container(self.simulator.vault, self._site(call))])

    def list_mappings(self, call: Call) -> None:
        vault, site = self.simulator.vault, self._site(call)
        mapping = vault.setup.mapping(site)
        self._page(call, [shapes.mapping(vault, site, mapping)] if mapping else [])

    def get_mapping(self, call: Call) -> None:
        vault, site = self.simulator.vault, self._site(call)
        mapping = vault.setup.mapping(site)
        if mapping is None or mapping.name.lower() != call.params["mapping"].lower():
            raise ArmError(
                404, "ProtectionContainerMappingNotFound", f"Mapping {call.params['mapping']} was not found."
            )
        self._send(200, shapes.mapping(vault, site, mapping))

    def create_mapping(self, call: Call) -> None:
        site = self._site(call)
        self._mutate(
            call, lambda: self.simulator.vault.create_mapping(site.fabric, call.params["mapping"], call.body)
        )

    def list_policies(self, call: Call) -> None:
        vault = self.simulator.vault
        self._page(call, [shapes.policy(vault, policy) for policy in vault.setup.policies.values()])

    def get_policy(self, call: Call) -> None:
        vault = self.simulator.vault
        self._send(200, shapes.policy(vault, vault.setup.policy(call.params["policy"])))

    def create_policy(self, call: Call) -> None:
        self._mutate(call, lambda: self.simulator.vault.create_policy(call.params["policy"], call.body))

    def list_appliances(self, call: Call) -> None:
        vault = self.simulator.vault
        site = vault.site(RCM)
        self._page(call, [shapes.appliance(vault, site)] if site else [])

    def list_protectable_items(self, call: Call) -> None:
        vault, site = self.simulator.vault, self._site(call)
        machines = vault.machines[site.provider].values() if site.provider == CLASSIC else []
        self._page(call, [shapes.protectable_item(vault, site, machine) for machine in machines])

    def list_items(self, call: Call) -> None:
        vault = self.simulator.vault
        site = self._site(call) if "fabric" in call.params else None
        items = [it for it in vault.items.values() if site is None or it.site == site]
        self._page(call, [shapes.item(vault, it) for it in items])

    def get_item(self, call: Call) -> None:
        self._site(call)
        vault = self.simulator.vault
        self._send(200, shapes.item(vault, vault.get_item(call.params["fabric"], call.params["item"])))

    def create_item(self, call: Call) -> None:
        site = self._site(call)
        self._mutate(call, lambda: self.simulator.vault.enable(site.fabric, call.params["item"], call.body))

    def update_item(self, call: Call) -> None:
        self._act(call, "update")

    def purge_item(self, call: Call) -> None:
        self._act(call, "purge")

    def item_action(self, call: Call) -> None:
        action = next((a for a in URL_ACTIONS if a.lower() == call.params["action"].lower()), None)
        if action is None:
            raise ArmError(404, "ResourceNotFound", f"No action {call.params['action']}.")
        self._act(call, action)

    def _act(self, call: Call, action: str) -> None:
        site = self._site(call)
        self._mutate(
            call, lambda: self.simulator.vault.act(site.fabric, call.params["item"], action, call.body)
        )

    def _mutate(self, call: Call, action: Callable[[], Job]) -> None:
        vault = self.simulator.vault
        item = call.params.get("item")

        def ledger(status: int, job: str | None) -> None:
            vault.record(
                call.method, call.path, status, item=item, job=job, real=time.monotonic(), body=call.body
            )

        try:
            self._check_request(call)
            job = action()
        except ArmError as error:
            ledger(error.status, None)
            raise
        if not job.finished or job.action not in SYNC_ANSWERS:
            ledger(202, job.name)
            self._accepted(job)
        elif job.item_name in vault.items:  # the spec's "done at once": the resource as it now is
            ledger(200, job.name)
            self._send(200, shapes.item(vault, vault.items[job.item_name]))
        else:
            ledger(204, job.name)
            self._send(204)

    def _check_request(self, call: Call) -> None:
        """A body the spec refuses is refused as the service would, before anything changes."""
        operation = spec().operation(call.method, call.path)
        schema = spec().body_schema(operation) if operation else None
        if schema is None:
            return
        problems = spec().check(schema, call.body, request=True)
        if problems:
            raise ArmError(400, "InvalidRequestContent", "; ".join(problems[:5]))

    def list_jobs(self, call: Call) -> None:
        vault = self.simulator.vault
        now = vault.clock.now()
        keep = _filter(call.query.get("$filter", ""), _job_fields(now))
        self._page(call, [shapes.job(vault, jb) for jb in vault.jobs.values() if keep(jb)])

    def list_events(self, call: Call) -> None:
        vault = self.simulator.vault
        keep = _filter(call.query.get("$filter", ""), _EVENT_FIELDS)
        self._page(call, [shapes.event(vault, ev) for ev in vault.events if keep(ev)])

    def get_job(self, call: Call) -> None:
        vault = self.simulator.vault
        self._send(200, shapes.job(vault, vault.get_job(call.params["job"])))

    def operation_status(self, call: Call) -> None:
        vault = self.simulator.vault
        self._send(200, shapes.operation_status(vault, vault.get_operation(call.params["operation"])))

    def operation_result(self, call: Call) -> None:
        vault = self.simulator.vault
        job = vault.get_operation(call.params["operation"])
        if job.item_name != call.params["item"]:
            raise ArmError(404, "OperationNotFound", f"No operation {call.params['operation']} on this item.")
        if not job.finished:
            self._accepted(job)
        elif job.item_name in vault.items:
            self._send(200, shapes.item(vault, vault.items[job.item_name]))
        else:
            self._send(204)

    # --- admin routes (not ARM: for tests, the demo and benchmarks) -----------------------------

    def _compute_fault(self, body: dict[str, Any]) -> None:
        """{"item": "azmigrate-i-...", "fault": "never_boots" | "agent_not_ready" | "smoke_fails" | ""}:
        the test VMs that item's next test failovers create."""
        try:
            self.simulator.vault.compute.set_fault(str(body.get("item", "")), str(body.get("fault", "")))
        except ValueError as error:
            raise ArmError(400, "InvalidFaults", str(error)) from None
        self._send(200, {"ok": True})

    def _admin(self, method: str, path: str, body: dict[str, Any]) -> None:
        sim, vault = self.simulator, self.simulator.vault
        if path == "/admin/clock" and method == "POST":
            seconds = body.get("advanceSeconds")
            if not isinstance(seconds, int | float) or seconds < 0:
                raise ArmError(400, "InvalidAdvance", "advanceSeconds must be a number >= 0")
            vault.clock.advance(float(seconds))
        if path == "/admin/clock":
            self._send(200, {"now": vault.tick().isoformat()})
        elif path == "/admin/ledger" and method == "GET":
            with vault.lock:
                self._send(200, {"entries": list(vault.ledger)})
        elif path == "/admin/requests" and method == "GET":
            self._send(200, sim.request_counts())
        elif path == "/admin/machines" and method == "POST":
            machine, provider = _machine_from(body)
            if not vault.register_machine(machine, provider):
                raise ArmError(400, "NoSuchProvider", f"This vault has no {provider} site.")
            self._send(201, {"name": machine.name, "provider": provider})
        elif path == "/admin/faults" and method == "POST":
            try:
                vault.faults.update(body)
            except (TypeError, ValueError) as error:
                raise ArmError(400, "InvalidFaults", str(error)) from None
            self._send(200, {"ok": True})
        elif path == "/admin/bridge/sync" and method == "POST":
            if sim.bridge is None:
                raise ArmError(409, "NoBridge", "The simulator was started without a moto bridge.")
            self._send(200, {"registered": sim.bridge.sync()})
        else:
            raise ArmError(404, "NotFound", f"No admin route {method} {path}.")


# (method, path pattern after the vault prefix, handler); {name} segments are captured.
_CONTAINER = "replicationFabrics/{fabric}/replicationProtectionContainers/{container}"
ROUTES: list[tuple[str, str, Callable[[_Handler, Call], None]]] = [
    ("GET", "replicationFabrics", _Handler.list_fabrics),
    ("GET", "replicationFabrics/{fabric}", _Handler.get_fabric),
    ("GET", "replicationFabrics/{fabric}/replicationProtectionContainers", _Handler.list_containers),
    ("GET", f"{_CONTAINER}/replicationProtectionContainerMappings", _Handler.list_mappings),
    ("GET", f"{_CONTAINER}/replicationProtectionContainerMappings/{{mapping}}", _Handler.get_mapping),
    ("PUT", f"{_CONTAINER}/replicationProtectionContainerMappings/{{mapping}}", _Handler.create_mapping),
    ("GET", f"{_CONTAINER}/replicationProtectableItems", _Handler.list_protectable_items),
    ("GET", f"{_CONTAINER}/replicationProtectedItems", _Handler.list_items),
    ("GET", f"{_CONTAINER}/replicationProtectedItems/{{item}}", _Handler.get_item),
    ("PUT", f"{_CONTAINER}/replicationProtectedItems/{{item}}", _Handler.create_item),
    ("PATCH", f"{_CONTAINER}/replicationProtectedItems/{{item}}", _Handler.update_item),
    ("DELETE", f"{_CONTAINER}/replicationProtectedItems/{{item}}", _Handler.purge_item),
    ("POST", f"{_CONTAINER}/replicationProtectedItems/{{item}}/{{action}}", _Handler.item_action),
    ("GET", "replicationProtectedItems", _Handler.list_items),
    ("GET", "replicationPolicies", _Handler.list_policies),
    ("GET", "replicationPolicies/{policy}", _Handler.get_policy),
    ("PUT", "replicationPolicies/{policy}", _Handler.create_policy),
    ("GET", "replicationAppliances", _Handler.list_appliances),
    ("GET", "replicationJobs", _Handler.list_jobs),
    ("GET", "replicationJobs/{job}", _Handler.get_job),
    ("GET", "replicationEvents", _Handler.list_events),
    ("GET", "replicationOperationStatus/{operation}", _Handler.operation_status),
    (
        "GET",
        f"{_CONTAINER}/replicationProtectedItems/{{item}}/operationresults/{{operation}}",
        _Handler.operation_result,
    ),
]


def _match(pattern: str, segments: list[str]) -> dict[str, str] | None:
    expected = pattern.split("/")
    if len(expected) != len(segments):
        return None
    params = {}
    for want, got in zip(expected, segments, strict=True):
        if want.startswith("{"):
            params[want.strip("{}")] = got
        elif want.lower() != got.lower():
            return None
    return params


def _require_version(query: dict[str, str], version: str) -> None:
    if query.get("api-version") != version:
        raise ArmError(400, "InvalidApiVersionParameter", f"api-version must be {version}.")


def _route_name(path: str) -> str:
    """The path's collection names only (names of things dropped), to count requests per kind of call."""
    return "/".join(segment for index, segment in enumerate(path.strip("/").split("/")) if index % 2 == 0)


# $filter support: `Key eq 'value'` terms joined by `and`. Each key maps to (kind, getter).
Getter = Callable[[Any], Any]


def _job_fields(now: datetime) -> dict[str, tuple[str, Getter]]:
    """The spec's job query fields (JobQueryParameter), spelt as the spec spells them: the simulator
    refuses `StartTime` where the spec says `startTime` (how the service treats case is unconfirmed)."""
    return {
        "jobStatus": ("text", lambda job: job.state_at(now)),
        "jobName": ("text", lambda job: job.scenario),
        "fabricId": ("text", lambda job: job.fabric_id),
        "startTime": ("since", lambda job: job.start),
        "endTime": ("until", lambda job: job.end),
        "affectedObjectTypes": ("text", lambda job: "ProtectionEntity"),  # every job here is on an item
        "jobOutputType": ("any", lambda job: None),  # the spec's export format: no effect on a list
        "timezoneOffset": ("any", lambda job: None),
    }


_EVENT_FIELDS: dict[str, tuple[str, Getter]] = {  # the spec's EventQueryParameter names
    "eventType": ("text", lambda ev: ev.event_type),
    "severity": ("text", lambda ev: ev.severity),
    "affectedObjectFriendlyName": ("text", lambda ev: ev.affected),
    "startTime": ("since", lambda ev: ev.at),
}


def _filter(expression: str, fields: dict[str, tuple[str, Getter]]) -> Callable[[Any], bool]:
    tests: list[Callable[[Any], bool]] = []
    terms = re.split(r"\s+and\s+", expression.strip(), flags=re.IGNORECASE) if expression.strip() else []
    for term in terms:
        match = _FILTER_TERM.match(term)
        if not match:
            raise ArmError(400, "InvalidFilter", f"Cannot parse filter term {term!r}.")
        key, value = match.group(1), match.group(2)
        if key not in fields:
            raise ArmError(400, "InvalidFilter", f"Filtering on {key} is not supported.")
        tests.append(_term(key, value, *fields[key]))
    return lambda thing: all(test(thing) for test in tests)


def _term(key: str, value: str, kind: str, get: Getter) -> Callable[[Any], bool]:
    if kind == "any":
        return lambda thing: True
    if kind == "text":
        return lambda thing: str(get(thing)).lower() == value.lower()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ArmError(400, "InvalidFilter", f"{key} is not an ISO time.") from None
    if kind == "since":
        return lambda thing: get(thing) >= moment
    return lambda thing: get(thing) is not None and get(thing) <= moment


def _machine_from(body: dict[str, Any]) -> tuple[Machine, str]:
    try:
        disks = [
            Disk(str(d["id"]), float(d["sizeGb"]), bool(d.get("isOs", i == 0)))
            for i, d in enumerate(body["disks"])
        ]
        machine = Machine(
            str(body["biosId"]),
            str(body["displayName"]),
            str(body["ipAddress"]),
            str(body.get("osType", "Linux")),
            disks,
            str(body.get("hostName", "")),
        )
        return machine, str(body.get("provider", RCM))
    except (KeyError, TypeError, ValueError) as error:
        raise ArmError(
            400, "InvalidMachine", f"machine needs biosId, displayName, ipAddress, disks: {error}"
        ) from None
