"""Turns our pydantic models into Table entities and back, inside Table Storage's limits.

Flat fields map to typed properties (datetimes stay datetimes so filters can compare them); nested
models and dicts are stored as compact JSON strings, because Table has no nested types. Absent
properties mean None: Table has no nulls. Limits enforced before any write: a string property holds
at most 32K characters (64 KiB as UTF-16), an entity at most 1 MiB. Free texts are already cut to size
by the models (with a marker); anything still too large is refused as `EntityTooLarge`.
"""

from __future__ import annotations

import json
import types
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from shared.errors import EntityTooLarge, StoredDataInvalid

MAX_PROPERTY_CHARS = 32_000
MAX_ENTITY_BYTES = 1_000_000  # the service's limit is 1 MiB including system properties
MAX_PROPERTIES = 252  # 255 less PartitionKey, RowKey, Timestamp
SYSTEM_PROPERTIES = frozenset({"PartitionKey", "RowKey", "Timestamp"})

M = TypeVar("M", bound=BaseModel)


@cache  # per model class: worked out once, not for every entity of a page
def nested_fields(model: type[BaseModel]) -> frozenset[str]:
    """Fields whose values are models, dicts or lists, and therefore travel as JSON strings."""
    nested = set()
    for name, field in model.model_fields.items():
        if any(_is_structured(arg) for arg in _union_members(field.annotation)):
            nested.add(name)
    return frozenset(nested)


def _union_members(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return (annotation,)


def _is_structured(annotation: Any) -> bool:
    origin = get_origin(annotation) or annotation
    return origin in (dict, list) or (isinstance(origin, type) and issubclass(origin, BaseModel))


def to_entity(model: BaseModel, partition_key: str, row_key: str, **derived: Any) -> dict[str, Any]:
    """`derived` adds query-only properties (e.g. in_flight) that are dropped again on the way back."""
    nested = nested_fields(type(model))
    entity: dict[str, Any] = {"PartitionKey": partition_key, "RowKey": row_key}
    for name, value in model.model_dump(mode="python").items():
        if value is None:
            continue
        if name in nested:
            entity[name] = _json(name, value)
        elif isinstance(value, Enum):
            entity[name] = value.value
        else:
            entity[name] = value
    entity.update(derived)
    check_limits(entity)
    return entity


def from_entity(
    model: type[M],
    entity: dict[str, Any],
    *,
    drop: frozenset[str] = frozenset(),
    add: dict[str, Any] | None = None,
) -> M:
    """`add` sets fields the entity does not carry (e.g. the ETag from its metadata) in the same
    validation, rather than in a second one."""
    nested = nested_fields(model)
    data: dict[str, Any] = dict(add or {})
    for name, value in entity.items():
        if name in SYSTEM_PROPERTIES or name in drop:
            continue
        data[name] = json.loads(value) if name in nested and isinstance(value, str) else value
    try:
        return model.model_validate(data)
    except ValidationError as error:
        key = f"{entity.get('PartitionKey')}/{entity.get('RowKey')}"
        raise StoredDataInvalid(f"stored entity {key} does not match {model.__name__}: {error}") from error


def _json(name: str, value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, default=_json_default, ensure_ascii=False)
    units = len(text.encode("utf-16-le")) // 2  # the service counts UTF-16 code units, not characters
    if units > MAX_PROPERTY_CHARS:
        raise EntityTooLarge(
            f"{name} is {units} characters as JSON; a Table property holds {MAX_PROPERTY_CHARS}"
        )
    return text


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot store {type(value).__name__} in a Table entity")


def check_limits(entity: dict[str, Any]) -> None:
    if len(entity) - 2 > MAX_PROPERTIES:
        raise EntityTooLarge(f"{len(entity) - 2} properties; a Table entity holds {MAX_PROPERTIES}")
    size = 0
    for name, value in entity.items():
        if isinstance(value, str) and len(value) > MAX_PROPERTY_CHARS:
            raise EntityTooLarge(
                f"{name} is {len(value)} characters; a Table property holds {MAX_PROPERTY_CHARS}"
            )
        size += 8 + 2 * len(name) + (2 * len(value) if isinstance(value, str) else 8)
    if size > MAX_ENTITY_BYTES:
        raise EntityTooLarge(f"entity is about {size} bytes; Table Storage takes at most {MAX_ENTITY_BYTES}")
