"""A flood of sessions is capped per connection and server-wide, with a clear error frame;
real server and clients."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.ws import WsClient, make_factory


async def test_sessions_are_capped_server_wide_across_connections(ws_server_factory: Any) -> None:
    server = await ws_server_factory(
        make_factory(["hi"]), max_sessions=3, max_sessions_per_connection=2, reconnect_grace=0.05
    )
    first = await WsClient.open(server.url)
    second = await WsClient.open(server.url)
    kept = [await first.create_session(), await first.create_session()]
    await first.send({"event": "user.create_session"})
    per_connection = await first.recv()
    assert per_connection["metadata"]["error_code"] == "too_many_sessions"
    assert per_connection["content"] == "This connection already holds 2 sessions"
    await second.create_session()
    await second.send({"event": "user.create_session"})
    refused = await second.recv()
    assert refused["event"] == "system.error"
    assert refused["metadata"]["error_code"] == "too_many_sessions"
    assert refused["content"].startswith("The server already holds 3 sessions (its limit)")
    assert len(server.sessions) == 3
    assert (await first.ask(kept[0], "still works"))[-1]["content"] == "hi"
    # sessions of a closed connection expire after the grace period and free the room
    await first.close()
    for _ in range(200):
        if len(server.sessions) == 1:
            break
        await asyncio.sleep(0.02)
    await second.create_session()
    await second.close()


def test_myagent_serve_takes_the_cap_as_an_option() -> None:
    from myagent.cli import build_parser

    args = build_parser().parse_args(["serve", "agent.py", "--max-sessions", "500"])
    assert args.max_sessions == 500
