"""ToolCallAgent: the think -> act loop over native tool calls, traced as one trace per run.

Each step is one LLM call (a think record holding the full prompt, the response, the
chosen tool calls, tokens and cost), then the chosen tools run concurrently (one tool
record each, parented to that think record) and their results go back to the model.
The run ends on a reply without tool calls, a `terminate` call, or `max_steps`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from myagent.agent.errors import ToolArgumentsError, ToolDeniedError, UnknownToolError
from myagent.agent.events import (
    ERROR,
    FINAL_ANSWER,
    PARTIAL_ANSWER,
    THINKING,
    TOOL_CALL,
    TOOL_RESULT,
    EventCallback,
    make_event,
)
from myagent.agent.memory import Memory, Message
from myagent.llm import LLM, LLMResponse, TokenCallback, ToolCall
from myagent.llm.default import resolve_llm
from myagent.tool.base import BaseTool, ConfirmHandler
from myagent.tool.collection import ToolCollection, ToolLike
from myagent.tool.result import (
    ToolError,
    result_content,
    result_error,
    result_extras,
    result_text,
)
from myagent.tool.tracing import NO_TRACE, run_tool, running_tool
from myagent.trace import tool_schemas
from myagent.trace.ids import new_run_id, new_trace_id
from myagent.trace.legacy import TraceMetadata, TraceMetadataLike, trace_fields
from myagent.trace.manager import TraceManager
from myagent.trace.records import RunRecord, ThinkRecord, ToolRecord, Trace
from myagent.trace.setup import get_trace_manager

logger = logging.getLogger("myagent.agent")

SPECIAL_TOOL_NAMES: tuple[str, ...] = ("terminate",)
DEFAULT_MAX_STEPS = 30
"""LLM calls per run when `max_steps` is not given (or None), as in earlier versions."""


class AgentState(StrEnum):
    """Where the agent is in its life: idle, running a request, finished one, or failed."""

    IDLE = "idle"
    RUNNING = "running"
    FINISHED = "finished"
    ERROR = "error"


@dataclass(slots=True)
class _Run:
    """State of one `run()` call."""

    request: str
    trace_id: str
    session_id: str | None
    manager: TraceManager | None
    trace: Trace | None = None
    step: int = 0


@dataclass(slots=True)
class _Outcome:
    """What one tool call produced, as the model will read it."""

    call: ToolCall
    text: str
    success: bool
    error: str | None = None
    finishes: bool = False
    final_text: str | None = None
    result: Any = None


def parse_arguments(raw: str | None) -> dict[str, Any]:
    """The model's JSON arguments as a dict; empty text means no arguments."""
    if raw is None or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ToolArgumentsError(f"arguments are not valid JSON ({exc.msg} at {exc.pos})") from None
    if not isinstance(value, dict):
        raise ToolArgumentsError(f"arguments must be a JSON object, got {type(value).__name__}")
    return value


class ToolCallAgent:
    """A tool-calling agent: `await agent.run(text) -> str`, one trace per run.

    The conversation history (`memory`) carries over between runs; `reset()` clears it.
    Optional hooks: `on_event` (async callable receiving event dicts, see
    `myagent.agent.events`), `confirm` (async `confirm(tool, arguments) -> bool`, asked
    before each `user_confirm` tool runs; without it such tools run unasked).
    `agent_factory` ("module:function" building this agent) goes into each trace's
    metadata so `myagent replay` can rebuild the agent.
    """

    def __init__(
        self,
        name: str = "toolcall-agent",
        llm: LLM | str | None = None,
        tools: ToolCollection | Iterable[ToolLike] | None = None,
        *,
        system_prompt: str | None = None,
        next_step_prompt: str | None = None,
        tool_choice: Any = "auto",
        max_steps: int | None = DEFAULT_MAX_STEPS,
        max_observe: int | None = None,
        enable_tracing: bool = True,
        description: str | None = None,
        session_id: str | None = None,
        trace_metadata: TraceMetadataLike | None = None,
        agent_factory: str | None = None,
        on_event: EventCallback | None = None,
        confirm: ConfirmHandler | None = None,
        stream: bool = True,
        memory: Memory | None = None,
        special_tool_names: Sequence[str] = SPECIAL_TOOL_NAMES,
        available_tools: ToolCollection | Iterable[ToolLike] | None = None,
        tool_choices: Any = None,
    ) -> None:
        if available_tools is not None:  # the field names of earlier versions
            tools = available_tools
        if tool_choices is not None:
            tool_choice = tool_choices
        if max_steps is None:
            max_steps = DEFAULT_MAX_STEPS
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        self.name = name
        self.description = description
        self.llm: LLM = resolve_llm(llm)
        self.tools = ToolCollection.of(tools)
        self.system_prompt = system_prompt
        self.next_step_prompt = next_step_prompt
        self.tool_choice = tool_choice
        self.max_steps: int = max_steps
        self.max_observe = max_observe
        self.enable_tracing = enable_tracing
        self.session_id = session_id
        self.trace_metadata = TraceMetadata.coerce(trace_metadata)
        self.agent_factory = agent_factory
        self.on_event = on_event
        self.confirm = confirm
        self.stream = stream
        self.memory = memory if memory is not None else Memory()
        self.special_tool_names = tuple(special_tool_names)
        self.state = AgentState.IDLE
        self.last_trace_id: str | None = None
        self.final_response: str | None = None
        """The last run's answer."""
        self.current_step = 0
        """LLM calls made so far in the current (or last) run."""
        self.tool_calls: list[ToolCall] = []
        """The tool calls the model chose in the latest step."""

    def __repr__(self) -> str:
        return (
            f"ToolCallAgent(name={self.name!r}, llm={self.llm!r}, "
            f"tools={self.tools.tool_names}, max_steps={self.max_steps})"
        )

    # -- configuration -------------------------------------------------------------

    @property
    def available_tools(self) -> ToolCollection:
        """Alias of `tools` (the name earlier versions used)."""
        return self.tools

    @available_tools.setter
    def available_tools(self, value: ToolCollection | Iterable[ToolLike]) -> None:
        self.tools = ToolCollection.of(value)

    @property
    def tool_choices(self) -> Any:
        """Alias of `tool_choice`."""
        return self.tool_choice

    @tool_choices.setter
    def tool_choices(self, value: Any) -> None:
        self.tool_choice = value

    @property
    def messages(self) -> list[Message]:
        """The conversation history (OpenAI format, without the system prompt)."""
        return self.memory.messages

    def get_memory(self) -> Memory:
        """The conversation memory."""
        return self.memory

    def reset(self) -> None:
        """Forget the conversation and go back to idle."""
        self.memory.clear()
        self.state = AgentState.IDLE

    def add_tool(self, tool: ToolLike) -> None:
        """Offer one more tool to the model."""
        self.tools.add_tool(tool)

    def remove_tool(self, tool_name: str) -> None:
        """Stop offering the tool called `tool_name`."""
        self.tools.remove_tool(tool_name)

    def set_system_prompt(self, prompt: str | None) -> None:
        """Replace the system prompt used from the next LLM call on."""
        self.system_prompt = prompt

    # -- running -------------------------------------------------------------------

    async def run(self, input_text: str, session_id: str | None = None) -> str:
        """Answer `input_text`, calling tools as the model asks; returns the final answer.

        Raises ValueError for empty input, RuntimeError when this agent is already
        running, and the LLM's error (e.g. `myagent.llm.LLMError`) when the model fails.
        """
        if not isinstance(input_text, str) or not input_text.strip():
            raise ValueError("input_text must be a non-empty string")
        if self.state is AgentState.RUNNING:
            raise RuntimeError(f"agent {self.name!r} is already running")
        self.state = AgentState.RUNNING
        fixed_session, tags, metadata = trace_fields(self.trace_metadata)
        session = session_id if session_id is not None else self.session_id or fixed_session
        manager = self._trace_manager()
        try:
            if manager is None:
                run = _Run(input_text, new_trace_id(), session, None)
                self.last_trace_id = run.trace_id
                answer = await self._run_turn(run)
            else:
                async with manager.trace(
                    self.name,
                    agent_name=self.name,
                    input=input_text,
                    session_id=session,
                    metadata=metadata,
                    tags=tags,
                ) as trace:
                    run = _Run(input_text, trace.trace_id, session, manager, trace)
                    self.last_trace_id = run.trace_id
                    answer = await self._run_turn(run)
                    trace.output = answer
        except asyncio.CancelledError:
            self.state = AgentState.IDLE
            raise
        except BaseException:
            self.state = AgentState.ERROR
            raise
        self.state = AgentState.FINISHED
        self.final_response = answer
        return answer

    async def arun(self, input_text: str, session_id: str | None = None) -> str:
        """Alias of `run` (the name earlier versions used)."""
        return await self.run(input_text, session_id)

    def run_sync(self, input_text: str, session_id: str | None = None) -> str:
        """`run` for code without an event loop (scripts, notebooks' plain cells)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.run(input_text, session_id))
        raise RuntimeError("run_sync() cannot run inside an event loop; use `await agent.run()`")

    def _trace_manager(self) -> TraceManager | None:
        if not self.enable_tracing:
            return None
        try:
            manager = get_trace_manager()
        except Exception as exc:  # a broken TRACE_* setting must not stop the agent
            logger.warning("tracing unavailable, running untraced: %s", exc)
            return None
        return manager if manager.enabled else None

    async def _run_turn(self, run: _Run) -> str:
        """One user turn; a failed turn leaves the history as it was before."""
        token = running_tool.set(None if run.manager is not None else NO_TRACE)
        self.memory.trim()
        start = len(self.memory)
        self.memory.add({"role": "user", "content": run.request})
        try:
            answer, reason = await self._loop(run)
        except BaseException as exc:
            self.memory.truncate(start)
            if not isinstance(exc, asyncio.CancelledError):
                await self._emit(run, ERROR, error=str(exc), error_type=type(exc).__name__)
            raise
        finally:
            running_tool.reset(token)
        if run.trace is not None:
            run.trace.metadata.update(stop_reason=reason, steps=run.step)
            if self.agent_factory:  # lets `myagent replay` rebuild this agent
                run.trace.metadata["agent_factory"] = self.agent_factory
        await self._emit(run, FINAL_ANSWER, content=answer, stop_reason=reason)
        return answer

    async def _loop(self, run: _Run) -> tuple[str, str]:
        """Think and act until an answer; returns (answer, stop reason)."""
        last_content = ""
        self.tool_calls, self.current_step = [], 0
        while run.step < self.max_steps:
            run.step += 1
            self.current_step = run.step
            response, think = await self._think(run)
            calls = self.tool_calls = response.tool_calls
            content = response.content
            self.memory.add(_assistant_message(response))
            if content:
                last_content = content
            if not calls:
                return content or "", "final_answer"
            outcomes = await self._act(run, calls, think)
            for outcome in outcomes:
                self.memory.add(self._tool_message(outcome))
            finisher = next((o for o in outcomes if o.finishes), None)
            if finisher is not None:
                return finisher.final_text or last_content or finisher.text, "terminate"
        note = f"Stopped after reaching max_steps ({self.max_steps}) without a final answer."
        if run.manager is not None:
            run.manager.add_log_entry("WARNING", note)
        return (f"{last_content}\n\n{note}" if last_content else note), "max_steps"

    def _prompt(self) -> list[Message]:
        """The messages for the next LLM call: system prompt, history, next-step prompt."""
        messages: list[Message] = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        messages.extend(self.memory.messages)
        if self.next_step_prompt:
            messages.append({"role": "user", "content": self.next_step_prompt})
        return messages

    async def _think(self, run: _Run) -> tuple[LLMResponse, RunRecord | None]:
        """One LLM call, recorded as a think record."""
        messages = self._prompt()
        params = self.tools.to_params()
        choice = getattr(self.tool_choice, "value", self.tool_choice) if params else None
        await self._emit(run, THINKING)
        record: RunRecord | None = None
        if run.manager is not None:
            metadata = _prompt_metadata(run, params, choice, getattr(self.llm, "temperature", None))
            record = run.manager.start_run(
                ThinkRecord,
                "think",
                parent=None,
                agent_name=self.name,
                input=run.request,
                system_prompts=[self.system_prompt] if self.system_prompt else [],
                messages=[dict(m) for m in messages],
                model=getattr(self.llm, "model", None),
                metadata=metadata,
            )
        on_token = self._token_callback(run)
        try:
            response = await self.llm.chat(
                messages, tools=params or None, tool_choice=choice, on_token=on_token
            )
        except BaseException as exc:
            if run.manager is not None:
                run.manager.end_run(record, error=exc)
            raise
        for call in response.tool_calls:  # some local servers omit ids; replies must name one
            call.id = call.id or f"call_{new_run_id()}"
        if run.manager is not None and record is not None:
            usage = response.usage
            run.manager.end_run(
                record,
                llm_response=response.content,
                tool_calls=[
                    {"id": c.id, "name": c.name, "arguments": c.arguments}
                    for c in response.tool_calls
                ],
                model=response.model or getattr(self.llm, "model", None),
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
                tokens_used=usage.total_tokens if usage else 0,
                cost_usd=response.cost_usd,
                metadata={**record.metadata, "finish_reason": response.finish_reason},
            )
        return response, record

    def _token_callback(self, run: _Run) -> TokenCallback | None:
        if self.on_event is None or not self.stream:
            return None

        async def on_token(text: str) -> None:
            await self._emit(run, PARTIAL_ANSWER, content=text)

        return on_token

    async def _act(
        self, run: _Run, calls: list[ToolCall], think: RunRecord | None
    ) -> list[_Outcome]:
        """Run the chosen tools, concurrently when there are several."""
        if len(calls) == 1:
            return [await self._execute(run, calls[0], think)]
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self._execute(run, call, think)) for call in calls]
        return [task.result() for task in tasks]

    async def _execute(self, run: _Run, call: ToolCall, think: RunRecord | None) -> _Outcome:
        """Run one tool call; every failure becomes an error message for the model."""
        tool = self.tools.get_tool(call.name)
        try:
            arguments = parse_arguments(call.arguments)
        except ToolArgumentsError as exc:
            await self._emit_call(run, call, call.arguments)
            return await self._refuse(run, call, think, tool, call.arguments, exc)
        await self._emit_call(run, call, arguments)
        if tool is None:
            known = ", ".join(self.tools.tool_names) or "none"
            unknown = UnknownToolError(f"unknown tool {call.name!r} (available: {known})")
            return await self._refuse(run, call, think, None, arguments, unknown)
        if tool.user_confirm and not await self._confirmed(tool, arguments):
            denied = ToolDeniedError(f"the user declined to run tool {call.name!r}")
            return await self._refuse(run, call, think, tool, arguments, denied)
        try:
            result = await run_tool(
                tool,
                arguments,
                parent=think,
                tool_call_id=call.id,
                trace=run.manager is not None,
            )
        except Exception as exc:
            detail = exc.message if isinstance(exc, ToolError) else f"{type(exc).__name__}: {exc}"
            outcome = _Outcome(call, f"Error: {detail}", success=False, error=detail)
        else:
            error = result_error(result)
            outcome = _Outcome(
                call, result_text(result), success=error is None, error=error, result=result
            )
            if outcome.success and call.name in self.special_tool_names:
                outcome.finishes = True
                message = arguments.get("message")
                outcome.final_text = message if isinstance(message, str) and message else None
        await self._emit_result(run, outcome)
        return outcome

    async def _refuse(
        self,
        run: _Run,
        call: ToolCall,
        think: RunRecord | None,
        tool: BaseTool | None,
        input_params: Any,
        error: Exception,
    ) -> _Outcome:
        """A call that cannot run: a failed tool record and an error message to the model."""
        manager = run.manager
        if manager is not None and (tool is None or tool.enable_tracing):
            record = manager.start_run(
                ToolRecord,
                call.name,
                parent=think,
                tool_name=call.name,
                tool_call_id=call.id,
                input_params=input_params,
            )
            manager.end_run(record, error=error)
        outcome = _Outcome(call, f"Error: {error}", success=False, error=str(error))
        await self._emit_result(run, outcome)
        return outcome

    async def _confirmed(self, tool: BaseTool, arguments: dict[str, Any]) -> bool:
        handler = self.confirm or tool.confirmation_handler
        if handler is None:
            return True
        try:
            allowed = handler(tool, dict(arguments))
            if inspect.isawaitable(allowed):
                allowed = await allowed
        except Exception:
            logger.warning("confirmation hook failed for tool %r; not running it", tool.name)
            return False
        return bool(allowed)

    def _tool_message(self, outcome: _Outcome) -> Message:
        text = outcome.text
        if self.max_observe is not None and len(text) > self.max_observe:
            text = text[: self.max_observe]
        return {"role": "tool", "tool_call_id": outcome.call.id, "content": text}

    # -- events --------------------------------------------------------------------

    async def _emit(self, run: _Run, kind: str, **fields: Any) -> None:
        """Hand one event to `on_event`; a failing callback is logged, never raised."""
        callback = self.on_event
        if callback is None:
            return
        event = make_event(
            kind,
            trace_id=run.trace_id,
            agent=self.name,
            session_id=run.session_id,
            step=run.step,
            **fields,
        )
        try:
            result = callback(event)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.warning("on_event callback failed for a %r event", kind, exc_info=True)

    async def _emit_call(self, run: _Run, call: ToolCall, arguments: Any) -> None:
        await self._emit(run, TOOL_CALL, tool_call_id=call.id, name=call.name, arguments=arguments)

    async def _emit_result(self, run: _Run, outcome: _Outcome) -> None:
        await self._emit(
            run,
            TOOL_RESULT,
            tool_call_id=outcome.call.id,
            name=outcome.call.name,
            output=outcome.text,
            success=outcome.success,
            error=outcome.error,
            content=outcome.text if outcome.result is None else result_content(outcome.result),
            system=getattr(outcome.result, "system", None),
            extras=result_extras(outcome.result),
        )


def _prompt_metadata(
    run: _Run, params: list[dict[str, Any]], choice: Any, temperature: Any
) -> dict[str, Any]:
    """A think record's metadata: its step, the model's temperature when set, and the tool
    schemas offered (kept once per trace under their hash, so replay and the playground
    can compare and edit them)."""
    metadata: dict[str, Any] = {"step": run.step}
    if isinstance(temperature, int | float):
        metadata["temperature"] = temperature
    if params and run.trace is not None:
        metadata[tool_schemas.KEY] = tool_schemas.remember(run.trace.metadata, params)
        if choice not in (None, "auto"):
            metadata["tool_choice"] = choice
    return metadata


def _assistant_message(response: LLMResponse) -> Message:
    """The assistant turn for the history (content is never null without tool calls)."""
    message = response.to_message()
    if not response.tool_calls and message.get("content") is None:
        message["content"] = ""
    return message
