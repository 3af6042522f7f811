"""State store throughput against Azurite: batched creates, point reads, CAS updates, paged queries.

Run: .venv/bin/python -m bench.store_bench [--records N]
Figures are for Azurite on this machine (in-memory, one Node process), not Azure Table Storage: use
them to compare changes to our code, not to predict production.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from local.stack import start_azurite
from shared.model.phases import Phase
from shared.model.records import MigrationRecord
from shared.state.table import TableStateStore, open_table_service


def timed(label: str, count: int, action: Callable[[], object]) -> None:
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    print(f"{label:<28} {count:>7} ops  {seconds:8.2f} s  {count / seconds:10.0f} ops/s")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store_bench")
    parser.add_argument("--records", type=int, default=2_000)
    args = parser.parse_args(argv[1:])
    n = args.records
    now = datetime.now(UTC)
    records = [
        MigrationRecord.opted_in(
            instance_id=f"i-{i:017x}",
            account_id="123456789012",
            region="us-east-1",
            now=now,
            wave=f"w{i % 4}",
        )
        for i in range(n)
    ]
    azurite = start_azurite()
    try:
        store = TableStateStore(
            open_table_service(connection=azurite.connection_string, account_url=None), "bench"
        )
        store.ensure_tables()
        print(f"command: {shlex.join(['python', '-m', 'bench.store_bench', *argv[1:]])}")
        timed("create_many (batched)", n, lambda: store.create_many(records))
        sample = records[: min(n, 500)]
        read: list[MigrationRecord] = []
        timed("get (point read)", len(sample), lambda: read.extend(store.get(r.instance_id) for r in sample))
        timed(
            "update (CAS)", len(read), lambda: [store.update(r.evolve(phase=Phase.PREFLIGHT)) for r in read]
        )
        timed("in_flight (paged scan)", n, lambda: sum(1 for _ in store.in_flight()))
        timed("by_wave (filtered scan)", n // 4, lambda: sum(1 for _ in store.by_wave("w1")))
        store.close()
    finally:
        azurite.stop()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, Azurite 3.35.0 in memory")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
