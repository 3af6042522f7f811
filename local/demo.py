"""The local demo: a fleet of tagged EC2 instances in moto, taken into the state store on Azurite.

Today this shows the foundation end to end over real protocols: the stand-ins start on loopback, a
fleet is created and tagged in moto, the opted-in instances are found with one paged, tag-filtered
`describe_instances`, each gets a migration record (batched Table transactions), a compare-and-swap
race is shown to lose cleanly, and everything stops. The migration lifecycle itself (agent, ASR
replication, test migration, cutover) joins this demo when it is built.

Usage: python -m local.demo [--vms N] [--tagged N] [--summary-json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local.stack import aws_client, running_stack
from shared.errors import ConcurrencyConflict
from shared.lifecycle import Phase
from shared.models import HistoryEntry, MigrationRecord
from shared.store import StateStore, open_table_service

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
TAG = "azmigrate"


def create_fleet(ec2: Any, vms: int, tagged: int) -> list[str]:
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    made = ec2.run_instances(ImageId=image, MinCount=vms, MaxCount=vms, InstanceType="t3.medium")
    ids = sorted(i["InstanceId"] for i in made["Instances"])
    for n, instance_id in enumerate(ids[:tagged]):
        wave = "wave1" if n < tagged // 2 else "wave2"
        ec2.create_tags(
            Resources=[instance_id],
            Tags=[{"Key": f"{TAG}:enabled", "Value": "true"}, {"Key": f"{TAG}:wave", "Value": wave}],
        )
    return ids


def opted_in_instances(ec2: Any) -> list[dict[str, Any]]:
    """One paged, tag-filtered listing: the way the reconciler reads the fleet."""
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": f"tag:{TAG}:enabled", "Values": ["true"]}], PaginationConfig={"PageSize": 50}
    )
    return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]


def _wave(instance: dict[str, Any]) -> str | None:
    return next((t["Value"] for t in instance.get("Tags", []) if t["Key"] == f"{TAG}:wave"), None)


def run(vms: int, tagged: int) -> dict[str, Any]:
    started = time.monotonic()
    with running_stack() as stack:
        print(f"stand-ins up: Azurite {stack.azurite.url}, moto {stack.moto.url}")
        ec2 = aws_client(stack.moto.url, "ec2", REGION)
        create_fleet(ec2, vms, tagged)
        found = opted_in_instances(ec2)
        print(f"fleet: {vms} instances in moto, {len(found)} tagged {TAG}:enabled=true")

        service = open_table_service(connection=stack.azurite.connection_string, account_url=None)
        store = StateStore(service, f"demo{uuid.uuid4().hex[:8]}")
        store.ensure_tables()
        now = datetime.now(UTC)
        records = [
            MigrationRecord.opted_in(
                instance_id=i["InstanceId"], account_id=ACCOUNT, region=REGION, wave=_wave(i), now=now
            )
            for i in found
        ]
        created = store.create_many(records)
        for record in records:
            store.append_history(
                HistoryEntry(
                    instance_id=record.instance_id,
                    at=now,
                    event="opted_in",
                    to_phase=Phase.OPTED_IN,
                    actor="demo",
                    reason="tag azmigrate:enabled=true found",
                )
            )
        print(f"state store: {created} migration records created")

        # Two reconcilers read the same record and both try to move it: exactly one wins.
        first = store.get(records[0].instance_id)
        winner = store.update(first.evolve(phase=Phase.PREFLIGHT))
        try:
            store.update(first.evolve(phase=Phase.BLOCKED))
            race = "both writes landed (this must never happen)"
        except ConcurrencyConflict as conflict:
            assert conflict.current is not None
            race = f"second writer refused; record stays {conflict.current.phase} (version {winner.version})"
        print(f"compare-and-swap: {race}")

        by_phase = Counter(r.phase.value for r in store.in_flight())
        by_wave = Counter(r.wave or "-" for r in store.all())
        print("\nphase                count")
        for phase, count in sorted(by_phase.items()):
            print(f"{phase:<20} {count:>5}")
        store.close()
    summary = {
        "instances": vms,
        "tagged": len(found),
        "records": created,
        "by_phase": dict(by_phase),
        "by_wave": dict(by_wave),
        "cas_race": race,
        "migrated": 0,
        "note": "the migration lifecycle is not built yet; this run covers stand-ins and the state store",
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    print(f"\ndone in {summary['wall_seconds']} s; all stand-ins stopped")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=25, help="instances to create in moto (default 25)")
    parser.add_argument("--tagged", type=int, default=20, help="how many of them to opt in (default 20)")
    parser.add_argument("--summary-json", type=Path, help="also write the summary as JSON to this path")
    args = parser.parse_args(argv)
    if not 1 <= args.vms <= 1_000 or not 0 <= args.tagged <= args.vms:
        parser.error("need 1 <= --vms <= 1000 and 0 <= --tagged <= --vms")
    summary = run(args.vms, args.tagged)
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary, indent=2) + "\n")
        print(f"summary written to {args.summary_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
