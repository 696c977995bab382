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

# The spec's APM example decorates with `opentelemetry.trace.instrument` (see apm.py).
_apm.alias_into_opentelemetry()

__all__ = [
    "AgentStats",
    "ErrorGroup",
    "InMemoryTraceStorage",
    "LogEntry",
    "RunFilter",
    "RunRecord",
    "RunScope",
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
    "TraceQueryEngine",
    "TraceScope",
    "TraceStats",
    "TraceStatus",
    "TraceStorage",
    "TraceSummary",
    "get_trace_manager",
    "set_trace_manager",
    "trace_run",
]
