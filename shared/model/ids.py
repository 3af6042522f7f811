"""The identifiers the app accepts, each with one rule used everywhere: events, routes, records, jobs.

An EC2 instance id is `i-` and 8 (older instances) or 17 lowercase hex digits, matched whole: no
10-digit id, no trailing newline (Python's `$` lets one through; `fullmatch` does not).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

# 17 before 8: a search must take the long form whole, not its first 8 digits.
INSTANCE_ID_PATTERN = r"i-(?:[0-9a-f]{17}|[0-9a-f]{8})"
_INSTANCE_ID = re.compile(INSTANCE_ID_PATTERN)
# Inside longer text (an ASR item name, an ARN): not followed by another hex digit.
_EMBEDDED = re.compile(rf"({INSTANCE_ID_PATTERN})(?![0-9a-f])")


def is_instance_id(text: str) -> bool:
    return _INSTANCE_ID.fullmatch(text) is not None


def instance_ids_in(text: str, prefix: str = "") -> list[str]:
    """Every instance id in `text` that follows `prefix` (e.g. `azmigrate-` in our ASR item names)."""
    return re.findall(re.escape(prefix) + _EMBEDDED.pattern, text)


def _instance_id(value: str) -> str:
    if not is_instance_id(value):
        raise ValueError("expected an EC2 instance id: i- and 8 or 17 lowercase hex digits")
    return value


InstanceId = Annotated[str, AfterValidator(_instance_id)]
AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$")]
Wave = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]
