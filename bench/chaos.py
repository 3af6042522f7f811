"""The chaos suite at full size: python -m bench.chaos [--vms N] [--hosts N] [--kills N] [--seed S].

Hosts as separate processes, killed (SIGKILL) right after ASR mutations and at random, two or more
at once, one paused (SIGSTOP) past its lease, ASR answering 5xx, a small ARM write bucket, a Table
Storage and an AWS outage, events delivered twice and out of order (local/chaos.py). Prints one line:
kills, pauses, hosts, VMs, duplicates (ASR actions and SSM commands issued twice), stuck and lost VMs,
and the command that produced it. Exit 1 if anything was duplicated, stuck or lost.
"""

from __future__ import annotations

import argparse
import sys

from local.chaos import Plan, run


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=20)
    parser.add_argument("--hosts", type=int, default=2)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--server-error-rate", type=float, default=0.3)
    parser.add_argument("--job-failure-rate", type=float, default=0.1)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    plan = Plan(
        vms=args.vms,
        hosts=args.hosts,
        kills=args.kills,
        server_error_rate=args.server_error_rate,
        job_failure_rate=args.job_failure_rate,
        rounds=args.rounds,
        seed=args.seed,
    )
    result = run(plan)
    print(result.line())
    for vm, lines in result.why_stuck.items():
        print(f"  stuck {vm}: {' | '.join(lines)}")
    print(f"command: .venv/bin/python -m bench.chaos {' '.join(argv)}".rstrip())
    return 1 if result.duplicates or result.stuck or result.lost else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
