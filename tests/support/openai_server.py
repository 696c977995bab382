"""A real local HTTP server speaking the OpenAI chat-completions wire format, for tests.

Built on the stdlib ``ThreadingHTTPServer``: no extra dependency, it runs in its own thread
(independent of each test's event loop), and it gives byte-level control over SSE and headers.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ToolCallSpec = tuple[str, str | dict[str, Any]] | tuple[str, str, str | dict[str, Any]]
"""``(name, arguments)`` or ``(id, name, arguments)``; dict arguments are sent as JSON."""

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_exceeded",
}


@dataclass
class Reply:
    """One scripted answer the server gives to the next chat-completions request."""

    status: int = 200
    content: str | None = None
    tool_calls: list[tuple[str, str, str]] = field(default_factory=list)
    usage: tuple[int, int] | None = (10, 5)
    model: str | None = None
    finish_reason: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error_message: str = "scripted error"
    chunk_size: int = 4
    interleave_tool_calls: bool = False
    disconnect_after_chunks: int | None = None
    delay: float = 0.0


class OpenAITestServer:
    """Serves ``POST /v1/chat/completions`` from a queue of scripted replies; records requests."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._call_ids = 0
        self.requests: list[dict[str, Any]] = []
        self.models: list[str] = ["loopback-model"]
        self.request_headers: list[dict[str, str]] = []
        self.responder: Callable[[dict[str, Any]], Reply] | None = None
        """Answers requests when the queue is empty, from the request body."""
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """Root of the API, ending in ``/v1`` as the SDK expects."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> OpenAITestServer:
        """Bind a free port on loopback and serve in a daemon thread."""
        self._httpd = _Server((self._host, 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> OpenAITestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def enqueue(
        self,
        content: str | None = None,
        *,
        tool_calls: Sequence[ToolCallSpec] | None = None,
        status: int = 200,
        times: int = 1,
        usage: tuple[int, int] | None = (10, 5),
        model: str | None = None,
        finish_reason: str | None = None,
        headers: dict[str, str] | None = None,
        error_message: str = "scripted error",
        chunk_size: int = 4,
        interleave_tool_calls: bool = False,
        disconnect_after_chunks: int | None = None,
        delay: float = 0.0,
    ) -> None:
        """Queue ``times`` identical replies: a text answer, tool calls, or an HTTP error.

        Error replies carry ``retry-after-ms: 1`` unless ``headers`` says otherwise, so the
        SDK's retries stay fast. ``usage`` is ``(prompt_tokens, completion_tokens)``; ``delay``
        (seconds) holds the reply back, to provoke client timeouts.
        """
        calls: list[tuple[str, str, str]] = []
        for spec in tool_calls or []:
            if len(spec) == 3:
                call_id, name, arguments = spec
            else:
                with self._lock:
                    self._call_ids += 1
                    call_id = f"call_{self._call_ids}"
                name, arguments = spec
            text = arguments if isinstance(arguments, str) else json.dumps(arguments)
            calls.append((call_id, name, text))
        reply_headers = {"retry-after-ms": "1"} if status >= 400 else {}
        reply_headers.update(headers or {})
        reply = Reply(
            status=status,
            content=content,
            tool_calls=calls,
            usage=usage,
            model=model,
            finish_reason=finish_reason,
            headers=reply_headers,
            error_message=error_message,
            chunk_size=chunk_size,
            interleave_tool_calls=interleave_tool_calls,
            disconnect_after_chunks=disconnect_after_chunks,
            delay=delay,
        )
        with self._lock:
            self._queue.extend(reply for _ in range(times))

    @property
    def pending(self) -> int:
        """Replies not yet served."""
        with self._lock:
            return len(self._queue)

    def _next_reply(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.request_headers.append(headers)
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:  # replies that depend on the request (any order)
            return self.responder(body)
        return Reply(
            status=500,
            error_message="openai test server: no scripted reply left in the queue",
            headers={"x-should-retry": "false"},
        )


class _Server(ThreadingHTTPServer):
    """The HTTP server, knowing its owner so handlers can reach the reply queue."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[_Handler], owner: OpenAITestServer
    ) -> None:
        self.owner = owner
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, like real servers; streams use chunked framing

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        """``GET /v1/models``: the models this server claims to serve."""
        if self.path.rstrip("/") != "/v1/models":
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "nf"}})
            return
        models = [
            {"id": m, "object": "model", "owned_by": "test"} for m in self.server.owner.models
        ]
        self._send_json(200, {"object": "list", "data": models})

    def do_POST(self) -> None:
        """Answer one request, tolerating clients that hang up early."""
        try:
            self._answer()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client hung up (e.g. it stopped reading a stream)

    def _answer(self) -> None:
        """Route the request and write the next scripted reply."""
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "nf"}})
            return
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send_json(400, {"error": {"message": "body is not JSON", "type": "bad"}})
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.owner._next_reply(body, headers)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.status >= 400:
            error = {
                "message": reply.error_message,
                "type": _ERROR_TYPES.get(reply.status, "server_error"),
                "param": None,
                "code": str(reply.status),
            }
            self._send_json(reply.status, {"error": error}, reply.headers)
        elif body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._send_stream(reply, body, include_usage)
        else:
            self._send_json(200, _completion(reply, body), reply.headers)

    def _send_json(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        """Write a complete JSON response."""
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_stream(self, reply: Reply, body: dict[str, Any], include_usage: bool) -> None:
        """Write the reply as server-sent events ending in ``data: [DONE]``."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        for count, chunk in enumerate(_chunks(reply, body, include_usage)):
            if reply.disconnect_after_chunks is not None and count >= reply.disconnect_after_chunks:
                self.close_connection = True  # drop the connection mid-body, no final chunk
                return
            self._write_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def _write_chunk(self, data: bytes) -> None:
        """One HTTP/1.1 chunk of the event stream."""
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


def _usage(reply: Reply) -> dict[str, int] | None:
    """The reply's usage object, or None when the reply reports no usage."""
    if reply.usage is None:
        return None
    prompt, completion = reply.usage
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _finish_reason(reply: Reply) -> str:
    """``tool_calls`` when the reply calls tools, else ``stop``, unless scripted otherwise."""
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def _completion(reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
    """A ``chat.completion`` object, as the non-streaming endpoint returns it."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
            for cid, name, args in reply.tool_calls
        ]
    payload: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model or body.get("model", "unknown"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _finish_reason(reply),
                "logprobs": None,
            }
        ],
    }
    usage = _usage(reply)
    if usage is not None:
        payload["usage"] = usage
    return payload


def _pieces(text: str, size: int) -> list[str]:
    """Cut text into stream pieces of ``size`` characters."""
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _chunks(reply: Reply, body: dict[str, Any], include_usage: bool) -> Iterator[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a streamed reply, usage last when asked for."""
    created = int(time.time())
    model = reply.model or body.get("model", "unknown")

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        """One chunk carrying a delta for choice 0."""
        data: dict[str, Any] = {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
        if include_usage:
            data["usage"] = None
        return data

    yield chunk({"role": "assistant", "content": ""})
    if reply.content:
        for piece in _pieces(reply.content, reply.chunk_size):
            yield chunk({"content": piece})
    per_call: list[list[dict[str, Any]]] = []
    for index, (cid, name, args) in enumerate(reply.tool_calls):
        deltas: list[dict[str, Any]] = [
            {
                "index": index,
                "id": cid,
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
        ]
        deltas += [
            {"index": index, "function": {"arguments": piece}}
            for piece in _pieces(args, reply.chunk_size)
        ]
        per_call.append(deltas)
    if reply.interleave_tool_calls:
        longest = max((len(d) for d in per_call), default=0)
        ordered = [d[i] for i in range(longest) for d in per_call if i < len(d)]
    else:
        ordered = [delta for deltas in per_call for delta in deltas]
    for delta in ordered:
        yield chunk({"tool_calls": [delta]})
    yield chunk({}, _finish_reason(reply))
    usage = _usage(reply)
    if include_usage and usage is not None:
        yield {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage,
        }
