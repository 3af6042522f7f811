"""An outage on demand: a loopback HTTP proxy in front of a stand-in (Azurite, moto) that forwards
every request while up and answers 503 while down, as a cloud in trouble does, or holds every request
unanswered while held, as a hanging one does. The chaos suite points the app's hosts at proxies and
takes them down and up again; the stand-ins keep their state. With `latency`, every answer comes
that much later, as a cloud service's does over a real network (the fleet benchmark's `--latency-ms`).
With `refuse`, one EC2 Query API action is answered with an EC2 client error (IAM denying it, say)
while every other request flows.
"""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from local.loopback_server import LoopbackHandler, LoopbackServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}
HOLD_LIMIT = 120.0  # seconds a held request waits at most (a chaos run that forgot to release)


class FaultProxy:
    def __init__(self, target_url: str, port: int = 0, *, latency: float = 0.0) -> None:
        target = urlsplit(target_url)
        if target.hostname != "127.0.0.1" or target.port is None:
            raise ValueError("the proxy forwards to a loopback stand-in only")
        if latency < 0:
            raise ValueError("latency must be zero or more seconds")
        self.target_port, self.down, self.latency = target.port, False, latency
        self.refused = 0  # requests answered 503 while down, or refused by `refuse`
        self.refusals: dict[str, tuple[int, str, str]] = {}  # EC2 action -> (status, code, message)
        self._flowing = threading.Event()
        self._flowing.set()
        handler = type("Handler", (_Forward,), {"proxy": self})
        self.server = LoopbackServer(port, handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FaultProxy:
        self.server.serve_in_background("fault-proxy")
        return self

    def stop(self) -> None:
        self.release()
        self.server.close()

    def hold(self) -> None:
        """Requests wait unanswered until `release` (a caller working a message is stuck in it)."""
        self._flowing.clear()

    def release(self) -> None:
        self._flowing.set()

    def refuse(self, action: str, code: str, message: str, status: int = 403) -> None:
        """Answers every EC2 Query API request for `action` (e.g. StartInstances) with this client
        error until `allow`; the stand-in never sees it. The body is EC2's documented error shape
        (Response/Errors/Error with Code and Message, and a RequestID; "Example error response" in
        https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html), which says
        only that client errors come with a 400-series code: 403 for an IAM denial is unconfirmed."""
        self.refusals[action] = (status, code, message)

    def allow(self, action: str) -> None:
        self.refusals.pop(action, None)

    def wait_while_held(self) -> None:
        self._flowing.wait(HOLD_LIMIT)


class _Forward(LoopbackHandler):
    proxy: FaultProxy

    def _dispatch(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.proxy.wait_while_held()
        if self.proxy.down:
            self.proxy.refused += 1
            self._send(503, {"error": {"code": "ServiceUnavailable", "message": "outage (chaos)"}})
            return
        refusal = self.proxy.refusals.get(_ec2_action(body)) if self.proxy.refusals else None
        if refusal is not None:
            self.proxy.refused += 1
            status, code, message = refusal
            self._send(status, _ec2_error(code, message), {"Content-Type": "text/xml;charset=UTF-8"})
            return
        if self.proxy.latency:
            time.sleep(self.proxy.latency)  # the network's round trip, not a wait for state
        upstream = http.client.HTTPConnection("127.0.0.1", self.proxy.target_port, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Host"] = f"127.0.0.1:{self.proxy.target_port}"
            upstream.request(method, self.path, body=body or None, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            forwarded = {k: v for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP}
            self._send(answer.status, data, forwarded)
        except OSError:
            self._send(502, {"error": {"code": "BadGateway", "message": "the stand-in did not answer"}})
        finally:
            upstream.close()


def _ec2_action(body: bytes) -> str:
    """The Action of an EC2 Query API request (a form-encoded POST body); "" for anything else."""
    try:
        return parse_qs(body.decode("ascii")).get("Action", [""])[0]
    except UnicodeDecodeError:
        return ""


def _ec2_error(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"</Error></Errors><RequestID>{uuid.uuid4()}</RequestID></Response>"
    ).encode()
