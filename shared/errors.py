"""Every error the app raises on purpose, split by what the caller should do next, and the codes
of the app's own errors, in one place.

`RetryableError`: the same call may succeed later (re-read and re-decide, or back off).
`TerminalError`: repeating the call cannot help; a person or a different input must change.
Each error carries the HTTP status and `ErrorCode` an HTTP trigger answers with
(`shared.app.http.http_errors`): retryable -> 503 for the sender to retry; bad input -> its 4xx;
anything else that is not the sender's fault -> 500.

Codes recorded on a VM also come from outside (ASR's job error codes, the assessment's check codes)
and, when a failed ASR job names no code, `<step>-failed` after its retry counter (`core.retry`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Generic, TypeVar

T = TypeVar("T")
MAX_HOLD_SECONDS = 300.0  # a throttled cloud's Retry-After beyond this is taken as this (a bad header)


class ErrorCode(StrEnum):
    """The codes in the app's HTTP error answers and in the errors it records on a VM."""

    # HTTP answers
    SERVICE_UNAVAILABLE = "ServiceUnavailable"  # every retryable failure: try again later
    INTERNAL_ERROR = "InternalError"  # not the sender's fault, and retrying will not help
    CLOUD_REFUSED = "CloudRefused"  # AWS or Azure refused a call the app made
    INVALID_INPUT = "InvalidInput"
    INVALID_EVENT = "InvalidEvent"
    INVALID_ALERT = "InvalidAlert"
    INVALID_INSTANCE_ID = "InvalidInstanceId"
    INVALID_FORMAT = "InvalidFormat"
    INVALID_WAVE = "InvalidWave"
    PAYLOAD_TOO_LARGE = "PayloadTooLarge"
    FOREIGN_EVENT = "ForeignEvent"
    REPLAYED_EVENT_ID = "ReplayedEventId"
    NOT_FOUND = "NotFound"
    NOT_APPROVABLE = "NotApprovable"
    COMMAND_REFUSED = "CommandRefused"
    UNKNOWN_COMMAND = "UnknownCommand"
    ILLEGAL_TRANSITION = "IllegalTransition"
    CONFIGURATION = "ConfigurationError"
    # recorded on a VM (last_error.code) when a step fails
    GUEST_CHECK_FAILED = "GuestCheckFailed"
    AGENT_INSTALL_FAILED = "AgentInstallFailed"
    NOT_DISCOVERED = "NotDiscovered"
    ITEM_MISSING = "ItemMissing"
    TEST_FAILOVER_FAILED = "TestFailoverFailed"
    TEST_VALIDATION_FAILED = "TestValidationFailed"
    FAILOVER_FAILED = "FailoverFailed"
    SOURCE_TERMINATED = "SourceTerminated"
    SOURCE_NOT_STOPPED = "SourceNotStopped"
    SOURCE_NOT_STARTED = "SourceNotStarted"
    PHASE_DEADLINE = "PhaseDeadline"
    INSTANCE_NOT_FOUND = "InstanceNotFound"
    MACHINE_NOT_DISCOVERED = "MachineNotDiscovered"


class AutopilotError(Exception):
    retryable: ClassVar[bool] = False
    http_status: ClassVar[int] = 500
    code: ErrorCode = ErrorCode.INTERNAL_ERROR


class RetryableError(AutopilotError):
    retryable = True
    http_status = 503
    code = ErrorCode.SERVICE_UNAVAILABLE


class TerminalError(AutopilotError):
    retryable = False


class ConfigError(TerminalError):
    """A setting is missing or malformed. The message names each setting and never its value."""

    http_status = 500
    code = ErrorCode.CONFIGURATION


class InvalidInput(TerminalError):
    """Input failed validation before anything was written. `code` says which input, for HTTP answers."""

    http_status = 400

    def __init__(self, message: str, *, code: ErrorCode = ErrorCode.INVALID_INPUT) -> None:
        super().__init__(message)
        self.code = code


class PayloadTooLarge(InvalidInput):
    http_status = 413

    def __init__(self, message: str) -> None:
        super().__init__(message, code=ErrorCode.PAYLOAD_TOO_LARGE)


class ForeignInput(TerminalError):
    """Well-formed input from a sender this app does not serve (an AWS account or region not listed)."""

    http_status = 403
    code = ErrorCode.FOREIGN_EVENT


class EntityTooLarge(InvalidInput):
    """The record would not fit Table Storage's limits even after truncating free text: the app's own
    record, so not the sender's fault."""

    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message, code=ErrorCode.INTERNAL_ERROR)


class StoredDataInvalid(InvalidInput):
    """What the store holds no longer matches the model (a hand-edited row, a downgrade)."""

    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message, code=ErrorCode.INTERNAL_ERROR)


class AlreadyExists(TerminalError):
    http_status = 409

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} already exists")
        self.kind = kind
        self.key = key


class RecordNotFound(TerminalError):
    http_status = 404
    code = ErrorCode.NOT_FOUND

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"no {kind} for {key}")
        self.kind = kind
        self.key = key


class ConcurrencyConflict(RetryableError, Generic[T]):
    """Someone else wrote first. `current` is what they wrote (None if it was deleted): re-decide from it."""

    def __init__(self, key: str, current: T | None) -> None:
        super().__init__(f"{key!r} was changed by another writer; re-read and decide again")
        self.key = key
        self.current = current


class ServiceBusy(RetryableError):
    """The work could not be done now (a record kept changing under us): the sender should retry."""


class IllegalTransition(TerminalError):
    """A phase change the lifecycle does not allow; raised whoever asks for it."""

    http_status = 409
    code = ErrorCode.ILLEGAL_TRANSITION

    def __init__(self, source: str, target: str, allowed: list[str]) -> None:
        super().__init__(
            f"cannot go from {source} to {target}; allowed: {', '.join(allowed) or 'none (terminal)'}"
        )
        self.source, self.target = source, target


class CommandRefused(TerminalError):
    """An operator command the VM's phase does not allow (e.g. approving a cutover already running)."""

    http_status = 409

    def __init__(self, message: str, *, code: ErrorCode) -> None:
        super().__init__(message)
        self.code = code


class SuspiciousEvent(TerminalError):
    """An event id we have seen before arrived with a different payload: never treated as a duplicate."""

    http_status = 409
    code = ErrorCode.REPLAYED_EVENT_ID


class LeaseExpired(RetryableError):
    """An intent outlived its lease before its effect was sent: another writer may have taken it over,
    so the effect is dropped and the next pass decides again."""


class CloudUnavailable(RetryableError):
    """AWS or Azure did not answer usefully (network, 5xx, throttling) after the SDK's own retries."""


class ActionRefused(TerminalError):
    """The cloud refused an action as asked (ARM 4xx): repeating it unchanged cannot help."""

    code = ErrorCode.CLOUD_REFUSED

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.cloud_code = code


class StoreUnavailable(RetryableError):
    """Table Storage did not answer usefully (network, 5xx, throttling) after the SDK's own retries."""
