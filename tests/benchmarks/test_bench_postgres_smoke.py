"""`python -m benchmarks --backend postgres --smoke` (what CI runs, small): the query,
viewer and retention benchmarks run on PostgreSQL and give every row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from benchmarks import pg_dataset

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = [
    ("Query engine (PostgreSQL)", "filtered page of 50 trace summaries"),
    ("Query engine (PostgreSQL)", "agent performance stats, a 7% agent"),
    ("Query engine (PostgreSQL)", "tool usage table of the 7% agent"),
    ("Trace viewer (PostgreSQL)", "API list first page (50): p95"),
    ("Trace viewer (PostgreSQL)", "API full-text search: p95"),
    ("Trace viewer (PostgreSQL)", "API trace detail: p95"),
    ("Trace viewer (PostgreSQL)", "2 writer processes at once, one database: total"),
    ("Trace viewer (PostgreSQL)", "API list first page (50) during the 2-writer load: p95"),
    ("Retention", "PostgreSQL: longest write during the deletion"),
]


def test_scale_benchmarks_run_on_postgres(tmp_path: Path) -> None:
    try:
        psycopg.connect(pg_dataset.SERVER, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"PostgreSQL unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    rows_json = tmp_path / "rows.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--smoke",
            "--backend",
            "postgres",
            "--only",
            "query_bench",
            "viewer_bench",
            "retention_bench",
            "--output",
            str(tmp_path / "README.md"),
            "--json",
            str(rows_json),
        ],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(rows_json.read_text())
    assert not [r for r in rows if r["metric"] == "module failed"], rows
    got = [(str(r["section"]), str(r["metric"])) for r in rows]
    missing = [
        (section, start)
        for section, start in EXPECTED
        if not any(s == section and m.startswith(start) for s, m in got)
    ]
    assert missing == []
