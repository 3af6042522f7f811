"""After the test suite: fail if any process that inherited the run's id is still alive, and end it.

Usage: python -m local.leaks RUN_ID. The test command exports AZMIGRATE_TEST_RUN_ID before pytest, so
every process the tests start (Azurite, moto, simulators, hosts) carries it in its environment.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

VARIABLE = "AZMIGRATE_TEST_RUN_ID"


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def survivors(run_id: str) -> dict[int, str]:
    marker = f"{VARIABLE}={run_id}".encode()
    mine = _ancestors()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            if marker not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            found[int(entry.name)] = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
        except OSError:
            continue  # it ended while we looked, or is not ours to read
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1]:
        print("usage: python -m local.leaks RUN_ID", file=sys.stderr)
        return 2
    left = survivors(argv[1])
    if not left:
        print("no process started by the tests is still running")
        return 0
    print(f"{len(left)} process(es) started by the tests are still running; ending them:", file=sys.stderr)
    for pid, command in sorted(left.items()):
        print(f"  {pid}: {command[:200]}", file=sys.stderr)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
