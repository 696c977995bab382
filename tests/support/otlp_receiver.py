"""A real OTLP/HTTP trace receiver on 127.0.0.1 for tests.

It decodes each `POST /v1/traces` body (gzip or not) as an opentelemetry-proto
`ExportTraceServiceRequest`, and answers from a script: 200 by default, or any status
with headers (500, 429 + Retry-After, partial success), or it hangs until released.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span


@dataclass
class Answer:
    """One scripted reply; `hang=True` holds the request open until the receiver is released."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    rejected_spans: int = 0
    hang: bool = False


@dataclass
class Received:
    """One request as it arrived, with the status it was answered with."""

    path: str
    headers: dict[str, str]
    request: ExportTraceServiceRequest
    status: int
    at: float
    client_port: int = 0


class OTLPReceiver:
    """Serves OTLP/HTTP protobuf on a free loopback port; records and decodes every request."""

    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        self._tls = tls
        self._script: deque[Answer] = deque()
        self._default = Answer()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._arrived = threading.Condition()
        self.received: list[Received] = []
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: list[socket.socket] = []

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> OTLPReceiver:
        """Bind 127.0.0.1 on a free port and serve from a daemon thread."""
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.receiver = self
        if self._tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*self._tls)
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hanging requests and stop serving."""
        self._release.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` (https with TLS), no path."""
        assert self._httpd is not None
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def url(self) -> str:
        """The traces endpoint, `http://127.0.0.1:PORT/v1/traces`."""
        return self.base_url + "/v1/traces"

    # -- script ----------------------------------------------------------------------

    def answer(self, *answers: Answer) -> None:
        """Answer the next requests with `answers`, in order, then with the default."""
        with self._lock:
            self._script.extend(answers)

    def always(self, answer: Answer) -> None:
        """Answer every request not covered by `answer(...)` with `answer`."""
        with self._lock:
            self._default = answer

    def release(self) -> None:
        """Let hanging requests finish (they then get 200)."""
        self._release.set()

    def drop_connections(self) -> None:
        """Close every open client connection from the server side (idle keep-alives too)."""
        with self._lock:
            connections, self._connections = self._connections, []
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _next_answer(self) -> Answer:
        with self._lock:
            return self._script.popleft() if self._script else self._default

    def _record(self, item: Received) -> None:
        with self._arrived:
            self.received.append(item)
            self._arrived.notify_all()

    # -- reading what arrived ----------------------------------------------------------

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until `count` requests arrived (or `timeout`); returns all of them."""
        end = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count and time.monotonic() < end:
                self._arrived.wait(max(0.0, end - time.monotonic()))
            return list(self.received)

    def accepted(self) -> list[Received]:
        """Requests answered with 2xx."""
        return [r for r in list(self.received) if 200 <= r.status < 300]

    def spans(self) -> list[Span]:
        """Every span of every accepted request."""
        return list(_spans(self.accepted()))

    def wait_for_spans(self, count: int, timeout: float = 10.0) -> list[Span]:
        """Block until `count` spans were accepted (or `timeout`); returns them."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            spans = self.spans()
            if len(spans) >= count:
                return spans
            with self._arrived:
                self._arrived.wait(0.05)
        return self.spans()


def _spans(received: list[Received]) -> Iterator[Span]:
    for item in received:
        for resource_spans in item.request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                yield from scope_spans.spans


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    receiver: OTLPReceiver


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read `received` instead."""

    def setup(self) -> None:
        super().setup()
        with self.server.receiver._lock:
            self.server.receiver._connections.append(self.connection)

    def do_POST(self) -> None:
        receiver = self.server.receiver
        port = self.client_address[1]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest.FromString(body)
        answer = receiver._next_answer()
        headers = {k.lower(): v for k, v in self.headers.items()}
        if answer.hang:
            receiver._record(Received(self.path, headers, request, 0, time.monotonic(), port))
            if not receiver._release.wait(60):
                return
            answer = Answer()
        else:
            item = Received(self.path, headers, request, answer.status, time.monotonic(), port)
            receiver._record(item)
        payload = b""
        if 200 <= answer.status < 300:
            partial = ExportTracePartialSuccess(
                rejected_spans=answer.rejected_spans,
                error_message="scripted rejection" if answer.rejected_spans else "",
            )
            response = ExportTraceServiceResponse(
                partial_success=partial if answer.rejected_spans else None
            )
            payload = response.SerializeToString()
        else:
            payload = f"scripted {answer.status}".encode()
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in answer.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client gave up (timeout or shutdown): nothing to answer
