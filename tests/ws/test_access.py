"""Access tokens on the agent servers: without the token nobody runs an agent.

Real servers on 127.0.0.1 (WebSocket protocol and AG-UI over uvicorn), real clients.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from myagent.ws.agui import AguiApp
from myagent.ws.server import AgentWebSocketServer
from tests.support.ws import WsClient, make_factory

TOKEN = "s3cret-token"


async def test_websocket_handshake_without_the_token_is_refused_with_401(
    ws_server_factory: Any,
) -> None:
    server = await ws_server_factory(make_factory(["Hi!"]), token=TOKEN)
    for url in (server.url, f"{server.url}/?token=wrong"):
        with pytest.raises(InvalidStatus) as refused:
            await WsClient.open(url)
        assert refused.value.response.status_code == 401


@pytest.mark.parametrize("how", ["bearer", "query"])
async def test_websocket_with_the_token_runs_the_agent(ws_server_factory: Any, how: str) -> None:
    server = await ws_server_factory(make_factory(["Hi!"]), token=TOKEN)
    if how == "bearer":
        client = await WsClient.open(
            server.url, additional_headers={"Authorization": f"Bearer {TOKEN}"}
        )
    else:
        client = await WsClient.open(f"{server.url}/?token={TOKEN}")
    session_id = await client.create_session()
    frames = await client.ask(session_id, "hello")
    assert frames[-1]["event"] == "agent.final_answer"
    assert frames[-1]["content"] == "Hi!"
    await client.close()


async def test_token_comes_from_the_environment(
    ws_server_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYAGENT_SERVE_TOKEN", TOKEN)
    server = await ws_server_factory(make_factory(["Hi!"]))
    assert server.token == TOKEN
    with pytest.raises(InvalidStatus):
        await WsClient.open(server.url)


async def test_non_loopback_address_without_a_token_is_refused() -> None:
    server = AgentWebSocketServer(make_factory(["Hi!"]), host="0.0.0.0", port=0)
    with pytest.raises(ValueError, match="MYAGENT_SERVE_TOKEN"):
        await server.start()
    assert not server.is_running


async def test_agui_refuses_requests_without_the_token_but_health_stays_open(
    agui_server_factory: Any,
) -> None:
    url = (await agui_server_factory(AguiApp(make_factory(["Hi!"]), token=TOKEN))).rstrip("/")
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(f"{url}/health")).status_code == 200
        refused = await client.post(url, json={})
        assert refused.status_code == 401
        assert refused.json() == {"error": "Missing or wrong access token"}
        wrong = await client.get(url, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        allowed = await client.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert allowed.status_code == 200
        assert (await client.get(f"{url}/?token={TOKEN}")).status_code == 200


def test_agui_app_of_a_server_inherits_its_token() -> None:
    server = AgentWebSocketServer(make_factory(["Hi!"]), token=TOKEN)
    assert server.agui_app().token == TOKEN
