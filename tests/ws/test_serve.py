"""`myagent serve` as a real process: WebSocket protocol and AG-UI from one command."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from myagent.trace import SQLiteTraceStorage, TraceFilter
from tests.support.ws import WsClient

FACTORY_FILE = """
from myagent import create_toolcall_agent
from myagent.llm import ScriptedLLM

def create_agent():
    return create_toolcall_agent("served-agent", [], llm=ScriptedLLM(["served answer"]))
"""

AGENT_FILE = """
from myagent import create_toolcall_agent
from myagent.llm import ScriptedLLM

agent = create_toolcall_agent("shared-agent", [], llm=ScriptedLLM())
"""


class Served:
    """A running `myagent serve` process and the addresses it printed."""

    def __init__(self, process: asyncio.subprocess.Process, ws: str, agui: str | None) -> None:
        """`ws` and `agui` are the printed addresses (AG-UI None when off)."""
        self.process = process
        self.ws = ws
        self.agui = agui


async def start_serve(tmp_path: Path, started: list[Served], *args: str) -> Served:
    """Start `myagent serve ARGS --port 0`; it is in `started` (killed at teardown) at once."""
    environ = {
        **os.environ,
        "TRACE_STORAGE": "sqlite",
        "TRACE_DATABASE_URL": f"sqlite:///{tmp_path / 'traces.db'}",
        # this tree's sources first (not the editable install of another checkout)
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).resolve().parents[2] / "src"), str(tmp_path), os.getcwd()]
        ),
    }
    environ.pop("OPENAI_API_KEY", None)
    environ.pop("OPENAI_BASE_URL", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "myagent.cli",
        "serve",
        *args,
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environ,
    )
    served = Served(process, "", None)
    started.append(served)
    assert process.stdout is not None
    ws = agui = None
    want_agui = "-1" not in args
    while ws is None or (want_agui and agui is None):
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        if not line:
            assert process.stderr is not None
            raise AssertionError((await process.stderr.read()).decode())
        if match := re.search(r"(ws://\S+)", line):
            ws = match.group(1)
        if match := re.search(r"(http://\S+)", line):
            agui = match.group(1)
    served.ws, served.agui = ws, agui
    return served


@pytest.fixture
async def served_processes() -> AsyncIterator[list[Served]]:
    processes: list[Served] = []
    yield processes
    for served in processes:
        if served.process.returncode is None:
            served.process.kill()
            await served.process.wait()


async def agui_answer(url: str, thread_id: str, text: str) -> list[dict[str, Any]]:
    body = {
        "threadId": thread_id,
        "runId": "client-run",
        "messages": [{"id": "m1", "role": "user", "content": text}],
    }
    frames = []
    async with httpx.AsyncClient(timeout=15) as client:
        async with client.stream("POST", url, json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    frames.append(json.loads(line[6:]))
    return frames


async def test_serve_a_file_over_websocket_and_agui_then_stop_on_sigterm(
    tmp_path: Path, served_processes: list[Served]
) -> None:
    (tmp_path / "weather_agent.py").write_text(textwrap.dedent(FACTORY_FILE))
    served = await start_serve(tmp_path, served_processes, str(tmp_path / "weather_agent.py"))

    client = await WsClient.open(served.ws)
    session_id = await client.create_session()
    frames = await client.ask(session_id, "hello")
    assert frames[-1]["content"] == "served answer"
    await client.close()

    assert served.agui is not None
    agui = await agui_answer(served.agui, "agui-thread", "hello")
    assert agui[0]["type"] == "RUN_STARTED" and agui[-1]["type"] == "RUN_FINISHED"
    assert agui[-1]["result"] == "served answer"

    served.process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(served.process.wait(), 20) == 0

    storage = SQLiteTraceStorage(tmp_path / "traces.db")
    try:
        ws_traces = await storage.query_traces(TraceFilter(session_ids=[session_id]))
        agui_traces = await storage.query_traces(TraceFilter(session_ids=["agui-thread"]))
    finally:
        await storage.close()
    assert [t.trace_id for t in ws_traces] == [frames[-1]["trace_id"]]
    assert [t.trace_id for t in agui_traces] == [agui[0]["runId"]]


async def test_serve_a_module_level_agent_gives_each_session_its_own_copy(
    tmp_path: Path, served_processes: list[Served]
) -> None:
    (tmp_path / "shared_agent.py").write_text(textwrap.dedent(AGENT_FILE))
    served = await start_serve(tmp_path, served_processes, "shared_agent", "--agui-port", "-1")
    assert served.agui is None
    client = await WsClient.open(served.ws)
    first = await client.create_session()
    second = await client.create_session()
    one = await client.ask(first, "apples")
    two = await client.ask(second, "pears")
    assert "apples" in one[-1]["content"] and "pears" in two[-1]["content"]
    await client.close()
    served.process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(served.process.wait(), 20) == 0
    storage = SQLiteTraceStorage(tmp_path / "traces.db")
    try:
        (trace,) = await storage.query_traces(TraceFilter(session_ids=[second]))
    finally:
        await storage.close()
    prompt = trace.think_records[0].messages
    assert [m["content"] for m in prompt if m["role"] == "user"] == ["pears"]


async def test_serve_module_colon_factory(tmp_path: Path, served_processes: list[Served]) -> None:
    (tmp_path / "agents_mod.py").write_text(textwrap.dedent(FACTORY_FILE))
    served = await start_serve(tmp_path, served_processes, "agents_mod:create_agent")
    client = await WsClient.open(served.ws)
    session_id = await client.create_session()
    assert (await client.ask(session_id, "hi"))[-1]["content"] == "served answer"
    await client.close()
    served.process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(served.process.wait(), 20) == 0


async def test_serve_a_target_without_an_agent_exits_with_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty.py").write_text("x = 1\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "myagent.cli",
        "serve",
        str(tmp_path / "empty.py"),
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"create_agent" in stderr


async def test_serve_on_a_public_address_without_a_token_exits_with_an_error(
    tmp_path: Path,
) -> None:
    (tmp_path / "agent_file.py").write_text(textwrap.dedent(FACTORY_FILE))
    env = {k: v for k, v in os.environ.items() if k != "MYAGENT_SERVE_TOKEN"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "myagent.cli",
        "serve",
        str(tmp_path / "agent_file.py"),
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"MYAGENT_SERVE_TOKEN" in stderr
