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
