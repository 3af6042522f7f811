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
_SURROGATE = re.compile("[\ud800-\udfff]")  # "\\ud800" in JSON: no character, not storable


def read_json(body: bytes, *, max_bytes: int, code: ErrorCode, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value in `body`. PayloadTooLarge past `max_bytes`; InvalidInput (with `code`) when it
    is not UTF-8, not JSON, nested deeper than `max_depth`, has a repeated key, NaN/Infinity or an
    escaped lone surrogate."""
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"the body is {len(body)} bytes; at most {max_bytes}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the body is not UTF-8", code=code) from None
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except RecursionError:  # the C parser's own guard, far deeper than we take: the same refusal
        raise InvalidInput(f"the JSON is nested deeper than {max_depth} levels", code=code) from None
    except (json.JSONDecodeError, _Refused) as error:
        raise InvalidInput(f"the body is not JSON: {error}", code=code) from None
    _check(value, max_depth, code)
    return value


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


def _check(value: Any, max_depth: int, code: ErrorCode) -> None:
    """Nesting within `max_depth` and no lone surrogate in any string, in one walk (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise InvalidInput("a string holds a lone surrogate (\\ud800-\\udfff)", code=code)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > max_depth:
            raise InvalidInput(f"the JSON is nested deeper than {max_depth} levels", code=code)
        children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _Refused("a key is repeated in one object")
    return found


def _no_constant(name: str) -> NoReturn:
    raise _Refused(f"{name} is not JSON")
