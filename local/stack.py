"""Start and stop the local stand-ins for the cloud: Azurite (Table and Queue services) and moto server.

Each runs as a child process on a free loopback port, is waited on until it answers HTTP, and is
stopped by its own pid. Children are started in their own session (Ctrl-C reaches us, and we stop
them in order) and, on Linux, are told to die with their parent, so a crashed test run or demo
leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3

from shared.guest.documents import documents

REPO = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
AZURITE_BIN = REPO / "node_modules" / ".bin" / "azurite-table"
AZURITE_QUEUE_BIN = REPO / "node_modules" / ".bin" / "azurite-queue"
# Azurite's well-known development account: public, documented, and accepted by nothing but Azurite.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
START_ATTEMPTS = 3


def aws_client(endpoint_url: str, service: str, region: str = "us-east-1") -> Any:
    """A boto3 client for the moto stand-in; moto accepts any credentials, so these are placeholders."""
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id="stand-in",
        aws_secret_access_key="stand-in",  # noqa: S106 - not a secret: moto checks nothing
    )


def install_documents(endpoint_url: str, regions: list[str], prefix: str) -> None:
    """Our SSM documents in the stand-in, as infra/aws/region.yaml creates them in each region."""
    for region in regions:
        ssm = aws_client(endpoint_url, "ssm", region)
        for name, content in documents(prefix).items():
            body = json.dumps(content)
            try:
                ssm.create_document(Name=name, Content=body, DocumentType="Command", DocumentFormat="JSON")
            except ssm.exceptions.DocumentAlreadyExists:
                try:
                    ssm.update_document(
                        Name=name, Content=body, DocumentVersion="$LATEST", DocumentFormat="JSON"
                    )
                except ssm.exceptions.DuplicateDocumentContent:
                    continue  # already this content
                latest = ssm.describe_document(Name=name)["Document"]["LatestVersion"]
                ssm.update_document_default_version(Name=name, DocumentVersion=latest)


class StandInError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalService:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_file: IO[bytes] = field(repr=False)
    stop_signal: int = signal.SIGTERM

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self.log_file.close()

    def log_tail(self, lines: int = 20) -> str:
        self.log_file.flush()
        text = Path(self.log_file.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Azurite(LocalService):
    """Azurite's Table service (this process) and, when started with it, its Queue service."""

    queues: LocalService | None = None

    @property
    def table_endpoint(self) -> str:
        return f"{self.url}/{AZURITE_ACCOUNT}"

    @property
    def queue_endpoint(self) -> str:
        if self.queues is None:
            raise StandInError("this Azurite was started without its Queue service")
        return f"{self.queues.url}/{AZURITE_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        queue = f"QueueEndpoint={self.queue_endpoint};" if self.queues is not None else ""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"TableEndpoint={self.table_endpoint};{queue}"
        )

    def stop(self, timeout: float = 10.0) -> None:
        if self.queues is not None:
            self.queues.stop(timeout)
        super().stop(timeout)


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it if the process that started it dies."""
    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _answers_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer, even 403, means the server is up
    except (urllib.error.URLError, OSError):
        return False


def _spawn(name: str, argv: Sequence[str], port: int, probe_path: str, timeout: float) -> LocalService:
    log_file = tempfile.NamedTemporaryFile(prefix=f"azmigrate-{name}-", suffix=".log", delete=True)  # noqa: SIM115
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        cwd=tempfile.gettempdir(),
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
    )
    service = LocalService(name, port, process, log_file)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = service.log_tail()
            service.stop()
            raise StandInError(f"{name} exited with {process.returncode} while starting:\n{tail}")
        if _answers_http(f"http://{LOOPBACK}:{port}{probe_path}"):
            return service
        time.sleep(0.1)  # polling a child process we just started, bounded by the deadline
    tail = service.log_tail()
    service.stop()
    raise StandInError(f"{name} did not answer on port {port} within {timeout:.0f}s:\n{tail}")


def _start(
    name: str, argv_for: Callable[[int], Sequence[str]], probe_path: str, timeout: float
) -> LocalService:
    """Another process can take a free port between our check and the child's bind: try a new one."""
    error: StandInError | None = None
    for _ in range(START_ATTEMPTS):
        port = free_port()
        try:
            return _spawn(name, argv_for(port), port, probe_path, timeout)
        except StandInError as failure:
            error = failure
    assert error is not None
    raise error


def start_azurite(
    timeout: float = 30.0, *, location: Path | None = None, port: int | None = None, queues: bool = True
) -> Azurite:
    """Azurite in memory, or keeping its tables in `location` (to survive a restart on the same
    `port`, as an outage does), with its Queue service (in memory) unless `queues` is false. Both are
    stopped with SIGINT: on SIGTERM Azurite loses its recent writes."""
    for binary in (AZURITE_BIN, AZURITE_QUEUE_BIN):
        if not binary.exists():
            raise StandInError(f"{binary} is missing: run the README's bootstrap (npm ci) first")

    def argv(port: int) -> list[str]:
        keep = ("--location", str(location)) if location else ("--inMemoryPersistence",)
        return [
            str(AZURITE_BIN),
            *("--tableHost", LOOPBACK, "--tablePort", str(port)),
            *keep,
            *("--skipApiVersionCheck", "--disableTelemetry"),
        ]

    probe = f"/{AZURITE_ACCOUNT}/Tables"
    if port is not None:
        service = _spawn("azurite", argv(port), port, probe, timeout)
    else:
        service = _start("azurite", argv, probe, timeout)
    service.stop_signal = signal.SIGINT
    try:
        queue_service = _start_queues(timeout) if queues else None
    except BaseException:
        service.stop()
        raise
    return Azurite(
        service.name, service.port, service.process, service.log_file, signal.SIGINT, queue_service
    )


def _start_queues(timeout: float) -> LocalService:
    def argv(port: int) -> list[str]:
        return [
            str(AZURITE_QUEUE_BIN),
            *("--queueHost", LOOPBACK, "--queuePort", str(port)),
            *("--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry"),
        ]

    service = _start("azurite-queue", argv, f"/{AZURITE_ACCOUNT}?comp=list", timeout)
    service.stop_signal = signal.SIGINT
    return service


def start_moto(timeout: float = 60.0) -> LocalService:
    def argv(port: int) -> list[str]:
        return [sys.executable, str(REPO / "local" / "moto_server.py"), "-H", LOOPBACK, "-p", str(port)]

    return _start("moto", argv, "/moto-api/", timeout)


@dataclass
class Stack:
    azurite: Azurite
    moto: LocalService

    def stop(self) -> None:
        for service in (self.moto, self.azurite):
            service.stop()


@contextlib.contextmanager
def running_stack() -> Iterator[Stack]:
    """Azurite and moto for as long as the block runs; both stopped however it ends."""
    azurite = start_azurite()
    try:
        moto = start_moto()
    except BaseException:
        azurite.stop()
        raise
    stack = Stack(azurite, moto)
    try:
        yield stack
    finally:
        stack.stop()


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it has exited and only waits to be reaped.
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True
