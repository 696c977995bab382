"""`GET /api/writers`: writers' drop counters, read by a viewer in another process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from myagent.trace import InMemoryTraceStorage, SQLiteTraceStorage, TraceManager
from myagent.trace.storage.base import TraceStorage
from tests.support.lossy_writer import BUFFER, BURST, EXPECTED_DROPS, FAILED

ROOT = Path(__file__).resolve().parents[2]


def run_lossy_writer(*args: str) -> dict[str, Any]:
    """Run tests.support.lossy_writer in its own process; its report of itself."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.lossy_writer", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = orjson.loads(done.stdout.strip().splitlines()[-1])
    return report


@pytest.fixture(params=["sqlite", "postgres"])
def lossy(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[TraceStorage, dict[str, Any]]:
    """Storage that another process wrote while it stalled and failed, and that process's
    own report (what it produced, its counters)."""
    if request.param == "sqlite":
        db = tmp_path / "lossy.db"
        report = run_lossy_writer("sqlite", str(db))
        return SQLiteTraceStorage(db), report
    storage = request.getfixturevalue("postgres_storage")
    return storage, run_lossy_writer("postgres", storage.url, storage.schema)


def test_drops_of_another_process_are_reported_exactly(
    lossy: tuple[TraceStorage, dict[str, Any]], viewer_factory: Any
) -> None:
    """The viewer serving the storage reports the writer's drops by reason, exactly as that
    process counted them, and the books balance: produced = written + dropped."""
    storage, report = lossy
    viewer = viewer_factory(storage, token="t0ken")
    with httpx.Client(base_url=viewer.url, headers={"x-trace-token": "t0ken"}) as client:
        body = client.get("/api/writers").json()
        stored = client.get("/api/traces/count").json()["count"]
    [writer] = body["writers"]
    mine = report["writer"]
    assert writer["writer_id"] == mine["writer_id"] and writer["pid"] == mine["pid"]
    assert writer["dropped"] == mine["dropped"] == EXPECTED_DROPS
    assert writer["dropped"] == {"buffer_full": BURST - BUFFER, "write_failed": FAILED}
    assert writer["closed"] is True and writer["live"] is False
    assert writer["written"] == mine["written"] == stored
    assert "disk I/O error" in writer["last_error"]
    totals = body["totals"]
    assert totals["dropped_total"] == sum(EXPECTED_DROPS.values()) and totals["writers"] == 1
    assert report["produced"] == stored + totals["dropped_total"]


def test_writers_need_the_token(tmp_path: Path, viewer_factory: Any) -> None:
    viewer = viewer_factory(SQLiteTraceStorage(tmp_path / "t.db"), token="t0ken")
    with httpx.Client(base_url=viewer.url) as client:
        assert client.get("/api/writers").status_code == 401
        ok = client.get("/api/writers", headers={"authorization": "Bearer t0ken"})
    assert ok.json() == {
        "writers": [],
        "totals": {
            "writers": 0,
            "submitted": 0,
            "written": 0,
            "partial_writes": 0,
            "write_errors": 0,
            "buffer_depth": 0,
            "dropped": {},
            "dropped_total": 0,
        },
    }


def test_an_in_process_viewer_reads_its_managers_counters_live(viewer_factory: Any) -> None:
    """Serving a manager, the viewer shows that manager's writer from memory (in-memory
    storage persists nothing across processes), drops included as they happen."""
    manager = TraceManager(InMemoryTraceStorage(), buffer_size=3, flush_interval=30)
    try:
        for i in range(10):  # nothing wakes the writer: 7 of them find the buffer full
            with manager.trace(f"t{i}"):
                pass
        viewer = viewer_factory(manager=manager)
        body = httpx.get(f"{viewer.url}/api/writers").json()
        [writer] = body["writers"]
        assert writer["live"] is True and writer["dropped"] == {"buffer_full": 7}
        assert writer["buffer_depth"] == 3 and body["totals"]["dropped_total"] == 7
    finally:
        manager.close(5)
