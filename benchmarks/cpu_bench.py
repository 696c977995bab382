"""Item 2: total process CPU per standard agent run, background SQLite write included.

CPU is `time.process_time()` (every thread of the process), taken over a batch of runs
plus the flush that writes them, minus the same batch untraced. OpenTelemetry's figure
is its in-memory-only set-up (SimpleSpanProcessor into an InMemorySpanExporter), so it
does no I/O at all; its production set-up (BatchSpanProcessor, no-op exporter) is shown too.
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks.measure import Row, cpu_seconds, fmt, median, row, scratch_dir
from benchmarks.workload import Workload, otel_run, otel_tracer, traced_run, untraced_run
from myagent.trace import SQLiteTraceStorage, TraceManager

SECTION = "2. CPU per agent run"


def run(smoke: bool) -> list[Row]:
    """Item 2 as table rows."""
    count, repeats = (30, 1) if smoke else (2000, 5)
    w = Workload()
    mem_tracer, mem_provider = otel_tracer("memory")
    batch_tracer, batch_provider = otel_tracer("batch")
    exporter: Any = mem_provider._active_span_processor._span_processors[0].span_exporter
    samples: dict[str, list[float]] = {
        "untraced": [],
        "myagent": [],
        "process": [],
        "child": [],
        "mem": [],
        "batch": [],
    }
    with scratch_dir() as tmp:
        manager = TraceManager(SQLiteTraceStorage(tmp / "cpu.db"))
        process = TraceManager(SQLiteTraceStorage(tmp / "process.db"), writer_process=True)
        try:
            for _ in range(max(count // 10, 3)):  # warm-up
                traced_run(manager, w)
                traced_run(process, w)
                otel_run(mem_tracer, w)
            manager.flush(60)
            process.flush(60)
            child = process.stats["writer_process"]["pid"]
            exporter.clear()
            for _ in range(repeats):
                samples["untraced"].append(cpu_seconds(lambda: untraced_run(w), count))
                samples["myagent"].append(
                    cpu_seconds(lambda: traced_run(manager, w), count, lambda: manager.flush(60))
                )
                child_before = _child_cpu(child)
                samples["process"].append(
                    cpu_seconds(lambda: traced_run(process, w), count, lambda: process.flush(60))
                )
                samples["child"].append(_child_cpu(child) - child_before)
                samples["mem"].append(cpu_seconds(lambda: otel_run(mem_tracer, w), count))
                exporter.clear()
                samples["batch"].append(
                    cpu_seconds(
                        lambda: otel_run(batch_tracer, w), count, batch_provider.force_flush
                    )
                )
            stats = manager.stats["writer"]
            process_stats = process.stats["writer"]
        finally:
            process.close(60)
            manager.close(60)
            mem_provider.shutdown()
            batch_provider.shutdown()
    us = {k: median(v) / count * 1e6 for k, v in samples.items()}
    ours = us["myagent"] - us["untraced"]
    mem = us["mem"] - us["untraced"]
    batch = us["batch"] - us["untraced"]
    ratio = ours / mem if mem > 0 else float("nan")
    parent = us["process"] - us["untraced"]
    both = parent + us["child"]
    return [
        row(
            SECTION,
            "added CPU per standard agent run, SQLite write included",
            round(ours, 1),
            "µs",
            target="below OTel in-memory",
            met=ours < mem,
            detail=f"{stats['written']:,} traces written, {stats['dropped_total']} dropped",
        ),
        row(
            SECTION,
            "OpenTelemetry SDK, in-memory only (Simple + InMemorySpanExporter)",
            round(mem, 1),
            "µs",
        ),
        row(
            SECTION, "OpenTelemetry SDK, BatchSpanProcessor + no-op exporter", round(batch, 1), "µs"
        ),
        row(
            SECTION,
            "myagent ÷ OpenTelemetry in-memory",
            round(ratio, 3),
            "×",
            target="< 1×",
            met=ratio < 1,
        ),
        row(
            SECTION,
            "writer process (opt-in): added CPU per run in the traced program's process",
            round(parent, 1),
            "µs",
            detail=f"{parent / mem:.2f}× OTel in-memory; "
            f"{process_stats['written']:,} written, {process_stats['dropped_total']} dropped",
        ),
        row(
            SECTION,
            "writer process (opt-in): CPU per run of both processes (honest total)",
            round(both, 1),
            "µs",
            detail=f"child {fmt(us['child'])} µs; {both / mem:.2f}× OTel in-memory, "
            f"{both / ours:.2f}× the in-thread writer's total",
        ),
    ]


def _child_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) the process `pid` used so far (Linux /proc)."""
    if pid is None:
        return float("nan")
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
