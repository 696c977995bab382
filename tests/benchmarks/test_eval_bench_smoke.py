"""`python -m benchmarks --smoke --only eval_bench` works end to end (no timing asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_eval_bench_smoke(tmp_path: Path) -> None:
    rows_json = tmp_path / "rows.json"
    env = dict(
        os.environ, PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}", MYAGENT_BENCH_DIR=str(tmp_path)
    )
    command = [sys.executable, "-m", "benchmarks", "--smoke", "--only", "eval_bench"]
    proc = subprocess.run(
        [*command, "--output", tmp_path / "README.md", "--json", rows_json],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(rows_json.read_text())
    metrics = [r["metric"] for r in rows]
    assert any(
        m.startswith("list page of 50 filtered by score.helpfulness >= 0.8") for m in metrics
    )
    assert any(m.startswith("compare two experiments of 200 items") for m in metrics)
    assert any(m.startswith("experiment of 50 items, offline model") for m in metrics)
    assert all(isinstance(r["value"], int | float) for r in rows)
