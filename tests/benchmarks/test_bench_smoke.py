"""The benchmark command works end to end (smoke mode) and its runner's hook behaves.

No timing is asserted here: figures belong in benchmarks/README.md, not in tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import runner

ROOT = Path(__file__).resolve().parents[2]

# (section, start of the metric) of every row the suite must produce.
EXPECTED_ROWS = [
    ("1. Caller latency", "untraced standard agent run"),
    ("1. Caller latency", "added per standard agent run"),
    ("1. Caller latency", "OpenTelemetry SDK, same 7 spans"),
    ("1. Caller latency", "myagent ÷ OpenTelemetry"),
    ("1. Caller latency", "added per agent run with tracing disabled"),
    ("1. Caller latency", "added per tool record"),
    ("1. Caller latency", "added per record (`with manager.run"),
    ("1. Caller latency", "added per record (`@trace_run"),
    ("1. Caller latency", "OpenTelemetry SDK, one span"),
    ("2. CPU per agent run", "added CPU per standard agent run"),
    ("1. Caller latency", "standard agent run (7 records): caller mean added"),
    ("1. Caller latency", "one `@trace_run` record: caller mean added"),
    ("1. Caller latency", "standard agent run, writer process (opt-in): caller mean added"),
    ("1. Caller latency", "one `@trace_run` record, writer process (opt-in): caller mean"),
    ("2. CPU per agent run", "writer process (opt-in): added CPU per run in the traced"),
    ("2. CPU per agent run", "writer process (opt-in): CPU per run of both processes"),
    ("2. CPU per agent run", "OpenTelemetry SDK, in-memory only"),
    ("2. CPU per agent run", "OpenTelemetry SDK, BatchSpanProcessor"),
    ("2. CPU per agent run", "myagent ÷ OpenTelemetry in-memory"),
    ("3. SQLite ingest", "myagent, standard agent runs"),
    ("3. SQLite ingest", "raw sqlite3 executemany"),
    ("3. SQLite ingest", "myagent ÷ raw"),
    ("3. SQLite ingest", "reference: raw executemany of generic"),
    ("4. Footprint", "SQLite bytes per record"),
    ("4. Footprint", "memory per 1,000 standard traces"),
    ("4. Footprint", "OpenTelemetry InMemorySpanExporter"),
    ("5. Burst", "1 s burst"),
    ("5. Burst", "burst: stored"),
    ("5. Burst", "burst: dropped"),
    ("5. Burst", "burst: warnings logged"),
    ("5. Burst", "paced at"),
    ("7. Cost growth (latency)", "added per record, 1× records per trace"),
    ("7. Cost growth (latency)", "added per record, 10× records per trace"),
    ("7. Cost growth (latency)", "added per record, 100× records per trace"),
    ("7. Cost growth (latency)", "added per record, 10× payload size"),
    ("7. Cost growth (latency)", "added per record, 100× payload size"),
    ("7. Cost growth (ingest)", "ingest, 10× records per trace"),
    ("7. Cost growth (ingest)", "ingest, 100× records per trace"),
    ("7. Cost growth (ingest)", "ingest, 10× payload size"),
    ("7. Cost growth (ingest)", "ingest, 100× payload size"),
    ("7. Cost growth (ingest)", "ingest with 10× the data already stored"),
    ("7. Cost growth (ingest)", "ingest with 100× the data already stored"),
]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, object]], str]:
    """Rows and markdown of one `python -m benchmarks --smoke` run (our modules) in a child."""
    pytest.importorskip("opentelemetry.sdk", reason="needs the bench extra (make bench-smoke)")
    tmp = tmp_path_factory.mktemp("bench")
    table, rows_json = tmp / "README.md", tmp / "rows.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    # Our modules only: `make bench-smoke` runs every module, other engineers' too.
    command = [sys.executable, "-m", "benchmarks", "--smoke", "--only", *runner.OURS]
    proc = subprocess.run(
        [*command, "--output", table, "--json", rows_json],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(rows_json.read_text()), table.read_text()


def test_smoke_run_produces_every_row(smoke_run: tuple[list[dict[str, object]], str]) -> None:
    rows, _ = smoke_run
    got = [(str(r["section"]), str(r["metric"])) for r in rows]
    missing = [
        (section, start)
        for section, start in EXPECTED_ROWS
        if not any(s == section and m.startswith(start) for s, m in got)
    ]
    assert missing == []
    assert not [r for r in rows if r["metric"] == "module failed"]


def test_smoke_run_rows_have_values_and_verdicts(
    smoke_run: tuple[list[dict[str, object]], str],
) -> None:
    rows, _ = smoke_run
    ours = [r for r in rows if r["module"] in runner.OURS]
    assert {r["module"] for r in ours} == set(runner.OURS)
    for r in ours:
        assert isinstance(r["value"], int | float), r
        assert r["met"] in (True, False, None), r
        assert (r["met"] is None) == (not r["target"]), r


def test_smoke_run_writes_the_markdown_table(
    smoke_run: tuple[list[dict[str, object]], str],
) -> None:
    rows, markdown = smoke_run
    assert runner.START in markdown and runner.END in markdown
    assert "| Section | Metric | Value | Unit | Target | Met | Notes |" in markdown
    assert "Machine: " in markdown and "SQLite " in markdown and "Python " in markdown
    body = markdown.split(runner.START, 1)[1].split(runner.END, 1)[0]
    assert body.count("\n| ") == len(rows) + 2  # header, rule, then one line per row


def test_discover_puts_ours_first_then_other_modules(tmp_path: Path) -> None:
    for name in ("query_bench", "burst_bench", "latency_bench", "ws_bench", "helpers"):
        (tmp_path / f"{name}.py").write_text("")
    assert runner.discover(tmp_path) == ["latency_bench", "burst_bench", "query_bench", "ws_bench"]


def test_rows_from_other_modules_get_every_column() -> None:
    got = runner.normalise("query_bench", {"metric": "p50 list page", "value": 1.5})
    assert got == {
        "section": "query_bench",
        "metric": "p50 list page",
        "value": 1.5,
        "unit": "",
        "target": "",
        "met": None,
        "detail": "",
        "module": "query_bench",
    }


def test_write_readme_replaces_only_the_results_block(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nprose\n\n{runner.START}\nold table\n{runner.END}\n\nmore\n")
    runner.write_readme("new table", readme)
    assert readme.read_text() == (
        f"# Title\n\nprose\n\n{runner.START}\nnew table\n{runner.END}\n\nmore\n"
    )
