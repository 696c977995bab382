"""The demo (the README's main job) writes the example agents' traces to SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from myagent.trace import SQLiteTraceStorage

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"


def test_demo_writes_traces_of_every_example_agent(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLM_"))}
    out = subprocess.run(
        [sys.executable, str(DEMO), "--no-viewer", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert "offline ScriptedLLM" in out.stderr  # it says it is not calling a real model
    traces = SQLiteTraceStorage(db).query_traces_sync(order_by="start_time")
    assert {t.agent_name for t in traces} == {"weather-agent", "calculator-agent", "stocks-agent"}
    assert all(t.status == "success" for t in traces)
    weather = next(t for t in traces if t.agent_name == "weather-agent")
    assert "Sunny, 72°F" in str(weather.output)
    stocks = next(t for t in traces if t.agent_name == "stocks-agent")
    failed = [r for r in stocks.tool_records if not r.success]
    assert failed and failed[0].error_type == "ConnectionError"
    assert stocks.has_errors
