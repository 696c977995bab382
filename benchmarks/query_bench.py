"""Query engine and analyzer at scale: 1,000,000 traces / 4,000,000 records in SQLite.

Measures, through the public API (`TraceQueryEngine`, `TraceAnalyzer`) on a real SQLite
file: a filtered page of 50 traces (summaries, and whole traces with their records), a
full-text search page, filtered counts, one agent's performance stats, the tool usage
table, a 24-hour time series and error groups. Targets: page and search p50 under 20 ms,
stats under 500 ms.

The database (10 agents with skewed traffic, 12 tools, 1 think + 3 tool records per
trace, 3% failed tool calls, 1.5% failed runs, 30 days of start times) is written through
`SQLiteTraceStorage.write_traces`, the real write path, and kept in $MYAGENT_BENCH_DIR
(default /tmp) for the next run. No ANALYZE is run: the planner sees what a user's file
gives it. Figures are warm (the file is in the OS cache after a first, untimed call).

    python -m benchmarks.query_bench [--smoke] [--traces N] [--repeat N] [--backend postgres]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import pg_dataset
from benchmarks.measure import Row, row
from myagent.trace import (
    SQLiteTraceStorage,
    ThinkRecord,
    ToolRecord,
    Trace,
    TraceAnalyzer,
    TraceFilter,
    TraceQueryEngine,
)

SECTION = "Query engine"
GENERATOR = "2"  # bump when the data or the schema numbering changes: kept databases rebuild
DAY_US = 86_400 * 1_000_000
END_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z: the newest trace starts before it
SPAN_US = 30 * DAY_US
AGENTS = [f"agent-{i}" for i in range(10)]
AGENT_WEIGHTS = [25, 20, 15, 10, 8, 7, 5, 4, 3, 3]
TOOLS = [
    "get_weather",
    "search_web",
    "calculator",
    "read_file",
    "fetch_page",
    "sql_query",
    "send_email",
    "translate",
    "get_time",
    "geocode",
    "summarize",
    "run_code",
]
CITIES = [
    f"{a}{b}"
    for a in ("new", "san", "port", "lake", "fort")
    for b in (
        "york",
        "paris",
        "lima",
        "oslo",
        "rome",
        "kyiv",
        "cairo",
        "delhi",
        "quito",
        "perth",
        "accra",
        "dakar",
        "hanoi",
        "seoul",
        "tunis",
        "minsk",
        "riga",
        "sofia",
        "bern",
        "baku",
        "doha",
        "male",
        "suva",
        "apia",
        "lome",
        "kiev",
        "turin",
        "porto",
        "split",
        "nice",
        "graz",
        "basel",
        "leeds",
        "cork",
        "bonn",
        "kiel",
        "gent",
        "lyon",
        "pisa",
        "bari",
    )
]  # 200 places
SYSTEM_PROMPT = (
    "You are a careful assistant. Use the tools you are given when they help, answer "
    "briefly, cite the tool results you used, and say so when a tool fails. " * 2
)
ERRORS = [
    ("TimeoutError", "TimeoutError: {tool} timed out after 30s"),
    ("ConnectionError", "ConnectionError: upstream refused the connection"),
    ("ValueError", "ValueError: invalid arguments for {tool}"),
]
SEARCHES = ["newparis", "timed out", "weather", "quota exhausted", "nosuchword"]
"""A city (0.5% of traces), an error (about 1%), a word of most traces, a rare failure
(0.05%) and a word that is nowhere."""


def make_trace(rng: random.Random, index: int, count: int) -> Trace:
    """Trace number `index` of `count`: one think record, then three tool calls."""
    start = END_US - SPAN_US + SPAN_US * index // count + rng.randrange(1_000_000)
    agent_no = rng.choices(range(len(AGENTS)), AGENT_WEIGHTS)[0]
    agent = AGENTS[agent_no]
    toolset = [TOOLS[(agent_no + k * 3) % len(TOOLS)] for k in range(4)]
    city = rng.choice(CITIES)
    question = f"What's the weather in {city} today, and what should I wear?"
    trace = Trace(
        name=agent,
        agent_name=agent,
        session_id=f"session-{index // 4}",
        input=question,
        start_us=start,
        tags=["prod" if rng.random() < 0.8 else "staging"],
        metadata={"user": f"user-{rng.randrange(50_000)}", "region": rng.choice(["eu", "us"])},
    )
    now = start + rng.randrange(1_000, 20_000)
    prompt, completion = rng.randrange(300, 3000), rng.randrange(20, 400)
    calls = [rng.choice(toolset) for _ in range(3)]
    think = ThinkRecord(
        name="think",
        trace_id=trace.trace_id,
        agent_name=agent,
        start_us=now,
        input=question,
        system_prompts=[SYSTEM_PROMPT],
        messages=[
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": question},
        ],
        llm_response="Let me look that up.",
        tool_calls=[
            {"id": f"call_{k}", "name": name, "arguments": {"location": city}}
            for k, name in enumerate(calls)
        ],
        model="gpt-4o-mini",
        prompt_tokens=prompt,
        completion_tokens=completion,
        tokens_used=prompt + completion,
        cost_usd=(prompt * 0.15 + completion * 0.6) / 1_000_000,
    )
    now += int(rng.lognormvariate(13.5, 0.5))  # about 0.7 s per LLM call
    think.end_us = now
    trace.runs.append(think)
    for k, name in enumerate(calls):
        call = ToolRecord(
            name=name,
            trace_id=trace.trace_id,
            parent_id=think.run_id,
            tool_name=name,
            tool_call_id=f"call_{k}",
            start_us=now,
            input_params={"location": city},
            output=f"Sunny, {rng.randrange(40, 95)}°F in {city}",
        )
        now += int(rng.lognormvariate(12.0 + k * 0.3, 0.8))  # 0.16-0.3 s, long tail
        call.end_us = now
        if rng.random() < 0.01:
            error_type, message = rng.choice(ERRORS)
            call.success, call.output = False, None
            call.error, call.error_type = message.format(tool=name), error_type
        trace.runs.append(call)
    failed = rng.random() < 0.015
    if failed and rng.random() < 0.035:
        trace.error = "RuntimeError: quota exhausted for this key"
    elif failed:
        trace.error = "RuntimeError: the agent gave up after 3 failed steps"
    trace.output = None if failed else f"It is sunny in {city}: light clothes will do."
    trace.status = "error" if failed else "success"
    trace.end_us = now + rng.randrange(500, 5_000)
    return trace


def build_database(path: Path, count: int, log: Callable[[str], None]) -> float:
    """Write `count` traces to a new SQLite file at `path` unless a complete one is kept
    there; returns the seconds spent building (0 when reused)."""
    marker = Path(f"{path}.complete")
    if path.exists() and marker.exists() and marker.read_text() == f"{GENERATOR}:{count}":
        return 0.0
    for suffix in ("", "-wal", "-shm", ".complete"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    storage = SQLiteTraceStorage(path)
    rng = random.Random(20260101)
    batch: list[Trace] = []
    for index in range(count):
        batch.append(make_trace(rng, index, count))
        if len(batch) == 2_000:
            storage.write_traces(batch)
            batch = []
            if (index + 1) % 100_000 == 0:
                log(f"  {index + 1:,} traces written ({time.perf_counter() - started:.0f} s)")
    if batch:
        storage.write_traces(batch)
    storage._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    storage.close_sync()
    marker.write_text(f"{GENERATOR}:{count}")
    return time.perf_counter() - started


def timings(calls: list[Callable[[], Any]], repeat: int) -> list[float]:
    """Milliseconds of each call, `repeat` rounds over `calls` (each called once untimed
    first, so the file's pages are in the OS cache)."""
    for call in calls:
        call()
    out = []
    for _ in range(repeat):
        for call in calls:
            started = time.perf_counter()
            call()
            out.append((time.perf_counter() - started) * 1000)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(1, -(-95 * len(ordered) // 100)) - 1]


def _ms(value: float) -> float:
    return round(value, 2 if value < 10 else 1)


def measure(storage: Any, count: int, repeat: int) -> list[Row]:
    """The figures, as rows for the results table."""
    full = count >= 1_000_000
    engine = TraceQueryEngine(storage)
    analyzer = TraceAnalyzer(storage)
    rows: list[Row] = []

    def latency(metric: str, calls: list[Callable[[], Any]], target_ms: float | None) -> None:
        values = timings(calls, repeat)
        p50 = statistics.median(values)
        met = None if target_ms is None or not full else p50 < target_ms
        rows.append(
            row(
                SECTION,
                f"{metric}: p50",
                _ms(p50),
                "ms",
                target="" if target_ms is None else f"< {target_ms:g} ms",
                met=met,
                detail=f"p95 {_ms(p95(values))} ms, max {_ms(max(values))} ms, n={len(values)}",
            )
        )

    newest = END_US - DAY_US
    pages = [
        TraceFilter(agent_names=["agent-0"], has_errors=False),
        TraceFilter(agent_names=["agent-6"], statuses=["error"]),
        TraceFilter(has_errors=True, tags=["prod"]),
        TraceFilter(tools_used=["get_weather"], min_duration=1.0),
        TraceFilter(metadata={"region": "eu"}, min_tokens=2000),
    ]
    latency(
        "filtered page of 50 trace summaries (5 filters)",
        [lambda f=f: engine.query_summaries(f, limit=50) for f in pages],
        20,
    )
    latency(
        "filtered page of 50 whole traces, records included (5 filters)",
        [lambda f=f: engine.query_traces(f, limit=50) for f in pages],
        20,
    )
    latency(
        "full-text search, first 50 (5 searches)",
        [lambda w=w: engine.search(w, limit=50) for w in SEARCHES],
        20,
    )
    latency(
        "full-text search, first 50 summaries (5 searches)",
        [lambda w=w: engine.query_summaries(TraceFilter(text=w), limit=50) for w in SEARCHES],
        20,
    )
    latency(
        "count of a filter (agent; errors; search)",
        [
            lambda: engine.count_traces(TraceFilter(agent_names=["agent-3"])),
            lambda: engine.count_traces(TraceFilter(has_errors=True)),
            lambda: engine.count_search("timed out"),
        ],
        None,
    )
    top = AGENTS[0]
    share = engine.count_traces(TraceFilter(agent_names=[top]))
    stats_repeat = max(3, repeat // 4)

    def stats_row(metric: str, call: Callable[[], Any], detail: str) -> None:
        values = timings([call], stats_repeat)
        p50 = statistics.median(values)
        rows.append(
            row(
                SECTION,
                metric,
                _ms(p50),
                "ms",
                target="< 500 ms",
                met=(p50 < 500) if full else None,
                detail=f"{detail}; median of {len(values)}, max {_ms(max(values))} ms",
            )
        )

    stats_row(
        f"agent performance stats, busiest agent ({share:,} traces)",
        lambda: analyzer.analyze_agent_performance(top),
        "count, success rate, avg/p50/p95/p99, tokens, cost, most used tool",
    )
    stats_row(
        "agent performance stats, a 7% agent",
        lambda: analyzer.analyze_agent_performance(AGENTS[5]),
        "same figures",
    )
    tool_calls = engine.count_tool_runs()
    stats_row(
        f"tool usage table, all {tool_calls:,} tool calls",
        analyzer.analyze_tool_usage,
        "calls, success rate, avg/p50/p95/p99 duration, errors, per tool",
    )
    day = [us_datetime(newest), us_datetime(END_US)]
    week = us_datetime(END_US - 7 * DAY_US)
    stats_row(
        "tool usage table, last 24 h",
        lambda: analyzer.analyze_tool_usage(start_time=day[0], end_time=day[1]),
        "same figures over about 100,000 calls",
    )
    stats_row(
        "tool usage table, last 7 days",
        lambda: analyzer.analyze_tool_usage(start_time=week),
        "same figures over about 700,000 calls",
    )
    stats_row(
        "tool usage table of the 7% agent",
        lambda: analyzer.analyze_tool_usage(agent_name=AGENTS[5]),
        "same figures over about 210,000 calls",
    )
    stats_row(
        "time series, last 24 h in 1 h buckets",
        lambda: analyzer.time_series(3600, start_time=day[0], end_time=day[1]),
        "p50/p95/p99, success rate, tokens, errors per hour",
    )
    stats_row(
        "error groups, last 24 h",
        lambda: analyzer.analyze_errors(start_time=day[0], end_time=day[1]),
        "failures by type and message, 5 example traces each",
    )
    return rows


def us_datetime(value: int) -> Any:
    from myagent.trace.ids import us_to_datetime

    return us_to_datetime(value)


def postgres_storage(count: int, log: Callable[[str], None]) -> tuple[Any, float]:
    """The kept PostgreSQL copy of the data set (built now if missing) and its build time."""
    rng = random.Random(20260101)
    return pg_dataset.open_storage(
        schema_name(count), count, lambda index: make_trace(rng, index, count), log
    )


def schema_name(count: int) -> str:
    """The PostgreSQL schema holding the data set of `count` traces."""
    return f"query_{count}_g{GENERATOR}"


def run(smoke: bool = False, traces: int | None = None, repeat: int | None = None) -> list[Row]:
    """The query rows; `smoke` uses 2,000 traces and few repeats (seconds). The backend
    is SQLite unless MYAGENT_BENCH_BACKEND=postgres (`--backend postgres`)."""
    count = traces or (2_000 if smoke else 1_000_000)
    rounds = repeat or (2 if smoke else 20)
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    storage: Any
    if pg_dataset.backend() == "postgres":
        storage, built = postgres_storage(count, log)
        section, where = f"{SECTION} (PostgreSQL)", f"{pg_dataset.disk_size(storage)} in PostgreSQL"
    else:
        folder = Path(os.environ.get("MYAGENT_BENCH_DIR", "/tmp")) / "myagent-query-bench"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"traces-{count}.db"
        built = build_database(path, count, log)
        storage = SQLiteTraceStorage(path)
        section, where = SECTION, f"{path.stat().st_size / 2**30:.2f} GiB SQLite file"
    try:
        records = storage.count_runs_sync()
        rows = [
            row(
                section,
                "traces / records in the database",
                f"{count:,} / {records:,}",
                detail=where,
            )
        ]
        if built:
            rows.append(row(section, "database built in", round(built, 1), "s"))
        rows += measure(storage, count, rounds)
    finally:
        storage.close_sync()
    for r in rows:
        r["section"] = section
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="2,000 traces, a few seconds")
    parser.add_argument("--traces", type=int, help="traces in the database (default 1,000,000)")
    parser.add_argument("--repeat", type=int, help="timed rounds per figure")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], help="default sqlite")
    args = parser.parse_args(argv)
    if args.backend:
        os.environ["MYAGENT_BENCH_BACKEND"] = args.backend
    for r in run(args.smoke, args.traces, args.repeat):
        target = (
            f"  [target {r['target']}: {'met' if r['met'] else 'MISSED'}]"
            if r["target"] and r["met"] is not None
            else ""
        )
        print(
            f"{r['metric']}: {r['value']} {r['unit']}{target}  ({r['detail']})".replace(" ()", "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
