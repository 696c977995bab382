"""The two context variables that say where new records go.

They travel with `contextvars`, so concurrent asyncio tasks and threads never mix
their records: each task sees the trace and parent record of the code that made it.
"""

from __future__ import annotations

from contextvars import ContextVar

from myagent.trace.records import RunRecord, Trace

current_trace_var: ContextVar[Trace | None] = ContextVar("myagent_current_trace", default=None)
current_run_var: ContextVar[RunRecord | None] = ContextVar("myagent_current_run", default=None)


def get_current_trace() -> Trace | None:
    """The trace the calling code runs in, if it is still running."""
    trace = current_trace_var.get()
    return trace if trace is not None and trace.end_us is None else None


def get_current_run() -> RunRecord | None:
    """The record new records nest under, if any."""
    return current_run_var.get()
