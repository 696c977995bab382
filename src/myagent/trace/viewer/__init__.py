"""The web trace viewer: a FastAPI app (JSON API, live feed) serving a built TypeScript UI.

`await start_trace_viewer(port=8080)` serves this process's traces; `python
trace_server.py` or `myagent viewer` serve a trace database.
"""

from myagent.trace.viewer.app import create_app
from myagent.trace.viewer.server import serve, start_trace_viewer
from myagent.trace.viewer.settings import ViewerSettings

__all__ = ["ViewerSettings", "create_app", "serve", "start_trace_viewer"]
