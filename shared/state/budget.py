"""Rate budgets shared by every worker: ARM writes per subscription, AWS mutations per account and
region. Each budget counts per window (a second, or longer for rates under one a second) in one
Table row; a worker claims a slice of the window's allowance by compare-and-swap on the row's ETag
and spends it locally, so however many instances run, the calls in a window never exceed the
allowance. A slice unspent when its window ends is lost: the budget errs on the side of fewer calls.

When the cloud answers 429 with Retry-After anyway (another client shares the limit, or the real
limit is lower than the setting), `hold` stamps the row: no worker claims from it until then.

Table `<prefix>Budgets`: PartitionKey `budget`, RowKey `<name>` or `<name>~<key>` (e.g. the account
and region); fields `window` (window number since the epoch), `used` (allowance claimed in it) and
`held_until` (epoch seconds before which nothing is claimed).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.data.tables import TableEntity, TableServiceClient

from shared.errors import MAX_HOLD_SECONDS, StoreUnavailable
from shared.state.table import UNSAFE_KEY, ContendedRows

log = logging.getLogger(__name__)
CLAIM_TRIES = 5  # compare-and-swap races lost before the worker waits for the next window
SpendHook = Callable[[str, int], None]  # (budget key, window number): one call spent
T = TypeVar("T")
Change = Callable[[TableEntity | None], tuple[dict[str, Any] | None, T]]  # row -> (new row, answer)


@dataclass
class _Slice:
    window: int = -1
    left: int = 0


class TableBudget:
    def __init__(
        self,
        service: TableServiceClient,
        table_prefix: str,
        name: str,
        per_second: float,
        *,
        workers_hint: int = 4,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_spend: SpendHook | None = None,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.name = name
        self.window_seconds = max(1.0, 1.0 / per_second)
        self.allowance = max(1, math.floor(per_second * self.window_seconds))
        self._slice_size = max(1, self.allowance // max(1, workers_hint))
        self._rows = ContendedRows(service, f"{table_prefix}Budgets")
        self._clock, self._sleep, self._on_spend = clock, sleep, on_spend
        self._slices: dict[str, _Slice] = {}
        self._held: dict[str, float] = {}  # key -> epoch seconds before which nothing is claimed
        self._lock = threading.Lock()

    def acquire(self, key: str = "") -> float:
        """Takes one call from the budget (of `key`), waiting for the next window when this one is
        spent; returns how long it waited."""
        waited = 0.0
        while True:
            now = self._clock()
            window = int(now // self.window_seconds)
            with self._lock:
                held = self._slices.setdefault(key, _Slice())
                if held.window == window and held.left > 0:
                    held.left -= 1
                    self._spent(key, window)
                    return waited
            claimed = self._claim(key, window)
            with self._lock:
                held = self._slices[key]
                if claimed and held.window != window:
                    held.window, held.left = window, claimed
                elif claimed:
                    held.left += claimed
                if held.window == window and held.left > 0:
                    held.left -= 1
                    self._spent(key, window)
                    return waited
            pause = max((window + 1) * self.window_seconds, self._held.get(key, 0.0)) - now
            self._sleep(pause)
            waited += pause

    def hold(self, seconds: float, key: str = "") -> None:
        """No call of `key` from any worker for `seconds` (a 429's Retry-After): this worker drops
        its slice, and the shared row says when claiming may start again."""
        until = self._clock() + min(max(seconds, 0.0), MAX_HOLD_SECONDS)
        with self._lock:
            self._held[key] = max(self._held.get(key, 0.0), until)
            self._slices.pop(key, None)

        def held(entity: TableEntity | None) -> tuple[dict[str, Any] | None, None]:
            if entity is not None and float(entity.get("held_until") or 0.0) >= until:
                return None, None  # another worker holds it as long already
            return {
                **(_fields(entity) if entity is not None else {"window": 0, "used": 0}),
                "held_until": until,
            }, None

        try:
            self._swap(key, held, None)
        except AzureError as error:  # this worker holds anyway; the others learn from their own 429s
            log.warning("the %s budget's hold was not shared: %s", self.name, type(error).__name__)

    def _row(self, key: str) -> str:
        return UNSAFE_KEY.sub("-", f"{self.name}~{key}" if key else self.name)  # Table keys forbid "/"

    def _spent(self, key: str, window: int) -> None:
        if self._on_spend is not None:
            self._on_spend(key, window)

    def _claim(self, key: str, window: int) -> int:
        """Up to a slice of `window`'s allowance, claimed on the shared row; 0 when it is spent."""

        def claimed(entity: TableEntity | None) -> tuple[dict[str, Any] | None, int]:
            if entity is None:
                take = min(self._slice_size, self.allowance)
                return {"window": window, "used": take, "held_until": 0.0}, take
            held_until = float(entity.get("held_until") or 0.0)
            if held_until > self._clock():
                with self._lock:
                    self._held[key] = max(self._held.get(key, 0.0), held_until)
                return None, 0
            used = int(entity["used"]) if int(entity["window"]) == window else 0
            if int(entity["window"]) > window or used >= self.allowance:
                return None, 0
            take = min(self._slice_size, self.allowance - used)
            return {**_fields(entity), "window": window, "used": used + take}, take

        try:
            return self._swap(key, claimed, 0)  # 0 after losing every race: wait for the next window
        except AzureError as error:
            raise StoreUnavailable(f"the {self.name} budget could not be claimed: {error}") from error

    def _swap(self, key: str, change: Change[T], lost: T) -> T:
        """Reads the key's row (None: not made yet) and writes what `change` makes of it (None: no
        write) only while the row is as read; `change`'s answer, or `lost` after CLAIM_TRIES races."""
        row = self._row(key)
        for _ in range(CLAIM_TRIES):
            try:
                entity: TableEntity | None = self._rows.table.get_entity("budget", row)
            except ResourceNotFoundError:
                entity = None
            wanted, answer = change(entity)
            if wanted is None:
                return answer
            wanted |= {"PartitionKey": "budget", "RowKey": row}
            if entity is None:
                try:
                    self._rows.table.create_entity(wanted)
                except ResourceExistsError:
                    continue
                return answer
            if self._rows.replace_if_unchanged(wanted, str(entity.metadata["etag"])):
                return answer
        return lost


def _fields(entity: TableEntity) -> dict[str, Any]:
    """A budget row's fields to write back (a claim keeps the hold, a hold keeps the claims)."""
    return {
        "window": entity["window"],
        "used": entity["used"],
        "held_until": float(entity.get("held_until") or 0.0),
    }
