"""ToolCallAgent on the offline ScriptedLLM: the loop, its records, failures, hooks, history."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from myagent import create_toolcall_agent
from myagent.agent import AgentState, Memory, ToolCallAgent
from myagent.llm import LLMError, LLMResponse, LLMUsage, ScriptedLLM, ToolCall
from myagent.tool import BaseTool, ToolResult
from myagent.trace import ThinkRecord, ToolRecord, Trace, TraceManager, get_trace_manager


class WeatherTool(BaseTool):
    name = "get_weather"
    description = "Get the current weather for a city"

    async def execute(self, city: str) -> ToolResult:
        return ToolResult(output=f"Sunny, 72°F in {city}")


class Boom(BaseTool):
    name = "boom"
    description = "Always fails"

    async def execute(self) -> str:
        raise RuntimeError("kaboom")


class Meet(BaseTool):
    """Finishes only when another call of it runs at the same time (proves concurrency)."""

    name = "meet"

    def __init__(self, barrier: asyncio.Barrier) -> None:
        super().__init__()
        self.barrier = barrier

    async def execute(self, who: str) -> str:
        await asyncio.wait_for(self.barrier.wait(), timeout=5)
        return f"{who} met"


def agent_with(script: list[Any], *tools: BaseTool, **kwargs: Any) -> ToolCallAgent:
    return create_toolcall_agent(
        name=kwargs.pop("name", "test-agent"), tools=list(tools), llm=ScriptedLLM(script), **kwargs
    )


async def trace_of(agent: ToolCallAgent) -> Trace:
    assert agent.last_trace_id is not None
    trace = await get_trace_manager().aget_trace(agent.last_trace_id)
    assert trace is not None
    return trace


async def test_spec_agent_level_snippet(manager: TraceManager) -> None:
    # Tracing enabled by default
    agent = create_toolcall_agent(
        name="my-agent",
        tools=[WeatherTool()],
        enable_tracing=True,  # Default
    )

    # Run agent (automatically traced)
    response = await agent.run("What's the weather?")

    # Access traces
    traces = get_trace_manager().get_traces_by_agent("my-agent")
    assert len(traces) == 1
    trace = traces[0]
    assert (trace.name, trace.agent_name, trace.status) == ("my-agent", "my-agent", "success")
    assert trace.output == response
    assert [r.run_type for r in trace.runs] == ["think", "tool", "think"]
    assert trace.tool_records[0].parent_id == trace.think_records[0].run_id
    assert str(trace.tool_records[0].output).startswith("Sunny, 72°F in ")
    assert trace.think_records[0].model == "scripted-offline"  # no OPENAI_* set: offline model


async def test_think_record_holds_the_prompt_response_choices_and_tokens(
    manager: TraceManager,
) -> None:
    llm = ScriptedLLM([[("get_weather", {"city": "NYC"})], "It is sunny in NYC."])
    agent = create_toolcall_agent(
        name="weather-agent",
        tools=[WeatherTool()],
        llm=llm,
        system_prompt="You are a weather assistant.",
    )

    answer = await agent.run("What's the weather in NYC?")

    trace = await trace_of(agent)
    first, second = trace.think_records
    assert answer == "It is sunny in NYC." == trace.output
    assert first.agent_name == "weather-agent"
    assert first.input == "What's the weather in NYC?"
    assert first.system_prompts == ["You are a weather assistant."]
    assert first.messages == llm.calls[0]["messages"]
    assert second.messages == llm.calls[1]["messages"]
    assert first.tool_calls == [
        {"id": "call_scripted_1", "name": "get_weather", "arguments": '{"city": "NYC"}'}
    ]
    assert first.llm_response is None and second.llm_response == "It is sunny in NYC."
    assert first.model == "scripted-offline"
    assert first.tokens_used == first.prompt_tokens + first.completion_tokens > 0
    digest = first.metadata["tool_schemas"]
    assert first.metadata == {"step": 1, "finish_reason": "tool_calls", "tool_schemas": digest}
    assert second.metadata["tool_schemas"] == digest  # the same schemas, kept once per trace
    assert trace.metadata["tool_schemas"] == {digest: llm.calls[0]["tools"]}
    (tool,) = trace.tool_records
    assert (tool.tool_call_id, tool.input_params) == ("call_scripted_1", {"city": "NYC"})
    assert second.messages[-1] == {
        "role": "tool",
        "tool_call_id": "call_scripted_1",
        "content": "Sunny, 72°F in NYC",
    }
    assert trace.metadata == {
        "stop_reason": "final_answer",
        "steps": 2,
        "tool_schemas": {digest: llm.calls[0]["tools"]},
    }


async def test_parallel_tool_calls_run_concurrently(manager: TraceManager) -> None:
    meet = Meet(asyncio.Barrier(2))
    agent = agent_with([[("meet", {"who": "a"}), ("meet", {"who": "b"})], "both met"], meet)

    assert await agent.run("meet up") == "both met"

    trace = await trace_of(agent)
    a, b = trace.tool_records
    assert (a.output, b.output) == ("a met", "b met")
    assert a.end_us is not None and b.end_us is not None
    assert a.start_us <= b.end_us and b.start_us <= a.end_us  # they overlap
    assert a.parent_id == b.parent_id == trace.think_records[0].run_id


async def test_a_raising_tool_is_a_failed_record_and_the_run_goes_on(
    manager: TraceManager,
) -> None:
    llm = ScriptedLLM([[("boom", {})], "Sorry, the tool failed."])
    agent = create_toolcall_agent(name="a", tools=[Boom()], llm=llm)

    assert await agent.run("go") == "Sorry, the tool failed."

    trace = await trace_of(agent)
    (record,) = trace.tool_records
    assert (record.success, record.error_type) == (False, "RuntimeError")
    assert record.stacktrace and "kaboom" in record.stacktrace
    assert llm.calls[1]["messages"][-1]["content"] == "Error: RuntimeError: kaboom"
    assert (trace.status, trace.has_errors) == ("success", True)


async def test_unknown_tool_and_malformed_arguments_are_reported_to_the_model(
    manager: TraceManager,
) -> None:
    llm = ScriptedLLM(
        [[("no_such_tool", {"x": 1}), ("get_weather", '{"city": "Par')], "I could not check."]
    )
    agent = create_toolcall_agent(name="a", tools=[WeatherTool()], llm=llm)

    assert await agent.run("weather?") == "I could not check."

    trace = await trace_of(agent)
    unknown, malformed = trace.tool_records
    assert (unknown.tool_name, unknown.success, unknown.error_type) == (
        "no_such_tool",
        False,
        "UnknownToolError",
    )
    assert unknown.input_params == {"x": 1}
    assert (malformed.success, malformed.error_type) == (False, "ToolArgumentsError")
    assert malformed.input_params == '{"city": "Par'
    assert unknown.parent_id == malformed.parent_id == trace.think_records[0].run_id
    feedback = [m["content"] for m in llm.calls[1]["messages"] if m["role"] == "tool"]
    assert feedback[0].startswith("Error: unknown tool 'no_such_tool'")
    assert "get_weather" in feedback[0]
    assert feedback[1].startswith("Error: arguments are not valid JSON")


async def test_arguments_of_the_wrong_type_fail_validation(manager: TraceManager) -> None:
    class Repeat(BaseTool):
        name = "repeat"

        async def execute(self, text: str, times: int) -> str:
            return text * times

    llm = ScriptedLLM(
        [[("repeat", {"text": "ab", "times": "3"})], [("repeat", {"text": "x"})], "ok"]
    )
    agent = create_toolcall_agent(name="a", tools=[Repeat()], llm=llm)
    await agent.run("repeat")

    trace = await trace_of(agent)
    coerced, missing = trace.tool_records
    assert (coerced.success, coerced.output, coerced.input_params) == (
        True,
        "ababab",
        {"text": "ab", "times": "3"},
    )
    assert (missing.success, missing.error_type) == (False, "ToolArgumentsError")
    assert "times" in (missing.error or "")


async def test_terminate_ends_the_run_with_its_message(manager: TraceManager) -> None:
    llm = ScriptedLLM(
        [
            [
                ("get_weather", {"city": "Oslo"}),
                ("terminate", {"status": "success", "message": "Oslo is sunny."}),
            ],
            "never used",
        ]
    )
    agent = create_toolcall_agent(name="a", tools=[WeatherTool()], llm=llm)

    assert await agent.run("weather in Oslo") == "Oslo is sunny."
    assert llm.remaining == 1
    trace = await trace_of(agent)
    assert [r.tool_name for r in trace.tool_records] == ["get_weather", "terminate"]
    assert trace.metadata["stop_reason"] == "terminate"


async def test_max_steps_stops_a_model_that_never_answers(manager: TraceManager) -> None:
    llm = ScriptedLLM([[("get_weather", {"city": "X"})]] * 3)
    agent = create_toolcall_agent(name="a", tools=[WeatherTool()], llm=llm, max_steps=3)

    answer = await agent.run("loop")

    assert "max_steps (3)" in answer
    trace = await trace_of(agent)
    assert len(trace.think_records) == 3 and len(trace.tool_records) == 3
    assert trace.metadata["stop_reason"] == "max_steps"
    assert trace.logs[0].level == "WARNING"


async def test_history_carries_over_and_each_run_is_its_own_trace(manager: TraceManager) -> None:
    llm = ScriptedLLM(["Hello Ada.", "Your name is Ada."])
    agent = create_toolcall_agent(name="chat", llm=llm, add_terminate=False)

    await agent.run("My name is Ada.")
    first_trace = agent.last_trace_id
    await agent.run("What is my name?")

    assert agent.last_trace_id != first_trace
    assert [m["content"] for m in llm.calls[1]["messages"]] == [
        "My name is Ada.",
        "Hello Ada.",
        "What is my name?",
    ]
    traces = await manager.aget_traces_by_agent("chat")
    assert [t.input for t in traces] == ["My name is Ada.", "What is my name?"]
    assert [len(t.runs) for t in traces] == [1, 1]

    agent.reset()
    assert agent.messages == [] and agent.state is AgentState.IDLE


async def test_llm_failure_marks_think_and_trace_failed_and_rolls_back_history(
    manager: TraceManager,
) -> None:
    failure = LLMError("LLM call failed: status=503", status_code=503)
    llm = ScriptedLLM([[("get_weather", {"city": "Rome"})], failure])
    agent = create_toolcall_agent(name="a", tools=[WeatherTool()], llm=llm)
    events: list[dict[str, Any]] = []
    agent.on_event = events.append

    with pytest.raises(LLMError, match="503"):
        await agent.run("weather in Rome")

    trace = await trace_of(agent)
    assert trace.status == "error" and trace.error and "503" in trace.error
    assert [r.success for r in trace.think_records] == [True, False]
    assert trace.think_records[1].error_type == "LLMError"
    assert agent.messages == []
    assert agent.state is AgentState.ERROR
    assert events[-1]["type"] == "error" and events[-1]["error_type"] == "LLMError"


async def test_tracing_off_records_nothing(manager: TraceManager) -> None:
    class Outer(BaseTool):
        name = "outer"

        async def execute(self) -> str:
            result = await WeatherTool().execute(city="Nested")  # a direct, nested call
            return str(result)

    agent = agent_with([[("outer", {})], "done"], Outer())
    agent.enable_tracing = False

    # Verify agent configuration
    print(f"Tracing enabled: {get_trace_manager().enabled}")
    print(f"Agent tracing: {agent.enable_tracing}")

    assert await agent.run("go") == "done"
    assert await manager.aget_all_traces() == []
    assert manager.stats["records"] == 0


async def test_tool_with_tracing_off_has_no_record_but_still_runs(
    manager: TraceManager,
) -> None:
    class HighFrequencyTool(BaseTool):
        enable_tracing = False  # Skip tracing for performance

        async def execute(self, **kwargs: Any) -> str:
            return "tick"

    agent = agent_with([[("high_frequency_tool", {})], "ticked"], HighFrequencyTool())

    assert await agent.run("tick") == "ticked"
    trace = await trace_of(agent)
    assert [r.run_type for r in trace.runs] == ["think", "think"]
    assert trace.think_records[0].tool_calls[0]["name"] == "high_frequency_tool"


async def test_session_id_from_attribute_or_run(manager: TraceManager) -> None:
    agent = agent_with(["one", "two"], session_id="s-1", add_terminate=False)

    await agent.run("first")
    await agent.run("second", session_id="s-2")

    assert [t.input for t in await manager.aget_traces_by_session("s-1")] == ["first"]
    assert [t.input for t in await manager.aget_traces_by_session("s-2")] == ["second"]


async def test_events_follow_the_run_and_carry_the_trace_id(manager: TraceManager) -> None:
    events: list[dict[str, Any]] = []

    async def on_event(event: dict[str, Any]) -> None:
        events.append(event)

    agent = agent_with(
        [[("get_weather", {"city": "Kyiv"})], "Kyiv is sunny today."],
        WeatherTool(),
        on_event=on_event,
        session_id="s",
    )
    answer = await agent.run("weather in Kyiv")

    kinds = [e["type"] for e in events]
    assert kinds[:4] == ["thinking", "tool_call", "tool_result", "thinking"]
    assert kinds[-1] == "final_answer" and set(kinds[4:-1]) == {"partial_answer"}
    assert "".join(e["content"] for e in events if e["type"] == "partial_answer") == answer
    assert {e["trace_id"] for e in events} == {agent.last_trace_id}
    assert {(e["agent"], e["session_id"]) for e in events} == {("test-agent", "s")}
    call, result = events[1], events[2]
    assert (call["name"], call["arguments"]) == ("get_weather", {"city": "Kyiv"})
    assert (result["output"], result["success"], result["error"]) == (
        "Sunny, 72°F in Kyiv",
        True,
        None,
    )
    assert events[-1]["content"] == answer and events[-1]["stop_reason"] == "final_answer"


async def test_streaming_can_be_switched_off(manager: TraceManager) -> None:
    events: list[dict[str, Any]] = []
    agent = agent_with(["plain answer"], on_event=events.append, stream=False)

    await agent.run("hi")

    assert [e["type"] for e in events] == ["thinking", "final_answer"]


async def test_a_failing_event_callback_does_not_break_the_run(manager: TraceManager) -> None:
    def on_event(event: dict[str, Any]) -> None:
        raise ConnectionError("socket closed")

    agent = agent_with([[("get_weather", {"city": "Bern"})], "fine"], WeatherTool())
    agent.on_event = on_event

    assert await agent.run("weather in Bern") == "fine"


async def test_confirmation_hook_can_deny_a_user_confirm_tool(manager: TraceManager) -> None:
    ran: list[str] = []

    class DeleteFile(BaseTool):
        name: str = "delete_file"
        description: str = "Delete a file"
        user_confirm: bool = True

        async def execute(self, path: str) -> str:
            ran.append(path)
            return "deleted"

    asked: list[tuple[str, dict[str, Any]]] = []

    async def confirm(tool: BaseTool, arguments: dict[str, Any]) -> bool:
        asked.append((tool.name, arguments))
        return arguments["path"] != "/etc/passwd"

    llm = ScriptedLLM(
        [[("delete_file", {"path": "/etc/passwd"})], [("delete_file", {"path": "/tmp/x"})], "ok"]
    )
    agent = create_toolcall_agent(name="a", tools=[DeleteFile()], llm=llm, confirm=confirm)
    await agent.run("clean up")

    assert ran == ["/tmp/x"]
    assert [a[1]["path"] for a in asked] == ["/etc/passwd", "/tmp/x"]
    denied, allowed = (await trace_of(agent)).tool_records
    assert (denied.success, denied.error_type) == (False, "ToolDeniedError")
    assert allowed.success
    assert "declined" in llm.calls[1]["messages"][-1]["content"]


async def test_max_observe_truncates_what_the_model_reads_not_the_record(
    manager: TraceManager,
) -> None:
    class Long(BaseTool):
        name = "long"

        async def execute(self) -> str:
            return "x" * 100

    llm = ScriptedLLM([[("long", {})], "ok"])
    agent = create_toolcall_agent(name="a", tools=[Long()], llm=llm, max_observe=10)
    await agent.run("read")

    assert llm.calls[1]["messages"][-1]["content"] == "x" * 10
    assert (await trace_of(agent)).tool_records[0].output == "x" * 100


async def test_next_step_prompt_is_sent_each_step_but_not_kept(manager: TraceManager) -> None:
    llm = ScriptedLLM([[("get_weather", {"city": "Rome"})], "done"])
    agent = create_toolcall_agent(
        name="a", tools=[WeatherTool()], llm=llm, next_step_prompt="Decide the next step."
    )
    await agent.run("weather in Rome")

    assert [c["messages"][-1]["content"] for c in llm.calls] == ["Decide the next step."] * 2
    assert "Decide the next step." not in [m["content"] for m in agent.messages]


async def test_tool_choice_and_tools_reach_the_model(manager: TraceManager) -> None:
    llm = ScriptedLLM(["fine"])
    agent = create_toolcall_agent(name="a", tools=[WeatherTool()], llm=llm, tool_choice="required")
    await agent.run("hi")

    assert llm.calls[0]["tool_choice"] == "required"
    assert [t["function"]["name"] for t in llm.calls[0]["tools"]] == ["get_weather", "terminate"]


async def test_run_rejects_empty_input_and_concurrent_use(manager: TraceManager) -> None:
    gate = asyncio.Event()

    class Wait(BaseTool):
        name = "wait"

        async def execute(self) -> str:
            await gate.wait()
            return "waited"

    agent = agent_with([[("wait", {})], "done"], Wait())
    with pytest.raises(ValueError):
        await agent.run("  ")
    task = asyncio.create_task(agent.run("first"))
    while agent.state is not AgentState.RUNNING:
        await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="already running"):
        await agent.run("second")
    gate.set()
    assert await task == "done"
    assert agent.state is AgentState.FINISHED


async def test_memory_limit_trims_between_runs(manager: TraceManager) -> None:
    llm = ScriptedLLM(["a1", "a2", "a3"])
    agent = create_toolcall_agent(name="a", llm=llm, memory=Memory(max_messages=3))
    for text in ("q1", "q2", "q3"):
        await agent.run(text)

    assert [m["content"] for m in llm.calls[2]["messages"]] == ["q2", "a2", "q3"]


async def test_usage_and_cost_come_from_the_llm_response(manager: TraceManager) -> None:
    response = LLMResponse(
        content="priced",
        model="gpt-4o-mini",
        usage=LLMUsage(prompt_tokens=120, completion_tokens=30, total_tokens=150),
        cost_usd=0.0012,
        finish_reason="stop",
    )
    agent = agent_with([response])
    await agent.run("price it")

    (think,) = (await trace_of(agent)).think_records
    assert (think.prompt_tokens, think.completion_tokens, think.tokens_used) == (120, 30, 150)
    assert (think.cost_usd, think.model) == (0.0012, "gpt-4o-mini")


class YieldingLLM(ScriptedLLM):
    """ScriptedLLM that yields to the event loop inside each call, as a network call would."""

    in_flight = 0
    most_in_flight = 0

    async def chat(self, *args: Any, **kwargs: Any) -> LLMResponse:
        YieldingLLM.in_flight += 1
        YieldingLLM.most_in_flight = max(YieldingLLM.most_in_flight, YieldingLLM.in_flight)
        try:
            for _ in range(3):
                await asyncio.sleep(0)
            return await super().chat(*args, **kwargs)
        finally:
            YieldingLLM.in_flight -= 1


async def test_hundred_agents_at_once_keep_their_own_records(sqlite_manager: TraceManager) -> None:
    class Echo(BaseTool):
        name = "echo"

        async def execute(self, text: str) -> str:
            for _ in range(3):
                await asyncio.sleep(0)
            return text

    agents = [
        create_toolcall_agent(
            name=f"agent-{i}",
            tools=[Echo()],
            llm=YieldingLLM(
                [[ToolCall(id=f"call-{i}", name="echo", arguments=f'{{"text": "t{i}"}}')], f"a{i}"]
            ),
        )
        for i in range(100)
    ]

    answers = await asyncio.gather(*(a.run(f"q{i}") for i, a in enumerate(agents)))

    assert answers == [f"a{i}" for i in range(100)]
    assert YieldingLLM.most_in_flight > 50  # the runs really interleaved
    for i, agent in enumerate(agents):
        trace = await trace_of(agent)
        assert (trace.agent_name, trace.input, trace.output) == (f"agent-{i}", f"q{i}", f"a{i}")
        think1, tool, think2 = trace.runs
        assert isinstance(think1, ThinkRecord) and isinstance(think2, ThinkRecord)
        assert isinstance(tool, ToolRecord)
        assert {r.trace_id for r in trace.runs} == {trace.trace_id}
        assert (tool.tool_call_id, tool.input_params, tool.output) == (
            f"call-{i}",
            {"text": f"t{i}"},
            f"t{i}",
        )
        assert tool.parent_id == think1.run_id
        assert think1.start_us <= tool.start_us <= think2.start_us


async def test_tool_calls_without_ids_get_one(manager: TraceManager) -> None:
    llm = ScriptedLLM([[ToolCall(id="", name="get_weather", arguments='{"city": "Nice"}')], "ok"])
    agent = create_toolcall_agent(name="a", tools=[WeatherTool()], llm=llm)
    await agent.run("weather in Nice")

    trace = await trace_of(agent)
    call_id = trace.think_records[0].tool_calls[0]["id"]
    assert call_id.startswith("call_")
    assert trace.tool_records[0].tool_call_id == call_id
    assert llm.calls[1]["messages"][-1]["tool_call_id"] == call_id


def test_run_sync_runs_without_an_event_loop() -> None:
    agent = create_toolcall_agent(
        name="sync", llm=ScriptedLLM(["sync answer"]), enable_tracing=False
    )
    assert agent.run_sync("hi") == "sync answer"
