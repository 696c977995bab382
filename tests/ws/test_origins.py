"""The agent servers refuse other origins (real servers and clients on 127.0.0.1; the same
attacks from real Chromium pages are in tests/e2e/test_cross_origin_attacks.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from myagent.ws.agui import AguiApp
from myagent.ws.server import AgentWebSocketServer
from tests.support.ws import WsClient, make_factory

RUN_INPUT = b'{"threadId":"t1","runId":"r1","messages":[{"id":"m1","role":"user","content":"hi"}]}'
FRONT_END = "https://app.example.com"


async def test_websocket_handshake_from_another_origin_is_refused(ws_server_factory: Any) -> None:
    server = await ws_server_factory(make_factory(["Hi!"]))
    for origin in (
        f"http://127.0.0.1:{server.port + 1}",  # another port of the same host
        "http://evil.example",
        "null",  # an opened .html file, a sandboxed frame
        FRONT_END,  # not allowed unless configured
    ):
        with pytest.raises(InvalidStatus) as refused:
            await WsClient.open(server.url, origin=origin)
        assert refused.value.response.status_code == 403, origin
        assert b"not allowed" in refused.value.response.body
    assert server.sessions.__len__() == 0
    same = await WsClient.open(server.url, origin=f"http://127.0.0.1:{server.port}")
    await same.close()
    plain = await WsClient.open(server.url)  # no Origin: not a browser
    await plain.close()


async def test_allowed_origins_come_from_the_option_or_the_environment(
    ws_server_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await ws_server_factory(make_factory(["Hi!"]), allowed_origins=[FRONT_END])
    client = await WsClient.open(server.url, origin=FRONT_END)
    session_id = await client.create_session()
    frames = await client.ask(session_id, "hello")
    assert frames[-1]["content"] == "Hi!"
    await client.close()
    monkeypatch.setenv("MYAGENT_ALLOWED_ORIGINS", f"{FRONT_END}, http://localhost:3000")
    from_env = await ws_server_factory(make_factory(["Hi!"]))
    await (await WsClient.open(from_env.url, origin="http://localhost:3000")).close()
    with pytest.raises(InvalidStatus):
        await WsClient.open(from_env.url, origin="http://localhost:3001")
    with pytest.raises(ValueError, match="not an origin"):
        AgentWebSocketServer(make_factory(["Hi!"]), allowed_origins=["app.example.com"])


async def test_websocket_handshake_with_an_unknown_host_is_refused_without_a_token(
    ws_server_factory: Any,
) -> None:
    server = await ws_server_factory(make_factory(["Hi!"]))
    handshake = {
        "connection": "Upgrade",
        "upgrade": "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    async with httpx.AsyncClient(timeout=10) as client:
        url = f"http://127.0.0.1:{server.port}/"
        rebound = await client.get(
            url, headers={**handshake, "host": f"evil.example:{server.port}"}
        )
        assert rebound.status_code == 421


async def test_agui_runs_start_only_from_json_of_the_same_origin(
    agui_server_factory: Any,
) -> None:
    ran: list[str] = []
    app = AguiApp(make_factory(["Hi!"]), handlers=[lambda session, text: ran.append(text)])
    url = await agui_server_factory(app)
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    json_type = {"content-type": "application/json"}
    async with httpx.AsyncClient(timeout=10) as client:
        refused = {
            "form": ({"content-type": "application/x-www-form-urlencoded"}, 415),
            "text/plain": ({"content-type": "text/plain"}, 415),
            "no type": ({}, 415),
            "other port": ({**json_type, "origin": f"http://127.0.0.1:{port + 1}"}, 403),
            "null origin": ({**json_type, "origin": "null"}, 403),
            "cross-site": ({**json_type, "sec-fetch-site": "cross-site"}, 403),
            "rebound host": ({**json_type, "host": "evil.example"}, 421),
        }
        for name, (headers, status) in refused.items():
            response = await client.post(url, content=RUN_INPUT, headers=headers)
            assert response.status_code == status, name
        assert ran == [] and app.threads == {}
        same = {**json_type, "origin": f"http://127.0.0.1:{port}"}
        response = await client.post(url, content=RUN_INPUT, headers=same)
        assert response.status_code == 200 and "RUN_FINISHED" in response.text
        assert ran == ["hi"]


async def test_agui_grants_cors_only_to_allowed_front_ends(agui_server_factory: Any) -> None:
    app = AguiApp(make_factory(["Hi!"]), allowed_origins=[FRONT_END])
    url = await agui_server_factory(app)
    async with httpx.AsyncClient(timeout=10) as client:
        preflight = {
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        }
        granted = await client.options(url, headers={**preflight, "origin": FRONT_END})
        assert granted.status_code == 204
        assert granted.headers["access-control-allow-origin"] == FRONT_END
        denied = await client.options(url, headers={**preflight, "origin": "https://evil.example"})
        assert "access-control-allow-origin" not in denied.headers
        run = await client.post(
            url,
            content=RUN_INPUT,
            headers={"content-type": "application/json", "origin": FRONT_END},
        )
        assert run.status_code == 200 and "RUN_FINISHED" in run.text
        assert run.headers["access-control-allow-origin"] == FRONT_END


def test_agui_app_of_a_server_inherits_its_allowed_origins() -> None:
    server = AgentWebSocketServer(make_factory(["Hi!"]), allowed_origins=[FRONT_END])
    assert server.agui_app().access_policy.allowed_origins == {"https://app.example.com:443"}


def test_myagent_serve_refuses_an_allow_origin_that_is_no_origin(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from myagent.cli import build_parser
    from myagent.ws.serve import main

    target = tmp_path / "agent_file.py"
    target.write_text(
        "from myagent import create_toolcall_agent\n"
        "def create_agent():\n    return create_toolcall_agent('a', [])\n"
    )
    args = build_parser().parse_args(
        ["serve", str(target), "--port", "0", "--allow-origin", "app.example.com"]
    )
    assert main(args) == 2
    assert "not an origin (scheme://host[:port]): 'app.example.com'" in capsys.readouterr().err
