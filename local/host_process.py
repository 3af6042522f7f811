"""A local Functions host as a separate process (`python -m local.host`), for several workers on
the same storage: the demo's `--workers`, and the chaos run, which kills and freezes them."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from local.front_end import HostKeys
from local.stack import free_port

REPO = Path(__file__).resolve().parents[1]
CHAOS_MESSAGE_LEASE = 10.0  # a killed host's messages come back this soon (the host's default: 600 s)


class Host:
    """One Functions host process (`python -m local.host`) with the app's settings."""

    def __init__(
        self,
        env: dict[str, str],
        keys: HostKeys,
        *,
        message_lease: float = 600.0,
        retry_delay: float | None = None,
        http_only: bool = False,
    ) -> None:
        self.message_lease, self.retry_delay, self.http_only = message_lease, retry_delay, http_only
        self.env, self.keys, self.port = env, keys, free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._read_to = self._started = self._settled = 0  # the log read so far, and its counts

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Host:
        args = [
            # KEY=VALUE in one argument: a random key may begin with "-", which argparse reads as a flag.
            *(
                sys.executable,
                "-m",
                "local.host",
                "--port",
                str(self.port),
                f"--master-key={self.keys.master}",
            ),
            *(f"--key={role}={key}" for role, key in self.keys.roles.items()),
            *("--message-lease", str(self.message_lease)),
            *(("--retry-delay", str(self.retry_delay)) if self.retry_delay is not None else ()),
            *(("--http-only",) if self.http_only else ()),
        ]
        self.log = tempfile.NamedTemporaryFile(prefix="azmigrate-host-", suffix=".log")  # noqa: SIM115
        self._read_to = self._started = self._settled = 0
        self.process = subprocess.Popen(
            args, cwd=REPO, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            if self.call("GET", "/api/migrations") is not None:
                return self
            time.sleep(0.1)  # the child process starting, bounded by the deadline
        tail = Path(self.log.name).read_text(errors="replace")[-2000:]
        raise RuntimeError(f"host on {self.port} did not start:\n{tail}")

    def kill(self) -> bool:
        """SIGKILL; whether the host held a message then (its log: started without settled)."""
        if self.process is None or self.process.poll() is not None:
            return False
        self.process.kill()
        self.process.wait(10)
        return self.holds_message()

    def holds_message(self) -> bool:
        """A queue message started and not settled (the host's log since its last start)."""
        return self.messages_started() > self.messages_settled()

    def messages_started(self) -> int:
        """Queue messages this host started (its log since its last start)."""
        return self._log_counts()[0]

    def messages_settled(self) -> int:
        return self._log_counts()[1]

    def _log_counts(self) -> tuple[int, int]:
        """Messages started and settled, counted on the log's complete lines, reading only what was
        written since the last look (a watcher polls this every few milliseconds)."""
        with open(self.log.name, "rb") as log:
            log.seek(self._read_to)
            fresh = log.read()
        complete = fresh[: fresh.rfind(b"\n") + 1]
        self._read_to += len(complete)
        self._started += complete.count(b" started (delivery ")
        self._settled += complete.count(b" settled")
        return self._started, self._settled

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)

    def call(self, method: str, path: str, body: bytes | None = None, timeout: float = 120) -> int | None:
        """The answer's status, or None when the host did not answer (dead, or killed mid-request)."""
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=body,
            method=method,
            headers={"x-functions-key": self.keys.for_call(method, path)},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except (urllib.error.URLError, OSError):
            return None


@contextlib.contextmanager
def running_hosts(
    count: int, env: dict[str, str], keys: HostKeys, *, http_only: bool = False
) -> Iterator[list[Host]]:
    """`count` host processes with these app settings (the same tables and queue), killed after."""
    hosts = [Host(env, keys, http_only=http_only) for _ in range(count)]
    try:
        for host in hosts:
            host.start()
        yield hosts
    finally:
        for host in hosts:
            host.kill()
