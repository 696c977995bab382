"""Sessions cannot be taken over: knowing a session id (the viewer shows them) is not enough
to reconnect into it or to answer its confirmations. Real server, real clients."""

from __future__ import annotations

from typing import Any

from tests.support.ws import DeleteFileTool, WsClient, make_factory


async def test_session_created_carries_a_secret_only_its_client_receives(
    ws_server_factory: Any,
) -> None:
    server = await ws_server_factory(make_factory(["hi"]))
    client = await WsClient.open(server.url)
    first = await client.create_session()
    second = await client.create_session()
    tokens = client.reconnect_tokens
    assert len(tokens[first]) >= 40 and tokens[first] != tokens[second]
    onlooker = await WsClient.open(server.url)
    await onlooker.send({"event": "user.ping"})
    assert "reconnect_token" not in str(await onlooker.recv())  # never broadcast
    await client.close()
    await onlooker.close()


async def test_reconnect_with_only_the_session_id_is_refused(ws_server_factory: Any) -> None:
    server = await ws_server_factory(make_factory(["mine"], ["still mine"]), reconnect_grace=30)
    owner = await WsClient.open(server.url)
    session_id = await owner.create_session()
    other_session = await owner.create_session()
    thief = await WsClient.open(server.url)
    for token in (None, "", "guess", owner.reconnect_tokens[other_session]):
        refused = await thief.reconnect(session_id, token)
        assert refused["event"] == "system.error", token
        assert refused["metadata"]["error_code"] == "unknown_session"
    # also while the session is detached (its client dropped), waiting for a reconnect
    token = owner.reconnect_tokens[session_id]
    await owner.close()
    refused = await thief.reconnect(session_id, None)
    assert refused["metadata"]["error_code"] == "unknown_session"
    back = await WsClient.open(server.url)
    resumed = await back.reconnect(session_id, token)
    assert resumed["event"] == "agent.session_created" and resumed["metadata"]["resumed"]
    assert (await back.ask(session_id, "hello"))[-1]["content"] == "mine"
    await thief.close()
    await back.close()


async def test_a_confirmation_is_accepted_only_from_the_owning_connection(
    ws_server_factory: Any,
) -> None:
    server = await ws_server_factory(
        make_factory([[("delete_file", {"path": "/etc/important"})], "declined"]),
        confirm_timeout=30,
    )
    owner = await WsClient.open(server.url)
    session_id = await owner.create_session()
    await owner.message(session_id, "clean up")
    ask = (await owner.recv_until("agent.user_confirm"))[-1]
    thief = await WsClient.open(server.url)
    assert (await thief.reconnect(session_id, None))["event"] == "system.error"
    await thief.send(
        {
            "event": "user.response",
            "session_id": session_id,
            "step_id": ask["step_id"],
            "content": {"confirmed": True},
        }
    )
    ignored = await thief.recv()
    assert ignored["event"] == "system.error"
    assert ignored["metadata"]["error_code"] == "unknown_session"
    assert DeleteFileTool.deleted == []
    # the confirmation still waits for its owner, whose answer decides
    await owner.send(
        {
            "event": "user.response",
            "session_id": session_id,
            "step_id": ask["step_id"],
            "content": {"confirmed": False},
        }
    )
    frames = await owner.recv_until("agent.final_answer", "agent.error")
    assert frames[-1]["content"] == "declined"
    assert DeleteFileTool.deleted == []
    await owner.close()
    await thief.close()
