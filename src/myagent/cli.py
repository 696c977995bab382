"""The `myagent` command: one argparse subcommand per tool (`myagent viewer ...`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

Handler = Callable[[argparse.Namespace], int]


def _viewer(args: argparse.Namespace) -> int:
    from myagent.trace.viewer.server import serve

    try:
        serve(args.host, args.port, args.db, log_level=args.log_level)
    except ValueError as exc:
        print(f"myagent viewer: {exc}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="myagent", description="myagent command-line tools")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    viewer = commands.add_parser("viewer", help="serve the web trace viewer over a trace database")
    try:
        from myagent.trace.viewer.server import add_arguments
    except ImportError:  # the viewer extra is not installed: keep the command, explain on use
        viewer.set_defaults(handler=_missing_extra("viewer"))
    else:
        add_arguments(viewer)
        viewer.set_defaults(handler=_viewer)
    from myagent.ws import serve as ws_serve

    serve = commands.add_parser(
        "serve", help="serve an agent over the WebSocket protocol and AG-UI (HTTP + SSE)"
    )
    ws_serve.add_arguments(serve)
    serve.set_defaults(handler=ws_serve.main)
    return parser


def _missing_extra(extra: str) -> Handler:
    def handler(args: argparse.Namespace) -> int:
        print(f"this command needs: pip install 'myagent[{extra}]'", file=sys.stderr)
        return 2

    return handler


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand and return its exit status."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
