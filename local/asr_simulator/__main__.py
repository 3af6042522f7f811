"""Run the ASR simulator standalone: python -m local.asr_simulator --port PORT [options]."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Disk, Machine, Vault
from local.asr_simulator.server import Simulator


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m local.asr_simulator",
        description="A local Azure Site Recovery vault (InMageRcm) speaking ARM REST api-version 2025-08-01 "
        "on loopback. Admin routes: GET/POST /admin/clock {advanceSeconds}, GET /admin/ledger, "
        "GET /admin/requests, POST /admin/machines {biosId, displayName, ipAddress, osType, disks}.",
    )
    p.add_argument("--host", default="127.0.0.1", help="listen address; only 127.0.0.1 is accepted")
    p.add_argument("--port", type=int, required=True, help="listen port; 0 picks a free one (printed)")
    p.add_argument("--subscription", default="00000000-0000-0000-0000-000000000000", help="subscription id")
    p.add_argument("--resource-group", default="rg-migrate", help="resource group of the vault")
    p.add_argument("--vault", default="demo-MigrateVault-1", help="Recovery Services vault name")
    p.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="simulator seconds per real second (0 freezes the clock; advance it via /admin/clock)",
    )
    p.add_argument("--job-seconds", type=float, default=30.0, help="simulator seconds every job takes")
    p.add_argument(
        "--bandwidth-mbps",
        type=float,
        default=100.0,
        help="appliance bandwidth in MB/s, shared by all items in initial replication",
    )
    p.add_argument("--page-size", type=int, default=100, help="items per page before a nextLink")
    p.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds on 202 answers")
    p.add_argument(
        "--discovered",
        type=int,
        default=0,
        help="pre-register N discovered machines (when no moto server is bridged)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.host != "127.0.0.1":
        parser().error("--host must be 127.0.0.1: the simulator never listens beyond loopback")
    vault = Vault(
        args.subscription,
        args.resource_group,
        args.vault,
        SimClock(args.time_scale),
        job_seconds=args.job_seconds,
        bandwidth_mb_per_s=args.bandwidth_mbps,
    )
    for n in range(1, args.discovered + 1):
        vault.register_machine(
            Machine(
                f"machine-{n:05d}",
                f"server-{n}",
                f"10.0.{n // 250}.{n % 250 + 1}",
                "Linux",
                [Disk("os", 32, True), Disk("data-1", 64, False)],
            )
        )
    sim = Simulator(
        vault, host=args.host, port=args.port, page_size=args.page_size, retry_after=args.retry_after
    ).start()
    print(f"ASR simulator listening on {sim.url} for {vault.prefix}", flush=True)
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    stopped.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
