"""The agent WebSocket protocol: event names, error codes, frame building and frame checking.

Every frame is one JSON text object (see docs/ws-protocol.md). `parse_frame` turns a raw
client frame into a checked `ClientFrame` or raises `ProtocolError` naming what was wrong;
`server_frame` builds the frames the server sends, stamped with the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson

DEFAULT_PORT: Final = 8080
"""The port `AgentWebSocketServer` listens on when none is given, as earlier versions and
their clients assume (`myagent serve` listens on 8765 unless `--port` says otherwise)."""


class UserEvents:
    """Client → server event names."""

    CREATE_SESSION: Final = "user.create_session"
    MESSAGE: Final = "user.message"
    RESPONSE: Final = "user.response"
    CANCEL: Final = "user.cancel"
    RECONNECT: Final = "user.reconnect"
    PING: Final = "user.ping"
    REQUEST_STATE: Final = "user.request_state"
    RECONNECT_WITH_STATE: Final = "user.reconnect_with_state"


class AgentEvents:
    """Server → client events about a session and its runs."""

    SESSION_CREATED: Final = "agent.session_created"
    THINKING: Final = "agent.thinking"
    TOOL_CALL: Final = "agent.tool_call"
    TOOL_RESULT: Final = "agent.tool_result"
    USER_CONFIRM: Final = "agent.user_confirm"
    PARTIAL_ANSWER: Final = "agent.partial_answer"
    FINAL_ANSWER: Final = "agent.final_answer"
    ERROR: Final = "agent.error"
    INTERRUPTED: Final = "agent.interrupted"
    SESSION_END: Final = "agent.session_end"
    LLM_MESSAGE: Final = "agent.llm_message"
    STATE_EXPORTED: Final = "agent.state_exported"
    STATE_RESTORED: Final = "agent.state_restored"


class SystemEvents:
    """Server → client events about the connection itself (never carry a session id)."""

    CONNECTED: Final = "system.connected"
    HEARTBEAT: Final = "system.heartbeat"
    ERROR: Final = "system.error"
    PONG: Final = "system.pong"


class ErrorCode:
    """Values of `metadata.error_code` on `system.error` and `agent.error` frames."""

    INVALID_JSON: Final = "invalid_json"
    NOT_AN_OBJECT: Final = "not_an_object"
    FRAME_TOO_LARGE: Final = "frame_too_large"
    UNKNOWN_EVENT: Final = "unknown_event"
    MISSING_FIELD: Final = "missing_field"
    INVALID_FIELD: Final = "invalid_field"
    UNKNOWN_SESSION: Final = "unknown_session"
    UNKNOWN_STEP: Final = "unknown_step"
    TOO_MANY_SESSIONS: Final = "too_many_sessions"
    SESSION_CREATE_FAILED: Final = "session_create_failed"
    SERVER_SHUTTING_DOWN: Final = "server_shutting_down"
    RUN_IN_PROGRESS: Final = "run_in_progress"
    RUN_FAILED: Final = "run_failed"
    INVALID_STATE: Final = "invalid_state"
    INTERNAL_ERROR: Final = "internal_error"


USER_EVENTS: Final = frozenset(
    {
        UserEvents.CREATE_SESSION,
        UserEvents.MESSAGE,
        UserEvents.RESPONSE,
        UserEvents.CANCEL,
        UserEvents.RECONNECT,
        UserEvents.PING,
        UserEvents.REQUEST_STATE,
        UserEvents.RECONNECT_WITH_STATE,
    }
)

_NEEDS_SESSION: Final = frozenset(
    {
        UserEvents.MESSAGE,
        UserEvents.RESPONSE,
        UserEvents.CANCEL,
        UserEvents.RECONNECT,
        UserEvents.REQUEST_STATE,
    }
)


class ProtocolError(Exception):
    """A client frame the protocol does not allow; answered with `system.error`."""

    def __init__(
        self, code: str, message: str, *, event: str | None = None, session_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.event = event
        self.session_id = session_id

    def to_frame(self) -> dict[str, Any]:
        """The `system.error` frame that answers this error."""
        metadata: dict[str, Any] = {"error_code": self.code}
        if self.event is not None:
            metadata["event"] = self.event
        if self.session_id is not None:
            metadata["session_id"] = self.session_id
        return server_frame(SystemEvents.ERROR, content=self.message, metadata=metadata)


@dataclass(slots=True, frozen=True)
class ClientFrame:
    """A checked client frame: the fields the server reads, plus the whole object in `raw`."""

    event: str
    session_id: str | None
    step_id: str | None
    content: Any
    metadata: dict[str, Any]
    raw: dict[str, Any]

    @property
    def text(self) -> str:
        """`content` of a `user.message` (checked to be text)."""
        return str(self.content)

    @property
    def confirmed(self) -> bool:
        """`content.confirmed` of a `user.response` (checked to be a bool)."""
        return bool(self.content["confirmed"])

    @property
    def response_message(self) -> str | None:
        """`content.message` of a `user.response`, if any."""
        message = self.content.get("message")
        return message if isinstance(message, str) and message else None


def utc_timestamp() -> str:
    """The current time as ISO 8601 UTC with milliseconds, e.g. 2026-01-01T12:00:00.000Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def server_frame(
    event: str,
    *,
    session_id: str | None = None,
    content: Any = None,
    step_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    trace_id: str | None = None,
) -> dict[str, Any]:
    """One server → client frame; absent optional fields are left out."""
    frame: dict[str, Any] = {"event": event, "timestamp": utc_timestamp()}
    if session_id is not None and not event.startswith("system."):
        frame["session_id"] = session_id
    if step_id is not None:
        frame["step_id"] = step_id
    if content is not None:
        frame["content"] = content
    if metadata:
        frame["metadata"] = metadata
    if trace_id is not None:
        frame["trace_id"] = trace_id
    return frame


def encode(frame: dict[str, Any]) -> str:
    """A frame as JSON text; values JSON cannot hold are sent as their str()."""
    return orjson.dumps(frame, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def frame_size(raw: str | bytes) -> int:
    """The size of a received frame in bytes (UTF-8 for text frames)."""
    if isinstance(raw, bytes):
        return len(raw)
    if raw.isascii():
        return len(raw)
    return len(raw.encode("utf-8", "surrogatepass"))


def parse_frame(raw: str | bytes, max_size: int) -> ClientFrame:
    """Check one received frame against the protocol; raise ProtocolError when it is wrong."""
    if len(raw) > max_size or frame_size(raw) > max_size:
        raise ProtocolError(
            ErrorCode.FRAME_TOO_LARGE,
            f"Frame of {frame_size(raw)} bytes is over the limit of {max_size} bytes",
        )
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(ErrorCode.INVALID_JSON, f"Frame is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        kind = "an array" if isinstance(data, list) else f"a JSON {type(data).__name__}"
        raise ProtocolError(ErrorCode.NOT_AN_OBJECT, f"Frame must be a JSON object, not {kind}")
    event = data.get("event")
    if event is None:
        raise ProtocolError(ErrorCode.MISSING_FIELD, "Frame has no 'event' field")
    if not isinstance(event, str):
        raise ProtocolError(ErrorCode.INVALID_FIELD, "'event' must be a string")
    if event not in USER_EVENTS:
        raise ProtocolError(ErrorCode.UNKNOWN_EVENT, f"Unknown event: {event[:100]}", event=event)
    session_id = _optional_text(data, "session_id", event)
    step_id = _optional_text(data, "step_id", event)
    metadata = data.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        raise ProtocolError(ErrorCode.INVALID_FIELD, "'metadata' must be an object", event=event)
    if event in _NEEDS_SESSION and not session_id:
        raise ProtocolError(ErrorCode.MISSING_FIELD, f"{event} needs 'session_id'", event=event)
    content = data.get("content")
    if event == UserEvents.MESSAGE:
        _check_message_content(content, event, session_id)
    elif event == UserEvents.RESPONSE:
        if not step_id:
            raise ProtocolError(
                ErrorCode.MISSING_FIELD,
                f"{event} needs 'step_id'",
                event=event,
                session_id=session_id,
            )
        _check_response_content(content, event, session_id)
    return ClientFrame(event, session_id, step_id, content, metadata, data)


def _optional_text(data: dict[str, Any], name: str, event: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProtocolError(ErrorCode.INVALID_FIELD, f"'{name}' must be a string", event=event)
    return value


def _check_message_content(content: Any, event: str, session_id: str | None) -> None:
    if content is None:
        raise ProtocolError(
            ErrorCode.MISSING_FIELD, f"{event} needs 'content'", event=event, session_id=session_id
        )
    if not isinstance(content, str):
        raise ProtocolError(
            ErrorCode.INVALID_FIELD,
            f"'content' of {event} must be text",
            event=event,
            session_id=session_id,
        )
    if not content.strip():
        raise ProtocolError(
            ErrorCode.INVALID_FIELD,
            f"'content' of {event} is empty",
            event=event,
            session_id=session_id,
        )


def _check_response_content(content: Any, event: str, session_id: str | None) -> None:
    if content is None:
        raise ProtocolError(
            ErrorCode.MISSING_FIELD, f"{event} needs 'content'", event=event, session_id=session_id
        )
    if not isinstance(content, dict):
        raise ProtocolError(
            ErrorCode.INVALID_FIELD,
            f"'content' of {event} must be an object like {{\"confirmed\": true}}",
            event=event,
            session_id=session_id,
        )
    if "confirmed" not in content:
        raise ProtocolError(
            ErrorCode.MISSING_FIELD,
            f"'content' of {event} needs 'confirmed'",
            event=event,
            session_id=session_id,
        )
    if not isinstance(content["confirmed"], bool):
        raise ProtocolError(
            ErrorCode.INVALID_FIELD,
            "'content.confirmed' must be true or false",
            event=event,
            session_id=session_id,
        )
    message = content.get("message")
    if message is not None and not isinstance(message, str):
        raise ProtocolError(
            ErrorCode.INVALID_FIELD,
            "'content.message' must be text",
            event=event,
            session_id=session_id,
        )
