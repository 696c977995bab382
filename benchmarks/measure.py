"""Shared measuring helpers: result rows, per-call timing, medians, throw-away SQLite files."""

from __future__ import annotations

import gc
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Row = dict[str, Any]


def row(
    section: str,
    metric: str,
    value: float | int | str,
    unit: str = "",
    *,
    target: str = "",
    met: bool | None = None,
    detail: str = "",
) -> Row:
    """One line of the results table; `met` is None when the row has no target."""
    return {
        "section": section,
        "metric": metric,
        "value": value,
        "unit": unit,
        "target": target,
        "met": met,
        "detail": detail,
    }


def median(values: list[float]) -> float:
    """The median of a non-empty list."""
    return float(statistics.median(values))


def per_call_ns(
    fn: Callable[[], Any], count: int, before: Callable[[], Any] | None = None
) -> tuple[float, float]:
    """(median, mean) nanoseconds of `count` calls of `fn`, each timed on its own
    (`before()`, untimed, runs ahead of each call)."""
    med, mean, _ = per_call_spread_ns(fn, count, before)
    return med, mean


def per_call_spread_ns(
    fn: Callable[[], Any], count: int, before: Callable[[], Any] | None = None
) -> tuple[float, float, float]:
    """(median, mean, p99) nanoseconds of `count` calls of `fn`, each timed on its own."""
    clock = time.perf_counter_ns
    samples = [0] * count
    for i in range(count):
        if before is not None:
            before()
        start = clock()
        fn()
        samples[i] = clock() - start
    ordered = sorted(samples)
    p99 = ordered[max(0, -(-99 * count // 100) - 1)]
    return float(statistics.median(samples)), sum(samples) / count, float(p99)


def cpu_seconds(fn: Callable[[], Any], count: int, after: Callable[[], Any] | None = None) -> float:
    """Process CPU seconds (all threads) of `count` calls of `fn`, then `after()` (a flush)."""
    gc.collect()
    start = time.process_time()
    for _ in range(count):
        fn()
    if after is not None:
        after()
    return time.process_time() - start


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A temporary directory on the local disk, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="myagent-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def db_bytes(path: Path) -> int:
    """Size of a SQLite database file plus its -wal and -shm files."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(str(path) + suffix)
        if candidate.exists():
            total += os.path.getsize(candidate)
    return total


def fmt(value: float, digits: int = 1) -> str:
    """A number with thousands separators and `digits` decimals."""
    return f"{value:,.{digits}f}"
