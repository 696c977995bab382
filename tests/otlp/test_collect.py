"""`myagent collect` in its own process: receives OTLP into a database that a viewer
(another process) reads; same token rules as the viewer."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from myagent.trace import SQLiteTraceStorage
from tests.support.viewer import free_port

ROOT = Path(__file__).resolve().parents[2]


def start_collect(db: Path, port: int, token: str | None = None) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.pop("TRACE_VIEWER_TOKEN", None)
    if token:
        env["TRACE_VIEWER_TOKEN"] = token
    argv = ["collect", "--port", str(port), "--db", str(db), "--log-level", "warning"]
    process = subprocess.Popen([sys.executable, "-m", "myagent.cli", *argv], env=env)
    deadline = time.monotonic() + 30
    while True:
        try:
            headers = {"authorization": f"Bearer {token}"} if token else {}
            if httpx.get(f"http://127.0.0.1:{port}/api/health", headers=headers).is_success:
                return process
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError("myagent collect did not start")
        time.sleep(0.1)


@pytest.fixture
def collect(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    process = start_collect(tmp_path / "collected.db", port, token="collect-token")
    try:
        yield f"http://127.0.0.1:{port}", tmp_path / "collected.db"
    finally:
        process.terminate()
        process.wait(30)


def test_collect_receives_sdk_spans_into_a_database_the_viewer_reads(
    collect: tuple[str, Path],
) -> None:
    url, db = collect
    exporter = OTLPSpanExporter(
        endpoint=url + "/v1/traces", headers={"authorization": "Bearer collect-token"}
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "batch-job"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("batch")
    with tracer.start_as_current_span("nightly run") as root, tracer.start_as_current_span("load"):
        pass
    provider.shutdown()
    trace_id = format(root.get_span_context().trace_id, "032x")
    storage = SQLiteTraceStorage(db)
    deadline = time.monotonic() + 10
    while (trace := storage.get_trace_sync(trace_id)) is None or trace.status == "running":
        assert time.monotonic() < deadline, "the collected trace never reached the database"
        time.sleep(0.05)
    assert trace.name == "nightly run" and [r.name for r in trace.runs] == ["nightly run", "load"]
    assert trace.metadata["service.name"] == "batch-job"
    refused = httpx.post(
        url + "/v1/traces", content=b"", headers={"content-type": "application/x-protobuf"}
    )
    assert refused.status_code == 401  # the token rules of the viewer
    assert httpx.get(url + "/api/traces").status_code in (401, 404)  # no viewer here
