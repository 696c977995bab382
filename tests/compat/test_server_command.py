"""Item 8: the earlier server command, `python -m myagent.cli.server server FILE --port N`
and the `myagent-server` console script, run what `myagent serve FILE` runs."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import textwrap
import tomllib
from importlib import import_module
from pathlib import Path

from myagent.cli import server as old_cli
from myagent.trace import SQLiteTraceStorage
from tests.support.openai_server import OpenAITestServer
from tests.support.ws import WsClient

ROOT = Path(__file__).resolve().parents[2]

AGENT_FILE = textwrap.dedent(
    """
    from typing import ClassVar

    from myagent import create_react_agent
    from myagent.tool.base_tool import BaseTool, ToolResult


    class WeatherTool(BaseTool):
        name: str = "get_weather"
        description: str = "Get the weather"
        parameters: ClassVar[dict] = {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        }

        async def execute(self, city: str) -> ToolResult:
            return ToolResult(output=f"{city}: sunny")


    agent = create_react_agent(name="old-served-agent", tools=[WeatherTool()])
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_console_script_is_declared_and_defaults_to_port_8080() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, name = scripts["myagent-server"].partition(":")
    assert getattr(import_module(module), name) is old_cli.main
    args = old_cli.build_parser().parse_args(["server", "agent.py"])
    assert (args.target, args.port, args.host) == ("agent.py", 8080, "127.0.0.1")


async def test_python_m_myagent_cli_server_serves_an_old_agent_file(
    openai_server: OpenAITestServer, tmp_path: Path
) -> None:
    (tmp_path / "weather_agent.py").write_text(AGENT_FILE)
    openai_server.enqueue(None, tool_calls=[("get_weather", {"city": "Paris"})])
    openai_server.enqueue("Sunny in Paris.")
    port = free_port()
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "OPENAI_BASE_URL": openai_server.base_url,
        "OPENAI_API_KEY": "sk-old",
        "TRACE_STORAGE": "sqlite",
        "TRACE_DATABASE_URL": f"sqlite:///{tmp_path / 'traces.db'}",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "myagent.cli.server", "server", str(tmp_path / "weather_agent.py")),
        *("--port", str(port), "--agui-port", "-1"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environ,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert f"ws://127.0.0.1:{port}" in line, line
        client = await WsClient.open(f"ws://127.0.0.1:{port}")
        session = await client.create_session()
        frames = await client.ask(session, "Weather in Paris?")
        await client.connection.close()
        assert frames[-1]["event"] == "agent.final_answer"
        assert frames[-1]["content"] == "Sunny in Paris."
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    (trace,) = SQLiteTraceStorage(tmp_path / "traces.db").query_traces_sync()
    assert trace.agent_name == "old-served-agent"
    assert [r.run_type for r in trace.runs] == ["think", "tool", "think"]
