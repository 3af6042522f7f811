"""The HTTP server class the stand-ins share: loopback only, a real listen backlog, daemon threads."""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class LoopbackServer(ThreadingHTTPServer):
    # The stdlib's backlog of 5 resets connections when many clients connect at once (a reconcile
    # pass with 8 workers does); a stand-in must take what the real service would.
    request_queue_size = 128
    daemon_threads = True

    def __init__(self, port: int, handler: type) -> None:
        super().__init__(("127.0.0.1", port), handler)
