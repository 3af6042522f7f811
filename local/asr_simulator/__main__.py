"""Run the ASR simulator standalone: python -m local.asr_simulator --port PORT [options]."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from local.asr_simulator.bridge import MotoBridge
from local.asr_simulator.clock import SimClock
from local.asr_simulator.engine import Vault
from local.asr_simulator.faults import ARM_LIMITS, FaultProfile
from local.asr_simulator.model import PROVIDERS, Disk, Machine
from local.asr_simulator.server import Simulator
from local.loopback_server import stop_signal


def _pair(text: str) -> tuple[str, float]:
    key, _, value = text.partition(":")
    if not key:
        raise argparse.ArgumentTypeError(f"expected NAME[:NUMBER], got {text!r}")
    try:
        return key, float(value or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME[:NUMBER], got {text!r}") from None


def _limits(text: str) -> dict[str, tuple[float, float]]:
    if text == "off":
        return {}
    limits = {}
    for part in text.split(","):
        kind, _, rate = part.partition("=")
        size, _, refill = rate.partition("/")
        try:
            limits[kind.strip()] = (float(size), float(refill))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected KIND=SIZE/REFILL, got {part!r}") from None
        if kind.strip() not in ARM_LIMITS or float(refill) <= 0 or float(size) < 1:
            raise argparse.ArgumentTypeError(
                f"kinds are reads, writes, deletes with SIZE >= 1 and REFILL > 0: {part!r}"
            )
    return limits


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m local.asr_simulator",
        description="A local Azure Site Recovery vault speaking ARM REST api-version 2025-08-01 on loopback. "
        "Admin routes: GET/POST /admin/clock {advanceSeconds}, GET /admin/ledger, GET /admin/requests, "
        "POST /admin/machines {biosId, displayName, ipAddress, osType, disks, provider}, "
        "POST /admin/faults {serverErrorRate, jobFailureRate, failScenarios, failMachines, slowScenarios, "
        "warnScenarios, processServerCapacity}, "
        "POST /admin/bridge/sync.",
    )
    p.add_argument("--host", default="127.0.0.1", help="listen address; only 127.0.0.1 is accepted")
    p.add_argument("--port", type=int, required=True, help="listen port; 0 picks a free one (printed)")
    p.add_argument("--subscription", default="00000000-0000-0000-0000-000000000000", help="subscription id")
    p.add_argument("--resource-group", default="rg-migrate", help="resource group of the vault")
    p.add_argument("--vault", default="demo-MigrateVault-1", help="Recovery Services vault name")
    p.add_argument(
        "--providers",
        default="InMageRcm",
        help=f"comma-separated replication providers the vault carries, of {', '.join(PROVIDERS)}",
    )
    p.add_argument(
        "--bare",
        action="store_true",
        help="start without a replication policy or container mapping, as a new Azure Migrate project",
    )
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
    p.add_argument(
        "--retry-after",
        type=int,
        default=None,
        help="Retry-After seconds on 202 answers (default: none, as the real service sends)",
    )
    p.add_argument(
        "--first-recovery-point-seconds",
        type=float,
        default=60.0,
        help="simulator seconds an item waits for its first recovery point after initial replication "
        "(InitialReplicationRecoveryCompletionPending; about 1800 on the real service)",
    )
    p.add_argument(
        "--answer-at-once",
        action="store_true",
        help="finish actions at once and answer 200 (with the item) or 204, as the spec allows, "
        "instead of 202",
    )
    p.add_argument(
        "--arm-limits",
        type=_limits,
        default=ARM_LIMITS,
        help="ARM token buckets as reads=250/25,writes=200/10,deletes=200/10 (size/refill per s; "
        "the default is ARM's), or off",
    )
    p.add_argument(
        "--server-error-rate",
        type=float,
        default=0.0,
        help="share of ARM requests answered 500/503 before anything changes",
    )
    p.add_argument("--job-failure-rate", type=float, default=0.0, help="share of jobs that fail")
    p.add_argument(
        "--fail-job",
        type=_pair,
        action="append",
        default=[],
        metavar="SCENARIO[:COUNT]",
        help="fail the next COUNT (default 1) jobs of a scenario, e.g. TestFailover:1; repeatable",
    )
    p.add_argument(
        "--fail-machine",
        action="append",
        default=[],
        metavar="NAME",
        help="fail every job of the machine with this display name; repeatable",
    )
    p.add_argument(
        "--warn-job",
        type=_pair,
        action="append",
        default=[],
        metavar="SCENARIO[:COUNT]",
        help="the next COUNT (default 1) jobs of a scenario succeed with a warning; repeatable",
    )
    p.add_argument(
        "--slow-job",
        type=_pair,
        action="append",
        default=[],
        metavar="SCENARIO:SECONDS",
        help="jobs of a scenario take SECONDS instead of --job-seconds; repeatable",
    )
    p.add_argument(
        "--ps-capacity",
        type=int,
        default=None,
        help="items a process server takes; enabling one more fails its job",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random faults, for repeatable runs")
    p.add_argument(
        "--discovered",
        type=int,
        default=0,
        help="pre-register N discovered machines (when no moto server is bridged)",
    )
    p.add_argument(
        "--moto-url",
        default=None,
        help="moto server to bridge discovery from (agent installs sent through its SSM)",
    )
    p.add_argument("--aws-regions", default="us-east-1", help="comma-separated regions the bridge watches")
    p.add_argument(
        "--appliance-address", default="127.0.0.1", help="the appliance address agent registrations must name"
    )
    p.add_argument(
        "--passphrase-file",
        type=Path,
        default=None,
        help="file holding the appliance passphrase registrations must present (needed with --moto-url)",
    )
    p.add_argument(
        "--bridge-interval",
        type=float,
        default=1.0,
        help="real seconds between bridge reads of moto (0: only on POST /admin/bridge/sync)",
    )
    return p


def build(args: argparse.Namespace) -> Simulator:
    providers = tuple(p.strip() for p in args.providers.split(",") if p.strip())
    faults = FaultProfile(
        server_error_rate=args.server_error_rate,
        job_failure_rate=args.job_failure_rate,
        fail_scenarios={name: int(count) for name, count in args.fail_job},
        fail_machines=set(args.fail_machine),
        slow_scenarios=dict(args.slow_job),
        warn_scenarios={name: int(count) for name, count in args.warn_job},
        process_server_capacity=args.ps_capacity,
        seed=args.seed,
    )
    vault = Vault(
        args.subscription,
        args.resource_group,
        args.vault,
        SimClock(args.time_scale),
        providers=providers,
        job_seconds=args.job_seconds,
        bandwidth_mb_per_s=args.bandwidth_mbps,
        faults=faults,
        first_recovery_point_seconds=args.first_recovery_point_seconds,
        answer_at_once=args.answer_at_once,
        bare=args.bare,
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
        vault,
        host=args.host,
        port=args.port,
        page_size=args.page_size,
        retry_after=args.retry_after,
        limits=args.arm_limits,
    )
    if args.moto_url:
        passphrase = args.passphrase_file.read_text().strip()
        sim.bridge = MotoBridge(
            vault,
            endpoint_url=args.moto_url,
            regions=args.aws_regions.split(","),
            appliance_address=args.appliance_address,
            passphrase=passphrase,
        )
    return sim


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.host != "127.0.0.1":
        p.error("--host must be 127.0.0.1: the simulator never listens beyond loopback")
    if args.moto_url and not args.passphrase_file:
        p.error("--moto-url needs --passphrase-file")
    try:
        sim = build(args)
    except (ValueError, OSError) as error:
        p.error(str(error))
    stopped = stop_signal()
    sim.start()
    bridge = sim.bridge
    if isinstance(bridge, MotoBridge) and args.bridge_interval > 0:
        bridge.start_polling(args.bridge_interval)
    print(f"ASR simulator listening on {sim.url} for {sim.vault.prefix}", flush=True)
    stopped.wait()
    if isinstance(bridge, MotoBridge):
        bridge.stop()
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
