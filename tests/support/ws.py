"""Real agent WebSocket servers on 127.0.0.1 for tests, a small protocol client, and agents.

The agents use the offline ScriptedLLM (no real model is called).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from websockets.asyncio.client import ClientConnection, connect

from myagent.agent.factory import create_toolcall_agent
from myagent.agent.toolcall import ToolCallAgent
from myagent.llm import ScriptedLLM, ScriptStep
from myagent.tool import BaseTool, ToolResult
from myagent.ws.server import AgentWebSocketServer

RECV_TIMEOUT = 10.0


class WeatherTool(BaseTool):
    """Weather for a place (canned)."""

    name: str = "get_weather"
    description: str = "Get the current weather for a location"
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    }

    async def execute(self, location: str) -> ToolResult:
        return ToolResult(output=f"Sunny, 72F in {location}", system="canned weather")


class DeleteFileTool(BaseTool):
    """A tool that needs the user's confirmation."""

    name: str = "delete_file"
    description: str = "Delete a file"
    user_confirm: bool = True
    deleted: ClassVar[list[str]] = []

    async def execute(self, path: str) -> ToolResult:
        DeleteFileTool.deleted.append(path)
        return ToolResult(output=f"deleted {path}")


class Gate:
    """An asyncio.Event the blocking tool waits on; tests open it or leave it shut."""

    event: ClassVar[asyncio.Event | None] = None
    entered: ClassVar[asyncio.Event | None] = None

    @classmethod
    def reset(cls) -> None:
        cls.event = asyncio.Event()
        cls.entered = asyncio.Event()


class WaitTool(BaseTool):
    """Blocks until the test opens the gate (for cancel, disconnect and busy tests)."""

    name: str = "wait_for_gate"
    description: str = "Wait"

    async def execute(self) -> ToolResult:
        assert Gate.event is not None and Gate.entered is not None
        Gate.entered.set()
        await Gate.event.wait()
        return ToolResult(output="gate opened")


def weather_script(place: str = "NYC") -> list[ScriptStep]:
    """One tool call, then an answer."""
    return [[("get_weather", {"location": place})], f"It is sunny in {place}."]


def make_factory(
    *scripts: Sequence[ScriptStep], name: str = "weather-agent", **options: Any
) -> Callable[[], ToolCallAgent]:
    """A create_agent whose agents replay `scripts` one after another (one script per run)."""

    def create_agent() -> ToolCallAgent:
        steps: list[ScriptStep] = [step for script in scripts for step in script]
        return create_toolcall_agent(
            name,
            [WeatherTool(), DeleteFileTool(), WaitTool()],
            llm=ScriptedLLM(steps),
            **options,
        )

    return create_agent


class WsClient:
    """A protocol client over a real `websockets` connection."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.connected: dict[str, Any] = {}
        self.reconnect_tokens: dict[str, str] = {}
        """The secret `agent.session_created` gave for each session this client made."""

    @classmethod
    async def open(cls, url: str, **options: Any) -> WsClient:
        options.setdefault("proxy", None)  # no proxy look-up: the server is on 127.0.0.1
        client = cls(await connect(url, **options))
        client.connected = await client.recv()
        assert client.connected["event"] == "system.connected"
        return client

    async def send(self, frame: dict[str, Any] | str | bytes) -> None:
        await self.connection.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    async def recv(self, timeout: float = RECV_TIMEOUT, heartbeats: bool = False) -> dict[str, Any]:
        """The next frame (heartbeats skipped unless asked for)."""
        while True:
            frame: dict[str, Any] = json.loads(
                await asyncio.wait_for(self.connection.recv(), timeout)
            )
            if heartbeats or frame["event"] != "system.heartbeat":
                return frame

    async def recv_until(self, *events: str, timeout: float = RECV_TIMEOUT) -> list[dict[str, Any]]:
        """Frames up to and including the first one whose event is in `events`."""
        frames: list[dict[str, Any]] = []
        while True:
            frame = await self.recv(timeout)
            frames.append(frame)
            if frame["event"] in events:
                return frames

    async def create_session(self, **extra: Any) -> str:
        await self.send({"event": "user.create_session", **extra})
        frame = await self.recv()
        assert frame["event"] == "agent.session_created", frame
        session_id: str = frame["session_id"]
        self.reconnect_tokens[session_id] = frame["metadata"]["reconnect_token"]
        return session_id

    async def reconnect(self, session_id: str, token: str | None) -> dict[str, Any]:
        """Send `user.reconnect` presenting `token` (None: the old form, without one)."""
        frame: dict[str, Any] = {"event": "user.reconnect", "session_id": session_id}
        if token is not None:
            frame["metadata"] = {"reconnect_token": token}
        await self.send(frame)
        return await self.recv()

    async def message(self, session_id: str, text: str) -> None:
        await self.send({"event": "user.message", "session_id": session_id, "content": text})

    async def ask(self, session_id: str, text: str) -> list[dict[str, Any]]:
        """Send a message and collect the run's frames up to its final answer or error."""
        await self.message(session_id, text)
        return await self.recv_until("agent.final_answer", "agent.error")

    async def close(self) -> None:
        await self.connection.close()


async def start_server(create_agent: Callable[..., Any], **options: Any) -> AgentWebSocketServer:
    """A started server on a free port of 127.0.0.1."""
    options.setdefault("heartbeat_interval", None)
    server = AgentWebSocketServer(create_agent, "127.0.0.1", 0, **options)
    await server.start()
    return server


class AguiTestServer:
    """An AG-UI ASGI app served by uvicorn on a free port of 127.0.0.1, in this event loop."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.url = ""
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> AguiTestServer:
        import socket

        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sock.setblocking(False)
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._server.capture_signals = _no_signals
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            assert not self._task.done(), "uvicorn did not start"
            await asyncio.sleep(0.01)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        return self

    async def stop(self) -> None:
        await self.app.stop()
        self._server.should_exit = True
        if self._task is not None:
            await asyncio.wait_for(self._task, 10)


class _NoSignals:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _no_signals() -> _NoSignals:
    return _NoSignals()
