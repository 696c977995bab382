"""The recorded model and recorded tools: a stored trace answering an agent's calls again.

`RecordedLLM` implements the LLM protocol: call N gets the recorded answer and tool calls
of the trace's N-th think record, after its prompt (and tool schemas) were compared with
the recording. `RecordedTool` stands in for one of the agent's tools and answers with the
output the tool record holds for that tool call (or runs the real tool: live mode).
Both share one `ReplayState`, which keeps the first divergence.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from typing import Any

from pydantic import PrivateAttr

from myagent.llm.base import (
    LLM,
    LLMError,
    LLMResponse,
    LLMUsage,
    TokenCallback,
    ToolCall,
    emit_token,
)
from myagent.replay.divergence import (
    Divergence,
    Normalizer,
    message_diff,
    schema_summary,
    unified,
)
from myagent.tool.base import BaseTool
from myagent.tool.result import ToolError, ToolResult
from myagent.tool.tracing import call_execute, running_tool
from myagent.trace import tool_schemas
from myagent.trace.context import get_current_run, get_current_trace
from myagent.trace.records import ThinkRecord, ToolRecord, Trace

REPLAY_TAG = "replay"


class ReplayDiverged(Exception):
    """Raised into the agent to stop a replay at its first divergence."""

    def __init__(self, divergence: Divergence) -> None:
        super().__init__(divergence.describe())
        self.divergence = divergence


class ReplayState:
    """What the recorded model and tools share: the recording, the mode, the first
    divergence, the replay's own trace, and which tools ran live."""

    def __init__(
        self,
        original: Trace,
        normalize: Normalizer,
        *,
        live_tools: bool = False,
        continue_live: bool = False,
        mode: str = "recorded",
    ) -> None:
        self.original = original
        self.normalize = normalize
        self.live_tools = live_tools
        self.continue_live = continue_live
        self.mode = mode
        self.thinks = original.think_records
        self.calls = 0
        self.handed_over = False
        self.divergence: Divergence | None = None
        self.trace: Trace | None = None
        self.live_tool_names: list[str] = []
        self._by_call_id = {r.tool_call_id: r for r in original.tool_records if r.tool_call_id}
        self._by_name: defaultdict[str, deque[ToolRecord]] = defaultdict(deque)
        for record in original.tool_records:
            self._by_name[record.tool_name].append(record)
        self._used: set[str] = set()

    def diverge(self, divergence: Divergence) -> None:
        """Keep the first divergence (also in the replay trace's metadata)."""
        if self.divergence is not None:
            return
        self.divergence = divergence
        if self.trace is not None:
            self.trace.metadata["replay_divergence"] = divergence.to_dict()

    def mark_trace(self) -> None:
        """Tag the replay's trace and link it to the original (once, on the first call)."""
        if self.trace is not None:
            return
        trace = get_current_trace()
        if trace is None:
            return
        self.trace = trace
        trace.metadata["replay_of"] = self.original.trace_id
        trace.metadata["replay_mode"] = self.mode
        if REPLAY_TAG not in trace.tags:
            trace.tags.append(REPLAY_TAG)

    def tool_record(self, name: str) -> ToolRecord | None:
        """The recorded execution answering the current tool call: by its call id, else
        the next unused recording of a tool of that name."""
        current = get_current_run()
        call_id = getattr(current, "tool_call_id", None)
        record = self._by_call_id.get(call_id) if call_id else None
        if record is None:
            queue = self._by_name.get(name) or deque()
            while queue and queue[0].run_id in self._used:
                queue.popleft()
            record = queue.popleft() if queue else None
        if record is not None:
            self._used.add(record.run_id)
        return record

    @property
    def step(self) -> int:
        """The number of the current (or last) LLM call."""
        return max(self.calls, 1)


class RecordedLLM:
    """An LLM answering each call with the recorded response of the matching think record;
    after a divergence it raises ReplayDiverged, or hands over to `live` (continue-live)."""

    def __init__(self, state: ReplayState, live: LLM | None = None) -> None:
        self.state = state
        self.live = live
        first = state.thinks[0] if state.thinks else None
        self.model = (first.model if first is not None else None) or "recorded"

    def __repr__(self) -> str:
        return (
            f"RecordedLLM({len(self.state.thinks)} calls of trace {self.state.original.trace_id})"
        )

    async def chat(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        on_token: TokenCallback | None = None,
    ) -> LLMResponse:
        """The recorded answer of the next call, once the prompt matched the recording."""
        state = self.state
        state.mark_trace()
        state.calls += 1
        if state.handed_over and self.live is not None:
            return await self.live.chat(messages, tools, tool_choice, on_token)
        if state.divergence is not None:
            raise ReplayDiverged(state.divergence)
        divergence = self._compare(messages, tools, tool_choice)
        if divergence is not None:
            state.diverge(divergence)
            if state.continue_live and self.live is not None:
                state.handed_over = True
                return await self.live.chat(messages, tools, tool_choice, on_token)
            raise ReplayDiverged(divergence)
        think = state.thinks[state.calls - 1]
        if not think.success:  # the model call failed in the recording: fail alike
            raise recorded_error(think.error_type or "LLMError", think.error or "")
        response = response_of(think)
        if on_token is not None and response.content:
            await emit_token(on_token, response.content)
        return response

    def _compare(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, choice: Any
    ) -> Divergence | None:
        """The divergence of this call from the recording, or None."""
        state, step = self.state, self.state.calls
        if step > len(state.thinks):
            return Divergence(
                step,
                "extra_call",
                f"the agent called the model a {step}th time; the recording has "
                f"{len(state.thinks)} calls",
                unified([], state.normalize(messages[-1:])),
            )
        think = state.thinks[step - 1]
        live_messages = state.normalize.like(messages, think.messages)
        if live_messages != think.messages:
            summary, diff = message_diff(think.messages, live_messages)
            return Divergence(step, "messages", summary, diff, think.run_id)
        recorded = tool_schemas.schemas_of(state.original.metadata, think.metadata)
        if recorded is not None:
            live_tools = state.normalize.like(tools or [], recorded)
            if live_tools != recorded:
                summary = schema_summary(recorded, live_tools)
                return Divergence(
                    step, "tools", summary, unified(recorded, live_tools), think.run_id
                )
            recorded_choice = think.metadata.get("tool_choice")
            live_choice = None if choice in (None, "auto") else state.normalize(choice)
            if live_choice != recorded_choice:
                return Divergence(
                    step,
                    "tool_choice",
                    "tool_choice sent to the model differs",
                    unified(recorded_choice, live_choice),
                    think.run_id,
                )
        return None


def response_of(think: ThinkRecord) -> LLMResponse:
    """The LLMResponse a think record holds: answer, tool calls (same ids), usage, cost."""
    calls = [
        ToolCall(
            id=str(call.get("id") or ""),
            name=str(call["name"]),
            arguments=call["arguments"]
            if isinstance(call["arguments"], str)
            else json.dumps(call["arguments"], ensure_ascii=False),
        )
        for call in think.tool_calls
    ]
    content = think.llm_response
    return LLMResponse(
        content=content if content is None or isinstance(content, str) else json.dumps(content),
        tool_calls=calls,
        model=think.model or "",
        usage=LLMUsage(think.prompt_tokens, think.completion_tokens, think.tokens_used),
        cost_usd=think.cost_usd,
        finish_reason=think.metadata.get("finish_reason"),
        raw={"replayed": True, "run_id": think.run_id},
    )


_ERROR_CLASSES: dict[str, type[Exception]] = {}


def _error_class(name: str) -> type[Exception]:
    """An exception class named as the recorded one, so the agent words the error alike."""
    if name not in _ERROR_CLASSES:
        _ERROR_CLASSES[name] = type(name, (Exception,), {"__module__": __name__})
    return _ERROR_CLASSES[name]


def reproduce(record: ToolRecord) -> ToolResult:
    """What the recorded execution returned, or raise what it raised."""
    system = record.metadata.get("system")
    if record.success:
        return ToolResult(output=record.output, system=system)
    error_type, message = record.error_type or "Error", record.error or ""
    if error_type == "Error":  # a returned ToolResult(error=...)
        return ToolResult(output=record.output, error=message, system=system)
    raise recorded_error(error_type, message)


def recorded_error(error_type: str, message: str) -> Exception:
    """An exception worded as the recorded one (`Type: text`, as stored)."""
    prefix = f"{error_type}: "
    text = message[len(prefix) :] if message.startswith(prefix) else ""
    if error_type == "ToolError":
        return ToolError(text)
    if error_type == "LLMError":
        return LLMError(text)
    cls = _error_class(error_type)
    return cls(text) if text else cls()


class RecordedTool(BaseTool):
    """Stands in for one of the agent's tools: same schema; answers with the recording, or
    runs the real tool (live tools, after a continue-live handover, or unrecorded calls
    in continue-live mode)."""

    _live: BaseTool | None = PrivateAttr(default=None)
    _state: ReplayState | None = PrivateAttr(default=None)

    @classmethod
    def wrap(cls, live: BaseTool, state: ReplayState) -> RecordedTool:
        """A stand-in for `live` sharing the replay's state."""
        tool = cls(
            name=live.name,
            description=live.description,
            parameters=live.parameters,
            enable_tracing=live.enable_tracing,
            user_confirm=live.user_confirm,
        )
        tool._live, tool._state = live, state
        if live.confirmation_handler is not None:
            tool.set_confirmation_handler(live.confirmation_handler)
        return tool

    def to_param(self) -> dict[str, Any]:
        """The real tool's schema, so a changed schema shows as a divergence."""
        assert self._live is not None
        return self._live.to_param()

    def validate_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The real tool's argument validation."""
        assert self._live is not None
        return self._live.validate_arguments(arguments)

    async def execute(self, **kwargs: Any) -> Any:
        """The recorded output for this call, or the real tool's."""
        state, live = self._state, self._live
        assert state is not None and live is not None
        if state.live_tools or state.handed_over or not live.enable_tracing:
            return await self._run_live(live, state, kwargs)  # untraced tools: no recording
        record = state.tool_record(self.name)
        arguments = getattr(get_current_run(), "input_params", None)
        arguments = kwargs if arguments is None else arguments
        recorded_arguments = None if record is None else record.input_params
        if record is not None and state.normalize.like(arguments, recorded_arguments) == (
            recorded_arguments
        ):
            return reproduce(record)
        divergence = Divergence(
            state.step,
            "tool",
            f"the recording has no output for {self.name}({_short(arguments)})"
            if record is None
            else f"{self.name} was called with other arguments than recorded",
            unified(None if record is None else record.input_params, state.normalize(arguments)),
            None if record is None else record.run_id,
        )
        state.diverge(divergence)
        if state.continue_live:
            state.handed_over = True
            return await self._run_live(live, state, kwargs)
        raise ReplayDiverged(divergence)

    async def _run_live(self, live: BaseTool, state: ReplayState, kwargs: dict[str, Any]) -> Any:
        """Run the real tool once, inside this stand-in's record (no second record)."""
        if self.name not in state.live_tool_names:
            state.live_tool_names.append(self.name)
        token = running_tool.set(live)
        try:
            return await call_execute(live, kwargs)
        finally:
            running_tool.reset(token)


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
