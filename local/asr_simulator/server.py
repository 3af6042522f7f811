"""HTTP front of the simulator: ARM routing, paging, long-running-operation headers, admin routes."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from local.asr_simulator import shapes
from local.asr_simulator.engine import ACTIONS, ArmError, Disk, Job, Machine, Vault

API_VERSION = "2025-08-01"
OFFAZURE_API_VERSION = "2023-06-06"
_FILTER_TERM = re.compile(r"^\s*(\w+)\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)


class Simulator:
    """The vault behind an HTTP server on a loopback port; `start` runs it on a background thread."""

    def __init__(
        self,
        vault: Vault,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        page_size: int = 100,
        retry_after: int = 1,
    ) -> None:
        if host != "127.0.0.1":
            raise ValueError("the simulator listens on 127.0.0.1 only")
        self.vault, self.page_size, self.retry_after = vault, page_size, retry_after
        self.requests: Counter[str] = Counter()  # per kind of call; guarded by _count_lock
        self._count_lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"simulator": self})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

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
        self._thread = threading.Thread(target=self.server.serve_forever, name="asr-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread:
            self._thread.join(timeout=10)


class _Handler(BaseHTTPRequestHandler):
    simulator: Simulator
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # --- plumbing --------------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        sim = self.simulator
        sim.count(f"{method} {_route_name(parts.path)}")
        try:
            body = json.loads(raw) if raw else {}
            if parts.path.startswith("/admin/"):
                self._admin(method, parts.path, body)
                return
            if not self.headers.get("Authorization", "").startswith("Bearer "):
                raise ArmError(401, "AuthenticationFailed", "Authentication failed: no bearer token.")
            self._arm(method, parts.path, query, body)
        except ArmError as error:
            self._send(error.status, {"error": {"code": error.code, "message": error.message}})
        except json.JSONDecodeError:
            self._send(
                400, {"error": {"code": "InvalidRequestContent", "message": "Body is not valid JSON."}}
            )

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("x-ms-request-id", self.headers.get("x-ms-client-request-id", "sim"))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _page(self, path: str, query: dict[str, str], values: list[dict[str, Any]]) -> None:
        size = self.simulator.page_size
        skip = int(query.get("$skiptoken", "0") or 0)
        body: dict[str, Any] = {"value": values[skip : skip + size]}
        if skip + size < len(values):
            params = {k: v for k, v in query.items() if k != "$skiptoken"} | {"$skiptoken": str(skip + size)}
            body["nextLink"] = f"{self.simulator.url}{path}?{urlencode(params)}"
        self._send(200, body)

    def _accepted(self, job: Job) -> None:
        vault = self.simulator.vault
        suffix = f"?api-version={API_VERSION}"
        operations = f"{self.simulator.url}{vault.prefix}"
        self._send(
            202,
            None,
            {
                "Azure-AsyncOperation": f"{operations}/replicationOperationStatus/{job.name}{suffix}",
                "Location": f"{operations}/replicationOperationResults/{job.name}{suffix}",
                "Retry-After": str(self.simulator.retry_after),
            },
        )

    # --- ARM routes ------------------------------------------------------------------------------

    def _arm(self, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> None:
        vault = self.simulator.vault
        if path.lower().startswith(vault.site_id.lower() + "/machines"):
            _require_version(query, OFFAZURE_API_VERSION)
            with vault.lock:
                machines = [shapes.discovered_machine(vault, m) for m in vault.machines.values()]
            self._page(path, query, machines)
            return
        if not path.lower().startswith(vault.prefix.lower()):
            raise ArmError(404, "ResourceNotFound", f"No vault at {path}.")
        _require_version(query, API_VERSION)
        rest = path[len(vault.prefix) :].strip("/").split("/")
        handler = self._route(method, rest)
        handler(method, path, rest, query, body)

    def _route(self, method: str, rest: list[str]) -> Callable[..., None]:  # noqa: PLR0911 - a routing table
        vault = self.simulator.vault
        head = [segment.lower() for segment in rest]
        container_path = [
            "replicationfabrics",
            vault.fabric.lower(),
            "replicationprotectioncontainers",
            vault.container.lower(),
        ]
        if method == "GET" and head == ["replicationfabrics"]:
            return lambda m, p, r, q, b: self._page(p, q, [shapes.fabric(vault)])
        if method == "GET" and head == ["replicationfabrics", vault.fabric.lower()]:
            return lambda m, p, r, q, b: self._send(200, shapes.fabric(vault))
        if method == "GET" and head == [*container_path[:3]]:
            return lambda m, p, r, q, b: self._page(p, q, [shapes.container(vault)])
        if method == "GET" and head == [*container_path, "replicationprotectioncontainermappings"]:
            return lambda m, p, r, q, b: self._page(p, q, [shapes.mapping(vault)])
        if method == "GET" and head == ["replicationpolicies"]:
            return lambda m, p, r, q, b: self._page(p, q, [shapes.policy(vault)])
        if method == "GET" and head in (
            ["replicationprotecteditems"],
            [*container_path, "replicationprotecteditems"],
        ):
            return self._list_items
        if head[:5] == [*container_path, "replicationprotecteditems"] and len(head) in (6, 7):
            return self._item
        if method == "GET" and head == ["replicationjobs"]:
            return self._list_jobs
        if (
            method == "GET"
            and len(head) == 2
            and head[0] in {"replicationjobs", "replicationoperationstatus", "replicationoperationresults"}
        ):
            return self._job
        raise ArmError(404, "ResourceNotFound", f"No {method} route for {'/'.join(rest)}.")

    def _list_items(self, method: str, path: str, rest: list[str], query: dict[str, str], body: Any) -> None:
        vault = self.simulator.vault
        with vault.lock:
            vault.tick()
            values = [shapes.item(vault, it) for it in vault.items.values()]
        self._page(path, query, values)

    def _item(
        self, method: str, path: str, rest: list[str], query: dict[str, str], body: dict[str, Any]
    ) -> None:
        vault = self.simulator.vault
        name = rest[5]
        if len(rest) == 6 and method == "GET":
            with vault.lock:
                self._send(200, shapes.item(vault, vault.get_item(name)))
            return
        if len(rest) == 6 and method == "PUT":
            job = self._mutate(method, path, name, lambda: vault.enable(name, body))
            self._accepted(job)
            return
        if len(rest) == 7 and method == "POST" and rest[6] in ACTIONS and rest[6] != "create":
            job = self._mutate(method, path, name, lambda: vault.act(name, rest[6], body))
            self._accepted(job)
            return
        raise ArmError(405, "MethodNotAllowed", f"{method} is not supported on {'/'.join(rest)}.")

    def _mutate(self, method: str, path: str, item: str, action: Callable[[], Job]) -> Job:
        vault = self.simulator.vault
        try:
            job = action()
        except ArmError as error:
            vault.record(method, path, error.status, item, None)
            raise
        vault.record(method, path, 202, item, job.name)
        return job

    def _list_jobs(self, method: str, path: str, rest: list[str], query: dict[str, str], body: Any) -> None:
        vault = self.simulator.vault
        keep = _job_filter(query.get("$filter", ""))
        with vault.lock:
            vault.tick()
            values = [shapes.job(vault, jb) for jb in vault.jobs.values() if keep(jb)]
        self._page(path, query, values)

    def _job(self, method: str, path: str, rest: list[str], query: dict[str, str], body: Any) -> None:
        vault = self.simulator.vault
        kind = rest[0].lower()
        with vault.lock:
            job = vault.get_job(rest[1])
            if kind == "replicationjobs":
                self._send(200, shapes.job(vault, job))
            elif kind == "replicationoperationstatus":
                self._send(200, shapes.operation_status(vault, job))
            elif job.state == "InProgress":
                self._accepted(job)
            elif job.item_name in vault.items:
                self._send(200, shapes.item(vault, vault.items[job.item_name]))
            else:
                self._send(204)

    # --- admin routes (not ARM: for tests, the demo and benchmarks) -----------------------------

    def _admin(self, method: str, path: str, body: dict[str, Any]) -> None:
        vault = self.simulator.vault
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
            self._send(200, self.simulator.request_counts())
        elif path == "/admin/machines" and method == "POST":
            machine = _machine_from(body)
            vault.register_machine(machine)
            self._send(201, shapes.discovered_machine(vault, machine))
        else:
            raise ArmError(404, "NotFound", f"No admin route {method} {path}.")


def _require_version(query: dict[str, str], version: str) -> None:
    if query.get("api-version") != version:
        raise ArmError(400, "InvalidApiVersionParameter", f"api-version must be {version}.")


def _route_name(path: str) -> str:
    """The path's collection names only (names of things dropped), to count requests per kind of call."""
    return "/".join(segment for index, segment in enumerate(path.strip("/").split("/")) if index % 2 == 0)


def _job_filter(expression: str) -> Callable[[Job], bool]:
    """Parses ASR's `$filter` on jobs: `Key eq 'value'` terms joined by `and`."""
    tests: list[Callable[[Job], bool]] = []
    terms = re.split(r"\s+and\s+", expression.strip(), flags=re.IGNORECASE) if expression.strip() else []
    for term in terms:
        match = _FILTER_TERM.match(term)
        if not match:
            raise ArmError(400, "InvalidFilter", f"Cannot parse filter term {term!r}.")
        tests.append(_job_test(match.group(1), match.group(2)))
    return lambda job: all(test(job) for test in tests)


def _job_test(key: str, value: str) -> Callable[[Job], bool]:
    if key.lower() == "jobstatus":
        return lambda job: job.state.lower() == value.lower()
    if key.lower() not in {"starttime", "endtime"}:
        raise ArmError(400, "InvalidFilter", f"Filtering on {key} is not supported.")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ArmError(400, "InvalidFilter", f"{key} is not an ISO time.") from None
    if key.lower() == "starttime":
        return lambda job: job.start >= moment
    return lambda job: job.end is not None and job.end <= moment


def _machine_from(body: dict[str, Any]) -> Machine:
    try:
        disks = [
            Disk(str(d["id"]), float(d["sizeGb"]), bool(d.get("isOs", i == 0)))
            for i, d in enumerate(body["disks"])
        ]
        return Machine(
            str(body["biosId"]),
            str(body["displayName"]),
            str(body["ipAddress"]),
            str(body.get("osType", "Linux")),
            disks,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ArmError(
            400, "InvalidMachine", f"machine needs biosId, displayName, ipAddress, disks: {error}"
        ) from None
