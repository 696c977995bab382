"""A real-time trace printer written the way the earlier myagent's example was: a
TraceManager subclass whose `trace()` wraps the parent's, printing the trace as it
starts and ends and every run with the old field names (`id`, `run_type`, `status.value`,
`duration_ms`, `request`, `total_tokens`)."""

from contextlib import asynccontextmanager
from typing import Any, ClassVar

from myagent import create_react_agent
from myagent.tool.base_tool import BaseTool, ToolResult
from myagent.trace import (
    RunStatus,
    RunType,
    TraceManager,
    TraceMetadata,
    get_trace_manager,
    set_trace_manager,
)

TYPE_ICONS = {RunType.AGENT: "A", RunType.THINK: "T", RunType.TOOL: "X", RunType.LLM: "L"}


class RealTimeTracePrinter:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.current_trace: Any = None
        self.last_printed_runs: set[str] = set()

    def print_trace_start(self, trace: Any) -> None:
        self.current_trace = trace
        request = trace.request[:50] if trace.request else "N/A"
        self.lines.append(f"start {trace.name} {trace.id[:8]} {request}")

    def print_run_update(self, run: Any) -> None:
        self.last_printed_runs.add(run.id)
        icon = TYPE_ICONS.get(run.run_type, "?")
        took = f"{run.duration_ms:.2f}ms" if run.duration_ms is not None else "N/A"
        self.lines.append(f"run {icon} {run.name} {run.status.value} {took}")

    def print_trace_end(self, trace: Any) -> None:
        for run in trace.runs:
            if run.id not in self.last_printed_runs:
                self.print_run_update(run)
        self.lines.append(
            f"end runs={len(trace.runs)} tokens={trace.total_tokens} "
            f"ms={'yes' if trace.duration_ms is not None else 'no'} cost={trace.total_cost}"
        )


class MonitoringTraceManager(TraceManager):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.printer = RealTimeTracePrinter()

    @asynccontextmanager
    async def trace(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        async with super().trace(*args, **kwargs) as trace_ctx:
            self.printer.print_trace_start(trace_ctx)
            yield trace_ctx
            self.printer.print_trace_end(trace_ctx)


class MySQLQueryTool(BaseTool):
    name: str = "mysql_query"
    description: str = "Run a read-only SQL query"
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"sql": {"type": "string"}},
        "required": ["sql"],
    }

    async def execute(self, sql: str) -> ToolResult:
        return ToolResult(output="id | name\n1  | Ada", system=f"ran: {sql}")


async def main(question: str, storage: Any) -> RealTimeTracePrinter:
    enhanced_manager = MonitoringTraceManager(storage)
    set_trace_manager(enhanced_manager)
    metadata = TraceMetadata(
        user_id="mysql_text2sql_user",
        session_id="mysql_session_1",
        tags=["mysql", "text2sql", "realtime"],
        environment="example",
    )
    agent = create_react_agent(
        name="mysql-text2sql-realtime",
        tools=[MySQLQueryTool()],
        max_steps=15,
        enable_tracing=True,
        trace_metadata=metadata,
    )
    await agent.run(question)
    assert get_trace_manager() is enhanced_manager
    assert all(
        run.status == RunStatus.SUCCESS for run in enhanced_manager.printer.current_trace.runs
    )
    return enhanced_manager.printer
