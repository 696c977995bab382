"""Item 5: a burst of standard agent runs into SQLite with default settings; nothing vanishes.

One thread produces standard runs as fast as it can for the burst's length. Afterwards
every trace is accounted for: produced = stored + counted dropped, with at most one
warning however many were dropped. Then a paced run at half the rate the storage
absorbed during the burst must drop nothing.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

from benchmarks.measure import Row, row, scratch_dir
from benchmarks.workload import Workload, traced_run
from myagent.trace import SQLiteTraceStorage, TraceManager

SECTION = "5. Burst"


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def _produce(path: Path, seconds: float, rate: float | None) -> tuple[int, int, int, int, float]:
    """(produced, stored, dropped, warnings, seconds until all was stored) for one run."""
    counter = _Counter()
    log = logging.getLogger("myagent.trace")
    log.addHandler(counter)
    manager = TraceManager(SQLiteTraceStorage(path))
    w = Workload()
    produced = 0
    start = time.perf_counter()
    deadline = start + seconds
    try:
        while True:
            now = time.perf_counter()
            if now >= deadline:
                break
            if rate is not None and produced >= (now - start) * rate:
                time.sleep(0.0005)
                continue
            traced_run(manager, w)
            produced += 1
        manager.flush(300)
        drained = time.perf_counter() - start
        dropped = manager.stats["writer"]["dropped_total"]
    finally:
        manager.close(60)
        log.removeHandler(counter)
    conn = sqlite3.connect(path)
    stored = conn.execute("SELECT COUNT(*) FROM traces").fetchone()[0]
    conn.close()
    return produced, stored, dropped, counter.count, drained


def run(smoke: bool) -> list[Row]:
    """Item 5 as table rows."""
    seconds = 1.0 if smoke else 10.0
    with scratch_dir() as tmp:
        produced, stored, dropped, warnings, drained = _produce(tmp / "burst.db", seconds, None)
        absorbed = stored / drained
        paced = absorbed / 2
        p_produced, p_stored, p_dropped, p_warnings, _ = _produce(
            tmp / "paced.db", seconds / 2, paced
        )
    accounted = produced == stored + dropped
    one_warning = warnings == (1 if dropped else 0)
    return [
        row(
            SECTION,
            f"{seconds:g} s burst, default settings: traces produced",
            produced,
            "traces",
            detail=f"{produced / seconds:,.0f} traces/s offered",
        ),
        row(
            SECTION, "burst: stored", stored, "traces", detail=f"{absorbed:,.0f} traces/s absorbed"
        ),
        row(
            SECTION,
            "burst: dropped (counted in stats)",
            dropped,
            "traces",
            target="produced = stored + dropped",
            met=accounted,
            detail=f"{produced:,} = {stored:,} + {dropped:,}",
        ),
        row(
            SECTION,
            "burst: warnings logged",
            warnings,
            "",
            target="one summary, never one per record",
            met=one_warning,
        ),
        row(
            SECTION,
            f"paced at {paced:,.0f} traces/s (half of what was absorbed): dropped",
            p_dropped,
            "traces",
            target="0",
            met=p_dropped == 0 and p_produced == p_stored and p_warnings == 0,
            detail=f"{p_produced:,} produced, {p_stored:,} stored",
        ),
    ]
