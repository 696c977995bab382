"""Bad input against a real server: each gets system.error (or agent.error) and the
connection stays usable."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.ws import WsClient, make_factory

LIMIT = 4096


async def open_client(ws_server_factory: Any) -> tuple[Any, WsClient, str]:
    server = await ws_server_factory(make_factory(["first"], ["second"]), max_message_size=LIMIT)
    client = await WsClient.open(server.url)
    session_id = await client.create_session()
    return server, client, session_id


async def assert_still_usable(client: WsClient, session_id: str) -> None:
    frames = await client.ask(session_id, "still there?")
    assert frames[-1]["event"] == "agent.final_answer"


BAD_FRAMES: list[tuple[str, Any, str]] = [
    ("not json", "{nope", "invalid_json"),
    ("binary garbage", b"\xff\xfe\x00", "invalid_json"),
    ("array", "[1, 2]", "not_an_object"),
    ("string", '"user.message"', "not_an_object"),
    ("number", "42", "not_an_object"),
    ("null", "null", "not_an_object"),
    ("no event", {"session_id": "x", "content": "hi"}, "missing_field"),
    ("event not a string", {"event": 5}, "invalid_field"),
    ("unknown event", {"event": "user.dance"}, "unknown_event"),
    ("server event sent by client", {"event": "agent.final_answer"}, "unknown_event"),
    ("message without session", {"event": "user.message", "content": "hi"}, "missing_field"),
    ("message without content", {"event": "user.message", "session_id": "S"}, "missing_field"),
    (
        "message content not text",
        {"event": "user.message", "session_id": "S", "content": {"text": "hi"}},
        "invalid_field",
    ),
    (
        "empty message",
        {"event": "user.message", "session_id": "S", "content": "  "},
        "invalid_field",
    ),
    ("session id not text", {"event": "user.cancel", "session_id": 7}, "invalid_field"),
    ("metadata not object", {"event": "user.ping", "metadata": [1]}, "invalid_field"),
    ("cancel without session", {"event": "user.cancel"}, "missing_field"),
    ("reconnect without session", {"event": "user.reconnect"}, "missing_field"),
    (
        "response without step",
        {"event": "user.response", "session_id": "S", "content": {"confirmed": True}},
        "missing_field",
    ),
    (
        "response without content",
        {"event": "user.response", "session_id": "S", "step_id": "confirm_1_x"},
        "missing_field",
    ),
    (
        "response content not object",
        {"event": "user.response", "session_id": "S", "step_id": "c", "content": "yes"},
        "invalid_field",
    ),
    (
        "response without confirmed",
        {"event": "user.response", "session_id": "S", "step_id": "c", "content": {}},
        "missing_field",
    ),
    (
        "confirmed not a bool",
        {"event": "user.response", "session_id": "S", "step_id": "c", "content": {"confirmed": 1}},
        "invalid_field",
    ),
    ("too large", "x" * (LIMIT + 1), "frame_too_large"),
    ("too large json", json.dumps({"event": "user.ping", "pad": "y" * LIMIT}), "frame_too_large"),
    (
        "unknown session",
        {"event": "user.message", "session_id": "nope", "content": "hi"},
        "unknown_session",
    ),
]


@pytest.mark.parametrize(
    ("frame", "code"), [(f, c) for _, f, c in BAD_FRAMES], ids=[n for n, _, _ in BAD_FRAMES]
)
async def test_bad_frame_gets_system_error_and_the_connection_stays_usable(
    ws_server_factory: Any, frame: Any, code: str
) -> None:
    _, client, session_id = await open_client(ws_server_factory)
    if isinstance(frame, dict) and frame.get("session_id") == "S":
        frame = {**frame, "session_id": session_id}
    await client.send(frame)
    error = await client.recv()
    assert error["event"] == "system.error"
    assert error["metadata"]["error_code"] == code
    assert isinstance(error["content"], str) and error["content"]
    assert "session_id" not in error
    await assert_still_usable(client, session_id)
    await client.close()


async def test_frame_over_the_app_limit_but_under_the_library_limit_keeps_the_connection(
    ws_server_factory: Any,
) -> None:
    server, client, session_id = await open_client(ws_server_factory)
    assert server.transport_max_size > LIMIT
    await client.send(
        json.dumps({"event": "user.ping", "pad": "z" * (server.transport_max_size - 100)})
    )
    error = await client.recv()
    assert error["metadata"]["error_code"] == "frame_too_large"
    await assert_still_usable(client, session_id)
    await client.close()


async def test_another_connections_session_is_refused(ws_server_factory: Any) -> None:
    server, owner, session_id = await open_client(ws_server_factory)
    intruder = await WsClient.open(server.url)
    for frame in (
        {"event": "user.message", "session_id": session_id, "content": "hi"},
        {"event": "user.cancel", "session_id": session_id},
        {
            "event": "user.response",
            "session_id": session_id,
            "step_id": "confirm_1_x",
            "content": {"confirmed": True},
        },
    ):
        await intruder.send(frame)
        error = await intruder.recv()
        assert error["event"] == "system.error"
        assert error["metadata"]["error_code"] == "unknown_session"
    own = await intruder.create_session()
    await assert_still_usable(intruder, own)
    await assert_still_usable(owner, session_id)
    await owner.close()
    await intruder.close()


async def test_too_many_sessions_on_one_connection(ws_server_factory: Any) -> None:
    server = await ws_server_factory(make_factory(["hi"]), max_sessions_per_connection=2)
    client = await WsClient.open(server.url)
    first = await client.create_session()
    await client.create_session()
    await client.send({"event": "user.create_session"})
    error = await client.recv()
    assert error["metadata"]["error_code"] == "too_many_sessions"
    await assert_still_usable(client, first)
    await client.close()
