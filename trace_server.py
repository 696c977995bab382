"""Start the trace viewer: `python trace_server.py [--host 127.0.0.1] [--port 8080] [--db PATH]`.

Serves the traces in a SQLite file (TRACE_DATABASE_URL, default traces.db) at
http://127.0.0.1:8080; set TRACE_VIEWER_TOKEN to require a token (and to bind beyond
this machine).
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse the options and serve until interrupted."""
    try:
        from myagent.trace.viewer.server import add_arguments, serve
    except ImportError as exc:  # fastapi/uvicorn are the `viewer` extra
        print(f"the viewer needs its extra: pip install 'myagent[viewer]' ({exc})", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(description="myagent trace viewer")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        serve(args.host, args.port, args.db, log_level=args.log_level)
    except ValueError as exc:
        print(f"trace_server: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
