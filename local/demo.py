"""The local demo: a fleet of tagged EC2 instances migrated end to end against the local stand-ins.

Azurite (state), moto (EC2, SSM) and the ASR simulator (Site Recovery, its appliance bridged to moto)
run on loopback; the app runs in the local Functions host from its real function objects. The demo
creates the fleet (with CloudWatch metrics: RHEL idle, SLES moderate, Windows busy), tags some for
migration in two waves, delivers the EventBridge tag events to POST /api/ec2-events, runs the
reconcile timer until every tagged VM has finished (migrated, blocked with its check codes and fixes,
held by a dry run, or failed), printing a table of phases as it goes, and ends with a summary that
includes the size each VM was given and its like-for-like size. The work goes through the work queue
in Azurite; `--workers N` runs N hosts (this one and N-1 host processes) taking it together.

Usage: python -m local.demo [--vms N] [--tagged N] [--workers N] [--summary-json PATH] [--time-scale X]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from local.estate import REGION, Estate, running_estate, tag_event
from local.host_process import running_hosts
from local.stack import aws_client, running_stack
from shared.app.roles import KeyRole

# Each kind: a fragment of the moto AMI it runs, and the guest image the stand-in answers checks with.
KINDS = {
    "rhel": ("RHEL-7.4_HVM", "rhel-9"),
    "windows": ("Windows_Server-2016-English-Full-Base", "windows-2022"),
    "sles": ("suse-sles-12-sp3", "sles-15"),
    "amazon-linux": ("amzn-ami-hvm-2017.09", "amazon-linux-2"),
    "paravirtual": ("suse-sles-11-sp4-v20151207-pv", "sles-15"),
    "ubuntu": ("ubuntu-xenial-16.04", "ubuntu-22.04"),  # its -aws kernel is not in the support matrix
    "port-closed": ("RHEL-7.4_HVM", "rhel-8"),  # the appliance's security group lacks TCP 9443
    "dry-run": ("RHEL-7.4_HVM", "rhel-9"),  # tagged azmigrate:dry-run=true: assessed, never installed
}
SPECIAL = ("amazon-linux", "paravirtual", "ubuntu", "port-closed", "dry-run")  # the first tagged VMs
ORDINARY = ("rhel", "windows", "sles")
INSTANCE_TYPE = "m5.2xlarge"  # 8 vCPU, 32 GiB: like for like, Standard_D8s_v5
# What each kind's CloudWatch shows: (CPU %, memory % from the CloudWatch agent or None without it).
LOAD = {"rhel": (12.0, 30.0), "sles": (35.0, 30.0), "windows": (70.0, None)}
IDLE = (12.0, None)
PHASE_ORDER = [
    "opted_in",
    "preflight",
    "agent_install",
    "awaiting_discovery",
    "queued",
    "enabling",
    "initial_replication",
    "protected",
    "test_migration",
    "test_validation",
    "test_cleanup",
    "ready_for_cutover",
    "stopping_source",
    "migrating",
    "committing",
    "completing",
    "done",
    "blocked",
    "assessed",
    "failed",
    "opting_out",
    "opted_out",
]
FINISHED = {"done", "blocked", "assessed", "failed", "opted_out"}
COLUMNS = {
    "opted_in": "opt",
    "preflight": "pre",
    "assessed": "dry",
    "agent_install": "agent",
    "awaiting_discovery": "disc",
    "queued": "queue",
    "enabling": "enab",
    "initial_replication": "repl",
    "protected": "prot",
    "test_migration": "test",
    "test_validation": "valid",
    "test_cleanup": "clean",
    "ready_for_cutover": "ready",
    "stopping_source": "stop",
    "migrating": "migr",
    "committing": "commit",
    "completing": "compl",
    "done": "done",
    "blocked": "block",
    "failed": "fail",
}


def create_fleet(ec2: Any, cloudwatch: Any | None, vms: int, tagged: int) -> list[dict[str, str]]:
    """`vms` instances; the first `tagged` opted in over two waves, the special cases first. Without
    `cloudwatch`, no metrics (each VM is then sized like for like)."""
    images = {kind: _image(ec2, fragment) for kind, (fragment, _) in KINDS.items()}
    fleet = []
    for n in range(vms):
        kind = SPECIAL[n] if n < min(tagged, len(SPECIAL)) else ORDINARY[n % len(ORDINARY)]
        name = f"{kind}-{n:02d}"
        tags = {"Name": name, "sim:guest-image": KINDS[kind][1]}
        if n < tagged:
            tags |= {"azmigrate:enabled": "true", "azmigrate:wave": "wave1" if n < tagged // 2 else "wave2"}
        if kind == "port-closed":
            tags["sim:closed-ports"] = "9443"
        if kind == "dry-run":
            tags["azmigrate:dry-run"] = "true"
        made = ec2.run_instances(
            ImageId=images[kind],
            MinCount=1,
            MaxCount=1,
            InstanceType=INSTANCE_TYPE,
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
            ],
        )
        instance_id = made["Instances"][0]["InstanceId"]
        if cloudwatch is not None:
            _put_metrics(cloudwatch, instance_id, *LOAD.get(kind, IDLE))
        fleet.append({"id": instance_id, "name": name, "kind": kind, "tagged": str(n < tagged)})
    return fleet


def _put_metrics(cloudwatch: Any, instance_id: str, cpu: float, memory: float | None) -> None:
    """A day of hourly points (the estate's sizing lookback is one day): CPU, and memory as the
    CloudWatch agent reports it (with the dimensions it appends), when the VM runs the agent."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    series = [("AWS/EC2", "CPUUtilization", [{"Name": "InstanceId", "Value": instance_id}], cpu)]
    if memory is not None:
        agent = [
            {"Name": "InstanceId", "Value": instance_id},
            {"Name": "ImageId", "Value": "ami-demo"},
            {"Name": "InstanceType", "Value": INSTANCE_TYPE},
        ]
        series.append(("CWAgent", "mem_used_percent", agent, memory))
    for namespace, name, dimensions, level in series:
        points = [
            {
                "MetricName": name,
                "Dimensions": dimensions,
                "Timestamp": now - timedelta(hours=hour + 1),
                "Value": level * (0.5 + (hour % 10) / 19),  # peaks at `level`
            }
            for hour in range(24)
        ]
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=points)


def _image(ec2: Any, fragment: str) -> str:
    images = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": [f"*{fragment}*"]}])[
        "Images"
    ]
    return str(images[0]["ImageId"])


def run(
    vms: int,
    tagged: int,
    time_scale: float,
    deadline_seconds: float,
    workers: int = 1,
    *,
    keep_running: bool = False,
) -> dict[str, Any]:
    started = time.monotonic()
    with (
        running_stack() as stack,
        running_estate(stack.azurite, stack.moto, time_scale=time_scale, bare_vault=True) as estate,
        running_hosts(workers - 1, dict(os.environ), estate.keys) as others,
    ):
        print(
            f"stand-ins: Azurite {stack.azurite.url}, moto {stack.moto.url}, Site Recovery {estate.sim.url}"
        )
        print(f"app: local Functions host {estate.host.url}/api/ (simulated time x{time_scale:g})")
        print("vault: new, with no replication policy or container mapping (the app creates them)")
        if others:
            print(f"workers: {workers} hosts on one work queue (+ {', '.join(h.url for h in others)})")
        fleet = create_fleet(
            aws_client(stack.moto.url, "ec2", REGION),
            aws_client(stack.moto.url, "cloudwatch", REGION),
            vms,
            tagged,
        )
        opted = [vm for vm in fleet if vm["tagged"] == "True"]
        print(f"fleet: {vms} instances in moto, {len(opted)} tagged azmigrate:enabled=true in two waves")
        accepted = sum(estate.post("/api/ec2-events", tag_event(vm["id"]))[0] == 202 for vm in opted)
        print(f"events: {accepted} tag events delivered to /api/ec2-events (202 Accepted)\n")
        passes = _drive(estate, [vm["id"] for vm in opted], started, deadline_seconds)
        summary = _summary(estate, fleet, opted, passes=passes, started=started)
        worked = [sum(listener.worked for listener in estate.host.listeners)]
        summary["messages_by_worker"] = worked + [host.messages_settled() for host in others]
        print_summary(summary)
        show_fleet(estate)
        if keep_running:
            wait_for_a_person(estate)
        return summary


def show_fleet(estate: Estate) -> None:
    """The fleet as the operator CLI prints it: `autopilot fleet` against this host."""
    print("\n$ autopilot fleet", flush=True)
    env = os.environ | {
        "AUTOPILOT_URL": estate.host.url,
        "AUTOPILOT_READER_KEY": estate.keys.roles[KeyRole.READER],
    }
    beside = Path(sys.executable).with_name("autopilot")  # the venv's console script
    command = str(beside) if beside.exists() else shutil.which("autopilot")
    if command is None:
        print("(the autopilot CLI is not installed: bash scripts/demo.sh installs it)")
        return
    subprocess.run([command, "fleet"], env=env | {"COLUMNS": "160"}, check=False)  # one width everywhere


def wait_for_a_person(estate: Estate) -> None:
    """--keep-running: the estate stays up for a person to look, until Ctrl-C."""
    reader, operator = estate.keys.roles[KeyRole.READER], estate.keys.roles[KeyRole.OPERATOR]
    print(
        f"\nkept running (Ctrl-C stops it):\n"
        f"  dashboard: {estate.host.url}/api/dashboard?code={reader}\n"
        f"  reader key: {reader}\n  operator key: {operator} (type it on the dashboard to approve)\n"
        f"  CLI: AUTOPILOT_URL={estate.host.url} AUTOPILOT_READER_KEY={reader} "
        f"AUTOPILOT_OPERATOR_KEY={operator} autopilot fleet\n"
        f"  a reconcile pass: curl -X POST -H 'x-functions-key: {estate.keys.master}' "
        f"{estate.host.url}/admin/functions/reconcile_timer",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopping")


def _drive(estate: Estate, ids: list[str], started: float, deadline_seconds: float) -> int:
    print("phases: " + ", ".join(f"{short}={phase}" for phase, short in COLUMNS.items()))
    print(f"{'pass':>4} {'time':>5} " + " ".join(f"{short:>6}" for short in COLUMNS.values()))
    passes = 0
    while time.monotonic() - started < deadline_seconds:
        passes += 1
        estate.run_timer("reconcile_timer")
        phases = Counter(estate.record(i)["phase"] for i in ids)
        row = " ".join(f"{phases.get(phase, 0) or '.':>6}" for phase in COLUMNS)
        print(f"{passes:>4} {time.monotonic() - started:>4.0f}s {row}", flush=True)
        if all(phase in FINISHED for phase in phases.elements()):
            break
    return passes


def _summary(
    estate: Estate, fleet: list[dict[str, str]], opted: list[dict[str, str]], *, passes: int, started: float
) -> dict[str, Any]:
    records = {vm["id"]: estate.record(vm["id"]) for vm in opted}
    names = {vm["id"]: vm["name"] for vm in fleet}
    by_phase = Counter(r["phase"] for r in records.values())

    def listed(phase: str) -> list[dict[str, Any]]:
        return [
            {
                "instance": i,
                "name": names[i],
                "reason": (r.get("last_error") or {}).get("code", ""),
                "detail": (r.get("last_error") or {}).get("message", ""),
                "checks": [
                    {"code": c["code"], "fix": c["fix"]}
                    for c in (r.get("assessment") or {}).get("checks", [])
                    if c["severity"] == "blocker"
                ],
            }
            for i, r in records.items()
            if r["phase"] == phase
        ]

    sizes = {
        names[i]: f"{a.get('vm_size')} (like for like {a.get('like_for_like_size')}, {a.get('sizing_basis')})"
        for i, r in records.items()
        if (a := r.get("assessment")) and r["phase"] in {"done", "assessed"}
    }
    actions = Counter(
        e["path"].rsplit("/", 1)[-1] if e["method"] == "POST" else e["method"]
        for e in estate.sim.vault.ledger
        if e["status"] == 202 and e["item"]
    )
    set_up = Counter(
        e["path"].rsplit("/", 2)[-2]
        for e in estate.sim.vault.ledger
        if e["method"] == "PUT" and not e["item"] and "/Microsoft.RecoveryServices/" in e["path"]
    )
    return {
        "instances": len(fleet),
        "tagged": len(opted),
        "migrated": by_phase.get("done", 0),
        "blocked": listed("blocked"),
        "assessed": listed("assessed"),
        "failed": listed("failed"),
        "sizes": sizes,
        "unfinished": {p: c for p, c in by_phase.items() if p not in FINISHED},
        "asr_actions": dict(actions),
        "vault_setup": dict(set_up),
        "passes": passes,
        "wall_seconds": round(time.monotonic() - started, 1),
    }


def print_summary(summary: dict[str, Any]) -> None:
    print(
        f"\nmigrated {summary['migrated']} of {summary['tagged']} tagged ({summary['instances']} instances) "
        f"in {summary['wall_seconds']} s, {summary['passes']} reconcile passes"
    )
    for vm in summary["blocked"]:
        print(f"  blocked: {vm['name']} ({vm['instance']}): {vm['reason']}")
        for check in vm["checks"]:
            print(f"      {check['code']}: {check['fix']}")
    for vm in summary["assessed"]:
        print(f"  assessed only (dry run): {vm['name']} ({vm['instance']})")
    for vm in summary["failed"]:
        print(f"  failed: {vm['name']} ({vm['instance']}): {vm['reason']}\n      {vm['detail'][:300]}")
    for name, size in sorted(summary["sizes"].items()):
        print(f"  size: {name} -> {size}")
    if summary["unfinished"]:
        print(f"  unfinished: {summary['unfinished']}")
    print(f"  Site Recovery actions: {summary['asr_actions']}")
    print(f"  vault set-up (PUTs): {summary['vault_setup']}")
    print(f"  work queue messages worked by each host: {summary['messages_by_worker']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=25, help="instances to create in moto (default 25)")
    parser.add_argument("--tagged", type=int, default=20, help="how many of them to opt in (default 20)")
    parser.add_argument(
        "--workers", type=int, default=1, help="hosts working the queue together, 1-8 (default 1)"
    )
    parser.add_argument("--summary-json", type=Path, help="also write the summary as JSON to this path")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=600.0,
        help="simulated Site Recovery seconds per real second (default 600)",
    )
    parser.add_argument(
        "--deadline", type=float, default=170.0, help="give up after this many seconds (default 170)"
    )
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="keep the estate up at the end and print the dashboard URL and the keys (Ctrl-C stops)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.vms <= 1_000 or not 0 <= args.tagged <= args.vms:
        parser.error("need 1 <= --vms <= 1000 and 0 <= --tagged <= --vms")
    if args.time_scale <= 0:
        parser.error("--time-scale must be positive")
    if not 1 <= args.workers <= 8:
        parser.error("need 1 <= --workers <= 8")
    summary = run(
        args.vms, args.tagged, args.time_scale, args.deadline, args.workers, keep_running=args.keep_running
    )
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary, indent=2) + "\n")
        print(f"summary written to {args.summary_json}")
    return 0 if not summary["unfinished"] and not summary["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
