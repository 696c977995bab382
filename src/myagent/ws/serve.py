"""`myagent serve FILE.py|module:create_agent`: the WebSocket protocol and AG-UI in one process.

The agent WebSocket protocol listens on --port (default 8765); AG-UI (HTTP + server-sent
events, needs uvicorn) on --agui-port (default: the next port; -1 turns it off). Both
serve the same agent factory. Ctrl+C or SIGTERM stops both gracefully.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Iterator
from typing import Any

from myagent.ws.factory import AgentFactoryFunc, load_factory
from myagent.ws.server import AgentWebSocketServer

logger = logging.getLogger("myagent.ws")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register `myagent serve`'s arguments."""
    parser.add_argument(
        "target",
        help="FILE.py or module[:name] with a create_agent function or an agent object",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; any other address needs MYAGENT_SERVE_TOKEN)",
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="WebSocket port (default 8765; 0 = any free port)"
    )
    parser.add_argument(
        "--agui-port",
        type=int,
        default=None,
        help="AG-UI HTTP port (default: --port + 1, or any free port when --port is 0; -1 = off)",
    )
    parser.add_argument(
        "--reconnect-grace",
        type=float,
        default=60.0,
        help="seconds a disconnected session is kept for user.reconnect (default 60)",
    )
    parser.add_argument(
        "--max-sessions",
        type=int,
        default=10_000,
        help="sessions the WebSocket server holds at once, detached ones included "
        "(default 10000; 100 per connection)",
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=None,
        metavar="ORIGIN",
        help="a browser origin (https://app.example.com) allowed besides the server's own; "
        "repeatable (default: MYAGENT_ALLOWED_ORIGINS, comma-separated)",
    )
    parser.add_argument("--log-level", default="warning", help="logging level (default warning)")


def main(args: argparse.Namespace) -> int:
    """Run `myagent serve`; returns the exit status."""
    logging.basicConfig(level=str(args.log_level).upper())
    try:
        factory = load_factory(args.target)
    except Exception as exc:
        print(f"myagent serve: cannot load {args.target}: {exc}", file=sys.stderr)
        return 2
    agui_port = args.agui_port
    if agui_port is None:
        agui_port = 0 if args.port == 0 else args.port + 1
    try:
        asyncio.run(
            serve(
                factory,
                host=args.host,
                port=args.port,
                agui_port=None if agui_port < 0 else agui_port,
                reconnect_grace=args.reconnect_grace,
                allowed_origins=args.allow_origin,
                max_sessions=args.max_sessions,
            )
        )
    except OSError as exc:
        print(f"myagent serve: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a non-loopback address without MYAGENT_SERVE_TOKEN
        print(f"myagent serve: {exc}", file=sys.stderr)
        return 2
    return 0


async def serve(
    factory: AgentFactoryFunc,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    agui_port: int | None = None,
    reconnect_grace: float = 60.0,
    allowed_origins: list[str] | None = None,
    max_sessions: int = 10_000,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until `stop` is set (or SIGINT/SIGTERM): WebSocket on `port`, AG-UI on `agui_port`.

    `allowed_origins`: browser origins allowed besides the servers' own (None: the
    MYAGENT_ALLOWED_ORIGINS variable)."""
    stop = stop or asyncio.Event()
    server = AgentWebSocketServer(
        factory,
        host,
        port,
        reconnect_grace=reconnect_grace,
        allowed_origins=allowed_origins,
        max_sessions=max_sessions,
    )
    await server.start()
    print(f"myagent WebSocket protocol: ws://{host}:{server.port}", flush=True)
    agui: Any = None
    if agui_port is not None:
        agui = await _start_agui(server, host, agui_port)
    with _signals_set(stop):
        await stop.wait()
    if agui is not None:
        app, http, task = agui
        await app.stop()
        http.should_exit = True
        await asyncio.gather(task, return_exceptions=True)
    await server.stop()


async def _start_agui(server: AgentWebSocketServer, host: str, port: int) -> Any:
    try:
        import uvicorn
    except ImportError:
        print("AG-UI is off: it needs uvicorn (pip install 'myagent[ws]')", file=sys.stderr)
        return None

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # the serve loop handles signals
            yield

    sock = _bind(host, port)
    app = server.agui_app()
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    http = _Server(config)
    task = asyncio.create_task(http.serve(sockets=[sock]))
    while not http.started and not task.done():
        await asyncio.sleep(0.01)
    if task.done():
        sock.close()
        await server.stop()
        raise OSError(f"the AG-UI server could not start on {host}:{port}")
    bound = int(sock.getsockname()[1])
    print(f"myagent AG-UI (HTTP + SSE): http://{host}:{bound}/", flush=True)
    return app, http, task


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); OSError when the port is taken."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


@contextlib.contextmanager
def _signals_set(stop: asyncio.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set `stop` while inside the block."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            # no signal handlers here (Windows, or a loop outside the main thread): the
            # caller stops the servers by setting `stop` instead
            continue
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
