"""Connections and sessions of the WebSocket server, and the registry that owns the sessions.

A session is one conversation (one agent) owned by one connection at a time. When its
connection goes away the session is detached and kept for a grace period, so the client
can reattach it with `user.reconnect`; then it is dropped.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed

from myagent.ws.protocol import encode

logger = logging.getLogger("myagent.ws")


class ConnectionState(enum.Enum):
    """Where a connection is in its life."""

    OPEN = "open"
    CLOSED = "closed"


class CancelReason(enum.Enum):
    """Why a run was cancelled; decides what the client is told."""

    USER = "user"
    DISCONNECT = "disconnect"
    SHUTDOWN = "shutdown"
    DROPPED = "dropped"


class Connection:
    """One client connection: its socket and the ids of the sessions it holds."""

    __slots__ = ("connection_id", "session_ids", "state", "websocket")

    def __init__(self, connection_id: str, websocket: Any) -> None:
        self.connection_id = connection_id
        self.websocket = websocket
        self.session_ids: set[str] = set()
        self.state = ConnectionState.OPEN

    @property
    def is_open(self) -> bool:
        """True until the socket closes."""
        return self.state is ConnectionState.OPEN

    async def send(self, frame: dict[str, Any]) -> bool:
        """Send one frame; False (never an exception) when the connection is gone."""
        if self.state is not ConnectionState.OPEN:
            return False
        try:
            await self.websocket.send(encode(frame))
        except ConnectionClosed:
            self.state = ConnectionState.CLOSED
            return False
        return True


@dataclass(eq=False, slots=True)
class RunHandle:
    """The run in progress in a session: its task, its trace, and why it was cancelled."""

    task: asyncio.Task[None]
    trace_id: str | None = None
    cancel_reason: CancelReason | None = None


@dataclass(eq=False, slots=True)
class Session:
    """One conversation: an agent, the connection that holds it, and its current run."""

    session_id: str
    agent: Any
    agent_name: str
    connection: Connection | None
    created_at: float = field(default_factory=time.monotonic)
    run: RunHandle | None = None
    pending: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    expiry: asyncio.TimerHandle | None = None
    reconnect_token: str = field(default="", repr=False)
    """The secret `user.reconnect` must present (sent only in this session's creation)."""

    @property
    def is_running(self) -> bool:
        """True while a run of this session is in progress."""
        return self.run is not None and not self.run.task.done()

    async def send(self, frame: dict[str, Any]) -> bool:
        """Send a frame to the session's connection; False when it has none or it is gone."""
        connection = self.connection
        return False if connection is None else await connection.send(frame)

    def cancel_run(self, reason: CancelReason) -> asyncio.Task[None] | None:
        """Cancel the run in progress (if any) and return its task."""
        run = self.run
        if run is None or run.task.done():
            return None
        if run.cancel_reason is None:
            run.cancel_reason = reason
        run.task.cancel()
        return run.task

    def reject_pending(self) -> None:
        """Answer every open confirmation request with a denial (the run is going away)."""
        for future in self.pending.values():
            if not future.done():
                future.set_result({"confirmed": False, "reason": "session detached"})
        self.pending.clear()


class SessionRegistry:
    """Every live session by id; detached sessions expire after the grace period."""

    def __init__(self, grace_period: float) -> None:
        self.grace_period = grace_period
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Iterator[Session]:
        return iter(list(self._sessions.values()))

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._sessions

    def get(self, session_id: str | None) -> Session | None:
        """A session by id, or None."""
        return None if session_id is None else self._sessions.get(session_id)

    def owned(self, session_id: str | None, connection: Connection) -> Session | None:
        """The session if `connection` holds it; None for unknown ids and other connections'."""
        session = self.get(session_id)
        if session is None or session.connection is not connection:
            return None
        return session

    def add(self, session: Session) -> None:
        """Register a new session on its connection."""
        self._sessions[session.session_id] = session
        if session.connection is not None:
            session.connection.session_ids.add(session.session_id)

    def attach(self, session: Session, connection: Connection) -> Connection | None:
        """Give the session to `connection`; returns the connection that held it before."""
        previous = session.connection
        if previous is not None and previous is not connection:
            previous.session_ids.discard(session.session_id)
        if session.expiry is not None:
            session.expiry.cancel()
            session.expiry = None
        session.connection = connection
        connection.session_ids.add(session.session_id)
        return previous if previous is not connection else None

    def detach(self, session: Session, on_expire: Callable[[Session], None]) -> None:
        """Take the session off its connection; `on_expire` runs when the grace period ends."""
        if session.connection is not None:
            session.connection.session_ids.discard(session.session_id)
        session.connection = None
        if session.expiry is not None:
            session.expiry.cancel()
            session.expiry = None
        if self.grace_period <= 0:
            on_expire(session)
            return
        loop = asyncio.get_running_loop()
        session.expiry = loop.call_later(self.grace_period, on_expire, session)

    def remove(self, session: Session) -> bool:
        """Forget the session; False when it was already gone."""
        if self._sessions.get(session.session_id) is not session:
            return False
        del self._sessions[session.session_id]
        if session.expiry is not None:
            session.expiry.cancel()
            session.expiry = None
        if session.connection is not None:
            session.connection.session_ids.discard(session.session_id)
            session.connection = None
        return True

    def clear(self) -> list[Session]:
        """Forget every session; returns them."""
        sessions = list(self._sessions.values())
        for session in sessions:
            self.remove(session)
        return sessions
