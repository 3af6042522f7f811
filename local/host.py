"""A small local Functions host: the app's HTTP routes and timers, from the real function objects.

Azure Functions Core Tools cannot be installed here, so this stands in for `func start`: it indexes
`function_app.app` once, serves every HTTP trigger on 127.0.0.1 under /api/ through a front end as
strict as Azure's (`local/front_end.py`: function-level keys per role, the master key for `/admin/`,
bounded and timed bodies), runs a timer function on `POST /admin/functions/{name}` (master key), as
the host's admin API does, stands in for the Event Grid topic, and serves every queue trigger from
Azurite's Queue service with host.json's queue settings (`local/queue_host.py`). Several hosts on
the same storage share the work, as instances do.

Usage: python -m local.host --port PORT [--key ROLE=KEY ...] [--master-key KEY] [--message-lease S]
[--retry-delay S] [--http-only]; settings come from the environment.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import secrets
import socket
import sys
import threading
import time
from typing import Any

import azure.functions as func
import uvicorn
from azure.functions.timer import TimerRequest

from local.front_end import BODY_TIMEOUT_SECONDS, Answer, FrontEnd, HostKeys, Route, Special, same
from local.loopback_server import stop_signal
from local.queue_host import QueueListener, QueueSettings, queue_client, resolve
from shared.app.bodies import read_json
from shared.app.config import load_settings
from shared.app.roles import ROLE_OF_FUNCTION, KeyRole
from shared.errors import ConfigError, ErrorCode, InvalidInput
from shared.reconcile.jobwatch import EVENT_TYPE as JOB_EVENT_TYPE

log = logging.getLogger("local.host")
DEFAULT_MESSAGE_LEASE = 600.0  # seconds a message being worked stays invisible (the Functions host's 10 min)
EVENT_GRID_BATCH_BYTES = 1024 * 1024  # Event Grid takes batches of up to 1 MB
CLOUD_EVENT_REQUIRED = ("id", "source", "specversion", "type")  # CloudEvents 1.0's required attributes


_INDEXED: dict[int, list[Any]] = {}


def functions_of(app: func.FunctionApp) -> list[Any]:
    """The app's functions as the host indexes them; the SDK allows get_functions() once per app."""
    if id(app) not in _INDEXED:
        _INDEXED[id(app)] = list(app.get_functions())
    return _INDEXED[id(app)]


class LocalHost:
    def __init__(
        self,
        app: func.FunctionApp,
        keys: HostKeys,
        port: int = 0,
        topic_key: str | None = None,
        *,
        message_lease: float = DEFAULT_MESSAGE_LEASE,
        queue_settings: QueueSettings | None = None,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
    ) -> None:
        """`queue_settings` replaces host.json's queue settings (a test's shorter retry delay)."""
        self.keys, self.topic_key = keys, topic_key
        self.routes: list[Route] = []
        self.timers: dict[str, Any] = {}
        self.event_grid: dict[str, Any] = {}
        self.listeners: list[QueueListener] = []
        self._working: list[QueueListener] = []  # the listeners started
        queue_settings = queue_settings or QueueSettings.from_host_json()
        self.delivered: list[dict[str, Any]] = []  # every event the topic stand-in delivered, in order
        self.delivery_failures: list[str] = []  # ids of events an Event Grid trigger raised on
        self.topic_events: list[dict[str, Any]] = []  # every CloudEvent the topic took, in order
        self.topic_down = False  # the topic answers 503 (an outage), taking nothing
        for function in functions_of(app):
            found = function.get_trigger()
            if found is None:
                continue
            trigger = found.get_dict_repr()
            name, handler = str(function.get_function_name()), function.get_user_function()
            if trigger["type"] == "httpTrigger":
                self.routes.append(_route(name, trigger, handler))
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
        self.routes.sort(key=lambda r: sum(s.startswith("{") for s in r.segments))
        specials = {
            "/admin/functions/": Special(lambda r: same(r["key"], keys.master), "POST", self._admin),
            "/eventgrid/topic": Special(self._topic_opens, "POST", self._topic),
        }
        self.front_end = FrontEnd(self.routes, keys, self._call, specials, body_timeout=body_timeout)
        self._socket = socket.create_server(("127.0.0.1", port), backlog=128)
        config = uvicorn.Config(
            self.front_end, lifespan="off", http="h11", log_level="warning", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._serving: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def start(self, *, queues: bool = True) -> LocalHost:
        """Serves HTTP and, with `queues`, works the queue triggers' messages."""
        self._serving = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="local-host", daemon=True
        )
        self._serving.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._serving.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the local host's HTTP server did not start")
            time.sleep(0.01)  # uvicorn says "started" by a flag only
        self._working = [listener.start() for listener in self.listeners] if queues else []
        return self

    def stop(self) -> None:
        for listener in self._working:
            listener.stop()
        self._server.should_exit = True
        if self._serving:
            self._serving.join(timeout=10)
        self._socket.close()
        self.front_end.pool.shutdown(wait=False, cancel_futures=True)

    def run_timer(self, name: str) -> None:
        self.timers[name](TimerRequest(past_due=False))

    def deliver(self, cloud_event: dict[str, Any]) -> None:
        """As an Event Grid subscription would: the event to every Event Grid trigger of the app, made
        as the Python library makes it (azure-functions-python-library azure/functions/eventgrid.py:
        Event Grid schema keys only, so a CloudEvent's type, time and source come through as None)."""
        got: Any = cloud_event.get  # the library passes what it finds, of any type, or None
        event = func.EventGridEvent(
            id=got("id"),
            data=got("data"),
            topic=got("topic"),
            subject=got("subject"),
            event_type=got("eventType"),
            event_time=None,
            data_version=got("dataVersion"),
        )
        self.delivered.append(cloud_event)
        event_id = str(got("id"))[:100]
        for name, handler in self.event_grid.items():
            try:
                handler(event)
            except Exception:  # Event Grid would retry it, then dead-letter it; the timer converges
                log.exception("event grid trigger %s raised on event %s", name, event_id)
                self.delivery_failures.append(event_id)

    def _call(self, route: Route, values: dict[str, str], request: dict[str, Any], body: bytes) -> Answer:
        http_request = func.HttpRequest(
            request["method"],
            self.url + request["target"],
            headers=request["headers"],
            params=request["params"],
            route_params=values,
            body=body,
        )
        try:
            response = route.handler(http_request)
        except Exception:
            log.exception("function %s failed", route.name)
            return Answer(500)  # the Functions host answers an unhandled error with a bare 500
        headers = {k.lower(): v for k, v in response.headers.items()}
        headers.setdefault("content-type", f"{response.mimetype}; charset={response.charset}")
        return Answer(response.status_code, response.get_body(), headers)

    def _admin(self, request: dict[str, Any], body: bytes) -> Answer:
        """POST /admin/functions/{name}: runs a timer function now, as the host's admin API does."""
        name = request["path"].removeprefix("/admin/functions/")
        if name not in self.timers:
            return Answer.error(404, "NotFound", "no timer function by that name")
        try:
            self.run_timer(name)
        except Exception:
            log.exception("timer function %s failed", name)
            return Answer(500)
        return Answer(202)

    def _topic_opens(self, request: dict[str, Any]) -> bool:
        sent = request["headers"].get("aeg-sas-key")
        if self.topic_key is None or sent is None:
            return False
        return same(sent.encode("latin-1"), self.topic_key)

    def _topic(self, request: dict[str, Any], body: bytes) -> Answer:
        """Stands in for an Event Grid custom topic (key auth): a CloudEvents 1.0 batch, each event
        with the required attributes (id, source, specversion, type), else the batch is a 400."""
        try:
            events = read_json(body, max_bytes=EVENT_GRID_BATCH_BYTES, code=ErrorCode.INVALID_INPUT)
        except InvalidInput as error:
            return Answer.error(error.http_status, "BadRequest", str(error))
        batch = events if isinstance(events, list) else [events]
        if not all(_is_cloud_event(event) for event in batch):
            return Answer.error(400, "BadRequest", f"every event needs {', '.join(CLOUD_EVENT_REQUIRED)}")
        if self.topic_down:
            return Answer.error(503, "ServiceUnavailable", "the topic is down (a test's outage)")
        self.topic_events.extend(batch)
        # The app's own subscription takes the job watcher's events only, as the Bicep filters it
        # (infra/modules/eventgrid.bicep); the transitions are for people's tools.
        for event in batch:
            if event["type"] == JOB_EVENT_TYPE:
                self.deliver(event)
        return Answer(200)


def _is_cloud_event(event: object) -> bool:
    return isinstance(event, dict) and all(isinstance(event.get(a), str) for a in CLOUD_EVENT_REQUIRED)


def _route(name: str, trigger: dict[str, Any], handler: Any) -> Route:
    methods = frozenset(str(getattr(m, "value", m)).upper() for m in trigger.get("methods") or ["GET"])
    level = str(getattr(trigger.get("authLevel"), "value", trigger.get("authLevel")))
    role = None if level == "anonymous" else ROLE_OF_FUNCTION.get(name)
    if role is None and level != "anonymous":
        raise ConfigError(f"HTTP function {name} has no key role in shared.app.roles.ROLE_OF_FUNCTION")
    segments = tuple(trigger["route"].strip("/").split("/"))
    return Route(name, segments, methods, role, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.host", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port", type=int, required=True, help="listen port on 127.0.0.1; 0 picks a free one"
    )
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="ROLE=KEY",
        help=f"a role's function key ({', '.join(KeyRole)}); a role not given gets a random key",
    )
    parser.add_argument("--master-key", default=None, help="the key for /admin/ (default: a random one)")
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
    try:
        keys = _keys(args.key, args.master_key)
    except ValueError as error:
        parser.error(str(error))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        load_settings()
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    import function_app  # noqa: PLC0415 - importing the app checks settings; done above with a clean message

    queues = QueueSettings.from_host_json()
    if args.retry_delay is not None:
        queues = dataclasses.replace(queues, visibility_timeout=args.retry_delay)
    stopped = stop_signal()
    host = LocalHost(
        function_app.app, keys, args.port, message_lease=args.message_lease, queue_settings=queues
    ).start(queues=not args.http_only)
    print(f"local Functions host on {host.url}/api/ (keys: {', '.join(KeyRole)}, master)", flush=True)
    stopped.wait()
    host.stop()
    return 0


def _keys(given: list[str], master: str | None) -> HostKeys:
    """`ROLE=KEY` pairs and the master key; random keys for the rest."""
    keys = dict(HostKeys.random().roles)
    for pair in given:
        role, sep, key = pair.partition("=")
        if not sep or role not in set(KeyRole) or not key:
            raise ValueError(f"--key takes ROLE=KEY with ROLE one of {', '.join(KeyRole)}")
        keys[KeyRole(role)] = key
    return HostKeys(keys, master or secrets.token_urlsafe(32))


if __name__ == "__main__":
    sys.exit(main())
