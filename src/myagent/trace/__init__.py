"""Tracing: record every LLM call and tool call of an agent run, store and query them.

Importing this package starts no thread and touches no file; the background writer
starts with the first trace.
"""

from myagent.trace.config import TraceConfig
from myagent.trace.decorators import trace_run
from myagent.trace.filters import RunFilter, TraceFilter
from myagent.trace.log_handler import TraceLogHandler
from myagent.trace.manager import RunScope, TraceManager, TraceScope
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
from myagent.trace.setup import get_trace_manager, set_trace_manager
from myagent.trace.storage import InMemoryTraceStorage, SQLiteTraceStorage, TraceStorage

__all__ = [
    "InMemoryTraceStorage",
    "LogEntry",
    "RunFilter",
    "RunRecord",
    "RunScope",
    "RunType",
    "SQLiteTraceStorage",
    "StepRecord",
    "ThinkRecord",
    "ToolRecord",
    "Trace",
    "TraceConfig",
    "TraceFilter",
    "TraceLogHandler",
    "TraceManager",
    "TraceScope",
    "TraceStatus",
    "TraceStorage",
    "get_trace_manager",
    "set_trace_manager",
    "trace_run",
]
