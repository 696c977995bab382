"""Agents over the network: the agent WebSocket protocol, and AG-UI over HTTP (`myagent.ws.agui`).

`AgentWebSocketServer(create_agent)` serves a fresh agent per session; see
docs/ws-protocol.md for the events.
"""

from myagent.ws.agui import AguiApp
from myagent.ws.protocol import AgentEvents, ErrorCode, SystemEvents, UserEvents
from myagent.ws.server import AgentWebSocketServer

__all__ = [
    "AgentEvents",
    "AgentWebSocketServer",
    "AguiApp",
    "ErrorCode",
    "SystemEvents",
    "UserEvents",
]
