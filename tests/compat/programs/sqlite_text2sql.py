"""A SQLite text-to-SQL agent written the way the earlier myagent's database example was:
pydantic fields holding tool state (`executed_sql`), a schema tool and a read-only query
tool over a real SQLite file, `agent.final_response` printed after the run, the traces
saved with the old exporter."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from typing import Any, ClassVar

from pydantic import Field

from myagent import create_react_agent
from myagent.tool.base_tool import BaseTool, ToolResult
from myagent.trace import TraceExporter, TraceQueryEngine, get_trace_manager


class DatabaseSchemaTool(BaseTool):
    name: str = "db_schema"
    description: str = "List the tables, or the columns of one table."
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"table": {"type": "string"}},
    }
    database: str = Field(default="", exclude=True)

    async def execute(self, table: str | None = None) -> ToolResult:
        def inspect() -> str:
            with closing(sqlite3.connect(self.database)) as db:
                if not table:
                    rows = db.execute("SELECT name FROM sqlite_master WHERE type='table'")
                    return "Tables: " + ", ".join(r[0] for r in rows)
                cols = db.execute(f"PRAGMA table_info({table})").fetchall()
                return f"{table}(" + ", ".join(f"{c[1]} {c[2]}" for c in cols) + ")"

        return ToolResult(output=await asyncio.to_thread(inspect), system="schema inspected")


class DatabaseQueryTool(BaseTool):
    name: str = "db_query"
    description: str = "Execute a read-only SQL query and return the rows."
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"sql": {"type": "string"}, "max_rows": {"type": "integer"}},
        "required": ["sql"],
    }
    database: str = Field(default="", exclude=True)
    executed_sql: list[str] = Field(default_factory=list, exclude=True)

    async def execute(self, sql: str, max_rows: int = 20) -> ToolResult:
        if not sql.lstrip().lower().startswith("select"):
            return ToolResult(error="Only SELECT statements are allowed.")
        self.executed_sql.append(sql)

        def run() -> list[tuple[Any, ...]]:
            with closing(sqlite3.connect(self.database)) as db:
                return db.execute(sql).fetchmany(max_rows)

        rows = await asyncio.to_thread(run)
        return ToolResult(output="\n".join(" | ".join(map(str, r)) for r in rows))


async def main(database: str, question: str) -> dict[str, Any]:
    schema_tool = DatabaseSchemaTool(database=database)
    query_tool = DatabaseQueryTool(database=database)
    agent = create_react_agent(
        name="sqlite-text2sql",
        tools=[schema_tool, query_tool],
        system_prompt="You translate questions into SQLite queries.",
        max_steps=10,
        enable_tracing=True,
        description="Database Text-to-SQL agent example with trace recording",
    )
    result = await agent.run(question)
    print(agent.final_response)
    exporter = TraceExporter(TraceQueryEngine(get_trace_manager().storage))
    await exporter.export_traces_to_json(file_path="sqlite_text2sql_traces.json")
    return {
        "result": result,
        "final_response": agent.final_response,
        "sql": query_tool.executed_sql,
    }
