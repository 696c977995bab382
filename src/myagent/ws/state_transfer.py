"""Signed session state kept by the client, as earlier clients use it.

`user.request_state` answers `agent.state_exported` whose `metadata.signed_state` holds the
session's conversation, signed with HMAC-SHA256 under the server's `state_secret_key`
(a random per-process key when none is given, so exported state then only restores into
the same server process). `user.reconnect_with_state` with that `signed_state` (top level,
or in `content`) opens a new session whose agent continues the conversation, answered with
`agent.state_restored`; a wrong signature, checksum or version, or state older than
`STATE_TTL`, is refused with `system.error` (`invalid_state`) and nothing is restored.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from myagent.ws.guard import RECONNECT_TOKEN
from myagent.ws.protocol import (
    AgentEvents,
    ClientFrame,
    ErrorCode,
    ProtocolError,
    UserEvents,
    server_frame,
)
from myagent.ws.session import Connection, Session, SessionRegistry

logger = logging.getLogger("myagent.ws")

STATE_VERSION = "1.0"
"""The signed-state format (the earlier server's)."""
STATE_TTL = 7 * 86400
"""Seconds a signed state stays valid."""


class StateError(ValueError):
    """Signed state that does not verify; the message says why."""


class StateHost(Protocol):
    """What the handlers need of the server (AgentWebSocketServer; not imported here)."""

    state_key: bytes
    sessions: SessionRegistry

    def _owned(self, connection: Connection, frame: ClientFrame) -> Session: ...

    async def _open_session(self, connection: Connection, frame: ClientFrame) -> Session | None: ...

    def _expire(self, session: Session) -> None: ...


def signing_key(secret: str | bytes | None) -> bytes:
    """The HMAC key: `state_secret_key` as bytes, or a random per-process key for None."""
    if secret is None:
        return secrets.token_bytes(32)
    return secret.encode() if isinstance(secret, str) else bytes(secret)


def handlers(
    server: StateHost,
) -> dict[str, Callable[[Connection, ClientFrame], Awaitable[None]]]:
    """The server's handlers of `user.request_state` and `user.reconnect_with_state`."""
    return {
        UserEvents.REQUEST_STATE: functools.partial(on_request_state, server),
        UserEvents.RECONNECT_WITH_STATE: functools.partial(on_reconnect_with_state, server),
    }


def _canonical(state: dict[str, Any]) -> bytes:
    return orjson.dumps(state, option=orjson.OPT_SORT_KEYS)


def _signature(key: bytes, body: bytes, timestamp: int, version: str) -> str:
    message = body + f":{timestamp}:{version}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign_state(state: dict[str, Any], key: bytes, now: float | None = None) -> dict[str, Any]:
    """`state` with a timestamp, version, SHA-256 checksum and HMAC-SHA256 signature."""
    body = _canonical(state)
    timestamp = int(time.time() if now is None else now)
    return {
        "state": state,
        "timestamp": timestamp,
        "version": STATE_VERSION,
        "checksum": hashlib.sha256(body).hexdigest(),
        "signature": _signature(key, body, timestamp, STATE_VERSION),
    }


def verify_state(signed: Any, key: bytes, now: float | None = None) -> dict[str, Any]:
    """The state inside `signed` when its signature holds; StateError saying why not."""
    if not isinstance(signed, dict):
        raise StateError("signed_state must be an object")
    for name in ("state", "timestamp", "signature", "version", "checksum"):
        if name not in signed:
            raise StateError(f"signed_state has no {name!r}")
    state, timestamp = signed["state"], signed["timestamp"]
    if not isinstance(state, dict) or not isinstance(timestamp, int):
        raise StateError("signed_state.state must be an object and timestamp an integer")
    if signed["version"] != STATE_VERSION:
        raise StateError(f"version {signed['version']!r} is not {STATE_VERSION!r}")
    body = _canonical(state)
    expected = _signature(key, body, timestamp, STATE_VERSION)
    if not hmac.compare_digest(str(signed["signature"]), expected):
        raise StateError("the signature does not match")
    if not hmac.compare_digest(str(signed["checksum"]), hashlib.sha256(body).hexdigest()):
        raise StateError("the checksum does not match")
    age = (time.time() if now is None else now) - timestamp
    if age > STATE_TTL:
        raise StateError(f"the state expired ({int(age)} s old)")
    return state


def snapshot(session_id: str, agent: Any) -> dict[str, Any]:
    """What a session's state holds: its conversation and where the agent stood."""
    messages = [dict(m) for m in getattr(agent, "messages", [])]
    state = getattr(agent, "state", "idle")
    return {
        "session_id": session_id,
        "current_step": int(getattr(agent, "current_step", 0) or 0),
        "agent_state": str(getattr(state, "value", state)),
        "last_active_at": datetime.now(UTC).isoformat(),
        "memory_snapshot": orjson.dumps(messages).decode(),
        "metadata": {"agent_name": getattr(agent, "name", None)},
    }


def restore(agent: Any, state: dict[str, Any]) -> int:
    """Give a fresh agent the conversation of a verified state; returns the message count."""
    messages = orjson.loads(state.get("memory_snapshot") or "[]")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise StateError("memory_snapshot must be a JSON list of messages")
    memory = agent.memory
    memory.clear()
    memory.add_messages(messages)
    agent.current_step = int(state.get("current_step") or 0)
    return len(messages)


async def on_request_state(server: StateHost, connection: Connection, frame: ClientFrame) -> None:
    """`user.request_state`: the session's signed state, as `agent.state_exported`."""
    session = server._owned(connection, frame)
    state = snapshot(session.session_id, session.agent)
    signed = sign_state(state, server.state_key)
    await session.send(
        server_frame(
            AgentEvents.STATE_EXPORTED,
            session_id=session.session_id,
            content="Session state exported successfully",
            metadata={
                "signed_state": signed,
                "state_size": len(orjson.dumps(signed)),
                "message_count": len(orjson.loads(state["memory_snapshot"])),
                "current_step": state["current_step"],
            },
        )
    )


async def on_reconnect_with_state(
    server: StateHost, connection: Connection, frame: ClientFrame
) -> None:
    """`user.reconnect_with_state`: a new session continuing a signed state's conversation."""
    content = frame.content if isinstance(frame.content, dict) else {}
    signed = frame.raw.get("signed_state", content.get("signed_state"))
    if signed is None:
        raise ProtocolError(
            ErrorCode.MISSING_FIELD, f"{frame.event} needs 'signed_state'", event=frame.event
        )
    try:
        state = verify_state(signed, server.state_key)
    except StateError as exc:
        logger.warning("refused a signed session state: %s", exc)
        raise ProtocolError(
            ErrorCode.INVALID_STATE, f"Invalid state: {exc}", event=frame.event
        ) from None
    original = state.get("session_id")
    if isinstance(original, str) and server.sessions.get(original) is not None:
        raise ProtocolError(
            ErrorCode.INVALID_STATE,
            "Session already active on another connection",
            event=frame.event,
            session_id=original,
        )
    session = await server._open_session(connection, frame)
    if session is None:
        return
    try:
        count = restore(session.agent, state)
    except (StateError, orjson.JSONDecodeError, TypeError, ValueError) as exc:
        server._expire(session)
        raise ProtocolError(
            ErrorCode.INVALID_STATE, f"Invalid state: {exc}", event=frame.event
        ) from None
    await connection.send(
        server_frame(
            AgentEvents.STATE_RESTORED,
            session_id=session.session_id,
            content="Session state restored successfully",
            metadata={
                "original_session_id": original,
                "restored_step": state.get("current_step", 0),
                "message_count": count,
                "agent_name": session.agent_name,
                "connection_id": connection.connection_id,
                RECONNECT_TOKEN: session.reconnect_token,
                "warnings": [],
            },
        )
    )
