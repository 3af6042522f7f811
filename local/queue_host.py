"""Queue triggers served as the Functions host serves them, from Azurite's Queue service.

For each queue trigger of the app: poll the queue (backing off to host.json's `maxPollingInterval`
while it is empty), take at most `batchSize` messages at once and run them in parallel, decode them
per `messageEncoding`, delete a message when its function returns; when it raises, make it visible
again after `visibilityTimeout`; once it has been delivered `maxDequeueCount` times and failed (or is
found delivered more often than that: a worker died holding it), move it to `<queue>-poison`.

A message being worked is invisible for `lease_seconds` (the Functions host uses 10 minutes and
renews; this stand-in does not renew, so keep work per message shorter than the lease): a host
killed mid-message leaves it to reappear then, for another host to work.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.functions.queue import QueueMessage
from azure.storage.queue import QueueClient
from azure.storage.queue import QueueMessage as StoredMessage

log = logging.getLogger("local.queue_host")
HOST_JSON = Path(__file__).resolve().parents[1] / "host.json"
MIN_POLL_SECONDS = 0.1
_TIMESPAN = re.compile(r"^(\d+):(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class QueueSettings:
    """host.json's `extensions.queues`, with the Functions host's defaults."""

    batch_size: int = 16
    max_dequeue_count: int = 5
    visibility_timeout: float = 0.0
    max_polling_interval: float = 60.0
    message_encoding: str = "base64"

    @classmethod
    def from_host_json(cls, path: Path = HOST_JSON) -> QueueSettings:
        queues = json.loads(path.read_text()).get("extensions", {}).get("queues", {})
        defaults = cls()
        return cls(
            batch_size=int(queues.get("batchSize", defaults.batch_size)),
            max_dequeue_count=int(queues.get("maxDequeueCount", defaults.max_dequeue_count)),
            visibility_timeout=_seconds(queues.get("visibilityTimeout"), defaults.visibility_timeout),
            max_polling_interval=_seconds(queues.get("maxPollingInterval"), defaults.max_polling_interval),
            message_encoding=str(queues.get("messageEncoding", defaults.message_encoding)),
        )


def _seconds(timespan: str | None, default: float) -> float:
    if timespan is None:
        return default
    match = _TIMESPAN.match(timespan)
    if match is None:
        raise ValueError(f"host.json: {timespan!r} is not a hh:mm:ss timespan")
    hours, minutes, seconds = (int(part) for part in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


def resolve(binding: str) -> str:
    """`%NAME%` binding expressions from the app settings, as the host resolves them."""

    def setting(match: re.Match[str]) -> str:
        value = os.environ.get(match.group(1))
        if not value:
            raise LookupError(f"binding expression %{match.group(1)}% names an app setting that is not set")
        return value

    return re.sub(r"%([A-Za-z0-9_]+)%", setting, binding)


def queue_client(
    connection_setting: str, queue_name: str, settings: Mapping[str, str] | None = None
) -> QueueClient:
    """The queue a trigger binds: its connection string from the app settings (the environment)."""
    connection = (os.environ if settings is None else settings).get(connection_setting)
    if not connection:
        raise LookupError(f"the queue trigger's connection {connection_setting} is not set")
    return QueueClient.from_connection_string(connection, queue_name)


class QueueListener:
    """One queue trigger: its queue, its function, and the host.json rules."""

    def __init__(
        self,
        name: str,
        handler: Any,
        queue: QueueClient,
        poison: QueueClient,
        *,
        settings: QueueSettings,
        lease_seconds: float,
    ) -> None:
        self.name, self.handler, self.queue, self.poison = name, handler, queue, poison
        self.settings, self.lease = settings, int(lease_seconds)
        self._stop = threading.Event()
        self._slots = threading.Semaphore(settings.batch_size)
        self._pool = ThreadPoolExecutor(settings.batch_size, thread_name_prefix=f"queue-{name}")
        self._thread = threading.Thread(target=self._poll, name=f"poll-{name}", daemon=True)
        self.worked = 0  # messages whose function returned
        self.failed = 0  # deliveries whose function raised

    def start(self) -> QueueListener:
        for queue in (self.queue, self.poison):
            with contextlib.suppress(ResourceExistsError):
                queue.create_queue()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._pool.shutdown(wait=True)

    def _poll(self) -> None:
        wait = MIN_POLL_SECONDS
        while not self._stop.is_set():
            free = self._free_slots()
            try:
                taken = (
                    list(self.queue.receive_messages(max_messages=free, visibility_timeout=self.lease))[:free]
                    if free
                    else []
                )
            except AzureError as error:
                log.warning("%s: queue unreadable: %s", self.name, type(error).__name__)
                taken = []
            for message in taken:
                self._pool.submit(self._deliver, message)
            for _ in range(free - len(taken)):
                self._slots.release()
            wait = MIN_POLL_SECONDS if taken else min(wait * 2, self.settings.max_polling_interval)
            self._stop.wait(wait if not taken else 0)

    def _free_slots(self) -> int:
        """Claims every free slot (at least one, waiting for it): messages are taken only when a
        worker is free to start them, so none waits out its lease in a local backlog."""
        if not self._slots.acquire(timeout=1):
            return 0
        free = 1
        while free < self.settings.batch_size and self._slots.acquire(blocking=False):
            free += 1
        return free

    def _deliver(self, message: StoredMessage) -> None:
        count = int(message.dequeue_count or 1)
        log.info("%s: message %s started (delivery %d)", self.name, message.id, count)
        try:
            if count > self.settings.max_dequeue_count:
                self._to_poison(message, f"delivered {count} times")
                return
            body = self._decoded(str(message.content))
            delivered = QueueMessage(  # type: ignore[no-untyped-call]  # the SDK leaves it untyped
                id=message.id, body=body, dequeue_count=count, pop_receipt=message.pop_receipt
            )
            try:
                self.handler(delivered)
            except Exception as error:  # the function failed: as the host, retry then poison
                self.failed += 1
                log.warning("%s: message %s failed (delivery %d): %s", self.name, message.id, count, error)
                if count >= self.settings.max_dequeue_count:
                    self._to_poison(message, str(error))
                else:
                    self.queue.update_message(
                        message,
                        pop_receipt=message.pop_receipt,
                        visibility_timeout=int(self.settings.visibility_timeout),
                    )
                return
            self.queue.delete_message(message)
            self.worked += 1
        except AzureError as error:  # the lease lapsed or storage failed: the message comes back
            log.warning("%s: message %s not settled: %s", self.name, message.id, type(error).__name__)
        finally:
            log.info("%s: message %s settled", self.name, message.id)
            self._slots.release()

    def _decoded(self, content: str) -> bytes:
        if self.settings.message_encoding == "base64":
            return base64.b64decode(content)
        return content.encode()

    def _to_poison(self, message: StoredMessage, why: str) -> None:
        log.error("%s: message %s moved to %s: %s", self.name, message.id, self.poison.queue_name, why)
        self.poison.send_message(message.content)
        self.queue.delete_message(message)


def wait_until_empty(queues: list[QueueClient], timeout: float) -> None:
    """Polls until every queue holds no message (waiting or being worked), or raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(int(q.get_queue_properties().approximate_message_count or 0) == 0 for q in queues):
            return
        time.sleep(0.05)  # polling the queue's length, bounded by the deadline
    raise TimeoutError(f"queues {[q.queue_name for q in queues]} still held work after {timeout:.0f}s")
