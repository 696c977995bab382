"""A separate process that traces into real storage while that storage stalls and fails,
so its writer drops traces of two kinds; prints what it produced and its own counters.

`python -m tests.support.lossy_writer sqlite PATH` or
`python -m tests.support.lossy_writer postgres URL SCHEMA`: a burst against stalled
storage (drops as `buffer_full`), then a batch whose every attempt fails while the
health writes fail too (drops as `write_failed`), then writes that land. The last line
of stdout is JSON: {"produced": n, "writer": TraceManager.stats["writer"]}.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
from collections.abc import Sequence

import orjson

from myagent.trace import SQLiteTraceStorage, ToolRecord, TraceManager
from myagent.trace.records import Trace
from myagent.trace.storage.base import TraceStorage
from myagent.trace.storage.health import WriterHealth

BUFFER = 20
BURST = 200
FAILED = 15
AFTER = 10
EXPECTED_DROPS = {"buffer_full": BURST - BUFFER, "write_failed": FAILED}


class StallingStorage(TraceStorage):
    """Real storage whose writes wait while `gate` is clear and raise while `failing`."""

    def __init__(self, inner: TraceStorage) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.failing = False

    async def store_trace(self, trace: Trace) -> None:
        await self.store_traces([trace])

    async def store_traces(self, traces: Sequence[Trace]) -> None:
        self.entered.set()
        while not self.gate.is_set():
            await asyncio.sleep(0.005)
        if self.failing:
            raise sqlite3.OperationalError("disk I/O error")
        await self.inner.store_traces(traces)

    async def store_writer_stats(self, health: WriterHealth) -> None:
        if self.failing:  # the storage is failing: its health write fails as well
            raise sqlite3.OperationalError("disk I/O error")
        await self.inner.store_writer_stats(health)

    async def close(self) -> None:
        await self.inner.close()


def produce(manager: TraceManager, n: int) -> None:
    """Finish `n` small traces, each with one tool record."""
    for i in range(n):
        with manager.trace(f"lossy-{i}", agent_name="lossy_agent", input=i):
            with manager.run("tool", ToolRecord, tool_name="x"):
                pass


def open_storage(argv: list[str]) -> TraceStorage:
    """The real backend named on the command line."""
    if argv[0] == "sqlite":
        return SQLiteTraceStorage(argv[1])
    from myagent.trace.storage.postgres import PostgresTraceStorage

    return PostgresTraceStorage(argv[1], schema=argv[2])


def main(argv: list[str]) -> None:
    """Stall, burst, fail, recover; then report."""
    storage = StallingStorage(open_storage(argv))
    # Only flushes wake the writer (a long interval, batches bigger than the buffer), so
    # every count below is exact.
    manager = TraceManager(
        storage, buffer_size=BUFFER, batch_size=50, flush_interval=30, write_retries=1
    )
    produce(manager, 1)
    manager.flush(0)  # the writer takes that trace and waits at the gate
    assert storage.entered.wait(10)
    produce(manager, BURST)  # the queue holds BUFFER of them; the rest are buffer_full
    storage.gate.set()
    assert manager.flush(20)
    storage.failing = True
    produce(manager, FAILED)
    assert manager.flush(10) is False  # the first attempt fails: retried
    assert manager.flush(10) is False  # the retry fails: dropped as write_failed
    storage.failing = False
    produce(manager, AFTER)
    assert manager.flush(20)
    manager.close(20)
    produced = 1 + BURST + FAILED + AFTER
    assert manager.stats["writer"]["dropped"] == EXPECTED_DROPS
    print(orjson.dumps({"produced": produced, "writer": manager.stats["writer"]}).decode())


if __name__ == "__main__":
    main(sys.argv[1:])
