"""`myagent export [TRACE_ID...]`: stored traces as a JSON trace file (the viewer's export
format), e.g. to turn a production failure, or a whole set of runs, into replay tests.
Without ids, the filter options choose the traces (newest first, `--limit`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from myagent.replay.source import traces_json, write_traces
from myagent.trace.config import storage_for
from myagent.trace.filters import TraceFilter
from myagent.trace.records import Trace


def _filter(args: argparse.Namespace) -> TraceFilter | None:
    """The trace filter the options describe, or None when none was given."""
    chosen = TraceFilter(
        agent_names=args.agent_name or None,
        tags=args.tag or None,
        statuses=args.status or None,
        has_errors=True if args.errors else None,
    )
    return chosen if chosen != TraceFilter() else None


async def _load(args: argparse.Namespace) -> list[Trace]:
    storage = storage_for(args.db)
    try:
        if not args.trace_ids:
            chosen = _filter(args)
            if chosen is None:
                raise LookupError("name trace ids, or choose traces with --agent-name/--tag/...")
            return await storage.query_traces(chosen, limit=args.limit)
        traces = []
        for trace_id in args.trace_ids:
            trace = await storage.get_trace(trace_id)
            if trace is None:
                raise LookupError(f"no trace {trace_id!r} in {args.db or 'the trace database'}")
            traces.append(trace)
        return traces
    finally:
        await storage.close()


def _run(args: argparse.Namespace) -> int:
    try:
        traces = asyncio.run(_load(args))
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
    export.add_argument("trace_ids", nargs="*", metavar="TRACE_ID")
    add_db_argument(export)
    export.add_argument("-o", "--output", default=None, help="file to write (default: stdout)")
    export.add_argument("--agent-name", action="append", help="only this agent (repeatable)")
    export.add_argument("--tag", action="append", help="only traces with this tag (repeatable)")
    export.add_argument(
        "--status", action="append", choices=["success", "error", "cancelled", "running"]
    )
    export.add_argument("--errors", action="store_true", help="only traces with errors")
    export.add_argument("--limit", type=int, default=1000, help="most traces (default 1000)")
    export.set_defaults(handler=_run)
