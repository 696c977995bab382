"""The OTLP ingest benchmark runs end to end in smoke mode and yields its rows (no timing
is asserted: figures go to benchmarks/README.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_otlp_bench_smoke_produces_its_rows(tmp_path: Path) -> None:
    rows_json = tmp_path / "rows.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    command = [sys.executable, "-m", "benchmarks", "--smoke", "--only", "otlp_bench"]
    proc = subprocess.run(
        [*command, "--output", tmp_path / "README.md", "--json", rows_json],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(rows_json.read_text())
    metrics = [str(r["metric"]) for r in rows]
    assert [m.split(" (")[0] for m in metrics] == [
        "OTLP protobuf through the receiver into SQLite",
        "the same, per CPU-second",
        "the same runs straight into our background writer",
        "receiver ÷ writer",
        "list page",
        "list page",
        "list page",
    ]
    assert all(isinstance(r["value"], int | float) for r in rows)
    assert {r["section"] for r in rows} == {"8. OTLP ingest"}
