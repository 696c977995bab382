"""OTLPTraceExporter: a write-only storage that ships finished traces over OTLP/HTTP.

It runs as a `TraceManager.add_sink` sink, on its own writer thread, so the traced
program and the local storage never wait for the receiver. One `store_traces` call has
one deadline (`timeout`, at most 25 s, under the writer's 30 s write timeout) covering
every request and retry; 429/502/503/504 are retried with backoff, honouring
Retry-After up to `max_retry_delay`. Shutdown wakes a request stuck on a hanging
receiver by shutting its socket down.
"""

from __future__ import annotations

import contextlib
import email.utils
import gzip
import http.client
import logging
import os
import random
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from myagent import __version__
from myagent.trace.otel.mapping import SpanOptions, resource_for
from myagent.trace.otel.settings import OTLPSettings
from myagent.trace.otel.wire import RequestEncoder, encode_trace
from myagent.trace.records import Trace
from myagent.trace.redaction import redact_error
from myagent.trace.storage.base import TraceStorage, skipped

logger = logging.getLogger("myagent.trace")

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
"""Statuses the OTLP/HTTP spec says to retry; every other failure status is final."""
_MAX_RESPONSE_BYTES = 1 << 20
_SENT_MEMORY = 10_000
_ENCODED_MEMORY = 4_096


class OTLPExportError(Exception):
    """An export request failed (status, transport error, deadline or shutdown)."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


class OTLPTraceExporter(TraceStorage):
    """Exports every finished trace as OTel GenAI spans to an OTLP/HTTP (protobuf) receiver.

    Configure with arguments or the standard OTEL_EXPORTER_OTLP_* / OTEL_SERVICE_NAME
    variables; prompts and outputs are exported only with `capture_content=True` (or
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true). Use it through
    `TraceManager.add_sink` (or `enable_otlp_export`): its calls block their thread.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        compression: str | None = None,
        certificate_file: str | None = None,
        service_name: str | None = None,
        resource_attributes: Mapping[str, Any] | None = None,
        capture_content: bool | None = None,
        provider_name: str | None = "openai",
        max_attribute_length: int | None = None,
        max_retries: int = 3,
        max_retry_delay: float = 5.0,
        max_spans_per_request: int = 512,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = OTLPSettings.resolve(
            endpoint,
            headers=headers,
            timeout=timeout,
            compression=compression,
            certificate_file=certificate_file,
            service_name=service_name,
            resource_attributes=resource_attributes,
            capture_content=capture_content,
            max_attribute_length=max_attribute_length,
            environ=environ,
        )
        settings = self.settings
        self.options = SpanOptions(
            capture_content=settings.capture_content,
            provider_name=provider_name,
            max_attribute_length=settings.max_attribute_length,
        )
        self.max_retries = max_retries
        self.max_retry_delay = max_retry_delay
        self.max_spans_per_request = max(1, max_spans_per_request)
        self._encoder = RequestEncoder(resource_for(settings.resource))
        url = urlsplit(settings.endpoint)
        self._https = url.scheme == "https"
        self._host = url.hostname or "localhost"
        self._port = url.port or (443 if self._https else 80)
        self._path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        self._headers = {
            "Content-Type": "application/x-protobuf",
            "User-Agent": f"myagent-otlp-exporter/{__version__}",
            **settings.headers,
        }
        if settings.compression == "gzip":
            self._headers["Content-Encoding"] = "gzip"
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._sent: dict[str, None] = {}
        self._encoded: dict[str, tuple[bytes, int]] = {}
        self._logged: set[str] = set()
        self._stats: dict[str, Any] = {
            "requests": 0,
            "failed_requests": 0,
            "retries": 0,
            "exported_traces": 0,
            "exported_spans": 0,
            "rejected_spans": 0,
            "mapping_errors": 0,
            "last_status": None,
            "last_error": None,
        }
        _EXPORTERS.add(self)

    @property
    def endpoint(self) -> str:
        """The URL spans are POSTed to."""
        return self.settings.endpoint

    @property
    def stats(self) -> dict[str, Any]:
        """Exporter counters: requests, failures, retries, spans exported and rejected;
        `last_error` with any secret it quotes redacted."""
        out = dict(self._stats)
        out["last_error"] = redact_error(out["last_error"])
        return out

    # -- TraceStorage ------------------------------------------------------------------

    async def store_trace(self, trace: Trace) -> None:
        """Export one finished trace."""
        self.export([trace])

    async def store_traces(self, traces: Sequence[Trace]) -> None:
        """Export a batch of finished traces (blocks the writer thread, never the program)."""
        self.export(traces)

    async def close(self) -> None:
        """Stop exporting; a request in flight is aborted."""
        self.shutdown()

    # -- export ------------------------------------------------------------------------

    def export(self, traces: Sequence[Trace]) -> None:
        """Send `traces` within one deadline; raises OTLPExportError when they did not arrive.

        Traces that already arrived are remembered, so a retried batch does not send
        them twice.
        """
        if self._closing.is_set():
            raise OTLPExportError("the OTLP exporter is shut down")
        deadline = time.monotonic() + self.settings.timeout
        with self._lock:
            for chunk_ids, parts, span_count in self._chunks(traces):
                body = self._encoder.encode(parts)
                if self.settings.compression == "gzip":
                    body = gzip.compress(body, compresslevel=6)
                self._send(body, span_count, deadline)
                for trace_id in chunk_ids:
                    self._remember(trace_id)
                self._stats["exported_traces"] += len(chunk_ids)
                self._stats["exported_spans"] += span_count

    def _chunks(self, traces: Sequence[Trace]) -> Iterator[tuple[list[str], list[bytes], int]]:
        """Whole traces, encoded once, packed into requests of about
        `max_spans_per_request` spans."""
        ids: list[str] = []
        parts: list[bytes] = []
        count = 0
        for trace in traces:
            if trace.trace_id in self._sent:
                continue
            encoded = self._encode(trace)
            if encoded is None:
                continue
            if ids and count + encoded[1] > self.max_spans_per_request:
                yield ids, parts, count
                ids, parts, count = [], [], 0
            ids.append(trace.trace_id)
            parts.append(encoded[0])
            count += encoded[1]
        if ids:
            yield ids, parts, count

    def _encode(self, trace: Trace) -> tuple[bytes, int] | None:
        """The trace's encoded spans; kept until sent, so a retry does not convert again."""
        cache = self._encoded
        encoded = cache.get(trace.trace_id)
        if encoded is None:
            try:
                encoded = encode_trace(trace, self.options)
            except Exception as exc:  # bad data in one trace must not block the others
                self._stats["mapping_errors"] += 1
                self._log_once("mapping", "could not convert a trace to spans", exc)
                skipped(trace, "mapping_failed", exc)  # the sink's writer counts it
                return None
            cache[trace.trace_id] = encoded
            if len(cache) > _ENCODED_MEMORY:
                del cache[next(iter(cache))]
        return encoded

    def _remember(self, trace_id: str) -> None:
        self._encoded.pop(trace_id, None)
        sent = self._sent
        sent[trace_id] = None
        if len(sent) > _SENT_MEMORY:
            del sent[next(iter(sent))]

    def _send(self, body: bytes, span_count: int, deadline: float) -> None:
        attempt = 0
        while True:
            if self._closing.is_set():
                raise self._failed("the OTLP exporter was shut down during an export")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._failed(f"OTLP export timed out after {self.settings.timeout}s")
            retry_after: float | None = None
            reused = self._conn is not None and self._conn.sock is not None
            try:
                status, headers, payload = self._post(body, remaining)
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                if reused and isinstance(exc, ConnectionResetError | BrokenPipeError):
                    continue  # the receiver closed an idle kept-alive connection: redo at once
                retryable = not isinstance(exc, ssl.SSLCertVerificationError)
                error = OTLPExportError(f"{type(exc).__name__}: {exc}", retryable=retryable)
            else:
                self._stats["last_status"] = status
                if 200 <= status < 300:
                    self._check_partial_success(payload, span_count)
                    return
                text = payload[:200].decode("utf-8", "replace")
                error = OTLPExportError(
                    f"OTLP receiver answered HTTP {status}: {text}",
                    status=status,
                    retryable=status in RETRYABLE_STATUSES,
                )
                retry_after = parse_retry_after(headers.get("retry-after"))
            self._stats["failed_requests"] += 1
            self._stats["last_error"] = str(error)
            if self._closing.is_set() or not error.retryable or attempt >= self.max_retries:
                raise error
            delay = retry_after if retry_after is not None else 0.25 * 2**attempt
            delay = min(delay, self.max_retry_delay) * (
                1.0 if retry_after else random.uniform(0.8, 1.2)
            )
            if time.monotonic() + delay >= deadline:
                raise error  # the wait would outlast the deadline
            self._stats["retries"] += 1
            if self._closing.wait(delay):
                raise self._failed("the OTLP exporter was shut down during an export")
            attempt += 1

    def _failed(self, message: str) -> OTLPExportError:
        self._stats["last_error"] = message
        return OTLPExportError(message)

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        conn = self._conn
        if conn is None:
            if self._https:
                context = ssl.create_default_context(cafile=self.settings.certificate_file)
                conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=timeout, context=context
                )
            else:
                conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
            self._conn = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def _post(self, body: bytes, timeout: float) -> tuple[int, dict[str, str], bytes]:
        conn = self._connection(timeout)
        self._stats["requests"] += 1
        conn.request("POST", self._path, body=body, headers=self._headers)
        response = conn.getresponse()
        payload = response.read(_MAX_RESPONSE_BYTES)
        headers = {k.lower(): v for k, v in response.getheaders()}
        if response.will_close or not response.isclosed():
            self._drop_connection()  # closed by the server, or a body we did not read whole
        return response.status, headers, payload

    def _check_partial_success(self, payload: bytes, span_count: int) -> None:
        if not payload:
            return
        try:
            answer = ExportTraceServiceResponse.FromString(payload)
        except Exception:
            return  # not protobuf (some receivers answer JSON or text): nothing to learn
        rejected = answer.partial_success.rejected_spans
        if rejected:
            self._stats["rejected_spans"] += min(rejected, span_count)
            message = answer.partial_success.error_message or "no reason given"
            self._log_once("partial", f"the receiver rejected {rejected} spans ({message})")

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def shutdown(self) -> None:
        """Stop exporting: later exports fail at once and a request in flight is aborted."""
        self._closing.set()
        if self._lock.acquire(blocking=False):
            try:
                self._drop_connection()
            finally:
                self._lock.release()
            return
        conn = self._conn
        sock = None if conn is None else conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the writer thread blocked in recv

    def _after_fork(self) -> None:
        # The child must not share the parent's socket, nor a lock held at fork time.
        self._lock = threading.Lock()
        self._conn = None

    def _log_once(self, kind: str, message: str, exc: BaseException | None = None) -> None:
        if kind in self._logged:
            return
        self._logged.add(kind)
        detail = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
        text = redact_error(f"{message}{detail}")
        logger.warning("myagent OTLP export: %s; logged once", text)


_EXPORTERS: weakref.WeakSet[OTLPTraceExporter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for exporter in list(_EXPORTERS):
        exporter._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
