"""Load on the agent WebSocket server: 500 concurrent sessions with the scripted model.

The server runs in its own process (`python -m benchmarks.ws_bench --serve`), tracing
into a real SQLite file, so its memory is its own. This process opens one connection per
session, all at once; each session asks one question that makes the offline ScriptedLLM
call a tool and answer. Reported: sessions answered, traces checked against the frames
(one trace per session, success, the frames' trace id, 2 think + 1 tool records), message
→ final-answer latency percentiles, runs per second, and the server's memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SECTION = "8. WebSocket server load"
ROOT = Path(__file__).resolve().parent.parent
QUESTION = "What's the weather in NYC?"


def _create_agent() -> Any:
    from myagent import create_toolcall_agent
    from myagent.llm import ScriptedLLM
    from myagent.tool import BaseTool, ToolResult

    class WeatherTool(BaseTool):
        name = "get_weather"
        description = "Get the current weather for a location"

        async def execute(self, location: str) -> ToolResult:
            return ToolResult(output=f"Sunny, 72F in {location}")

    return create_toolcall_agent("bench-agent", [WeatherTool()], llm=ScriptedLLM())


async def _serve(compression: str | None) -> None:
    """Child process: serve until SIGTERM, printing the port."""
    from myagent.ws.server import AgentWebSocketServer

    server = AgentWebSocketServer(
        _create_agent, "127.0.0.1", 0, heartbeat_interval=None, compression=compression
    )
    await server.start()
    print(f"PORT {server.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.stop()


def _memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB (Linux)."""
    values: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values


async def _session(url: str) -> dict[str, Any]:
    """One client: connect, create a session, ask once, close. Returns what it saw."""
    from websockets.asyncio.client import connect

    async with connect(url, proxy=None, open_timeout=60) as ws:
        await ws.recv()  # system.connected
        await ws.send(json.dumps({"event": "user.create_session"}))
        created = json.loads(await ws.recv())
        session_id = created["session_id"]
        sent = time.perf_counter()
        await ws.send(
            json.dumps({"event": "user.message", "session_id": session_id, "content": QUESTION})
        )
        trace_ids: set[str] = set()
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if "trace_id" in frame:
                trace_ids.add(frame["trace_id"])
            if frame["event"] in ("agent.final_answer", "agent.error"):
                latency = time.perf_counter() - sent
                return {
                    "session_id": session_id,
                    "ok": frame["event"] == "agent.final_answer"
                    and "Sunny" in str(frame.get("content")),
                    "trace_ids": trace_ids,
                    "latency": latency,
                }


async def _load(url: str, sessions: int) -> tuple[list[dict[str, Any]], float]:
    started = time.perf_counter()
    results = await asyncio.gather(
        *(_session(url) for _ in range(sessions)), return_exceptions=True
    )
    elapsed = time.perf_counter() - started
    return [r for r in results if isinstance(r, dict)], elapsed


async def _check_traces(db: Path, results: list[dict[str, Any]]) -> int:
    """Sessions whose stored trace matches what the client saw."""
    from myagent.trace import SQLiteTraceStorage, TraceFilter

    storage = SQLiteTraceStorage(db)
    right = 0
    try:
        for result in results:
            traces = await storage.query_traces(TraceFilter(session_ids=[result["session_id"]]))
            if (
                len(traces) == 1
                and result["trace_ids"] == {traces[0].trace_id}
                and traces[0].status == "success"
                and len(traces[0].think_records) == 2
                and len(traces[0].tool_records) == 1
                and traces[0].tool_records[0].success
            ):
                right += 1
    finally:
        await storage.close()
    return right


def _percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def run(smoke: bool) -> list[dict[str, Any]]:
    """Start the server process, drive the sessions, and report rows."""
    sessions = 20 if smoke else 500
    rows = _measure(sessions, "deflate", "")
    if not smoke:
        rows += _measure(sessions, None, "compression=None: ")
    return rows


def _measure(sessions: int, compression: str | None, prefix: str) -> list[dict[str, Any]]:
    """One server process with one compression setting, under `sessions` at once."""
    from benchmarks.measure import row

    with tempfile.TemporaryDirectory(prefix="myagent-ws-bench-") as tmp:
        db = Path(tmp) / "traces.db"
        env = dict(
            os.environ,
            TRACE_STORAGE="sqlite",
            TRACE_DATABASE_URL=f"sqlite:///{db}",
            PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        )
        env.pop("OPENAI_API_KEY", None)
        env.pop("OPENAI_BASE_URL", None)
        server = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.ws_bench", "--serve", compression or "none"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline().split()[1])
            url = f"ws://127.0.0.1:{port}"
            asyncio.run(_load(url, 5))  # warm-up: imports, first agent, first trace
            idle = _memory_kib(server.pid)
            results, elapsed = asyncio.run(_load(url, sessions))
            loaded = _memory_kib(server.pid)
            time.sleep(0.5)
            after = _memory_kib(server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        right = asyncio.run(_check_traces(db, results))

    answered = sum(1 for r in results if r["ok"])
    latencies = sorted(r["latency"] * 1000 for r in results)
    peak_mib = loaded.get("VmHWM", 0) / 1024
    idle_mib = idle.get("VmRSS", 0) / 1024
    per_session_kib = (loaded.get("VmHWM", 0) - idle.get("VmRSS", 0)) / max(sessions, 1)
    label = f"{prefix}{sessions} concurrent sessions"
    return [
        row(
            SECTION,
            f"{label}: answered",
            f"{answered}/{sessions}",
            target="all",
            met=answered == sessions,
        ),
        row(
            SECTION,
            f"{label}: traces right",
            f"{right}/{sessions}",
            target="all",
            met=right == sessions,
            detail="one success trace per session, id = the frames' trace_id, 2 think + 1 tool",
        ),
        row(SECTION, f"{label}: latency p50", round(_percentile(latencies, 50), 1), "ms"),
        row(
            SECTION,
            f"{label}: latency p95",
            round(_percentile(latencies, 95), 1),
            "ms",
            detail="user.message sent → agent.final_answer received, all sessions at once",
        ),
        row(SECTION, f"{label}: latency max", round(latencies[-1] if latencies else 0, 1), "ms"),
        row(
            SECTION,
            f"{label}: throughput",
            round(sessions / elapsed, 1) if elapsed else 0,
            "sessions/s",
            detail="connect + create session + one run with a tool call + close",
        ),
        row(SECTION, f"{prefix}server memory idle (RSS)", round(idle_mib, 1), "MiB"),
        row(
            SECTION,
            f"{prefix}server memory peak (RSS) with {sessions} concurrent sessions",
            round(peak_mib, 1),
            "MiB",
            detail=f"≈ {per_session_kib:.0f} KiB per live session over idle",
        ),
        row(
            SECTION,
            f"{prefix}server memory after the sessions closed (RSS)",
            round(after.get("VmRSS", 0) / 1024, 1),
            "MiB",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--serve", metavar="COMPRESSION", help="run the benchmark's server (deflate or none)"
    )
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(None if args.serve == "none" else args.serve))
        return
    for item in run(args.smoke):
        print(f"{item['metric']}: {item['value']} {item['unit']} {item['detail']}")


if __name__ == "__main__":
    main()
