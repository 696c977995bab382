"""`myagent replay TRACE_ID`: run a stored agent run again against its recording.

The replay is written to the same database as a trace tagged `replay`, linked to the
original; the report names the first divergence (with a diff) and the viewer's compare
link. Exit status: 0 reproduced, 1 diverged or failed, 2 not replayable or not found.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from myagent.replay import (
    NotReplayable,
    ReplayResult,
    fetch_trace,
    load_trace,
    replay,
    write_traces,
)
from myagent.trace.config import storage_for
from myagent.trace.manager import TraceManager
from myagent.trace.setup import get_trace_manager, set_trace_manager


async def _replay(args: argparse.Namespace) -> ReplayResult:
    storage = storage_for(args.db)
    manager = TraceManager(storage)
    previous = get_trace_manager()
    set_trace_manager(manager)
    try:
        if Path(args.trace).is_file():
            original = load_trace(args.trace)
        else:
            original = await fetch_trace(storage, args.trace)
        result = await replay(
            original,
            args.agent,
            live_tools=args.live_tools,
            continue_live=args.continue_live,
        )
        if args.save and result.replay is not None:
            manager.flush()
            stored = await storage.get_trace(result.replay.trace_id)  # stored = redacted
            write_traces(args.save, [stored or result.replay])
            print(f"saved the replay's trace to {args.save}", file=sys.stderr)
        return result
    finally:
        manager.flush()
        manager.close()
        set_trace_manager(previous)


def _run(args: argparse.Namespace) -> int:
    try:
        result = asyncio.run(_replay(args))
    except (LookupError, NotReplayable, ValueError, ImportError, TypeError) as exc:
        print(f"myagent replay: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_dict(args.viewer_url), ensure_ascii=False, indent=1))
    else:
        print(result.report(args.viewer_url))
    return 0 if result.ok else 1


def register(commands: Any) -> None:
    """Add the `replay` subcommand."""
    from myagent.cli import add_db_argument

    parser = commands.add_parser(
        "replay", help="replay a recorded agent run offline and report where it diverges"
    )
    parser.add_argument("trace", metavar="TRACE_ID", help="a stored trace id, or a trace file")
    add_db_argument(parser)
    parser.add_argument(
        "--agent",
        default=None,
        metavar="MODULE:FUNCTION",
        help="the agent factory (default: the one the trace's metadata names)",
    )
    parser.add_argument(
        "--live-tools", action="store_true", help="run the real tools instead of recorded outputs"
    )
    parser.add_argument(
        "--continue-live",
        action="store_true",
        help="at the first divergence, hand over to the agent's real model and tools",
    )
    parser.add_argument(
        "--viewer-url",
        default="http://127.0.0.1:8080",
        help="viewer address for the compare link (default http://127.0.0.1:8080)",
    )
    parser.add_argument(
        "--save",
        metavar="FILE",
        default=None,
        help="write the replay's own trace to FILE (with --continue-live: the fixed run, "
        "to replay in tests from now on)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=_run)
