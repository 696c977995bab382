"""The three ways to start the viewer: trace_server.py, `myagent viewer`, and the UI files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from myagent.cli import build_parser
from myagent.trace.viewer.settings import STATIC_DIR
from tests.support.viewer import free_port, seed_traces

ROOT = Path(__file__).resolve().parents[2]


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "trace_server.py"],
        [sys.executable, "-m", "myagent.cli", "viewer"],
    ],
    ids=["trace_server.py", "myagent viewer"],
)
def test_command_line_serves_a_trace_file(command: list[str], tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    seeded = seed_traces(db)
    port = free_port()
    env = {**os.environ, "TRACE_VIEWER_TOKEN": ""}
    process = subprocess.Popen(
        [*command, "--port", str(port), "--db", str(db), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    try:
        health = _wait_ready(f"http://127.0.0.1:{port}/api/health", process)
        assert health.json()["storage"] == "SQLiteTraceStorage"
        count = httpx.get(f"http://127.0.0.1:{port}/api/traces/count", timeout=5).json()
        assert count["count"] == len(seeded.all)
    finally:
        process.terminate()
        process.wait(10)


def test_database_url_from_the_environment(tmp_path: Path) -> None:
    db = tmp_path / "env.db"
    seed_traces(db)
    port = free_port()
    env = {**os.environ, "TRACE_DATABASE_URL": f"sqlite:///{db}", "TRACE_VIEWER_TOKEN": ""}
    process = subprocess.Popen(
        [sys.executable, "trace_server.py", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    try:
        _wait_ready(f"http://127.0.0.1:{port}/api/health", process)
        assert httpx.get(f"http://127.0.0.1:{port}/api/traces/count").json()["count"] == 5
    finally:
        process.terminate()
        process.wait(10)


def test_public_bind_without_token_exits_with_an_explanation(tmp_path: Path) -> None:
    env = {**os.environ, "TRACE_VIEWER_TOKEN": ""}
    result = subprocess.run(
        [sys.executable, "trace_server.py", "--host", "0.0.0.0", "--db", str(tmp_path / "x.db")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "TRACE_VIEWER_TOKEN" in result.stderr


def test_cli_parses_the_viewer_options() -> None:
    args = build_parser().parse_args(["viewer", "--host", "::1", "--port", "9000", "--db", "x.db"])
    assert (args.host, args.port, args.db) == ("::1", 9000, "x.db")


def test_built_ui_is_in_the_package_and_served_with_a_fallback(tmp_path: Path) -> None:
    index = STATIC_DIR / "index.html"
    assert index.is_file(), "run `make web-build`"
    assert list((STATIC_DIR / "assets").glob("index-*.js"))
    scripts = re.findall(r"<script[^>]*>", index.read_text())
    assert scripts and all(" src=" in tag for tag in scripts)  # no inline script (CSP)


def test_a_built_wheel_contains_the_ui(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        timeout=300,
    )
    wheel = next(tmp_path.glob("myagent-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "myagent/trace/viewer/static/index.html" in names
    assert any(n.startswith("myagent/trace/viewer/static/assets/index-") for n in names)
