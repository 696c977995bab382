"""AG-UI threads belong to the client that made them: continuing one needs its token, and a
flood of new threads evicts none. Real uvicorn server, real HTTP client."""

from __future__ import annotations

from typing import Any

import httpx

from myagent.ws.agui import AguiApp
from tests.support.ws import make_factory
from tests.ws.test_agui import post_run, run_input


async def test_another_client_cannot_continue_a_thread(agui_server_factory: Any) -> None:
    ran: list[str] = []
    app = AguiApp(
        make_factory(["one"], ["two"], ["three"]), handlers=[lambda _s, text: ran.append(text)]
    )
    url = await agui_server_factory(app)
    first = await post_run(url, run_input("thread-a", "mine"))
    token = first[0]["metadata"]["threadToken"]
    assert len(token) >= 40
    async with httpx.AsyncClient(timeout=10) as client:
        for headers in ({}, {"x-myagent-thread-token": "guess"}):
            stolen = await client.post(url, json=run_input("thread-a", "steal"), headers=headers)
            assert stolen.status_code == 403
            assert "belongs to another client" in stolen.json()["error"]
        in_props = run_input("thread-a", "steal")
        in_props["forwardedProps"] = {"threadToken": "guess"}
        assert (await client.post(url, json=in_props)).status_code == 403
    assert ran == ["mine"]  # the thief's text never ran
    by_header = await post_run(url, run_input("thread-a", "again"), token)
    assert by_header[-1]["result"] == "two"
    by_props = run_input("thread-a", "and again")
    by_props["forwardedProps"] = {"threadToken": token}
    assert (await post_run(url, by_props))[-1]["result"] == "three"


async def test_a_flood_of_new_threads_evicts_no_live_thread(agui_server_factory: Any) -> None:
    app = AguiApp(make_factory(["a"], ["b"]), max_threads=3)
    url = await agui_server_factory(app)
    mine = await post_run(url, run_input("mine", "hello"))
    token = mine[0]["metadata"]["threadToken"]
    await post_run(url, run_input("flood-1", "x"))
    await post_run(url, run_input("flood-2", "x"))
    async with httpx.AsyncClient(timeout=10) as client:
        full = await client.post(url, json=run_input("flood-3", "x"))
    assert full.status_code == 503
    assert full.json()["error"] == "The server holds 3 threads (its limit); try later"
    assert set(app.threads) == {"mine", "flood-1", "flood-2"}
    assert (await post_run(url, run_input("mine", "still here"), token))[-1]["result"] == "b"


async def test_binding_can_be_turned_off_for_a_single_user(agui_server_factory: Any) -> None:
    url = await agui_server_factory(AguiApp(make_factory(["one"], ["two"]), bind_threads=False))
    await post_run(url, run_input("t", "first"))
    assert (await post_run(url, run_input("t", "second")))[-1]["result"] == "two"
