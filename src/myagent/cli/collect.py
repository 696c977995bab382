"""`myagent collect`: receive OTLP/HTTP traces (any OpenTelemetry SDK, the OpenAI Agents
SDK, LangChain via OpenInference) into a trace database, without the viewer."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _run(args: argparse.Namespace) -> int:
    from myagent.trace.viewer.collector import serve_collector

    try:
        serve_collector(args.host, args.port, args.db, log_level=args.log_level)
    except ValueError as exc:
        print(f"myagent collect: {exc}", file=sys.stderr)
        return 2
    return 0


def register(commands: Any) -> None:
    """Add the `collect` subcommand."""
    from myagent.cli import missing_extra

    collect = commands.add_parser(
        "collect", help="receive OTLP/HTTP traces into a trace database (port 4318)"
    )
    try:
        from myagent.trace.viewer.collector import DEFAULT_PORT
        from myagent.trace.viewer.server import add_arguments
    except ImportError:  # the ingest extra is missing: keep the command, explain on use
        collect.set_defaults(handler=missing_extra("ingest"))
    else:
        add_arguments(collect)
        for action in collect._actions:
            if action.dest == "port":
                action.default, action.help = (
                    DEFAULT_PORT,
                    f"port (default {DEFAULT_PORT}, OTLP/HTTP)",
                )
        collect.set_defaults(handler=_run)
