"""The live feed: traces starting, growing and finishing, across processes and in-process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from myagent.trace import InMemoryTraceStorage, SQLiteTraceStorage, ThinkRecord, TraceManager
from myagent.trace.viewer import start_trace_viewer
from tests.support.viewer import free_port

ROOT = Path(__file__).resolve().parents[2]


def sse_events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event name, data) for each server-sent event of a streaming response."""
    name, data = "message", ""
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif line == "":
            if data:
                yield name, orjson.loads(data)
            name, data = "message", ""


def test_a_trace_written_by_another_process_appears_and_grows_live(
    tmp_path: Path, viewer_factory: Any
) -> None:
    db = tmp_path / "traces.db"
    SQLiteTraceStorage(db).close_sync()  # the schema exists before either side starts
    server = viewer_factory(SQLiteTraceStorage(db))
    control = tmp_path / "control"
    control.mkdir()
    seen: list[tuple[str, int]] = []
    with httpx.Client(base_url=server.url, timeout=httpx.Timeout(30, read=30)) as client:
        with client.stream("GET", "/api/live") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            writer = subprocess.Popen(
                [sys.executable, "-m", "tests.support.live_writer", str(db), str(control)],
                cwd=ROOT,
            )
            try:
                for event, data in sse_events(response):
                    if event != "trace" or data["agent_name"] != "live_agent":
                        continue
                    seen.append((data["status"], data["run_count"]))
                    if data["status"] == "running" and data["run_count"] == 1:
                        (control / "go1").touch()  # the running LLM call was seen live
                    if data["status"] == "running" and data["run_count"] == 2:
                        (control / "go2").touch()  # the tool appeared while running
                    if data["status"] == "success":
                        break
            finally:
                (control / "go1").touch()
                (control / "go2").touch()
                writer.wait(30)
        trace_id = (control / "trace_id").read_text()
        detail = client.get(f"/api/traces/{trace_id}").json()
    assert ("running", 1) in seen and ("running", 2) in seen
    assert seen[-1] == ("success", 2)
    assert [r["name"] for r in detail["records"]] == ["think", "slow_tool"]


def test_live_feed_filters_by_trace_id(tmp_path: Path, viewer_factory: Any) -> None:
    db = tmp_path / "traces.db"
    server = viewer_factory(SQLiteTraceStorage(db))
    manager = TraceManager(SQLiteTraceStorage(db), flush_interval=0.1)
    got: list[str] = []
    with manager.trace("wanted", agent_name="a") as wanted:
        pass
    stop = threading.Event()

    def write_others() -> None:
        while not stop.is_set():
            with manager.trace("other", agent_name="b"):
                pass
            manager.flush()
            stop.wait(0.1)

    with (
        httpx.Client(base_url=server.url, timeout=30) as client,
        client.stream("GET", "/api/live", params={"trace_id": wanted.trace_id}) as response,
    ):
        thread = threading.Thread(target=write_others)
        thread.start()
        try:
            for event, data in sse_events(response):
                if event == "trace":
                    got.append(data["trace_id"])
                    if len(got) == 1:
                        with manager.trace("wanted again", agent_name="a"):
                            pass
                        # rewrite the wanted trace so it changes again
                        manager.storage.write_traces([wanted])  # type: ignore[attr-defined]
                    if len(got) == 2:
                        break
        finally:
            stop.set()
            thread.join()
    manager.close()
    assert got == [wanted.trace_id, wanted.trace_id]


async def test_in_process_viewer_shows_running_traces_of_in_memory_storage() -> None:
    manager = TraceManager(InMemoryTraceStorage(), flush_interval=0.1)
    port = free_port()
    server = await start_trace_viewer(port=port, manager=manager)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            assert (await client.get("/api/health")).json()["in_process"] is True
            async with client.stream("GET", "/api/live") as response:
                with manager.trace("inproc", agent_name="mem_agent", input="hi") as trace:
                    think = manager.start_run(ThinkRecord, "think", model="m")
                    events = response.aiter_lines()
                    running = None
                    async for line in events:
                        if line.startswith("data:") and "mem_agent" in line:
                            running = orjson.loads(line[5:])
                            break
                    assert running is not None and running["status"] == "running"
                    detail = (await client.get(f"/api/traces/{trace.trace_id}")).json()
                    assert detail["status"] == "running"
                    assert detail["records"][0]["end_us"] is None
                    manager.end_run(think, llm_response="hello")
                manager.flush()
                async for line in events:
                    if line.startswith("data:") and '"success"' in line:
                        break
            listed = (await client.get("/api/traces")).json()["items"]
            assert [t["status"] for t in listed] == ["success"]
    finally:
        server.should_exit = True
        await asyncio.sleep(0.2)
        manager.close()
