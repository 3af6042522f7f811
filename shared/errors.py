"""Every error the app raises on purpose, split by what the caller should do next.

`RetryableError`: the same call may succeed later (re-read and re-decide, or back off).
`TerminalError`: repeating the call cannot help; a person or a different input must change.
Triggers map these to responses (retryable -> 5xx/429 for the sender to retry, terminal -> 4xx).
"""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

T = TypeVar("T")


class AutopilotError(Exception):
    retryable: ClassVar[bool] = False


class RetryableError(AutopilotError):
    retryable = True


class TerminalError(AutopilotError):
    retryable = False


class ConfigError(TerminalError):
    """A setting is missing or malformed. The message names each setting and never its value."""


class InvalidInput(TerminalError):
    """Input failed validation before anything was written."""


class EntityTooLarge(InvalidInput):
    """The record would not fit Table Storage's limits even after truncating free text."""


class AlreadyExists(TerminalError):
    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} already exists")
        self.kind = kind
        self.key = key


class RecordNotFound(TerminalError):
    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class ConcurrencyConflict(RetryableError, Generic[T]):
    """Someone else wrote first. `current` is what they wrote (None if it was deleted): re-decide from it."""

    def __init__(self, key: str, current: T | None) -> None:
        super().__init__(f"{key!r} was changed by another writer; re-read and decide again")
        self.key = key
        self.current = current


class IllegalTransition(TerminalError):
    """A phase change the lifecycle does not allow; raised whoever asks for it."""

    def __init__(self, source: str, target: str, allowed: list[str]) -> None:
        super().__init__(
            f"cannot go from {source} to {target}; allowed: {', '.join(allowed) or 'none (terminal)'}"
        )
        self.source, self.target = source, target


class SuspiciousEvent(TerminalError):
    """An event id we have seen before arrived with a different payload: never treated as a duplicate."""


class CloudUnavailable(RetryableError):
    """AWS or Azure did not answer usefully (network, 5xx, throttling) after the SDK's own retries."""


class ActionRefused(TerminalError):
    """The cloud refused an action as asked (ARM 4xx): repeating it unchanged cannot help."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class StoreUnavailable(RetryableError):
    """Table Storage did not answer usefully (network, 5xx, throttling) after the SDK's own retries."""
