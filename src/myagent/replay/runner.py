"""`replay()`: rebuild a recorded agent run offline and report where it differs.

The agent comes from a factory (or the `module:function` the trace's metadata names),
gets the recorded input and history; its model is a RecordedLLM and its tools are
RecordedTools over the trace. The replay is itself a trace, tagged `replay` and linked
to the original by `metadata["replay_of"]`.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from myagent.replay.divergence import Divergence, Normalizer, unified
from myagent.replay.recorded import RecordedLLM, RecordedTool, ReplayDiverged, ReplayState
from myagent.replay.source import TraceSource, check_replayable, load_trace, recorded_input
from myagent.tool.collection import ToolCollection
from myagent.trace.records import RunRecord, ThinkRecord, ToolRecord, Trace, TraceStatus
from myagent.trace.redaction import REDACTED
from myagent.trace.serialize import is_truncated
from myagent.trace.setup import get_trace_manager

AgentFactory = Callable[..., Any]
"""Returns the agent to replay (may be async). Parameters named `trace`, `name` or
`agent_name` receive the recorded trace or its agent name; others keep their defaults."""

ALWAYS_CAVEATS = (
    "ids and times: the replay has its own trace and record ids, timestamps and durations",
    "streaming: each recorded answer is streamed as one chunk, without the original timing",
)


@dataclass(slots=True)
class ReplayResult:
    """The outcome of one replay: the original and replay traces, the answer, the first
    divergence (None when the replay matched), an error the agent raised, and what the
    replay could not reproduce (`caveats`)."""

    original: Trace
    replay: Trace | None
    answer: str | None
    divergence: Divergence | None
    error: str | None
    mode: str
    caveats: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the replay reproduced the recording."""
        return self.divergence is None and self.error is None

    @property
    def replay_trace_id(self) -> str | None:
        """The replay's own trace id (None when tracing was off)."""
        return None if self.replay is None else self.replay.trace_id

    def compare_url(self, base_url: str = "http://127.0.0.1:8080") -> str | None:
        """The viewer's compare view of original and replay."""
        if self.replay is None:
            return None
        query = urlencode({"a": self.original.trace_id, "b": self.replay.trace_id})
        return f"{base_url.rstrip('/')}/compare?{query}"

    def to_dict(self, base_url: str | None = None) -> dict[str, Any]:
        """Plain data for machines (CI): outcome, ids, divergence, answer, caveats, link."""
        return {
            "ok": self.ok,
            "mode": self.mode,
            "original": self.original.trace_id,
            "replay": self.replay_trace_id,
            "divergence": None if self.divergence is None else self.divergence.to_dict(),
            "error": self.error,
            "answer": self.answer,
            "caveats": list(self.caveats),
            "compare_url": self.compare_url(base_url) if base_url else None,
        }

    def report(self, base_url: str | None = None) -> str:
        """A readable report: outcome, divergence with its diff, caveats, compare link."""
        head = f"replay of {self.original.trace_id} ({self.mode}): " + (
            "reproduced" if self.ok else "DIVERGED" if self.divergence else "FAILED"
        )
        lines = [head]
        if self.replay is not None:
            lines.append(f"replay trace: {self.replay.trace_id}")
        if self.divergence is not None:
            lines.append(self.divergence.describe())
        if self.error is not None:
            lines.append(f"error: {self.error}")
        if self.answer is not None:
            lines.append(f"answer: {self.answer}")
        lines += [f"not reproduced - {c}" for c in self.caveats]
        url = self.compare_url(base_url) if base_url else None
        if url:
            lines.append(f"compare: {url}")
        return "\n".join(lines)


def resolve_factory(spec: str) -> AgentFactory:
    """`module:function` (or `path/to/file.py:function`) to the callable; the working
    directory is importable, as for `python -m`."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"agent factory must look like module:function, got {spec!r}")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    if module_name.endswith(".py"):
        module_name = module_name[:-3].replace("/", ".").replace("\\", ".")
    target: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{spec} is not callable")
    return target  # type: ignore[no-any-return]


async def build_agent(factory: AgentFactory, trace: Trace) -> Any:
    """Call the factory with what it asks for (trace, name/agent_name) and await it."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        parameters = {}  # type: ignore[assignment]
    given = {"trace": trace, "name": trace.agent_name, "agent_name": trace.agent_name}
    kwargs = {k: v for k, v in given.items() if k in parameters and v is not None}
    agent = factory(**kwargs)
    if inspect.isawaitable(agent):
        agent = await agent
    for attribute in ("llm", "tools", "run", "memory"):
        if not hasattr(agent, attribute):
            raise TypeError(
                f"replay needs a ToolCallAgent-like agent (llm, tools, memory, run); "
                f"the factory returned {type(agent).__name__} without {attribute!r}"
            )
    return agent


def seed_history(agent: Any, trace: Trace, request: str) -> None:
    """Give a fresh agent the conversation that preceded the recorded request (a later
    turn of a multi-turn session), taken from the first recorded prompt."""
    if len(agent.memory) or not trace.think_records:
        return
    messages = list(trace.think_records[0].messages)
    while messages and messages[0].get("role") == "system":
        messages.pop(0)
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.get("role") == "user" and message.get("content") == request:
            agent.memory.add_messages(dict(m) for m in messages[:index])
            return


def _factory_of(trace: Trace, factory: AgentFactory | str | None) -> AgentFactory:
    if callable(factory):
        return factory
    spec = factory or trace.metadata.get("agent_factory")
    if not isinstance(spec, str) or not spec:
        raise ValueError(
            f"no agent factory for trace {trace.trace_id}: pass agent_factory (or --agent "
            "module:function), or create the agent with agent_factory='module:function' "
            "so its traces name it"
        )
    return resolve_factory(spec)


def _normalizer() -> Normalizer:
    """Compare in the recording's form: redacted when the manager redacts."""
    try:
        manager = get_trace_manager()
    except Exception:
        return Normalizer(None)
    return Normalizer(manager.redactor if manager.config.redact else None)


async def replay(
    trace: TraceSource,
    agent_factory: AgentFactory | str | None = None,
    live_tools: bool = False,
    *,
    continue_live: bool = False,
    live_llm: Any = None,
    trace_id: str | None = None,
) -> ReplayResult:
    """Replay a recorded run (see the module docstring); never raises for a divergence.

    `live_tools=True` runs the real tools; `continue_live=True` hands over to the real
    model (`live_llm`, default the agent's own) and tools at the first divergence.
    Raises NotReplayable when the trace cannot be replayed, with the reason.
    """
    original = load_trace(trace, trace_id)
    check_replayable(original)
    request = recorded_input(original)
    assert request is not None  # check_replayable ensured it
    agent = await build_agent(_factory_of(original, agent_factory), original)
    mode = "continue-live" if continue_live else "live-tools" if live_tools else "recorded"
    state = ReplayState(
        original,
        _normalizer(),
        live_tools=live_tools,
        continue_live=continue_live,
        mode=mode,
    )
    agent.llm = RecordedLLM(state, live_llm if live_llm is not None else agent.llm)
    agent.tools = ToolCollection(*(RecordedTool.wrap(t, state) for t in agent.tools))
    seed_history(agent, original, request)
    answer: str | None = None
    error: str | None = None
    try:
        answer = await agent.run(request)
    except ReplayDiverged:
        pass
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if original.status == TraceStatus.ERROR and error == original.error:
            error = None  # the recorded run failed the same way: reproduced
    if state.divergence is None and error is None:
        _check_end(state, answer)
    return ReplayResult(
        original=original,
        replay=state.trace,
        answer=answer,
        divergence=state.divergence,
        error=None if state.divergence is not None else error,
        mode=mode,
        caveats=_caveats(state),
    )


def _check_end(state: ReplayState, answer: str | None) -> None:
    """After a clean run: every recorded call used, the same records, the same answer."""
    recorded = state.thinks
    if state.calls < len(recorded):
        missing = recorded[state.calls]
        state.diverge(
            Divergence(
                state.calls + 1,
                "missing_call",
                f"the agent stopped after {state.calls} model calls; the recording has "
                f"{len(recorded)}",
                unified(missing.messages[-1:], []),
                missing.run_id,
            )
        )
        return
    if state.trace is not None:
        divergence = _records_divergence(
            state, _agent_level(state.original.runs), _agent_level(state.trace.runs)
        )
        if divergence is not None:
            state.diverge(divergence)
            return
    expected = state.original.output
    if state.normalize.like(answer, expected) != expected:
        state.diverge(
            Divergence(state.calls, "answer", "the final answer differs", unified(expected, answer))
        )


def _agent_level(runs: list[RunRecord]) -> list[RunRecord]:
    """The records the agent itself writes: LLM calls and what they chose (records nested
    inside a tool are its internals, which recorded tools do not run)."""
    thinks = {r.run_id for r in runs if isinstance(r, ThinkRecord)}
    return [r for r in runs if r.parent_id is None or r.parent_id in thinks]


def _as_is(value: Any) -> Any:
    return value


def _shape(record: RunRecord, normalize: Callable[[Any], Any]) -> dict[str, Any]:
    """What must match between a recorded record and its replay."""
    shape: dict[str, Any] = {"kind": record.run_type, "name": record.name}
    if isinstance(record, ToolRecord):
        shape.update(tool=record.tool_name, arguments=normalize(record.input_params))
        shape["success"] = record.success
    elif isinstance(record, ThinkRecord):
        shape["tool_calls"] = normalize(record.tool_calls)
    return shape


def _records_divergence(
    state: ReplayState, recorded: list[RunRecord], replayed: list[RunRecord]
) -> Divergence | None:
    """The first record whose kind, tool, arguments or outcome differs, if any."""
    step = 0
    for index in range(max(len(recorded), len(replayed))):
        a = _shape(recorded[index], _as_is) if index < len(recorded) else None
        b = _shape(replayed[index], _as_is) if index < len(replayed) else None
        if a != b and b is not None:  # perhaps only in form: compare as stored
            b = _shape(replayed[index], state.normalize)
        source = recorded[index] if index < len(recorded) else replayed[index]
        if isinstance(source, ThinkRecord):
            step += 1
        if a != b:
            what = "record" if a is None or b is None else f"{a['kind']} record"
            return Divergence(
                max(step, 1),
                "records",
                f"{what} {index + 1} differs (recorded {len(recorded)} records, "
                f"replayed {len(replayed)})",
                unified(a, b),
                None if index >= len(recorded) else recorded[index].run_id,
            )
    return None


def _caveats(state: ReplayState) -> list[str]:
    """What this replay did not reproduce."""
    notes = list(ALWAYS_CAVEATS)
    if state.live_tool_names:
        notes.insert(
            0,
            f"side effects: tool(s) {', '.join(state.live_tool_names)} ran live, so their "
            "side effects happened again and their outputs may differ from the recording",
        )
    if state.handed_over:
        notes.insert(0, "handover: after the divergence the real model answered (continue-live)")
    for record in state.original.tool_records:
        output = record.output
        if isinstance(output, str) and (is_truncated(output) or REDACTED in output):
            notes.append(
                f"tool output of {record.tool_name} ({record.run_id}) was truncated or "
                "redacted in the recording and is replayed as stored"
            )
    return notes
