"""Run events to AG-UI events: nesting, ids, and validity against ag-ui-protocol."""

from __future__ import annotations

from typing import Any

from ag_ui.core import Event
from pydantic import TypeAdapter

from myagent.ws.agui_events import AguiEventMapper
from myagent.ws.runner import RUN_STARTED

EVENT = TypeAdapter(Event)


def ev(kind: str, step: int = 1, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "trace_id": "trace-1", "step": step, **fields}


def run(mapper: AguiEventMapper, *events: dict[str, Any]) -> list[dict[str, Any]]:
    out = [e for event in events for e in mapper.feed(event)]
    for event in out:
        assert not EVENT.validate_python(event).model_extra
    return out


def test_terminate_answer_differing_from_streamed_text_is_its_own_message() -> None:
    mapper = AguiEventMapper("thread", "client-run")
    out = run(
        mapper,
        ev(RUN_STARTED, 0),
        ev("thinking"),
        ev("partial_answer", content="Let me finish."),
        ev("tool_call", tool_call_id="c1", name="terminate", arguments={"message": "Bye"}),
        ev("tool_result", tool_call_id="c1", name="terminate", output="Bye", success=True),
        ev("final_answer", content="Bye", stop_reason="terminate"),
    )
    out += mapper.finished("Bye")
    kinds = [e["type"] for e in out]
    assert kinds == [
        "RUN_STARTED",
        "STEP_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TOOL_CALL_RESULT",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "STEP_FINISHED",
        "RUN_FINISHED",
    ]
    # the tool call belongs to the message streamed in the same step
    assert out[5]["parentMessageId"] == out[2]["messageId"]
    assert out[0]["runId"] == out[-1]["runId"] == "trace-1"
    assert out[-1]["result"] == "Bye"
    for e in out:
        EVENT.validate_python(e)


def test_streamed_final_answer_is_not_repeated() -> None:
    mapper = AguiEventMapper("thread", "r")
    out = run(
        mapper,
        ev(RUN_STARTED, 0),
        ev("thinking"),
        ev("partial_answer", content="Hi "),
        ev("partial_answer", content="there"),
        ev("final_answer", content="Hi there"),
    )
    assert [e["type"] for e in out].count("TEXT_MESSAGE_START") == 1


def test_untraced_run_uses_the_client_run_id_and_ends_once() -> None:
    mapper = AguiEventMapper("thread", "client-run")
    out = mapper.feed(ev(RUN_STARTED, 0, trace_id=None)) + mapper.failed("boom", "x")
    assert out[0]["runId"] == "client-run" and "metadata" not in out[0]
    assert out[-1] == {**out[-1], "type": "RUN_ERROR", "message": "boom", "code": "x"}
    assert mapper.finished("late") == [] and mapper.cancelled() == []


def test_refusal_before_a_run_is_a_lone_run_error_and_cancel_is_a_cancelled_finish() -> None:
    assert [e["type"] for e in AguiEventMapper("t", "r").failed("busy")] == ["RUN_ERROR"]
    cancelled = AguiEventMapper("t", "r").cancelled()
    assert [e["type"] for e in cancelled] == ["RUN_STARTED", "RUN_FINISHED"]
    assert cancelled[-1]["outcome"] == {"type": "cancelled"}
    for e in cancelled:
        EVENT.validate_python(e)
