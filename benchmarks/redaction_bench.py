"""Redaction: writer CPU per standard trace, hostile inputs up to 8 MiB, and the end freeze.

`python -m benchmarks.redaction_bench [--standard-only]` prints the figures; the suite
runs it like any other module. `--standard-only` measures just the per-trace cost (it
runs on older code too, to compare before and after in one window).
"""

from __future__ import annotations

import json
import sys
import time

from benchmarks.measure import Row, median, row
from benchmarks.workload import Workload, traced_run
from myagent.trace import InMemoryTraceStorage, Trace, TraceManager
from myagent.trace.redaction import Redactor

SECTION = "Redaction"
MIB = 1024 * 1024


def standard_traces(count: int) -> list[Trace]:
    """`count` finished standard traces (7 records each), as the writer receives them."""
    manager = TraceManager(InMemoryTraceStorage())
    captured: list[Trace] = []
    manager._writer.submit = captured.append  # type: ignore[method-assign]
    w = Workload()
    for _ in range(count):
        traced_run(manager, w)
    return captured


def per_trace_us(count: int, repeats: int) -> float:
    """Median µs of writer CPU to redact one standard trace (fresh traces, warm memos)."""
    redactor = Redactor()
    traces = standard_traces(count)
    for trace in traces[:50]:
        redactor.redact_trace(trace)
    samples = []
    for _ in range(repeats):
        start = time.process_time()
        for trace in traces:
            redactor.redact_trace(trace)
        samples.append((time.process_time() - start) / len(traces) * 1e6)
    return median(samples)


def hostile(kind: str, size: int) -> str:
    """A hostile text of about `size` characters (the kinds the ReDoS test feeds)."""
    if kind == "begin":
        unit = "-----BEGIN RSA PRIVATE KEY-----\n"
    elif kind == "jwt":
        unit = "eyJ"
    elif kind == "keychars":
        unit = "sk-Ab0_"
    elif kind == "url":
        unit = "://a:"
    else:
        unit = "password=x&"
    text = unit * (size // len(unit) + 1)
    if kind == "json64":
        inner = json.dumps(json.dumps({"note": text[: size // 2]}))
        return '{"a":' * 64 + inner + "}" * 64
    return text[:size]


KINDS = ("begin", "jwt", "keychars", "url", "kv", "json64")


def hostile_seconds(kind: str, size: int) -> float:
    """CPU seconds of this thread to redact one hostile text of `size` characters (a
    fresh redactor with no time budget, so the whole text is scanned)."""
    text = hostile(kind, size)
    redactor = Redactor(time_budget=3600)
    start = time.thread_time()
    redactor.value(text)
    return time.thread_time() - start


def loop_lag_ms(size: int) -> float:
    """Worst lateness (ms) of an event loop's 5 ms ticks in the main thread while another
    thread redacts a hostile `size`-character text (what a writer thread does beside a
    server's loop): the windowed scan gives the GIL up between windows."""
    import asyncio
    import threading

    text = hostile("begin", size)
    done = threading.Event()

    def redact() -> None:
        Redactor(time_budget=3600).value(text)
        done.set()

    async def ticks() -> float:
        worst = 0.0
        loop = asyncio.get_running_loop()
        while not done.is_set():
            start = loop.time()
            await asyncio.sleep(0.005)
            worst = max(worst, loop.time() - start - 0.005)
        return worst

    worker = threading.Thread(target=redact)
    worker.start()
    worst = asyncio.run(ticks())
    worker.join()
    return worst * 1000


def freeze_us(count: int) -> float:
    """µs per standard trace that `end_trace`'s freeze of the values adds (caller's path)."""
    from myagent.trace.freeze import freeze_trace

    traces = standard_traces(count)
    start = time.process_time()
    for trace in traces:
        freeze_trace(trace)
    return (time.process_time() - start) / len(traces) * 1e6


def run(smoke: bool) -> list[Row]:
    """Redaction figures as table rows."""
    count, repeats = (50, 1) if smoke else (2000, 5)
    rows = [
        row(SECTION, "redaction per standard trace", round(per_trace_us(count, repeats), 1), "µs")
    ]
    sizes = (64 * 1024, 256 * 1024) if smoke else (2 * MIB, 8 * MIB)
    for kind in KINDS:
        small, large = (hostile_seconds(kind, s) for s in sizes)
        rows.append(
            row(
                SECTION,
                f"hostile {kind}: {sizes[1] // 1024} KiB (CPU)",
                round(large, 3),
                "s",
                detail=f"{sizes[0] // 1024} KiB: {small:.3f} s; ratio {large / small:.2f}",
            )
        )
    rows.append(
        row(SECTION, "loop lag while 8 MiB is redacted", round(loop_lag_ms(sizes[1]), 1), "ms")
    )
    rows.append(row(SECTION, "freeze at end_trace", round(freeze_us(count), 1), "µs/trace"))
    return rows


def main(argv: list[str]) -> None:
    """Print the figures (`--standard-only`: just the per-trace cost)."""
    if "--standard-only" in argv:
        print(f"redaction per standard trace: {per_trace_us(2000, 5):.1f} µs")
        return
    for item in run(smoke="--smoke" in argv):
        print(f"{item['metric']}: {item['value']} {item['unit']} {item['detail']}")


if __name__ == "__main__":
    main(sys.argv[1:])
