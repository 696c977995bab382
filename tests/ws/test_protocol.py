"""Frame checking and frame building of the agent WebSocket protocol."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from myagent.ws.protocol import (
    AgentEvents,
    ErrorCode,
    ProtocolError,
    SystemEvents,
    UserEvents,
    encode,
    parse_frame,
    server_frame,
)


def test_create_session_accepts_the_extra_fields_old_clients_send() -> None:
    raw = json.dumps(
        {"event": "user.create_session", "timestamp": "2025-01-01T00:00:00Z", "content": "hi"}
    )
    frame = parse_frame(raw, 1024)
    assert frame.event == UserEvents.CREATE_SESSION
    assert frame.session_id is None and frame.content == "hi"
    assert frame.raw["timestamp"] == "2025-01-01T00:00:00Z"


def test_message_and_response_frames_are_read() -> None:
    message = parse_frame(
        '{"event":"user.message","session_id":"s","content":"hello","metadata":{"a":1}}', 1024
    )
    assert (message.session_id, message.text, message.metadata) == ("s", "hello", {"a": 1})
    response = parse_frame(
        json.dumps(
            {
                "event": "user.response",
                "session_id": "s",
                "step_id": "confirm_1_x",
                "content": {"confirmed": False, "message": "not now"},
            }
        ),
        1024,
    )
    assert response.step_id == "confirm_1_x"
    assert response.confirmed is False and response.response_message == "not now"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", ErrorCode.INVALID_JSON),
        ("{'event': 1}", ErrorCode.INVALID_JSON),
        ("NaN", ErrorCode.INVALID_JSON),
        ("[]", ErrorCode.NOT_AN_OBJECT),
        ("true", ErrorCode.NOT_AN_OBJECT),
        ("{}", ErrorCode.MISSING_FIELD),
        ('{"event": null}', ErrorCode.MISSING_FIELD),
        ('{"event": ["user.ping"]}', ErrorCode.INVALID_FIELD),
        ('{"event": "user.unknown"}', ErrorCode.UNKNOWN_EVENT),
        ('{"event": "system.pong"}', ErrorCode.UNKNOWN_EVENT),
        ('{"event": "user.message", "session_id": "", "content": "x"}', ErrorCode.MISSING_FIELD),
        ('{"event": "user.ping", "step_id": 3}', ErrorCode.INVALID_FIELD),
    ],
)
def test_bad_frames_raise_protocol_errors_with_a_code(raw: str, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_frame(raw, 1024)
    assert caught.value.code == code
    frame = caught.value.to_frame()
    assert frame["event"] == SystemEvents.ERROR
    assert frame["metadata"]["error_code"] == code
    assert "session_id" not in frame


def test_size_limit_counts_utf8_bytes() -> None:
    text = json.dumps({"event": "user.ping", "pad": "é" * 600}, ensure_ascii=False)
    assert len(text) < 1000 < len(text.encode())
    with pytest.raises(ProtocolError) as caught:
        parse_frame(text, 1000)
    assert caught.value.code == ErrorCode.FRAME_TOO_LARGE
    assert parse_frame(text, 2000).event == UserEvents.PING


def test_server_frames_are_stamped_and_system_frames_never_carry_a_session() -> None:
    frame = server_frame(
        AgentEvents.FINAL_ANSWER, session_id="s", content="done", trace_id="t", step_id=None
    )
    assert frame == {
        "event": "agent.final_answer",
        "timestamp": frame["timestamp"],
        "session_id": "s",
        "content": "done",
        "trace_id": "t",
    }
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", frame["timestamp"])
    stamped = datetime.fromisoformat(frame["timestamp"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - stamped).total_seconds()) < 5
    assert "session_id" not in server_frame(SystemEvents.ERROR, session_id="s", content="x")


def test_encode_sends_values_json_cannot_hold_as_text() -> None:
    class Thing:
        def __str__(self) -> str:
            return "a thing"

    assert json.loads(encode({"event": "x", "metadata": {"value": Thing(), 1: "one"}})) == {
        "event": "x",
        "metadata": {"value": "a thing", "1": "one"},
    }
