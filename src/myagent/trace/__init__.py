"""Tracing: record every LLM call and tool call of an agent run, store and query them.

Importing this package starts no thread and touches no file; the background writer
starts with the first trace.
"""

from myagent.trace import apm as _apm
from myagent.trace.analysis import TraceAnalyzer
from myagent.trace.config import TraceConfig
from myagent.trace.decorators import trace_run
from myagent.trace.export import TraceExporter
from myagent.trace.filters import RunFilter, TraceFilter
from myagent.trace.legacy import QueryOptions, TraceMetadata
from myagent.trace.legacy_api import run, trace, trace_agent, trace_agent_step, trace_tool_call
from myagent.trace.legacy_names import RunStatus
from myagent.trace.log_handler import TraceLogHandler
from myagent.trace.manager import TraceManager
from myagent.trace.query import TraceQueryEngine
from myagent.trace.records import (
    LogEntry,
    RunRecord,
    RunType,
    StepRecord,
    ThinkRecord,
    ToolRecord,
    Trace,
    TraceStatus,
)
from myagent.trace.scopes import RunScope, TraceScope
from myagent.trace.setup import get_trace_manager, set_trace_manager
from myagent.trace.stats import AgentStats, ErrorGroup, TimeBucket, ToolStats, TraceStats
from myagent.trace.storage import InMemoryTraceStorage, SQLiteTraceStorage, TraceStorage
from myagent.trace.summary import TraceSummary

Run = RunRecord
"""The earlier API's name for a record."""

# The spec's APM example decorates with `opentelemetry.trace.instrument` (see apm.py).
_apm.alias_into_opentelemetry()

__all__ = [
    "AgentStats",
    "ErrorGroup",
    "InMemoryTraceStorage",
    "LogEntry",
    "QueryOptions",
    "Run",
    "RunFilter",
    "RunRecord",
    "RunScope",
    "RunStatus",
    "RunType",
    "SQLiteTraceStorage",
    "StepRecord",
    "ThinkRecord",
    "TimeBucket",
    "ToolRecord",
    "ToolStats",
    "Trace",
    "TraceAnalyzer",
    "TraceConfig",
    "TraceExporter",
    "TraceFilter",
    "TraceLogHandler",
    "TraceManager",
    "TraceMetadata",
    "TraceQueryEngine",
    "TraceScope",
    "TraceStats",
    "TraceStatus",
    "TraceStorage",
    "TraceSummary",
    "get_trace_manager",
    "run",
    "set_trace_manager",
    "trace",
    "trace_agent",
    "trace_agent_step",
    "trace_run",
    "trace_tool_call",
]
