"""The local host's front door, as strict as Azure's for what the tests rely on, served by uvicorn.

uvicorn (h11) parses HTTP: a malformed or negative Content-Length, or one beside chunked encoding,
is its 400; chunked bodies and HEAD come for free. This ASGI app then does what the Functions front
end does, in its order: find the route by path (404), check the key (401: a role's key opens that
role's functions, the master key everything, and only the master key `/admin/`), check the method
(405, JSON), then read the body, bounded (413 on a declared or counted length over the limit) and
timed (408), and only then call the function, on a worker thread. Route values are percent-decoded
per segment (an encoded slash stays in its segment), as ASP.NET Core routing does.
Sources: Microsoft Learn "Work with access keys in Azure Functions" (function, host and master keys;
`x-functions-key` or `?code=`; the master key alone for `/admin/`); azure-functions-host
AuthenticationLevelHandler.cs (the header wins over the query) and FunctionInvocationMiddleware.cs
(an unauthorized HTTP trigger call is a 401); dotnet/aspnetcore#30655 (route values decoded, `%2F`
kept). Unconfirmed, chosen here: a non-master key on `/admin/` is a 401 (ASP.NET might say 403);
the 30 s body timeout; the 405 (the Functions host may answer a wrong method with a 404).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from shared.app.roles import KeyRole

log = logging.getLogger("local.host")
MAX_REQUEST_BYTES = 100 * 1024 * 1024  # the Functions HTTP trigger's request length limit
BODY_TIMEOUT_SECONDS = 30.0  # a body that stops arriving for this long is a 408 (unconfirmed for Azure)
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class HostKeys:
    """The keys the host takes: one function-level key per role, and the master key (admin)."""

    roles: Mapping[KeyRole, str]
    master: str

    @classmethod
    def random(cls) -> HostKeys:
        return cls({role: secrets.token_urlsafe(24) for role in KeyRole}, secrets.token_urlsafe(32))

    def for_call(self, method: str, path: str) -> str:
        """The key a well-behaved client sends for `method path` (the tests', the demo's, the benches')."""
        path = path.split("?", 1)[0]
        if path.startswith("/admin/"):
            return self.master
        if path.startswith("/api/ec2-events"):
            return self.roles[KeyRole.EVENTBRIDGE]
        if path.startswith("/api/asr-alerts"):
            return self.roles[KeyRole.ALERTS]
        return self.roles[KeyRole.READER if method.upper() == "GET" else KeyRole.OPERATOR]


@dataclass(frozen=True)
class Route:
    name: str
    segments: tuple[str, ...]  # literal segments, or {name} for a parameter
    methods: frozenset[str]
    role: KeyRole | None  # None: anonymous
    handler: Callable[..., Any]

    def match(self, segments: list[str]) -> dict[str, str] | None:
        if len(segments) != len(self.segments):
            return None
        values: dict[str, str] = {}
        for mine, theirs in zip(self.segments, segments, strict=True):
            if mine.startswith("{"):
                if not theirs:
                    return None
                values[mine[1:-1]] = theirs
            elif mine.lower() != theirs.lower():
                return None
        return values


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def error(cls, status: int, code: str, message: str, **headers: str) -> Answer:
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        return cls(status, body, {"content-type": "application/json; charset=utf-8", **headers})


@dataclass(frozen=True)
class Special:
    """A path the host serves itself (the admin API, the Event Grid topic stand-in): its own key check,
    method and handler; its body is read only once the key opens it, bounded like any other."""

    opens: Callable[[dict[str, Any]], bool]
    method: str
    handler: Callable[[dict[str, Any], bytes], Answer]


class FrontEnd:
    """The ASGI app. `call` runs a matched function with (route, path values, request facts, body)."""

    def __init__(
        self,
        routes: list[Route],
        keys: HostKeys,
        call: Callable[[Route, dict[str, str], dict[str, Any], bytes], Answer],
        specials: Mapping[str, Special],
        *,
        max_body: int = MAX_REQUEST_BYTES,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
    ) -> None:
        """`specials`: path prefix -> what the host serves itself there."""
        self.routes, self.keys, self.call, self.specials = routes, keys, call, specials
        self.max_body, self.body_timeout = max_body, body_timeout
        self.pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="function")

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = _facts(scope)
        try:
            answer = await self._answer(request, receive)
        except Exception:  # a defect of the host itself: answer, never hang up
            log.exception("the local host failed on %s %s", request["method"], request["path"])
            answer = Answer(500)
        if answer.status in {408, 413}:
            answer.headers["connection"] = "close"  # the rest of the body is not read
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
        headers.append((b"content-length", str(len(answer.body)).encode()))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    async def _answer(self, request: dict[str, Any], receive: Receive) -> Answer:
        """In the front end's order: the route by path, the key, the method, then the body."""
        special = next((s for p, s in self.specials.items() if request["path"].startswith(p)), None)
        target = self._special(special, request) if special else self._route(request)
        if isinstance(target, Answer):
            return target
        body = await self._body(request, receive)
        if isinstance(body, Answer):
            return body
        if isinstance(target, tuple):
            route, values = target
            return await self._in_thread(self.call, route, values, request, body)
        return await self._in_thread(target.handler, request, body)

    def _special(self, special: Special, request: dict[str, Any]) -> Special | Answer:
        if not special.opens(request):
            return Answer(401)
        if request["method"] != special.method:
            return _not_allowed(request["method"], {special.method})
        return special

    def _route(self, request: dict[str, Any]) -> tuple[Route, dict[str, str]] | Answer:
        segments = request["segments"]
        found = [(r, r.match(segments[1:])) for r in self.routes] if segments[:1] == ["api"] else []
        matched = [(r, v) for r, v in found if v is not None]
        if not matched:
            return Answer(404)
        opened = [(r, v) for r, v in matched if self._opens(request["key"], r.role)]
        if not opened:
            return Answer(401)  # the Functions host answers 401 with no body
        chosen = [(r, v) for r, v in opened if request["method"] in r.methods]
        if not chosen:
            return _not_allowed(request["method"], {m for r, _ in opened for m in r.methods})
        return chosen[0]

    def _opens(self, key: bytes | None, role: KeyRole | None) -> bool:
        if role is None:
            return True
        return any(same(key, k) for k in (self.keys.master, self.keys.roles[role]))

    async def _body(self, request: dict[str, Any], receive: Receive) -> bytes | Answer:
        declared = request["headers"].get("content-length")
        if declared is not None and int(declared) > self.max_body:  # h11 let through digits only
            return Answer.error(413, "PayloadTooLarge", f"requests are at most {self.max_body} bytes")
        chunks, size, more = [], 0, True
        while more:
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout)
            except TimeoutError:
                return Answer.error(408, "RequestTimeout", "the request body did not arrive in time")
            if message["type"] == "http.disconnect":
                return Answer(400)  # nobody is listening; nothing was called
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return Answer.error(413, "PayloadTooLarge", f"requests are at most {self.max_body} bytes")
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    async def _in_thread(self, function: Callable[..., Answer], *args: Any) -> Answer:
        return await asyncio.get_running_loop().run_in_executor(self.pool, function, *args)


def _not_allowed(method: str, allowed: set[str]) -> Answer:
    message = f"{method[:16]} is not allowed here"
    return Answer.error(405, "MethodNotAllowed", message, allow=", ".join(sorted(allowed)))


def same(sent: bytes | None, key: str) -> bool:
    """Whether a key sent (any bytes, or none) is `key`, in constant time."""
    return sent is not None and hmac.compare_digest(sent, key.encode())


def _facts(scope: dict[str, Any]) -> dict[str, Any]:
    """What the front end and the functions need of a request, decoded once."""
    raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw_headers}
    query = scope.get("query_string", b"").decode("latin-1")
    params = dict(parse_qsl(query, keep_blank_values=True))
    raw_key = next((v for k, v in raw_headers if k.lower() == b"x-functions-key"), None)
    key = raw_key if raw_key is not None else (params["code"].encode() if "code" in params else None)
    raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
    segments = [_decoded(s) for s in raw_path.strip("/").split("/")]
    return {
        "method": scope["method"],
        "path": "/" + "/".join(segments),
        "target": raw_path + (f"?{query}" if query else ""),
        "segments": segments,
        "headers": headers,
        "params": params,
        "key": key,
    }


def _decoded(segment: str) -> str:
    """A path segment percent-decoded (UTF-8), except an encoded slash, which ASP.NET leaves as is."""
    parts = segment.replace("%2f", "%2F").split("%2F")
    return "%2F".join(unquote(part, errors="replace") for part in parts)
