"""The main job for now: a traced workflow writing to SQLite, then a summary read back.

Run with `make demo`. Traces land in ./traces.db (override with TRACE_DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import os

from myagent.trace import SQLiteTraceStorage, ThinkRecord, ToolRecord, TraceManager, trace_run
from myagent.trace.config import sqlite_path
from myagent.trace.setup import set_trace_manager


@trace_run
async def get_weather(location: str) -> str:
    """A stand-in tool: the agent demo with real tools replaces this example."""
    await asyncio.sleep(0.01)
    return f"Sunny, 72°F in {location}"


async def weather_run(manager: TraceManager, question: str, city: str) -> None:
    async with manager.trace("weather-agent", agent_name="weather-agent", input=question) as trace:
        think = manager.start_run(
            ThinkRecord,
            "think",
            agent_name="weather-agent",
            input=question,
            system_prompts=["You are a weather assistant."],
            messages=[{"role": "user", "content": question}],
            model="scripted-offline",
        )
        manager.end_run(think, llm_response="I'll check the weather for you...", tokens_used=150)
        async with manager.run(
            "get_weather",
            ToolRecord,
            parent=think,
            tool_name="get_weather",
            input_params={"location": city},
        ) as tool:
            tool.output = await get_weather(city)  # type: ignore[attr-defined]
        trace.output = tool.output  # type: ignore[attr-defined]


async def main() -> None:
    url = os.environ.get("TRACE_DATABASE_URL", "sqlite:///traces.db")
    manager = TraceManager(SQLiteTraceStorage(sqlite_path(url)))
    set_trace_manager(manager)
    for city in ("NYC", "Paris", "Tokyo"):
        await weather_run(manager, f"What's the weather in {city}?", city)
    manager.flush()
    traces = await manager.aget_all_traces()
    print(f"{len(traces)} traces in {sqlite_path(url)} (offline example, no LLM called):")
    for trace in traces[-3:]:
        print(
            f"  {trace.start_time:%H:%M:%S} {trace.agent_name} {trace.status} "
            f"{trace.total_duration:.3f}s records={len(trace.runs)} output={trace.output!r}"
        )
    print("stats:", manager.stats["writer"])
    manager.close()


if __name__ == "__main__":
    asyncio.run(main())
