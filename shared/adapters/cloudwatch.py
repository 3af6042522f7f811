"""Utilisation from CloudWatch, in bulk: CPU from AWS/EC2, memory from the CloudWatch agent if present.

One paged `list_metrics` per memory metric name finds the agent's dimension sets (the agent appends
dimensions such as ImageId and InstanceType, and a query must name them all); then `get_metric_data`
takes up to 500 queries per call. The sampling period grows with the lookback so each metric returns
at most 1,440 points, and the percentiles are taken over those points. Coverage is the share of the
lookback's hours that have any point, so hourly and five-minute data both count as complete.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.adapters.aws import ClientFactory, aws_errors
from shared.model.facts import Utilisation

LINUX_MEMORY, WINDOWS_MEMORY = "mem_used_percent", "Memory % Committed Bytes In Use"
MAX_POINTS_PER_METRIC = 1_440
MAX_QUERIES_PER_CALL = 500
MAX_DATAPOINTS_PER_CALL = 100_800


def sampling_period(lookback: timedelta) -> int:
    """Seconds per point: at least 5 minutes (basic monitoring), at most 1,440 points, and a multiple
    of what CloudWatch still holds for a start that far back (60 s up to 15 days, 300 s up to 63,
    3,600 s beyond); any other period returns no data at all."""
    seconds = lookback.total_seconds() / MAX_POINTS_PER_METRIC
    step = 60 if lookback <= timedelta(days=15) else 300 if lookback <= timedelta(days=63) else 3_600
    return max(300, math.ceil(seconds / step) * step)


class MetricsAdapter:
    def __init__(self, clients: ClientFactory, *, memory_namespace: str, lookback: timedelta) -> None:
        self._clients, self._namespace, self._lookback = clients, memory_namespace, lookback

    def utilisation(self, region: str, windows: dict[str, bool], now: datetime) -> dict[str, Utilisation]:
        """`windows` maps each instance id to whether it runs Windows (the memory metric differs)."""
        if not windows:
            return {}
        cw = self._clients("cloudwatch", region)
        period = sampling_period(self._lookback)
        expected = max(1, int(self._lookback.total_seconds() // period))
        memory_dims = self._memory_dimensions(cw, region, windows)
        queries: list[dict[str, Any]] = []
        ids: dict[str, tuple[str, str]] = {}  # query id -> (instance id, cpu|memory)
        for n, instance_id in enumerate(sorted(windows)):
            cpu = _metric("AWS/EC2", "CPUUtilization", [{"Name": "InstanceId", "Value": instance_id}])
            queries.append(_query(f"c{n}", cpu, period))
            ids[f"c{n}"] = (instance_id, "cpu")
            if instance_id in memory_dims:
                name = WINDOWS_MEMORY if windows[instance_id] else LINUX_MEMORY
                memory = _metric(self._namespace, name, memory_dims[instance_id])
                queries.append(_query(f"m{n}", memory, period))
                ids[f"m{n}"] = (instance_id, "memory")
        series: dict[str, Series] = {}
        per_call = max(1, min(MAX_QUERIES_PER_CALL, MAX_DATAPOINTS_PER_CALL // expected))
        for batch in _batches(queries, per_call):
            for result in self._results(cw, region, batch, now):
                found = series.setdefault(result["Id"], Series())
                found.values += [float(v) for v in result.get("Values", [])]
                found.hours |= {_hour(t) for t in result.get("Timestamps", [])}
        hours = max(1, int(self._lookback.total_seconds() // 3_600))
        return {i: _summary(i, ids, series, hours) for i in windows}

    def _memory_dimensions(
        self, cw: Any, region: str, windows: dict[str, bool]
    ) -> dict[str, list[dict[str, str]]]:
        found: dict[str, list[dict[str, str]]] = {}
        for name in {WINDOWS_MEMORY if w else LINUX_MEMORY for w in windows.values()}:
            with aws_errors(f"listing {self._namespace} metrics in {region}"):
                pages = cw.get_paginator("list_metrics").paginate(Namespace=self._namespace, MetricName=name)
                for page in pages:
                    for metric in page["Metrics"]:
                        dims = metric.get("Dimensions", [])
                        owner = next((d["Value"] for d in dims if d["Name"] == "InstanceId"), None)
                        if owner in windows and owner not in found:
                            found[owner] = dims
        return found

    def _results(
        self, cw: Any, region: str, batch: list[dict[str, Any]], now: datetime
    ) -> Iterator[dict[str, Any]]:
        with aws_errors(f"reading metrics in {region}"):
            pages = cw.get_paginator("get_metric_data").paginate(
                MetricDataQueries=batch, StartTime=now - self._lookback, EndTime=now
            )
            for page in pages:
                yield from page["MetricDataResults"]


def _metric(namespace: str, name: str, dims: list[dict[str, str]]) -> dict[str, Any]:
    return {"Namespace": namespace, "MetricName": name, "Dimensions": dims}


def _query(query_id: str, metric: dict[str, Any], period: int) -> dict[str, Any]:
    return {"Id": query_id, "MetricStat": {"Metric": metric, "Period": period, "Stat": "Average"}}


def _batches(queries: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(queries), size):
        yield queries[start : start + size]


@dataclass
class Series:
    values: list[float] = field(default_factory=list)
    hours: set[datetime] = field(default_factory=set)


def _hour(stamp: datetime) -> datetime:
    return stamp.replace(minute=0, second=0, microsecond=0)


def _summary(
    instance_id: str, ids: dict[str, tuple[str, str]], series: dict[str, Series], hours: int
) -> Utilisation:
    mine = {kind: series.get(q, Series()) for q, (i, kind) in ids.items() if i == instance_id}
    cpu, memory = mine.get("cpu", Series()), mine.get("memory", Series())
    return Utilisation(
        cpu_p95=percentile(cpu.values, 95),
        memory_p95=percentile(memory.values, 95),
        cpu_coverage=min(1.0, len(cpu.hours) / hours),
        memory_coverage=min(1.0, len(memory.hours) / hours),
    )


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile: a value that was really observed, never an interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
