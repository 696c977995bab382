"""Run one message through a session's agent with the server's hooks, as one traced run.

Both transports (the WebSocket protocol and AG-UI) use `AgentDriver`: it installs the
agent's event and confirmation hooks for the run, calls the `on_message` handlers inside
the run's trace, and hands every event (plain dicts, see `myagent.agent.events`) to the
transport, preceded by one `run_started` event that carries the trace id.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from myagent.trace.records import StepRecord
from myagent.trace.setup import get_trace_manager
from myagent.ws.factory import agent_name

logger = logging.getLogger("myagent.ws")

RUN_STARTED: Final = "run_started"
"""The event the driver puts before a run's first agent event (carries the trace id)."""

EventSink = Callable[[dict[str, Any]], Awaitable[None]]
"""Receives each event of a run; must not raise."""
MessageHandler = Callable[[str, str], Awaitable[Any] | Any]
"""`handler(session_id, message)`, plain or async, called for every user message."""
ConfirmHook = Callable[[Any, dict[str, Any]], Awaitable[bool]]
"""`confirm(tool, arguments) -> bool`, asked before a `user_confirm` tool runs."""


@dataclass(slots=True)
class RunResult:
    """How a run ended: its answer, or the error it failed with; and its trace id."""

    answer: str | None
    error: BaseException | None
    trace_id: str | None


class _RunState:
    __slots__ = ("errored", "finished", "started", "trace_id")

    def __init__(self) -> None:
        self.started = False
        self.finished = False
        self.errored = False
        self.trace_id: str | None = None


class AgentDriver:
    """Drives one session's agent, one run at a time, for one transport."""

    def __init__(
        self,
        agent: Any,
        session_id: str,
        *,
        handlers: Sequence[MessageHandler] = (),
        transport: str = "websocket",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.agent = agent
        self.session_id = session_id
        self.handlers = handlers
        self.transport = transport
        self.metadata = dict(metadata or {})
        self.name = agent_name(agent)
        self._state: _RunState | None = None
        self._previous_trace_id: str | None = None
        self._passes_session_id = _accepts_session_id(agent)

    @property
    def trace_id(self) -> str | None:
        """The trace id of the run in progress (or the last run), once it is known."""
        state = self._state
        if state is not None and state.trace_id is not None:
            return state.trace_id
        last = getattr(self.agent, "last_trace_id", None)
        if isinstance(last, str) and last != self._previous_trace_id:
            return last
        return None

    async def run(self, text: str, sink: EventSink, confirm: ConfirmHook | None) -> RunResult:
        """Run the agent on `text`; events go to `sink`. Cancellation propagates."""
        agent = self.agent
        state = self._state = _RunState()
        last = getattr(agent, "last_trace_id", None)
        self._previous_trace_id = last if isinstance(last, str) else None
        user_callback = getattr(agent, "on_event", None)
        user_confirm = getattr(agent, "confirm", None)

        async def on_event(event: dict[str, Any]) -> None:
            if not state.started:
                state.started = True
                state.trace_id = event.get("trace_id") or self.trace_id
                self._annotate_trace()
                await self._call_handlers(text)
                await sink(self._run_started(state.trace_id))
            kind = event.get("type")
            if kind == "final_answer":
                state.finished = True
            elif kind == "error":
                state.errored = True
            await sink(event)
            if user_callback is not None:
                result = user_callback(event)
                if inspect.isawaitable(result):
                    await result

        _set(agent, "on_event", on_event)
        if confirm is not None:
            _set(agent, "confirm", confirm)
        try:
            if self._passes_session_id:
                answer = await agent.run(text, session_id=self.session_id)
            else:
                answer = await agent.run(text)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._ensure_started(state, text, sink)
            if not state.errored:
                await sink(
                    self._event(state, "error", error=str(exc), error_type=type(exc).__name__)
                )
            return RunResult(None, exc, state.trace_id)
        finally:
            _set(agent, "on_event", user_callback)
            _set(agent, "confirm", user_confirm)
        answer_text = "" if answer is None else str(answer)
        await self._ensure_started(state, text, sink)
        if not state.finished:
            await sink(self._event(state, "final_answer", content=answer_text, stop_reason=None))
        return RunResult(answer_text, None, state.trace_id)

    async def _ensure_started(self, state: _RunState, text: str, sink: EventSink) -> None:
        """For agents that sent no event: the run_started event and the handlers, late."""
        if state.started:
            return
        state.started = True
        state.trace_id = self.trace_id
        await self._call_handlers(text)
        await sink(self._run_started(state.trace_id))

    def _run_started(self, trace_id: str | None) -> dict[str, Any]:
        return {
            "type": RUN_STARTED,
            "trace_id": trace_id,
            "agent": self.name,
            "session_id": self.session_id,
            "step": 0,
        }

    def _event(self, state: _RunState, kind: str, **fields: Any) -> dict[str, Any]:
        return {
            "type": kind,
            "trace_id": state.trace_id,
            "agent": self.name,
            "session_id": self.session_id,
            "step": 0,
            **fields,
        }

    def _annotate_trace(self) -> None:
        """Mark the run's trace (current in this context) with the transport."""
        try:
            trace = get_trace_manager().current_trace
            if trace is not None:
                trace.metadata.setdefault("transport", self.transport)
                for key, value in self.metadata.items():
                    trace.metadata.setdefault(key, value)
        except Exception:  # tracing never breaks a run
            logger.debug("could not annotate the run's trace", exc_info=True)

    async def _call_handlers(self, text: str) -> None:
        """Call each `on_message` handler, as a step record of the run's trace when traced."""
        if not self.handlers:
            return
        try:
            manager = get_trace_manager()
            traced = manager.enabled and manager.current_trace is not None
        except Exception:
            traced = False
        for handler in self.handlers:
            name = getattr(handler, "__name__", "on_message")
            try:
                if traced:
                    inputs = {"session_id": self.session_id, "message": text}
                    with manager.run(f"on_message:{name}", StepRecord, inputs=inputs):
                        await _call(handler, self.session_id, text)
                else:
                    await _call(handler, self.session_id, text)
            except Exception:
                logger.exception("on_message handler %s failed", name)


async def _call(handler: MessageHandler, session_id: str, text: str) -> None:
    result = handler(session_id, text)
    if inspect.isawaitable(result):
        await result


def _set(agent: Any, attribute: str, value: Any) -> None:
    """Set a hook attribute on agents that have it (or accept new attributes)."""
    with contextlib.suppress(AttributeError, TypeError):
        setattr(agent, attribute, value)


def _accepts_session_id(agent: Any) -> bool:
    run = getattr(agent, "run", None)
    if run is None:
        raise TypeError(f"{type(agent).__name__} has no run() method")
    try:
        parameters = inspect.signature(run).parameters
    except (TypeError, ValueError):
        return False
    return "session_id" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )
