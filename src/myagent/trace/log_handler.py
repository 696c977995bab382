"""A `logging.Handler` that attaches log lines to the current trace."""

from __future__ import annotations

import logging

from myagent.trace.setup import get_trace_manager


class TraceLogHandler(logging.Handler):
    """Adds each log record to the running trace of the code that logged it, if any.

    Outside a trace it does nothing, so it is safe to install on the root logger.
    """

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("myagent.trace"):
            return  # tracing's own warnings never feed back into traces
        try:
            manager = get_trace_manager()
            if manager.current_trace is not None:
                manager.add_log_entry(level=record.levelname, message=self.format(record))
        except Exception:
            self.handleError(record)
