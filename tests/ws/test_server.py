"""AgentWebSocketServer against real `websockets` clients on 127.0.0.1: flows and tracing."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from myagent.llm import ScriptedLLM
from myagent.trace import TraceManager, TraceStatus
from myagent.ws.server import AgentWebSocketServer
from tests.support.ws import Gate, WsClient, make_factory, weather_script

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def events(frames: list[dict[str, Any]]) -> list[str]:
    return [frame["event"] for frame in frames]


async def test_whole_flow_with_a_tool_call_is_traced_per_session(
    ws_server_factory: Any, manager: TraceManager
) -> None:
    server = await ws_server_factory(make_factory(weather_script("NYC"), weather_script("Paris")))
    client = await WsClient.open(server.url)
    assert client.connected["metadata"]["connection_id"]
    session_id = await client.create_session()

    frames = await client.ask(session_id, "What's the weather in NYC?")

    assert events(frames) == [
        "agent.thinking",
        "agent.tool_call",
        "agent.tool_result",
        "agent.thinking",
        "agent.partial_answer",
        "agent.partial_answer",
        "agent.partial_answer",
        "agent.partial_answer",
        "agent.final_answer",
    ]
    call, result = frames[1], frames[2]
    assert call["step_id"] == result["step_id"] == "step_0_get_weather"
    assert call["metadata"] == {
        "tool": "get_weather",
        "args": {"location": "NYC"},
        "status": "running",
        "tool_call_id": call["metadata"]["tool_call_id"],
        "step": 1,
    }
    assert result["content"] == "Sunny, 72F in NYC"  # the output alone, as before
    assert result["metadata"]["system"] == "canned weather"
    assert result["metadata"]["status"] == "success"
    chunks = [f for f in frames if f["event"] == "agent.partial_answer"]
    assert "".join(f["content"] for f in chunks) == "It is sunny in NYC."
    assert chunks[-1]["metadata"] == {"is_streaming": True, "is_final": True, "step": 2}
    assert frames[-1]["content"] == "It is sunny in NYC."
    trace_ids = {f["trace_id"] for f in frames}
    assert len(trace_ids) == 1
    for frame in frames:
        assert frame["session_id"] == session_id
        assert TIMESTAMP.match(frame["timestamp"])

    llm_message = await client.recv()  # the conversation after the run, as before
    assert llm_message["event"] == "agent.llm_message"
    assert llm_message["content"]["total_messages"] == 4  # user, assistant+call, tool, answer

    second = await client.ask(session_id, "And in Paris?")
    assert second[-1]["content"] == "It is sunny in Paris."
    assert second[1]["step_id"] == "step_1_get_weather"

    traces = await manager.aget_traces_by_session(session_id)
    assert [t.trace_id for t in traces] == [frames[0]["trace_id"], second[0]["trace_id"]]
    assert all(t.status == TraceStatus.SUCCESS and t.session_id == session_id for t in traces)
    assert traces[0].metadata["transport"] == "websocket"
    # the conversation continued: the second run's prompt holds the first exchange
    prompt = traces[1].think_records[0].messages
    assert [m["role"] for m in prompt[:4]] == ["user", "assistant", "tool", "assistant"]
    await client.close()


async def test_spec_snippet_runs_as_written(ws_server_factory: Any, manager: TraceManager) -> None:
    from myagent.trace import get_trace_manager

    namespace: dict[str, Any] = {
        "create_agent": make_factory(["Hello there."]),
        "get_trace_manager": get_trace_manager,
        "session_id": "not-yet",
    }
    snippet = """
from myagent.ws.server import AgentWebSocketServer

server = AgentWebSocketServer(create_agent)

@server.on_message
async def handle_message(session_id, message):
    # Message handling automatically traced
    # Accessible via session_id
    pass

# Query session traces
session_traces = get_trace_manager().get_traces_by_session(session_id)
"""
    exec(snippet, namespace)
    server: AgentWebSocketServer = namespace["server"]
    assert server.message_handlers == [namespace["handle_message"]]
    assert namespace["session_traces"] == []
    assert server.port == 8080 and server.host == "127.0.0.1"


async def test_on_message_handlers_run_inside_the_runs_trace(
    ws_server_factory: Any, manager: TraceManager
) -> None:
    seen: list[tuple[str, str, str | None]] = []
    server = await ws_server_factory(make_factory(["Hi!"]))

    @server.on_message
    async def handle_message(session_id: str, message: str) -> None:
        trace = manager.current_trace
        seen.append((session_id, message, trace.trace_id if trace else None))
        manager.add_log_entry("INFO", f"handled {message}")

    @server.on_message
    def broken(session_id: str, message: str) -> None:
        raise RuntimeError("handler bug")

    client = await WsClient.open(server.url)
    session_id = await client.create_session()
    frames = await client.ask(session_id, "hello")
    assert frames[-1]["event"] == "agent.final_answer"
    trace_id = frames[-1]["trace_id"]
    assert seen == [(session_id, "hello", trace_id)]
    (trace,) = await manager.aget_traces_by_session(session_id)
    steps = [r for r in trace.runs if r.run_type == "step"]
    assert [s.name for s in steps] == ["on_message:handle_message", "on_message:broken"]
    assert steps[0].success and not steps[1].success
    assert "handler bug" in (steps[1].error or "")
    assert [e.message for e in trace.logs] == ["handled hello"]
    await client.close()


@pytest.mark.parametrize("confirmed", [True, False])
async def test_user_confirm_tool_waits_for_the_users_answer(
    ws_server_factory: Any, manager: TraceManager, confirmed: bool
) -> None:
    script = [[("delete_file", {"path": "/tmp/x"})], "Done."]
    server = await ws_server_factory(make_factory(script))
    client = await WsClient.open(server.url)
    session_id = await client.create_session()
    await client.message(session_id, "delete /tmp/x")
    frames = await client.recv_until("agent.user_confirm")
    ask = frames[-1]
    assert re.match(r"^confirm_[0-9a-f]{8}_delete_file$", ask["step_id"])
    assert ask["metadata"] == {
        "tool_name": "delete_file",
        "tool_description": "Delete a file",
        "tool_args": {"path": "/tmp/x"},
        "requires_confirmation": True,
    }
    assert ask["trace_id"] == frames[0]["trace_id"]
    answer = {"confirmed": confirmed} if confirmed else {"confirmed": False, "message": "no!"}
    await client.send(
        {
            "event": "user.response",
            "session_id": session_id,
            "step_id": ask["step_id"],
            "content": answer,
        }
    )
    rest = await client.recv_until("agent.final_answer", "agent.error")
    result = next(f for f in rest if f["event"] == "agent.tool_result")
    (trace,) = await manager.aget_traces_by_session(session_id)
    (record,) = trace.tool_records
    if confirmed:
        assert result["metadata"]["status"] == "success"
        assert result["content"] == "deleted /tmp/x"
        assert record.success
    else:
        assert result["metadata"]["status"] == "failed"
        assert "declined" in result["content"]
        assert not record.success and "declined" in (record.error or "")
        assert any("no!" in entry.message for entry in trace.logs)
        # the denial went back to the model as the tool's answer
        tool_messages = [m for m in trace.think_records[-1].messages if m["role"] == "tool"]
        assert "declined" in tool_messages[-1]["content"]
    assert rest[-1]["event"] == "agent.final_answer"
    from tests.support.ws import DeleteFileTool

    assert DeleteFileTool.deleted == (["/tmp/x"] if confirmed else [])
    await client.close()


async def test_unanswered_confirmation_times_out_as_a_denial(ws_server_factory: Any) -> None:
    script = [[("delete_file", {"path": "/tmp/y"})], "Gave up."]
    server = await ws_server_factory(make_factory(script), confirm_timeout=0.2)
    client = await WsClient.open(server.url)
    session_id = await client.create_session()
    frames = await client.ask(session_id, "delete /tmp/y")
    result = next(f for f in frames if f["event"] == "agent.tool_result")
    assert result["metadata"]["status"] == "failed"
    assert frames[-1]["content"] == "Gave up."
    await client.close()


async def test_cancel_interrupts_the_run_and_closes_its_trace_as_cancelled(
    ws_server_factory: Any, manager: TraceManager, gate: type[Gate]
) -> None:
    script = [[("wait_for_gate", {})], "never"]
    server = await ws_server_factory(make_factory(script, ["after cancel"]))
    client = await WsClient.open(server.url)
    session_id = await client.create_session()
    await client.message(session_id, "wait please")
    started = await client.recv_until("agent.tool_call")
    assert gate.entered is not None
    await asyncio.wait_for(gate.entered.wait(), 5)
    await client.send({"event": "user.cancel", "session_id": session_id})
    frames = await client.recv_until("agent.interrupted")
    assert frames[-1]["trace_id"] == started[0]["trace_id"]
    assert frames[-1]["metadata"] == {"cancelled": True}
    (trace,) = await manager.aget_traces_by_session(session_id)
    assert trace.status == TraceStatus.CANCELLED

    # the session stays usable; a cancel with nothing running is answered too
    again = await client.ask(session_id, "hello again")
    assert again[-1]["content"] == "never"  # the script continues where it stopped
    assert (await client.recv())["event"] == "agent.llm_message"
    await client.send({"event": "user.cancel", "session_id": session_id})
    idle = await client.recv()
    assert idle["event"] == "agent.interrupted" and idle["metadata"] == {"cancelled": False}
    await client.close()


async def test_message_during_a_run_is_refused_without_disturbing_it(
    ws_server_factory: Any, gate: type[Gate]
) -> None:
    server = await ws_server_factory(make_factory([[("wait_for_gate", {})], "finished"]))
    client = await WsClient.open(server.url)
    session_id = await client.create_session()
    await client.message(session_id, "wait")
    first = await client.recv_until("agent.tool_call")
    await client.message(session_id, "are you there?")
    refusal = await client.recv()
    assert refusal["event"] == "agent.error"
    assert refusal["metadata"]["error_code"] == "run_in_progress"
    assert refusal["session_id"] == session_id
    assert refusal["trace_id"] == first[0]["trace_id"]
    assert gate.event is not None
    gate.event.set()
    rest = await client.recv_until("agent.final_answer")
    assert rest[-1]["content"] == "finished"
    await client.close()


async def test_two_sessions_on_one_connection_run_concurrently(
    ws_server_factory: Any, manager: TraceManager, gate: type[Gate]
) -> None:
    factories = iter(
        [make_factory([[("wait_for_gate", {})], "slow done"]), make_factory(["quick"])]
    )
    server = await ws_server_factory(lambda: next(factories)())
    client = await WsClient.open(server.url)
    slow = await client.create_session()
    await client.message(slow, "wait")
    await client.recv_until("agent.tool_call")
    quick = await client.create_session()
    await client.message(quick, "hi")
    frames = await client.recv_until("agent.final_answer")
    assert frames[-1]["session_id"] == quick and frames[-1]["content"] == "quick"
    assert gate.event is not None
    gate.event.set()
    rest = await client.recv_until("agent.final_answer")
    assert rest[-1]["session_id"] == slow
    slow_traces = await manager.aget_traces_by_session(slow)
    quick_traces = await manager.aget_traces_by_session(quick)
    assert len(slow_traces) == len(quick_traces) == 1
    assert slow_traces[0].trace_id != quick_traces[0].trace_id
    await client.close()


async def test_disconnect_mid_run_cancels_it_and_reconnect_resumes_the_session(
    ws_server_factory: Any, manager: TraceManager, gate: type[Gate]
) -> None:
    server = await ws_server_factory(
        make_factory([[("wait_for_gate", {})], "unused"], ["welcome back"]), reconnect_grace=30
    )
    client = await WsClient.open(server.url)
    session_id = await client.create_session()
    await client.message(session_id, "wait")
    await client.recv_until("agent.tool_call")
    await client.close()
    for _ in range(200):
        traces = await manager.aget_traces_by_session(session_id)
        if traces:
            break
        await asyncio.sleep(0.02)
    assert [t.status for t in traces] == [TraceStatus.CANCELLED]
    assert session_id in server.sessions

    other = await WsClient.open(server.url)
    resumed = await other.reconnect(session_id, client.reconnect_tokens[session_id])
    assert resumed["event"] == "agent.session_created"
    assert resumed["session_id"] == session_id
    assert resumed["metadata"]["resumed"] is True
    assert resumed["metadata"]["agent_name"] == "weather-agent"
    frames = await other.ask(session_id, "hello again")
    assert frames[-1]["content"] == "unused"
    await other.close()


async def test_detached_session_is_dropped_after_the_grace_period(
    ws_server_factory: Any,
) -> None:
    server = await ws_server_factory(make_factory(["hi"]), reconnect_grace=0.1)
    client = await WsClient.open(server.url)
    session_id = await client.create_session()
    await client.close()
    for _ in range(200):
        if session_id not in server.sessions:
            break
        await asyncio.sleep(0.02)
    assert session_id not in server.sessions
    other = await WsClient.open(server.url)
    error = await other.reconnect(session_id, client.reconnect_tokens[session_id])
    assert error["event"] == "system.error"
    assert error["metadata"]["error_code"] == "unknown_session"
    assert "session_id" not in error
    await other.close()


async def test_reconnect_takes_over_a_session_another_connection_still_holds(
    ws_server_factory: Any,
) -> None:
    server = await ws_server_factory(make_factory(["one"], ["two"]))
    first = await WsClient.open(server.url)
    session_id = await first.create_session()
    second = await WsClient.open(server.url)
    resumed = await second.reconnect(session_id, first.reconnect_tokens[session_id])
    assert resumed["metadata"]["resumed"] is True
    moved = await first.recv()
    assert moved["event"] == "agent.session_end"
    assert moved["metadata"]["reason"] == "reconnected_elsewhere"
    await first.message(session_id, "still mine?")
    refused = await first.recv()
    assert refused["event"] == "system.error"
    assert refused["metadata"]["error_code"] == "unknown_session"
    assert (await second.ask(session_id, "hi"))[-1]["content"] == "one"
    await first.close()
    await second.close()


async def test_factory_taking_the_session_id_and_async_factories(ws_server_factory: Any) -> None:
    received: list[str] = []

    async def create_agent(session_id: str) -> Any:
        received.append(session_id)
        return make_factory([f"agent for {session_id}"])()

    server = await ws_server_factory(create_agent)
    client = await WsClient.open(server.url)
    session_id = await client.create_session()
    assert received == [session_id]
    frames = await client.ask(session_id, "who are you?")
    assert frames[-1]["content"] == f"agent for {session_id}"
    await client.close()


async def test_a_failing_factory_gets_system_error_and_the_connection_stays(
    ws_server_factory: Any,
) -> None:
    calls = []

    def create_agent() -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("no model configured")
        return make_factory(["ok"])()

    server = await ws_server_factory(create_agent)
    client = await WsClient.open(server.url)
    await client.send({"event": "user.create_session"})
    error = await client.recv()
    assert error["event"] == "system.error"
    assert error["metadata"]["error_code"] == "session_create_failed"
    assert "no model configured" in error["content"]
    session_id = await client.create_session()
    assert (await client.ask(session_id, "hi"))[-1]["content"] == "ok"
    await client.close()


async def test_a_failing_run_gets_agent_error_with_its_trace(
    ws_server_factory: Any, manager: TraceManager
) -> None:
    server = await ws_server_factory(make_factory([RuntimeError("model down")], ["recovered"]))
    client = await WsClient.open(server.url)
    session_id = await client.create_session()
    frames = await client.ask(session_id, "hi")
    error = frames[-1]
    assert error["event"] == "agent.error"
    assert "model down" in error["content"]
    assert error["metadata"]["error_code"] == "run_failed"
    (trace,) = await manager.aget_traces_by_session(session_id)
    assert error["trace_id"] == trace.trace_id and trace.status == TraceStatus.ERROR
    assert (await client.ask(session_id, "again"))[-1]["content"] == "recovered"
    await client.close()


async def test_ping_heartbeat_and_status(ws_server_factory: Any) -> None:
    server = await ws_server_factory(make_factory(["hi"]), heartbeat_interval=0.05)
    client = await WsClient.open(server.url)
    await client.create_session()
    await client.send({"event": "user.ping"})
    while (frame := await client.recv(heartbeats=True))["event"] != "system.pong":
        pass
    assert "session_id" not in frame
    beat = await client.recv(heartbeats=True)
    while beat["event"] != "system.heartbeat":
        beat = await client.recv(heartbeats=True)
    assert beat["metadata"]["active_sessions"] == 1
    assert beat["metadata"]["uptime"] >= 0
    status = server.get_status()
    assert status["total_connections"] == 1 and status["total_sessions"] == 1
    await client.close()


async def test_stop_cancels_runs_closes_traces_and_connections_with_1001(
    manager: TraceManager, gate: type[Gate]
) -> None:
    server = AgentWebSocketServer(
        make_factory([[("wait_for_gate", {})], "never"]), port=0, heartbeat_interval=None
    )
    serving = asyncio.create_task(server.serve())
    while not server.is_running:
        await asyncio.sleep(0.01)
    client = await WsClient.open(server.url)
    session_id = await client.create_session()
    await client.message(session_id, "wait")
    await client.recv_until("agent.tool_call")
    await server.stop()
    await asyncio.wait_for(serving, 5)
    frames = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            frames.append(await client.recv())
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert events(frames) == ["agent.interrupted", "agent.session_end"]
    (trace,) = await manager.aget_traces_by_session(session_id)
    assert trace.status == TraceStatus.CANCELLED
    assert len(server.sessions) == 0 and not server.connections


async def test_existing_systems_server_example_keeps_working(manager: TraceManager) -> None:
    """The old example: agent_factory_func=, state_secret_key=, start_server(), shutdown()."""
    from typing import ClassVar

    from myagent import create_toolcall_agent
    from myagent.tool import BaseTool, ToolResult

    class WeatherTool(BaseTool):
        name: str = "get_weather"
        description: str = "Get current weather for a location"
        parameters: ClassVar[dict[str, Any]] = {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "City"}},
            "required": ["location"],
        }

        async def execute(self, location: str, **kwargs: Any) -> ToolResult:
            return ToolResult(output=f"Weather in {location}: Sunny", system="mock data")

    def create_agent() -> Any:
        return create_toolcall_agent(
            name="weather-assistant",
            tools=[WeatherTool()],
            llm=ScriptedLLM([[("get_weather", {"location": "Tokyo"})], "Sunny in Tokyo."]),
            system_prompt="You are a weather assistant.",
            description="Answers weather questions",
        )

    server = AgentWebSocketServer(
        agent_factory_func=create_agent, host="127.0.0.1", port=0, state_secret_key="secret"
    )
    serving = asyncio.create_task(server.start_server())
    while not server.is_running:
        await asyncio.sleep(0.01)
    client = await WsClient.open(server.url)
    # the old clients send timestamp and content with create_session
    session_id = await client.create_session(timestamp="2025-01-01T00:00:00Z", content="hi")
    await client.send(
        {
            "event": "user.message",
            "session_id": session_id,
            "content": "Weather in Tokyo?",
            "timestamp": "2025-01-01T00:00:01Z",
            "metadata": {"source": "web"},
        }
    )
    frames = await client.recv_until("agent.final_answer")
    result = next(f for f in frames if f["event"] == "agent.tool_result")
    assert result["content"] == "Weather in Tokyo: Sunny"
    assert result["metadata"]["system"] == "mock data"
    assert frames[-1]["content"] == "Sunny in Tokyo."
    await server.shutdown()
    await asyncio.wait_for(serving, 5)
    (trace,) = await manager.aget_traces_by_session(session_id)
    assert trace.agent_name == "weather-assistant" and trace.status == TraceStatus.SUCCESS


async def test_no_partial_answers_when_the_model_does_not_stream(ws_server_factory: Any) -> None:
    server = await ws_server_factory(make_factory(["Whole answer."], stream=False))
    client = await WsClient.open(server.url)
    session_id = await client.create_session()
    frames = await client.ask(session_id, "hi")
    assert events(frames) == ["agent.thinking", "agent.final_answer"]
    await client.close()


async def test_tokens_streamed_by_a_real_openai_wire_model_become_partial_answers(
    ws_server_factory: Any, openai_server: Any, manager: TraceManager
) -> None:
    from myagent import create_toolcall_agent
    from myagent.llm import OpenAICompatibleLLM
    from tests.support.ws import WeatherTool

    openai_server.enqueue(tool_calls=[("get_weather", {"location": "Oslo"})])
    openai_server.enqueue("Cold and clear in Oslo today.", chunk_size=5)

    def create_agent() -> Any:
        llm = OpenAICompatibleLLM(model="gpt-test", base_url=openai_server.base_url, api_key="k")
        return create_toolcall_agent("oslo", [WeatherTool()], llm=llm)

    server = await ws_server_factory(create_agent)
    client = await WsClient.open(server.url)
    session_id = await client.create_session()
    frames = await client.ask(session_id, "Weather in Oslo?")
    chunks = [f for f in frames if f["event"] == "agent.partial_answer"]
    assert len(chunks) > 2 and chunks[-1]["metadata"]["is_final"] is True
    assert "".join(f["content"] for f in chunks) == "Cold and clear in Oslo today."
    assert frames[-1]["content"] == "Cold and clear in Oslo today."
    assert openai_server.requests[0]["stream"] is True
    (trace,) = await manager.aget_traces_by_session(session_id)
    assert [r.model for r in trace.think_records] == ["gpt-test", "gpt-test"]
    await client.close()
