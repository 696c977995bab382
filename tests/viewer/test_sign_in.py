"""Sign-in: wrong tokens are throttled (exponential back-off per client), weak tokens are
refused beyond loopback, and the sign-in redirect stays on this server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from myagent.trace import SQLiteTraceStorage
from myagent.trace.viewer.settings import check_bind
from myagent.trace.viewer.throttle import SignInThrottle
from myagent.ws.server import AgentWebSocketServer
from tests.support.viewer import WRITE_HEADERS
from tests.support.ws import make_factory

TOKEN = "correct-horse-battery-staple"


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_back_off_doubles_after_the_free_failures_up_to_a_ceiling() -> None:
    clock = _Clock()
    throttle = SignInThrottle(free=3, base=1.0, ceiling=8.0, clock=clock)
    delays = []
    for _ in range(8):
        delays.append(throttle.failed("1.2.3.4"))
        clock.now += 100  # each try after the wait has passed
    assert delays == [0, 0, 0, 1, 2, 4, 8, 8]
    throttle.failed("1.2.3.4")
    assert throttle.wait("1.2.3.4") == 8 and throttle.wait("5.6.7.8") == 0  # per client
    throttle.succeeded("1.2.3.4")
    assert throttle.wait("1.2.3.4") == 0 and throttle.failed("1.2.3.4") == 0
    small = SignInThrottle(max_clients=2, clock=clock)
    for client in ("a", "b", "c"):
        small.failed(client)
    assert len(small._clients) == 2  # bounded memory: the oldest is forgotten


def test_wrong_tokens_are_throttled_over_http(tmp_path: Path, viewer_factory: Any) -> None:
    viewer = viewer_factory(SQLiteTraceStorage(tmp_path / "t.db"), token=TOKEN)
    with httpx.Client(base_url=viewer.url, timeout=10) as client:

        def sign_in(token: str) -> httpx.Response:
            return client.post("/api/auth", json={"token": token}, headers=WRITE_HEADERS)

        assert [sign_in(f"guess-{i}").status_code for i in range(3)] == [401, 401, 401]
        assert sign_in("guess-3").status_code == 401  # the 4th failure starts the back-off
        blocked = sign_in(TOKEN)  # while blocked even the right token waits
        assert blocked.status_code == 429
        assert blocked.headers["retry-after"] == "1"
        assert blocked.json()["detail"] == "too many wrong tokens; try again in 1 s"
        bearer = client.get("/api/traces", headers={"authorization": "Bearer guess"})
        assert bearer.status_code == 429  # every way of presenting a token is throttled
        assert client.get("/api/health").status_code == 200  # no token presented: served


def test_a_wrong_token_in_a_page_address_counts_too(tmp_path: Path, viewer_factory: Any) -> None:
    viewer = viewer_factory(SQLiteTraceStorage(tmp_path / "t.db"), token=TOKEN)
    with httpx.Client(base_url=viewer.url, timeout=10) as client:
        for i in range(4):
            client.get("/", params={"token": f"guess-{i}"})
        assert client.get("/", params={"token": TOKEN}).status_code == 429


@pytest.mark.parametrize("token", ["short-token", "a" * 15, "long enough but spaced", "\t" * 20])
def test_weak_tokens_are_refused_beyond_loopback(token: str) -> None:
    with pytest.raises(ValueError, match="weak token"):
        check_bind("0.0.0.0", token)
    check_bind("127.0.0.1", token)  # on loopback the token is the user's business
    check_bind("0.0.0.0", "x" * 16)


async def test_the_agent_servers_refuse_weak_tokens_beyond_loopback() -> None:
    server = AgentWebSocketServer(make_factory(["hi"]), host="0.0.0.0", port=0, token="short")
    with pytest.raises(ValueError, match="MYAGENT_SERVE_TOKEN must have at least 16"):
        await server.start()
    assert not server.is_running


def test_the_sign_in_redirect_stays_on_this_server(tmp_path: Path, viewer_factory: Any) -> None:
    viewer = viewer_factory(SQLiteTraceStorage(tmp_path / "t.db"), token=TOKEN)
    with httpx.Client(base_url=viewer.url, timeout=10) as client:
        for path, expected in (
            ("//evil.example/steal", "/evil.example/steal"),
            ("///evil.example", "/evil.example"),
            ("/traces/abc", "/traces/abc?r=a%26b"),
        ):
            params = {"token": TOKEN} if "traces" not in path else {"token": TOKEN, "r": "a&b"}
            response = client.get(viewer.url + path, params=params)
            assert response.status_code == 303, path
            assert response.headers["location"] == expected
