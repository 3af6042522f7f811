"""Publishing CloudEvents to an Event Grid topic (the job watcher's ASR job changes)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from azure.core.credentials import AzureKeyCredential, TokenCredential
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridPublisherClient

from shared.adapters.azure_http import LoopbackHttpPolicy


class EventGridTopic:
    def __init__(self, endpoint: str, credential: AzureKeyCredential | TokenCredential, source: str) -> None:
        self._client = EventGridPublisherClient(
            endpoint, credential, per_call_policies=[LoopbackHttpPolicy()]
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
