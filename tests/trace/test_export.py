"""TraceExporter: the spec's Export Capabilities snippet as written, the lossless JSON
round trip, constant-memory JSON Lines, and the documented CSV/DataFrame columns."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from myagent.trace import (
    SQLiteTraceStorage,
    StepRecord,
    ThinkRecord,
    ToolRecord,
    Trace,
    TraceExporter,
    TraceManager,
    TraceQueryEngine,
)
from myagent.trace.export import RECORD_COLUMNS


def recorded(manager: TraceManager) -> list[Trace]:
    """Two agent runs recorded through the manager (one with a failed tool call)."""
    for city, ok in (("NYC", True), ("Paris", False)):
        with manager.trace("run", agent_name="weather-agent", input=city, tags=["prod"]) as t:
            with manager.run(
                "think", ThinkRecord, model="gpt-4o-mini", tokens_used=150, cost_usd=0.002
            ) as think:
                think.llm_response = "I'll check the weather."
            try:
                with manager.run(
                    "get_weather", "tool", tool_name="get_weather", input_params={"location": city}
                ) as rec:
                    if not ok:
                        raise TimeoutError("weather service timed out")
                    rec.output = "Sunny, 72°F"
            except TimeoutError:
                pass
            t.output = "It is sunny" if ok else "I could not find out"
    return TraceQueryEngine().get_all_traces()


def test_export_snippet(
    manager: TraceManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    traces = recorded(manager)  # given: the traces to export
    monkeypatch.chdir(tmp_path)  # given: the snippet writes agent_traces.csv here

    from myagent.trace import TraceExporter

    exporter = TraceExporter()

    # Export to JSON
    traces_json = exporter.to_json(traces)

    # Export to CSV for analysis
    exporter.to_csv(traces, "agent_traces.csv")

    # Export to pandas DataFrame
    df = exporter.to_dataframe(traces)

    assert [t["input"] for t in json.loads(traces_json)] == ["NYC", "Paris"]
    with open(tmp_path / "agent_traces.csv", newline="") as file:
        assert len(list(csv.DictReader(file))) == 4  # two records per trace
    assert len(df) == 4


def odd_trace() -> Trace:
    """A trace holding values JSON lacks, unicode, a log line and every record kind."""
    t = Trace(
        trace_id="a" * 32,
        agent_name="ägent",
        session_id="s1",
        input={"bytes": b"\x00\xff", "set": {3}, "when": datetime(2026, 1, 1, tzinfo=UTC)},
        output="naïve ✓",
        status="error",
        error="ValueError: bad",
        metadata={"user": "u1", "n": 2},
        tags=["prod", "vip"],
    )
    t.end_us = t.start_us + 1_234_567
    think = ThinkRecord(
        trace_id=t.trace_id,
        messages=[{"role": "user", "content": "hi"}],
        tool_calls=[{"id": "c1", "name": "calc", "arguments": "{}"}],
        model="m",
        prompt_tokens=3,
        completion_tokens=4,
        tokens_used=7,
        cost_usd=0.5,
        start_us=t.start_us,
        end_us=t.start_us + 10,
    )
    tool = ToolRecord(
        trace_id=t.trace_id,
        parent_id=think.run_id,
        tool_name="calc",
        input_params={"x": 1},
        output=[1, 2],
        success=False,
        error="boom",
        error_type="Error",
        start_us=t.start_us + 10,
        end_us=t.start_us + 20,
    )
    step = StepRecord(
        trace_id=t.trace_id,
        name="step",
        inputs="in",
        output=None,
        start_us=t.start_us + 20,
        end_us=None,
    )
    t.runs = [think, tool, step]
    return t


def test_json_round_trip_is_lossless(tmp_path: Path) -> None:
    exporter = TraceExporter()
    original = [odd_trace(), Trace(trace_id="b" * 32, status="running")]
    text = exporter.to_json(original, tmp_path / "t.json")
    back = exporter.from_json(text)
    assert [t.to_dict() for t in back] == [t.to_dict() for t in original]
    assert [type(r) for r in back[0].runs] == [ThinkRecord, ToolRecord, StepRecord]
    assert back[0].start_us == original[0].start_us  # microseconds survive
    again = exporter.to_json(back)
    assert again == text  # a second trip changes nothing
    assert [t.to_dict() for t in exporter.read_json(tmp_path / "t.json")] == [
        t.to_dict() for t in original
    ]
    assert exporter.from_json(json.dumps({"traces": json.loads(text)}))[0].trace_id == "a" * 32


def test_jsonl_round_trip_through_paths_and_files(tmp_path: Path) -> None:
    exporter = TraceExporter()
    traces = [odd_trace(), Trace(trace_id="c" * 32)]
    assert exporter.to_jsonl(traces, tmp_path / "t.jsonl") == 2
    back = list(exporter.read_jsonl(tmp_path / "t.jsonl"))
    assert [t.to_dict() for t in back] == [t.to_dict() for t in traces]
    text = io.StringIO()
    exporter.to_jsonl(traces, text)
    assert text.getvalue().count("\n") == 2
    assert len(list(exporter.read_jsonl(io.StringIO(text.getvalue() + "\n")))) == 2


def many(count: int) -> Iterator[Trace]:
    """`count` traces made one at a time, each with a 2 KB tool output."""
    for i in range(count):
        t = Trace(trace_id=f"{i:032x}", input="q" * 200, status="success")
        t.runs.append(ToolRecord(trace_id=t.trace_id, tool_name="t", output="x" * 2000))
        yield t


def test_jsonl_export_runs_in_constant_memory(tmp_path: Path) -> None:
    exporter = TraceExporter()

    def peak(count: int) -> int:
        tracemalloc.start()
        try:
            exporter.to_jsonl(many(count), tmp_path / f"{count}.jsonl")
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(200), peak(2000)
    assert (tmp_path / "2000.jsonl").stat().st_size > 2000 * 2000
    assert large < small * 1.5  # ten times the traces, not ten times the memory


def test_jsonl_streams_a_whole_sqlite_database(tmp_path: Path) -> None:
    storage = SQLiteTraceStorage(tmp_path / "t.db")
    storage.write_traces(list(many(120)))
    exporter = TraceExporter()
    written = exporter.to_jsonl(
        TraceQueryEngine(storage).iter_traces(batch_size=25), tmp_path / "o"
    )
    assert written == 120
    ids = [t.trace_id for t in exporter.read_jsonl(tmp_path / "o")]
    assert sorted(ids) == [f"{i:032x}" for i in range(120)] and len(set(ids)) == 120
    storage.close_sync()


def test_csv_has_one_row_per_record_with_documented_columns(tmp_path: Path) -> None:
    exporter = TraceExporter()
    empty = Trace(trace_id="e" * 32, status="success")
    rows_written = exporter.to_csv([odd_trace(), empty], tmp_path / "t.csv")
    with open(tmp_path / "t.csv", newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        assert tuple(reader.fieldnames or ()) == RECORD_COLUMNS
        rows = list(reader)
    assert rows_written == len(rows) == 4  # three records, and one row for the empty trace
    think, tool, step, bare = rows
    assert {r["trace_id"] for r in (think, tool, step)} == {"a" * 32}
    assert (think["run_type"], think["model"], think["tokens_used"]) == ("think", "m", "7")
    assert json.loads(think["tool_calls"])[0]["name"] == "calc"
    assert (tool["tool_name"], tool["success"], tool["error"]) == ("calc", "false", "boom")
    assert json.loads(tool["input"]) == {"x": 1} and tool["output"] == "[1,2]"
    assert (step["end_time"], step["duration"], step["input"]) == ("", "", "in")
    assert think["trace_has_errors"] == "true" and think["trace_duration"] == "1.234567"
    assert json.loads(think["tags"]) == ["prod", "vip"] and think["agent_name"] == "ägent"
    assert (bare["trace_id"], bare["run_id"], bare["run_type"]) == ("e" * 32, "", "")
    buffer = io.StringIO()
    assert exporter.to_csv([odd_trace()], buffer) == 3
    assert buffer.getvalue().splitlines()[0] == ",".join(RECORD_COLUMNS)


def test_dataframe_rows_and_types() -> None:
    df = TraceExporter().to_dataframe([odd_trace(), Trace(trace_id="e" * 32)])
    assert list(df.columns) == list(RECORD_COLUMNS)
    assert len(df) == 4
    assert str(df["start_time"].dt.tz) == "UTC" and str(df["trace_start_time"].dt.tz) == "UTC"
    assert df.loc[0, "trace_duration"] == pytest.approx(1.234567)
    assert df.loc[1, "tool_name"] == "calc" and df.loc[1, "output"] == [1, 2]
    assert pd.isna(df.loc[2, "end_time"]) and pd.isna(df.loc[3, "run_id"])
    assert df.groupby("run_type")["tokens_used"].sum()["think"] == 7
