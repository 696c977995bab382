"""Soak test: concurrent scripted agents trace into SQLite while the viewer's API is polled.

Stops by itself after --minutes (default 1), then prints traces produced, stored and
dropped (produced must equal stored + dropped) and the peak RSS. No network, no real LLM.

    .venv/bin/python scripts/soak.py --minutes 1 --agents 8
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

import myagent
from myagent.llm import ScriptedLLM
from myagent.trace import SQLiteTraceStorage, TraceManager, set_trace_manager
from myagent.trace.viewer import start_trace_viewer

QUESTIONS = ("What is the weather in Paris?", "Calculate 12 times 7", "Weather in Tokyo please")


def get_weather(city: str) -> str:
    """Current weather for a city (canned)."""
    return f"Sunny, 21 C in {city}"


def calculator(expression: str) -> str:
    """Multiply the numbers in an expression like '12 * 7' (enough for the soak)."""
    product = 1.0
    for part in expression.replace("x", "*").split("*"):
        try:
            product *= float(part)
        except ValueError:
            return "unsupported expression"
    return f"{product:g}"


async def agent_loop(worker: int, deadline: float, counts: dict[str, int]) -> None:
    """Run scripted agents back to back until the deadline."""
    i = 0
    while time.monotonic() < deadline:
        agent = myagent.create_toolcall_agent(
            name=f"soak-{worker % 3}", tools=[get_weather, calculator], llm=ScriptedLLM()
        )
        try:
            await agent.run(QUESTIONS[i % len(QUESTIONS)])
            counts["runs"] += 1
        except Exception:
            counts["agent_errors"] += 1
        i += 1


async def poll_viewer(url: str, deadline: float, counts: dict[str, int]) -> None:
    """Read the list, a detail and the count pages like a user with the viewer open."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        while time.monotonic() < deadline:
            page = await client.get("/api/traces", params={"limit": 20})
            counts["viewer_requests"] += 1
            if page.status_code >= 500:
                counts["viewer_5xx"] += 1
            items = page.json().get("items", []) if page.status_code == 200 else []
            if items:
                detail = await client.get(f"/api/traces/{items[0]['trace_id']}")
                counts["viewer_requests"] += 1
                counts["viewer_5xx"] += detail.status_code >= 500
            await client.get("/api/traces/count")
            counts["viewer_requests"] += 1
            await asyncio.sleep(0.2)


async def soak(minutes: float, agents: int, db: Path, port: int) -> dict[str, Any]:
    """Drive the load for `minutes`; return the figures."""
    manager = TraceManager(SQLiteTraceStorage(db))
    set_trace_manager(manager)
    server = await start_trace_viewer(port=port, storage=SQLiteTraceStorage(db))
    counts = {"runs": 0, "agent_errors": 0, "viewer_requests": 0, "viewer_5xx": 0}
    deadline = time.monotonic() + minutes * 60
    started = time.monotonic()
    try:
        await asyncio.gather(
            *(agent_loop(w, deadline, counts) for w in range(agents)),
            poll_viewer(f"http://127.0.0.1:{port}", deadline, counts),
        )
    finally:
        server.should_exit = True
        serving = [t for t in asyncio.all_tasks() if t.get_name() == "myagent-trace-viewer"]
        await asyncio.gather(*serving, return_exceptions=True)
    elapsed = time.monotonic() - started
    closed_in_time = manager.close(timeout=30)
    stats = manager.stats
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT COUNT(*) FROM traces").fetchone()[0]
    conn.close()
    produced = stats["traces_finished"]
    dropped = stats["writer"]["dropped_total"]
    return {
        "seconds": round(elapsed, 1),
        "agents": agents,
        **counts,
        "traces_produced": produced,
        "traces_stored": stored,
        "traces_dropped": dropped,
        "dropped_by_reason": stats["writer"]["dropped"],
        "balanced": produced == stored + dropped,
        "closed_in_time": closed_in_time,
        "traces_per_second": round(produced / elapsed, 1),
        "db_mb": round(sum(p.stat().st_size for p in db.parent.glob(db.name + "*")) / 1e6, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    """Parse arguments, run the soak, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--db", type=Path, default=None, help="default: a temporary file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "soak.db"
        figures = asyncio.run(soak(args.minutes, args.agents, db, args.port))
    for key, value in figures.items():
        print(f"{key:>20}: {value}")


if __name__ == "__main__":
    main()
