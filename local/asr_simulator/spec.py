"""The published API as a checker: the vendored REST spec pieces (`tests/contract/vendor/`, each
source named in its README) turned into checks of request bodies and responses.

The simulator refuses a request the spec refuses (400 with ARM's error shape) and, when asked,
checks every answer it gives; the contract tests check what the app sends. Swagger 2.0 as the specs
use it: `$ref`, `allOf`, `discriminator` with `x-ms-discriminator-value`, `required`, `enum`, types,
`x-nullable`. Stricter than the service in one way, on purpose: a property the spec does not name
is an error, so a misspelt field (`biosId` for `biosGuid`) cannot pass unseen.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

VENDOR = Path(__file__).resolve().parents[2] / "tests" / "contract" / "vendor"
ASR_SPEC, OFFAZURE_SPEC, ARM_COMMON_SPEC = (
    "asr-2025-08-01.min.json",
    "offazure-2023-06-06.min.json",
    "armcommon-v5.min.json",
)
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


class Spec:
    def __init__(self, document: dict[str, Any]) -> None:
        self._nulls = False
        self.paths: dict[str, dict[str, Any]] = document.get("paths", {})
        self.definitions: dict[str, dict[str, Any]] = document.get("definitions", {})
        # base definition -> {discriminator value: subtype name}
        self._subtypes: dict[str, dict[str, str]] = {}
        for name, definition in self.definitions.items():
            for parent in _parents(definition):
                value = definition.get("x-ms-discriminator-value", name)
                self._subtypes.setdefault(parent, {})[value] = name

    # --- operations ------------------------------------------------------------------------------

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        """The spec's operation for `method` on a concrete ARM path (case-insensitive, as ARM is)."""
        segments = path.strip("/").lower().split("/")
        for template, operations in self.paths.items():
            wanted = template.strip("/").lower().split("/")
            if len(wanted) == len(segments) and all(
                w.startswith("{") or w == s for w, s in zip(wanted, segments, strict=True)
            ):
                found = operations.get(method.lower())
                if found is not None:
                    return dict(found)
        return None

    def body_schema(self, operation: dict[str, Any]) -> dict[str, Any] | None:
        body = next((p for p in operation.get("parameters", []) if p.get("in") == "body"), None)
        return body["schema"] if body else None

    def response_schema(self, operation: dict[str, Any], status: int) -> dict[str, Any] | None:
        response = operation.get("responses", {}).get(str(status))
        return None if response is None else response.get("schema")

    def statuses(self, operation: dict[str, Any]) -> set[int]:
        return {int(status) for status in operation.get("responses", {}) if status.isdigit()}

    # --- values ----------------------------------------------------------------------------------

    def check(
        self, schema: dict[str, Any], value: Any, *, request: bool = False, nulls: bool = False
    ) -> list[str]:
        """Every way `value` breaks `schema`, as `$.path: problem` lines; [] when it conforms.
        `request`: an empty string counts as missing for a required property (the service's rule).
        `nulls`: accept null anywhere, as the real service sends it for absent values (its recorded
        answers do, though the spec marks nothing nullable); the simulator's answers omit them."""
        self._nulls = nulls
        return list(self._check(schema, value, "$", request))

    def definition(self, name: str) -> dict[str, Any]:
        return {"$ref": f"#/definitions/{name}"}

    def _check(self, schema: dict[str, Any], value: Any, at: str, request: bool) -> Iterator[str]:
        schema = self._resolved(schema)
        if schema.get("x-stub"):
            return
        if value is None:
            if not (self._nulls or schema.get("x-nullable")):
                yield f"{at}: null where the spec allows no null"
            return
        base = self._discriminated(schema, value)
        if base is not None:
            schema, problem = base
            if problem:
                yield f"{at}: {problem}"
                return
        kind = schema.get("type") or ("object" if "properties" in schema or "allOf" in schema else None)
        if kind and not _is(kind, value):
            yield f"{at}: expected {kind}, got {type(value).__name__}"
            return
        if "enum" in schema and value not in schema["enum"]:
            yield f"{at}: {value!r} is not one of {schema['enum']}"
        if schema.get("format") == "date-time" and isinstance(value, str) and not _is_time(value):
            yield f"{at}: {value!r} is not an ISO 8601 date-time"
        if kind == "array":
            for index, element in enumerate(value):
                yield from self._check(schema.get("items", {}), element, f"{at}[{index}]", request)
        elif kind == "object":
            yield from self._check_object(schema, value, at, request)

    def _check_object(
        self, schema: dict[str, Any], value: dict[str, Any], at: str, request: bool
    ) -> Iterator[str]:
        properties, required = self._members(schema)
        extra = schema.get("additionalProperties")
        for name in required:
            if name not in value or (request and value[name] in ("", None)):
                yield f"{at}.{name}: required"
        for name, element in value.items():
            if name in properties:
                yield from self._check(properties[name], element, f"{at}.{name}", request)
            elif isinstance(extra, dict):
                yield from self._check(extra, element, f"{at}.{name}", request)
            elif extra is None and properties:
                yield f"{at}.{name}: not in the spec"

    def _members(self, schema: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Own and inherited (allOf) properties and required names."""
        properties: dict[str, Any] = {}
        required: list[str] = []
        for parent in schema.get("allOf", []):
            inherited, needed = self._members(self._resolved(parent))
            properties |= inherited
            required += needed
        properties |= schema.get("properties", {})
        required += schema.get("required", [])
        return properties, required

    def _discriminated(self, schema: dict[str, Any], value: Any) -> tuple[dict[str, Any], str] | None:
        """A polymorphic base: the subtype `value`'s discriminator names, or the problem with it."""
        name = schema.get("x-name")
        field = schema.get("discriminator")
        if not name or not field or not isinstance(value, dict):
            return None
        tag = value.get(field)
        if tag is None:
            return schema, f"{field} is required"
        subtypes = self._subtypes.get(name, {})
        if tag in subtypes:
            return self._resolved(self.definition(subtypes[tag])), ""
        if tag == schema.get("x-ms-discriminator-value", name):
            return None
        return schema, f"{field} {tag!r} is not one of {sorted(subtypes)}"

    def _resolved(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = {**self.definitions[name], "x-name": name}
        return schema


@cache
def spec(name: str = ASR_SPEC) -> Spec:
    return Spec(json.loads((VENDOR / name).read_text()))


def _parents(definition: dict[str, Any]) -> Iterator[str]:
    for parent in definition.get("allOf", []):
        if "$ref" in parent:
            yield parent["$ref"].rsplit("/", 1)[-1]


def _is(kind: str, value: Any) -> bool:
    if kind in {"integer", "number"} and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES.get(kind, (object,)))


def _is_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
