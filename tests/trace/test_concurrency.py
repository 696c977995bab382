"""Context isolation: concurrent tasks and threads never mix records."""

from __future__ import annotations

import asyncio
import threading

from myagent.trace import Trace, TraceManager, trace_run


@trace_run
async def leaf(tag: str, i: int) -> str:
    await asyncio.sleep(0)
    return f"{tag}-{i}"


@trace_run
async def branch(tag: str) -> list[str]:
    out = []
    for i in range(3):
        out.append(await leaf(tag, i))
        await asyncio.sleep(0)
    return out


@trace_run
def sync_leaf(tag: str, i: int) -> str:
    return f"{tag}-{i}"


@trace_run
def sync_branch(tag: str) -> list[str]:
    return [sync_leaf(tag, i) for i in range(3)]


def _check(trace: Trace, tag: str) -> None:
    """Every record belongs to this trace, carries this tag, and sits under the right parent."""
    by_id = {r.run_id: r for r in trace.runs}
    assert trace.input == tag
    assert len(trace.runs) == 2 * 4  # two branches, each with three leaves
    for run in trace.runs:
        assert run.trace_id == trace.trace_id
        assert run.inputs["tag"] == tag  # type: ignore[attr-defined]
        if run.name.endswith("leaf"):
            parent = by_id[run.parent_id]  # type: ignore[index]
            assert parent.name.endswith("branch")
            assert parent.start_us <= run.start_us
        else:
            assert run.parent_id is None


async def test_200_tasks_and_8_threads(manager: TraceManager) -> None:
    async def task(tag: str) -> Trace:
        async with manager.trace(tag, input=tag) as trace:
            await branch(tag)
            await asyncio.sleep(0)
            await branch(tag)
        return trace

    thread_traces: dict[str, Trace] = {}

    def worker(tag: str) -> None:
        for round_ in range(5):
            name = f"{tag}-r{round_}"
            with manager.trace(name, input=name) as trace:
                sync_branch(name)
                sync_branch(name)
            thread_traces[name] = trace

    threads = [threading.Thread(target=worker, args=(f"thread{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    traces = await asyncio.gather(*(task(f"task{i}") for i in range(200)))
    for t in threads:
        t.join()

    for i, trace in enumerate(traces):
        _check(trace, f"task{i}")
    for name, trace in thread_traces.items():
        _check(trace, name)
    stored = manager.get_all_traces()
    assert len(stored) == 200 + 8 * 5
    assert len({t.trace_id for t in stored}) == len(stored)
