"""Items 1 and 7 (latency): time added on the caller's path, against untraced code and OTel.

Every call is timed on its own; a repeat's figure is the median call, and the reported
figure is the median of the repeats. The variants are measured side by side in
rotating order within each repeat. Our manager writes to a real SQLite file with its
background writer running; OTel uses a BatchSpanProcessor with a no-op exporter.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from benchmarks.measure import (
    Row,
    fmt,
    median,
    per_call_ns,
    per_call_spread_ns,
    row,
    scratch_dir,
)
from benchmarks.workload import (
    AGENT,
    INPUT,
    TOOL_OUTPUT,
    Workload,
    get_weather,
    otel_run,
    otel_tracer,
    traced_run,
    untraced_run,
)
from myagent.trace import (
    SQLiteTraceStorage,
    ToolRecord,
    TraceManager,
    set_trace_manager,
    trace_run,
)
from myagent.trace.setup import reset_trace_manager

SECTION = "1. Caller latency"
SCALE_SECTION = "7. Cost growth (latency)"
TARGET_US = 25.0
TARGET_RATIO = 0.25


def _measure(
    variants: dict[str, Callable[[], Any]],
    count: int,
    repeats: int,
    between: Callable[[], Any],
    before: dict[str, Callable[[], Any]] | None = None,
) -> dict[str, tuple[float, float, float]]:
    """(median of per-repeat medians, median of per-repeat means, median of per-repeat
    p99s) in µs, per variant.

    `before[name]`, if given, runs untimed ahead of every call of that variant.
    """
    hooks = before or {}
    names = list(variants)
    medians: dict[str, list[float]] = {n: [] for n in names}
    means: dict[str, list[float]] = {n: [] for n in names}
    p99s: dict[str, list[float]] = {n: [] for n in names}
    for name in names:  # warm-up
        per_call_ns(variants[name], max(count // 10, 5))
    between()
    for rep in range(repeats):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for name in order:
            med, mean, p99 = per_call_spread_ns(variants[name], count, hooks.get(name))
            medians[name].append(med / 1000)
            means[name].append(mean / 1000)
            p99s[name].append(p99 / 1000)
            between()
    return {n: (median(medians[n]), median(means[n]), median(p99s[n])) for n in names}


MEAN_TARGET = 0.2
"""The caller's mean added cost ÷ OpenTelemetry's mean, writer running (issue 19)."""


def mean_rows(got: dict[str, tuple[float, float, float]], ours: str, label: str) -> list[Row]:
    """The mean and p99 added per call by variant `ours` against "otel", both over
    "untraced", measured in the same `_measure` run (the background writer running)."""
    base_mean, base_p99 = got["untraced"][1], got["untraced"][2]
    mean = got[ours][1] - base_mean
    otel_mean = got["otel"][1] - base_mean
    ratio = mean / otel_mean if otel_mean > 0 else float("nan")
    return [
        row(
            SECTION,
            f"{label}: caller mean added, writer running, ÷ OpenTelemetry's mean",
            round(ratio, 3),
            "×",
            target=f"≤ {MEAN_TARGET:g}×",
            met=ratio <= MEAN_TARGET,
            detail=f"mean {fmt(mean)} µs vs OTel {fmt(otel_mean)} µs; p99 per call "
            f"{fmt(got[ours][2] - base_p99)} µs added vs OTel {fmt(got['otel'][2] - base_p99)} µs",
        )
    ]


PROCESS = "myagent, writer process"


def _agent_run_rows(
    manager: TraceManager, process: TraceManager, count: int, repeats: int
) -> list[Row]:
    w = Workload()
    tracer, provider = otel_tracer("batch")
    off = TraceManager(SQLiteTraceStorage(":memory:"), enabled=False)

    def between() -> None:
        manager.flush(30)
        process.flush(30)
        provider.force_flush()

    got = _measure(
        {
            "untraced": lambda: untraced_run(w),
            "myagent": lambda: traced_run(manager, w),
            PROCESS: lambda: traced_run(process, w),
            "myagent, tracing disabled": lambda: traced_run(off, w),
            "otel": lambda: otel_run(tracer, w),
        },
        count,
        repeats,
        between,
    )
    provider.shutdown()
    base, base_mean, _ = got["untraced"]
    ours = got["myagent"][0] - base
    ours_mean = got["myagent"][1] - base_mean
    otel = got["otel"][0] - base
    disabled = got["myagent, tracing disabled"][0] - base
    ratio = ours / otel if otel > 0 else float("nan")
    return [
        row(SECTION, "untraced standard agent run (the agent's own work)", round(base, 2), "µs"),
        row(
            SECTION,
            "added per standard agent run (7 records), SQLite storage active",
            round(ours, 2),
            "µs",
            target=f"≤ {TARGET_US:g} µs",
            met=ours <= TARGET_US,
            detail=f"median call; mean incl. writer-thread GIL contention {fmt(ours_mean)} µs",
        ),
        row(
            SECTION,
            "OpenTelemetry SDK, same 7 spans (BatchSpanProcessor, no-op exporter)",
            round(otel, 2),
            "µs",
            detail=f"mean {fmt(got['otel'][1] - base_mean)} µs",
        ),
        row(
            SECTION,
            "myagent ÷ OpenTelemetry, per agent run",
            round(ratio, 3),
            "×",
            target=f"< {TARGET_RATIO:g}×",
            met=ratio < TARGET_RATIO,
        ),
        row(SECTION, "added per agent run with tracing disabled", round(disabled, 2), "µs"),
        *mean_rows(got, "myagent", "standard agent run (7 records)"),
        *mean_rows(got, PROCESS, "standard agent run, writer process (opt-in)"),
    ]


def _single_record_rows(
    manager: TraceManager, count: int, repeats: int, label: str = ""
) -> list[Row]:
    tracer, provider = otel_tracer("batch")
    set_trace_manager(manager)

    @trace_run
    def weather_step(location: str) -> str:
        return get_weather(location, TOOL_OUTPUT)

    def tool_record() -> None:
        params = {"location": "NYC"}
        record = manager.start_run(
            ToolRecord, "get_weather", tool_name="get_weather", input_params=params
        )
        manager.end_run(record, output=get_weather(**params, output=TOOL_OUTPUT))

    def run_block() -> None:
        params = {"location": "NYC"}
        with manager.run(
            "get_weather", ToolRecord, tool_name="get_weather", input_params=params
        ) as record:
            record.output = get_weather(**params, output=TOOL_OUTPUT)  # type: ignore[attr-defined]

    def otel_span() -> None:
        span = tracer.start_span("get_weather", attributes={"gen_ai.tool.name": "get_weather"})
        span.set_attribute("tool.input.location", "NYC")
        span.set_attribute("tool.output", get_weather("NYC", TOOL_OUTPUT))
        span.end()

    scope = manager.trace(AGENT, agent_name=AGENT, input=INPUT)
    root = tracer.start_as_current_span(AGENT)
    root.__enter__()
    scope.__enter__()

    def between() -> None:
        # Close and reopen the enclosing trace so no trace grows without bound.
        nonlocal scope
        scope.__exit__(None, None, None)
        manager.flush(30)
        provider.force_flush()
        scope = manager.trace(AGENT, agent_name=AGENT, input=INPUT)
        scope.__enter__()

    try:
        got = _measure(
            {
                "untraced": lambda: get_weather("NYC", TOOL_OUTPUT),
                "start_run/end_run": tool_record,
                "with manager.run": run_block,
                "@trace_run": lambda: weather_step("NYC"),
                "otel": otel_span,
            },
            count,
            repeats,
            between,
        )
    finally:
        scope.__exit__(None, None, None)
        root.__exit__(None, None, None)
        provider.shutdown()
        reset_trace_manager()
    base = got["untraced"][0]
    otel = got["otel"][0] - base
    rows = []
    if not label:
        for name, what in (
            ("start_run/end_run", "added per tool record (start_run/end_run)"),
            ("with manager.run", "added per record (`with manager.run(...)`)"),
            ("@trace_run", "added per record (`@trace_run` function)"),
        ):
            added = got[name][0] - base
            rows.append(
                row(SECTION, what, round(added, 2), "µs", detail=f"{added / otel:.2f}× OTel's span")
            )
        rows.append(row(SECTION, "OpenTelemetry SDK, one span", round(otel, 2), "µs"))
    rows += mean_rows(got, "@trace_run", f"one `@trace_run` record{label}")
    rows += mean_rows(got, "start_run/end_run", f"one start_run/end_run record{label}")
    return rows


def _scale_rows(manager: TraceManager, count: int, repeats: int, smoke: bool) -> list[Row]:
    """Per-record cost at 1×, 10× and 100× the records per trace and the payload size.

    The writer is held back while a repeat runs and drains between repeats: a 600-record
    run lasts milliseconds, long enough to catch the writer's 5 ms GIL slice mid-call,
    which would measure the writer's cost (item 2) instead of the caller's.
    """
    rows = []
    tracer, provider = otel_tracer("batch")
    saved = {
        "batch_size": manager.config.batch_size,
        "flush_interval": manager.config.flush_interval,
    }
    manager.configure(batch_size=1_000_000, flush_interval=3600.0)

    def between() -> None:
        manager.flush(60)
        provider.force_flush()

    base_per_record: dict[str, float] = {}
    for axis in ("records", "payload"):
        for k in (1, 10, 100):
            w = Workload(records=k) if axis == "records" else Workload(payload=k)
            n = max(count // (k if axis == "records" else 1), 5)
            if axis == "payload" and k == 100:
                n = max(count // 10, 5)
            got = _measure(
                {
                    "untraced": partial(untraced_run, w),
                    "myagent": partial(traced_run, manager, w),
                    "otel": partial(otel_run, tracer, w),
                },
                n,
                max(repeats - 2, 1) if k > 1 else repeats,
                between,
            )
            added = got["myagent"][0] - got["untraced"][0]
            otel = got["otel"][0] - got["untraced"][0]
            per_record = added / (w.records_per_trace + 1)
            base_per_record.setdefault(axis, per_record)
            growth = per_record / base_per_record[axis]
            what = "records per trace" if axis == "records" else "payload size"
            rows.append(
                row(
                    SCALE_SECTION,
                    f"added per record, {k}× {what} ({w.records_per_trace + 1} records/trace)",
                    round(per_record, 2),
                    "µs",
                    target="flat (≤ 1.5× of 1×)" if k > 1 else "",
                    met=growth <= 1.5 if k > 1 else None,
                    detail=f"{growth:.2f}× of 1×; {added / otel:.2f}× OTel at this size",
                )
            )
    provider.shutdown()
    manager.configure(**saved)
    return rows


def run(smoke: bool) -> list[Row]:
    """Items 1 and 7 (latency) as table rows."""
    count, repeats = (40, 1) if smoke else (3000, 5)
    with scratch_dir() as tmp:
        manager = TraceManager(SQLiteTraceStorage(tmp / "latency.db"))
        process = TraceManager(SQLiteTraceStorage(tmp / "process.db"), writer_process=True)
        try:
            rows = _agent_run_rows(manager, process, count, repeats)
            rows += _single_record_rows(manager, count, repeats)
            rows += _single_record_rows(process, count, repeats, ", writer process (opt-in)")
            rows += _scale_rows(manager, count // 3 if not smoke else count, repeats, smoke)
        finally:
            process.close(60)
            manager.close(60)
    return rows
