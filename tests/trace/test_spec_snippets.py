"""The spec's tracing snippets (shared/spec/tracing-overview.md), run as written.

Each test body is the snippet's code with only what the snippet leaves implicit added
around it (imports it assumes, the undefined helper it calls), marked `# given`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from myagent.trace import TraceManager


def test_trace_manager_snippet(manager: TraceManager) -> None:
    with manager.trace("warm-up"):  # given: something to find
        pass

    from myagent.trace import get_trace_manager

    trace_manager = get_trace_manager()

    # Access current traces
    traces = trace_manager.get_all_traces()

    # Query specific traces
    recent_traces = trace_manager.get_traces_by_time_range(
        start_time=datetime.now() - timedelta(hours=1)
    )
    assert len(traces) == 1 and len(recent_traces) == 1


def test_storage_backend_snippets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # given: the snippet writes traces.db in the working dir
    from myagent.trace import InMemoryTraceStorage

    storage = InMemoryTraceStorage()
    # Fast access, lost on restart

    from myagent.trace.storage import SQLiteTraceStorage

    storage = SQLiteTraceStorage("traces.db")
    # Persistent, queryable, good for development
    assert isinstance(storage, SQLiteTraceStorage) and (tmp_path / "traces.db").exists()


async def test_custom_storage_snippet() -> None:
    from myagent.trace import TraceStorage

    class CustomStorage(TraceStorage):
        async def store_trace(self, trace):  # type: ignore[no-untyped-def]
            # Custom storage implementation
            pass

    from myagent.trace import Trace  # given: use it

    manager = TraceManager(CustomStorage())
    with manager.trace("custom"):
        pass
    assert manager.flush(5)
    assert manager.stats["writer"]["written"] == 1
    assert await CustomStorage().get_trace("x") is None  # optional methods have defaults
    manager.close()
    assert Trace


async def test_decorator_snippet(manager: TraceManager) -> None:
    def process_data(data: str) -> str:  # given
        return data.upper()

    from myagent.trace import trace_run

    @trace_run
    async def custom_function(data: str) -> str:
        # Function execution will be traced
        result = process_data(data)
        return result

    assert await custom_function("abc") == "ABC"  # given: call it
    (trace,) = manager.get_all_traces()
    assert trace.runs[0].to_dict()["output"] == "ABC"


async def test_manual_tracing_snippet(manager: TraceManager) -> None:
    async def process_data(input_data: Any) -> Any:  # given
        return {"processed": input_data}

    from myagent.trace import get_trace_manager

    async def complex_workflow(input_data):  # type: ignore[no-untyped-def]
        trace_manager = get_trace_manager()

        # Start custom trace
        trace_id = trace_manager.start_trace(agent_name="workflow", input_data=input_data)

        try:
            # Process data
            result = await process_data(input_data)

            # Record step
            trace_manager.add_step(trace_id=trace_id, step_name="data_processing", result=result)

            return result
        finally:
            # End trace
            trace_manager.end_trace(trace_id)

    assert await complex_workflow("x") == {"processed": "x"}
    (trace,) = manager.get_traces_by_agent("workflow")
    assert trace.input == "x"
    assert [(r.name, r.to_dict()["output"]) for r in trace.runs] == [
        ("data_processing", {"processed": "x"})
    ]


def test_programmatic_configuration_snippet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # given
    from myagent.trace import TraceManager, set_trace_manager
    from myagent.trace.storage import SQLiteTraceStorage

    # Custom trace manager
    storage = SQLiteTraceStorage("custom_traces.db")
    trace_manager = TraceManager(storage=storage)
    set_trace_manager(trace_manager)

    # Configure trace settings
    trace_manager.configure(
        max_trace_age=timedelta(days=7), max_trace_count=5000, auto_cleanup=True
    )
    assert trace_manager.config.max_trace_count == 5000
    trace_manager.close()


def test_optimization_and_troubleshooting_snippets(manager: TraceManager, tmp_path: Path) -> None:
    trace_manager = manager  # given

    trace_manager.configure(async_storage=True)
    trace_manager.configure(batch_size=100)
    trace_manager.configure(cleanup_interval=timedelta(hours=1), max_age=timedelta(days=7))

    # Reduce trace retention
    trace_manager.configure(max_trace_count=1000)
    # Enable auto-cleanup
    trace_manager.configure(auto_cleanup=True)

    from myagent.trace.storage import SQLiteTraceStorage  # given

    storage = SQLiteTraceStorage(tmp_path / "t.db")  # given
    # Add indexes to storage backend
    storage.create_indexes(["agent_name", "timestamp", "trace_id"])
    # Use time-based partitioning
    storage.configure(partition_by_time=True)

    from myagent.trace import get_trace_manager

    # Check if tracing is enabled
    print(f"Tracing enabled: {get_trace_manager().enabled}")
    assert get_trace_manager().enabled is True


def test_logging_integration_snippet(manager: TraceManager) -> None:
    import logging

    from myagent.trace import get_trace_manager

    class TraceHandler(logging.Handler):
        def emit(self, record):  # type: ignore[no-untyped-def]
            trace_manager = get_trace_manager()
            if trace_manager.current_trace:
                trace_manager.add_log_entry(level=record.levelname, message=record.getMessage())

    # Add trace handler to logger
    logging.getLogger().addHandler(TraceHandler())

    root = logging.getLogger()  # given: log something inside a trace
    handler = root.handlers[-1]
    try:
        with manager.trace("logged") as trace:
            logging.getLogger("app").warning("inside")
    finally:
        root.removeHandler(handler)
    assert [(e.level, e.message) for e in trace.logs] == [("WARNING", "inside")]


def test_monitoring_integration_snippet() -> None:
    import prometheus_client

    from myagent.trace import TraceManager

    registry = prometheus_client.CollectorRegistry()  # given: keep the test's metrics apart

    # Prometheus metrics
    trace_duration = prometheus_client.Histogram(
        "agent_trace_duration_seconds", "", registry=registry
    )
    trace_errors = prometheus_client.Counter("agent_trace_errors_total", "", registry=registry)

    class MonitoringTraceManager(TraceManager):
        def end_trace(self, trace_id):  # type: ignore[no-untyped-def, override]
            trace = super().end_trace(trace_id)

            # Record metrics
            trace_duration.observe(trace.total_duration)
            if trace.has_errors:
                trace_errors.inc()

            return trace

    manager = MonitoringTraceManager()  # given: use it
    ok = manager.start_trace(agent_name="a")
    manager.end_trace(ok)
    bad = manager.start_trace(agent_name="a")
    manager.add_step(trace_id=bad, step_name="s", error="failed")
    manager.end_trace(bad)
    assert registry.get_sample_value("agent_trace_errors_total") == 1
    assert registry.get_sample_value("agent_trace_duration_seconds_count") == 2
    manager.close()
