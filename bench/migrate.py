"""Time to migrate a fleet, in simulated time: every tagged VM from opt-in to done, on the local stand-ins.

Site Recovery's clock stands still between passes and moves on by the reconcile timer's interval
after each (`--interval-minutes`, the default schedule's 5 minutes), so the simulated time is what
the same passes would take in Azure with the timer firing on schedule; jobs (60 s each) and initial
replication (disk size over the appliance's 200 MB/s) take their simulated time. What limits the
pace is the app's own: replication slots (`--slots`, AZMIGRATE_MAX_INITIAL_REPLICATION), the ARM
write budget, the lifecycle's passes per VM. Each pass's wall time is this machine's (stand-ins and
hosts on the same cores), not Azure's. The fleet is the demo's: its first five tagged VMs are the
special cases (blocked, dry run) and are expected not to migrate. It has no CloudWatch metrics
(every VM is sized like for like): moto's CloudWatch scans every stored point for each query, which
at 1,000 VMs made the stand-in, not the app, take most of the time.

Usage: python -m bench.migrate [--vms N] [--slots N] [--interval-minutes M] [--workers N] [--deadline S]
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time
from collections import Counter
from datetime import timedelta

from bench.fleet import cpu_seconds
from local.demo import COLUMNS, FINISHED, create_fleet
from local.estate import REGION, Estate, running_estate
from local.host_process import running_hosts
from local.stack import aws_client, running_stack
from shared.state.table import TableStateStore, open_table_service


def migrate(vms: int, slots: int, interval: timedelta, workers: int, deadline_seconds: float) -> int:
    settings = {"AZMIGRATE_MAX_INITIAL_REPLICATION": str(slots)}
    with (
        running_stack() as stack,
        running_estate(stack.azurite, stack.moto, time_scale=0, settings=settings, event_grid=True) as estate,
        running_hosts(workers - 1, dict(os.environ), estate.keys) as others,
    ):
        fleet = create_fleet(aws_client(stack.moto.url, "ec2", REGION), None, vms, vms)
        store = TableStateStore(
            open_table_service(connection=os.environ["AZMIGRATE_TABLE_CONNECTION"], account_url=None),
            os.environ["AZMIGRATE_TABLE_PREFIX"],
        )
        print(
            f"fleet: {len(fleet)} instances in moto, all tagged; replication slots: {slots}; hosts: {workers}"
        )
        print(f"{'pass':>4} {'sim':>7} {'wall':>6} " + " ".join(f"{short:>5}" for short in COLUMNS.values()))
        pids = [os.getpid()] + [host.process.pid for host in others if host.process is not None]
        cpu, calls = cpu_seconds(pids), sum(estate.sim.request_counts().values())
        started, passes = time.monotonic(), 0
        done_in_pass: dict[str, int] = {}  # instance id: the pass that saw it done
        phases: dict[str, str] = {}
        while time.monotonic() - started < deadline_seconds:
            passes += 1
            _pass(estate)
            estate.sim.vault.clock.advance(interval.total_seconds())
            phases = {r.instance_id: r.phase.value for r in store.all()}
            done_in_pass |= {i: passes for i, p in phases.items() if p == "done" and i not in done_in_pass}
            counts = Counter(phases.values())
            row = " ".join(f"{counts.get(phase, 0) or '.':>5}" for phase in COLUMNS)
            print(
                f"{passes:>4} {_hours(passes * interval):>7} {time.monotonic() - started:>5.0f}s {row}",
                flush=True,
            )
            if len(phases) == len(fleet) and all(p in FINISHED for p in phases.values()):
                break
        wall = time.monotonic() - started
        _report(
            fleet_size=len(fleet),
            phases=phases,
            done_in_pass=done_in_pass,
            passes=passes,
            interval=interval,
            wall=wall,
            cpu=cpu_seconds(pids) - cpu,
            calls=sum(estate.sim.request_counts().values()) - calls,
        )
        _report_writes_and_events(estate, store, len(fleet))
        return 0 if all(p in FINISHED for p in phases.values()) else 1


def _pass(estate: Estate) -> None:
    """One run of the reconcile timer, until every message it queued (and their follow-ups) is done."""
    estate.run_timer("reconcile_timer", settle=False)
    estate.settle(timeout=1_800)


def _report_writes_and_events(estate: Estate, store: TableStateStore, fleet_size: int) -> None:
    """Record writes over the whole run, and the transition events the topic took (by type)."""
    writes = sum(r.version for r in store.all())
    prefix = os.environ.get("AZMIGRATE_EVENT_TYPE_PREFIX", "com.migrationautopilot") + "."
    ours = [e for e in estate.host.topic_events if str(e.get("type", "")).startswith(prefix)]
    distinct = {str(e["id"]): e for e in ours}  # a consumer dedupes by id (a delivery may repeat one)
    kinds = Counter(str(e["type"]).removeprefix(prefix) for e in distinct.values())
    size = max(fleet_size, 1)
    print(f"record writes: {writes} ({writes / size:.1f} per VM over the whole migration)")
    print(
        f"transition events published: {len(ours)} ({len(ours) / size:.1f} per VM; "
        f"{len(distinct)} distinct ids): {dict(sorted(kinds.items()))}"
    )


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:.2f}h"


def _report(
    *,
    fleet_size: int,
    phases: dict[str, str],
    done_in_pass: dict[str, int],
    passes: int,
    interval: timedelta,
    wall: float,
    cpu: float,
    calls: int,
) -> None:
    finished = Counter(p for p in phases.values() if p in FINISHED)
    print(f"\nmigrated {finished.get('done', 0)} of {fleet_size} (finished: {dict(finished)})")
    if len(phases) < fleet_size or sum(finished.values()) < len(phases):
        print(f"stopped at the deadline: {fleet_size - sum(finished.values())} VMs unfinished")
    if done_in_pass:
        took = sorted(done_in_pass.values())
        last = took[-1] * interval
        median = statistics.median(took) * interval
        unfinished = sum(p not in FINISHED for p in phases.values())
        which = (
            "all migrated" if not unfinished else f"{len(took)} migrated ({unfinished} unfinished), the last"
        )
        print(
            f"simulated time: {which} after {_hours(last)} ({took[-1]} passes of {interval}); "
            f"half of them by {_hours(median)}"
        )
    print(
        f"this machine: {wall:.0f} s wall for {passes} passes ({wall / passes:.1f} s a pass); "
        f"the app's hosts {cpu / max(fleet_size, 1) * 1000:.1f} ms CPU per VM in all "
        f"(this process also runs the simulator and its moto bridge); "
        f"{calls} Site Recovery calls ({calls / max(fleet_size, 1):.1f} per VM)"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.migrate", description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=1_000, help="tagged instances (default 1000)")
    parser.add_argument(
        "--slots", type=int, default=10, help="AZMIGRATE_MAX_INITIAL_REPLICATION (default 10)"
    )
    parser.add_argument(
        "--interval-minutes", type=float, default=5.0, help="the timer's interval (default 5)"
    )
    parser.add_argument("--workers", type=int, default=1, help="host processes on the work queue (default 1)")
    parser.add_argument("--deadline", type=float, default=7_200.0, help="give up after this many seconds")
    args = parser.parse_args(argv[1:])
    if not 6 <= args.vms <= 10_000 or not 1 <= args.slots <= 1_000 or not 1 <= args.workers <= 8:
        parser.error("need 6 <= --vms <= 10000, 1 <= --slots <= 1000, 1 <= --workers <= 8")
    if args.interval_minutes <= 0 or args.deadline <= 0:
        parser.error("--interval-minutes and --deadline must be positive")
    print(f"command: .venv/bin/python -m bench.migrate {shlex.join(argv[1:])}")
    interval = timedelta(minutes=args.interval_minutes)
    return migrate(args.vms, args.slots, interval, args.workers, args.deadline)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
