"""TraceManager: trace lifecycle, records, logs, configuration and the global manager."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from myagent.trace import (
    InMemoryTraceStorage,
    StepRecord,
    ThinkRecord,
    ToolRecord,
    TraceConfig,
    TraceManager,
    TraceStatus,
    get_trace_manager,
)
from myagent.trace.setup import reset_trace_manager


def test_start_add_step_end(manager: TraceManager) -> None:
    trace_id = manager.start_trace(
        agent_name="workflow",
        input_data={"q": 1},
        session_id="sess",
        metadata={"k": "v"},
        tags=["t1"],
    )
    assert manager.current_trace is not None
    assert manager.current_trace.trace_id == trace_id
    step = manager.add_step(trace_id=trace_id, step_name="data_processing", result=42)
    assert isinstance(step, StepRecord) and step.output == 42 and step.finished
    trace = manager.end_trace(trace_id)
    assert manager.current_trace is None
    assert trace.status == TraceStatus.SUCCESS
    assert trace.total_duration is not None and trace.total_duration >= 0
    assert trace.has_errors is False
    stored = manager.get_traces_by_session("sess")
    assert [t.trace_id for t in stored] == [trace_id]
    assert stored[0].metadata == {"k": "v"} and stored[0].tags == ["t1"]
    assert stored[0].runs[0].name == "data_processing"


def test_end_trace_with_error_marks_failure(manager: TraceManager) -> None:
    trace_id = manager.start_trace(agent_name="a")
    trace = manager.end_trace(trace_id, error=RuntimeError("broken"))
    assert trace.status == TraceStatus.ERROR
    assert trace.error == "RuntimeError: broken"
    assert trace.has_errors


def test_trace_block_records_exception_and_reraises(manager: TraceManager) -> None:
    with pytest.raises(KeyError), manager.trace("boom", agent_name="a") as trace:
        with manager.run("inner"):
            raise KeyError("missing")
    assert trace.status == TraceStatus.ERROR
    inner = trace.runs[0]
    assert inner.success is False
    assert inner.error_type == "KeyError"
    assert inner.stacktrace is not None and "raise KeyError" in inner.stacktrace


async def test_async_blocks_and_parents(manager: TraceManager) -> None:
    async with manager.trace("agent", agent_name="agent", input="hi") as trace:
        think = manager.start_run(ThinkRecord, "think", model="m", input="hi")
        manager.end_run(think, llm_response="ok", tokens_used=7)
        async with manager.run("get_weather", ToolRecord, parent=think, tool_name="get_weather"):
            async with manager.run("nested") as nested:
                pass
        trace.output = "done"
    assert think is not None
    tool = trace.tool_records[0]
    assert tool.parent_id == think.run_id
    assert nested.parent_id == tool.run_id
    assert trace.tokens_used == 7
    assert [r.name for r in trace.runs] == ["think", "get_weather", "nested"]
    assert all(r.finished for r in trace.runs)


def test_run_outside_a_trace_opens_its_own(manager: TraceManager) -> None:
    with manager.run("standalone", inputs={"x": 1}) as record:
        assert manager.current_trace is not None
    traces = manager.get_all_traces()
    assert len(traces) == 1
    assert traces[0].name == "standalone"
    assert traces[0].input == {"x": 1}
    assert traces[0].runs[0].run_id == record.run_id


def test_unfinished_records_are_closed_as_failed(manager: TraceManager) -> None:
    with manager.trace("t") as trace:
        manager.start_run(StepRecord, "left-open")
    assert trace.runs[0].success is False
    assert trace.runs[0].end_us == trace.end_us


def test_add_log_entry_attaches_to_current_record(manager: TraceManager) -> None:
    with manager.trace("t") as trace, manager.run("r") as record:
        manager.add_log_entry(level="WARNING", message="careful")
    assert manager.add_log_entry(level="INFO", message="outside") is None
    assert [(e.level, e.message, e.run_id) for e in trace.logs] == [
        ("WARNING", "careful", record.run_id)
    ]


def test_time_range_naive_means_local(manager: TraceManager) -> None:
    with manager.trace("recent"):
        pass
    assert (
        len(manager.get_traces_by_time_range(start_time=datetime.now() - timedelta(hours=1))) == 1
    )
    future = datetime.now() + timedelta(hours=1)
    assert manager.get_traces_by_time_range(start_time=future) == []
    aware = datetime.now(UTC) - timedelta(minutes=5)
    assert len(manager.get_traces_by_time_range(start_time=aware, end_time=None)) == 1


def test_get_by_agent_is_oldest_first(manager: TraceManager) -> None:
    ids = []
    for _ in range(3):
        with manager.trace("a", agent_name="alpha") as trace:
            pass
        ids.append(trace.trace_id)
    with manager.trace("b", agent_name="beta"):
        pass
    assert [t.trace_id for t in manager.get_traces_by_agent("alpha")] == ids


def test_configure_accepts_spec_options_and_rejects_unknown(manager: TraceManager) -> None:
    manager.configure(
        max_trace_age=timedelta(days=7),
        max_trace_count=5000,
        auto_cleanup=True,
        cleanup_interval=timedelta(hours=1),
        async_storage=True,
        batch_size=100,
        buffer_size=1000,
        flush_interval=2.0,
    )
    manager.configure(max_age=timedelta(days=3))
    assert manager.config.max_trace_age == timedelta(days=3)
    assert manager.config.batch_size == 100
    with pytest.raises(TypeError, match="unknown tracing option 'max_tracecount'"):
        manager.configure(max_tracecount=1)
    with pytest.raises(ValueError):
        manager.configure(batch_size=0)


def test_config_from_env() -> None:
    config = TraceConfig.from_env(
        {
            "TRACE_ENABLED": "false",
            "TRACE_STORAGE": "sqlite",
            "TRACE_DATABASE_URL": "sqlite:///traces.db",
            "TRACE_MAX_AGE_DAYS": "30",
            "TRACE_MAX_COUNT": "10000",
            "TRACE_BUFFER_SIZE": "1000",
            "TRACE_FLUSH_INTERVAL": "60",
        }
    )
    assert config.enabled is False
    assert config.storage == "sqlite"
    assert config.max_trace_age == timedelta(days=30)
    assert config.max_trace_count == 10000
    assert config.auto_cleanup is True
    assert config.buffer_size == 1000
    assert config.flush_interval == 60.0
    with pytest.raises(ValueError, match="TRACE_BUFFER_SIZE"):
        TraceConfig.from_env({"TRACE_BUFFER_SIZE": "lots"})
    with pytest.raises(ValueError, match="TRACE_ENABLED"):
        TraceConfig.from_env({"TRACE_ENABLED": "maybe"})


def test_stuck_timeout_from_env_and_configure_reaches_every_writer() -> None:
    """`stuck_timeout` (the watchdog's limit per trace) comes from TRACE_STUCK_TIMEOUT or
    `configure`, applies to storage and sinks alike, and must be positive."""
    assert TraceConfig().stuck_timeout == 5.0
    assert TraceConfig.from_env({"TRACE_STUCK_TIMEOUT": "2.5"}).stuck_timeout == 2.5
    with pytest.raises(ValueError, match="TRACE_STUCK_TIMEOUT"):
        TraceConfig.from_env({"TRACE_STUCK_TIMEOUT": "soon"})
    manager = TraceManager(InMemoryTraceStorage(), stuck_timeout=3)
    manager.add_sink(InMemoryTraceStorage(), "copy")
    assert manager._writer.stuck_timeout == manager._sinks["copy"].stuck_timeout == 3
    manager.configure(stuck_timeout=0.75)
    assert manager._writer.stuck_timeout == manager._sinks["copy"].stuck_timeout == 0.75
    with pytest.raises(ValueError, match="stuck_timeout"):
        manager.configure(stuck_timeout=0)
    manager.close()


def test_global_manager_built_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "env.db"
    monkeypatch.setenv("TRACE_STORAGE", "sqlite")
    monkeypatch.setenv("TRACE_DATABASE_URL", f"sqlite:///{db}")
    reset_trace_manager()
    try:
        manager = get_trace_manager()
        assert type(manager.storage).__name__ == "SQLiteTraceStorage"
        with manager.trace("env"):
            pass
        assert manager.flush(5)
        assert db.exists()
        manager.close()
    finally:
        reset_trace_manager()


def test_disabled_records_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACE_ENABLED", "false")
    reset_trace_manager()
    try:
        manager = get_trace_manager()
        assert manager.enabled is False
        trace_id = manager.start_trace(agent_name="x")
        assert manager.current_trace is None
        assert manager.add_step(trace_id=trace_id, step_name="s") is None
        ended = manager.end_trace(trace_id)
        assert ended.trace_id == trace_id  # a detached trace, so subclass code keeps working
        with manager.trace("t"), manager.run("r") as record:
            record.metadata["k"] = 1  # a detached record still accepts fields
        assert manager.get_all_traces() == []
        assert manager.stats["traces_started"] == 0
        assert manager.stats["records"] == 0
        manager.close()
    finally:
        reset_trace_manager()


def test_logging_handler(manager: TraceManager) -> None:
    from myagent.trace import TraceLogHandler

    log = logging.getLogger("test.trace.handler")
    handler = TraceLogHandler()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        with manager.trace("logged") as trace:
            log.info("inside %s", "trace")
        log.info("outside")
    finally:
        log.removeHandler(handler)
    assert [(e.level, e.message) for e in trace.logs] == [("INFO", "inside trace")]


def test_import_starts_no_thread_and_touches_no_file(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import os, threading
        before = set(os.listdir("."))
        import myagent, myagent.trace, myagent.trace.storage
        m = myagent.trace.get_trace_manager()
        assert threading.active_count() == 1, threading.enumerate()
        assert set(os.listdir(".")) == before
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "ok", out.stderr
