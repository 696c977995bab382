"""The replay benchmark runs end to end in smoke mode (no timing is asserted here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_replay_bench_smoke_produces_its_rows(tmp_path: Path) -> None:
    rows_json = tmp_path / "rows.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLM_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    command = [sys.executable, "-m", "benchmarks", "--smoke", "--only", "replay_bench"]
    proc = subprocess.run(
        [*command, "--output", str(tmp_path / "README.md"), "--json", str(rows_json)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(rows_json.read_text())
    metrics = {r["metric"]: r for r in rows}
    assert "replay added per standard run" in metrics
    assert metrics["replay added per standard run"]["target"] == "≤ 2 ms"
    suite = metrics["recorded traces replayed as a test suite (50)"]
    assert isinstance(suite["value"], float) and suite["unit"] == "s"
    as_tests = metrics["recorded traces replayed as pytest tests (50)"]
    assert isinstance(as_tests["value"], float) and "CPU" in as_tests["detail"]
