"""The span tree of one reconcile pass, as the OpenTelemetry SDK's in-memory exporter holds it: the
pass, each VM's step under it (instance id, phase, attempt id, job id), the cloud calls under those."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from local.stack import Azurite, LocalService
from shared.model.phases import Phase
from tests.integration.reconcile_support import Estate, build_estate

pytestmark = pytest.mark.integration
EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """The process's tracer provider, once (OpenTelemetry allows one): spans go to memory while this
    module runs, and nowhere after it."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    trace.set_tracer_provider(provider)
    yield EXPORTER
    EXPORTER.clear()
    EXPORTER.shutdown()


@pytest.fixture
def estate(azurite: Azurite, moto_server: LocalService) -> Iterator[Estate]:
    made = build_estate(azurite, moto_server)
    yield made
    made.client.close()
    made.sim.stop()


def children(all_spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in all_spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def test_one_pass_is_one_tree(spans: InMemorySpanExporter, estate: Estate):
    [first, second] = estate.launch(2)
    spans.clear()
    estate.reconciler.reconcile(discover=True)  # takes both in and sends each its guest checks
    finished = list(spans.get_finished_spans())
    [root] = [s for s in finished if s.name == "autopilot.pass"]
    assert root.parent is None and root.attributes is not None and root.attributes["autopilot.examined"] == 2
    under_root = children(finished, root)
    vms = [s for s in under_root if s.name == "autopilot.vm"]
    assert sorted(str((s.attributes or {})["autopilot.instance_id"]) for s in vms) == sorted([first, second])
    assert {s.name for s in under_root} >= {
        "autopilot.vm",
        "autopilot.cloud.ec2_describe",
        "autopilot.cloud.asr_items",
    }
    calls = [c for vm in vms for c in children(finished, vm)]
    assert calls, "a VM's step made no cloud call in this pass"
    for call in calls:
        attributes = call.attributes or {}
        assert call.name.startswith("autopilot.cloud.")
        assert {"autopilot.instance_id", "autopilot.phase", "autopilot.attempt_id"} <= set(attributes)
        assert call.context.trace_id == root.context.trace_id
    tracked = [c for c in calls if "autopilot.job_id" in (c.attributes or {})]
    assert tracked, "no cloud call recorded the job it started"
    for vm in vms:
        attributes = vm.attributes or {}
        assert attributes["autopilot.phase"] in {p.value for p in Phase}
