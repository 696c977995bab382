"""Prometheus metrics for traced agents and for tracing's own health (optional extra).

`instrument()` adds a sink that observes every finished trace (durations, traces and
errors, LLM and tool calls, tokens, cost) and a collector that reads `manager.stats`
at scrape time (buffer depth, traces written, dropped by reason, failed writes,
faults). Observation happens on the sink's writer thread, never on the traced path.
`metrics_app()` is the ASGI app the viewer mounts at /metrics. Needs
`pip install "myagent[prometheus]"`.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client import make_asgi_app as _make_asgi_app
from prometheus_client import start_http_server as _start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from myagent.trace.manager import TraceManager
from myagent.trace.records import ThinkRecord, ToolRecord, Trace
from myagent.trace.setup import get_trace_manager
from myagent.trace.storage.base import TraceStorage

__all__ = [
    "MetricsApp",
    "TraceMetrics",
    "TracingHealthCollector",
    "instrument",
    "metrics_app",
    "start_metrics_server",
]

logger = logging.getLogger("myagent.trace")

TRACE_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
"""Seconds: agent runs take from a fraction of a second to minutes."""
CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Seconds: one LLM or tool call."""
OTHER = "_other"
"""Label value used once a label has seen `max_label_values` distinct values."""
SINK_NAME = "prometheus"


class _LabelGuard:
    """Caps the distinct values of each label so a bad name cannot explode cardinality."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def __call__(self, label: str, value: object) -> str:
        text = "" if value is None else str(value)
        seen = self._seen.get(label)
        if seen is not None and text in seen:
            return text
        with self._lock:
            seen = self._seen.setdefault(label, set())
            if text in seen:
                return text
            if len(seen) >= self.limit:
                return OTHER
            seen.add(text)
            return text


class TraceMetrics(TraceStorage):
    """A write-only sink that turns finished traces into Prometheus metrics.

    Add it with `TraceManager.add_sink` (or `instrument()`); one instance per registry.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        namespace: str = "myagent",
        max_label_values: int = 200,
    ) -> None:
        registry = REGISTRY if registry is None else registry
        self.registry = registry
        self._label = _LabelGuard(max_label_values)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        ns = namespace

        def counter(name: str, doc: str, labels: Sequence[str]) -> Counter:
            return Counter(name, doc, labels, namespace=ns, registry=registry)

        def histogram(
            name: str, doc: str, labels: Sequence[str], buckets: Sequence[float]
        ) -> Histogram:
            return Histogram(name, doc, labels, namespace=ns, registry=registry, buckets=buckets)

        self.traces = counter("traces", "Finished traces.", ("agent", "status"))
        self.trace_errors = counter(
            "trace_errors", "Finished traces with an error in them (has_errors).", ("agent",)
        )
        self.trace_duration = histogram(
            "trace_duration_seconds",
            "Duration of finished traces.",
            ("agent", "status"),
            TRACE_BUCKETS,
        )
        self.record_errors = counter(
            "record_errors", "Failed records, by kind and error type.", ("run_type", "error_type")
        )
        self.llm_calls = counter("llm_calls", "LLM calls.", ("agent", "model", "outcome"))
        self.llm_duration = histogram(
            "llm_duration_seconds", "Duration of LLM calls.", ("model", "outcome"), CALL_BUCKETS
        )
        self.tool_calls = counter("tool_calls", "Tool executions.", ("tool", "outcome"))
        self.tool_duration = histogram(
            "tool_duration_seconds",
            "Duration of tool executions.",
            ("tool", "outcome"),
            CALL_BUCKETS,
        )
        self.tokens = counter(
            "tokens",
            "LLM tokens; type is input, output, or total when the split is unknown.",
            ("agent", "model", "type"),
        )
        self.cost = counter(
            "cost_usd", "LLM cost in USD (calls with a known price).", ("agent", "model")
        )

    def _child(self, metric: Any, *labels: str) -> Any:
        """`metric.labels(*labels)`, cached: labels() costs a lock and a few µs per call."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    async def store_trace(self, trace: Trace) -> None:
        """Observe one finished trace."""
        self.observe(trace)

    async def store_traces(self, traces: Sequence[Trace]) -> None:
        """Observe a batch of finished traces."""
        for trace in traces:
            self.observe(trace)

    def observe(self, trace: Trace) -> None:
        """Add one finished trace to the metrics."""
        label = self._label
        agent = label("agent", trace.agent_name or "")
        status = str(trace.status)
        self._child(self.traces, agent, status).inc()
        if trace.has_errors:
            self._child(self.trace_errors, agent).inc()
        if trace.total_duration is not None:
            self._child(self.trace_duration, agent, status).observe(trace.total_duration)
        for record in list(trace.runs):
            outcome = "success" if record.success else "error"
            if not record.success:
                error_type = label("error_type", record.error_type or "_OTHER")
                self._child(self.record_errors, record.run_type, error_type).inc()
            if isinstance(record, ThinkRecord):
                self._observe_llm(record, agent, outcome)
            elif isinstance(record, ToolRecord):
                tool = label("tool", record.tool_name or record.name)
                self._child(self.tool_calls, tool, outcome).inc()
                if record.duration is not None:
                    self._child(self.tool_duration, tool, outcome).observe(record.duration)

    def _observe_llm(self, record: ThinkRecord, trace_agent: str, outcome: str) -> None:
        label = self._label
        agent = label("agent", record.agent_name) if record.agent_name else trace_agent
        model = label("model", record.model or "")
        self._child(self.llm_calls, agent, model, outcome).inc()
        if record.duration is not None:
            self._child(self.llm_duration, model, outcome).observe(record.duration)
        split = record.prompt_tokens + record.completion_tokens
        if record.prompt_tokens:
            self._child(self.tokens, agent, model, "input").inc(record.prompt_tokens)
        if record.completion_tokens:
            self._child(self.tokens, agent, model, "output").inc(record.completion_tokens)
        if record.tokens_used > split:
            self._child(self.tokens, agent, model, "total").inc(record.tokens_used - split)
        if record.cost_usd:
            self._child(self.cost, agent, model).inc(record.cost_usd)


class TracingHealthCollector(Collector):
    """Reads `TraceManager.stats` at scrape time: tracing's own health, per writer.

    The `writer` label is `storage` for the main storage writer, else the sink's name.
    With several managers on one registry, their values are added up.
    """

    def __init__(self, namespace: str = "myagent") -> None:
        self.namespace = namespace
        self._managers: weakref.WeakSet[TraceManager] = weakref.WeakSet()

    def add(self, manager: TraceManager) -> None:
        """Also report `manager` (held weakly)."""
        self._managers.add(manager)

    def __contains__(self, manager: object) -> bool:
        return manager in self._managers

    def collect(self) -> Iterable[Metric]:
        """One family per health figure (never raises: a scrape must not fail)."""
        ns = f"{self.namespace}_tracing"
        plain: dict[str, CounterMetricFamily | GaugeMetricFamily] = {
            "traces_started": CounterMetricFamily(
                f"{ns}_traces_started", "Traces opened.", labels=()
            ),
            "traces_finished": CounterMetricFamily(
                f"{ns}_traces_finished", "Traces closed and queued for writing.", labels=()
            ),
            "records": CounterMetricFamily(f"{ns}_records", "Records opened.", labels=()),
            "active_traces": GaugeMetricFamily(
                f"{ns}_active_traces", "Traces running now.", labels=()
            ),
        }
        depth = GaugeMetricFamily(
            f"{ns}_buffer_depth", "Traces queued and not yet written.", labels=("writer",)
        )
        written = CounterMetricFamily(
            f"{ns}_written", "Traces written by the writer.", labels=("writer",)
        )
        failed = CounterMetricFamily(
            f"{ns}_write_errors", "Failed write attempts.", labels=("writer",)
        )
        dropped = CounterMetricFamily(
            f"{ns}_dropped", "Traces dropped, by reason.", labels=("writer", "reason")
        )
        faults = CounterMetricFamily(
            f"{ns}_faults", "Faults caught inside tracing, by where.", labels=("where",)
        )
        totals: dict[str, float] = dict.fromkeys(plain, 0.0)
        per_writer: dict[str, dict[str, float]] = {}
        drops: dict[tuple[str, str], float] = {}
        fault_counts: dict[str, float] = {}
        for manager in list(self._managers):
            try:
                stats = manager.stats
            except Exception as exc:  # a scrape must never fail because of one manager
                logger.debug("myagent metrics: could not read manager stats: %s", exc)
                continue
            for key in plain:
                totals[key] += float(stats.get(key, 0))
            writers = {"storage": stats["writer"], **stats["sinks"]}
            for name, writer in writers.items():
                figures = per_writer.setdefault(name, {"depth": 0.0, "written": 0.0, "errors": 0.0})
                figures["depth"] += writer["buffer_depth"]
                figures["written"] += writer["written"]
                figures["errors"] += writer["write_errors"]
                for reason, count in writer["dropped"].items():
                    drops[(name, reason)] = drops.get((name, reason), 0.0) + count
            for where, count in stats["faults"].items():
                fault_counts[where] = fault_counts.get(where, 0.0) + count
        for key, family in plain.items():
            family.add_metric((), totals[key])
        for name, figures in sorted(per_writer.items()):
            depth.add_metric((name,), figures["depth"])
            written.add_metric((name,), figures["written"])
            failed.add_metric((name,), figures["errors"])
        for (name, reason), count in sorted(drops.items()):
            dropped.add_metric((name, reason), count)
        for where, count in sorted(fault_counts.items()):
            faults.add_metric((where,), count)
        return [*plain.values(), depth, written, failed, dropped, faults]


class _RegistryState:
    __slots__ = ("health", "lock", "metrics")

    def __init__(self, registry: CollectorRegistry) -> None:
        self.metrics = TraceMetrics(registry)
        self.health = TracingHealthCollector()
        registry.register(self.health)
        self.lock = threading.Lock()


_STATES: weakref.WeakKeyDictionary[CollectorRegistry, _RegistryState] = weakref.WeakKeyDictionary()
_STATES_LOCK = threading.Lock()


def instrument(
    manager: TraceManager | None = None, registry: CollectorRegistry | None = None
) -> TraceMetrics:
    """Export `manager`'s traces (default: the global manager) as Prometheus metrics.

    Registers the metrics and the health collector on `registry` (default:
    prometheus_client's REGISTRY) once, and adds the metrics sink to the manager once;
    calling it again is harmless. Returns the registry's `TraceMetrics`.
    """
    registry = REGISTRY if registry is None else registry
    with _STATES_LOCK:
        state = _STATES.get(registry)
        if state is None:
            state = _STATES[registry] = _RegistryState(registry)
    manager = manager if manager is not None else get_trace_manager()
    with state.lock:
        if manager not in state.health:
            taken = manager.stats["sinks"]
            name = SINK_NAME if SINK_NAME not in taken else f"{SINK_NAME}-{id(registry):x}"
            manager.add_sink(state.metrics, name)
            state.health.add(manager)
    return state.metrics


class MetricsApp:
    """An ASGI app serving one registry in the Prometheus text format.

    A class (not a function) so routers treat it as an ASGI app: FastAPI/Starlette
    `app.add_route("/metrics", metrics_app())` serves `/metrics` with no redirect.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._app: Callable[..., Any] = _make_asgi_app(registry)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._app(scope, receive, send)


def metrics_app(
    manager: TraceManager | None = None,
    registry: CollectorRegistry | None = None,
    *,
    instrument_manager: bool = True,
) -> MetricsApp:
    """An ASGI app serving `registry` (default: REGISTRY) with `manager` instrumented.

    `manager` defaults to the global one; `instrument_manager=False` serves the
    registry as it is. Mount it anywhere: `app.add_route("/metrics", metrics_app())`.
    """
    registry = REGISTRY if registry is None else registry
    if instrument_manager:
        instrument(manager, registry)
    return MetricsApp(registry)


def start_metrics_server(
    port: int = 9464,
    addr: str = "127.0.0.1",
    *,
    manager: TraceManager | None = None,
    registry: CollectorRegistry | None = None,
) -> Any:
    """Serve /metrics on its own port from a daemon thread (for apps without ASGI).

    Returns prometheus_client's `(server, thread)`; `server.shutdown()` stops it.
    """
    registry = REGISTRY if registry is None else registry
    instrument(manager, registry)
    return _start_http_server(port, addr, registry)
