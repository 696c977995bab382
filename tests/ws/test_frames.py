"""Run events to WebSocket frames: step ids, streaming, reasoning text, errors."""

from __future__ import annotations

from typing import Any, ClassVar

from myagent.ws.frames import FrameMapper
from myagent.ws.runner import RUN_STARTED


def ev(kind: str, step: int = 1, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "trace_id": "t1", "session_id": "s", "step": step, **fields}


def test_concurrent_tool_calls_get_distinct_step_ids_that_their_results_reuse() -> None:
    mapper = FrameMapper("s")
    frames = [
        f
        for event in (
            ev(RUN_STARTED, 0),
            ev("tool_call", tool_call_id="a", name="get_weather", arguments={"location": "A"}),
            ev("tool_call", tool_call_id="b", name="get_weather", arguments={"location": "B"}),
            ev("tool_result", tool_call_id="b", name="get_weather", output="B!", success=True),
            ev(
                "tool_result",
                tool_call_id="a",
                name="get_weather",
                output="",
                success=False,
                error="boom",
            ),
        )
        for f in mapper.frames(event)
    ]
    assert [f["step_id"] for f in frames] == [
        "step_0_get_weather",
        "step_1_get_weather",
        "step_1_get_weather",
        "step_0_get_weather",
    ]
    assert frames[3]["metadata"]["status"] == "failed" and frames[3]["metadata"]["error"] == "boom"
    assert frames[3]["metadata"]["success"] is False and frames[2]["metadata"]["success"] is True
    assert all(f["trace_id"] == "t1" and f["session_id"] == "s" for f in frames)
    # numbering continues in the next run of the session
    (later,) = mapper.frames(ev("tool_call", tool_call_id="c", name="x", arguments={}))
    assert later["step_id"] == "step_2_x"


def test_streamed_chunks_are_closed_by_one_final_chunk() -> None:
    mapper = FrameMapper("s")
    out = []
    for event in (
        ev("thinking"),
        ev("partial_answer", content="Hel"),
        ev("partial_answer", content=""),
        ev("partial_answer", content="lo"),
        ev("final_answer", content="Hello", stop_reason="final_answer"),
    ):
        out.extend(mapper.frames(event))
    assert [(f["event"], f.get("content")) for f in out] == [
        ("agent.thinking", "Thinking (step 1)"),
        ("agent.partial_answer", "Hel"),
        ("agent.partial_answer", "lo"),
        ("agent.partial_answer", ""),
        ("agent.final_answer", "Hello"),
    ]
    assert out[3]["metadata"]["is_final"] is True and out[1]["metadata"]["is_final"] is False
    assert out[4]["metadata"] == {"stop_reason": "final_answer"}


def test_reasoning_text_beside_tool_calls_is_sent_as_thinking_once_per_step() -> None:
    class Agent:
        messages: ClassVar[list[dict[str, Any]]] = [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Let me check.", "tool_calls": [{"id": "a"}]},
        ]

    mapper = FrameMapper("s", Agent())
    first = mapper.frames(ev("tool_call", tool_call_id="a", name="t", arguments={}))
    second = mapper.frames(ev("tool_call", tool_call_id="b", name="t", arguments={}))
    assert [f["event"] for f in first] == ["agent.thinking", "agent.tool_call"]
    assert first[0]["content"] == "Let me check."
    assert first[0]["metadata"] == {"step": 1, "status": "reasoning"}
    assert [f["event"] for f in second] == ["agent.tool_call"]


def test_error_events_become_agent_error() -> None:
    (frame,) = FrameMapper("s").frames(ev("error", error="LLMError: down", error_type="LLMError"))
    assert frame["event"] == "agent.error" and frame["content"] == "LLMError: down"
    assert frame["metadata"] == {"error_code": "run_failed", "error_type": "LLMError"}
