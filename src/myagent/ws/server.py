"""AgentWebSocketServer: myagent agents over the agent WebSocket protocol (docs/ws-protocol.md).

Built on the `websockets` library's asyncio server. Each session gets a fresh agent from
the factory; each `user.message` is one run (one trace carrying the session id) in its own
task, so the connection keeps reading frames (confirmations, cancels) while a run goes on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from myagent import access
from myagent.trace.setup import get_trace_manager
from myagent.ws import state_transfer
from myagent.ws.factory import AgentFactory, AgentFactoryFunc
from myagent.ws.frames import FrameMapper
from myagent.ws.guard import (
    RECONNECT_TOKEN,
    AccessPolicy,
    new_reconnect_token,
    reconnect_allowed,
    session_cap_refusal,
)
from myagent.ws.protocol import (
    DEFAULT_PORT,
    AgentEvents,
    ClientFrame,
    ErrorCode,
    ProtocolError,
    SystemEvents,
    UserEvents,
    parse_frame,
    server_frame,
)
from myagent.ws.runner import RUN_STARTED, AgentDriver, MessageHandler
from myagent.ws.session import (
    CancelReason,
    Connection,
    ConnectionState,
    RunHandle,
    Session,
    SessionRegistry,
)

if TYPE_CHECKING:
    from myagent.ws.agui import AguiApp

logger = logging.getLogger("myagent.ws")

DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024
"""Largest client frame the application accepts (bytes); larger ones get system.error."""

_Handler = Callable[[Connection, ClientFrame], Awaitable[None]]


class _SessionState:
    """What the server keeps beside a session: its agent driver and frame mapper."""

    __slots__ = ("driver", "mapper")

    def __init__(self, driver: AgentDriver, mapper: FrameMapper) -> None:
        self.driver = driver
        self.mapper = mapper


TOKEN_ENV = "MYAGENT_SERVE_TOKEN"
"""Environment variable holding the access token of the agent servers (WebSocket, AG-UI)."""


class AgentWebSocketServer:
    """Serves agents from `create_agent` over the agent WebSocket protocol.

    `await server.serve()` runs until `await server.stop()`; `start()` returns once the
    server listens (`server.port` is then the bound port, also for port 0).
    """

    def __init__(
        self,
        create_agent: AgentFactoryFunc | None = None,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        agent_factory_func: AgentFactoryFunc | None = None,
        agent_factory: AgentFactoryFunc | None = None,
        state_secret_key: str | bytes | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        transport_max_size: int | None = None,
        heartbeat_interval: float | None = 30.0,
        reconnect_grace: float = 60.0,
        confirm_timeout: float = 300.0,
        max_sessions_per_connection: int = 100,
        max_sessions: int = 10_000,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        shutdown_timeout: float = 10.0,
        compression: str | None = "deflate",
        token: str | None = None,
        allowed_origins: Iterable[str] | str | None = None,
    ) -> None:
        factory = create_agent or agent_factory_func or agent_factory
        if factory is None:
            raise TypeError("AgentWebSocketServer needs create_agent (an agent factory)")
        if max_message_size < 1:
            raise ValueError("max_message_size must be positive")
        self.factory = AgentFactory(factory)
        self.host = host
        self.port = port
        self.state_secret_key = state_secret_key
        self.state_key = state_transfer.signing_key(state_secret_key)
        self.max_message_size = max_message_size
        self.transport_max_size = transport_max_size or max(
            4 * max_message_size, max_message_size + 64 * 1024
        )
        if self.transport_max_size <= max_message_size:
            raise ValueError("transport_max_size must be above max_message_size")
        self.heartbeat_interval = heartbeat_interval
        self.confirm_timeout = confirm_timeout
        self.max_sessions_per_connection = max_sessions_per_connection
        self.max_sessions = max_sessions
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.shutdown_timeout = shutdown_timeout
        self.compression = compression
        self.token = token if token is not None else os.environ.get(TOKEN_ENV) or None
        self.access_policy = AccessPolicy.build(self.token, allowed_origins)
        self.sessions = SessionRegistry(reconnect_grace)
        self.connections: dict[str, Connection] = {}
        self.message_handlers: list[MessageHandler] = []
        self._state: dict[str, _SessionState] = {}
        self._server: Server | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._stopped: asyncio.Event | None = None
        self._stopping = False
        self._started_at = time.monotonic()
        self._handlers: dict[str, _Handler] = {
            UserEvents.CREATE_SESSION: self._on_create_session,
            UserEvents.MESSAGE: self._on_message,
            UserEvents.RESPONSE: self._on_response,
            UserEvents.CANCEL: self._on_cancel,
            UserEvents.RECONNECT: self._on_reconnect,
            UserEvents.PING: self._on_ping,
            **state_transfer.handlers(self),
        }

    # -- public API -------------------------------------------------------------------

    @property
    def reconnect_grace(self) -> float:
        """Seconds a session is kept after its connection goes away."""
        return self.sessions.grace_period

    @property
    def url(self) -> str:
        """The `ws://host:port` address clients connect to."""
        return f"ws://{self.host}:{self.port}"

    @property
    def is_running(self) -> bool:
        """True between `start()` and `stop()`."""
        return self._server is not None and not self._stopping

    def on_message(self, handler: MessageHandler) -> MessageHandler:
        """Decorator: call `handler(session_id, message)` for every `user.message` run.

        `message` is the text. The handler (plain or async) runs inside the run's trace, as
        a step record, before the agent's first step; its failures are logged and recorded,
        never raised into the run. Messages refused (a run already in progress) skip it.
        """
        self.message_handlers.append(handler)
        return handler

    async def start(self) -> None:
        """Start listening; returns once the server accepts connections."""
        if self._server is not None:
            return
        access.check_bind(self.host, self.token, env_var=TOKEN_ENV, serves="agents")
        self._stopping = False
        self._stopped = asyncio.Event()
        self._started_at = time.monotonic()
        self._server = await serve(
            self._handle_connection,
            self.host,
            self.port,
            process_request=self._check_request,
            max_size=self.transport_max_size,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            compression=self.compression,
        )
        sockets = list(self._server.sockets)
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        if self.heartbeat_interval:
            self._heartbeat = asyncio.create_task(self._heartbeat_loop())
        logger.info("myagent WebSocket server listening on %s", self.url)

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse the handshake before any frame: an unknown Host without a token (421), a
        missing or wrong token (401), a browser page of another origin (403)."""
        refusal = self.access_policy.check(request.headers, request.path.partition("?")[2])
        if refusal is None:
            return None
        return connection.respond(HTTPStatus(refusal.status), refusal.message + "\n")

    async def serve(self) -> None:
        """Start (if needed) and run until `stop()` is called."""
        await self.start()
        assert self._stopped is not None
        await self._stopped.wait()

    async def stop(self) -> None:
        """Stop gracefully: cancel runs (traces closed as cancelled), close connections (1001)."""
        server = self._server
        if server is None or self._stopping:
            if self._stopped is not None:
                await self._stopped.wait()
            return
        self._stopping = True
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
            self._heartbeat = None
        running = [s for s in self.sessions if s.is_running]
        tasks = [t for s in running if (t := s.cancel_run(CancelReason.SHUTDOWN)) is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=self.shutdown_timeout)
        goodbyes = [self._goodbye(session, session in running) for session in self.sessions]
        if goodbyes:
            await asyncio.gather(*goodbyes, return_exceptions=True)
        for session in self.sessions.clear():
            session.reject_pending()
        self._state.clear()
        server.close()  # closes every connection with 1001 (going away)
        await server.wait_closed()
        self._server = None
        await _flush_traces()
        assert self._stopped is not None
        self._stopped.set()
        logger.info("myagent WebSocket server stopped")

    async def _goodbye(self, session: Session, was_running: bool) -> None:
        """Tell a session's client, in order, that its run stopped and the session ended."""
        state = self._state.get(session.session_id)
        if was_running:
            trace_id = state.driver.trace_id if state is not None else None
            await self._send_interrupted(session, trace_id, "Server shutting down")
        await session.send(
            server_frame(
                AgentEvents.SESSION_END,
                session_id=session.session_id,
                content="Session closed: server shutting down",
                metadata={"reason": "shutdown"},
            )
        )

    # Spellings of the system this one replaces.
    async def start_server(self) -> None:
        """Alias of `serve()`: start and run until `shutdown()`."""
        await self.serve()

    async def shutdown(self) -> None:
        """Alias of `stop()`."""
        await self.stop()

    def agui_app(self, **options: Any) -> AguiApp:
        """An AG-UI (HTTP + SSE) ASGI app over the same agent factory and message handlers."""
        from myagent.ws.agui import AguiApp

        options.setdefault("token", self.token)
        options.setdefault("allowed_origins", self.access_policy.allowed_origins)
        return AguiApp(self.factory.factory, handlers=self.message_handlers, **options)

    def get_status(self) -> dict[str, Any]:
        """Counters for health checks: connections, sessions, runs in progress."""
        return {
            "running": self.is_running,
            "host": self.host,
            "port": self.port,
            "total_connections": len(self.connections),
            "total_sessions": len(self.sessions),
            "active_runs": sum(1 for s in self.sessions if s.is_running),
            "uptime": round(time.monotonic() - self._started_at, 3),
        }

    # -- connections ------------------------------------------------------------------

    async def _handle_connection(self, websocket: ServerConnection) -> None:
        connection = Connection(str(uuid.uuid4()), websocket)
        self.connections[connection.connection_id] = connection
        try:
            await connection.send(
                server_frame(
                    SystemEvents.CONNECTED,
                    content="Connected to the myagent WebSocket server",
                    metadata={
                        "connection_id": connection.connection_id,
                        "max_message_size": self.max_message_size,
                    },
                )
            )
            async for raw in websocket:
                await self._dispatch(connection, raw)
        except ConnectionClosed:
            pass
        finally:
            connection.state = ConnectionState.CLOSED
            self.connections.pop(connection.connection_id, None)
            self._release(connection)

    async def _dispatch(self, connection: Connection, raw: str | bytes) -> None:
        """Answer one client frame; bad input gets system.error and the connection stays."""
        try:
            frame = parse_frame(raw, self.max_message_size)
            await self._handlers[frame.event](connection, frame)
        except ProtocolError as error:
            await connection.send(error.to_frame())
        except Exception as exc:
            logger.exception("error handling a frame")
            await connection.send(
                ProtocolError(ErrorCode.INTERNAL_ERROR, f"Internal error: {exc}").to_frame()
            )

    def _release(self, connection: Connection) -> None:
        """The connection is gone: cancel its runs, keep its sessions for the grace period."""
        for session_id in list(connection.session_ids):
            session = self.sessions.get(session_id)
            if session is None or session.connection is not connection:
                continue
            session.cancel_run(CancelReason.DISCONNECT)
            session.reject_pending()
            self.sessions.detach(session, self._expire)
        connection.session_ids.clear()

    def _expire(self, session: Session) -> None:
        """The grace period ended without a reconnect: drop the session."""
        if session.connection is not None:
            return
        session.cancel_run(CancelReason.DROPPED)
        session.reject_pending()
        if self.sessions.remove(session):
            self._state.pop(session.session_id, None)

    def _owned(self, connection: Connection, frame: ClientFrame) -> Session:
        session = self.sessions.owned(frame.session_id, connection)
        if session is None:
            raise ProtocolError(
                ErrorCode.UNKNOWN_SESSION,
                f"No session {frame.session_id} on this connection",
                event=frame.event,
                session_id=frame.session_id,
            )
        return session

    # -- client events ----------------------------------------------------------------

    async def _on_create_session(self, connection: Connection, frame: ClientFrame) -> None:
        session = await self._open_session(connection, frame)
        if session is None:
            return
        await connection.send(
            server_frame(
                AgentEvents.SESSION_CREATED,
                session_id=session.session_id,
                content="Session created",
                metadata={
                    "agent_name": session.agent_name,
                    "connection_id": connection.connection_id,
                    "resumed": False,
                    RECONNECT_TOKEN: session.reconnect_token,
                },
            )
        )

    async def _open_session(self, connection: Connection, frame: ClientFrame) -> Session | None:
        """A new session with a fresh agent on `connection` (None if it closed meanwhile)."""
        if self._stopping:
            raise ProtocolError(
                ErrorCode.SERVER_SHUTTING_DOWN, "Server is shutting down", event=frame.event
            )
        refused = session_cap_refusal(
            len(connection.session_ids),
            len(self.sessions),
            self.max_sessions_per_connection,
            self.max_sessions,
        )
        if refused is not None:
            raise ProtocolError(ErrorCode.TOO_MANY_SESSIONS, refused, event=frame.event)
        session_id = str(uuid.uuid4())
        try:
            agent = await self.factory.create(session_id)
            driver = AgentDriver(
                agent,
                session_id,
                handlers=self.message_handlers,
                transport="websocket",
                metadata={"connection_id": connection.connection_id},
            )
        except Exception as exc:
            logger.exception("create_agent failed")
            raise ProtocolError(
                ErrorCode.SESSION_CREATE_FAILED,
                f"Could not create an agent: {type(exc).__name__}: {exc}",
                event=frame.event,
            ) from None
        if not connection.is_open:
            return None
        session = Session(
            session_id, agent, driver.name, connection, reconnect_token=new_reconnect_token()
        )
        self.sessions.add(session)
        self._state[session_id] = _SessionState(driver, FrameMapper(session_id, agent))
        return session

    async def _on_message(self, connection: Connection, frame: ClientFrame) -> None:
        session = self._owned(connection, frame)
        state = self._state[session.session_id]
        if session.is_running:
            await session.send(
                server_frame(
                    AgentEvents.ERROR,
                    session_id=session.session_id,
                    content="A run is already in progress in this session; wait or cancel it",
                    metadata={"error_code": ErrorCode.RUN_IN_PROGRESS},
                    trace_id=state.driver.trace_id,
                )
            )
            return
        task = asyncio.create_task(self._run(session, state, frame.text))
        session.run = RunHandle(task)

    async def _on_response(self, connection: Connection, frame: ClientFrame) -> None:
        session = self._owned(connection, frame)
        future = session.pending.get(frame.step_id or "")
        if future is None or future.done():  # repeated or unknown: ignored, as before
            logger.warning(
                "ignored user.response for step %r of session %s: no confirmation is waiting",
                frame.step_id,
                session.session_id,
            )
            return
        future.set_result(dict(frame.content))

    async def _on_cancel(self, connection: Connection, frame: ClientFrame) -> None:
        session = self._owned(connection, frame)
        state = self._state[session.session_id]
        task = session.cancel_run(CancelReason.USER)
        if task is None:
            await self._send_interrupted(session, None, "No run in progress", cancelled=False)
            return
        trace_id = state.driver.trace_id
        await asyncio.wait({task}, timeout=self.shutdown_timeout)
        await self._send_interrupted(session, state.driver.trace_id or trace_id, "Run cancelled")

    async def _on_reconnect(self, connection: Connection, frame: ClientFrame) -> None:
        session = self.sessions.get(frame.session_id)
        if session is None or not reconnect_allowed(session.reconnect_token, frame.raw):
            # the same answer for an unknown id and a wrong secret: ids reveal nothing
            raise ProtocolError(
                ErrorCode.UNKNOWN_SESSION,
                f"No session {frame.session_id} to reconnect with that reconnect_token "
                "(it may have expired)",
                event=frame.event,
                session_id=frame.session_id,
            )
        previous = self.sessions.attach(session, connection)
        state = self._state.get(session.session_id)
        if state is not None:
            state.driver.metadata["connection_id"] = connection.connection_id
        if previous is not None and previous.is_open:
            await previous.send(
                server_frame(
                    AgentEvents.SESSION_END,
                    session_id=session.session_id,
                    content="Session moved to another connection",
                    metadata={"reason": "reconnected_elsewhere"},
                )
            )
        await connection.send(
            server_frame(
                AgentEvents.SESSION_CREATED,
                session_id=session.session_id,
                content="Session resumed",
                metadata={
                    "agent_name": session.agent_name,
                    "connection_id": connection.connection_id,
                    "resumed": True,
                    "running": session.is_running,
                },
            )
        )

    async def _on_ping(self, connection: Connection, frame: ClientFrame) -> None:
        await connection.send(server_frame(SystemEvents.PONG))

    # -- runs -------------------------------------------------------------------------

    async def _run(self, session: Session, state: _SessionState, text: str) -> None:
        """One run of the session's agent; its events stream to the session's connection."""
        handle = session.run
        mapper = state.mapper

        async def sink(event: dict[str, Any]) -> None:
            if event.get("type") == RUN_STARTED and handle is not None:
                handle.trace_id = event.get("trace_id")
            for out in mapper.frames(event):
                await session.send(out)

        async def confirm(tool: Any, arguments: dict[str, Any]) -> bool:
            return await self._confirm(session, state, tool, arguments)

        try:
            await state.driver.run(text, sink, confirm)
        except asyncio.CancelledError:
            pass  # the trace is closed as cancelled; whoever cancelled tells the client
        except Exception:
            logger.exception("run failed in session %s", session.session_id)
        finally:
            session.reject_pending()
            if session.run is handle:
                session.run = None

    async def _confirm(
        self, session: Session, state: _SessionState, tool: Any, arguments: dict[str, Any]
    ) -> bool:
        """Ask the client whether a `user_confirm` tool may run; no answer in time is a no."""
        name = str(getattr(tool, "name", "tool"))
        step_id = f"confirm_{secrets.token_hex(4)}_{name}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        session.pending[step_id] = future
        try:
            frame = state.mapper.user_confirm(step_id, tool, arguments, state.driver.trace_id)
            if not await session.send(frame):
                return False
            try:
                answer = await asyncio.wait_for(future, self.confirm_timeout)
            except TimeoutError:
                answer = {"confirmed": False, "reason": "timeout"}
        finally:
            session.pending.pop(step_id, None)
        confirmed = answer.get("confirmed") is True
        _log_decision(name, confirmed, answer)
        return confirmed

    async def _send_interrupted(
        self, session: Session, trace_id: str | None, text: str, cancelled: bool = True
    ) -> bool:
        return await session.send(
            server_frame(
                AgentEvents.INTERRUPTED,
                session_id=session.session_id,
                content=text,
                metadata={"cancelled": cancelled},
                trace_id=trace_id,
            )
        )

    async def _heartbeat_loop(self) -> None:
        """Every interval, tell each connection the server is alive."""
        assert self.heartbeat_interval is not None
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            uptime = round(time.monotonic() - self._started_at, 3)
            total = len(self.sessions)
            sends = [
                connection.send(
                    server_frame(
                        SystemEvents.HEARTBEAT,
                        content="heartbeat",
                        metadata={
                            "active_sessions": total,
                            "connection_sessions": len(connection.session_ids),
                            "uptime": uptime,
                        },
                    )
                )
                for connection in list(self.connections.values())
            ]
            if sends:
                await asyncio.gather(*sends, return_exceptions=True)


def _log_decision(tool_name: str, confirmed: bool, answer: dict[str, Any]) -> None:
    """Note the user's decision in the run's trace (current in the calling context)."""
    try:
        manager = get_trace_manager()
        if manager.current_trace is None:
            return
        if confirmed:
            manager.add_log_entry("INFO", f"user confirmed tool {tool_name}")
        else:
            reason = answer.get("message") or answer.get("reason") or "declined"
            manager.add_log_entry("WARNING", f"user did not confirm tool {tool_name}: {reason}")
    except Exception:
        logger.debug("could not log a confirmation decision", exc_info=True)


async def _flush_traces() -> None:
    """Write the traces of the runs just ended, off the event loop."""
    try:
        await asyncio.to_thread(get_trace_manager().flush, 5.0)
    except Exception:
        logger.debug("trace flush failed", exc_info=True)
