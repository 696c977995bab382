"""`Cassette`: one test's recorded runs. Recording (`--myagent-record DIR`), `run` runs
the agent for real (the plugin writes its traces to the cassette file); otherwise `run`
replays the recorded run with the same input from the file, offline, and fails the test
with the divergence diff when the agent no longer does what was recorded."""

from __future__ import annotations

import inspect
import threading
from pathlib import Path
from typing import Any

from myagent.replay.runner import AgentFactory, replay
from myagent.replay.source import read_traces, recorded_input
from myagent.testing.assertions import run_coroutine
from myagent.trace.records import Trace
from myagent.trace.storage.base import TraceStorage


class TraceCollector(TraceStorage):
    """A sink keeping every finished trace it receives (the plugin's recorder)."""

    def __init__(self) -> None:
        self.traces: list[Trace] = []
        self._lock = threading.Lock()

    async def store_trace(self, trace: Trace) -> None:
        with self._lock:
            self.traces.append(trace)


class Cassette:
    """The recorded runs of one test, at `path`; `recording` says which mode it is in."""

    def __init__(self, path: Path, recording: bool) -> None:
        self.path = path
        self.recording = recording
        self._traces: list[Trace] | None = None

    def __repr__(self) -> str:
        return f"Cassette({str(self.path)!r}, {'recording' if self.recording else 'replaying'})"

    def _next(self, text: str) -> Trace:
        if self._traces is None:
            if not self.path.is_file():
                raise AssertionError(
                    f"no cassette at {self.path}: record it once with --myagent-record "
                    f"{self.path.parent} (against a real model)"
                )
            self._traces = read_traces(self.path)
        for index, trace in enumerate(self._traces):
            if recorded_input(trace) == text:
                return self._traces.pop(index)
        raise AssertionError(f"{self.path} holds no (further) recorded run for input {text!r}")

    async def arun(self, agent_factory: AgentFactory, text: str) -> str:
        """The agent's answer to `text`: live when recording, else the replay's."""
        __tracebackhide__ = True
        if self.recording:
            agent = agent_factory()
            if inspect.isawaitable(agent):
                agent = await agent
            answer: str = await agent.run(text)
            return answer
        result = await replay(self._next(text), agent_factory)
        if not result.ok:
            raise AssertionError(result.report())
        return result.answer or ""

    def run(self, agent_factory: AgentFactory, text: str) -> Any:
        """`arun` from sync code (a plain or an async test)."""
        __tracebackhide__ = True
        return run_coroutine(self.arun(agent_factory, text))
