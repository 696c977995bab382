"""AG-UI over HTTP: `POST` a RunAgentInput, receive the run as server-sent events.

`AguiApp` is a plain ASGI application (serve it with uvicorn, or mount it in another app).
Each AG-UI thread is one session: threadId is the session id, the session's agent keeps
the conversation, and each POST runs the thread's newest user message as one traced run
(RUN_STARTED.runId is the trace id). A client that disconnects cancels its run.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import orjson

from myagent import access
from myagent.origins import media_type
from myagent.ws.agui_events import AguiEventMapper
from myagent.ws.factory import AgentFactory, AgentFactoryFunc
from myagent.ws.guard import AccessPolicy, new_reconnect_token
from myagent.ws.runner import AgentDriver, MessageHandler

logger = logging.getLogger("myagent.ws.agui")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ConfirmPolicy = bool | Callable[[Any, dict[str, Any]], Awaitable[bool] | bool]
"""How `user_confirm` tools are answered over AG-UI: False denies, True allows, or a hook."""

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class RequestError(Exception):
    """A request the endpoint refuses with an HTTP error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


THREAD_TOKEN_HEADER = "x-myagent-thread-token"
"""Where a client presents its thread's token (or `forwardedProps.threadToken`)."""


class _Thread:
    """One AG-UI thread: its session's agent driver, its token and the run in progress."""

    __slots__ = ("driver", "last_used", "task", "token")

    def __init__(self, driver: AgentDriver) -> None:
        self.driver = driver
        self.token = new_reconnect_token()
        self.task: asyncio.Task[None] | None = None
        self.last_used = time.monotonic()

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()


class AguiApp:
    """ASGI app serving myagent agents over AG-UI (POST / with a RunAgentInput)."""

    def __init__(
        self,
        create_agent: AgentFactoryFunc,
        *,
        handlers: Sequence[MessageHandler] | None = None,
        confirm_tools: ConfirmPolicy = False,
        max_threads: int = 1000,
        thread_idle_timeout: float = 3600.0,
        max_body_size: int = 1024 * 1024,
        token: str | None = None,
        allowed_origins: Iterable[str] | str | None = None,
        bind_threads: bool = True,
    ) -> None:
        self.factory = AgentFactory(create_agent)
        self.bind_threads = bind_threads
        self.token = token
        self.access_policy = AccessPolicy.build(token, allowed_origins)
        self.handlers: Sequence[MessageHandler] = handlers if handlers is not None else []
        self.confirm_tools = confirm_tools
        self.max_threads = max_threads
        self.thread_idle_timeout = thread_idle_timeout
        self.max_body_size = max_body_size
        self.threads: OrderedDict[str, _Thread] = OrderedDict()
        self._stopping = False

    # -- ASGI -------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope.get("path", "/").rstrip("/") or "/"
        method = scope.get("method", "GET")
        cors = self.access_policy.cors_headers(_headers(scope))
        try:
            if method == "OPTIONS" and cors:  # a CORS preflight from an allowed front-end
                await _send_json(send, 204, None, cors)
                return
            if path != "/health":
                self._check_access(scope)
            if path == "/health" and method == "GET":
                await _send_json(send, 200, {"status": "ok", "threads": len(self.threads)})
            elif path in ("/", "/agent", "/run"):
                if method == "POST":
                    _require_json(scope)
                    await self._run_endpoint(_headers(scope), receive, send, cors)
                elif method == "GET":
                    await _send_json(send, 200, {"protocol": "ag-ui", "endpoint": "POST /"}, cors)
                else:
                    raise RequestError(405, "Method not allowed; POST a RunAgentInput")
            else:
                raise RequestError(404, "Not found")
        except RequestError as error:
            await _send_json(send, error.status, {"error": error.message}, cors)

    def _check_access(self, scope: Scope) -> None:
        """Every request but /health: a known Host without a token (421), the token when one
        is set (bearer header or ?token=, 401), and no page of another origin (403)."""
        query = scope.get("query_string", b"").decode("latin-1")
        refusal = self.access_policy.check(_headers(scope), query)
        if refusal is not None:
            raise RequestError(refusal.status, refusal.message)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._stopping = False
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def stop(self, timeout: float = 10.0) -> None:
        """Cancel every run in progress (each stream ends with a cancelled RUN_FINISHED)."""
        self._stopping = True
        tasks = [t.task for t in self.threads.values() if t.task is not None and not t.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        self.threads.clear()

    # -- runs -------------------------------------------------------------------------

    async def _run_endpoint(
        self,
        request_headers: dict[str, str],
        receive: Receive,
        send: Send,
        cors: list[tuple[bytes, bytes]],
    ) -> None:
        body = await self._read_body(receive)
        thread_id, client_run_id, text = parse_run_input(body)
        self._check_thread(thread_id, _presented_thread_token(request_headers, body))
        headers = SSE_HEADERS + cors
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        gone = False

        async def emit(events: list[dict[str, Any]]) -> None:
            nonlocal gone
            for event in events:
                if gone:
                    return
                try:
                    await send(
                        {"type": "http.response.body", "body": _sse(event), "more_body": True}
                    )
                except (OSError, RuntimeError):
                    gone = True

        mapper = AguiEventMapper(thread_id, client_run_id)
        if self._stopping:
            await emit(mapper.failed("Server is shutting down", "server_shutting_down"))
        else:
            thread = await self._thread(thread_id, mapper, emit)
            if thread is not None:
                await self._drive(thread, text, mapper, emit, receive)
        if not gone:
            with contextlib.suppress(OSError, RuntimeError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _check_thread(self, thread_id: str, token: str | None) -> None:
        """A thread continues only for the client holding its token (403); a new one is
        made only below the cap (503): a flood of new threads never evicts a live one."""
        self._prune()
        thread = self.threads.get(thread_id)
        if thread is None:
            if len(self.threads) >= self.max_threads:
                raise RequestError(
                    503, f"The server holds {self.max_threads} threads (its limit); try later"
                )
            return
        if self.bind_threads and not access.token_matches(token, thread.token):
            raise RequestError(
                403,
                f"Thread {thread_id!r} belongs to another client: present the threadToken of "
                "its RUN_STARTED.metadata in the X-Myagent-Thread-Token header "
                "(or forwardedProps.threadToken)",
            )

    async def _thread(
        self,
        thread_id: str,
        mapper: AguiEventMapper,
        emit: Callable[[list[dict[str, Any]]], Awaitable[None]],
    ) -> _Thread | None:
        """The thread's session, created on first use; None (after RUN_ERROR) when busy."""
        self._prune()
        thread = self.threads.get(thread_id)
        if thread is not None and thread.busy:
            await emit(
                mapper.failed("A run is already in progress on this thread", "run_in_progress")
            )
            return None
        if thread is None:
            try:
                agent = await self.factory.create(thread_id)
                driver = AgentDriver(agent, thread_id, handlers=self.handlers, transport="ag-ui")
            except Exception as exc:
                logger.exception("create_agent failed")
                await emit(
                    mapper.failed(f"Could not create an agent: {exc}", "agent_create_failed")
                )
                return None
            if thread_id in self.threads:  # another request made it meanwhile: not ours
                await emit(mapper.failed("The thread was just started elsewhere", "thread_taken"))
                return None
            thread = self.threads[thread_id] = _Thread(driver)
        self.threads.move_to_end(thread_id)
        thread.last_used = time.monotonic()
        mapper.started_metadata["threadToken"] = thread.token
        return thread

    async def _drive(
        self,
        thread: _Thread,
        text: str,
        mapper: AguiEventMapper,
        emit: Callable[[list[dict[str, Any]]], Awaitable[None]],
        receive: Receive,
    ) -> None:
        """Run the message, streaming events; a client disconnect cancels the run."""
        driver = thread.driver
        driver.metadata["agui_run_id"] = mapper.client_run_id

        async def sink(event: dict[str, Any]) -> None:
            await emit(mapper.feed(event))

        async def produce() -> None:
            try:
                result = await driver.run(text, sink, self._confirm)
            except asyncio.CancelledError:
                await emit(mapper.cancelled())
                return
            if result.error is not None:
                await emit(mapper.failed(str(result.error) or type(result.error).__name__))
            else:
                await emit(mapper.finished(result.answer))

        task = thread.task = asyncio.create_task(produce())
        watcher = asyncio.create_task(_wait_for_disconnect(receive))
        try:
            done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if task not in done:
                task.cancel()
                await asyncio.wait({task})
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            thread.last_used = time.monotonic()

    async def _confirm(self, tool: Any, arguments: dict[str, Any]) -> bool:
        policy = self.confirm_tools
        if isinstance(policy, bool):
            return policy
        answer = policy(tool, arguments)
        if inspect.isawaitable(answer):
            answer = await answer
        return bool(answer)

    def _prune(self) -> None:
        """Forget threads idle past the idle timeout (never a live one to make room)."""
        now = time.monotonic()
        for thread_id, thread in list(self.threads.items()):
            if not thread.busy and now - thread.last_used > self.thread_idle_timeout:
                del self.threads[thread_id]

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestError(400, "Client disconnected")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_size:
                raise RequestError(413, f"Body over {self.max_body_size} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}


def _presented_thread_token(headers: dict[str, str], body: bytes) -> str | None:
    """The thread token a run request carries: header, else `forwardedProps.threadToken`."""
    if THREAD_TOKEN_HEADER in headers:
        return headers[THREAD_TOKEN_HEADER]
    data = orjson.loads(body)  # parse_run_input has checked it is a JSON object
    props = data.get("forwardedProps", data.get("forwarded_props"))
    token = props.get("threadToken") if isinstance(props, dict) else None
    return token if isinstance(token, str) else None


def _require_json(scope: Scope) -> None:
    """A run starts only from `application/json`, which no form or no-cors fetch can send."""
    if media_type(_headers(scope)) != "application/json":
        raise RequestError(415, "RunAgentInput must be sent as application/json")


def parse_run_input(body: bytes) -> tuple[str, str, str]:
    """(threadId, runId, newest user message text) from a RunAgentInput body; 422 if invalid."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(400, f"Body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RequestError(422, "Body must be a RunAgentInput object")
    thread_id = data.get("threadId", data.get("thread_id"))
    run_id = data.get("runId", data.get("run_id"))
    messages = data.get("messages")
    if not isinstance(thread_id, str) or not thread_id:
        raise RequestError(422, "RunAgentInput needs a threadId (string)")
    if not isinstance(run_id, str) or not run_id:
        raise RequestError(422, "RunAgentInput needs a runId (string)")
    if not isinstance(messages, list):
        raise RequestError(422, "RunAgentInput needs messages (an array)")
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            text = _message_text(message.get("content"))
            if text.strip():
                return thread_id, run_id, text
            break
    raise RequestError(422, "RunAgentInput has no user message with text to run")


def _message_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def _sse(event: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(event, default=str) + b"\n\n"


async def _wait_for_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def _send_json(
    send: Send,
    status: int,
    payload: dict[str, Any] | None,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = b"" if payload is None else json.dumps(payload).encode()
    headers = [(b"content-length", str(len(body)).encode()), *(extra or [])]
    if payload is not None:
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
