"""`myagent export TRACE_ID...`: stored traces as a JSON trace file (the viewer's export
format), e.g. to turn a production failure into a replay test."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from myagent.replay.source import traces_json, write_traces
from myagent.trace.config import storage_for
from myagent.trace.records import Trace


async def _load(db: str | None, trace_ids: list[str]) -> list[Trace]:
    storage = storage_for(db)
    try:
        traces = []
        for trace_id in trace_ids:
            trace = await storage.get_trace(trace_id)
            if trace is None:
                raise LookupError(f"no trace {trace_id!r} in {db or 'the trace database'}")
            traces.append(trace)
        return traces
    finally:
        await storage.close()


def _run(args: argparse.Namespace) -> int:
    try:
        traces = asyncio.run(_load(args.db, args.trace_ids))
    except LookupError as exc:
        print(f"myagent export: {exc}", file=sys.stderr)
        return 2
    if args.output in (None, "-"):
        sys.stdout.write(traces_json(traces))
    else:
        write_traces(args.output, traces)
        print(f"wrote {len(traces)} trace(s) to {args.output}", file=sys.stderr)
    return 0


def register(commands: Any) -> None:
    """Add the `export` subcommand."""
    from myagent.cli import add_db_argument

    export = commands.add_parser(
        "export", help="write stored traces as a JSON trace file (replayable, importable)"
    )
    export.add_argument("trace_ids", nargs="+", metavar="TRACE_ID")
    add_db_argument(export)
    export.add_argument("-o", "--output", default=None, help="file to write (default: stdout)")
    export.set_defaults(handler=_run)
