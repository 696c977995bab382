"""`myagent viewer`: serve the web trace viewer over a trace database."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _run(args: argparse.Namespace) -> int:
    from myagent.trace.viewer.server import serve

    try:
        serve(
            args.host,
            args.port,
            args.db,
            log_level=args.log_level,
            otlp_in_process=args.otlp_in_process,
        )
    except ValueError as exc:
        print(f"myagent viewer: {exc}", file=sys.stderr)
        return 2
    return 0


def register(commands: Any) -> None:
    """Add the `viewer` subcommand."""
    from myagent.cli import missing_extra

    viewer = commands.add_parser("viewer", help="serve the web trace viewer over a trace database")
    try:
        from myagent.trace.viewer.server import add_arguments
    except ImportError:  # the viewer extra is not installed: keep the command, explain on use
        viewer.set_defaults(handler=missing_extra("viewer"))
    else:
        add_arguments(viewer)
        viewer.add_argument(
            "--otlp-in-process",
            action="store_true",
            help="receive POST /v1/traces in the viewer's own process (default: a child "
            "process, so ingest never slows the pages)",
        )
        viewer.set_defaults(handler=_run)
