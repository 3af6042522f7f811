"""OpenTelemetry spans for the app's work: a pass, each VM's step, each cloud call, carrying the
instance id, phase, attempt id and job id as attributes (`autopilot.*`).

Only the OpenTelemetry API is used here: without a configured provider every span is a no-op, and
with one (`shared.app.telemetry`, Application Insights; or a test's in-memory exporter) the same
calls are exported. Spans started in a worker thread join the pass that started the thread through
`carried`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from opentelemetry import context, trace
from opentelemetry.trace import Span

TRACER = "migration-autopilot"
PREFIX = "autopilot."
P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def span(name: str, **attributes: str | int | None) -> Iterator[Span]:
    """A span named `name`; None attributes are left out."""
    with trace.get_tracer(TRACER).start_as_current_span(name, attributes=_attributes(attributes)) as current:
        yield current


def annotate(**attributes: str | int | None) -> None:
    """Adds attributes to the current span (what was learnt during it: the new phase, a job id)."""
    trace.get_current_span().set_attributes(_attributes(attributes))


def carried(function: Callable[P, R]) -> Callable[P, R]:
    """`function`, run in the context of the caller (a thread pool's thread has its own)."""
    captured = context.get_current()

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        token = context.attach(captured)
        try:
            return function(*args, **kwargs)
        finally:
            context.detach(token)

    return run


def _attributes(attributes: dict[str, str | int | None]) -> dict[str, str | int]:
    return {PREFIX + name: value for name, value in attributes.items() if value is not None}
