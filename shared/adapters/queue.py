"""The work queue on Azure Storage Queues: events and timers put work here; queue-triggered workers
take it. The Functions host owns delivery (batching, visibility, retries, the `-poison` queue).

Messages are JSON `WorkItem`s, base64-encoded: the queue trigger's default `messageEncoding`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError
from azure.storage.queue import LinearRetry, QueueServiceClient, TextBase64EncodePolicy

from shared.errors import ActionRefused, CloudUnavailable, ErrorCode
from shared.model.work import WorkItem

POISON_SUFFIX = "-poison"  # the Functions host's name for a queue's dead letters


class WorkQueue:
    def __init__(self, service: QueueServiceClient, name: str) -> None:
        self.name = name
        self._queue = service.get_queue_client(name, message_encode_policy=TextBase64EncodePolicy())
        self._poison = service.get_queue_client(name + POISON_SUFFIX)

    def ensure(self) -> None:
        """The queue and its poison queue exist (the host creates the poison queue only on first use)."""
        for queue in (self._queue, self._poison):
            with _translated(f"creating queue {queue.queue_name}"), contextlib.suppress(ResourceExistsError):
                queue.create_queue()

    def send(self, items: Iterable[WorkItem]) -> int:
        """Each item durably queued before this returns; a failure raises (nothing is half-said:
        items sent before it are work a worker simply does)."""
        sent = 0
        for item in items:
            with _translated(f"queueing work on {self.name}"):
                self._queue.send_message(item.model_dump_json(exclude_defaults=True))
            sent += 1
        return sent

    def depth(self) -> int:
        """Messages waiting or being worked (invisible ones count): 0 means all work is done."""
        with _translated(f"reading the length of {self.name}"):
            return int(self._queue.get_queue_properties().approximate_message_count or 0)

    def poisoned(self) -> int:
        with _translated(f"reading the length of {self.name}{POISON_SUFFIX}"):
            return int(self._poison.get_queue_properties().approximate_message_count or 0)


def open_queue_service(
    *, connection: str | None, account_url: str | None, credential: TokenCredential | None = None
) -> QueueServiceClient:
    """Retries briefly: an event is answered within EventBridge's 5 s, and a 503 it retries is
    better than an answer it gives up on (the SDK's default retries for about a minute)."""
    options: dict[str, Any] = {
        "retry_policy": LinearRetry(backoff=1, random_jitter_range=0, retry_total=2),
        "connection_timeout": 2,
        "read_timeout": 5,
    }
    if connection:
        return QueueServiceClient.from_connection_string(connection, **options)
    if account_url:
        return QueueServiceClient(account_url=account_url, credential=credential, **options)
    raise ActionRefused(ErrorCode.CONFIGURATION, "need a Queue connection string or an account URL")


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except HttpResponseError as error:
        status = error.status_code or 0
        if 400 <= status < 500 and status not in {408, 429}:
            raise ActionRefused(
                ErrorCode.CLOUD_REFUSED, f"Queue Storage refused {what}: {error.reason}"
            ) from error
        raise CloudUnavailable(f"Queue Storage failed {what}: {error.reason}") from error
    except AzureError as error:
        raise CloudUnavailable(f"Queue Storage unreachable {what}: {type(error).__name__}") from error
