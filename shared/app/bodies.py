"""The one reader of JSON request bodies: bounded in size and nesting, strict UTF-8, strict JSON.

Every HTTP body the app takes goes through `read_json` before a model sees it, so no sender can
make the parser recurse, allocate or guess: too large is a 413, anything else malformed a 400, and
nothing has been written when either is raised.
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn, TypeVar

from pydantic import BaseModel, ValidationError

from shared.errors import ErrorCode, InvalidInput, PayloadTooLarge

M = TypeVar("M", bound=BaseModel)
MAX_DEPTH = 32  # the deepest real payload we take (a common-alert context) is under 10
# A string literal, so that brackets inside strings are not counted as nesting.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def read_json(body: bytes, *, max_bytes: int, code: ErrorCode, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value in `body`. PayloadTooLarge past `max_bytes`; InvalidInput (with `code`) when it
    is not UTF-8, not JSON, nested deeper than `max_depth`, has a repeated key or NaN/Infinity."""
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"the body is {len(body)} bytes; at most {max_bytes}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the body is not UTF-8", code=code) from None
    if _depth(text) > max_depth:
        raise InvalidInput(f"the JSON is nested deeper than {max_depth} levels", code=code)
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except (json.JSONDecodeError, _Refused) as error:
        raise InvalidInput(f"the body is not JSON: {error}", code=code) from None


def read_model(body: bytes, model: type[M], *, max_bytes: int, code: ErrorCode, what: str) -> M:
    """`body` read by `read_json`, then validated as `model`; each field error named in the 400."""
    value = read_json(body, max_bytes=max_bytes, code=code)
    try:
        return model.model_validate(value)
    except ValidationError as error:
        refuse(error, code=code, what=what)


def refuse(error: ValidationError, *, code: ErrorCode, what: str) -> NoReturn:
    """A validation error as one InvalidInput naming each field, never echoing the values sent."""
    raise InvalidInput(f"not {what}: {field_errors(error)}", code=code) from None


def field_errors(error: ValidationError) -> str:
    """Each failed field and why, without the value sent (it may be huge, or a secret)."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors())


class _Refused(ValueError):
    pass


def _depth(text: str) -> int:
    deepest = depth = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _Refused("a key is repeated in one object")
    return found


def _no_constant(name: str) -> NoReturn:
    raise _Refused(f"{name} is not JSON")
