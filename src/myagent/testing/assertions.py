"""`replay_trace` and `assert_replays`: a recorded run (or a trace file) as a test.

Both work from plain and from async test functions: inside a running event loop the
replay runs on a worker thread with its own loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from myagent.replay.runner import AgentFactory, ReplayResult, replay
from myagent.replay.source import TraceSource, read_traces
from myagent.trace.records import Trace

T = TypeVar("T")


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, inside or outside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_in_new_loop(coro)
    with concurrent.futures.ThreadPoolExecutor(1, "myagent-replay") as pool:
        return pool.submit(_run_in_new_loop, coro).result()


def _run_in_new_loop(coro: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` without its SIGINT handler swap: in the main thread that swap formats
    the repr of the running task (a replay's task holds whole traces), ~0.5-1 ms per call,
    and a test suite makes one call per recorded run. Ctrl-C still interrupts."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        try:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


def _traces(source: TraceSource | list[Trace]) -> list[Trace | dict[str, Any]]:
    """Every trace a source holds (a file may hold several, e.g. a cassette)."""
    if isinstance(source, list):
        return list(source)
    if isinstance(source, str | Path):
        return list(read_traces(source))
    return [source]


def replay_trace(
    source: TraceSource,
    agent_factory: AgentFactory | str | None = None,
    *,
    live_tools: bool = False,
    continue_live: bool = False,
    trace_id: str | None = None,
) -> ReplayResult:
    """Replay one recorded run from sync code (see `myagent.replay.replay`)."""
    return run_coroutine(
        replay(
            source,
            agent_factory,
            live_tools,
            continue_live=continue_live,
            trace_id=trace_id,
        )
    )


def assert_replays(
    source: TraceSource | list[Trace],
    agent_factory: AgentFactory | str | None = None,
    *,
    live_tools: bool = False,
) -> list[ReplayResult]:
    """Replay every trace in `source` (a trace, a trace file or a list); raise
    AssertionError with each divergence's diff unless all reproduce their recording."""
    __tracebackhide__ = True

    async def replay_all() -> list[ReplayResult]:
        return [await replay(trace, agent_factory, live_tools) for trace in _traces(source)]

    results = run_coroutine(replay_all())
    failed = [r for r in results if not r.ok]
    if failed:
        reports = "\n\n".join(r.report() for r in failed)
        raise AssertionError(
            f"{len(failed)} of {len(results)} recorded run(s) did not replay:\n{reports}"
        )
    return results
