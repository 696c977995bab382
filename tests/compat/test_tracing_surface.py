"""Item 4: the earlier tracing surface as adapters over today's records: TraceMetadata,
Run, RunStatus, the old RunType members (step records keeping their type), the old
manager.trace/run blocks and module-level helpers and decorators, read-only old names,
the query engine's statistics and the old async exporter."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from myagent.trace import (
    QueryOptions,
    Run,
    RunFilter,
    RunRecord,
    RunStatus,
    RunType,
    SQLiteTraceStorage,
    StepRecord,
    ThinkRecord,
    ToolRecord,
    TraceExporter,
    TraceManager,
    TraceQueryEngine,
)
from tests.compat.programs import manual_tracing, realtime_trace, web_search_agent
from tests.support.openai_server import OpenAITestServer


async def test_manual_tracing_with_the_old_spellings(sqlite_manager: TraceManager) -> None:
    ids = await manual_tracing.main(sqlite_manager)

    trace = sqlite_manager.get_trace(ids["trace_id"])
    assert trace is not None
    assert (trace.id, trace.request, trace.response) == (
        ids["trace_id"],
        "summarise the docs",
        "summary",
    )
    assert trace.session_id == "manual-1" and trace.tags == ["manual"]
    assert trace.metadata["user_id"] == "u1" and trace.metadata["version"] == "2"
    by_name = {r.name: r for r in trace.runs}
    agent, llm, chain = by_name["agent"], by_name["call_llm"], by_name["chain"]
    assert all(type(r) is StepRecord for r in (agent, llm, chain, by_name["retrieve_docs"]))
    assert [agent.run_type, llm.run_type, chain.run_type] == ["agent", "llm", "chain"]
    assert by_name["retrieve_docs"].run_type == "retrieval"
    assert llm.parent_run_id == agent.id and chain.parent_run_id == agent.id
    assert agent.inputs == {"goal": "summary"} and agent.outputs == {"answer": "summary"}
    assert llm.outputs == {"response": "hello"} and chain.outputs == {"done": True}
    assert llm.token_usage == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    assert llm.cost == 0.002 and chain.metadata["note"] == "extra"
    assert trace.total_tokens == 10 and trace.total_cost == 0.002
    assert agent.status is RunStatus.SUCCESS and agent.duration_ms is not None
    assert trace.duration_ms == trace.total_duration * 1000  # type: ignore[operator]
    plan, fetched = by_name["plan_step"], by_name["fetch"]
    assert plan.run_type == "agent" and plan.inputs == {"goal": "write"}
    assert isinstance(fetched, ToolRecord) and fetched.tool_name == "fetch"
    assert fetched.inputs == {"url": "https://example.org"} and fetched.output.startswith("<html>")
    assert by_name["retrieve_docs"].outputs == {"output": ["doc-0:agents", "doc-1:agents"]}

    dict_meta = sqlite_manager.get_trace(ids["dict_trace_id"])
    assert dict_meta is not None and dict_meta.session_id == "manual-2"
    assert dict_meta.tags == ["dict"] and dict_meta.metadata == {"user_id": "u2", "k": 1}
    module = sqlite_manager.get_trace(ids["module_trace_id"])
    assert module is not None and module.request == "q"
    (custom,) = module.runs
    assert custom.run_type == "custom" and custom.outputs == {"b": 2}
    (research,) = [t for t in sqlite_manager.get_all_traces() if t.name == "research_agent"]
    assert research.runs[0].run_type == "agent" and research.output == "report on tracing"

    agent_runs = TraceQueryEngine(sqlite_manager.storage).query_runs(
        RunFilter(run_type=RunType.AGENT)
    )
    assert {r.name for r in agent_runs} == {"agent", "plan_step", "research_agent"}
    assert Run is RunRecord and RunType.THINK == "think" and RunStatus.ERROR == "error"


async def test_realtime_trace_example(
    old_env: OpenAITestServer, tmp_path: Path, monkeypatch: object
) -> None:
    old_env.enqueue(None, tool_calls=[("mysql_query", {"sql": "SELECT * FROM users LIMIT 10"})])
    old_env.enqueue("Here are the users: Ada.")
    storage = SQLiteTraceStorage(tmp_path / "rt.db")
    from myagent.trace.setup import reset_trace_manager

    try:
        printer = await realtime_trace.main("Show ten users", storage)
    finally:
        manager = realtime_trace.get_trace_manager()
        manager.close(timeout=5)
        reset_trace_manager()

    assert printer.lines[0].startswith("start mysql-text2sql-realtime ")
    assert printer.lines[0].endswith(" Show ten users")
    assert [line.split()[1] for line in printer.lines[1:-1]] == ["T", "X", "T"]
    assert all(" success " in line for line in printer.lines[1:-1])
    assert printer.lines[-1].startswith("end runs=3 tokens=30 ms=no")  # still running, as before
    stored = SQLiteTraceStorage(tmp_path / "rt.db")
    (trace,) = stored.query_traces_sync()
    assert trace.session_id == "mysql_session_1" and trace.tags == ["mysql", "text2sql", "realtime"]
    assert [type(r) for r in trace.runs] == [ThinkRecord, ToolRecord, ThinkRecord]


async def test_web_search_export_statistics_and_summary(
    old_env: OpenAITestServer, sqlite_manager: TraceManager, tmp_path: Path
) -> None:
    old_env.enqueue(None, tool_calls=[("serper_search", {"query": "OpenAI launch"})])
    old_env.enqueue("OpenAI launched o5.")

    out = await web_search_agent.main("Find OpenAI's latest launch")

    assert out["answer"] == "OpenAI launched o5."
    assert out["stats"]["total_traces"] == 1 and out["stats"]["error_rate"] == 0.0
    (exported,) = out["export"]["traces"]
    assert out["export"]["metadata"]["total_traces"] == 1
    assert exported["session_id"] == "search-session-1"
    assert [r["run_type"] for r in exported["runs"]] == ["think", "tool", "think"]
    written = json.loads((tmp_path / "workdir/traces/web_search_traces.json").read_text())
    assert written["traces"][0]["trace_id"] == exported["trace_id"]
    assert "Total Traces: 1" in out["summary"] and "- success: 1 (100.0%)" in out["summary"]

    engine = TraceQueryEngine(sqlite_manager.storage)
    exporter = TraceExporter(engine)
    assert exporter.from_json(json.dumps(written))[0].trace_id == exported["trace_id"]
    runs_json = json.loads(await exporter.export_runs_to_json(filter=RunFilter(run_type="tool")))
    assert [r["tool_name"] for r in runs_json["runs"]] == ["serper_search"]
    csv_text = await exporter.export_traces_to_csv(path=tmp_path / "t.csv")
    assert len(list(csv.reader(io.StringIO(csv_text)))) == 4  # header + one row per record
    assert (tmp_path / "t.csv").read_bytes().decode() == csv_text
    runs_csv = await exporter.export_runs_to_csv()
    assert runs_csv.splitlines()[0].startswith("trace_id,run_id,parent_id,run_type")
    tree = exporter.export_trace_tree(exported["trace_id"])
    assert "├── ✓ think (think)" in tree and "└── ✓ serper_search (tool)" in tree
    page = await engine.query_traces(None, QueryOptions(limit=1))
    assert len(page) == 1
    run_stats = await engine.get_run_statistics()
    assert run_stats["type_distribution"] == {"think": 2, "tool": 1}
