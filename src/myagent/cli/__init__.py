"""The `myagent` command: one argparse subcommand per module of this package.

Each module named in `COMMANDS` has `register(commands)`, which adds its subparser and
sets `handler` to a function taking the parsed arguments and returning an exit status.
A new command is a new module plus its name here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

Handler = Callable[[argparse.Namespace], int]

COMMANDS: tuple[str, ...] = (
    "viewer",
    "serve",
    "collect",
    "eval",
    "dataset",
    "replay",
    "export",
)
"""Modules of `myagent.cli` that each register one subcommand, in help order."""


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="myagent", description="myagent command-line tools")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(commands)
    return parser


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    """The `--db` option of commands that read a trace database."""
    parser.add_argument(
        "--db",
        default=None,
        help="trace database path or URL (default: TRACE_DATABASE_URL, else traces.db)",
    )


def missing_extra(extra: str) -> Handler:
    """A handler for a command whose optional extra is not installed: says what to install."""

    def handler(args: argparse.Namespace) -> int:
        print(f"this command needs: pip install 'myagent[{extra}]'", file=sys.stderr)
        return 2

    return handler


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand and return its exit status."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)
