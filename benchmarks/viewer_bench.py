"""Trace viewer at scale: API latency over 1,000,000 traces, and a big trace in a browser.

API: p50/p95 over HTTP (a real uvicorn server on 127.0.0.1) of the trace list's first
page, a filtered page, a full-text search and one trace's detail, on a SQLite file of
1,000,000 traces (built once and kept in $MYAGENT_BENCH_DIR, default /tmp). Browser:
Debian's Chromium opening a trace of 2,000 records holding a 5 MB tool output, from
navigation to tree, waterfall and transcript on screen. Target for both API p95: 50 ms;
browser: 2 s. `python -m benchmarks.viewer_bench [--traces N]` runs it alone;
MYAGENT_VIEWER_BENCH_TRACES sets the count for the full suite.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from benchmarks.measure import Row, row
from myagent.trace import SQLiteTraceStorage, ThinkRecord, ToolRecord, Trace
from myagent.trace.viewer import ViewerSettings, create_app

SECTION = "Trace viewer"
AGENTS = [f"agent_{i}" for i in range(20)]
TOOLS = ["search", "get_weather", "calculator", "read_file", "fetch_page", "sql_query"]
WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _trace(rng: random.Random, start_us: int, index: int) -> Trace:
    agent = AGENTS[index % len(AGENTS)]
    tool = TOOLS[index % len(TOOLS)]
    failed = index % 20 == 0
    question = " ".join(rng.choices(WORDS, k=8)) + f" q{index}"
    trace = Trace(
        name=agent,
        agent_name=agent,
        session_id=f"s{index // 5}",
        input=question,
        output=None if failed else f"answer {index}: " + " ".join(rng.choices(WORDS, k=6)),
        status="error" if failed else "success",
        start_us=start_us,
        end_us=start_us + rng.randint(200_000, 9_000_000),
        error="ToolError: upstream timeout" if failed else None,
        tags=["prod" if index % 3 else "dev"],
        metadata={"user": f"u{index % 1000}"},
    )
    think = ThinkRecord(
        name="think",
        trace_id=trace.trace_id,
        agent_name=agent,
        model="gpt-4o-mini" if index % 2 else "gpt-4o",
        start_us=start_us + 1000,
        end_us=start_us + 150_000,
        llm_response=f"call {tool}",
        tool_calls=[{"id": "c1", "name": tool, "arguments": {"q": question}}],
        tokens_used=100 + index % 900,
        cost_usd=0.0001 * (1 + index % 7),
    )
    call = ToolRecord(
        name=tool,
        trace_id=trace.trace_id,
        parent_id=think.run_id,
        tool_name=tool,
        start_us=start_us + 151_000,
        end_us=start_us + 190_000,
        input_params={"q": question},
        output="ok " * 20,
        success=not failed,
        error="upstream timeout" if failed else None,
        error_type="ToolError" if failed else None,
    )
    trace.runs = [think, call]
    return trace


def build_database(path: Path, count: int) -> Path:
    """A SQLite trace file of `count` traces (kept and reused when it already has them)."""
    marker = path.with_suffix(".complete")
    if path.exists() and marker.exists() and marker.read_text() == str(count):
        return path
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    storage = SQLiteTraceStorage(path)
    rng = random.Random(7)
    start = int(time.time() * 1_000_000) - count * 2_000_000  # one trace every 2 s
    batch: list[Trace] = []
    for i in range(count):
        batch.append(_trace(rng, start + i * 2_000_000, i))
        if len(batch) == 5000:
            storage.write_traces(batch)
            batch = []
    if batch:
        storage.write_traces(batch)
    storage._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    storage._conn().execute("ANALYZE")
    storage.close_sync()
    marker.write_text(str(count))
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Server:
    def __init__(self, storage: SQLiteTraceStorage) -> None:
        self.port = _free_port()
        app = create_app(storage, settings=ViewerSettings(token=None))
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def _p(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))]


def api_latency(url: str, paths: dict[str, list[str]], repeats: int) -> list[Row]:
    """p50 and p95 milliseconds per named request over `repeats` rounds (after warm-up)."""
    rows: list[Row] = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for name, options in paths.items():
            for path in options[:3]:
                client.get(path).raise_for_status()  # warm the page cache
            samples = []
            for i in range(repeats):
                path = options[i % len(options)]
                start = time.perf_counter()
                client.get(path).raise_for_status()
                samples.append((time.perf_counter() - start) * 1000)
            p95 = _p(samples, 95)
            rows.append(
                row(SECTION, f"API {name}: p50", round(statistics.median(samples), 1), "ms")
            )
            rows.append(
                row(
                    SECTION, f"API {name}: p95", round(p95, 1), "ms", target="< 50 ms", met=p95 < 50
                )
            )
    return rows


def big_trace(records: int, output_chars: int) -> Trace:
    """One run of `records` records (think/tool pairs), one tool output of `output_chars`."""
    start = int(time.time() * 1_000_000) - 600_000_000
    trace = Trace(
        name="big", agent_name="big_agent", input="a long run", output="done", status="success"
    )
    trace.start_us, trace.end_us = start, start + records * 20_000
    for i in range(records // 2):
        at = start + i * 40_000
        think = ThinkRecord(
            name="think",
            trace_id=trace.trace_id,
            start_us=at,
            end_us=at + 15_000,
            model="gpt-4o-mini",
            llm_response=f"step {i}: call the tool",
            tool_calls=[{"id": f"c{i}", "name": "read_file", "arguments": {"n": i}}],
            tokens_used=50,
        )
        output = "x" * output_chars if i == records // 4 else f"result {i}"
        tool = ToolRecord(
            name="read_file",
            trace_id=trace.trace_id,
            parent_id=think.run_id,
            tool_name="read_file",
            tool_call_id=f"c{i}",
            start_us=at + 16_000,
            end_us=at + 35_000,
            input_params={"n": i},
            output=output,
        )
        trace.runs += [think, tool]
    return trace


def browser_open(url: str, trace_id: str, repeats: int) -> list[float]:
    """Seconds from navigation to the trace's tree, waterfall and transcript on screen."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise RuntimeError("Chromium is missing: run scripts/install-browser.sh")
    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 860})
        page.goto(url)  # load the app's code once, as a user opening the list first would
        page.wait_for_selector("tr[data-trace-id]")
        for _ in range(repeats):
            page.goto(url)
            page.wait_for_selector("tr[data-trace-id]")
            start = time.perf_counter()
            page.evaluate(f"window.history.pushState({{}}, '', '/traces/{trace_id}')")
            page.evaluate("window.dispatchEvent(new PopStateEvent('popstate'))")
            page.wait_for_selector(".tree-row")
            page.wait_for_selector("[data-testid=waterfall] .wf-row")
            page.wait_for_selector("[data-testid=transcript] .msg")
            times.append(time.perf_counter() - start)
        cold = []
        for _ in range(max(1, repeats // 2)):
            start = time.perf_counter()
            page.goto(f"{url}/traces/{trace_id}")
            page.wait_for_selector(".tree-row")
            page.wait_for_selector("[data-testid=waterfall] .wf-row")
            page.wait_for_selector("[data-testid=transcript] .msg")
            cold.append(time.perf_counter() - start)
        browser.close()
    return times + [-t for t in cold]


def list_first_load(url: str, repeats: int) -> tuple[list[float], int, int]:
    """A first visit to the list page with an empty cache: seconds from the navigation's
    start to the first row on screen, and the bytes of the page's files (HTML, JS, CSS) as sent
    (compressed) and as loaded (uncompressed)."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise RuntimeError("Chromium is missing: run scripts/install-browser.sh")
    times: list[float] = []
    sent = loaded = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for i in range(repeats + 1):
            context = browser.new_context(viewport={"width": 1400, "height": 860})
            page = context.new_page()
            files: list[Any] = []
            page.on("requestfinished", lambda request, files=files: files.append(request))
            page.goto(url)
            page.wait_for_selector("tr[data-trace-id]")
            # From the navigation's start in the page (Navigation Timing), so a new
            # context's process start-up is not counted as page load.
            took = float(page.evaluate("performance.now()")) / 1000
            if i:  # the first visit warms the server's file cache
                times.append(took)
            ui = [r for r in files if r.resource_type in ("document", "script", "stylesheet")]
            sent = sum(r.sizes()["responseBodySize"] for r in ui)
            loaded = sum(len(r.response().body()) for r in ui if r.response())
            context.close()
        browser.close()
    return times, sent, loaded


def run(smoke: bool = False, traces: int | None = None) -> list[Row]:
    """The viewer's rows; `smoke` uses 3,000 traces and a small big trace."""
    full = int(os.environ.get("MYAGENT_VIEWER_BENCH_TRACES", "1000000"))
    count = traces or (3_000 if smoke else full)
    folder = Path(os.environ.get("MYAGENT_BENCH_DIR", "/tmp")) / "myagent-viewer-bench"
    folder.mkdir(parents=True, exist_ok=True)
    build_start = time.perf_counter()
    db = build_database(folder / f"traces-{count}.db", count)
    built = time.perf_counter() - build_start
    storage = SQLiteTraceStorage(db)
    rows: list[Row] = [
        row(SECTION, "traces in the database", count, "", detail=f"{db.stat().st_size >> 20} MiB")
    ]
    if built > 1:
        rows.append(row(SECTION, "database built in", round(built, 1), "s"))
    ids = [s.trace_id for s in storage.query_summaries_sync(limit=200)]
    older = storage.query_summaries_sync(limit=20, order_by="start_time")
    sample = ids[::10] + [s.trace_id for s in older]
    server = _Server(storage)
    try:
        rows += api_latency(
            server.url,
            {
                "list first page (50)": ["/api/traces?limit=50"],
                "filtered page (agent + status, or status + tag)": [
                    "/api/traces?limit=50&agent=agent_0&status=error",
                    "/api/traces?limit=50&agent=agent_3&status=success",
                    "/api/traces?limit=50&status=error&tag=dev",
                    "/api/traces?limit=50&agent=agent_7&has_errors=false",
                ],
                "full-text search": [f"/api/traces?limit=50&q={w}" for w in ("tango", "kilo q1")],
                "filter suggestions (facet values with counts)": [
                    "/api/facets/agent?q=agent_1",
                    "/api/facets/tool?q=se",
                    "/api/facets/tag",
                    "/api/facets/model?q=gpt",
                ],
                "trace detail": [f"/api/traces/{t}" for t in sample],
            },
            repeats=40 if smoke else 200,
        )
        loads, sent, loaded = list_first_load(server.url, 3 if smoke else 10)
        rows.append(
            row(
                SECTION,
                "browser: list page first load, empty cache (worst)",
                round(max(loads) * 1000),
                "ms",
                target="< 500 ms",
                met=max(loads) < 0.5,
                detail=f"median {statistics.median(loads) * 1000:.0f} ms",
            )
        )
        rows.append(
            row(
                SECTION,
                "browser: list page files sent (HTML, JS, CSS; compressed)",
                round(sent / 1024),
                "KiB",
                target="< 300 KB",
                met=sent < 300_000,
                detail=f"{loaded / 1024:.0f} KiB uncompressed",
            )
        )
        records, chars = (200, 100_000) if smoke else (2_000, 5 * 1024 * 1024)
        big = big_trace(records, chars)
        storage.write_traces([big])
        measured = browser_open(server.url, big.trace_id, 2 if smoke else 5)
        warm = [t for t in measured if t > 0]
        cold = [-t for t in measured if t < 0]
        label = f"browser: open a trace of {records:,} records with a {chars >> 20 or chars} "
        label += "MB tool output" if chars >= 1 << 20 else "char tool output"
        worst = max(warm)
        rows.append(
            row(
                SECTION,
                label + " (in-app navigation, worst)",
                round(worst, 2),
                "s",
                target="< 2 s",
                met=worst < 2,
                detail=f"median {statistics.median(warm):.2f} s",
            )
        )
        rows.append(
            row(
                SECTION,
                label + " (cold page load, worst)",
                round(max(cold), 2),
                "s",
                target="< 2 s",
                met=max(cold) < 2,
            )
        )
        storage.delete_traces_sync([big.trace_id])
    finally:
        server.stop()
        storage.close_sync()
    if smoke:
        for name in (f"traces-{count}.db", f"traces-{count}.db-wal", f"traces-{count}.db-shm"):
            (folder / name).unlink(missing_ok=True)
        (folder / f"traces-{count}.complete").unlink(missing_ok=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run alone and print the rows as a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--traces", type=int, default=None)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    print("| metric | value | target |\n| --- | --- | --- |")
    for r in run(args.smoke, args.traces):
        mark = "" if r["met"] is None else (" ✓" if r["met"] else " ✗")
        unit = f" {r['unit']}" if r["unit"] else ""
        detail = f" ({r['detail']})" if r["detail"] else ""
        print(f"| {r['metric']} | {r['value']}{unit}{detail} | {r['target']}{mark} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
