"""`myagent serve`: serve an agent over the WebSocket protocol and AG-UI (HTTP + SSE)."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    """Add the `serve` subcommand."""
    from myagent.ws import serve as ws_serve

    serve = commands.add_parser(
        "serve", help="serve an agent over the WebSocket protocol and AG-UI (HTTP + SSE)"
    )
    ws_serve.add_arguments(serve)
    serve.set_defaults(handler=ws_serve.main)
