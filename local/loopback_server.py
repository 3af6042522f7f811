"""What the stand-in HTTP servers share: loopback only, a real listen backlog, quick small answers."""

from __future__ import annotations

import json
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any


class LoopbackServer(ThreadingHTTPServer):
    # The stdlib's backlog of 5 resets connections when many clients connect at once (a reconcile
    # pass with 8 workers does); a stand-in must take what the real service would.
    request_queue_size = 128
    daemon_threads = True

    def __init__(self, port: int, handler: type) -> None:
        super().__init__(("127.0.0.1", port), handler)
        self._serving: threading.Thread | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (killed, timed out) is its business, not an error here."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def serve_in_background(self, name: str) -> None:
        self._serving = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )
        self._serving.start()

    def close(self) -> None:
        """Stops serving, closes the socket, and waits for the serving thread."""
        self.shutdown()
        self.server_close()
        if self._serving:
            self._serving.join(timeout=10)


class LoopbackHandler(BaseHTTPRequestHandler):
    """Every verb goes to `_dispatch(method)`; `_send` writes one whole answer."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as two writes; without this, Nagle + delayed ACK stall each answer ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        raise NotImplementedError

    def _send(
        self, status: int, body: bytes | dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        """A dict goes out as JSON; bytes as they are; None as an empty body."""
        data = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")
        self.send_response(status)
        for name, value in (headers or {}).items():
            if name.lower() not in {"content-length", "transfer-encoding"}:
                self.send_header(name, value)
        if isinstance(body, dict):
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def stop_signal() -> threading.Event:
    """Set on SIGTERM or SIGINT. Call it before a stand-in says it is ready: a stop sent as soon as
    it answers (a busy machine, a quick test) must find the handler, not kill it with the default."""
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return stopped
