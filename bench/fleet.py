"""Fleet benchmarks for the queue-based scale-out. Each prints its figures and the command that made them.

  events  the answer time of POST /api/ec2-events with N VMs in the store: one sender, then a tag
          sweep (every VM's event, `--senders` at once, spread over `--hosts` host processes). The
          hosts answer HTTP only (no queue workers): answering must not depend on them. Azurite
          serves the tables and the queue; no cloud call is on this path.
  pass    a steady fleet pass (every VM waits for cutover approval: nothing changes) fanned out on
          the work queue to 1, 2 and 4 host processes: wall time, the hosts' CPU per VM, Site Recovery
          calls per VM, and record writes (0 expected), after a naive per-VM poller run for real.
          moto's EC2 is the slowest part; its calls are made by the hosts and not counted here.
          `--latency-ms` puts a proxy before each stand-in that answers that much later, as
          services over a network do: the pass then waits on answers, as in Azure, rather than on
          this machine's two cores.
  budget  ARM writes sent by `--workers` workers against the simulator's ARM write bucket, each
          paced by its own per-process limiter (the old design) and then by the shared Table budget:
          writes per second achieved against the budget, and the 429s ARM answered.

Usage: python -m bench.fleet events [--vms N] [--sweep N] [--senders N] [--hosts N]
       python -m bench.fleet pass [--vms N] [--workers 1,2,4] [--passes N] [--latency-ms L] [--no-naive]
       python -m bench.fleet budget [--workers N] [--seconds S] [--per-second R]
Figures are from this machine's stand-ins (Azurite, one Node process; the simulator in this process),
not Azure: compare changes with them, do not predict production.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Vault
from local.asr_simulator.server import Simulator
from local.estate import ACCOUNT, REGION, RG, SUB, VAULT, app_settings, tag_event
from local.fault_proxy import FaultProxy
from local.fleet import launch_waiting, protect, record_waiting
from local.front_end import HostKeys
from local.host_process import Host, running_hosts
from local.queue_host import queue_client, wait_until_empty
from local.stack import Azurite, aws_client, free_port, running_stack, start_azurite
from shared.adapters.asr import item_name_for
from shared.adapters.azure_http import retry_after_seconds
from shared.adapters.ratelimit import Pacer, RateLimiter
from shared.model.records import MigrationRecord
from shared.state.budget import TableBudget
from shared.state.table import TableStateStore, open_table_service

EVENTS = "/api/ec2-events"
ARM_WRITES = (200.0, 10.0)  # ARM's per-subscription write bucket: 200, refilled 10 a second


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return (
        f"p50 {cut[49] * 1000:6.1f} ms  p95 {cut[94] * 1000:6.1f} ms  p99 {cut[98] * 1000:6.1f} ms  "
        f"max {ordered[-1] * 1000:6.1f} ms  over 5 s: {sum(s > 5 for s in ordered)}"
    )


@contextlib.contextmanager
def _http_hosts(azurite: Azurite, count: int) -> Iterator[tuple[list[Host], dict[str, str]]]:
    """`count` host processes answering HTTP only (no queue workers), on the same tables and queue,
    as the Functions HTTP trigger scales out over instances; the senders stay in this process."""
    unused: Any = SimpleNamespace(url=f"http://127.0.0.1:{free_port()}")  # no cloud call on this path
    settings = app_settings(azurite, unused, unused)
    with running_hosts(count, dict(os.environ) | settings, HostKeys.random(), http_only=True) as hosts:
        yield hosts, settings


def _post(url: str, key: str, body: bytes) -> float:
    request = urllib.request.Request(
        f"{url}{EVENTS}",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "x-functions-key": key},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as answer:
        if answer.status != 202:
            raise RuntimeError(f"answered {answer.status}")
    return time.perf_counter() - started


def events(vms: int, sweep: int, senders: int, host_count: int = 1) -> None:
    azurite = start_azurite()
    try:
        with _http_hosts(azurite, host_count) as (hosts, settings):
            store = TableStateStore(
                open_table_service(connection=azurite.connection_string, account_url=None),
                settings["AZMIGRATE_TABLE_PREFIX"],
            )
            store.ensure_tables()
            now = datetime.now(UTC)
            ids = [f"i-{n:017x}" for n in range(vms)]
            started = time.perf_counter()
            store.create_many(
                [
                    MigrationRecord.opted_in(instance_id=i, account_id=ACCOUNT, region=REGION, now=now)
                    for i in ids
                ]
            )
            print(f"store: {vms} records written in {time.perf_counter() - started:.1f} s")
            first = hosts[0]
            single = [_post(first.url, first.keys.for_call("POST", EVENTS), tag_event(i)) for i in ids[:200]]
            print(f"one sender, {len(single)} events, {vms} VMs in the store: {_percentiles(single)}")
            bodies = [(hosts[n % host_count], tag_event(ids[n % vms])) for n in range(sweep)]
            started = time.perf_counter()
            with ThreadPoolExecutor(senders) as pool:
                swept = list(
                    pool.map(
                        lambda sent: _post(sent[0].url, sent[0].keys.for_call("POST", EVENTS), sent[1]),
                        bodies,
                    )
                )
            wall = time.perf_counter() - started
            print(
                f"tag sweep, {sweep} events, {senders} senders, {host_count} host process(es): "
                f"{_percentiles(swept)}  ({sweep / wall:.0f} events/s)"
            )
    finally:
        azurite.stop()


def fleet_pass(
    vms: int, worker_counts: list[int], passes: int = 1, latency_ms: float = 0.0, naive: bool = True
) -> None:
    with running_stack() as stack, contextlib.ExitStack() as proxies:
        vault = Vault(SUB, RG, VAULT, SimClock(scale=0), job_seconds=0)
        started = time.perf_counter()
        ids = launch_waiting(aws_client(stack.moto.url, "ec2"), vms, "azmigrate")
        protect(vault, ids, f"/subscriptions/{SUB}/resourceGroups/rg-migrated")
        sim = Simulator(vault, limits=None).start()
        env = dict(os.environ) | app_settings(stack.azurite, stack.moto, sim)
        env |= {"AZMIGRATE_CUTOVER_MODE": "approval", "AZMIGRATE_MAX_CONCURRENCY": "16"}
        if latency_ms:
            env |= _behind_latency(proxies, stack.azurite, stack.moto.url, sim.url, latency_ms / 1000)
            print(f"every answer of Table Storage, the queue, AWS and Site Recovery {latency_ms:g} ms later")
        store = TableStateStore(
            open_table_service(connection=stack.azurite.connection_string, account_url=None),
            env["AZMIGRATE_TABLE_PREFIX"],
        )
        store.ensure_tables()
        record_waiting(store, ids, datetime.now(UTC))
        print(f"fleet: {vms} VMs in moto, the vault and the store in {time.perf_counter() - started:.0f} s")
        if naive:
            wall, reads, asr = _naive_pass(env, ids, sim)
            print(
                f"a naive per-VM poller (each VM's instance, item and record read one by one, 8 at a "
                f"time; no job is open to read), run: {wall:.1f} s wall, {reads} reads "
                f"({reads / vms:.0f}/VM), ASR calls {asr} ({asr / vms:.2f}/VM)"
            )
        work = queue_client("AZMIGRATE_QUEUE_CONNECTION", env["AZMIGRATE_WORK_QUEUE"], env)
        hosts: list[Host] = []
        keys = HostKeys.random()
        try:
            for count in worker_counts:
                while len(hosts) < count:
                    hosts.append(Host(env, keys).start())
                if count == worker_counts[0]:  # a first pass warms the hosts (clients, the site read)
                    _timed_pass(hosts, work, sim)
                versions = sum(r.version for r in store.all())
                stand_ins = {"moto": [stack.moto.pid], "Azurite": _azurite_pids(stack.azurite)}
                before = {name: cpu_seconds(pids) for name, pids in stand_ins.items()} | {
                    "simulator": time.process_time()
                }
                timed = [_timed_pass(hosts, work, sim) for _ in range(passes)]
                wall, cpu, calls = (statistics.median(figures) for figures in zip(*timed, strict=True))
                spent = {
                    name: (cpu_seconds(pids) - before[name]) / passes for name, pids in stand_ins.items()
                }
                spent["simulator"] = (time.process_time() - before["simulator"]) / passes  # this process
                writes = sum(r.version for r in store.all()) - versions
                print(
                    f"{count} worker(s), median of {passes}: pass {wall:6.1f} s wall, "
                    f"hosts' CPU {cpu / vms * 1000:5.2f} ms/VM, "
                    f"ASR calls {calls:.0f} ({calls / vms:.4f}/VM), "
                    f"record writes in all {writes}"
                )
                print("    stand-ins' CPU per pass: " + ", ".join(f"{n} {c:.1f} s" for n, c in spent.items()))
        finally:
            for host in hosts:
                host.kill()
            sim.stop()


def _naive_pass(env: dict[str, str], ids: list[str], sim: Simulator) -> tuple[float, int, int]:
    """The design a fleet pass replaces, run for real with the app's adapters: wall, reads, ASR calls."""
    from shared.app import wiring  # noqa: PLC0415 - the adapters are wired from these settings

    saved = dict(os.environ)
    os.environ.update(env)
    wiring.clear_caches()
    try:
        aws, asr, store = wiring.aws_adapter(), wiring.asr_adapter(), wiring.state_store()
        asr.site()  # read once, as any poller would

        def poll(instance_id: str) -> int:
            aws.instances({REGION: [instance_id]})
            asr.item(item_name_for(instance_id))
            store.find(instance_id)
            return 3

        calls, started = sum(sim.request_counts().values()), time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            reads = sum(pool.map(poll, ids))
        return time.perf_counter() - started, reads, sum(sim.request_counts().values()) - calls
    finally:
        os.environ.clear()
        os.environ.update(saved)
        wiring.clear_caches()


def _behind_latency(
    proxies: contextlib.ExitStack, azurite: Azurite, moto_url: str, sim_url: str, latency: float
) -> dict[str, str]:
    """The app's settings pointing at a proxy before each stand-in that answers `latency` later."""

    def proxy(url: str) -> str:
        started = FaultProxy(url, latency=latency).start()
        proxies.callback(started.stop)
        return started.url

    if azurite.queues is None:
        raise RuntimeError("Azurite runs without its queue service: the hosts have no work queue")
    connection = azurite.connection_string.replace(azurite.url, proxy(azurite.url))
    connection = connection.replace(azurite.queues.url, proxy(azurite.queues.url))
    return {
        "AZMIGRATE_TABLE_CONNECTION": connection,
        "AZMIGRATE_QUEUE_CONNECTION": connection,
        "AZMIGRATE_AWS_ENDPOINT_URL": proxy(moto_url),
        "AZMIGRATE_ASR_ENDPOINT": proxy(sim_url),
    }


def _timed_pass(hosts: list[Host], work: Any, sim: Simulator) -> tuple[float, float, int]:
    pids = [host.process.pid for host in hosts if host.process is not None]
    cpu, calls = cpu_seconds(pids), sum(sim.request_counts().values())
    started = time.perf_counter()
    if hosts[0].call("POST", "/admin/functions/reconcile_timer") != 202:
        raise RuntimeError("the reconcile timer did not run")
    wait_until_empty([work], 3_600)
    wall = time.perf_counter() - started
    return wall, cpu_seconds(pids) - cpu, sum(sim.request_counts().values()) - calls


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds of these processes (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _azurite_pids(azurite: Azurite) -> list[int]:
    """Azurite's processes (Tables, and Queues when started) and their children (npm's node)."""
    roots = {azurite.pid} | ({azurite.queues.pid} if azurite.queues is not None else set())
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    found, grew = set(roots), True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in found} - found
        found |= more
        grew = bool(more)
    return sorted(found)


def budget(workers: int, seconds: float, per_second: float) -> None:
    azurite = start_azurite(queues=False)
    try:
        service = open_table_service(connection=azurite.connection_string, account_url=None)
        prefix = f"bench{uuid.uuid4().hex[:8]}"
        high = per_second * 2  # a budget set above what ARM grants (another client shares the limit)
        designs: dict[str, tuple[Callable[[], Pacer], float, bool]] = {
            "per-process limiter": (lambda: RateLimiter(per_second), per_second, False),
            "shared Table budget": (
                lambda: TableBudget(service, prefix, "armWrites", per_second),
                per_second,
                False,
            ),
            "shared, set 2x too high": (lambda: TableBudget(service, prefix, "armHigh", high), high, False),
            "  ... holding on 429": (lambda: TableBudget(service, prefix, "armHeld", high), high, True),
        }
        print(f"ARM write bucket in the simulator: {per_second * 2:g}, refilled {per_second:g}/s")
        for design, (make, budget_rate, holds) in designs.items():
            vault = Vault(SUB, RG, VAULT, SimClock(scale=0))  # a full bucket for each design
            sim = Simulator(vault, limits={"writes": (per_second * 2, per_second)}).start()
            try:
                statuses = _write_storm(sim.url, [make() for _ in range(workers)], seconds, holds)
            finally:
                sim.stop()
            sent = sum(statuses.values())
            print(
                f"{design:<24} {workers} workers, {seconds:.0f} s: {sent / seconds:5.1f} writes/s "
                f"(budget {budget_rate:g}/s); let through {sent - statuses[429]}, 429s: {statuses[429]}"
            )
    finally:
        azurite.stop()


def _write_storm(url: str, pacers: list[Pacer], seconds: float, holds: bool = False) -> Counter[int]:
    """Each pacer's worker sends ARM writes as fast as it lets it, for `seconds`; with `holds`, a 429
    holds its pacer for the answer's Retry-After (what the app's ThrottleReport does)."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    vault = f"subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.RecoveryServices/vaults/{VAULT}"
    path = f"{url}/{vault}/bench"  # any write: ARM's throttle counts it before routing

    def worker(pacer: Pacer) -> None:
        while True:
            pacer.acquire()
            if time.monotonic() >= deadline:
                return
            request = urllib.request.Request(
                f"{path}?api-version=2025-08-01",
                data=b"{}",
                method="POST",
                headers={"Authorization": "Bearer x"},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    status = answer.status
            except urllib.error.HTTPError as error:
                status = error.code
                if status == 429 and holds:
                    pacer.hold(retry_after_seconds(dict(error.headers.items())))
            with lock:
                statuses[status] += 1

    with ThreadPoolExecutor(len(pacers)) as pool:
        list(pool.map(worker, pacers))
    return statuses


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    ev = commands.add_parser("events", help="ec2-events answer times")
    ev.add_argument("--vms", type=int, default=10_000)
    ev.add_argument("--sweep", type=int, default=10_000)
    ev.add_argument("--senders", type=int, default=20)
    ev.add_argument("--hosts", type=int, default=1, help="host processes answering the sweep")
    pa = commands.add_parser("pass", help="a steady fleet pass on 1, 2 and 4 workers")
    pa.add_argument("--vms", type=int, default=1_000)
    pa.add_argument("--workers", default="1,2,4", help="comma-separated worker counts, rising")
    pa.add_argument("--passes", type=int, default=1, help="timed passes per worker count (median shown)")
    pa.add_argument(
        "--no-naive",
        action="store_true",
        help="skip the naive poller (at 10,000 VMs it takes over 15 minutes against one moto)",
    )
    pa.add_argument(
        "--latency-ms", type=float, default=0.0, help="added to every answer of every stand-in (a network)"
    )
    bu = commands.add_parser("budget", help="ARM writes of several workers against the budget")
    bu.add_argument("--workers", type=int, default=4)
    bu.add_argument("--seconds", type=float, default=20.0)
    bu.add_argument("--per-second", type=float, default=5.0)
    args = parser.parse_args(argv[1:])
    print(f"command: .venv/bin/python -m bench.fleet {shlex.join(argv[1:])}")
    if args.command == "events":
        events(args.vms, args.sweep, args.senders, args.hosts)
    elif args.command == "pass":
        fleet_pass(
            args.vms,
            [int(n) for n in args.workers.split(",")],
            args.passes,
            args.latency_ms,
            not args.no_naive,
        )
    else:
        budget(args.workers, args.seconds, args.per_second)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
