"""Publishing CloudEvents to an Event Grid topic: the job watcher's ASR job changes, and the
records' transition events (with the ids the outbox gave them, so a consumer dedupes)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from azure.core.credentials import AzureKeyCredential, TokenCredential
from azure.core.exceptions import AzureError
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridPublisherClient

from shared.adapters.azure_http import LoopbackHttpPolicy
from shared.errors import CloudUnavailable
from shared.model.records import OutboxEvent


class EventGridTopic:
    def __init__(self, endpoint: str, credential: AzureKeyCredential | TokenCredential, source: str) -> None:
        # Few, quick retries: a transition's events wait in its record's outbox for the next pass,
        # so a topic in trouble must not hold a pass for azure-core's default minutes of retries.
        self._client = EventGridPublisherClient(
            endpoint,
            credential,
            per_call_policies=[LoopbackHttpPolicy()],
            retry_total=2,
            retry_backoff_factor=0.5,
        )
        self._source = source

    def send(self, event_type: str, events: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """One call for all `events`, each a (subject, data) pair."""
        self._client.send(
            [
                CloudEvent(source=self._source, type=event_type, subject=subject, data=data)
                for subject, data in events
            ]
        )

    def publish(self, events: list[OutboxEvent]) -> None:
        """Transition events, one call; CloudUnavailable when the topic did not take them."""
        cloud_events = [
            CloudEvent(
                source=self._source,
                type=e.type,
                subject=str(e.data.get("instanceId", "")),
                data=e.data,
                id=e.id,
                time=e.time,
            )
            for e in events
        ]
        try:
            self._client.send(cloud_events)
        except AzureError as error:
            raise CloudUnavailable(
                f"the Event Grid topic did not take {len(events)} events: {error}"
            ) from None
