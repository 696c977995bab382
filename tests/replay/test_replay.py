"""replay(): recorded runs answered again from their traces, and where they diverge."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from examples import demo
from myagent import create_toolcall_agent
from myagent.agent import ToolCallAgent
from myagent.llm import ScriptedLLM
from myagent.replay import NotReplayable, check_replayable, replay
from myagent.tool import BaseTool, ToolResult
from myagent.trace import Trace, TraceManager
from myagent.trace.records import ThinkRecord

_AMBIENT = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "LLM_MODEL")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in _AMBIENT:
        monkeypatch.delenv(name, raising=False)
    yield


async def demo_traces(manager: TraceManager) -> list[Trace]:
    """Run every example agent of examples/demo.py; their stored traces, oldest first."""
    await demo.run_agents()
    manager.flush()
    traces = await manager.aget_all_traces()
    return sorted(traces, key=lambda t: t.start_us)


def shape(trace: Trace) -> list[tuple[Any, ...]]:
    """What a replay must reproduce: record kinds, tools, tool arguments, model answers."""
    rows: list[tuple[Any, ...]] = []
    for run in trace.runs:
        if isinstance(run, ThinkRecord):
            rows.append((run.run_type, run.llm_response, run.tool_calls))
        else:
            rows.append((run.run_type, getattr(run, "tool_name", run.name), run.input_params))  # type: ignore[attr-defined]
    return rows


async def test_every_demo_run_replays_exactly(manager: TraceManager) -> None:
    originals = await demo_traces(manager)
    assert {t.agent_name for t in originals} == set(demo.QUESTIONS)
    assert len(originals) == 5

    for original in originals:
        result = await replay(original)  # the factory named in the trace's metadata

        assert result.ok, result.report()
        manager.flush()
        stored = await manager.aget_trace(result.replay_trace_id or "")
        assert stored is not None
        assert len(stored.runs) == len(original.runs)
        assert shape(stored) == shape(original)
        assert stored.output == original.output == result.answer
        assert [r.success for r in stored.runs] == [r.success for r in original.runs]
        assert stored.metadata["replay_of"] == original.trace_id
        assert "replay" in stored.tags


async def test_a_later_turn_replays_with_the_earlier_turns_as_history(
    manager: TraceManager,
) -> None:
    originals = await demo_traces(manager)
    second = [t for t in originals if t.agent_name == "weather-agent"][1]
    assert len(second.think_records[0].messages) > 2  # it carried the first turn along

    result = await replay(second, demo.create_agent)

    assert result.ok, result.report()
    assert result.answer == second.output


async def test_a_failing_tool_is_replayed_with_its_recorded_error(manager: TraceManager) -> None:
    originals = await demo_traces(manager)
    stocks = next(t for t in originals if t.agent_name == "stocks-agent")

    result = await replay(stocks, demo.create_agent)

    assert result.ok, result.report()
    assert result.replay is not None
    (tool,) = result.replay.tool_records
    assert (tool.success, tool.error_type) == (False, "ConnectionError")
    assert tool.error == stocks.tool_records[0].error


def weather_agent(**changes: Any) -> ToolCallAgent:
    options: dict[str, Any] = {
        "name": "weather-agent",
        "tools": [demo.WeatherTool()],
        "system_prompt": "You are the weather-agent. Use your tools.",
        "llm": ScriptedLLM(),
    }
    options.update(changes)
    return create_toolcall_agent(**options)


async def recorded_weather_run(manager: TraceManager) -> Trace:
    agent = weather_agent()
    await agent.run("What's the weather in NYC?")
    manager.flush()
    trace = await manager.aget_trace(agent.last_trace_id or "")
    assert trace is not None and len(trace.think_records) == 2
    return trace


async def test_a_changed_system_prompt_diverges_at_the_first_call(manager: TraceManager) -> None:
    original = await recorded_weather_run(manager)

    result = await replay(original, lambda: weather_agent(system_prompt="Be terse."))

    assert not result.ok and result.divergence is not None
    assert (result.divergence.step, result.divergence.kind) == (1, "messages")
    assert "message 0 (system)" in result.divergence.summary
    assert '-    "content": "You are the weather-agent. Use your tools."' in result.divergence.diff
    assert '+    "content": "Be terse."' in result.divergence.diff
    assert result.divergence.run_id == original.think_records[0].run_id
    assert result.answer is None  # the replay stopped there
    assert result.replay is not None
    assert result.replay.metadata["replay_divergence"]["kind"] == "messages"


class ForecastWeather(demo.WeatherTool):
    description = "Get tomorrow's forecast for a city"


async def test_a_changed_tool_schema_diverges_at_the_first_call(manager: TraceManager) -> None:
    original = await recorded_weather_run(manager)

    result = await replay(original, lambda: weather_agent(tools=[ForecastWeather()]))

    assert result.divergence is not None
    assert (result.divergence.step, result.divergence.kind) == (1, "tools")
    assert result.divergence.summary == "schema of tool(s) ['get_weather'] changed"
    diff = result.divergence.diff
    assert '-      "description": "Get the current weather for a city"' in diff
    assert '+      "description": "Get tomorrow\'s forecast for a city"' in diff


class DifferentWeather(BaseTool):
    name = "get_weather"
    description = "Get the current weather for a city"

    async def execute(self, city: str) -> ToolResult:
        """Look the city up in a small offline table.

        Args:
            city: the city name, e.g. NYC
        """
        return ToolResult(output=f"Snow in {city}")


async def test_a_live_tool_with_another_output_diverges_at_the_next_call(
    manager: TraceManager,
) -> None:
    original = await recorded_weather_run(manager)

    same = await replay(original, weather_agent, live_tools=True)
    changed = await replay(
        original, lambda: weather_agent(tools=[DifferentWeather()]), live_tools=True
    )

    assert same.ok, same.report()
    assert any("ran live" in note for note in same.caveats)
    assert changed.divergence is not None
    assert (changed.divergence.step, changed.divergence.kind) == (2, "messages")
    assert "message 3 (tool)" in changed.divergence.summary
    assert '+    "content": "Snow in NYC"' in changed.divergence.diff


async def test_continue_live_hands_over_to_the_real_model(manager: TraceManager) -> None:
    original = await recorded_weather_run(manager)
    live = ScriptedLLM(["Live answer."])

    result = await replay(
        original, lambda: weather_agent(system_prompt="Be terse.", llm=live), continue_live=True
    )

    assert result.divergence is not None and result.divergence.step == 1
    assert result.answer == "Live answer."
    assert result.error is None
    assert live.calls[0]["messages"][0] == {"role": "system", "content": "Be terse."}
    assert result.caveats[0].startswith("handover:")
    assert result.replay is not None and result.replay.metadata["replay_mode"] == "continue-live"


async def test_fewer_or_more_model_calls_are_divergences(manager: TraceManager) -> None:
    original = await recorded_weather_run(manager)
    one_call = original.think_records[0]

    short = await replay(original, lambda: weather_agent(max_steps=1))
    cut = Trace.from_dict(original.to_dict())
    cut.runs = [r for r in cut.runs if r.run_type != "think" or r.run_id == one_call.run_id]
    extra = await replay(cut, weather_agent)

    assert short.divergence is not None
    assert (short.divergence.step, short.divergence.kind) == (2, "missing_call")
    assert extra.divergence is not None
    assert (extra.divergence.step, extra.divergence.kind) == (2, "extra_call")


async def test_the_report_flags_what_is_not_reproduced_and_links_the_pair(
    manager: TraceManager,
) -> None:
    original = await recorded_weather_run(manager)

    result = await replay(original, weather_agent)
    report = result.report("http://127.0.0.1:9000")

    assert report.splitlines()[0] == f"replay of {original.trace_id} (recorded): reproduced"
    assert "not reproduced - ids and times" in report
    assert "not reproduced - streaming" in report
    url = f"http://127.0.0.1:9000/compare?a={original.trace_id}&b={result.replay_trace_id}"
    assert url in report


async def test_manual_traces_are_refused_with_the_reason(manager: TraceManager) -> None:
    trace_id = manager.start_trace(agent_name="workflow", input_data={"rows": 3})
    manager.add_step(trace_id=trace_id, step_name="data_processing", result="ok")
    manager.end_trace(trace_id)
    manager.flush()
    trace = await manager.aget_trace(trace_id)
    assert trace is not None

    with pytest.raises(NotReplayable, match=r"recorded no LLM calls \(record kinds: step\)"):
        await replay(trace, weather_agent)


async def test_otlp_ingested_traces_without_prompts_are_refused(manager: TraceManager) -> None:
    original = await recorded_weather_run(manager)
    ingested = Trace.from_dict(original.to_dict())  # as the OTLP receiver maps GenAI spans
    ingested.metadata["service.name"] = "support-bot"
    for think in ingested.think_records:
        think.messages = []  # the producer did not capture message content
        think.metadata["otel.span_kind"] = "CLIENT"

    with pytest.raises(NotReplayable) as refused:
        check_replayable(ingested)

    assert "LLM call 1" in str(refused.value)
    assert "has no recorded prompt messages" in str(refused.value)
    assert "written by an agent traced elsewhere (support-bot) and ingested over OTLP" in str(
        refused.value
    )


async def test_running_traces_are_refused(manager: TraceManager) -> None:
    original = await recorded_weather_run(manager)
    running = Trace.from_dict({**original.to_dict(), "status": "running", "end_time": None})

    with pytest.raises(NotReplayable, match="still running"):
        check_replayable(running)


async def test_a_trace_without_a_factory_names_what_to_pass(manager: TraceManager) -> None:
    original = await recorded_weather_run(manager)

    with pytest.raises(ValueError, match="no agent factory"):
        await replay(original)


async def test_hand_written_think_records_without_prompts_are_refused(
    manager: TraceManager,
) -> None:
    # The earlier system's style: an agent of its own logs its LLM calls by hand.
    async with manager.trace("legacy", agent_name="legacy-agent", input="hello") as trace:
        record = manager.start_run(ThinkRecord, "think", input="hello")
        manager.end_run(record, llm_response="Hi there")
        trace.output = "Hi there"
    manager.flush()
    stored = await manager.aget_trace(trace.trace_id)
    assert stored is not None

    with pytest.raises(NotReplayable) as refused:
        await replay(stored, weather_agent)

    assert str(refused.value) == (
        f"trace {stored.trace_id}: LLM call 1 ({stored.runs[0].run_id}) has no recorded "
        "prompt messages; a replay needs the full prompt and answer of every call"
    )


class LookupWithSteps(BaseTool):
    name = "get_weather"
    description = "Get the current weather for a city"

    async def execute(self, city: str) -> ToolResult:
        """Look it up, recording a step of its own inside the tool record.

        Args:
            city: the city name, e.g. NYC
        """
        from myagent.trace import get_trace_manager

        get_trace_manager().add_step(step_name="cache_lookup", result="miss")
        return ToolResult(output=f"Sunny in {city}")


async def test_records_nested_inside_a_tool_are_not_expected_from_recorded_tools(
    manager: TraceManager,
) -> None:
    agent = weather_agent(tools=[LookupWithSteps()])
    await agent.run("What's the weather in NYC?")
    manager.flush()
    original = await manager.aget_trace(agent.last_trace_id or "")
    assert original is not None
    assert [r.run_type for r in original.runs] == ["think", "tool", "step", "think"]

    recorded = await replay(original, lambda: weather_agent(tools=[LookupWithSteps()]))
    live = await replay(original, lambda: weather_agent(tools=[LookupWithSteps()]), live_tools=True)

    assert recorded.ok, recorded.report()
    assert recorded.replay is not None and len(recorded.replay.runs) == 3
    assert live.ok, live.report()
    assert live.replay is not None and len(live.replay.runs) == 4


async def test_a_run_whose_model_call_failed_replays_as_the_same_failure(
    manager: TraceManager,
) -> None:
    from myagent.llm import LLMError

    failing = ScriptedLLM([[("get_weather", {"city": "NYC"})], LLMError("rate limited")])
    agent = weather_agent(llm=failing)
    with pytest.raises(LLMError):
        await agent.run("What's the weather in NYC?")
    manager.flush()
    original = await manager.aget_trace(agent.last_trace_id or "")
    assert original is not None and original.status == "error"

    result = await replay(original, weather_agent)

    assert result.ok, result.report()
    assert result.replay is not None and result.replay.error == original.error
    assert [r.success for r in result.replay.runs] == [True, True, False]


async def test_parallel_tool_calls_get_their_own_recorded_outputs(manager: TraceManager) -> None:
    script = [
        [("get_weather", {"city": "NYC"}), ("get_weather", {"city": "Paris"})],
        "NYC and Paris checked.",
    ]
    agent = weather_agent(llm=ScriptedLLM(script))
    await agent.run("Weather in NYC and Paris?")
    manager.flush()
    original = await manager.aget_trace(agent.last_trace_id or "")
    assert original is not None

    result = await replay(original, weather_agent)

    assert result.ok, result.report()
    assert result.replay is not None
    outputs = {r.input_params["city"]: r.output for r in result.replay.tool_records}
    assert outputs == {"NYC": "Sunny, 72°F", "Paris": "Cloudy, 15°C"}
    assert result.replay.think_records[1].messages == original.think_records[1].messages


class UntracedWeather(demo.WeatherTool):
    enable_tracing = False


async def test_untraced_tools_run_live_and_are_flagged(manager: TraceManager) -> None:
    agent = weather_agent(tools=[UntracedWeather()])
    await agent.run("What's the weather in NYC?")
    manager.flush()
    original = await manager.aget_trace(agent.last_trace_id or "")
    assert original is not None and original.tool_records == []

    result = await replay(original, lambda: weather_agent(tools=[UntracedWeather()]))

    assert result.ok, result.report()
    assert result.caveats[0].startswith("side effects: tool(s) get_weather ran live")


async def test_values_redacted_in_the_recording_are_not_divergences(
    manager: TraceManager,
) -> None:
    prompt = "You are the weather-agent. Our key is sk-proj-ABCDEFGHIJKLMNOPQRSTUV123456."
    agent = weather_agent(system_prompt=prompt)
    await agent.run("What's the weather in NYC?")
    manager.flush()
    stored = await manager.aget_trace(agent.last_trace_id or "")
    assert stored is not None
    assert "sk-proj" not in str(stored.think_records[0].messages)  # redacted when stored

    same = await replay(stored, lambda: weather_agent(system_prompt=prompt))
    changed = await replay(stored, lambda: weather_agent(system_prompt=prompt + " Be brief."))

    assert same.ok, same.report()
    assert changed.divergence is not None and changed.divergence.kind == "messages"
    assert "sk-proj" not in changed.divergence.diff  # the diff shows the redacted form
