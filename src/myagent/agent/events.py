"""Agent events: plain dicts given to an agent's optional `on_event` callback as a run goes.

Every event has `type`, `trace_id`, `agent`, `session_id`, `step` and `timestamp` (epoch
seconds), plus fields of its own:

- `thinking`: an LLM call starts (`step` counts them from 1).
- `partial_answer`: `content`, a streamed chunk of the model's text (only when streaming).
- `tool_call`: `tool_call_id`, `name`, `arguments` (a dict, or the raw text when not JSON).
- `tool_result`: `tool_call_id`, `name`, `output` (the text given to the model), `success`,
  `error`; `content` (the tool's output alone), `system` (a ToolResult's note, or None)
  and `extras` (fields a ToolResult subclass adds, e.g. `data`).
- `final_answer`: `content`, the run's answer; `stop_reason` is final_answer, terminate
  or max_steps.
- `error`: `error` (message) and `error_type`; the run failed and `run()` raises.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

AgentEvent = dict[str, Any]
EventCallback = Callable[[AgentEvent], Awaitable[None] | None]
"""`on_event(event)`; a plain or an async function. Its failures are logged, not raised."""

THINKING: Final = "thinking"
PARTIAL_ANSWER: Final = "partial_answer"
TOOL_CALL: Final = "tool_call"
TOOL_RESULT: Final = "tool_result"
FINAL_ANSWER: Final = "final_answer"
ERROR: Final = "error"
EVENT_TYPES: Final = (THINKING, PARTIAL_ANSWER, TOOL_CALL, TOOL_RESULT, FINAL_ANSWER, ERROR)


def make_event(
    kind: str,
    *,
    trace_id: str,
    agent: str,
    session_id: str | None,
    step: int,
    **fields: Any,
) -> AgentEvent:
    """One event dict with the common fields first."""
    return {
        "type": kind,
        "trace_id": trace_id,
        "agent": agent,
        "session_id": session_id,
        "step": step,
        "timestamp": time.time(),
        **fields,
    }
