"""AG-UI over real HTTP (uvicorn on 127.0.0.1): every frame validates against ag-ui-protocol."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from ag_ui.core import Event, EventType, RunAgentInput, UserMessage
from pydantic import TypeAdapter

from myagent.trace import TraceManager, TraceStatus
from myagent.ws.agui import AguiApp
from tests.support.ws import Gate, make_factory, weather_script

EVENT = TypeAdapter(Event)


def run_input(thread_id: str, text: str, **extra: Any) -> dict[str, Any]:
    """A RunAgentInput as an AG-UI client sends it (camelCase JSON)."""
    message = UserMessage(id=uuid.uuid4().hex, content=text)
    body = RunAgentInput(
        thread_id=thread_id,
        run_id=uuid.uuid4().hex,
        messages=[message],
        tools=[],
        context=[],
        state={},
        forwarded_props={},
        **extra,
    )
    data: dict[str, Any] = json.loads(body.model_dump_json(by_alias=True))
    return data


def validate(frame: dict[str, Any]) -> Any:
    """The frame as an ag-ui event model; fails on unknown fields too."""
    event = EVENT.validate_python(frame)
    assert not event.model_extra, f"fields AG-UI does not define: {event.model_extra}"
    assert event.model_dump(by_alias=True, mode="json") == frame
    return event


async def post_run(
    url: str, body: dict[str, Any], thread_token: str | None = None
) -> list[dict[str, Any]]:
    """POST the input (continuing a thread with its token) and read the whole SSE stream."""
    frames: list[dict[str, Any]] = []
    headers = {"accept": "text/event-stream"}
    if thread_token is not None:
        headers["x-myagent-thread-token"] = thread_token
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", url, json=body, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    frames.append(json.loads(line[6:]))
    for frame in frames:
        validate(frame)
    return frames


def types(frames: list[dict[str, Any]]) -> list[str]:
    return [frame["type"] for frame in frames]


async def test_run_with_a_tool_call_streams_valid_agui_events(
    agui_server_factory: Any, manager: TraceManager
) -> None:
    app = AguiApp(make_factory(weather_script("NYC")))
    url = await agui_server_factory(app)
    body = run_input("thread-1", "What's the weather in NYC?")
    frames = await post_run(url, body)
    assert types(frames) == [
        "RUN_STARTED",
        "STEP_STARTED",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TOOL_CALL_RESULT",
        "STEP_FINISHED",
        "STEP_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "STEP_FINISHED",
        "RUN_FINISHED",
    ]
    started, finished = frames[0], frames[-1]
    (trace,) = await manager.aget_traces_by_session("thread-1")
    assert started["threadId"] == "thread-1" and started["runId"] == trace.trace_id
    assert started["metadata"] == {
        "clientRunId": body["runId"],
        "threadToken": app.threads["thread-1"].token,
    }
    assert finished["runId"] == trace.trace_id and finished["result"] == "It is sunny in NYC."
    start, args, end, result = frames[2:6]
    assert start["toolCallName"] == "get_weather"
    assert json.loads(args["delta"]) == {"location": "NYC"}
    assert start["toolCallId"] == args["toolCallId"] == end["toolCallId"] == result["toolCallId"]
    assert result["content"] == "Sunny, 72F in NYC\ncanned weather"
    text = "".join(f["delta"] for f in frames if f["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == "It is sunny in NYC."
    assert trace.status == TraceStatus.SUCCESS and trace.metadata["transport"] == "ag-ui"
    assert trace.metadata["agui_run_id"] == body["runId"]


async def test_a_thread_is_a_session_that_keeps_the_conversation(
    agui_server_factory: Any, manager: TraceManager
) -> None:
    url = await agui_server_factory(AguiApp(make_factory(["First answer."], ["Second answer."])))
    first = await post_run(url, run_input("thread-2", "one"))
    token = first[0]["metadata"]["threadToken"]
    second = await post_run(url, run_input("thread-2", "two"), token)
    other = await post_run(url, run_input("thread-3", "three"))
    assert first[-1]["result"] == "First answer."
    assert second[-1]["result"] == "Second answer."
    assert other[-1]["result"] == "First answer."  # a new thread gets a fresh agent
    traces = await manager.aget_traces_by_session("thread-2")
    assert [t.trace_id for t in traces] == [first[0]["runId"], second[0]["runId"]]
    history = traces[1].think_records[0].messages
    assert [m["content"] for m in history if m["role"] == "user"] == ["one", "two"]


async def test_answer_without_streaming_is_one_text_message(agui_server_factory: Any) -> None:
    url = await agui_server_factory(AguiApp(make_factory(["Plain answer."], stream=False)))
    frames = await post_run(url, run_input("thread-4", "hi"))
    assert types(frames) == [
        "RUN_STARTED",
        "STEP_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "STEP_FINISHED",
        "RUN_FINISHED",
    ]
    assert frames[3]["delta"] == "Plain answer."


async def test_failing_run_ends_with_run_error(
    agui_server_factory: Any, manager: TraceManager
) -> None:
    url = await agui_server_factory(AguiApp(make_factory([RuntimeError("model down")])))
    frames = await post_run(url, run_input("thread-5", "hi"))
    assert frames[0]["type"] == "RUN_STARTED"
    assert frames[-1]["type"] == "RUN_ERROR" and "model down" in frames[-1]["message"]
    (trace,) = await manager.aget_traces_by_session("thread-5")
    assert trace.status == TraceStatus.ERROR and frames[0]["runId"] == trace.trace_id


@pytest.mark.parametrize(("policy", "status"), [(False, "declined"), (True, "deleted")])
async def test_user_confirm_tools_follow_the_confirm_policy(
    agui_server_factory: Any, policy: bool, status: str
) -> None:
    script = [[("delete_file", {"path": "/tmp/z"})], "ok"]
    url = await agui_server_factory(AguiApp(make_factory(script), confirm_tools=policy))
    frames = await post_run(url, run_input("thread-6", "delete /tmp/z"))
    result = next(f for f in frames if f["type"] == "TOOL_CALL_RESULT")
    assert status in result["content"]


async def test_client_disconnect_cancels_the_run_and_its_trace(
    agui_server_factory: Any, manager: TraceManager, gate: type[Gate]
) -> None:
    app = AguiApp(make_factory([[("wait_for_gate", {})], "never"]))
    url = await agui_server_factory(app)
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", url, json=run_input("thread-7", "wait")) as response:
            lines = response.aiter_lines()
            async for line in lines:
                if '"TOOL_CALL_END"' in line:
                    break
    for _ in range(300):
        traces = await manager.aget_traces_by_session("thread-7")
        if traces:
            break
        await asyncio.sleep(0.02)
    assert [t.status for t in traces] == [TraceStatus.CANCELLED]
    assert not app.threads["thread-7"].busy


async def test_second_run_on_a_busy_thread_gets_run_error(
    agui_server_factory: Any, gate: type[Gate]
) -> None:
    app = AguiApp(make_factory([[("wait_for_gate", {})], "done"]))
    url = await agui_server_factory(app)
    first = asyncio.create_task(post_run(url, run_input("thread-8", "wait")))
    assert gate.entered is not None and gate.event is not None
    await asyncio.wait_for(gate.entered.wait(), 5)
    token = app.threads["thread-8"].token  # what the first stream's RUN_STARTED carried
    refused = await post_run(url, run_input("thread-8", "me too"), token)
    assert types(refused) == ["RUN_ERROR"] and refused[0]["code"] == "run_in_progress"
    gate.event.set()
    frames = await first
    assert frames[-1]["type"] == "RUN_FINISHED" and frames[-1]["result"] == "done"


async def test_stopping_the_app_finishes_running_streams_as_cancelled(
    agui_server_factory: Any, gate: type[Gate]
) -> None:
    app = AguiApp(make_factory([[("wait_for_gate", {})], "never"]))
    url = await agui_server_factory(app)
    running = asyncio.create_task(post_run(url, run_input("thread-9", "wait")))
    assert gate.entered is not None
    await asyncio.wait_for(gate.entered.wait(), 5)
    await app.stop()
    frames = await asyncio.wait_for(running, 5)
    assert frames[-1]["type"] == "RUN_FINISHED"
    assert frames[-1]["outcome"] == {"type": "cancelled"}
    assert EventType(frames[-2]["type"]) is EventType.STEP_FINISHED


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[]", 422),
        (b'{"runId": "r", "messages": []}', 422),
        (b'{"threadId": "t", "messages": []}', 422),
        (b'{"threadId": "t", "runId": "r", "messages": {}}', 422),
        (
            b'{"threadId": "t", "runId": "r", "messages": '
            b'[{"id": "1", "role": "assistant", "content": "hi"}]}',
            422,
        ),
    ],
)
async def test_invalid_input_is_refused_with_an_http_error(
    agui_server_factory: Any, body: bytes, status: int
) -> None:
    url = await agui_server_factory(AguiApp(make_factory(["hi"])))
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            url, content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == status
        assert response.json()["error"]
        assert (await client.get(url + "health")).json()["status"] == "ok"
        assert (await client.put(url, content=b"{}")).status_code == 405


async def test_server_agui_app_shares_factory_and_handlers(
    agui_server_factory: Any, manager: TraceManager
) -> None:
    from myagent.ws.server import AgentWebSocketServer

    server = AgentWebSocketServer(make_factory(["hello from agui"]))
    seen: list[tuple[str, str]] = []

    @server.on_message
    def record(session_id: str, message: str) -> None:
        seen.append((session_id, message))

    url = await agui_server_factory(server.agui_app())
    frames = await post_run(url, run_input("thread-10", "hi there"))
    assert frames[-1]["result"] == "hello from agui"
    assert seen == [("thread-10", "hi there")]


async def test_multipart_user_content_and_history_pick_the_newest_user_text(
    agui_server_factory: Any, manager: TraceManager
) -> None:
    url = await agui_server_factory(AguiApp(make_factory(["ok"])))
    body = run_input("thread-11", "old question")
    body["messages"] = [
        {"id": "1", "role": "user", "content": "old question"},
        {"id": "2", "role": "assistant", "content": "old answer"},
        {"id": "3", "role": "user", "content": [{"type": "text", "text": "new question"}]},
    ]
    await post_run(url, body)
    (trace,) = await manager.aget_traces_by_session("thread-11")
    assert trace.input == "new question"
