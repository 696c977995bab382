"""The viewer token never reaches uvicorn's access log, even when a link carries it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from myagent.trace.viewer.server import mask_query_token
from tests.support.viewer import free_port, seed_traces
from tests.viewer.test_server import ROOT, _wait_ready

TOKEN = "tok-5f2c9a7e1b3d4c6f8a0b"


def test_mask_query_token() -> None:
    assert mask_query_token("/x?token=abc&r=1") == "/x?token=***&r=1"
    assert mask_query_token("/x?r=1&token=abc") == "/x?r=1&token=***"
    assert mask_query_token("/x?mytoken=abc") == "/x?mytoken=abc"


def test_the_access_log_shows_the_path_with_the_token_masked(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    seed_traces(db)
    port = free_port()
    log = tmp_path / "viewer.log"
    env = {
        **os.environ,
        "TRACE_VIEWER_TOKEN": TOKEN,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    command = [sys.executable, "-m", "myagent.cli", "viewer", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--db", str(db), "--log-level", "info"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_ready(f"{base}/api/health", process)
            page = httpx.get(f"{base}/traces/abc?token={TOKEN}&r=1", timeout=5)
            assert page.status_code == 303
            api = httpx.get(f"{base}/api/traces/count?token={TOKEN}", timeout=5)
            assert api.status_code == 200
        finally:
            process.terminate()
            process.wait(10)
    text = log.read_text()
    assert "/api/traces/count?token=*** HTTP/1.1" in text  # the access log is on
    assert "/traces/abc?token=***&r=1" in text
    assert TOKEN not in text
