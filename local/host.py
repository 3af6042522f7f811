"""A small local Functions host: the app's HTTP routes and timers, from the real function objects.

Azure Functions Core Tools cannot be installed here, so this stands in for `func start`: it indexes
`function_app.app` once, serves every HTTP trigger on 127.0.0.1 under /api/, enforces function keys
as the host does (`x-functions-key` header or `code` query parameter, except anonymous routes), runs
a timer function on `POST /admin/functions/{name}` (with the key), as the host's admin API does, and
serves every queue trigger from Azurite's Queue service with host.json's queue settings
(`local/queue_host.py`). Several hosts on the same storage share the work, as instances do.

Usage: python -m local.host --port PORT [--function-key KEY] [--message-lease SECONDS] [--retry-delay S];
settings come from the environment.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import re
import secrets
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import azure.functions as func
from azure.functions.timer import TimerRequest

from local.loopback_server import LoopbackHandler, LoopbackServer, stop_signal
from local.queue_host import QueueListener, QueueSettings, queue_client, resolve
from shared.app.config import load_settings
from shared.errors import ConfigError

log = logging.getLogger("local.host")
DEFAULT_MESSAGE_LEASE = 600.0  # seconds a message being worked stays invisible (the Functions host's 10 min)


@dataclass(frozen=True)
class HttpRoute:
    name: str
    pattern: re.Pattern[str]
    methods: frozenset[str]
    anonymous: bool
    handler: Any


_INDEXED: dict[int, list[Any]] = {}


def functions_of(app: func.FunctionApp) -> list[Any]:
    """The app's functions as the host indexes them; the SDK allows get_functions() once per app."""
    if id(app) not in _INDEXED:
        _INDEXED[id(app)] = list(app.get_functions())
    return _INDEXED[id(app)]


def _route_pattern(route: str) -> re.Pattern[str]:
    parts = [
        f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in route.strip("/").split("/")
    ]
    return re.compile("^/api/" + "/".join(parts) + "/?$")


class LocalHost:
    def __init__(
        self,
        app: func.FunctionApp,
        function_key: str,
        port: int = 0,
        topic_key: str | None = None,
        *,
        message_lease: float = DEFAULT_MESSAGE_LEASE,
        queue_settings: QueueSettings | None = None,
    ) -> None:
        """`queue_settings` replaces host.json's queue settings (a test's shorter retry delay)."""
        self.function_key, self.topic_key = function_key, topic_key
        self.routes: list[HttpRoute] = []
        self.timers: dict[str, Any] = {}
        self.event_grid: dict[str, Any] = {}
        self.listeners: list[QueueListener] = []
        self._working: list[QueueListener] = []  # the listeners started
        queue_settings = queue_settings or QueueSettings.from_host_json()
        self.delivered: list[dict[str, Any]] = []  # every event the topic stand-in delivered, in order
        for function in functions_of(app):
            found = function.get_trigger()
            if found is None:
                continue
            trigger = found.get_dict_repr()
            name, handler = str(function.get_function_name()), function.get_user_function()
            if trigger["type"] == "httpTrigger":
                methods = frozenset(
                    str(getattr(m, "value", m)).upper() for m in trigger.get("methods") or ["GET"]
                )
                anonymous = (
                    str(getattr(trigger.get("authLevel"), "value", trigger.get("authLevel"))) == "anonymous"
                )
                self.routes.append(
                    HttpRoute(name, _route_pattern(trigger["route"]), methods, anonymous, handler)
                )
            elif trigger["type"] == "timerTrigger":
                self.timers[name] = handler
            elif trigger["type"] == "eventGridTrigger":
                self.event_grid[name] = handler
            elif trigger["type"] == "queueTrigger":
                queue_name = resolve(trigger["queueName"])
                self.listeners.append(
                    QueueListener(
                        name,
                        handler,
                        queue_client(trigger["connection"], queue_name),
                        queue_client(trigger["connection"], queue_name + "-poison"),
                        settings=queue_settings,
                        lease_seconds=message_lease,
                    )
                )
        # Most specific first: a literal segment beats a {parameter}.
        self.routes.sort(key=lambda r: r.pattern.pattern.count("(?P<"))
        handler_type = type("Handler", (_Handler,), {"host": self})
        self.server = LoopbackServer(port, handler_type)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self, *, queues: bool = True) -> LocalHost:
        """Serves HTTP and, with `queues`, works the queue triggers' messages."""
        self.server.serve_in_background("local-host")
        self._working = [listener.start() for listener in self.listeners] if queues else []
        return self

    def stop(self) -> None:
        for listener in self._working:
            listener.stop()
        self.server.close()

    def run_timer(self, name: str) -> None:
        self.timers[name](TimerRequest(past_due=False))

    def deliver(self, cloud_event: dict[str, Any]) -> None:
        """As an Event Grid subscription would: the event to every Event Grid trigger of the app."""
        event = func.EventGridEvent(
            id=str(cloud_event.get("id", "")),
            data=dict(cloud_event.get("data") or {}),
            topic=str(cloud_event.get("source", "")),
            subject=str(cloud_event.get("subject", "")),
            event_type=str(cloud_event.get("type", "")),
            event_time=None,
            data_version=str(cloud_event.get("specversion", "1.0")),
        )
        self.delivered.append(cloud_event)
        for handler in self.event_grid.values():
            handler(event)


class _Handler(LoopbackHandler):
    host: LocalHost

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        keyed = secrets.compare_digest(
            self.headers.get("x-functions-key") or query.get("code", ""), self.host.function_key
        )
        if parts.path == "/eventgrid/topic" and method == "POST":
            self._topic(body)
            return
        timer = re.fullmatch(r"/admin/functions/([\w-]+)", parts.path)
        if timer and method == "POST":
            self._run_timer(timer.group(1), keyed)
            return
        for route in self.host.routes:
            match = route.pattern.match(parts.path)
            if match is None:
                continue
            if method not in route.methods:
                self._send(405, {"error": {"code": "MethodNotAllowed", "message": f"{method} not allowed"}})
                return
            if not route.anonymous and not keyed:
                self._send(401, None)  # the Functions host answers 401 with no body
                return
            request = func.HttpRequest(
                method,
                self.path,
                headers=dict(self.headers.items()),
                params=query,
                route_params=match.groupdict(),
                body=body,
            )
            try:
                response = route.handler(request)
            except Exception:
                log.exception("function %s failed", route.name)
                self._send(500, None)
                return
            self._send(response.status_code, response.get_body(), dict(response.headers.items()))
            return
        self._send(404, None)

    def _topic(self, body: bytes) -> None:
        """Stands in for an Event Grid custom topic (key auth): accepts a CloudEvents batch, delivers it."""
        key = self.headers.get("aeg-sas-key") or ""
        if self.host.topic_key is None or not secrets.compare_digest(key, self.host.topic_key):
            self._send(401, {"error": {"code": "Unauthorized", "message": "aeg-sas-key missing or wrong"}})
            return
        try:
            events = json.loads(body)
        except json.JSONDecodeError:
            self._send(400, {"error": {"code": "BadRequest", "message": "not JSON"}})
            return
        for event in events if isinstance(events, list) else [events]:
            try:
                self.host.deliver(event)
            except Exception:
                log.exception("event grid delivery failed")  # Event Grid would retry; the timer converges
        self._send(200, None)

    def _run_timer(self, name: str, keyed: bool) -> None:
        if not keyed:
            self._send(401, None)
        elif name not in self.host.timers:
            self._send(404, {"error": {"code": "NotFound", "message": f"no timer function {name}"}})
        else:
            try:
                self.host.run_timer(name)
            except Exception:
                log.exception("timer function %s failed", name)
                self._send(500, None)
                return
            self._send(202, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.host", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port", type=int, required=True, help="listen port on 127.0.0.1; 0 picks a free one"
    )
    parser.add_argument(
        "--function-key", default=None, help="the key callers must send (default: a random one)"
    )
    parser.add_argument(
        "--message-lease",
        type=float,
        default=DEFAULT_MESSAGE_LEASE,
        help="seconds a queue message being worked stays invisible; a killed host's messages reappear "
        "after it (default 600, the Functions host's)",
    )
    parser.add_argument(
        "--retry-delay",
        type=float,
        default=None,
        help="seconds before a failed message is delivered again (default: host.json's visibilityTimeout)",
    )
    parser.add_argument(
        "--http-only",
        action="store_true",
        help="answer HTTP only; leave the queues to other hosts (e.g. to time the HTTP triggers alone)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        load_settings()
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    import function_app  # noqa: PLC0415 - importing the app checks settings; done above with a clean message

    key = args.function_key or secrets.token_urlsafe(24)
    queues = QueueSettings.from_host_json()
    if args.retry_delay is not None:
        queues = dataclasses.replace(queues, visibility_timeout=args.retry_delay)
    stopped = stop_signal()
    host = LocalHost(
        function_app.app, key, args.port, message_lease=args.message_lease, queue_settings=queues
    ).start(queues=not args.http_only)
    print(f"local Functions host on {host.url}/api/ (function key {key})", flush=True)
    stopped.wait()
    host.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
