"""The earlier server command: `myagent-server server FILE.py [--host H] [--port N]`.

Also `python -m myagent.cli.server server FILE.py --port N`. It runs what
`myagent serve FILE.py` runs (the agent WebSocket protocol and AG-UI), with the earlier
defaults: port 8080, and `--debug` for debug logging. The file may hold a
`create_agent` factory or a ready `agent` (copied per session).
"""

from __future__ import annotations

import argparse
import sys

OLD_DEFAULT_PORT = 8080
"""The earlier command's default port."""


def build_parser() -> argparse.ArgumentParser:
    """`myagent-server` with its one subcommand, `server`."""
    from myagent.ws import serve as ws_serve

    parser = argparse.ArgumentParser(
        prog="myagent-server", description="serve an agent file (the earlier command)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    server = commands.add_parser("server", help="what `myagent serve FILE` runs")
    ws_serve.add_arguments(server)
    server.add_argument("--debug", action="store_true", help="log at debug level")
    server.set_defaults(port=OLD_DEFAULT_PORT)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `myagent-server server ...`; returns the exit status."""
    from myagent.ws import serve as ws_serve

    args = build_parser().parse_args(argv)
    if args.debug:
        args.log_level = "debug"
    return ws_serve.main(args)


if __name__ == "__main__":
    sys.exit(main())
