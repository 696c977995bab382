"""A real trace viewer on 127.0.0.1 (uvicorn in a thread) and realistic traces to show.

Traces are written with TraceManager into a real SQLite file, the way an agent writes them.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from myagent.trace import SQLiteTraceStorage, ThinkRecord, ToolRecord, TraceManager
from myagent.trace.records import StepRecord, Trace
from myagent.trace.storage.base import TraceStorage
from myagent.trace.viewer import ViewerSettings, create_app

XSS_OUTPUT = (
    "Result: <script>window.__xss = 'script'</script> and "
    "<img src=x onerror=\"window.__xss = 'img'\"> end"
)
"""A tool output that would set window.__xss if the viewer ever rendered it as HTML."""

WRITE_HEADERS = {"x-myagent-request": "1", "content-type": "application/json"}
"""What the viewer's write guard requires of a state-changing API request (the UI sends it)."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ViewerTestServer:
    """The viewer app served by uvicorn on 127.0.0.1 from a background thread."""

    def __init__(
        self,
        storage: TraceStorage | None = None,
        *,
        manager: TraceManager | None = None,
        token: str | None = None,
        **settings: Any,
    ) -> None:
        self.settings = ViewerSettings(token=token, **settings)
        self.app = create_app(storage, manager=manager, settings=self.settings)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ViewerTestServer:
        """Serve, returning once the port accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("viewer test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Shut down and wait for the thread."""
        self.server.should_exit = True
        self._thread.join(10)


@dataclass
class Seeded:
    """Ids of the traces `seed_traces` wrote, by role."""

    weather: list[str] = field(default_factory=list)
    failing: str = ""
    xss: str = ""
    big: str = ""
    all: list[str] = field(default_factory=list)


def write_agent_trace(
    manager: TraceManager,
    *,
    agent: str,
    question: str,
    tool: str,
    params: dict[str, Any],
    output: Any,
    answer: str,
    model: str = "gpt-4o-mini",
    tokens: int = 120,
    cost: float | None = 0.0002,
    session: str | None = None,
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    tool_error: str | None = None,
    fail: bool = False,
    pace: float = 0.0,
) -> str:
    """One agent run: think (chooses the tool), tool call, think (answers); `pace`
    seconds of (real) work per step make the timeline look like a real run."""
    with manager.trace(
        agent, agent_name=agent, input=question, session_id=session, tags=tags, metadata=metadata
    ) as trace:
        call = {"id": "call_1", "name": tool, "arguments": params}
        think = manager.start_run(
            ThinkRecord,
            "think",
            agent_name=agent,
            input=question,
            model=model,
            system_prompts=["You are a helpful agent."],
            messages=[{"role": "user", "content": question}],
        )
        time.sleep(pace * 3)
        manager.end_run(
            think,
            llm_response=f"I will call {tool}.",
            tool_calls=[call],
            prompt_tokens=tokens // 2,
            completion_tokens=tokens // 4,
            tokens_used=tokens * 3 // 4,
            cost_usd=None if cost is None else cost / 2,
        )
        run = manager.start_run(
            ToolRecord,
            tool,
            parent=think,
            tool_name=tool,
            tool_call_id="call_1",
            input_params=params,
        )
        time.sleep(pace * 2)
        if tool_error:
            try:
                raise RuntimeError(tool_error)
            except RuntimeError as exc:
                manager.end_run(run, error=exc)
        else:
            manager.end_run(run, output=output)
        final = manager.start_run(
            ThinkRecord,
            "think",
            agent_name=agent,
            model=model,
            messages=[
                {"role": "user", "content": question},
                {"role": "tool", "tool_call_id": "call_1", "content": str(output)},
            ],
        )
        time.sleep(pace * 2)
        manager.end_run(
            final,
            llm_response=answer,
            prompt_tokens=tokens // 4,
            completion_tokens=tokens - tokens * 3 // 4 - tokens // 4,
            tokens_used=tokens - tokens * 3 // 4,
            cost_usd=None if cost is None else cost / 2,
        )
        trace.output = answer
        if fail:
            raise ValueError("agent gave up")
    return trace.trace_id


def seed_traces(path: Path, *, big_output_chars: int = 0, pace: float = 0.0) -> Seeded:
    """Write a small, varied set of traces into the SQLite file at `path`."""
    manager = TraceManager(SQLiteTraceStorage(path))
    seeded = Seeded()
    try:
        for i, city in enumerate(["Paris", "Tokyo", "Lima"]):
            tid = write_agent_trace(
                manager,
                agent="weather_agent",
                question=f"What is the weather in {city}?",
                tool="get_weather",
                params={"city": city},
                output={"city": city, "temp_c": 20 + i},
                pace=pace,
                answer=f"It is {20 + i} degrees in {city}.",
                tokens=100 + 50 * i,
                session="session-1",
                tags=["prod"] if i != 1 else ["dev"],
                metadata={"user": f"u{i}", "attempt": i},
            )
            seeded.weather.append(tid)
        with contextlib.suppress(ValueError):
            write_agent_trace(
                manager,
                agent="math_agent",
                question="Divide 1 by 0",
                tool="calculator",
                params={"expression": "1/0"},
                output=None,
                pace=pace,
                answer="I could not compute it.",
                model="gpt-4o",
                tokens=300,
                cost=0.01,
                tool_error="division by zero",
                fail=True,
            )
        seeded.failing = manager.query_traces(limit=1)[0].trace_id
        seeded.xss = write_agent_trace(
            manager,
            agent="web_agent",
            question="Fetch the page",
            tool="fetch_page",
            params={"url": "http://example.test/<b>"},
            output=XSS_OUTPUT,
            pace=pace,
            answer="The page says **hello** <img src=x onerror=\"window.__xss='md'\">",
            tokens=80,
        )
        if big_output_chars:
            seeded.big = write_agent_trace(
                manager,
                agent="file_agent",
                question="Read the big file",
                tool="read_file",
                params={"path": "/data/big.txt"},
                output="x" * big_output_chars,
                pace=pace,
                answer="The file is big.",
            )
        manager.flush()
        seeded.all = [t.trace_id for t in manager.query_traces(order_by="start_time")]
    finally:
        manager.close()
    return seeded


REPORT_TABLE = "| city | temp |\n| --- | --- |\n| Paris | 20 |\n| Lima | 22 |"
"""A GFM table the long run's final answer holds (rendered as a table, not as pipes)."""


def seed_long_run(path: Path, *, steps: int = 100) -> str:
    """One trace named differently from its agent: `steps` iterations of a step holding an
    LLM call and a tool call (3 records each), prompts that grow as a chat (system, user,
    assistant with tool calls, tool results), and a final answer with a Markdown table."""
    manager = TraceManager(SQLiteTraceStorage(path))
    try:
        with manager.trace(
            "nightly-report", agent_name="report_agent", input="Write the **nightly** report"
        ) as trace:
            messages: list[dict[str, Any]] = [
                {"role": "system", "content": "You write reports."},
                {"role": "user", "content": "Write the **nightly** report"},
            ]
            for i in range(steps):
                step = manager.start_run(StepRecord, f"iteration {i}")
                think = manager.start_run(
                    ThinkRecord,
                    "think",
                    parent=step,
                    agent_name="report_agent",
                    model="gpt-4o",
                    messages=list(messages),
                )
                call = {"id": f"call_{i}", "name": "lookup", "arguments": {"row": i}}
                manager.end_run(
                    think,
                    llm_response=f"Looking up row {i}.",
                    tool_calls=[call],
                    prompt_tokens=1000 + i,
                    completion_tokens=20,
                    tokens_used=1020 + i,
                )
                tool = manager.start_run(
                    ToolRecord, "lookup", parent=step, tool_name="lookup",
                    tool_call_id=f"call_{i}", input_params={"row": i},
                )  # fmt: skip
                manager.end_run(tool, output=f"row {i}: value-{i * 7}")
                manager.end_run(step, output=f"done {i}")
                messages += [
                    {"role": "assistant", "content": None, "tool_calls": [call]},
                    {"role": "tool", "tool_call_id": f"call_{i}", "content": f"value-{i * 7}"},
                ]
            final = manager.start_run(
                ThinkRecord, "think", agent_name="report_agent", model="gpt-4o", messages=messages
            )
            manager.end_run(final, llm_response=f"Here is the report:\n\n{REPORT_TABLE}")
            trace.output = f"Here is the report:\n\n{REPORT_TABLE}"
        manager.flush()
        return trace.trace_id
    finally:
        manager.close()


def failing_trace(n: int, agent: str, city: str, *, propagate: bool) -> Trace:
    """An LLM call failing on `city`; with `propagate` the exception also fails its step
    and the trace (the same failure, passed up); a tool failing apart."""
    tid = f"{n:032x}"
    t = Trace(trace_id=tid, name=f"run {n}", agent_name=agent, status="success")
    t.start_us, t.end_us = 1_000_000 * n, 1_000_000 * n + 500
    message = f"ValueError: unknown city '{city}' (attempt {n})"
    step = StepRecord(trace_id=tid, run_id=f"{n:08x}00000001", name="plan")
    think = ThinkRecord(trace_id=tid, run_id=f"{n:08x}00000002", name="think", model="m")
    think.parent_id = step.run_id
    tool = ToolRecord(trace_id=tid, run_id=f"{n:08x}00000003", name="t", tool_name="lookup")
    for run in (step, think, tool):
        run.start_us, run.end_us = t.start_us + 1, t.start_us + 100
    think.success, think.error, think.error_type = False, message, "ValueError"
    tool.success, tool.error, tool.error_type = False, "TimeoutError: after 30 s", "TimeoutError"
    if propagate:
        step.success, step.error, step.error_type = False, message, "ValueError"
        t.status, t.error = "error", message
    t.runs += [step, think, tool]
    return t


def write_planned_run(manager: TraceManager, cities: list[str], id_prefix: str) -> str:
    """A run that asks for the weather of each city in turn: per city an LLM call choosing
    the tool (call id `{id_prefix}{n}`) and the tool call; then the answer. Two runs with
    other id prefixes differ only in their generated call ids."""
    with manager.trace("planner", agent_name="planner", input="Weather, please") as trace:
        messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather, please"}]
        for n, city in enumerate(cities):
            call = {"id": f"{id_prefix}{n}", "name": "get_weather", "arguments": {"city": city}}
            think = manager.start_run(ThinkRecord, "think", model="m", messages=list(messages))
            manager.end_run(think, llm_response=f"Checking {city}.", tool_calls=[call])
            tool = manager.start_run(
                ToolRecord, "get_weather", parent=think, tool_name="get_weather",
                tool_call_id=call["id"], input_params={"city": city},
            )  # fmt: skip
            manager.end_run(tool, output={"city": city, "temp_c": 20})
            messages += [
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": call["id"], "content": f"{city}: 20"},
            ]
        final = manager.start_run(ThinkRecord, "think", model="m", messages=messages)
        manager.end_run(final, llm_response="It is 20 degrees everywhere.")
        trace.output = "It is 20 degrees everywhere."
    return trace.trace_id


def planted_trace_file(agent: str = "planted_agent") -> bytes:
    """A valid one-trace import file (a real trace's `to_dict`), as an attacker would plant."""
    import orjson

    from myagent.trace import InMemoryTraceStorage

    manager = TraceManager(InMemoryTraceStorage())
    try:
        with manager.trace("planted", agent_name=agent, input="planted input") as trace:
            pass
        return orjson.dumps({"traces": [trace.to_dict()]})
    finally:
        manager.close(timeout=5)
