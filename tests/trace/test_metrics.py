"""Prometheus metrics: the trace sink, the tracing-health collector, and /metrics over HTTP."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import uvicorn
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from myagent.trace import InMemoryTraceStorage, ThinkRecord, ToolRecord, Trace, TraceManager
from myagent.trace.metrics import (
    OTHER,
    TraceMetrics,
    instrument,
    metrics_app,
    start_metrics_server,
)
from myagent.trace.storage.base import TraceStorage
from tests.support.viewer import free_port


@pytest.fixture
def registry() -> CollectorRegistry:
    """A fresh registry per test, so values start at zero."""
    return CollectorRegistry()


@pytest.fixture
def memory_manager() -> Iterator[TraceManager]:
    manager = TraceManager(InMemoryTraceStorage())
    yield manager
    manager.close(timeout=5)


def run_agent(
    manager: TraceManager,
    *,
    agent: str = "helper",
    tool: str = "search",
    tool_error: Exception | None = None,
    fail: bool = False,
    cost: float | None = 0.01,
) -> None:
    """One agent run: an LLM call (10 in / 3 out tokens) choosing one tool call."""
    try:
        with manager.trace("run", agent_name=agent):
            with manager.run(
                "think",
                ThinkRecord,
                model="gpt-4o-mini",
                prompt_tokens=10,
                completion_tokens=3,
                tokens_used=13,
                cost_usd=cost,
            ) as think:
                pass
            try:
                with manager.run("tool", ToolRecord, parent=think, tool_name=tool):
                    if tool_error is not None:
                        raise tool_error
            except Exception:
                pass  # the agent recovers from a failed tool
            if fail:
                raise RuntimeError("agent gave up")
    except RuntimeError:
        pass


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """A sample's value, 0.0 when it does not exist."""
    found = registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def test_finished_traces_feed_counters_histograms_tokens_and_cost(
    memory_manager: TraceManager, registry: CollectorRegistry
) -> None:
    instrument(memory_manager, registry)
    run_agent(memory_manager)
    run_agent(memory_manager, tool_error=ValueError("bad query"))
    run_agent(memory_manager, fail=True, cost=None)
    assert memory_manager.flush(timeout=10)

    assert value(registry, "myagent_traces_total", agent="helper", status="success") == 2
    assert value(registry, "myagent_traces_total", agent="helper", status="error") == 1
    assert value(registry, "myagent_trace_errors_total", agent="helper") == 2  # has_errors
    assert (
        value(registry, "myagent_trace_duration_seconds_count", agent="helper", status="success")
        == 2
    )
    assert value(registry, "myagent_tool_calls_total", tool="search", outcome="success") == 2
    assert value(registry, "myagent_tool_calls_total", tool="search", outcome="error") == 1
    assert (
        value(registry, "myagent_tool_duration_seconds_count", tool="search", outcome="error") == 1
    )
    assert (
        value(registry, "myagent_record_errors_total", run_type="tool", error_type="ValueError")
        == 1
    )
    labels = {"agent": "helper", "model": "gpt-4o-mini"}
    assert value(registry, "myagent_llm_calls_total", outcome="success", **labels) == 3
    assert value(registry, "myagent_tokens_total", type="input", **labels) == 30
    assert value(registry, "myagent_tokens_total", type="output", **labels) == 9
    assert value(registry, "myagent_cost_usd_total", **labels) == pytest.approx(0.02)


def test_instrument_twice_adds_one_sink_and_counts_once(
    memory_manager: TraceManager, registry: CollectorRegistry
) -> None:
    first = instrument(memory_manager, registry)
    assert instrument(memory_manager, registry) is first
    assert list(memory_manager.stats["sinks"]) == ["prometheus"]
    run_agent(memory_manager)
    memory_manager.flush(timeout=10)
    assert value(registry, "myagent_traces_total", agent="helper", status="success") == 1


def test_label_values_are_capped(registry: CollectorRegistry) -> None:
    import asyncio

    metrics = TraceMetrics(registry, max_label_values=2)
    manager = TraceManager(InMemoryTraceStorage())
    for tool in ("a", "b", "c", "d"):
        run_agent(manager, tool=tool)
    traces = manager.get_all_traces()
    manager.close(timeout=5)
    asyncio.run(metrics.store_traces(traces))
    assert value(registry, "myagent_tool_calls_total", tool="a", outcome="success") == 1
    assert value(registry, "myagent_tool_calls_total", tool="b", outcome="success") == 1
    assert value(registry, "myagent_tool_calls_total", tool=OTHER, outcome="success") == 2


class _FailingStorage(TraceStorage):
    """A backend whose every write fails (a database that is down)."""

    async def store_trace(self, trace: Trace) -> None:
        raise ConnectionError("database is down")


class _BlockedStorage(TraceStorage):
    """A backend whose writes wait until released (a database that hangs)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    async def store_trace(self, trace: Trace) -> None:
        self.release.wait(10)

    async def store_traces(self, traces: Sequence[Trace]) -> None:
        self.release.wait(10)


def test_health_collector_reports_failed_writes_and_drops_by_reason(
    registry: CollectorRegistry,
) -> None:
    manager = TraceManager(_FailingStorage(), write_retries=0)
    try:
        instrument(manager, registry)
        run_agent(manager)
        manager.flush(timeout=5)
        assert value(registry, "myagent_tracing_write_errors_total", writer="storage") >= 1
        assert (
            value(
                registry, "myagent_tracing_dropped_total", writer="storage", reason="write_failed"
            )
            == 1
        )
        assert value(registry, "myagent_tracing_written_total", writer="storage") == 0
        assert value(registry, "myagent_tracing_written_total", writer="prometheus") == 1
        assert value(registry, "myagent_tracing_traces_finished_total") == 1
        assert value(registry, "myagent_tracing_records_total") == 2
    finally:
        manager.close(timeout=2)


def test_health_collector_reports_buffer_depth_and_buffer_full_drops(
    registry: CollectorRegistry,
) -> None:
    storage = _BlockedStorage()
    manager = TraceManager(storage, buffer_size=3, batch_size=1, flush_interval=0.01)
    try:
        instrument(manager, registry)
        for _ in range(10):
            run_agent(manager)
        assert value(registry, "myagent_tracing_buffer_depth", writer="storage") >= 1
        assert (
            value(registry, "myagent_tracing_dropped_total", writer="storage", reason="buffer_full")
            >= 1
        )
        assert value(registry, "myagent_tracing_active_traces") == 0
    finally:
        storage.release.set()
        manager.close(timeout=5)


def test_faults_are_reported_by_where(
    memory_manager: TraceManager, registry: CollectorRegistry
) -> None:
    instrument(memory_manager, registry)
    memory_manager._fault("end_trace", RuntimeError("boom"))
    assert value(registry, "myagent_tracing_faults_total", where="end_trace") == 1


def _serve(app: object) -> tuple[uvicorn.Server, threading.Thread, str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.025)
    return server, thread, f"http://127.0.0.1:{port}"


def _scrape(url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_metrics_app_serves_the_prometheus_text_format_over_http(
    memory_manager: TraceManager, registry: CollectorRegistry
) -> None:
    app = metrics_app(memory_manager, registry)
    run_agent(memory_manager)
    memory_manager.flush(timeout=10)
    server, thread, url = _serve(app)
    try:
        samples = _scrape(url + "/")
    finally:
        server.should_exit = True
        thread.join(10)
    assert samples["myagent_traces_total"][(("agent", "helper"), ("status", "success"))] == 1
    assert samples["myagent_tracing_written_total"][(("writer", "storage"),)] == 1
    assert (
        samples["myagent_tokens_total"][
            (("agent", "helper"), ("model", "gpt-4o-mini"), ("type", "input"))
        ]
        == 10
    )


def test_start_metrics_server_serves_metrics_on_its_own_port(
    memory_manager: TraceManager, registry: CollectorRegistry
) -> None:
    port = free_port()
    server, thread = start_metrics_server(port, manager=memory_manager, registry=registry)
    try:
        run_agent(memory_manager, agent="solo")
        memory_manager.flush(timeout=10)
        samples = _scrape(f"http://127.0.0.1:{port}/metrics")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert samples["myagent_traces_total"][(("agent", "solo"), ("status", "success"))] == 1


def test_viewer_serves_metrics_of_its_manager(viewer_factory: Any) -> None:
    manager = TraceManager(InMemoryTraceStorage())
    try:
        viewer = viewer_factory(manager=manager)
        run_agent(manager, agent="viewer-metrics-agent")
        assert manager.flush(timeout=10)
        samples = _scrape(viewer.url + "/metrics")
    finally:
        manager.close(timeout=5)
    key = (("agent", "viewer-metrics-agent"), ("status", "success"))
    assert samples["myagent_traces_total"][key] == 1
    assert "myagent_tracing_buffer_depth" in samples


def test_viewer_metrics_need_the_token_when_one_is_set(viewer_factory: Any) -> None:
    manager = TraceManager(InMemoryTraceStorage())
    try:
        viewer = viewer_factory(manager=manager, token="s3cret")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(viewer.url + "/metrics", timeout=10)
        assert info.value.code == 401
        request = urllib.request.Request(
            viewer.url + "/metrics", headers={"Authorization": "Bearer s3cret"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert b"myagent_traces_total" in response.read()
    finally:
        manager.close(timeout=5)
