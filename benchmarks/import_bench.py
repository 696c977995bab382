"""`POST /api/import` of a large JSONL file: time, the process's memory, and whether the
viewer keeps answering meanwhile (`python -m benchmarks.import_bench [MiB]`).

The file holds standard traces (7 records each) as `/api/export?format=jsonl` writes
them; the viewer (uvicorn, in a thread of this process) stores them in SQLite while
another client asks `/api/health` every 50 ms; the slowest of those answers is reported.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson

from benchmarks.measure import Row, row
from benchmarks.redaction_bench import standard_traces
from myagent.trace import SQLiteTraceStorage
from myagent.trace.ids import new_trace_id

SECTION = "Import"
MIB = 1024 * 1024


def _write_file(path: Path, mib: int) -> int:
    lines = [orjson.dumps(t.to_dict()) for t in standard_traces(200)]
    count = 0
    with path.open("wb") as out:
        while out.tell() < mib * MIB:
            for line in lines:
                data = orjson.loads(line)
                data["trace_id"] = new_trace_id()
                out.write(orjson.dumps(data) + b"\n")
                count += 1
    return count


def measure(mib: int) -> dict[str, float]:
    """Seconds, traces, peak RSS growth (MB) and slowest health answer (s) of one import."""
    from tests.support.viewer import ViewerTestServer

    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "traces.jsonl"
        count = _write_file(file, mib)
        server = ViewerTestServer(SQLiteTraceStorage(Path(tmp) / "v.db"), max_import_bytes=1 << 40)
        server.start()
        slowest = [0.0]
        done = threading.Event()

        def probe() -> None:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                while not done.is_set():
                    start = time.perf_counter()
                    client.get("/api/health")
                    slowest[0] = max(slowest[0], time.perf_counter() - start)
                    time.sleep(0.05)

        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        start = time.perf_counter()

        def body() -> object:
            with file.open("rb") as handle:
                while chunk := handle.read(MIB):
                    yield chunk

        with httpx.Client(base_url=server.url, timeout=3600) as client:
            response = client.post(
                "/api/import",
                content=body(),
                headers={"X-Myagent-Request": "1", "Content-Type": "application/x-ndjson"},
            )
        seconds = time.perf_counter() - start
        done.set()
        prober.join()
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        server.stop()
        assert response.status_code == 200, response.text[:300]
        assert response.json()["imported"] == count
    return {"seconds": seconds, "traces": count, "rss_mb": after - before, "slowest": slowest[0]}


def run(smoke: bool) -> list[Row]:
    """The import figures as table rows."""
    mib = 2 if smoke else 192
    got = measure(mib)
    return [
        row(
            SECTION,
            f"import {mib} MiB JSONL",
            round(got["seconds"], 1),
            "s",
            detail=f"{got['traces']} traces",
        ),
        row(SECTION, "peak memory growth", round(got["rss_mb"]), "MB"),
        row(SECTION, "slowest /api/health during it", round(got["slowest"] * 1000), "ms"),
    ]


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 192
    print(measure(size))
