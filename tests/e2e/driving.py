"""Driving an estate through the local host in end-to-end tests: the reconcile timer run to a
deadline, the Site Recovery mutations a VM caused, and estates started clean."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from local.estate import Estate, running_estate, tag_event
from local.stack import Azurite, LocalService, aws_client

STEPS = ("testFailover", "testFailoverCleanup", "unplannedFailover", "failoverCommit", "remove")


def drive(
    estate: Estate,
    vms: list[str],
    until: set[str],
    *,
    seconds: float = 60,
    parallel: int = 1,
    at_least: int = 1,
) -> None:
    """Runs the reconcile timer (in `parallel`) until every VM is in `until`, polling up to a deadline."""
    deadline = time.monotonic() + seconds
    passes = 0
    while time.monotonic() < deadline:
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            list(pool.map(lambda _: estate.run_timer("reconcile_timer"), range(parallel)))
        passes += 1
        if passes >= at_least and all(estate.record(vm)["phase"] in until for vm in vms):
            return
    raise AssertionError({vm: estate.record(vm)["phase"] for vm in vms})


def asr_actions(estate: Estate, vm: str) -> Counter[str]:
    item = f"azmigrate-{vm}"
    return Counter(
        e["path"].rsplit("/", 1)[-1] if e["method"] == "POST" else e["method"]
        for e in estate.sim.vault.ledger
        if e["status"] == 202 and e["item"] == item
    )


def retire_instances(moto: LocalService) -> None:
    """Terminates the instances earlier tests left in the worker's moto server: a new estate would
    take them in (their opt-in tags say yes) and they would take a failure injected for this test."""
    ec2 = aws_client(moto.url, "ec2")
    alive = [
        i["InstanceId"]
        for page in ec2.get_paginator("describe_instances").paginate()
        for reservation in page["Reservations"]
        for i in reservation["Instances"]
        if i["State"]["Name"] != "terminated"
    ]
    if alive:
        ec2.terminate_instances(InstanceIds=alive)


@pytest.fixture
def estate_with(azurite: Azurite, moto_server: LocalService) -> Iterator[Callable[..., Estate]]:
    stack: list[Any] = []
    retire_instances(moto_server)

    def make(**settings: str) -> Estate:
        context = running_estate(azurite, moto_server, settings=settings)
        stack.append(context)
        return context.__enter__()

    yield make
    for context in reversed(stack):
        context.__exit__(None, None, None)


def mutations(estate: Estate, vm: str) -> int:
    return sum(asr_actions(estate, vm).values())


def replicating_slowly(estate: Estate, vms: list[str]) -> Callable[[], None]:
    """Takes `vms` in and drives them into an initial replication that takes its time; the answer
    lets replication complete at the simulator's usual speed."""
    bandwidth = estate.sim.vault.bandwidth_gb_per_s
    estate.sim.vault.bandwidth_gb_per_s = bandwidth / 10_000
    for vm in vms:
        estate.post("/api/ec2-events", tag_event(vm))
    drive(estate, vms, {"initial_replication"}, seconds=120)

    def complete() -> None:
        estate.sim.vault.bandwidth_gb_per_s = bandwidth

    return complete


def drive_until(estate: Estate, done: Callable[[], bool], seconds: float = 90) -> None:
    """Runs the reconcile timer until `done`, polling up to a deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        estate.run_timer("reconcile_timer")
        if done():
            return
    raise AssertionError("not reached before the deadline")


def ec2_state(estate: Estate, vm: str) -> str:
    reservations = aws_client(estate.moto.url, "ec2").describe_instances(InstanceIds=[vm])["Reservations"]
    return str(reservations[0]["Instances"][0]["State"]["Name"])


def timeline(estate: Estate, vm: str) -> list[dict[str, str]]:
    return list(estate.get(f"/api/migrations/{vm}")[1]["timeline"])
