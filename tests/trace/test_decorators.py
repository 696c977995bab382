"""@trace_run: bare and with arguments, sync and async, nesting, errors."""

from __future__ import annotations

import pytest

from myagent.trace import StepRecord, TraceManager, trace_run


@trace_run
def double(x: int) -> int:
    return x * 2


@trace_run(name="outer-step")
def outer(x: int) -> int:
    return double(x) + 1


@trace_run
async def adouble(x: int, *, scale: int = 2) -> int:
    return x * scale


@trace_run(capture_input=False, capture_output=False)
async def secret(password: str) -> str:
    return password[::-1]


class Failure(Exception):
    pass


@trace_run
async def fails() -> None:
    raise Failure("nope")


def test_outside_a_trace_opens_its_own(manager: TraceManager) -> None:
    assert outer(3) == 7
    (trace,) = manager.get_all_traces()
    assert trace.name == "outer-step"
    step, inner = trace.runs
    assert isinstance(step, StepRecord) and step.inputs == {"x": 3} and step.output == 7
    assert inner.name.endswith("double") and inner.parent_id == step.run_id
    assert trace.output == 7


async def test_inside_a_trace_adds_steps_under_the_current_parent(
    manager: TraceManager,
) -> None:
    async with manager.trace("t") as trace, manager.run("parent") as parent:
        assert await adouble(5, scale=3) == 15
    step = trace.runs[1]
    assert isinstance(step, StepRecord)
    assert step.parent_id == parent.run_id
    assert step.inputs == {"x": 5, "scale": 3}
    assert step.output == 15
    assert len(manager.get_all_traces()) == 1


async def test_capture_off(manager: TraceManager) -> None:
    async with manager.trace("t") as trace:
        assert await secret("hunter2") == "2retnuh"
    step = trace.runs[0]
    assert isinstance(step, StepRecord)
    assert step.inputs is None and step.output is None


async def test_exception_recorded_and_reraised_unchanged(manager: TraceManager) -> None:
    with pytest.raises(Failure) as info:
        await fails()
    assert str(info.value) == "nope"
    (trace,) = manager.get_all_traces()
    step = trace.runs[0]
    assert step.success is False
    assert step.error == "Failure: nope"
    assert step.error_type == "Failure"
    assert step.stacktrace is not None and 'raise Failure("nope")' in step.stacktrace
    assert trace.status == "error" and trace.has_errors


def test_metadata_preserved() -> None:
    assert double.__name__ == "double"
    assert outer.__wrapped__.__name__ == "outer"  # type: ignore[attr-defined]
